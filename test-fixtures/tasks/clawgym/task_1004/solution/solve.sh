#!/usr/bin/env bash
# Reference solution for task_1004 (run by the oracle agent with cwd = workspace root).
set -euo pipefail
mkdir -p tools
cat > tools/ics_agenda.py <<'PY'
#!/usr/bin/env python3
"""Print the events of an .ics calendar as CSV: date,start,end,summary,location."""
import argparse
import csv
import re
import sys


def unfold(text):
    # RFC 5545: a line break followed by one space or tab continues the previous line
    return re.sub(r"\r?\n[ \t]", "", text).splitlines()


def unescape(value):
    return re.sub(r"\\([\\,;nN])", lambda m: " " if m.group(1) in "nN" else m.group(1), value)


def parse(lines):
    events, cur = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            cur = {}
        elif line == "END:VEVENT" and cur is not None:
            events.append(cur)
            cur = None
        elif cur is not None and ":" in line:
            name, value = line.split(":", 1)
            cur[name.split(";", 1)[0].upper()] = value
    return events


def when(value):
    """'20240503' -> ('2024-05-03', ''); '20240503T093000' (any zone) -> ('2024-05-03', '09:30')."""
    if not value:
        return "", ""
    date = f"{value[0:4]}-{value[4:6]}-{value[6:8]}"
    return (date, f"{value[9:11]}:{value[11:13]}") if "T" in value else (date, "")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("ics")
    ap.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    ap.add_argument("--to", dest="end", metavar="YYYY-MM-DD")
    args = ap.parse_args()
    try:
        with open(args.ics, encoding="utf-8", newline="") as f:
            lines = unfold(f.read())
    except OSError as e:
        print(f"ics_agenda: cannot read {args.ics}: {e.strerror}", file=sys.stderr)
        return 1
    rows = []
    for ev in parse(lines):
        date, start = when(ev.get("DTSTART", ""))
        _, end = when(ev.get("DTEND", ""))
        if not date or (args.start and date < args.start) or (args.end and date > args.end):
            continue
        rows.append([date, start, end if start else "", unescape(ev.get("SUMMARY", "")), unescape(ev.get("LOCATION", ""))])
    rows.sort(key=lambda r: (r[0], r[1]))
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["date", "start", "end", "summary", "location"])
    w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
PY
python3 tools/ics_agenda.py calendar/family.ics --from 2024-05-01 --to 2024-05-31 > calendar/may_agenda.csv

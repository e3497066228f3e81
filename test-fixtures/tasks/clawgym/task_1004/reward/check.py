"""Grader for task_1004: tools/ics_agenda.py, run on the family calendar and on calendars it has never seen."""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

HEADER = ["date", "start", "end", "summary", "location"]

MAY = [
    ["2024-05-03", "", "", "School holiday", ""],
    ["2024-05-03", "09:30", "10:00", "Dentist, Noor", "Tandartspraktijk Oost, Room 2"],
    ["2024-05-08", "", "", "Bin day: paper", ""],
    ["2024-05-08", "18:00", "19:00", "Parents' evening", "Sint-Jozefschool"],
    ["2024-05-12", "14:00", "17:00", "Mother's Day lunch at Oma's", "Oma's flat; ring twice"],
    ["2024-05-31", "16:00", "16:45", "Piano recital", ""],
]

BASIC = "\n".join([
    "BEGIN:VCALENDAR", "BEGIN:VEVENT", "DTSTART:20250110T081500", "DTEND:20250110T090000",
    "SUMMARY:Standup", "LOCATION:Kitchen", "END:VEVENT", "BEGIN:VEVENT", "DTSTART;VALUE=DATE:20250110",
    "SUMMARY:Moving day", "END:VEVENT", "BEGIN:VEVENT", "DTSTART:20250109T200000",
    "DTEND:20250109T210000", "SUMMARY:Book club", "END:VEVENT", "END:VCALENDAR", "",
])
BASIC_ROWS = [
    ["2025-01-09", "20:00", "21:00", "Book club", ""],
    ["2025-01-10", "", "", "Moving day", ""],
    ["2025-01-10", "08:15", "09:00", "Standup", "Kitchen"],
]

FOLDED = "\r\n".join([
    "BEGIN:VCALENDAR", "BEGIN:VEVENT", "DTSTART;TZID=Europe/Paris:20250301T123000",
    "DTEND;TZID=Europe/Paris:20250301T140000", "SUMMARY:Lunch with Sam\\, Alex\\nand Kim",
    "LOCATION:Cafe de", "\t Ster\\; terrace", "END:VEVENT", "END:VCALENDAR", "",
])
FOLDED_ROWS = [["2025-03-01", "12:30", "14:00", "Lunch with Sam, Alex and Kim", "Cafe de Ster; terrace"]]

RANGE = "\n".join(
    ["BEGIN:VCALENDAR"]
    + [line for day in ("20250227", "20250228", "20250301", "20250302")
       for line in ("BEGIN:VEVENT", f"DTSTART;VALUE=DATE:{day}", f"SUMMARY:Day {day[-2:]}", "END:VEVENT")]
    + ["END:VCALENDAR", ""]
)
RANGE_ROWS = [["2025-02-28", "", "", "Day 28", ""], ["2025-03-01", "", "", "Day 01", ""]]


def run(ws, args):
    try:
        return subprocess.run([sys.executable, os.path.join(ws, "tools", "ics_agenda.py")] + args, cwd=ws,
                              capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None


def rows_of(text):
    return [r for r in csv.reader(io.StringIO(text)) if r]


def agenda_ok(ws, ics_text, args, want):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fresh.ics")
        with open(path, "w", newline="") as f:
            f.write(ics_text)
        p = run(ws, [path] + args)
    return p is not None and p.returncode == 0 and rows_of(p.stdout) == [HEADER] + want


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    result = {}
    try:
        with open(os.path.join(ws, "calendar", "may_agenda.csv"), newline="", encoding="utf-8") as f:
            result["may_agenda_saved"] = rows_of(f.read()) == [HEADER] + MAY
    except (OSError, UnicodeDecodeError, csv.Error):
        result["may_agenda_saved"] = False
    result["fresh_sorting_and_all_day"] = agenda_ok(ws, BASIC, [], BASIC_ROWS)
    result["fresh_folding_and_escapes"] = agenda_ok(ws, FOLDED, [], FOLDED_ROWS)
    result["fresh_date_range"] = agenda_ok(ws, RANGE, ["--from", "2025-02-28", "--to", "2025-03-01"], RANGE_ROWS)
    p = run(ws, [os.path.join(ws, "calendar", "no-such-file.ics")])
    result["missing_file_exit_1"] = p is not None and p.returncode == 1
    print(json.dumps(result))


if __name__ == "__main__":
    main()

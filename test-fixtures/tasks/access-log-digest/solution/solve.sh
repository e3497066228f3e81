#!/usr/bin/env bash
set -euo pipefail
mkdir -p bin reports
cat > bin/logdigest.py <<'PY'
#!/usr/bin/env python3
"""Digest of a combined-style access log: totals, error rate and the most requested paths."""
import argparse
import os
import re
import sys
from collections import Counter

LINE = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d{3}) \S+$')


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("logfile")
    ap.add_argument("--top", type=int, default=None)
    args = ap.parse_args()
    top = args.top
    if top is None:
        top = int(os.environ.get("LOGDIGEST_TOP") or 3)
    try:
        with open(args.logfile, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        print(f"logdigest: cannot read {args.logfile}: {e.strerror}", file=sys.stderr)
        return 1
    total = skipped = errors = 0
    paths = Counter()
    for line in lines:
        if not line.strip():
            continue
        m = LINE.match(line)
        if not m:
            skipped += 1
            continue
        total += 1
        paths[m.group(2).split("?", 1)[0]] += 1
        if int(m.group(3)) >= 400:
            errors += 1
    print(f"total_requests: {total}")
    print(f"skipped_lines: {skipped}")
    print(f"error_rate: {errors / total if total else 0:.2f}")
    print("top_paths:")
    for path, n in sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        print(f"  {path} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
PY
chmod +x bin/logdigest.py
python3 bin/logdigest.py logs/access.log --top 5 > reports/digest.txt

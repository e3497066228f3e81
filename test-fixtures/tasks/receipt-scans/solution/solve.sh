#!/usr/bin/env bash
set -euo pipefail
python3 - <<'PY'
import csv, glob, os, re

rows = []
for path in sorted(glob.glob("receipts/scan_*.txt")):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    vendor = re.sub(r"[^a-z0-9]+", "-", lines[0].lower()).strip("-")
    day, month, year = re.search(r"^Date:\s*(\d{2})/(\d{2})/(\d{4})", "\n".join(lines), re.M).groups()
    total = next(l.split()[-1] for l in lines if re.match(r"total\b", l, re.I))
    if "?" in total:
        os.makedirs("receipts/needs-review", exist_ok=True)
        os.rename(path, os.path.join("receipts/needs-review", os.path.basename(path)))
        continue
    date = f"{year}-{month}-{day}"
    target = f"receipts/{year}/{date}_{vendor}_{total}.txt"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.rename(path, target)
    rows.append([date, vendor, total, target])
with open("receipts/index.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["date", "vendor", "total", "file"])
    w.writerows(sorted(rows))
PY

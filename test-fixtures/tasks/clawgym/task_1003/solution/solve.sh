#!/usr/bin/env bash
# Reference solution for task_1003 (run by the oracle agent with cwd = workspace root).
set -euo pipefail
python3 - <<'PY'
import csv, json, math
from collections import defaultdict

HEADER = ["timestamp", "temp_c", "humidity", "pressure_hpa"]
RANGES = [(-40, 60), (0, 100), (900, 1100)]
problems = {"bad_field_count": 0, "not_a_number": 0, "out_of_range": 0, "duplicate_timestamp": 0}
rows = {}
with open("station/readings.csv", newline="") as f:
    for rec in list(csv.reader(f))[1:]:
        if rec == HEADER or not rec:
            continue
        if len(rec) != 4:
            problems["bad_field_count"] += 1
            continue
        try:
            vals = [float(v.strip().replace(",", ".")) for v in rec[1:]]
            if any(math.isnan(v) for v in vals):
                raise ValueError
        except ValueError:
            problems["not_a_number"] += 1
            continue
        if not all(lo <= v <= hi for v, (lo, hi) in zip(vals, RANGES)):
            problems["out_of_range"] += 1
            continue
        if rec[0] in rows:
            problems["duplicate_timestamp"] += 1
            continue
        rows[rec[0]] = vals

def fmt(v):
    return f"{v:g}" if v == int(v) else f"{v:.1f}"

with open("station/clean.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(HEADER)
    for ts in sorted(rows):
        w.writerow([ts] + [fmt(v) for v in rows[ts]])
days = defaultdict(list)
for ts, (t, h, _) in sorted(rows.items()):
    days[ts[:10]].append((t, h))
with open("station/daily.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["date", "min_temp", "max_temp", "mean_humidity"])
    for day, vals in sorted(days.items()):
        temps = [t for t, _ in vals]
        hums = [h for _, h in vals]
        w.writerow([day, f"{min(temps):.1f}", f"{max(temps):.1f}", f"{sum(hums) / len(hums):.1f}"])
with open("station/problems.json", "w") as f:
    json.dump(problems, f, indent=2)
PY

#!/usr/bin/env bash
# Reference solution for task_1001 (run by the oracle agent with cwd = workspace root).
set -euo pipefail
python3 - <<'PY'
import csv, json, os, re

roll = "Camera Roll"
manifest = {}
with open(os.path.join(roll, "photo_log.csv"), newline="") as f:
    log = list(csv.DictReader(f))
for row in log:
    day, hm = row["taken_at"].split()
    place = re.sub(r"[^a-z0-9]+", "-", row["place"].lower()).strip("-")
    folder = os.path.join("Photos", day[:4], day[5:7])
    stem = f"{day}_{hm.replace(':', '')}_{place}"
    target, n = os.path.join(folder, stem + ".jpg"), 1
    while os.path.exists(target):
        n += 1
        target = os.path.join(folder, f"{stem}_{n}.jpg")
    os.makedirs(folder, exist_ok=True)
    os.rename(os.path.join(roll, row["filename"]), target)
    manifest[target] = row["filename"]
for name in sorted(os.listdir(roll)):
    if name.lower().endswith(".jpg"):
        os.makedirs("Photos/unsorted", exist_ok=True)
        os.rename(os.path.join(roll, name), os.path.join("Photos/unsorted", name))
        manifest[f"Photos/unsorted/{name}"] = name
with open("Photos/manifest.json", "w") as f:
    json.dump(manifest, f, indent=2)
PY

#!/usr/bin/env bash
# Reference solution: group by content hash, keep the shortest original name, move and log.
set -euo pipefail
python3 - <<'PY'
import csv, hashlib, os, re

SRC, DST = "Downloads", "Sorted"
FOLDER = {"pdf": "documents", "txt": "documents", "jpg": "images", "png": "images", "zip": "archives"}

def new_name(name):
    return re.sub(r" +", "-", name.lower())

names = sorted(os.listdir(SRC))
by_hash = {}
for n in names:
    with open(os.path.join(SRC, n), "rb") as f:
        by_hash.setdefault(hashlib.sha256(f.read()).hexdigest(), []).append(n)

rows = []
for group in by_hash.values():
    keep = min(group, key=lambda n: (len(n), n))
    ext = keep.rsplit(".", 1)[1].lower()
    target = os.path.join(DST, FOLDER[ext], new_name(keep))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.rename(os.path.join(SRC, keep), target)
    rows.append((keep, "moved", target))
    for other in group:
        if other != keep:
            os.remove(os.path.join(SRC, other))
            rows.append((other, "deleted-duplicate", target))

with open(os.path.join(DST, "moves.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["original", "action", "new_path"])
    w.writerows(sorted(rows))
PY

#!/usr/bin/env bash
# Reference solution for task_1002 (run by the oracle agent with cwd = workspace root).
set -euo pipefail
python3 - <<'PY'
import hashlib, json, os

base = "backups"
files = []
for d, _, names in os.walk(base):
    files += [os.path.relpath(os.path.join(d, n), base) for n in names]
files.sort()  # byte order of the relative paths: the first of each group is kept

removed, seen = [], {}
for rel in files:
    path = os.path.join(base, rel)
    with open(path, "rb") as f:
        data = f.read()
    if os.path.basename(rel) == ".DS_Store":
        removed.append((rel, len(data)))
        continue
    if not data:
        continue  # empty files are placeholders, never duplicates
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen:
        removed.append((rel, len(data)))
    else:
        seen[digest] = rel
for rel, _ in removed:
    os.remove(os.path.join(base, rel))
report = {
    "removed": [rel for rel, _ in removed],
    "bytes_freed": sum(size for _, size in removed),
    "kept_files": len(files) - len(removed),
}
with open(os.path.join(base, "dedupe_report.json"), "w") as f:
    json.dump(report, f, indent=2)
PY

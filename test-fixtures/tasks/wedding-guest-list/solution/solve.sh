#!/usr/bin/env bash
set -euo pipefail
python3 - <<'PY'
import csv, json

guests, rejected, seen = [], [], set()
with open("guests/guest_list.csv", newline="") as f:
    lines = f.read().split("\n")
for n, line in enumerate(lines[1:], start=2):
    if not line.strip():
        continue
    row = [c.strip() for c in next(csv.reader([line]))]
    if len(row) != 4:
        rejected.append(f"line {n}: wrong number of fields")
        continue
    name, email, size, dietary = row
    if not size.isdigit():
        rejected.append(f"line {n}: bad party_size")
        continue
    email = email.lower()
    if email in seen:
        rejected.append(f"line {n}: duplicate email")
        continue
    seen.add(email)
    dietary = dietary.lower()
    guests.append({"name": name, "email": email, "party_size": int(size),
                   "dietary": None if dietary in ("", "none") else dietary})
guests.sort(key=lambda g: g["name"])
with open("guests/guests.json", "w") as f:
    json.dump({"guests": guests, "total_people": sum(g["party_size"] for g in guests)}, f, indent=2)
with open("guests/rejected_rows.txt", "w") as f:
    f.write("".join(r + "\n" for r in rejected))
PY

#!/usr/bin/env bash
# Reference solution for task_1006 (run by the oracle agent with cwd = workspace root).
set -euo pipefail
python3 - <<'PY'
import csv, datetime as dt, json, os

TODAY = dt.date(2024, 6, 1)
with open("tool-library/members.csv", newline="", encoding="utf-8") as f:
    members = {m["member_id"]: m for m in csv.DictReader(f)}
with open("tool-library/loans.json", encoding="utf-8") as f:
    loans = json.load(f)

overdue, unknown = [], []
for loan in loans:
    days = (TODAY - dt.date.fromisoformat(loan["due"])).days
    if loan["returned"] is not None or days <= 0:
        continue
    member = members.get(loan["member_id"])
    if member is None:
        unknown.append(loan["loan_id"])
        continue
    overdue.append({"loan_id": loan["loan_id"], "item": loan["item"], "member_id": loan["member_id"],
                    "name": member["name"], "email": member["email"], "due": loan["due"], "days_overdue": days})
overdue.sort(key=lambda o: (-o["days_overdue"], o["loan_id"]))
with open("tool-library/overdue.json", "w", encoding="utf-8") as f:
    json.dump({"as_of": TODAY.isoformat(), "overdue": overdue, "unknown_member_loans": unknown}, f,
              indent=2, ensure_ascii=False)

os.makedirs("tool-library/reminders", exist_ok=True)
for mid in sorted({o["member_id"] for o in overdue}):
    mine = [o for o in overdue if o["member_id"] == mid]
    lines = [f"Hi {mine[0]['name'].split()[0]},", "", "The following items from the tool library are overdue:"]
    lines += [f"- {o['item']} (due {o['due']}, {o['days_overdue']} days overdue)" for o in mine]
    lines += ["", "Please bring them back when you can. Thanks!"]
    with open(f"tool-library/reminders/{mid}.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
PY

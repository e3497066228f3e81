"""Grader for task_0101: monthly totals and the top category of a transactions CSV."""
import csv
import json
import os
import sys
from collections import defaultdict


def expected(ws):
    months = defaultdict(float)
    categories = defaultdict(float)
    with open(os.path.join(ws, "input", "transactions.csv"), newline="") as f:
        for row in csv.DictReader(f):
            amount = float(row["amount"])
            months[row["date"][:7]] += amount
            categories[row["category"]] += amount
    totals = {m: round(v, 2) for m, v in months.items()}
    top = max(categories.items(), key=lambda kv: kv[1])[0]
    return totals, top


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    result = {"script_exists": False, "totals_file_valid_json": False, "totals_correct": 0.0, "top_category_correct": False}
    totals, top = expected(ws)
    result["script_exists"] = os.path.isfile(os.path.join(ws, "tools", "monthly_totals.py"))
    try:
        with open(os.path.join(ws, "output", "monthly_totals.json")) as f:
            got = json.load(f)
        result["totals_file_valid_json"] = isinstance(got, dict)
        if isinstance(got, dict):
            hits = sum(1 for m, v in totals.items() if isinstance(got.get(m), (int, float)) and abs(got[m] - v) < 0.011)
            extra = len(set(got) - set(totals))
            result["totals_correct"] = round(hits / len(totals), 4) if extra == 0 else 0.0
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(ws, "output", "top_category.txt")) as f:
            result["top_category_correct"] = f.read().strip().lower() == top
    except OSError:
        pass
    print(json.dumps(result))


if __name__ == "__main__":
    main()

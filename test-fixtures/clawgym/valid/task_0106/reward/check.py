"""Grader for task_0106: a scaled, merged shopping list."""
import csv
import json
import os
import sys
from collections import defaultdict

WANTED = {"Lentil soup", "Focaccia"}
GUESTS = 12


def expected(ws):
    with open(os.path.join(ws, "data", "recipes.json"), encoding="utf-8") as f:
        recipes = json.load(f)
    totals = defaultdict(float)
    for r in recipes:
        if r["name"] in WANTED:
            for ing in r["ingredients"]:
                totals[(ing["item"], ing["unit"])] += ing["qty"] * GUESTS / r["servings"]
    return sorted((item, round(q, 1), unit) for (item, unit), q in totals.items())


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    want = expected(ws)
    result = {"file_exists": False, "header_correct": False, "rows_correct": 0.0}
    path = os.path.join(ws, "output", "shopping_list.csv")
    if os.path.isfile(path):
        result["file_exists"] = True
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        result["header_correct"] = bool(rows) and rows[0] == ["item", "qty", "unit"]
        got = set()
        for row in rows[1:]:
            try:
                got.add((row[0], round(float(row[1]), 1), row[2]))
            except (IndexError, ValueError):
                pass
        result["rows_correct"] = round(sum(1 for w in want if w in got) / len(want), 4)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

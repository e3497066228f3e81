"""Grader for garden-meeting-notes: open-action plan, per-meeting summary and notes index."""
import json
import os
import re
import sys

OPEN = [
    ("2024-04-13", "Lotte", "make plant labels", "2024-04-06"),
    ("2024-04-13", "Sam", "fix the shed door", "2024-04-06"),
    ("2024-04-15", "Rosa", "draft the watering rota", "2024-03-02"),
    ("2024-04-20", "Rosa", "send the watering rota to everyone", "2024-04-06"),
    ("2024-04-27", "Kwame", "build a third compost bay", "2024-03-16"),
]
MEETINGS = [
    ("2024-03-02", "Kickoff meeting", ["Beds 1-4 go to families on the waiting list.", "The watering rota starts in May."]),
    ("2024-03-16", "Tools and compost", ["Buy a shared wheelbarrow from the tool fund (at most 90 EUR)."]),
    ("2024-04-06", "Planting day", ["Sunflowers along the south fence.", "No pesticides anywhere in the garden.", "The next meeting is on 2024-05-04."]),
]
INDEX = [
    {"file": "notes/2024-03-02 kickoff.md", "date": "2024-03-02", "title": "Kickoff meeting", "actions": 3, "decisions": 2, "closed": 0},
    {"file": "notes/2024-03-16 tools and compost.md", "date": "2024-03-16", "title": "Tools and compost", "actions": 2, "decisions": 1, "closed": 1},
    {"file": "notes/2024-04-06 planting day.md", "date": "2024-04-06", "title": "Planting day", "actions": 3, "decisions": 3, "closed": 2},
]


def norm(s):
    return re.sub(r"\s+", " ", s.strip().strip("*`")).lower()


def read(ws, rel):
    try:
        with open(os.path.join(ws, rel), encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def plan_scores(text):
    if text is None:
        return {"plan_rows": 0.0, "plan_order": False}
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 4 or set("".join(cells)) <= set("-: ") or cells[0].lower() == "due":
            continue
        rows.append(tuple(norm(c) for c in cells))
    want = [tuple(norm(c) for c in r) for r in OPEN]
    hits = sum(1 for r in want if r in rows)
    return {
        # closed actions and invented rows make the plan wrong
        "plan_rows": hits / len(want) if len(rows) == len(want) else 0.0,
        "plan_order": len(rows) == len(want) and [r[0] for r in rows] == sorted(r[0] for r in rows) and hits == len(want),
    }


def summary_scores(text):
    if text is None:
        return {"summary_sections": False, "summary_decisions": 0.0}
    heads = [(m.start(), norm(m.group(1))) for m in re.finditer(r"^##\s+(.+)$", text, re.M)]
    want = [norm(f"{d} {t}") for d, t, _ in MEETINGS]
    sections_ok = [h for _, h in heads] == want
    good = 0
    total = 0
    for i, (_, _, decisions) in enumerate(MEETINGS):
        for dec in decisions:
            total += 1
            if sections_ok:
                start = heads[i][0]
                end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
                good += norm(dec) in norm(text[start:end])
    return {"summary_sections": sections_ok, "summary_decisions": good / total}


def index_score(text):
    try:
        got = json.loads(text) if text is not None else None
    except ValueError:
        return 0.0
    if not isinstance(got, list):
        return 0.0
    return sum(1 for e in INDEX if e in got) / len(INDEX) if len(got) == len(INDEX) else 0.0


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    result = {}
    result.update(plan_scores(read(ws, "garden/plan.md")))
    result.update(summary_scores(read(ws, "garden/summary.md")))
    result["index_correct"] = index_score(read(ws, "garden/index.json"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

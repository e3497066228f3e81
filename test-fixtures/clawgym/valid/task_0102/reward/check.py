"""Grader for task_0102: action items collected from meeting notes."""
import json
import os
import re
import sys

ITEM = re.compile(r"^TODO \((?P<owner>[^)]+)\) (?P<task>.+)$")
LINE = re.compile(r"^- \[ \] (?P<owner>[^:]+): (?P<task>.+)$")


def expected(ws):
    notes = os.path.join(ws, "input", "notes")
    items = []
    for name in sorted(os.listdir(notes)):
        with open(os.path.join(notes, name), encoding="utf-8") as f:
            for line in f:
                m = ITEM.match(line.strip())
                if m:
                    items.append((m.group("owner").strip(), m.group("task").strip()))
    return items


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    want = expected(ws)
    result = {"file_exists": False, "has_heading": False, "items_found": 0.0, "order_correct": False}
    path = os.path.join(ws, "output", "action_items.md")
    if os.path.isfile(path):
        result["file_exists"] = True
        with open(path, encoding="utf-8") as f:
            lines = [l.strip() for l in f if l.strip()]
        result["has_heading"] = bool(lines) and lines[0] == "# Action items"
        got = []
        for line in lines:
            m = LINE.match(line)
            if m:
                got.append((m.group("owner").strip(), m.group("task").strip()))
        found = sum(1 for item in want if item in got)
        result["items_found"] = round(found / len(want), 4) if want else 0.0
        result["order_correct"] = got == want
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

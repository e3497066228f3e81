"""Grader for task_1006: overdue tool-library loans joined with members, plus reminder letters."""
import json
import os
import sys

OVERDUE = [
    {"loan_id": 103, "item": "Tile cutter", "member_id": "M03", "name": "Lucía Fernández",
     "email": "lucia.fernandez@example.org", "due": "2024-05-15", "days_overdue": 17},
    {"loan_id": 102, "item": "Ladder (3 m)", "member_id": "M02", "name": "Jonas Weber",
     "email": "jonas.weber@example.org", "due": "2024-05-24", "days_overdue": 8},
    {"loan_id": 104, "item": "Pressure washer", "member_id": "M02", "name": "Jonas Weber",
     "email": "jonas.weber@example.org", "due": "2024-05-27", "days_overdue": 5},
]
LETTERS = {
    "M02.txt": "Hi Jonas,\n\nThe following items from the tool library are overdue:\n"
               "- Ladder (3 m) (due 2024-05-24, 8 days overdue)\n"
               "- Pressure washer (due 2024-05-27, 5 days overdue)\n\n"
               "Please bring them back when you can. Thanks!\n",
    "M03.txt": "Hi Lucía,\n\nThe following items from the tool library are overdue:\n"
               "- Tile cutter (due 2024-05-15, 17 days overdue)\n\n"
               "Please bring them back when you can. Thanks!\n",
}


def letter(path):
    try:
        with open(path, encoding="utf-8") as f:
            return "\n".join(line.rstrip() for line in f.read().strip().splitlines())
    except (OSError, UnicodeDecodeError):
        return None


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    lib = os.path.join(ws, "tool-library")
    result = {}
    try:
        with open(os.path.join(lib, "overdue.json"), encoding="utf-8") as f:
            report = json.load(f)
        result["as_of"] = report.get("as_of") == "2024-06-01"
        result["overdue_list"] = report.get("overdue") == OVERDUE
        result["unknown_member_loans"] = report.get("unknown_member_loans") == [108]
    except (OSError, ValueError, AttributeError):
        result.update(as_of=False, overdue_list=False, unknown_member_loans=False)
    rdir = os.path.join(lib, "reminders")
    present = sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []
    result["one_letter_per_member"] = present == sorted(LETTERS)
    for name, text in LETTERS.items():
        want = "\n".join(line.rstrip() for line in text.strip().splitlines())
        result["letter_" + name[:-4]] = letter(os.path.join(rdir, name)) == want
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Grader for task_0103: error summary of an application log."""
import json
import os
import sys
from collections import Counter


def parse(ws):
    counts = Counter()
    errors = Counter()
    first = None
    with open(os.path.join(ws, "input", "logs", "app.log"), encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) < 4:
                continue
            stamp, level, _component, message = parts
            counts[level] += 1
            if level == "ERROR":
                errors[message] += 1
                first = first or stamp
    return counts, errors.most_common(1)[0][0], first


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    counts, top, first = parse(ws)
    result = {"summary_valid": False, "counts_correct": False, "top_error_correct": False, "first_error_correct": False, "incident_written": False}
    try:
        with open(os.path.join(ws, "output", "error_summary.json"), encoding="utf-8") as f:
            got = json.load(f)
        result["summary_valid"] = isinstance(got, dict) and set(got) == {"counts", "top_error", "first_error_at"}
        if isinstance(got, dict):
            result["counts_correct"] = got.get("counts") == {k: counts.get(k, 0) for k in ("ERROR", "WARN", "INFO")}
            result["top_error_correct"] = str(got.get("top_error", "")).strip() == top
            result["first_error_correct"] = got.get("first_error_at") == first
    except (OSError, ValueError):
        pass
    incident = os.path.join(ws, "output", "incident.txt")
    result["incident_written"] = os.path.isfile(incident) and os.path.getsize(incident) > 40
    print(json.dumps(result))


if __name__ == "__main__":
    main()

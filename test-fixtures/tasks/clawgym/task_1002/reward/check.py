"""Grader for task_1002: content duplicates and .DS_Store files removed from backups/, with a report."""
import hashlib
import json
import os
import sys


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree(base):
    out = {}
    for d, _, names in os.walk(base):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, base)] = sha(p)
    return out


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    base = os.path.join(ws, "backups")
    # expected.json (beside this file): survivors with their sha256, removed paths, bytes freed
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.json")) as f:
        expected = json.load(f)
    now = tree(base) if os.path.isdir(base) else {}
    now.pop("dedupe_report.json", None)
    result = {
        "duplicates_removed": bool(now) and not any(p in now for p in expected["removed"] if not p.endswith(".DS_Store")),
        "ds_store_removed": not any(p.endswith(".DS_Store") for p in now) and bool(now),
        # exactly the expected survivors, byte for byte: empty files and the dot-file included
        "survivors_intact": now == expected["kept"],
    }
    try:
        with open(os.path.join(base, "dedupe_report.json")) as f:
            report = json.load(f)
        result["report_removed"] = sorted(report.get("removed", [])) == sorted(expected["removed"])
        result["report_bytes_freed"] = report.get("bytes_freed") == expected["bytes_freed"]
        result["report_kept_files"] = report.get("kept_files") == len(expected["kept"])
    except (OSError, ValueError, AttributeError):
        result.update(report_removed=False, report_bytes_freed=False, report_kept_files=False)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

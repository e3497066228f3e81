"""Code part of task_0104's hybrid grading: the README's structure and flags (the rubric judges the rest)."""
import json
import os
import re
import sys

FLAGS = ["--out", "--blank", "--wells"]
SECTIONS = ["## Usage", "## Options", "## Output"]


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    result = {"readme_exists": False, "sections": 0.0, "flags_documented": 0.0, "example_command": False}
    path = os.path.join(ws, "output", "README.md")
    if os.path.isfile(path):
        result["readme_exists"] = True
        with open(path, encoding="utf-8") as f:
            text = f.read()
        result["sections"] = round(sum(1 for s in SECTIONS if re.search("^" + re.escape(s) + r"\s*$", text, re.M)) / len(SECTIONS), 4)
        result["flags_documented"] = round(sum(1 for fl in FLAGS if fl in text) / len(FLAGS), 4)
        result["example_command"] = bool(re.search(r"python3? \S*convert\.py", text))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Grader for task_0105: runs the agent's word-frequency tool on a private sample text."""
import json
import os
import subprocess
import sys
import tempfile

SAMPLE = "The cat sat. THE cat didn't sit; the dog didn't either.\nA dog, a cat, the end.\n"
EXPECTED = ["the\t4", "cat\t3", "a\t2", "didn't\t2", "dog\t2"]


def run(script, *args):
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=20)


def main():
    ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
    script = os.path.join(ws, "tools", "wordfreq.py")
    result = {"script_exists": os.path.isfile(script), "top_words_correct": False, "missing_file_exit_2": False}
    if result["script_exists"]:
        with tempfile.TemporaryDirectory() as tmp:
            sample = os.path.join(tmp, "sample.txt")
            with open(sample, "w", encoding="utf-8") as f:
                f.write(SAMPLE)
            try:
                out = run(script, sample, "--top", "5")
                result["top_words_correct"] = out.returncode == 0 and out.stdout.strip().splitlines() == EXPECTED
                missing = run(script, os.path.join(tmp, "nope.txt"))
                result["missing_file_exit_2"] = missing.returncode == 2
            except (OSError, subprocess.TimeoutExpired):
                pass
    print(json.dumps(result))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# ClawGym reward entry point: grade the workspace with check.py (beside this script) and print the
# mean of every value of the JSON object it prints (booleans count 0/1) as the last line of stdout.
# Any failure prints 0.0, so the harness always reads a number.
set -u

WORKSPACE="${OPENCLAW_WORKSPACE:-/root/.openclaw/workspace}"
REWARD_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

RESULT="$(cd "$WORKSPACE" 2>/dev/null && python3 "$REWARD_DIR/check.py" "$WORKSPACE" 2>/dev/null)" || true

python3 - "$RESULT" <<'PY'
import json
import math
import sys

try:
    scores = json.loads(sys.argv[1])
except ValueError:
    print(0.0)
    sys.exit(0)
if not isinstance(scores, dict) or not scores:
    print(0.0)
    sys.exit(0)
values = []
for value in scores.values():
    if isinstance(value, bool):
        values.append(1.0 if value else 0.0)
    elif isinstance(value, (int, float)) and math.isfinite(value):
        values.append(min(1.0, max(0.0, float(value))))
    else:
        values.append(0.0)
print(round(sum(values) / len(values), 6))
PY

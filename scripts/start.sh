#!/usr/bin/env bash
# `npm start`: the main job on the bundled example tasks. Builds dist/, makes a sandbox engine
# available where it can (Docker and the sandbox image, via scripts/sandbox-setup.sh: needs root
# and apt; skipped quietly when they are already there), then runs `clawgym check` on the 14 tasks
# in test-fixtures/tasks: each with its reference solution (must score 1) and doing nothing (must
# score 0). Where no engine can be set up, the run falls back to local sandboxes and says so.
set -uo pipefail
cd "$(dirname "$0")/.."
npm run build --silent || exit 1
if ! { bash scripts/sandbox-setup.sh && node dist/cli.js image build; }; then
  echo "start: no Docker engine or image could be set up here; running in local sandboxes instead" >&2
fi
exec node dist/cli.js check -j 2 test-fixtures/tasks "$@"

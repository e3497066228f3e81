#!/usr/bin/env bash
# `npm start`: the main job on an embedded default. Builds dist/, makes a sandbox engine available
# where it can (Docker and the sandbox image, via scripts/sandbox-setup.sh: needs root and apt;
# skipped quietly when they are already there), then runs the built-in agent on three example
# tasks from test-fixtures/tasks against the bundled scripted model server (an OpenAI-compatible
# server on 127.0.0.1 replaying test-fixtures/model-scripts/fixtures.json): the agent explores
# the workspace, writes and runs a script, and finishes; the verifier prints each reward.
# Where no engine can be set up, the run falls back to local sandboxes and says so.
# Arguments go to `clawgym run` (e.g. `npm start -- --json`). To check every example task with
# its reference solution instead: `node dist/cli.js check -j 2 test-fixtures/tasks`.
set -uo pipefail
cd "$(dirname "$0")/.."
npm run build --silent || exit 1
if ! { bash scripts/sandbox-setup.sh && node dist/cli.js image build; }; then
  echo "start: no Docker engine or image could be set up here; running in local sandboxes instead" >&2
fi
exec node dist/cli.js run -j 3 --agent builtin --model-script test-fixtures/model-scripts/fixtures.json \
  test-fixtures/tasks/roommate-balances test-fixtures/tasks/clawgym/task_1001 test-fixtures/tasks/garden-meeting-notes "$@"

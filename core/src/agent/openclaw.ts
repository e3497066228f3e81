/**
 * OpenClaw as a black-box agent, driven the way the ClawGym authors drive it: its gateway runs
 * headless in the sandbox with the OpenAI-compatible endpoint on (`gateway.http.endpoints.
 * chatCompletions`), the task's instruction is POSTed to `/v1/chat/completions` (model
 * `openclaw/default`), and the reply is the final message. OpenClaw's own model calls go to a
 * custom provider (`models.providers.clawgym`, `api: openai-completions`) whose base URL is the
 * in-sandbox forwarder of the model proxy, so they are recorded like any other black box's.
 * Its workspace is the task root (ClawGym tasks use /root/.openclaw/workspace, OpenClaw's default).
 *
 * Runs in `clawgym/openclaw:latest` (`clawgym image build --agent openclaw`) unless the task names
 * another image.
 */
import type { Agent } from '../run/agents';
import { createCommandAgent, type BlackBoxModel } from './command';
import { OPENCLAW_IMAGE, OPENCLAW_RECIPE } from './openclawImage';

/** The bash script the command agent runs (environment from command.ts's wrapper). */
export const OPENCLAW_SCRIPT = String.raw`set -u
export HOME="${'$'}{HOME:-/root}"
D="$CLAWGYM_AGENT_DIR"
mkdir -p "$HOME/.openclaw"
GW_PORT=$(python3 -I -S -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
GW_TOKEN=$(python3 -I -S -c 'import secrets; print(secrets.token_hex(24))')
export GW_PORT GW_TOKEN
python3 -I -S - <<'PY'
import json, os
model = os.environ["CLAWGYM_MODEL"]
config = {
    "gateway": {
        "mode": "local",
        "port": int(os.environ["GW_PORT"]),
        "bind": "loopback",
        "auth": {"mode": "token", "token": os.environ["GW_TOKEN"]},
        "http": {"endpoints": {"chatCompletions": {"enabled": True}}},
    },
    "models": {
        "mode": "merge",
        "providers": {
            "clawgym": {
                "baseUrl": os.environ["CLAWGYM_MODEL_BASE_URL"],
                "apiKey": os.environ["CLAWGYM_MODEL_API_KEY"],
                "api": "openai-completions",
                "models": [{"id": model, "name": model, "reasoning": False, "input": ["text"],
                            "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                            "contextWindow": 128000, "maxTokens": 8192}],
            }
        },
    },
    "agents": {"defaults": {"model": {"primary": "clawgym/" + model}, "workspace": os.environ["CLAWGYM_TASK_ROOT"], "skipBootstrap": True}},
}
with open(os.path.join(os.environ["HOME"], ".openclaw", "openclaw.json"), "w") as f:
    json.dump(config, f, indent=2)
PY
openclaw gateway run --port "$GW_PORT" --bind loopback --auth token --token "$GW_TOKEN" > "$D/gateway.log" 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null; wait $gw 2>/dev/null' EXIT
python3 -I -S - <<'PY'
import json, os, sys, time, urllib.request, urllib.error
base = "http://127.0.0.1:%s/v1" % os.environ["GW_PORT"]
auth = {"Authorization": "Bearer " + os.environ["GW_TOKEN"]}
started = time.time()
deadline = started + 180
while True:
    try:
        urllib.request.urlopen(urllib.request.Request(base + "/models", headers=auth), timeout=5).read()
        break
    except (urllib.error.URLError, OSError) as e:
        if time.time() > deadline:
            sys.stderr.write("clawgym: the OpenClaw gateway did not come up in 180 s (%s)\n" % e)
            sys.stderr.write(open(os.path.join(os.environ["CLAWGYM_AGENT_DIR"], "gateway.log")).read()[-4000:])
            sys.exit(1)
        time.sleep(0.5)
sys.stderr.write("clawgym: the OpenClaw gateway answers after %.1f s; sending the instruction\n" % (time.time() - started))
sys.stderr.flush()
with open(os.environ["CLAWGYM_INSTRUCTION_FILE"]) as f:
    instruction = f.read()
asked = time.time()
body = json.dumps({"model": "openclaw/default", "messages": [{"role": "user", "content": instruction}]}).encode()
req = urllib.request.Request(base + "/chat/completions", data=body, headers=dict(auth, **{"Content-Type": "application/json"}))
try:
    reply = json.load(urllib.request.urlopen(req, timeout=None))
except urllib.error.HTTPError as e:
    sys.stderr.write("clawgym: the OpenClaw gateway answered %s: %s\n" % (e.code, e.read().decode("utf-8", "replace")[:4000]))
    sys.exit(1)
sys.stderr.write("clawgym: OpenClaw replied after %.1f s\n" % (time.time() - asked))
content = (reply.get("choices") or [{}])[0].get("message", {}).get("content") or ""
with open(os.environ["CLAWGYM_FINAL_MESSAGE_FILE"], "w") as f:
    f.write(content)
print(content)
PY
rc=$?
if [ $rc -ne 0 ] || [ -n "${'$'}{CLAWGYM_OPENCLAW_LOG:-}" ]; then echo "--- OpenClaw gateway log (tail) ---" >&2; tail -c 6000 "$D/gateway.log" >&2; fi
exit $rc
`;

/** The `openclaw` black-box agent. */
export function createOpenClawAgent(model: BlackBoxModel, options: { image?: string; /** e.g. CLAWGYM_OPENCLAW_LOG=1: the gateway's log to stderr */ env?: Record<string, string>; maxTrajectoryBytes?: number } = {}): Agent {
  return createCommandAgent({
    ...(options.maxTrajectoryBytes !== undefined ? { maxTrajectoryBytes: options.maxTrajectoryBytes } : {}),
    name: 'openclaw',
    command: OPENCLAW_SCRIPT,
    model,
    ...(options.env ? { env: options.env } : {}),
    image: options.image ?? OPENCLAW_IMAGE,
    version: OPENCLAW_RECIPE.packages.openclaw,
    extra: { driver: 'gateway /v1/chat/completions' },
  });
}

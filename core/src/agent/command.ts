/**
 * Black-box agents: a program installed in the sandbox image (a shell command, a coding CLI,
 * OpenClaw) run on the task's instruction, reaching the model only through a host-side proxy.
 *
 * Before the sandbox exists (`prepare`), a {@link startModelProxy} listens on a unix socket in a
 * fresh host directory, which the sandbox gets read-only at `/run/clawgym` (so `--network none`
 * stays). The proxy holds the real key; the agent gets a per-trial random token. In the sandbox
 * a wrapper starts the stdlib-Python forwarder (forwarder.ts) on 127.0.0.1:PORT, exports
 * `OPENAI_BASE_URL=http://127.0.0.1:PORT/v1`, `OPENAI_API_KEY=<token>` and the other names CLIs
 * read, and runs the command with cwd = the task root, the agent's time limit and output caps.
 * Every model exchange the proxy saw becomes the trajectory (`chatExchangesToTrajectory`).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { FORWARDER_PY } from '../proxy/forwarder';
import { startModelProxy, type ModelProxy, type ProxyExchange } from '../proxy/modelProxy';
import type { Agent, AgentContext, AgentOutcome, AgentPreparation, AgentPrepareContext } from '../run/agents';
import { CLAWGYM_VERSION, formatMs, lastLines, stderrTail, trajectorySessionId } from '../run/agents';
import { DEFAULT_CAPS } from '../run/limits';
import { SandboxError, type ExecResult } from '../sandbox/types';
import { TrajectoryBuilder, computeFinalMetrics, type Trajectory } from '../trajectory/atif';
import { chatExchangesToTrajectory, responseMetrics } from '../trajectory/messages';

/** The model a black-box agent is given (through the proxy). */
export interface BlackBoxModel {
  /** The real endpoint, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** The real key: stays on the host, in the proxy. */
  apiKey: string;
  /** The model name the agent is told to use. */
  model: string;
  /** Extra upstream headers (stay on the host too). */
  headers?: Record<string, string>;
}

export interface CommandAgentOptions {
  name: string;
  /**
   * A bash script run with cwd = the task root. `{instruction_file}` is replaced by the
   * (shell-quoted) path of a file holding the instruction; `$CLAWGYM_INSTRUCTION_FILE` names it too.
   * The model is at `$OPENAI_BASE_URL` with key `$OPENAI_API_KEY`, model `$OPENAI_MODEL`.
   * A script may write its final reply to `$CLAWGYM_FINAL_MESSAGE_FILE`; else the last lines of
   * its stdout are the final message.
   */
  command: string;
  /** More environment for the command (never put real secrets here: it enters the sandbox). */
  env?: Record<string, string>;
  model: BlackBoxModel;
  /** The image to use when the task names none (e.g. `clawgym/openclaw:latest`). */
  image?: string;
  /** Recorded as `agent.version` in the trajectory (default this package's version). */
  version?: string;
  /** Extra trajectory `agent.extra` fields. */
  extra?: Record<string, unknown>;
  /** Bytes of text the trajectory keeps (default 32 MiB; TrialCaps.trajectoryBytes). */
  maxTrajectoryBytes?: number;
}

/** Where the proxy's socket directory appears in the sandbox. */
export const PROXY_MOUNT_PATH = '/run/clawgym';
export const PROXY_SOCKET_NAME = 'model.sock';

/** What one prepared trial holds on the host side. */
interface ProxyState {
  proxy: ModelProxy;
  token: string;
  dir: string;
  exchanges: ProxyExchange[];
}

const states = new WeakMap<AgentPreparation, ProxyState>();

/** Start the proxy for one trial (see the module comment). */
export async function prepareModelProxy(model: BlackBoxModel, ctx: AgentPrepareContext, image?: string): Promise<AgentPreparation> {
  if (ctx.backend.name === 'docker') {
    const endpoint = (ctx.backend as { endpoint?: string }).endpoint ?? '';
    if (endpoint && !endpoint.startsWith('unix://')) {
      throw new SandboxError('unavailable', `black-box agents need a local engine: the model proxy is reached through a bind-mounted socket, and the Docker engine at ${endpoint} is not on this machine`);
    }
  }
  // A short path: unix socket paths are limited to ~107 bytes.
  const dir = await fs.mkdtemp(nodePath.join(os.tmpdir(), 'clawgym-proxy-'));
  await fs.chmod(dir, 0o755);
  const token = `clawgym-${randomBytes(24).toString('hex')}`;
  const exchanges: ProxyExchange[] = [];
  let proxy: ModelProxy;
  try {
    proxy = await startModelProxy({
      upstream: { baseUrl: model.baseUrl, apiKey: model.apiKey, ...(model.headers ? { headers: model.headers } : {}) },
      listen: { socketPath: nodePath.join(dir, PROXY_SOCKET_NAME) },
      token,
      record: (e) => exchanges.push(e),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  }
  const preparation: AgentPreparation = {
    mounts: [{ hostPath: dir, containerPath: PROXY_MOUNT_PATH, readOnly: true }],
    ...(image ? { image } : {}),
    release: async () => {
      await proxy.close().catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  states.set(preparation, { proxy, token, dir, exchanges });
  return preparation;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The wrapper: forwarder up, model variables exported, the agent's script, forwarder down. */
function wrapperScript(dir: string): string {
  return `#!/bin/bash
D=${shellQuote(dir)}
python3 -I -S "$D/forward.py" "$CLAWGYM_MODEL_SOCKET" 0 "$D/port" 2>>"$D/forward.log" &
fwd=$!
trap 'kill $fwd 2>/dev/null' EXIT
for _ in $(seq 1 400); do
  [ -s "$D/port" ] && break
  kill -0 $fwd 2>/dev/null || break
  sleep 0.025
done
if [ ! -s "$D/port" ]; then
  echo "clawgym: the model forwarder did not start: $(cat "$D/forward.log" 2>/dev/null)" >&2
  exit 125
fi
port=$(cat "$D/port")
export CLAWGYM_MODEL_PORT="$port"
export CLAWGYM_MODEL_BASE_URL="http://127.0.0.1:$port/v1"
export OPENAI_BASE_URL="$CLAWGYM_MODEL_BASE_URL" OPENAI_API_BASE="$CLAWGYM_MODEL_BASE_URL"
export OPENAI_API_KEY="$CLAWGYM_MODEL_API_KEY"
export ANTHROPIC_BASE_URL="http://127.0.0.1:$port" ANTHROPIC_API_KEY="$CLAWGYM_MODEL_API_KEY"
bash "$D/agent.sh"
`;
}

/** Sum of the chat calls' usage. */
function usageOf(exchanges: ProxyExchange[]): NonNullable<AgentOutcome['usage']> {
  let promptTokens = 0;
  let completionTokens = 0;
  let costUsd: number | undefined;
  let retries = 0;
  for (const e of exchanges) {
    if (e.status !== 200) retries++;
    const m = responseMetrics(e.response);
    promptTokens += m.prompt_tokens ?? 0;
    completionTokens += m.completion_tokens ?? 0;
    if (m.cost_usd !== undefined) costUsd = (costUsd ?? 0) + m.cost_usd;
  }
  return { promptTokens, completionTokens, ...(costUsd !== undefined ? { costUsd } : {}), modelCalls: exchanges.length, retries };
}

/** Build the trajectory from what the proxy recorded (or a user step and a note when nothing was). */
export function blackBoxTrajectory(ctx: AgentContext, agent: { name: string; version: string; model: string; extra?: Record<string, unknown> }, exchanges: ProxyExchange[], maxBytes = DEFAULT_CAPS.trajectoryBytes): Trajectory {
  const sessionId = trajectorySessionId(ctx);
  const chat = exchanges.filter((e) => e.method === 'POST' && /\/chat\/completions$/.test(e.path));
  const info = { name: agent.name, version: agent.version, model_name: agent.model, extra: { black_box: true, model_calls: chat.length, ...agent.extra } };
  let t: Trajectory;
  if (chat.some((e) => e.status === 200)) {
    t = chatExchangesToTrajectory(
      chat.map((e) => ({ request: e.request, response: e.response, finishedAt: e.finishedAt })),
      { sessionId, agent: info, maxBytes },
    );
    t.extra = { ...t.extra, black_box: true };
    if (!t.final_metrics) t.final_metrics = computeFinalMetrics(t.steps);
  } else {
    const b = new TrajectoryBuilder({ sessionId, agent: info, maxBytes });
    b.addUser(ctx.task.intent);
    b.setNote(chat.length ? `none of the ${chat.length} model calls the proxy saw succeeded` : 'the agent made no model call through the proxy (no exchange was recorded)');
    t = b.finish();
  }
  // The live stream gets the steps once they are known (a black box shows them only at the end).
  if (ctx.onTrajectory) {
    for (const step of t.steps) ctx.onTrajectory({ type: 'step', step });
    if (t.final_metrics) ctx.onTrajectory({ type: 'final', final_metrics: t.final_metrics });
  }
  return t;
}

/** Run a prepared black-box command in the sandbox; shared by the command, CLI and OpenClaw agents. */
export async function runBlackBox(ctx: AgentContext, options: CommandAgentOptions): Promise<AgentOutcome> {
  const { task, sandbox, timeoutMs, signal, onOutput } = ctx;
  const state = ctx.preparation && states.get(ctx.preparation);
  if (!state) throw new Error(`agent ${options.name}: the model proxy was not prepared (run it through runTrial, which calls agent.prepare before creating the sandbox)`);
  const dir = `/tmp/clawgym-agent-${randomBytes(8).toString('hex')}`;
  const instructionFile = `${dir}/instruction.md`;
  const finalFile = `${dir}/final-message.txt`;
  const script = options.command.split('{instruction_file}').join(shellQuote(instructionFile));
  await sandbox.copyIn(
    [
      { path: instructionFile, content: Buffer.from(task.intent, 'utf8'), mode: 0o644 },
      { path: `${dir}/forward.py`, content: Buffer.from(FORWARDER_PY, 'utf8'), mode: 0o644 },
      { path: `${dir}/agent.sh`, content: Buffer.from(script, 'utf8'), mode: 0o755 },
      { path: `${dir}/run.sh`, content: Buffer.from(wrapperScript(dir), 'utf8'), mode: 0o755 },
    ],
    { signal },
  );
  const started = Date.now();
  let r: ExecResult;
  try {
    r = await sandbox.exec(['bash', `${dir}/run.sh`], {
      cwd: task.root,
      timeoutMs,
      signal,
      env: {
        ...options.env,
        CLAWGYM_MODEL_SOCKET: `${PROXY_MOUNT_PATH}/${PROXY_SOCKET_NAME}`,
        CLAWGYM_MODEL_API_KEY: state.token,
        CLAWGYM_MODEL: options.model.model,
        OPENAI_MODEL: options.model.model,
        CLAWGYM_INSTRUCTION_FILE: instructionFile,
        CLAWGYM_FINAL_MESSAGE_FILE: finalFile,
        CLAWGYM_AGENT_DIR: dir,
        CLAWGYM_TASK_ROOT: task.root,
      },
      onStdout: (c) => onOutput?.('stdout', c),
      onStderr: (c) => onOutput?.('stderr', c),
    });
  } catch (e) {
    if (e instanceof SandboxError && e.kind === 'cancelled') return { status: 'cancelled', finalMessage: '', transcript: [], steps: 0, error: 'cancelled' };
    throw e;
  }
  let finalMessage = lastLines(r.stdout, 20);
  const written = await sandbox.exec(['cat', finalFile], { timeoutMs: 10_000 }).catch(() => undefined);
  if (written && written.exitCode === 0 && written.stdout.trim()) finalMessage = written.stdout.trim();
  await sandbox.exec(['rm', '-rf', dir], { timeoutMs: 10_000 }).catch(() => undefined);

  const exchanges = [...state.exchanges];
  const chat = exchanges.filter((e) => /\/chat\/completions$/.test(e.path));
  const trajectory = blackBoxTrajectory(ctx, { name: options.name, version: options.version ?? CLAWGYM_VERSION, model: options.model.model, ...(options.extra ? { extra: options.extra } : {}) }, exchanges, options.maxTrajectoryBytes);
  const cut = (trajectory.extra as { trajectory_cap?: { limit_bytes: number } } | undefined)?.trajectory_cap;
  const step = {
    type: 'command',
    command: options.command,
    exit_code: r.exitCode,
    duration_ms: Date.now() - started,
    stdout: r.stdout,
    stderr: r.stderr,
    truncated: r.truncated || undefined,
  };
  const modelCalls = chat.map((e) => {
    const choice = (e.response as { choices?: { message?: unknown }[] } | null)?.choices?.[0];
    return { type: 'model_call', path: e.path, status: e.status, stream: e.stream, started_at: e.startedAt, finished_at: e.finishedAt, message: choice?.message ?? null, ...(e.error ? { error: e.error } : {}) };
  });
  const done = {
    finalMessage,
    transcript: [step, ...modelCalls],
    steps: trajectory.steps.filter((s) => s.source === 'agent').length,
    exitCode: r.exitCode,
    trajectory,
    usage: usageOf(chat),
    ...(cut ? { truncated: [{ what: 'trajectory' as const, limit: cut.limit_bytes, unit: 'bytes' as const }] } : {}),
  };
  if (r.timedOut) return { status: 'timeout', ...done, error: `the agent did not finish within ${formatMs(timeoutMs)}` };
  if (r.outputLimitExceeded) return { status: 'failed', ...done, error: `the agent wrote more output than allowed (${r.stdoutBytes + r.stderrBytes} bytes); it was stopped` };
  if (r.exitCode === 125 && /clawgym: the model forwarder did not start/.test(r.stderr)) return { status: 'failed', ...done, error: `the model forwarder did not start in the sandbox${stderrTail(r.stderr)}` };
  if (r.exitCode !== 0) return { status: 'failed', ...done, error: `the agent exited with code ${r.exitCode}${stderrTail(r.stderr)}` };
  return { status: 'completed', ...done };
}

/** A black-box agent that runs a shell command (see {@link CommandAgentOptions}). */
export function createCommandAgent(options: CommandAgentOptions): Agent {
  const { model } = options;
  return {
    name: options.name,
    prepare: (ctx) => prepareModelProxy(model, ctx, options.image),
    run: (ctx) => runBlackBox(ctx, options),
  };
}

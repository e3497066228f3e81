/**
 * `clawgym run` and `clawgym check`: load tasks, pick a backend, run trials, print results.
 *
 * Human output goes to stderr as progress and to stdout as one line per trial plus a summary;
 * `--json` prints the run's event stream as JSON lines on stdout instead (what the extension
 * reads). Ctrl-C cancels: trials in flight are cancelled, their sandboxes removed, the run folder
 * keeps everything finished, and the exit code is 130. A second Ctrl-C removes the sandboxes
 * and exits at once. Exit codes: 0 every trial passed, 1 a trial failed (or a task could not be
 * loaded), 3 a trial ended in an infrastructure error (engine, setup, our code), 2 usage.
 *
 * The model key and the base URL's credentials are redacted (core/src/redact.ts) from all this
 * prints and from everything the run writes.
 */
import { findTasks } from '../../core/src/clawgym';
import { cachedFileSystem, nodeFileSystem } from '../../core/src/language';
import { createBuiltinAgent, type BuiltinAgentLimits } from '../../core/src/agent/builtin';
import { resolveModelConfig, type ModelFlags } from '../../core/src/agent/config';
import { createReplayAgent } from '../../core/src/agent/replay';
import { blackBoxAgents, commandAgent } from '../../core/src/agent/blackbox';
import { loadModelScript, startModelServer, type ModelServer } from '../../core/src/modelserver';
import { BUILTIN_AGENTS, formatMs, type Agent } from '../../core/src/run/agents';
import { runJob, type JobEvent, type JobSummary } from '../../core/src/run/job';
import { loadTask } from '../../core/src/run/load';
import type { TrialResult } from '../../core/src/run/trial';
import type { ResolvedTask } from '../../core/src/run/types';
import { disposeAll } from '../../core/src/sandbox/registry';
import { selectBackend, type BackendChoice } from '../../core/src/sandbox/select';
import { SandboxError } from '../../core/src/sandbox/types';
import { DEFAULT_IMAGE } from '../../core/src/model/schema';
import { Redactor, redactUrl } from '../../core/src/redact';
import { displayPath, formatLine, locate, sortDiagnostics, useColor } from './report';
import type { Io } from './validate';
import { EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE } from './validate';

export const EXIT_CANCELLED = 130;
/** A trial ended in `error` (the engine, a setup command, our code): apart from failures (1). */
export const EXIT_ERRORS = 3;

export interface RunOptions {
  agent: string;
  backend: BackendChoice;
  image?: string;
  concurrency: number;
  attempts: number;
  /** Undefined: do not write a run folder. */
  runsDir?: string;
  json: boolean;
  agentTimeoutMs?: number;
  /** Grade every trial in a fresh sandbox (`--fresh-grading`). */
  freshGrading?: boolean;
  resources?: { cpus?: number; memoryBytes?: number; pids?: number };
  color?: boolean;
  /** The built-in agent's model (flags; the environment fills the rest) and limits. */
  model?: { flags: ModelFlags; limits: BuiltinAgentLimits; script?: string; stream?: boolean };
  /** The replay agent's recording: a trajectory.json, a trial folder or a run folder. */
  replay?: string;
  /** Bytes of output and trajectory events per trial (events.jsonl and `--json`). */
  maxEventBytes?: number;
}

/** Load every task; print why the refused ones were refused. */
function loadAll(paths: readonly string[], io: Io, color: boolean): { tasks: ResolvedTask[]; refused: number; usage?: string } {
  const found = findTasks(paths, io.cwd, { onePerTask: true });
  if (found.missing.length) return { tasks: [], refused: 0, usage: found.missing.map((m) => `path not found: ${m}`).join('\n') };
  if (!found.tasks.length) return { tasks: [], refused: 0, usage: `no .clawtask files or ClawGym task directories found in ${paths.join(', ')}` };
  const host = cachedFileSystem(nodeFileSystem, 60_000);
  const tasks: ResolvedTask[] = [];
  let refused = 0;
  for (const entry of found.tasks) {
    const r = loadTask(entry, { host });
    if (r.task) {
      tasks.push(r.task);
      continue;
    }
    refused++;
    io.stderr(`clawgym: cannot run ${displayPath(entry.path, io.cwd)}: ${r.error ?? 'invalid task'}\n`);
    const errors = sortDiagnostics(locate(r.reports, io.cwd)).filter((d) => d.severity === 'error');
    for (const d of errors.slice(0, 10)) io.stderr(`  ${formatLine(d, color)}\n`);
    if (errors.length > 10) io.stderr(`  … and ${errors.length - 10} more (run \`clawgym validate\`)\n`);
  }
  return { tasks, refused };
}

/**
 * How long a cancelled run may take to wind down (trials cancelled, sandboxes removed, results
 * written) before it removes every sandbox and exits anyway: a SIGTERM is sent once, and a
 * supervisor expects the process gone within seconds. `CLAWGYM_CANCEL_GRACE_MS` overrides it.
 */
export const CANCEL_GRACE_MS = 10_000;

function cancelGraceMs(): number {
  const v = Number(process.env.CLAWGYM_CANCEL_GRACE_MS);
  return Number.isFinite(v) && v >= 0 ? v : CANCEL_GRACE_MS;
}

/** Cancellation wired to SIGINT/SIGTERM for the duration of `body`. */
async function withCancellation<T>(io: Io, body: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; signal?: NodeJS.Signals }> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let grace: NodeJS.Timeout | undefined;
  let exiting = false;
  const exitNow = (sig: NodeJS.Signals, why: string) => {
    if (exiting) return;
    exiting = true;
    io.stderr(`clawgym: ${why}; removing sandboxes and exiting now\n`);
    void disposeAll(5000).finally(() => process.exit(exitForSignal(sig)));
  };
  const handler = (sig: NodeJS.Signals) => {
    if (received) {
      exitNow(sig, 'stopped again');
      return;
    }
    received = sig;
    io.stderr(`\nclawgym: cancelling (${sig}); sandboxes are being removed and finished results kept. Press Ctrl-C again to stop at once.\n`);
    controller.abort();
    const ms = cancelGraceMs();
    grace = setTimeout(() => exitNow(sig, `the run did not wind down within ${formatMs(ms)}`), ms);
  };
  // A reader that goes away (the extension host died, `| head`) closes our stdout: writing then
  // fails with EPIPE. Treat it as a cancellation so the sandboxes are still removed.
  const onStdoutError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' || received) return;
    received = 'SIGPIPE';
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.stdout.on('error', onStdoutError);
  try {
    const value = await body(controller.signal);
    return { value, signal: received };
  } finally {
    clearTimeout(grace);
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
    process.stdout.removeListener('error', onStdoutError);
  }
}

function exitForSignal(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? 143 : signal === 'SIGPIPE' ? 141 : EXIT_CANCELLED;
}

const CHECK = '✓';
const CROSS = '✗';

function paint(color: boolean, code: string, text: string): string {
  return color ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/** One trial as text: a headline and, when it did not pass, what failed. */
export function formatTrial(r: TrialResult, color: boolean): string {
  const reward = r.reward.toFixed(3);
  const time = formatMs(r.timing.totalMs);
  const checks = r.checks.length ? ` · checks ${r.checks.filter((c) => c.passed).length}/${r.checks.length}` : '';
  const verr = r.verifierErrors ? paint(color, '33', ` · ${r.verifierErrors} verifier error${r.verifierErrors > 1 ? 's' : ''}`) : '';
  let head: string;
  if (r.status === 'passed') head = `${paint(color, '32', CHECK)} ${r.trialId}  reward ${reward}${checks} · ${time}`;
  else if (r.status === 'failed') head = `${paint(color, '31', CROSS)} ${r.trialId}  reward ${reward}${checks}${verr} · ${time}`;
  else if (r.status === 'cancelled') head = `${paint(color, '33', '-')} ${r.trialId}  cancelled`;
  else head = `${paint(color, '31', '!')} ${r.trialId}  error in ${r.error?.phase}: ${r.error?.message}`;
  const lines = [head];
  if (r.agentOutcome && r.agentOutcome.status !== 'completed') lines.push(`    agent ${r.agentOutcome.status}${r.agentOutcome.error ? `: ${r.agentOutcome.error}` : ''}`);
  if (r.status === 'failed' || r.status === 'passed') {
    for (const c of r.checks) {
      if (c.passed) continue;
      const tag = c.error ? paint(color, '33', `verifier error (${c.error.kind})`) : `score ${c.score.toFixed(2)}`;
      lines.push(`    ${CROSS} ${c.id} [${c.kind}] ${tag}: ${c.error?.message ?? c.message}`);
    }
  }
  for (const note of r.verifier?.notes ?? []) lines.push(`    note: ${note}`);
  if (r.wantedNetwork && r.status !== 'passed') lines.push('    note: the task asks for network access, and the sandbox had none');
  return lines.join('\n') + '\n';
}

export function formatSummary(s: JobSummary): string {
  const parts = [`${s.trials} trial${s.trials === 1 ? '' : 's'}: ${s.passed} passed, ${s.failed} failed`];
  if (s.errors) parts.push(`${s.errors} error${s.errors === 1 ? '' : 's'}`);
  if (s.cancelled) parts.push(`${s.cancelled} cancelled`);
  let text = `${parts.join(', ')} · mean reward ${s.meanReward.toFixed(3)}`;
  if (s.verifierErrors) text += ` · ${s.verifierErrors} with verifier errors`;
  text += ` · ${formatMs(s.durationMs)} · agent ${s.agent} · ${s.backend}${s.isolation !== 'container' ? ` (${s.isolation === 'none' ? 'no isolation' : s.isolation})` : ''}`;
  if (s.runDir) text += `\nrun folder: ${s.runDir}`;
  return text + '\n';
}

interface Prepared {
  tasks: ResolvedTask[];
  refused: number;
  backend: Awaited<ReturnType<typeof selectBackend>>['backend'];
  image: string;
}

async function prepare(paths: readonly string[], options: RunOptions, io: Io, color: boolean): Promise<Prepared | number> {
  const loaded = loadAll(paths, io, color);
  if (loaded.usage) {
    io.stderr(`clawgym: ${loaded.usage}\n`);
    return EXIT_USAGE;
  }
  if (!loaded.tasks.length) {
    io.stderr('clawgym: no task could be loaded; nothing to run\n');
    return EXIT_PROBLEMS;
  }
  const image = options.image ?? io.env.CLAWGYM_IMAGE ?? DEFAULT_IMAGE;
  const images = loaded.tasks.map((t) => t.image ?? image);
  let selected;
  try {
    selected = await selectBackend(options.backend, images);
  } catch (e) {
    io.stderr(`clawgym: ${e instanceof SandboxError || e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_PROBLEMS;
  }
  if (selected.warning) io.stderr(`clawgym: warning: ${selected.warning}\n`);
  return { tasks: loaded.tasks, refused: loaded.refused, backend: selected.backend, image };
}

function progressPrinter(io: Io, options: RunOptions, color: boolean): (e: JobEvent) => void {
  let done = 0;
  let total = 0;
  return (e) => {
    if (options.json) {
      // Output chunks can be large and frequent; the extension gets them, capped per event.
      io.stdout(JSON.stringify(e.type === 'output' && e.text.length > 8192 ? { ...e, text: e.text.slice(0, 8192), truncated: true } : e) + '\n');
      return;
    }
    if (e.type === 'run-start') {
      total = e.trials;
      io.stderr(`clawgym: ${e.trials} trial${e.trials === 1 ? '' : 's'} of ${e.tasks} task${e.tasks === 1 ? '' : 's'} · agent ${e.agent} · ${e.backend} · concurrency ${e.concurrency}\n`);
    } else if (e.type === 'trial-end') {
      done++;
      io.stdout(formatTrial(e.result, color).replace(/^/, `[${done}/${total}] `));
    }
  };
}

export const AGENT_NAMES = ['builtin', 'oracle', 'nop', 'replay'];
/** Agents that run inside the sandbox behind the model proxy (with `command:<script>`). */
export const BLACK_BOX_AGENTS = ['openclaw', 'qwen-code'];

function isBlackBox(agent: string): boolean {
  return BLACK_BOX_AGENTS.includes(agent) || agent.startsWith('command:');
}

/** Whether an agent talks to a model (so the model flags mean something to it). */
export function usesModel(agent: string): boolean {
  return agent === 'builtin' || isBlackBox(agent);
}

interface ResolvedAgent {
  agent: Agent;
  /** What config.json records about the agent (never a key). */
  meta: Record<string, unknown>;
  /** The run's secrets (the key, the URL's credentials). */
  redactor: Redactor;
  close(): Promise<void>;
}

/** The agent a run uses; a message (usage error) when it cannot be had. */
async function resolveAgent(options: RunOptions, io: Io): Promise<ResolvedAgent | string> {
  const builtin = BUILTIN_AGENTS[options.agent];
  if (builtin) return { agent: builtin, meta: { name: builtin.name }, redactor: new Redactor(), close: async () => undefined };
  if (options.agent === 'replay' && options.replay) {
    return { agent: createReplayAgent(options.replay), meta: { name: 'replay', trajectory: options.replay }, redactor: new Redactor(), close: async () => undefined };
  }
  const blackBox = isBlackBox(options.agent);
  if (options.agent !== 'builtin' && !blackBox) return `unknown agent \`${options.agent}\`; available: ${[...AGENT_NAMES, ...BLACK_BOX_AGENTS, 'command:<shell script>'].join(', ')}`;
  if (options.agent === 'command:') return '`--agent command:<script>` needs the shell script that runs the agent, e.g. `command:my-agent --task "$(cat $CLAWGYM_INSTRUCTION_FILE)"`';
  const m = options.model ?? { flags: {}, limits: {} };
  let server: ModelServer | undefined;
  let config;
  if (m.script) {
    let script;
    try {
      script = loadModelScript(m.script);
    } catch (e) {
      return (e as Error).message;
    }
    server = await startModelServer({ script, record: false });
    // Not a secret: the bundled server checks no key.
    config = { baseUrl: server.url, model: script.models[0] ?? 'scripted', apiKey: 'clawgym-scripted-server-needs-no-key', ...m.flags };
    if (!options.json) io.stderr(`clawgym: scripted model server (${m.script}) at ${server.url}\n`);
  } else {
    const resolved = resolveModelConfig(m.flags, io.env);
    if (!resolved.ok) return resolved.message;
    config = resolved.config;
  }
  const redactor = Redactor.for({ apiKey: config.apiKey, baseUrl: config.baseUrl });
  if (!blackBox && /^https?:\/\/[^/?#]*@/i.test(config.baseUrl)) {
    // fetch refuses URLs with credentials; say so rather than fail every call.
    return `the built-in agent cannot send credentials inside the base URL (${redactUrl(config.baseUrl)}): put the key in CLAWGYM_API_KEY (or the variable --api-key-env names) instead`;
  }
  let agent: Agent;
  if (blackBox) {
    // The agent runs in the sandbox and reaches this endpoint only through the host-side proxy.
    // (A scripted server picks its replies by the task's `match`: black-box agents send no task header.)
    const model = { baseUrl: config.baseUrl, apiKey: config.apiKey, model: config.model };
    const caps = m.limits.maxTrajectoryBytes !== undefined ? { maxTrajectoryBytes: m.limits.maxTrajectoryBytes } : {};
    agent = options.agent.startsWith('command:') ? commandAgent(model, options.agent.slice('command:'.length), 'command', caps) : blackBoxAgents(model, caps)[options.agent]!;
  } else {
    agent = createBuiltinAgent({ model: config, ...m.limits, ...(m.stream === false ? { stream: false } : {}), sendTaskHeader: server !== undefined, redactor });
  }
  return {
    agent,
    redactor,
    // The URL as it may be printed: credentials in it are `[redacted]`.
    meta: { name: agent.name, model: config.model, baseUrl: redactUrl(config.baseUrl), scripted: m.script, temperature: config.temperature, maxTokens: config.maxTokens, limits: m.limits },
    close: async () => {
      await server?.close();
    },
  };
}

/** `clawgym run`. */
export async function runRun(paths: readonly string[], options: RunOptions, rawIo: Io): Promise<number> {
  const color = useColor(rawIo.stdoutIsTTY, rawIo.env, options.color);
  const resolved = await resolveAgent(options, rawIo);
  if (typeof resolved === 'string') {
    // Usage messages may quote the base URL: print no credential of it.
    rawIo.stderr(`clawgym: ${redactorFor(options, rawIo).redact(resolved)}\n`);
    return EXIT_USAGE;
  }
  // The console is a sink too: whatever reaches it goes through the run's redactor.
  const { redactor } = resolved;
  const io: Io = { ...rawIo, stdout: (t) => rawIo.stdout(redactor.redact(t)), stderr: (t) => rawIo.stderr(redactor.redact(t)) };
  try {
    return await runWith(paths, options, io, color, resolved);
  } catch (e) {
    throw redactor.error(e);
  } finally {
    await resolved.close();
  }
}

/** The secrets a run's options and environment name, before the model is resolved (for early messages). */
function redactorFor(options: RunOptions, io: Io): Redactor {
  const flags = options.model?.flags ?? {};
  const names = flags.apiKeyEnv ? [flags.apiKeyEnv] : ['CLAWGYM_API_KEY', 'OPENAI_API_KEY'];
  const baseUrl = flags.baseUrl ?? io.env.CLAWGYM_BASE_URL ?? io.env.OPENAI_BASE_URL;
  return Redactor.merge(new Redactor(names.map((n) => io.env[n])), baseUrl ? Redactor.for({ baseUrl }) : undefined);
}

/** The exit code of a finished run: errors (3) over failures (1) over success (0). */
export function exitCodeFor(results: readonly Pick<TrialResult, 'status'>[], refused: number): number {
  if (results.some((r) => r.status === 'error')) return EXIT_ERRORS;
  return results.length && results.every((r) => r.status === 'passed') && refused === 0 ? EXIT_OK : EXIT_PROBLEMS;
}

async function runWith(paths: readonly string[], options: RunOptions, io: Io, color: boolean, resolved: ResolvedAgent): Promise<number> {
  const agent = resolved.agent;
  const prepared = await prepare(paths, options, io, color);
  if (typeof prepared === 'number') return prepared;
  const { value: summary, signal } = await withCancellation(io, (sig) =>
    runJob({
      tasks: prepared.tasks,
      agent,
      backend: prepared.backend,
      image: prepared.image,
      concurrency: options.concurrency,
      attempts: options.attempts,
      runsDir: options.runsDir,
      agentTimeoutMs: options.agentTimeoutMs,
      resources: options.resources,
      ...(options.freshGrading ? { freshGrading: true } : {}),
      signal: sig,
      onEvent: progressPrinter(io, options, color),
      meta: { command: 'run', paths, agent: resolved.meta },
      redactor: resolved.redactor,
      ...(options.maxEventBytes !== undefined ? { maxEventBytes: options.maxEventBytes } : {}),
    }),
  );
  if (!options.json) io.stderr(formatSummary(summary));
  if (signal) return exitForSignal(signal);
  return exitCodeFor(summary.results, prepared.refused);
}

export interface CheckVerdict {
  taskId: string;
  source: string;
  oracle?: TrialResult;
  nop?: TrialResult;
  ok: boolean;
  problems: string[];
}

/** The paper's filter: the oracle scores 1 and doing nothing scores 0. */
export function judge(taskId: string, source: string, oracle: TrialResult | undefined, nop: TrialResult | undefined): CheckVerdict {
  const problems: string[] = [];
  if (!oracle) problems.push('oracle did not run');
  else if (oracle.status === 'error' || oracle.status === 'cancelled') problems.push(`oracle ${oracle.status}: ${oracle.error?.message ?? ''}`.trim());
  else if (oracle.reward < 1 - 1e-9) problems.push(`oracle scores ${oracle.reward.toFixed(3)}, not 1${failing(oracle)}`);
  if (!nop) problems.push('nop did not run');
  else if (nop.status === 'error' || nop.status === 'cancelled') problems.push(`nop ${nop.status}: ${nop.error?.message ?? ''}`.trim());
  else if (nop.reward > 1e-9) problems.push(`doing nothing scores ${nop.reward.toFixed(3)}, not 0${passing(nop)}`);
  for (const r of [oracle, nop]) if (r && r.verifierErrors) problems.push(`${r.agent}: ${r.verifierErrors} verifier error(s)`);
  return { taskId, source, oracle, nop, ok: problems.length === 0, problems };
}

function failing(r: TrialResult): string {
  const ids = r.checks.filter((c) => !c.passed).map((c) => c.id);
  return ids.length ? ` (failing: ${ids.join(', ')})` : '';
}

function passing(r: TrialResult): string {
  const ids = r.checks.filter((c) => c.score > 0).map((c) => c.id);
  return ids.length ? ` (already passing: ${ids.join(', ')})` : '';
}

/** `clawgym check`: oracle and nop on every task. */
export async function runCheck(paths: readonly string[], options: RunOptions, io: Io): Promise<number> {
  const color = useColor(io.stdoutIsTTY, io.env, options.color);
  const prepared = await prepare(paths, options, io, color);
  if (typeof prepared === 'number') return prepared;
  const common = {
    tasks: prepared.tasks,
    backend: prepared.backend,
    image: prepared.image,
    concurrency: options.concurrency,
    runsDir: options.runsDir,
    agentTimeoutMs: options.agentTimeoutMs,
    resources: options.resources,
    ...(options.freshGrading ? { freshGrading: true } : {}),
    ...(options.maxEventBytes !== undefined ? { maxEventBytes: options.maxEventBytes } : {}),
  };
  if (!options.json) io.stderr(`clawgym: checking ${prepared.tasks.length} task${prepared.tasks.length === 1 ? '' : 's'} (oracle must score 1, nop must score 0) on ${prepared.backend.name}\n`);
  const emit = options.json ? (e: JobEvent) => io.stdout(JSON.stringify(e) + '\n') : () => undefined;
  const { value, signal } = await withCancellation(io, async (sig) => {
    const oracle = await runJob({ ...common, agent: BUILTIN_AGENTS.oracle, signal: sig, onEvent: emit, meta: { command: 'check', paths } });
    const nop = await runJob({ ...common, agent: BUILTIN_AGENTS.nop, signal: sig, onEvent: emit, meta: { command: 'check', paths } });
    return { oracle, nop };
  });
  const verdicts = prepared.tasks.map((t, i) => judge(t.id, displayPath(t.source.path, io.cwd), value.oracle.results[i], value.nop.results[i]));
  if (options.json) {
    io.stdout(JSON.stringify({ type: 'check-end', verdicts: verdicts.map(({ oracle, nop, ...v }) => ({ ...v, oracleReward: oracle?.reward, nopReward: nop?.reward })) }) + '\n');
  } else {
    for (const v of verdicts) {
      const mark = v.ok ? paint(color, '32', CHECK) : paint(color, '31', CROSS);
      io.stdout(`${mark} ${v.taskId}  oracle ${v.oracle?.reward.toFixed(3) ?? '-'} · nop ${v.nop?.reward.toFixed(3) ?? '-'}  (${v.source})\n`);
      for (const p of v.problems) io.stdout(`    ${p}\n`);
    }
    const bad = verdicts.filter((v) => !v.ok).length;
    io.stderr(`${verdicts.length} task${verdicts.length === 1 ? '' : 's'} checked: ${verdicts.length - bad} ok, ${bad} rejected${prepared.refused ? `, ${prepared.refused} could not be loaded` : ''}\n`);
    if (value.oracle.runDir) io.stderr(`run folders: ${value.oracle.runDir} (oracle), ${value.nop.runDir} (nop)\n`);
  }
  if (signal) return exitForSignal(signal);
  if ([...value.oracle.results, ...value.nop.results].some((r) => r.status === 'error')) return EXIT_ERRORS;
  return verdicts.every((v) => v.ok) && prepared.refused === 0 ? EXIT_OK : EXIT_PROBLEMS;
}

/**
 * What the extension reads from `clawgym run|check --json` and what it says about it, without
 * `vscode`: splitting stdout into JSON lines, checking the events' shape, following a run's state,
 * and turning the end of a run into a message, a verdict and per-check findings placed on the
 * check's `id:` line. runner.ts does the I/O and the UI; this module is tested on its own
 * (client/test/runProtocol.test.ts).
 *
 * Only type imports from the engine (erased from the bundle), plus core/src/syntax (the `yaml`
 * package) to find a check's line: the client bundle stays free of dockerode and Node-only engine code.
 */
import * as nodePath from 'node:path';
import type { JobEvent, JobSummary } from '../../core/src/run/job';
import type { TrialPhase, TrialResult } from '../../core/src/run/trial';
import type { CheckResult } from '../../core/src/verifier/types';
import { parseTask, spanForPath, type Span } from '../../core/src/syntax';

// ---------------------------------------------------------------------------------------------
// The protocol

/** One task's verdict in `clawgym check --json`'s last line. */
export interface CheckVerdict {
  taskId: string;
  source: string;
  ok: boolean;
  problems: string[];
  oracleReward?: number;
  nopReward?: number;
}

export type CheckEndEvent = { type: 'check-end'; verdicts: CheckVerdict[] };
/** Everything `--json` prints on stdout: the job events (core/src/run/job.ts) and check's verdicts. */
export type CliEvent = JobEvent | CheckEndEvent;

export const AGENTS = ['builtin', 'oracle', 'nop'] as const;
export type AgentName = (typeof AGENTS)[number];
export const BACKENDS = ['auto', 'docker', 'local'] as const;
export type Backend = (typeof BACKENDS)[number];

/** A line longer than this without a line break is dropped (a runaway writer must not eat memory). */
export const MAX_LINE_CHARS = 32 * 1024 * 1024;

/**
 * Splits a byte stream into lines (UTF-8 decoded across chunk boundaries, `\n` or `\r\n`), skipping
 * blank ones. `end()` delivers a last line that has no line break.
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private pending = '';
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: (droppedChars: number) => void = () => undefined,
  ) {}

  push(chunk: Uint8Array | string): void {
    this.take(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
  }

  end(): void {
    this.take(this.decoder.decode());
    const rest = this.pending;
    this.pending = '';
    if (rest.trim()) this.onLine(rest.replace(/\r$/, ''));
  }

  private take(text: string): void {
    if (!text) return;
    const data = this.pending + text;
    let start = 0;
    // The pending part has no line break: search only the new text.
    for (let nl = data.indexOf('\n', this.pending.length); nl >= 0; nl = data.indexOf('\n', start)) {
      const line = data.slice(start, nl).replace(/\r$/, '');
      start = nl + 1;
      if (line.trim()) this.onLine(line);
    }
    this.pending = data.slice(start);
    if (this.pending.length > MAX_LINE_CHARS) {
      this.onOverflow(this.pending.length);
      this.pending = '';
    }
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';

function isTrialResult(v: unknown): v is TrialResult {
  return (
    isObject(v) &&
    isString(v.taskId) &&
    isString(v.trialId) &&
    isString(v.agent) &&
    isString(v.status) &&
    typeof v.reward === 'number' &&
    Array.isArray(v.checks) &&
    v.checks.every((c) => isObject(c) && isString(c.id) && typeof c.score === 'number' && typeof c.passed === 'boolean')
  );
}

/**
 * One stdout line as an event. `{ text }` for a line that is not an event we know: not JSON, not an
 * object with a `type`, a known type with the wrong shape (a CLI from another version), or a
 * type this extension does not know yet (`unknown: true`; newer CLIs may add some).
 */
export function parseEventLine(line: string): { event: CliEvent } | { text: string; unknown?: boolean; problem?: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { text: line, problem: 'not JSON' };
  }
  if (!isObject(v) || !isString(v.type)) return { text: line, problem: 'not an event (no `type`)' };
  const ok = ((): boolean | undefined => {
    switch (v.type) {
      case 'run-start':
        return isString(v.runId) && isString(v.agent) && isString(v.backend);
      case 'trial-start':
        return isString(v.trialId) && isString(v.taskId);
      case 'phase':
        return isString(v.trialId) && isString(v.phase);
      case 'output':
        return isString(v.trialId) && isString(v.text) && isString(v.stream);
      case 'trajectory':
        return isString(v.trialId) && isObject(v.event) && isString(v.event.type);
      case 'trial-end':
        return isTrialResult(v.result);
      case 'run-end':
        return isObject(v.summary) && Array.isArray(v.summary.results) && v.summary.results.every(isTrialResult);
      case 'check-end':
        return Array.isArray(v.verdicts) && v.verdicts.every((x) => isObject(x) && isString(x.taskId) && typeof x.ok === 'boolean' && Array.isArray(x.problems));
      default:
        return undefined;
    }
  })();
  if (ok === undefined) return { text: line, unknown: true };
  if (!ok) return { text: line, problem: `a \`${v.type}\` event of an unexpected shape` };
  return { event: v as unknown as CliEvent };
}

// ---------------------------------------------------------------------------------------------
// Starting the CLI

export interface CliRequest {
  command: 'run' | 'check';
  /** Absolute path of the task file (or ClawGym task directory). */
  task: string;
  /** `run` only. */
  agent?: AgentName;
  backend: Backend;
  /** Absolute folder run folders go under. */
  runsDir: string;
  /** Image for tasks that name none. */
  image?: string;
  /** The built-in agent's model settings (empty values are left to the CLI's environment). */
  model?: { model?: string; baseUrl?: string; temperature?: number; maxTokens?: number; maxSteps?: number };
}

/** The CLI's arguments (after the script path). */
export function cliArgs(req: CliRequest): string[] {
  const args = [req.command, req.task];
  if (req.command === 'run') args.push('--agent', req.agent ?? 'oracle');
  args.push('--json', '--no-color', '--backend', req.backend, '--runs-dir', req.runsDir);
  if (req.image?.trim()) args.push('--image', req.image.trim());
  const m = req.model;
  if (req.command === 'run' && req.agent === 'builtin' && m) {
    if (m.model?.trim()) args.push('--model', m.model.trim());
    if (m.baseUrl?.trim()) args.push('--base-url', m.baseUrl.trim());
    if (m.temperature !== undefined && m.temperature >= 0) args.push('--temperature', String(m.temperature));
    if (m.maxTokens) args.push('--max-tokens', String(m.maxTokens));
    if (m.maxSteps) args.push('--max-steps', String(m.maxSteps));
  }
  return args;
}

/** A backend setting as the CLI takes it (anything unknown is `auto`). */
export function backendSetting(value: unknown): Backend {
  return (BACKENDS as readonly unknown[]).includes(value) ? (value as Backend) : 'auto';
}

/**
 * The runs folder: an absolute setting as is, a relative one under the task's workspace folder,
 * or under the task's own folder when it is in no workspace folder. Empty means `runs`.
 */
export function resolveRunsDir(setting: unknown, workspaceFolder: string | undefined, taskPath: string): string {
  const value = typeof setting === 'string' && setting.trim() ? setting.trim() : 'runs';
  if (nodePath.isAbsolute(value)) return nodePath.normalize(value);
  return nodePath.resolve(workspaceFolder ?? nodePath.dirname(taskPath), value);
}

// ---------------------------------------------------------------------------------------------
// Following a run

export type LogLevel = 'info' | 'warn' | 'error' | 'trace';
export interface LogLine {
  level: LogLevel;
  text: string;
}

const PHASES: Record<TrialPhase, string> = {
  sandbox: 'creating the sandbox',
  setup: 'running the setup',
  agent: 'the agent is working',
  verifier: 'verifying',
  dispose: 'removing the sandbox',
};

/** `850 ms`, `3.2 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

export const formatReward = (r: number): string => (Number.isFinite(r) ? r.toFixed(3) : String(r));

/** The text of a check's result: the verifier error when there is one, else the check's message. */
export function checkMessage(c: CheckResult): string {
  if (c.error) return `verifier error (${c.error.kind}): ${c.error.message}`;
  return c.message || (c.passed ? 'passed' : `score ${c.score.toFixed(2)}`);
}

/** A trial's result as log lines: a headline and one line per check. */
export function describeTrial(r: TrialResult, trialDir?: string): LogLine[] {
  const checks = r.checks.length ? ` · checks ${r.checks.filter((c) => c.passed).length}/${r.checks.length}` : '';
  const time = r.timing ? ` · ${formatDuration(r.timing.totalMs)}` : '';
  const out: LogLine[] = [];
  if (r.status === 'passed') out.push({ level: 'info', text: `✓ ${r.trialId} passed: reward ${formatReward(r.reward)}${checks}${time}` });
  else if (r.status === 'failed') out.push({ level: 'warn', text: `✗ ${r.trialId} failed: reward ${formatReward(r.reward)}${checks}${time}` });
  else if (r.status === 'cancelled') out.push({ level: 'warn', text: `- ${r.trialId} cancelled` });
  else out.push({ level: 'error', text: `! ${r.trialId} error in ${r.error?.phase ?? '?'}: ${r.error?.message ?? 'unknown error'}` });
  if (r.agentOutcome && r.agentOutcome.status !== 'completed') {
    out.push({ level: 'warn', text: `    agent ${r.agentOutcome.status}${r.agentOutcome.error ? `: ${r.agentOutcome.error}` : ''}` });
  }
  for (const c of r.checks) {
    out.push({ level: c.passed ? 'info' : c.error ? 'error' : 'warn', text: `    ${c.passed ? '✓' : '✗'} ${c.id} [${c.kind}] ${c.score.toFixed(2)}: ${checkMessage(c)}` });
  }
  for (const note of r.verifier?.notes ?? []) out.push({ level: 'info', text: `    note: ${note}` });
  if (trialDir) out.push({ level: 'info', text: `    trial folder: ${trialDir}` });
  return out;
}

interface OutputBuffer {
  prefix: string;
  pending: string;
}

/**
 * The state of one CLI process, fed event by event: what to log, what the progress notification
 * says, and every trial's result (with its folder) for the end.
 */
export class RunTracker {
  readonly runs: { runId: string; runDir?: string; agent: string; backend: string; isolation: string }[] = [];
  readonly results: { result: TrialResult; trialDir?: string }[] = [];
  readonly summaries: JobSummary[] = [];
  verdicts?: CheckVerdict[];
  /** Lines of stdout that were not events (logged; a non-empty list hints at a CLI mismatch). */
  readonly strayLines: string[] = [];
  private readonly agentOf = new Map<string, string>();
  private readonly output = new Map<string, OutputBuffer>();

  /** Apply one event: the log lines it gives and, when it changes, the progress message. */
  apply(e: CliEvent): { log: LogLine[]; progress?: string } {
    switch (e.type) {
      case 'run-start': {
        this.runs.push({ runId: e.runId, runDir: e.runDir, agent: e.agent, backend: e.backend, isolation: e.isolation });
        const weak = e.isolation !== 'container' ? ` (isolation: ${e.isolation})` : '';
        const lines: LogLine[] = [{ level: 'info', text: `run ${e.runId}: agent ${e.agent} on ${e.backend}${weak}, ${e.trials} trial${e.trials === 1 ? '' : 's'}` }];
        if (e.runDir) lines.push({ level: 'info', text: `run folder: ${e.runDir}` });
        if (e.isolation !== 'container') lines.push({ level: 'warn', text: `sandboxes are not containers here (${e.isolation}): weaker isolation than Docker` });
        return { log: lines, progress: `${e.agent}: starting` };
      }
      case 'trial-start': {
        const agent = this.runs.at(-1)?.agent ?? '';
        this.agentOf.set(e.trialId, agent);
        return { log: [{ level: 'info', text: `${e.trialId} (${agent}): started` }], progress: `${agent}: starting` };
      }
      case 'phase': {
        const agent = this.agentOf.get(e.trialId) ?? this.runs.at(-1)?.agent ?? '';
        const log = this.flushOutput(e.trialId);
        log.push({ level: 'info', text: `${e.trialId} (${agent}): ${e.phase}` });
        return { log, progress: `${agent}: ${PHASES[e.phase] ?? e.phase}` };
      }
      case 'trajectory':
        // The live view (webview) reads these; the log gets the agent's steps in one line each.
        if (e.event.type === 'step' && e.event.step.source === 'agent') {
          const calls = e.event.step.tool_calls?.map((c) => c.function_name).join(', ');
          return { log: [{ level: 'info', text: `${e.trialId} step ${e.event.step.step_id}${calls ? `: ${calls}` : ''}` }] };
        }
        return { log: [] };
      case 'output':
        return { log: this.addOutput(e.trialId, `${e.trialId} ${e.phase} ${e.stream}`, e.text, (e as { truncated?: boolean }).truncated === true) };
      case 'trial-end': {
        this.results.push({ result: e.result, trialDir: e.trialDir });
        return { log: [...this.flushOutput(e.result.trialId), ...describeTrial(e.result, e.trialDir)] };
      }
      case 'run-end': {
        const s = e.summary;
        this.summaries.push(s);
        const parts = [`${s.trials} trial${s.trials === 1 ? '' : 's'}: ${s.passed} passed, ${s.failed} failed`];
        if (s.errors) parts.push(`${s.errors} error${s.errors === 1 ? '' : 's'}`);
        if (s.cancelled) parts.push(`${s.cancelled} cancelled`);
        return { log: [{ level: 'info', text: `run ${s.runId} (${s.agent}) ended: ${parts.join(', ')} · mean reward ${formatReward(s.meanReward)} · ${formatDuration(s.durationMs)}` }] };
      }
      case 'check-end': {
        this.verdicts = e.verdicts;
        return { log: e.verdicts.map((v) => ({ level: v.ok ? 'info' : 'warn', text: `check ${v.taskId}: ${validationHeadline(v)}` }) as LogLine) };
      }
    }
  }

  /** Output arrives in chunks: log whole lines, keep the partial last one until more comes. */
  private addOutput(trialId: string, prefix: string, text: string, truncated: boolean): LogLine[] {
    const key = `${trialId}\0${prefix}`;
    const buf = this.output.get(key) ?? { prefix, pending: '' };
    this.output.set(key, buf);
    const data = buf.pending + text;
    const parts = data.split(/\r?\n/);
    buf.pending = parts.pop() ?? '';
    const out: LogLine[] = parts.map((l) => ({ level: 'info', text: `${prefix} | ${l}` }));
    if (truncated) out.push({ level: 'warn', text: `${prefix} | [output chunk truncated by the CLI]` });
    return out;
  }

  /** Whatever partial output lines a trial still holds. */
  private flushOutput(trialId: string): LogLine[] {
    const out: LogLine[] = [];
    for (const [key, buf] of this.output) {
      if (!key.startsWith(`${trialId}\0`)) continue;
      if (buf.pending) out.push({ level: 'info', text: `${buf.prefix} | ${buf.pending}` });
      this.output.delete(key);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// The end of a run

export interface ProcessEnd {
  /** Exit code, null when killed by a signal. */
  code: number | null;
  signal: string | null;
  /** The tail of stderr (progress, warnings, why it refused). */
  stderr: string;
  /** The process could not be started at all. */
  spawnError?: string;
  /** We asked it to stop (Cancel, a new run, the extension ending). */
  cancelRequested: boolean;
}

/** Something to show on a check's line after a run. */
export interface CheckFinding {
  checkId: string;
  kind: string;
  /** error: the check could not be graded (verifier error); warning: a wrong answer or a bad task. */
  severity: 'error' | 'warning';
  message: string;
}

export interface Outcome {
  /**
   * passed/failed: the verdict; error: nothing could be graded (the CLI refused, crashed, a trial
   * errored); cancelled: stopped on request.
   */
  kind: 'passed' | 'failed' | 'error' | 'cancelled';
  /** One line for the notification (without the `ClawGym:` prefix). */
  message: string;
  /** More text for an error (stderr tail). */
  detail?: string;
  findings: CheckFinding[];
  /** The trial folder (one trial) or the run folder to open. */
  folder?: string;
}

const STDERR_LINES = 12;

/** The last meaningful stderr lines, without the CLI's progress chatter. */
export function stderrTail(stderr: string, lines = STDERR_LINES): string {
  return stderr
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim())
    .slice(-lines)
    .join('\n');
}

/** When the process ended without a result: why, in words (undefined when it did end normally). */
function processFailure(end: ProcessEnd, what: string): Outcome | undefined {
  const tail = stderrTail(end.stderr);
  const lines = end.stderr.split(/\r?\n/).filter((l) => l.trim());
  // The CLI's own message (`clawgym: cannot run x: why`), not a warning printed before it.
  const headline = (lines.find((l) => /^clawgym: (?!warning:)/.test(l)) ?? lines.find((l) => !/^clawgym: warning:/.test(l)) ?? lines[0] ?? '').replace(/^clawgym:\s*/, '').trim();
  if (end.spawnError) return { kind: 'error', message: `could not start the ClawGym CLI: ${end.spawnError}`, findings: [] };
  if (end.cancelRequested || end.code === 130 || end.code === 143 || end.signal === 'SIGINT' || end.signal === 'SIGTERM') {
    return { kind: 'cancelled', message: `${what} was cancelled`, findings: [] };
  }
  if (end.code === 2) return { kind: 'error', message: `the ClawGym CLI refused the command (exit 2)${headline ? `: ${headline}` : ''}`, detail: tail, findings: [] };
  // Exit 1 before any result: the task could not be loaded or no backend could run it.
  if (end.code === 1 && headline) return { kind: 'error', message: `${what} did not start: ${headline}`, detail: tail, findings: [] };
  const how = end.signal ? `was killed by ${end.signal}` : `exited with code ${end.code}`;
  return { kind: 'error', message: `the ClawGym CLI ${how} before reporting a result${headline ? `: ${headline}` : ''}`, detail: tail, findings: [] };
}

function failedChecks(r: TrialResult): CheckFinding[] {
  return r.checks
    .filter((c) => !c.passed)
    .map((c) => ({ checkId: c.id, kind: c.kind, severity: c.error ? 'error' : 'warning', message: `${c.id} failed (${r.agent}, score ${c.score.toFixed(2)}): ${checkMessage(c)}` }));
}

function trialError(r: TrialResult, detail: string): Outcome {
  return { kind: 'error', message: `${r.taskId}: error in ${r.error?.phase ?? 'the run'}: ${r.error?.message ?? 'unknown error'}`, detail: detail || undefined, findings: failedChecks(r) };
}

/** `clawgym run` on one task: the reward, pass/fail, the failed checks. */
export function runOutcome(t: RunTracker, end: ProcessEnd): Outcome {
  const last = t.results.at(-1);
  if (!last) return processFailure(end, 'the run') ?? noResult(end);
  const r = last.result;
  const folder = last.trialDir ?? t.runs.at(-1)?.runDir;
  if (r.status === 'cancelled') return { kind: 'cancelled', message: `${r.taskId}: the run was cancelled`, findings: [], folder };
  if (r.status === 'error') return { ...trialError(r, stderrTail(end.stderr)), folder };
  const passed = r.checks.filter((c) => c.passed).length;
  const failed = r.checks.filter((c) => !c.passed);
  const checks = r.checks.length ? ` (checks ${passed}/${r.checks.length}${failed.length ? `; failed: ${failed.map((c) => c.id).join(', ')}` : ''})` : '';
  const isolation = t.runs.at(-1)?.isolation;
  const weak = isolation && isolation !== 'container' ? ` [${t.runs.at(-1)?.backend}, ${isolation === 'none' ? 'no isolation' : isolation}]` : '';
  const verdict = r.status === 'passed' ? 'passed' : 'failed';
  return {
    kind: verdict,
    message: `${r.taskId} ${verdict} with ${r.agent}: reward ${formatReward(r.reward)}${checks}${weak}`,
    findings: failedChecks(r),
    folder,
  };
}

/** `clawgym run --agent oracle` reported for one check (the Verify lens). */
export function checkRunOutcome(t: RunTracker, end: ProcessEnd, checkId: string): Outcome {
  const whole = runOutcome(t, end);
  const r = t.results.at(-1)?.result;
  if (!r || whole.kind === 'cancelled') return whole;
  const c = r.checks.find((x) => x.id === checkId);
  // A trial that errored before its verifier graded this check: the error is the answer.
  if (r.status === 'error' && !c) return whole;
  if (!c) {
    return { kind: 'error', message: `${r.taskId}: the run has no result for check \`${checkId}\` (checks: ${r.checks.map((x) => x.id).join(', ') || 'none'})`, findings: [], folder: whole.folder };
  }
  if (c.passed) return { kind: 'passed', message: `check ${c.id} passed with ${r.agent} (score ${c.score.toFixed(2)})`, findings: [], folder: whole.folder };
  return {
    kind: 'failed',
    message: `check ${c.id} failed with ${r.agent} (score ${c.score.toFixed(2)}): ${checkMessage(c)}`,
    findings: failedChecks(r).filter((f) => f.checkId === checkId),
    folder: whole.folder,
  };
}

export function validationHeadline(v: CheckVerdict): string {
  const rewards = `oracle ${v.oracleReward === undefined ? '-' : formatReward(v.oracleReward)}, nop ${v.nopReward === undefined ? '-' : formatReward(v.nopReward)}`;
  return v.ok ? `${rewards}: OK` : `${rewards}: ${v.problems.join('; ')}`;
}

/**
 * `clawgym check` on one task (the paper's filter). Findings: checks the reference solution fails,
 * and checks that give points to an agent that did nothing.
 */
export function validateOutcome(t: RunTracker, end: ProcessEnd): Outcome {
  const v = t.verdicts?.[0];
  if (!v) return processFailure(end, 'the validation') ?? noResult(end);
  const findings: CheckFinding[] = [];
  for (const { result: r } of t.results) {
    if (r.agent === 'oracle') {
      for (const f of failedChecks(r)) findings.push({ ...f, message: `the reference solution fails this check: ${f.message}` });
    } else if (r.agent === 'nop') {
      for (const c of r.checks) {
        if (c.score > 1e-9) findings.push({ checkId: c.id, kind: c.kind, severity: 'warning', message: `${c.id} gives points to an agent that does nothing (nop, score ${c.score.toFixed(2)}): ${checkMessage(c)}` });
        else if (c.error) findings.push({ checkId: c.id, kind: c.kind, severity: 'error', message: `${c.id} could not be graded (nop): ${checkMessage(c)}` });
      }
    }
  }
  const folder = t.runs.length === 1 ? t.runs[0].runDir : t.runs[0]?.runDir ? nodePath.dirname(t.runs[0].runDir) : undefined;
  if (end.cancelRequested) return { kind: 'cancelled', message: `${v.taskId}: the validation was cancelled`, findings: [], folder };
  return { kind: v.ok ? 'passed' : 'failed', message: `${v.taskId}: ${validationHeadline(v)}`, findings, folder };
}

function noResult(end: ProcessEnd): Outcome {
  return { kind: 'error', message: 'the ClawGym CLI ended without reporting a result', detail: stderrTail(end.stderr) || undefined, findings: [] };
}

// ---------------------------------------------------------------------------------------------
// Where a check is written

/**
 * Where to show findings about checks in `text`: a check's `id:` entry (key to value) in
 * `verifier.checks`; the `verifier.reward_script` entry for the reward script; else the task's
 * `id:` line (a check renamed or removed since the run). Parses once; offsets are UTF-16, like
 * `TextDocument.positionAt`.
 */
export function checkLocator(text: string): (checkId: string, kind?: string) => Span {
  const parsed = parseTask(text);
  const value = parsed.value as { verifier?: { checks?: unknown; reward_script?: unknown } } | null;
  const checks = Array.isArray(value?.verifier?.checks) ? (value.verifier.checks as unknown[]) : [];
  const entry = (path: (string | number)[]): Span => {
    const key = spanForPath(parsed, path, 'key');
    const val = spanForPath(parsed, path, 'value');
    return { start: key.start, end: Math.max(key.end, val.end) };
  };
  return (checkId, kind) => {
    const index = checks.findIndex((c) => isObject(c) && c.id !== undefined && c.id !== null && String(c.id) === checkId);
    if (index >= 0) return entry(['verifier', 'checks', index, 'id']);
    if (kind === 'reward_script' && value?.verifier?.reward_script !== undefined) return entry(['verifier', 'reward_script']);
    return spanForPath(parsed, ['id'], 'key');
  };
}

/** Check ids written in a task (for picking one to verify), in order. */
export function checkIds(text: string): string[] {
  const value = parseTask(text).value as { verifier?: { checks?: unknown } } | null;
  const checks = Array.isArray(value?.verifier?.checks) ? (value.verifier.checks as unknown[]) : [];
  return checks.flatMap((c) => (isObject(c) && (isString(c.id) || typeof c.id === 'number') && String(c.id) ? [String(c.id)] : []));
}

/**
 * The host side of the in-sandbox checks (`command`, `python`, the reward script): build the
 * program that runs in the sandbox (runnerSource.ts + the bundle), run it in one exec, and turn
 * its report into verdicts. Classification lives here, not in Python, so it is unit-tested
 * without a sandbox.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { compileRegex } from '../language/diagnostics/evaluate';
import { testBounded, type BoundedRegex } from '../regex';
import { SandboxError, type ExecResult, type Sandbox } from '../sandbox/types';
import { RUNNER_SOURCE } from './runnerSource';
import type { Verdict } from './hostChecks';
import type { VerifierError, VerifierErrorKind } from './types';

/** Output tails kept in a check's result. */
export const REPORT_TAIL_BYTES = 4096;
/** Stdout kept for `stdout_matches` (it is matched against the first this many bytes). */
export const MATCH_HEAD_BYTES = 1 << 20;
/** ClawGym's limit for the reward script. */
export const REWARD_LIMIT_MS = 120_000;
/** The exec's own limit is the verifier's plus this: the runner enforces the real deadline itself. */
export const EXEC_MARGIN_MS = 15_000;
/** Reward folders are a script and a grader; refuse to push anything absurd through stdin. */
export const MAX_REWARD_FOLDER_BYTES = 64 << 20;

// ---------------------------------------------------------------------------------------------
// The plan

export interface CommandPlan {
  id: string;
  command: string;
  timeoutMs: number;
  exitCode: number;
  /** Matched on the host in linear time (regex/bounded.ts), whatever the command printed. */
  stdoutMatches?: BoundedRegex;
}
export interface PythonPlan {
  id: string;
  source: string;
  timeoutMs: number;
}
export interface RewardPlan {
  id: string;
  /** Relative to the reward folder. */
  script: string;
  timeoutMs: number;
  folder: RewardFolder;
}
export interface SandboxPlan {
  root: string;
  /** The sandbox's workdir (the local backend maps it to a host folder, named in CLAWGYM_WORKSPACE). */
  workdir: string;
  env: Record<string, string>;
  verifierTimeoutMs: number;
  payload: unknown;
  commands: CommandPlan[];
  python: PythonPlan[];
  reward?: RewardPlan;
}

export interface RewardFolder {
  mode: number;
  entries: { path: string; type: 'file' | 'directory'; mode: number; data?: Buffer }[];
}

/**
 * Read a reward folder from the host, whole and byte for byte, modes kept. Symlinks inside it are
 * followed when they stay inside it (their target is copied); anything else is refused.
 */
export async function readRewardFolder(hostDir: string, maxBytes = MAX_REWARD_FOLDER_BYTES): Promise<RewardFolder> {
  const base = await fsp.realpath(hostDir);
  const top = await fsp.stat(base);
  if (!top.isDirectory()) throw new Error(`${hostDir} is not a folder`);
  const entries: RewardFolder['entries'] = [];
  let total = 0;
  const inside = (p: string) => p === base || p.startsWith(base + path.sep);
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (depth > 32) throw new Error(`reward/${rel} is nested too deep (a symlink loop?)`);
    for (const name of (await fsp.readdir(dir)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      let full = path.join(dir, name);
      let st = await fsp.lstat(full);
      if (st.isSymbolicLink()) {
        const real = await fsp.realpath(full).catch(() => undefined);
        if (!real || !inside(real)) throw new Error(`reward/${r} is a symlink that leaves the reward folder`);
        full = real;
        st = await fsp.stat(real);
      }
      if (st.isDirectory()) {
        entries.push({ path: r, type: 'directory', mode: st.mode & 0o7777 });
        await walk(full, r, depth + 1);
      } else if (st.isFile()) {
        // Judged from the size first: a huge sparse file is refused without being read.
        if (total + st.size > maxBytes) throw new Error(`the reward folder holds more than ${maxBytes} bytes`);
        const data = await fsp.readFile(full);
        total += data.length;
        if (total > maxBytes) throw new Error(`the reward folder holds more than ${maxBytes} bytes`);
        entries.push({ path: r, type: 'file', mode: st.mode & 0o7777, data });
      } else throw new Error(`reward/${r} is neither a file nor a folder`);
    }
  };
  await walk(base, '', 0);
  return { mode: top.mode & 0o7777, entries };
}

/** The program written to `python3 -I -S -`: the runner, then `main(<spec>)`, and where it will work. */
export function buildProgram(plan: SandboxPlan): { program: string; marker: string; dirName: string } {
  const marker = `@@clawgym-verifier-${randomBytes(12).toString('hex')}@@`;
  const dirName = `clawgym-verifier-${randomBytes(16).toString('hex')}`;
  const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
  const files = [{ path: 'payload.json', data: b64(JSON.stringify(plan.payload)) }];
  const python = plan.python.map((p, i) => {
    files.push({ path: `checks/${i}.py`, data: b64(p.source) });
    return { id: p.id, file: `checks/${i}.py`, timeout_ms: p.timeoutMs };
  });
  const spec = {
    marker,
    dir_name: dirName,
    root: plan.root,
    workdir: plan.workdir,
    env: plan.env,
    timeout_ms: plan.verifierTimeoutMs,
    files,
    commands: plan.commands.map((c) => ({ id: c.id, command: c.command, timeout_ms: c.timeoutMs, head: c.stdoutMatches ? MATCH_HEAD_BYTES : 0 })),
    python,
    reward: plan.reward ? {
      id: plan.reward.id,
      script: plan.reward.script,
      timeout_ms: plan.reward.timeoutMs,
      mode: plan.reward.folder.mode,
      entries: plan.reward.folder.entries.map((e) => ({ path: e.path, type: e.type, mode: e.mode, data: e.data ? b64(e.data) : null })),
    } : null,
  };
  const program = `${RUNNER_SOURCE}\nmain(${pythonLiteral(spec)})\n`;
  return { program, marker, dirName };
}

/**
 * A JSON-like value as a Python literal (so the runner needs no `json` import to read its spec).
 * JSON string escapes are all valid in Python string literals; only the three constants differ.
 */
export function pythonLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot pass ${v} to the runner`);
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pythonLiteral).join(', ')}]`;
  if (typeof v === 'object') {
    const items = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${pythonLiteral(x)}`);
    return `{${items.join(', ')}}`;
  }
  throw new Error(`cannot pass a ${typeof v} to the runner`);
}

// ---------------------------------------------------------------------------------------------
// Running it

/** One check's report from the runner (snake_case: it is the runner's JSON). */
export interface RunnerCheckReport {
  id: string;
  kind: 'command' | 'python' | 'reward_script';
  /** `no-workspace`: the agent removed the workspace root, so the check could not start there. */
  status: 'ok' | 'timeout' | 'crash' | 'too-large' | 'deadline' | 'tampered' | 'no-workspace';
  exit_code?: number | null;
  stdout?: string;
  stderr?: string;
  stdout_bytes?: number;
  stderr_bytes?: number;
  stdout_head?: string;
  duration_ms: number;
  /** The time limit the runner applied (the check's own, or less when the verifier's deadline was nearer). */
  limit_ms?: number;
  message?: string;
  /** python checks: what the child wrote, as JSON text (null when it wrote nothing). */
  result_json?: string | null;
}

export type PythonValue =
  | { t: 'num'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nonfinite'; v: string }
  | { t: 'dict'; v: [string, PythonValue][] }
  | { t: 'other'; type: string; repr: string };

export type PythonChildResult = { kind: 'value'; value: PythonValue } | { kind: 'exception'; traceback: string } | { kind: 'no-grade' };

export interface RunnerDone {
  fatal: { kind: VerifierErrorKind; message: string } | null;
  /** Set when the verifier's files were not intact after the checks ran: what changed. */
  changed?: string;
  python?: string;
  duration_ms?: number;
}

export interface RunnerReport {
  checks: Map<string, RunnerCheckReport>;
  done?: RunnerDone;
}

/** Pick the runner's lines out of its stdout (anything else there is ignored). */
export function parseRunnerOutput(stdout: string, marker: string): RunnerReport {
  const checks = new Map<string, RunnerCheckReport>();
  let done: RunnerDone | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(marker + ' ')) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line.slice(marker.length + 1));
    } catch {
      continue;
    }
    if (!obj || typeof obj !== 'object') continue;
    const o = obj as Record<string, unknown>;
    if (o.done === true) {
      done = { fatal: (o.fatal as RunnerDone['fatal']) ?? null, python: o.python as string, duration_ms: o.duration_ms as number };
      if (typeof o.changed === 'string') done.changed = o.changed;
    }
    else if (typeof o.id === 'string' && typeof o.kind === 'string') checks.set(`${o.kind}:${o.id}`, o as unknown as RunnerCheckReport);
  }
  return done ? { checks, done } : { checks };
}

export interface SandboxRun {
  report: RunnerReport;
  /** Why checks without a report got none (exec failure, timeout, no python3). */
  missingReason: VerifierError;
  exec?: ExecResult;
}

const NO_PYTHON = 'python3 is not installed in the sandbox image: the in-sandbox checks need python3 3.9 or newer';

/** Run the plan in one exec. Rejects only when cancelled. */
export async function runInSandbox(sandbox: Sandbox, plan: SandboxPlan, opts: { signal?: AbortSignal; onLog?: (line: string) => void }): Promise<SandboxRun> {
  const { program, marker } = buildProgram(plan);
  const execTimeout = plan.verifierTimeoutMs + EXEC_MARGIN_MS;
  let pending = '';
  const decoder = new TextDecoder();
  const onStderr = opts.onLog
    ? (chunk: Uint8Array) => {
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          opts.onLog!(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
    : undefined;
  let exec: ExecResult;
  try {
    const options = {
      // `/`, not the workspace: the agent may have deleted the root, and the exec must still start
      cwd: '/',
      env: plan.env,
      timeoutMs: execTimeout,
      maxOutputBytes: 32 << 20,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(onStderr ? { onStderr } : {}),
    };
    // A backend that can (the Docker session) runs the program without starting an interpreter.
    exec = sandbox.execPython
      ? await sandbox.execPython(program, options)
      : await sandbox.exec(['python3', '-I', '-S', '-'], { ...options, stdin: program });
  } catch (e) {
    if (e instanceof SandboxError && e.kind === 'cancelled') throw e;
    if (opts.signal?.aborted) throw new SandboxError('cancelled', 'the verifier was cancelled', { cause: e });
    const msg = e instanceof Error ? e.message : String(e);
    const missing = /python3/.test(msg) && /not found|no such file|ENOENT/i.test(msg);
    return { report: { checks: new Map() }, missingReason: { kind: 'unavailable', message: missing ? `${NO_PYTHON}: ${msg}` : `the sandbox could not run the verifier: ${msg}` } };
  }
  if (pending && opts.onLog) opts.onLog(pending);
  const report = parseRunnerOutput(exec.stdout, marker);
  let missingReason: VerifierError;
  if (report.done?.fatal) missingReason = report.done.fatal;
  else if (exec.timedOut) missingReason = { kind: 'timeout', message: `the verifier did not finish within ${seconds(execTimeout)} (its limit is ${seconds(plan.verifierTimeoutMs)})` };
  else if (!report.done && (exec.exitCode === 127 || exec.exitCode === 126)) {
    // the command itself could not start (coreutils `timeout` and shells say 127/126)
    missingReason = { kind: 'unavailable', message: `${NO_PYTHON}${lastLines(exec.stderr, 1) ? ` (${lastLines(exec.stderr, 1)})` : ''}` };
  } else if (exec.outputLimitExceeded) missingReason = { kind: 'internal', message: "the verifier's runner printed more than the exec's output limit" };
  else if (!report.done) missingReason = { kind: 'internal', message: `the verifier's runner ended without a result (exit code ${exec.exitCode})${lastLines(exec.stderr, 1) ? `: ${lastLines(exec.stderr, 1)}` : ''}` };
  else missingReason = { kind: 'internal', message: 'the runner reported no result for this check' };
  return { report, missingReason, exec };
}

// ---------------------------------------------------------------------------------------------
// Verdicts

export interface SandboxVerdict extends Verdict {
  durationMs: number;
  output?: { stdout: string; stderr: string };
}

export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function tail(s: string | undefined, bytes = REPORT_TAIL_BYTES): string {
  if (!s) return '';
  if (Buffer.byteLength(s) <= bytes) return s;
  const b = Buffer.from(s);
  return `…${b.subarray(b.length - bytes).toString('utf8').replace(/^\uFFFD+/, '')}`;
}

function lastLines(s: string | undefined, n: number): string {
  const lines = (s ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.slice(-n).join(' | ');
}

function err(kind: VerifierErrorKind, message: string, r?: RunnerCheckReport): SandboxVerdict {
  return { score: 0, message, error: { kind, message }, durationMs: r?.duration_ms ?? 0, ...(r ? { output: outputOf(r) } : {}) };
}

function outputOf(r: RunnerCheckReport): { stdout: string; stderr: string } {
  return { stdout: tail(r.stdout), stderr: tail(r.stderr) };
}

/** Status problems shared by every in-sandbox kind; undefined when the process ran to its end. */
function statusError(r: RunnerCheckReport, what: string, limitMs: number): SandboxVerdict | undefined {
  switch (r.status) {
    case 'ok':
      return undefined;
    case 'timeout': {
      const applied = r.limit_ms !== undefined && r.limit_ms < limitMs - 100 ? r.limit_ms : limitMs;
      const why = applied < limitMs ? ` (what was left of the verifier's time limit)` : '';
      return err('timeout', `${what} did not finish within ${seconds(Math.round(applied))}${why}`, r);
    }
    case 'deadline':
      return err('timeout', `the verifier's time limit ran out before ${what} started`, r);
    case 'too-large':
      return err('too-large', `${what} printed more than 64 MiB and was stopped`, r);
    case 'tampered':
      return err('tampered', r.message ?? 'the verifier files were tampered with', r);
    case 'crash':
      return err('crash', r.message ?? `${what} could not start`, r);
    case 'no-workspace':
      // the agent's doing: a wrong answer, not a broken grader
      return { score: 0, message: `the workspace root no longer exists, so ${what} could not run`, durationMs: 0 };
  }
}

export function commandVerdict(plan: CommandPlan, r: RunnerCheckReport): SandboxVerdict {
  const e = statusError(r, 'the command', plan.timeoutMs);
  if (e) return e;
  const base = { durationMs: r.duration_ms, output: outputOf(r) };
  const code = r.exit_code ?? -1;
  if (code !== plan.exitCode) {
    const how = code < 0 ? `was killed by signal ${-code}` : `exited with ${code}`;
    const why = lastLines(r.stderr, 1);
    return { ...base, score: 0, message: `the command ${how}, expected ${plan.exitCode}${why ? `: ${why}` : ''}` };
  }
  if (plan.stdoutMatches) {
    const out = r.stdout_head ?? '';
    // `$` should match before the newline every command prints last (as in Python and grep);
    // linear-time engine: whatever the command printed, this takes milliseconds
    const re = plan.stdoutMatches;
    const found = testBounded(re, out);
    const matched = found === true || (found === false ? testBounded(re, out.replace(/\r?\n$/, '')) : found);
    if (typeof matched === 'string') return err('invalid-check', `stdout_matches ${re} could not be matched: ${matched}`, r);
    if (!matched) {
      const cut = (r.stdout_bytes ?? 0) > MATCH_HEAD_BYTES ? ` (first ${MATCH_HEAD_BYTES} bytes searched)` : '';
      return { ...base, score: 0, message: `stdout does not match ${plan.stdoutMatches}${cut}` };
    }
    return { ...base, score: 1, message: `exit code ${code}, stdout matches ${plan.stdoutMatches}` };
  }
  return { ...base, score: 1, message: `exit code ${code}` };
}

/**
 * The user regex of `stdout_matches`, compiled for bounded matching (an error message when it is
 * not JavaScript or needs what the linear engine lacks: that check alone is then `invalid-check`).
 */
export function compileStdoutMatches(pattern: string | undefined): BoundedRegex | string | undefined {
  if (pattern === undefined) return undefined;
  const r = compileRegex(pattern);
  return 're' in r ? r.re : `invalid stdout_matches regular expression /${pattern}/: ${r.error}`;
}

/** Tolerance for scores a hair outside [0, 1] (floating-point sums like 0.1 + 0.2 + 0.7). */
const EPS = 1e-9;

function asScore(v: PythonValue, what: string): { score: number } | { error: VerifierError } {
  switch (v.t) {
    case 'bool':
      return { score: v.v ? 1 : 0 };
    case 'num':
      if (v.v < -EPS || v.v > 1 + EPS) return { error: { kind: 'out-of-range', message: `${what} ${v.v}, outside [0, 1]` } };
      return { score: Math.min(1, Math.max(0, v.v)) };
    case 'nonfinite':
      return { error: { kind: 'non-finite', message: `${what} ${v.v}, not a finite number` } };
    case 'dict':
      return { error: { kind: 'not-a-number', message: `${what} a nested dict, not a score` } };
    case 'other':
      return { error: { kind: 'not-a-number', message: `${what} a ${v.type} (${v.repr}), not a score` } };
  }
}

export function pythonVerdict(plan: PythonPlan, r: RunnerCheckReport): SandboxVerdict {
  const e = statusError(r, 'grade()', plan.timeoutMs);
  if (e) return e;
  let res: PythonChildResult | undefined;
  try {
    res = r.result_json ? (JSON.parse(r.result_json) as PythonChildResult) : undefined;
  } catch {
    return err('internal', `the python check's result is not readable: ${r.result_json!.slice(0, 80)}`, r);
  }
  if (!res) {
    const why = lastLines(r.stderr, 1);
    return err('crash', `the check exited before grade() returned (exit code ${r.exit_code})${why ? `: ${why}` : ''}`, r);
  }
  if (res.kind === 'no-grade') return err('invalid-check', 'the python check defines no grade(ws) function', r);
  if (res.kind === 'exception') {
    const tb = res.traceback;
    const lines = tb.split('\n').filter((l) => l.trim() !== '');
    const last = lines.at(-1)?.trim() ?? 'an exception';
    // the innermost frame of the check's own source: `File ".../checks/0.py", line 3, in grade`
    const frame = [...lines].reverse().find((l) => /^\s*File ".*\/checks\/\d+\.py", line \d+/.test(l));
    const where = frame ? /line (\d+), in (\S+)/.exec(frame) : null;
    const verdict = err('crash', `grade() raised ${last}${where ? ` (line ${where[1]}, in ${where[2]})` : ''}`, r);
    verdict.output = { stdout: tail(r.stdout), stderr: tail(`${r.stderr ?? ''}${tb}`) };
    return verdict;
  }
  const v = res.value;
  const base = { durationMs: r.duration_ms, output: outputOf(r) };
  if (v.t === 'dict') {
    if (v.v.length === 0) return err('not-a-number', 'grade() returned an empty dict: no score to average', r);
    const parts: string[] = [];
    let sum = 0;
    for (const [k, x] of v.v) {
      const s = asScore(x, `grade()[${JSON.stringify(k)}] is`);
      if ('error' in s) return { ...err(s.error.kind, s.error.message, r) };
      sum += s.score;
      parts.push(`${k}=${+s.score.toFixed(4)}`);
    }
    const mean = sum / v.v.length;
    const list = parts.join(', ');
    return { ...base, score: mean, message: `mean of ${v.v.length} values: ${list.length > 160 ? `${list.slice(0, 157)}...` : list}` };
  }
  const s = asScore(v, 'grade() returned');
  if ('error' in s) return err(s.error.kind, s.error.message, r);
  return { ...base, score: s.score, message: `grade() returned ${v.t === 'bool' ? (v.v ? 'True' : 'False') : v.t === 'num' ? v.v : ''}` };
}

/** ClawGym: the last non-empty line of stdout, as a float. */
export function parseRewardLine(stdout: string): { value: number; line: string } | { error: VerifierError } {
  const line = stdout
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);
  if (line === undefined) return { error: { kind: 'not-a-number', message: 'the reward script printed nothing on stdout' } };
  const shown = line.length > 80 ? `${line.slice(0, 77)}...` : line;
  // Python's float() also reads nan/inf; they parse, but are no reward
  if (/^[+-]?(nan|inf|infinity)$/i.test(line)) return { error: { kind: 'non-finite', message: `the reward script printed ${shown}, not a finite number` } };
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(line.replace(/_/g, ''))) {
    return { error: { kind: 'not-a-number', message: `the last line of the reward script's stdout is not a number: ${JSON.stringify(shown)}` } };
  }
  const value = Number(line.replace(/_/g, ''));
  if (!Number.isFinite(value)) return { error: { kind: 'non-finite', message: `the reward script printed ${shown}, not a finite number` } };
  return { value, line };
}

export function rewardVerdict(plan: RewardPlan, r: RunnerCheckReport): SandboxVerdict {
  const e = statusError(r, 'the reward script', plan.timeoutMs);
  if (e) return e;
  if (r.exit_code !== 0) {
    const how = (r.exit_code ?? -1) < 0 ? `was killed by signal ${-(r.exit_code ?? -1)}` : `exited with code ${r.exit_code}`;
    const why = lastLines(r.stderr, 1);
    return err('crash', `the reward script ${how}${why ? `: ${why}` : ''}`, r);
  }
  const parsed = parseRewardLine(r.stdout ?? '');
  if ('error' in parsed) return err(parsed.error.kind, parsed.error.message, r);
  const v = parsed.value;
  if (v < -EPS || v > 1 + EPS) return err('out-of-range', `the reward script printed ${parsed.line}, outside [0, 1]`, r);
  return { score: Math.min(1, Math.max(0, v)), message: `reward ${parsed.line}`, durationMs: r.duration_ms, output: outputOf(r) };
}

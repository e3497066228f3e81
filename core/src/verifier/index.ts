/**
 * The verifier: grade a workspace after the agent ended.
 *
 *   1. Snapshot: copy the workspace out once (the runner keeps it for the workspace diff).
 *   2. File checks (`file_exists`, `file_absent`, `file_matches`, `file_equals`, `json`, `csv`) run
 *      on the snapshot, on the host (hostChecks.ts).
 *   3. `command` and `python` checks and the ClawGym reward script run in the sandbox, in one exec
 *      that carries everything they need (runner.ts, runnerSource.ts); skipped when there are none.
 *   4. Reward = weighted mean of the check scores (the reward script is one weighted check).
 *
 * Every check ends with a score; a check that could not be graded also carries `error`, so a
 * broken grader is never mistaken for a wrong answer. Only cancellation rejects.
 */
import type { CheckKind } from '../model/schema';
import type { ResolvedTask } from '../run/types';
import { SandboxError, type CopyOutResult, type Sandbox } from '../sandbox/types';
import { checkId, checkKind, checkTimeoutMs, checkWeight, field, isHostKind } from './checks';
import { evaluateHostCheck, SnapshotTree, type Verdict } from './hostChecks';
import {
  commandVerdict,
  compileStdoutMatches,
  pythonVerdict,
  readRewardFolder,
  REWARD_LIMIT_MS,
  rewardVerdict,
  runInSandbox,
  type CommandPlan,
  type PythonPlan,
  type RewardPlan,
  type SandboxPlan,
  type SandboxVerdict,
} from './runner';
import type { CheckResult, VerifierContext, VerifierError, VerifierResult } from './types';

export * from './types';
export { toCtrf, type CtrfReport, type CtrfTest } from './ctrf';
export { parseRewardLine } from './runner';

/** The reward script's check id (made unique if a check already uses it). */
export const REWARD_CHECK_ID = 'reward_script';

/** A score this close to 1 counts as passed (float sums). */
const PASS_EPS = 1e-9;

type Slot =
  | { kind: 'host'; id: string; weight: number; check: ResolvedTask['verifier']['checks'][number]; checkKind: CheckKind }
  | { kind: 'sandbox'; id: string; weight: number; checkKind: 'command' | 'python' | 'reward_script'; plan: CommandPlan | PythonPlan | RewardPlan }
  | { kind: 'fixed'; id: string; weight: number; checkKind: CheckKind | 'reward_script'; verdict: Verdict };

export async function runVerifier(task: ResolvedTask, sandbox: Sandbox, ctx: VerifierContext): Promise<VerifierResult> {
  const t0 = performance.now();
  const log = ctx.onLog ?? (() => undefined);
  const signal = ctx.signal;
  throwIfCancelled(signal);
  const v = task.verifier;
  const notes: string[] = [];

  // -- plan: which check runs where (broken checks get their verdict now)
  const slots: Slot[] = [];
  const commands: CommandPlan[] = [];
  const python: PythonPlan[] = [];
  for (const check of v.checks) {
    const id = checkId(check);
    const weight = checkWeight(check);
    const kind = checkKind(check);
    if (!kind) {
      slots.push({ kind: 'fixed', id, weight, checkKind: 'command', verdict: invalid(`check ${id} has no known check kind`) });
    } else if (isHostKind(kind)) {
      slots.push({ kind: 'host', id, weight, check, checkKind: kind });
    } else if (kind === 'command') {
      const re = compileStdoutMatches((check as { stdout_matches?: string }).stdout_matches);
      if (typeof re === 'string') {
        slots.push({ kind: 'fixed', id, weight, checkKind: kind, verdict: invalid(re) });
        continue;
      }
      const exitCode = (check as { exit_code?: number }).exit_code ?? 0;
      const plan: CommandPlan = { id, command: field(check, 'command'), timeoutMs: checkTimeoutMs(check, v.timeoutMs), exitCode, ...(re ? { stdoutMatches: re } : {}) };
      commands.push(plan);
      slots.push({ kind: 'sandbox', id, weight, checkKind: kind, plan });
    } else {
      const plan: PythonPlan = { id, source: field(check, 'python'), timeoutMs: checkTimeoutMs(check, v.timeoutMs) };
      python.push(plan);
      slots.push({ kind: 'sandbox', id, weight, checkKind: kind, plan });
    }
  }
  let reward: RewardPlan | undefined;
  if (v.rewardScript) {
    const rs = v.rewardScript;
    let id = REWARD_CHECK_ID;
    for (let i = 2; slots.some((s) => s.id === id); i++) id = `${REWARD_CHECK_ID}-${i}`;
    const timeoutMs = Math.min(REWARD_LIMIT_MS, v.timeoutMs);
    const bad = scriptPathError(rs.script);
    if (bad) slots.push({ kind: 'fixed', id, weight: rs.weight, checkKind: 'reward_script', verdict: invalid(bad) });
    else {
      try {
        const folder = await readRewardFolder(rs.hostDir);
        if (!folder.entries.some((e) => e.type === 'file' && e.path === rs.script)) {
          slots.push({ kind: 'fixed', id, weight: rs.weight, checkKind: 'reward_script', verdict: invalid(`the reward script ${rs.script} is not in ${rs.hostDir}`) });
        } else {
          reward = { id, script: rs.script, timeoutMs, folder };
          slots.push({ kind: 'sandbox', id, weight: rs.weight, checkKind: 'reward_script', plan: reward });
        }
      } catch (e) {
        slots.push({ kind: 'fixed', id, weight: rs.weight, checkKind: 'reward_script', verdict: invalid(`cannot read the reward folder ${rs.hostDir}: ${(e as Error).message}`) });
      }
    }
  }

  // -- 1. snapshot, before anything in the sandbox can change the workspace
  let snapshot: CopyOutResult | undefined;
  let snapshotError: VerifierError | undefined;
  const ts = performance.now();
  try {
    snapshot = await sandbox.copyOut(task.root, { ...(signal ? { signal } : {}), ...ctx.snapshot });
    log(`verifier: snapshot of ${task.root}: ${snapshot.entries.length} entries, ${snapshot.totalBytes} bytes in ${Math.round(performance.now() - ts)} ms`);
  } catch (e) {
    if (isCancel(e, signal)) throw cancelled(e);
    if (e instanceof SandboxError && e.kind === 'backend' && /no such directory|does not exist/i.test(e.message)) {
      // the agent removed the workspace root: file checks see an empty workspace (a wrong answer, not an error)
      snapshot = { entries: [], totalBytes: 0, omitted: [] };
      notes.push(`the workspace root ${task.root} no longer exists: file checks saw an empty workspace`);
      log(`verifier: ${notes.at(-1)!}`);
    } else {
      const kind = e instanceof SandboxError ? ({ 'too-large': 'too-large', 'path-escape': 'path-escape', unavailable: 'unavailable' } as const)[e.kind as 'too-large'] : undefined;
      snapshotError = { kind: kind ?? 'internal', message: `the workspace could not be copied out: ${(e as Error).message}` };
      log(`verifier: ${snapshotError.message}`);
    }
  }

  // -- 2 + 3. the sandbox exec and the host checks overlap (host checks only read the snapshot)
  const plan: SandboxPlan = {
    root: task.root,
    workdir: sandbox.spec.workdir,
    env: task.env,
    verifierTimeoutMs: v.timeoutMs,
    payload: payloadOf(task, ctx, notes),
    commands,
    python,
    ...(reward ? { reward } : {}),
  };
  const needsSandbox = commands.length > 0 || python.length > 0 || reward !== undefined;
  const sandboxRun = needsSandbox ? runInSandbox(sandbox, plan, { ...(signal ? { signal } : {}), onLog: log }) : undefined;
  // keep a rejection (cancellation) from going unhandled while the host checks run
  sandboxRun?.catch(() => undefined);

  const tree = snapshot ? new SnapshotTree(task.root, snapshot) : undefined;
  const hostVerdicts = new Map<Slot, SandboxVerdict>();
  for (const s of slots) {
    if (s.kind !== 'host') continue;
    const th = performance.now();
    let verdict: Verdict;
    if (!tree) verdict = { score: 0, message: snapshotError!.message, error: snapshotError! };
    else {
      try {
        verdict = await evaluateHostCheck(s.checkKind as Parameters<typeof evaluateHostCheck>[0], s.check, { tree, baseDir: task.baseDir });
      } catch (e) {
        verdict = { score: 0, message: `internal error: ${(e as Error).message}`, error: { kind: 'internal', message: (e as Error).message } };
      }
    }
    hostVerdicts.set(s, { ...verdict, durationMs: performance.now() - th });
  }

  const run = sandboxRun ? await sandboxRun : undefined;
  if (run?.report.done?.python) log(`verifier: in-sandbox checks ran with Python ${run.report.done.python}`);
  // Files of ours changed under the checks: none of their verdicts can be trusted.
  const changed = run?.report.done?.changed;
  if (changed) log(`verifier: ! ${changed}`);

  // -- 4. results in the task's order, then the score
  const checks: CheckResult[] = slots.map((s) => {
    let verdict: SandboxVerdict;
    if (s.kind === 'fixed') verdict = { ...s.verdict, durationMs: 0 };
    else if (s.kind === 'host') verdict = hostVerdicts.get(s)!;
    else if (changed) verdict = { score: 0, message: `not graded: ${changed}`, error: { kind: 'tampered', message: changed }, durationMs: 0 };
    else {
      const r = run!.report.checks.get(`${s.checkKind}:${s.id}`);
      if (!r) verdict = { score: 0, message: run!.missingReason.message, error: run!.missingReason, durationMs: 0 };
      else if (s.checkKind === 'command') verdict = commandVerdict(s.plan as CommandPlan, r);
      else if (s.checkKind === 'python') verdict = pythonVerdict(s.plan as PythonPlan, r);
      else verdict = rewardVerdict(s.plan as RewardPlan, r);
    }
    const score = verdict.error ? 0 : verdict.score;
    const result: CheckResult = {
      id: s.id,
      kind: s.checkKind,
      weight: s.weight,
      score,
      passed: !verdict.error && score >= 1 - PASS_EPS,
      message: verdict.message,
      durationMs: Math.round(verdict.durationMs * 10) / 10,
      ...(verdict.error ? { error: verdict.error } : {}),
      ...(verdict.output ? { output: verdict.output } : {}),
    };
    log(`verifier: ${result.error ? `! ${result.error.kind}` : result.passed ? 'pass' : 'fail'} ${result.id} (${result.kind}, ${result.score.toFixed(3)}): ${result.message}`);
    return result;
  });

  const totalWeight = checks.reduce((a, c) => a + c.weight, 0);
  let codeScore = 0;
  if (checks.length === 0) notes.push('the task has no checks and no reward script: the reward is 0');
  else if (totalWeight === 0) notes.push('every check has weight 0: the reward is 0');
  else codeScore = checks.reduce((a, c) => a + c.weight * c.score, 0) / totalWeight;
  codeScore = Math.min(1, Math.max(0, codeScore));
  if (v.rubric.length > 0) {
    notes.push(`the rubric (${v.rubric.length} item${v.rubric.length === 1 ? '' : 's'}) is not judged yet (no judge is configured): the reward is the code score alone`);
  }
  const verifierErrors = checks.filter((c) => c.error).length;
  if (verifierErrors > 0) notes.push(`${verifierErrors} check${verifierErrors === 1 ? '' : 's'} could not be graded (verifier error, scored 0)`);
  const result: VerifierResult = {
    reward: codeScore,
    codeScore,
    rubricScore: null,
    solved: codeScore >= v.passThreshold - PASS_EPS,
    checks,
    verifierErrors,
    rubric: v.rubric.map((r) => ({ id: r.id, status: 'not-judged' as const })),
    durationMs: Math.round(performance.now() - t0),
    ...(snapshot ? { snapshot } : {}),
    ...(snapshotError ? { snapshotError: snapshotError.message } : {}),
    notes,
    filesIntact: run?.report.done ? !changed : null,
  };
  log(`verifier: reward ${result.reward.toFixed(4)} (${result.solved ? 'solved' : 'not solved'}) in ${result.durationMs} ms`);
  return result;
}

/**
 * The ClawGym payload. A transcript that is not plain JSON (a BigInt, a cycle) must not sink the
 * whole verification: it is replaced by [] and a note says so.
 */
function payloadOf(task: ResolvedTask, ctx: VerifierContext, notes: string[]): unknown {
  const payload = { task_id: task.id, user_query: task.intent, metadata: task.metadata, final_message: ctx.finalMessage, transcript: ctx.transcript };
  try {
    JSON.stringify(payload);
    return payload;
  } catch (e) {
    notes.push(`the transcript is not JSON (${(e as Error).message}): the payload's transcript is empty`);
    return { ...payload, transcript: [] };
  }
}

function invalid(message: string): Verdict {
  return { score: 0, message, error: { kind: 'invalid-check', message } };
}

function scriptPathError(script: string): string | undefined {
  if (!script || script.startsWith('/') || script.split('/').includes('..')) return `the reward script path ${JSON.stringify(script)} must be relative to its folder, without ..`;
  return undefined;
}

function isCancel(e: unknown, signal?: AbortSignal): boolean {
  return (e instanceof SandboxError && e.kind === 'cancelled') || signal?.aborted === true;
}

function cancelled(cause?: unknown): SandboxError {
  return cause instanceof SandboxError && cause.kind === 'cancelled' ? cause : new SandboxError('cancelled', 'the verifier was cancelled', { cause });
}

function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw cancelled(signal.reason);
}

/**
 * A run: several trials (tasks × attempts) on one backend, `concurrency` at a time, with one
 * event stream and one run folder. Cancelling (the signal) stops starting trials, cancels the
 * ones in flight (their sandboxes are disposed by the trials themselves) and still writes the
 * summary of what finished.
 *
 * Two guards sit where the run's records leave it: every event, file and result goes through the
 * run's {@link Redactor} (the model key and URL credentials never reach events.jsonl, `--json`,
 * the run folder or the summary), and each trial's `output` and `trajectory` events stop at the
 * per-trial cap `maxEventBytes` (one `output` event says so, the trial's result records a
 * `truncated` entry), so an endless model stream or a command printing 1 GB cannot grow the event
 * log or the `--json` stream without bound.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { Redactor } from '../redact';
import type { SandboxBackend, SandboxSpec } from '../sandbox/types';
import type { Agent } from './agents';
import { DEFAULT_CAPS, type Truncation } from './limits';
import { writeJsonAtomic, writeTrialFolder } from './runFolder';
import { runTrial, type TrialEvent, type TrialResult } from './trial';
import type { ResolvedTask } from './types';

export interface JobOptions {
  tasks: readonly ResolvedTask[];
  agent: Agent;
  backend: SandboxBackend;
  image: string;
  concurrency?: number;
  /** Trials per task (default 1). */
  attempts?: number;
  /** Folder runs go under (a run folder `<runsDir>/<run id>` is made); undefined writes nothing. */
  runsDir?: string;
  runId?: string;
  agentTimeoutMs?: number;
  resources?: SandboxSpec['resources'];
  /** Grade every trial in a fresh sandbox, even when nothing outside the workspace changed. */
  freshGrading?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: JobEvent) => void;
  /** Recorded in config.json (CLI arguments, versions). */
  meta?: Record<string, unknown>;
  /** The run's secrets: redacted from every event, file and result (default: none known). */
  redactor?: Redactor;
  /** Bytes of `output` and `trajectory` events per trial (events.jsonl, `onEvent`); default 16 MiB. */
  maxEventBytes?: number;
}

/** A trial's result as a run records it: what the caps cut (agent caps and the event cap). */
/** A trial's result as the job reports it (the trial's own, caps included). */
export type JobTrialResult = TrialResult;

export type JobEvent =
  | { type: 'run-start'; runId: string; runDir?: string; agent: string; backend: string; isolation: string; tasks: number; trials: number; concurrency: number }
  | { type: 'trial-start'; runId: string; taskId: string; trialId: string; index: number }
  | TrialEvent
  | { type: 'trial-end'; runId: string; result: JobTrialResult; trialDir?: string }
  | { type: 'run-end'; summary: JobSummary };

export interface JobSummary {
  runId: string;
  runDir?: string;
  agent: string;
  backend: string;
  isolation: string;
  trials: number;
  passed: number;
  failed: number;
  errors: number;
  cancelled: number;
  /** Trials with at least one verifier error (crash, timeout, non-number). */
  verifierErrors: number;
  meanReward: number;
  startedAt: string;
  durationMs: number;
  results: TrialResult[];
}

/** `20261122-041503-a1b2`: sortable, unique enough, safe in names. */
export function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Trial ids unique in the run and safe as folder names. */
function trialIds(tasks: readonly ResolvedTask[], attempts: number): { task: ResolvedTask; trialId: string }[] {
  const used = new Map<string, number>();
  const out: { task: ResolvedTask; trialId: string }[] = [];
  for (const task of tasks) {
    const base = task.id.replace(/[^A-Za-z0-9._-]/g, '_');
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    const name = n === 1 ? base : `${base}~${n}`;
    for (let a = 1; a <= attempts; a++) out.push({ task, trialId: attempts === 1 ? name : `${name}-${a}` });
  }
  return out;
}

export function summarize(runId: string, runDir: string | undefined, options: Pick<JobOptions, 'agent' | 'backend'>, results: TrialResult[], started: number): JobSummary {
  const count = (s: TrialResult['status']) => results.filter((r) => r.status === s).length;
  const scored = results.filter((r) => r.status === 'passed' || r.status === 'failed');
  return {
    runId,
    runDir,
    agent: options.agent.name,
    backend: options.backend.name,
    isolation: options.backend.isolation,
    trials: results.length,
    passed: count('passed'),
    failed: count('failed'),
    errors: count('error'),
    cancelled: count('cancelled'),
    verifierErrors: results.filter((r) => r.verifierErrors > 0).length,
    meanReward: scored.length ? scored.reduce((s, r) => s + r.reward, 0) / scored.length : 0,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    results,
  };
}

/** Run every trial; never throws for a trial's failure (it is in the summary). */
export async function runJob(options: JobOptions): Promise<JobSummary> {
  const started = Date.now();
  const runId = options.runId ?? newRunId();
  const attempts = Math.max(1, options.attempts ?? 1);
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const runDir = options.runsDir ? nodePath.resolve(options.runsDir, runId) : undefined;
  const plan = trialIds(options.tasks, attempts);
  const emit = options.onEvent ?? (() => undefined);
  const redactor = options.redactor ?? new Redactor();
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_CAPS.eventBytes;

  if (runDir) {
    fs.mkdirSync(nodePath.join(runDir, 'trials'), { recursive: true });
    writeJsonAtomic(nodePath.join(runDir, 'config.json'), {
      runId,
      startedAt: new Date(started).toISOString(),
      agent: options.agent.name,
      backend: options.backend.describe(),
      isolation: options.backend.isolation,
      image: options.image,
      concurrency,
      attempts,
      agentTimeoutMs: options.agentTimeoutMs,
      resources: options.resources,
      tasks: options.tasks.map((t) => ({ id: t.id, source: t.source })),
      ...options.meta,
    }, redactor);
  }
  const events = runDir ? fs.openSync(nodePath.join(runDir, 'events.jsonl'), 'a') : undefined;
  const write = (clean: JobEvent, line = JSON.stringify(clean)) => {
    if (events !== undefined) fs.writeSync(events, line + '\n');
    emit(clean);
  };
  // Per trial: bytes of output/trajectory events sent, and what was dropped past the cap.
  const budgets = new Map<string, { sent: number; droppedBytes: number; droppedEvents: number }>();
  const send = (e: JobEvent) => {
    const clean = redactor.value(e);
    if (clean.type !== 'output' && clean.type !== 'trajectory') return write(clean);
    const b = budgets.get(clean.trialId) ?? { sent: 0, droppedBytes: 0, droppedEvents: 0 };
    budgets.set(clean.trialId, b);
    if (b.droppedEvents === 0) {
      const line = JSON.stringify(clean);
      const size = Buffer.byteLength(line) + 1;
      if (b.sent + size <= maxEventBytes) {
        b.sent += size;
        return write(clean, line);
      }
      write({ type: 'output', trialId: clean.trialId, phase: 'agent', stream: 'stderr', text: `\n[clawgym: this trial's events reached their cap of ${maxEventBytes} bytes; further output and trajectory events are left out of the event stream (logs/agent.log and trajectory.json have caps of their own)]\n` });
    }
    b.droppedEvents++;
    // Past the cap only the count matters: no serialising of what is dropped.
    b.droppedBytes += clean.type === 'output' ? clean.text.length : 0;
  };

  const results: TrialResult[] = new Array(plan.length);
  send({ type: 'run-start', runId, runDir, agent: options.agent.name, backend: options.backend.name, isolation: options.backend.isolation, tasks: options.tasks.length, trials: plan.length, concurrency });

  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= plan.length) return;
      const { task, trialId } = plan[index];
      if (options.signal?.aborted) {
        results[index] = cancelledResult(task, trialId, options.agent.name);
        continue;
      }
      send({ type: 'trial-start', runId, taskId: task.id, trialId, index });
      const record = await runTrial({
        task,
        backend: options.backend,
        agent: options.agent,
        runId,
        trialId,
        image: options.image,
        agentTimeoutMs: options.agentTimeoutMs,
        resources: options.resources,
        ...(options.freshGrading ? { freshGrading: true } : {}),
        signal: options.signal,
        onEvent: send,
      });
      const dropped = budgets.get(trialId);
      budgets.delete(trialId);
      const truncated: Truncation[] = [...(record.result.agentOutcome?.truncated ?? [])];
      if (dropped?.droppedEvents) truncated.push({ what: 'events', limit: maxEventBytes, unit: 'bytes', dropped: dropped.droppedBytes, events: dropped.droppedEvents });
      if (truncated.length) record.result.truncated = truncated;
      record.result = redactor.value(record.result);
      results[index] = record.result;
      let trialDir: string | undefined;
      if (runDir) {
        try {
          trialDir = writeTrialFolder(nodePath.join(runDir, 'trials', trialId), task, record, { runId }, redactor);
        } catch (e) {
          record.result.error ??= { phase: 'dispose', message: `could not write the trial folder: ${(e as Error).message}` };
        }
      }
      send({ type: 'trial-end', runId, result: record.result, trialDir });
      if (runDir) writeJsonAtomic(nodePath.join(runDir, 'result.json'), { ...summarize(runId, runDir, options, results.filter(Boolean), started), complete: false }, redactor);
    }
  };
  let summary: JobSummary;
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, plan.length) }, worker));
  } finally {
    summary = summarize(runId, runDir, options, results.filter(Boolean), started);
    if (runDir) writeJsonAtomic(nodePath.join(runDir, 'result.json'), { ...summary, complete: !options.signal?.aborted }, redactor);
    send({ type: 'run-end', summary });
    if (events !== undefined) fs.closeSync(events);
  }
  return summary;
}

function cancelledResult(task: ResolvedTask, trialId: string, agent: string): TrialResult {
  return {
    taskId: task.id,
    trialId,
    source: task.source,
    agent,
    status: 'cancelled',
    reward: 0,
    solved: false,
    error: { phase: 'sandbox', message: 'cancelled before it started' },
    checks: [],
    verifierErrors: 0,
    changes: [],
    wantedNetwork: false,
    startedAt: new Date().toISOString(),
    timing: { createMs: 0, setupMs: 0, agentMs: 0, verifyMs: 0, integrityMs: 0, disposeMs: 0, totalMs: 0 },
  };
}

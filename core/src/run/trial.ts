/**
 * One trial: a fresh sandbox, the task's setup, one agent run, the verifier, disposal.
 *
 * The sandbox is disposed in `finally` whatever happens (errors, cancellation); what the trial
 * learned is returned as a {@link TrialResult} and, when a folder is given, written there as the
 * run folder's per-trial part (see runFolder.ts). Infrastructure failures (no engine, a setup
 * command failing, a crash of ours) make the trial an `error`, distinct from an agent that tried
 * and failed (`failed`) and from verifier errors, which are counted on their checks.
 */
import type { Sandbox, SandboxBackend, SandboxSpec } from '../sandbox/types';
import { SandboxError } from '../sandbox/types';
import { runVerifier } from '../verifier';
import type { CheckResult, VerifierResult } from '../verifier/types';
import type { Trajectory, TrajectoryEvent } from '../trajectory/atif';
import type { Agent, AgentOutcome, AgentPreparation } from './agents';
import { formatMs } from './agents';
import { diffWorkspace, type WorkspaceChange } from './diff';
import { secureGrading, type TrialIntegrity } from './integrity';
import type { Truncation } from './limits';
import type { ResolvedTask } from './types';

export const DEFAULT_AGENT_TIMEOUT_MS = 15 * 60_000;
export const DEFAULT_SETUP_TIMEOUT_MS = 5 * 60_000;
/** Per-sandbox limits when neither the task nor the run sets them. */
export const DEFAULT_RESOURCES = { cpus: 1, memoryBytes: 2 * 1024 ** 3, pids: 512 } as const;

export type TrialStatus = 'passed' | 'failed' | 'error' | 'cancelled';
export type TrialPhase = 'sandbox' | 'setup' | 'agent' | 'verifier' | 'dispose';

export interface TrialOptions {
  task: ResolvedTask;
  backend: SandboxBackend;
  agent: Agent;
  runId: string;
  /** Unique in the run, e.g. `<task id>-1`. */
  trialId: string;
  /** Image when the task names none. */
  image: string;
  /** Overrides the task's agent timeout. */
  agentTimeoutMs?: number;
  /** Run-level resource limits, under the task's own. */
  resources?: SandboxSpec['resources'];
  /** Grade in a fresh sandbox even when nothing outside the workspace changed (see integrity.ts). */
  freshGrading?: boolean;
  signal?: AbortSignal;
  /** Progress for live views: phases, streamed output, the result. */
  onEvent?: (event: TrialEvent) => void;
}

export type TrialEvent =
  | { type: 'phase'; trialId: string; phase: TrialPhase }
  /** The agent's trajectory as it grows (ATIF steps and observations, then the final metrics). */
  | { type: 'trajectory'; trialId: string; event: TrajectoryEvent }
  | { type: 'output'; trialId: string; phase: 'setup' | 'agent'; stream: 'stdout' | 'stderr'; text: string };

export interface TrialTiming {
  createMs: number;
  setupMs: number;
  agentMs: number;
  verifyMs: number;
  /** Of verifyMs: ending the agent phase, the engine's diff and, if needed, the fresh sandbox. */
  integrityMs: number;
  disposeMs: number;
  totalMs: number;
}

export interface TrialResult {
  taskId: string;
  trialId: string;
  source: ResolvedTask['source'];
  agent: string;
  status: TrialStatus;
  /** 0 unless the verifier ran. */
  reward: number;
  solved: boolean;
  /** Set when status is `error` or `cancelled`. */
  error?: { phase: TrialPhase; message: string };
  agentOutcome?: Omit<AgentOutcome, 'transcript' | 'trajectory'>;
  verifier?: Omit<VerifierResult, 'snapshot'>;
  checks: CheckResult[];
  verifierErrors: number;
  changes: WorkspaceChange[];
  /** The task's intent asks for the network while the sandbox had none (the run records it). */
  wantedNetwork: boolean;
  /** How grading was kept out of the agent's reach (see integrity.ts); absent when no grading. */
  integrity?: TrialIntegrity;
  /** Where a per-trial cap cut something (see limits.ts). */
  truncated?: Truncation[];
  sandbox?: { name: string; backend: string; isolation: string };
  startedAt: string;
  timing: TrialTiming;
}

/** Everything a trial produced, including what goes to files but not into the summary. */
export interface TrialRecord {
  result: TrialResult;
  logs: { setup: string; agent: string; verifier: string };
  transcript: unknown[];
  /** The agent run as ATIF (`trajectory.json`). */
  trajectory?: Trajectory;
  unifiedDiff: string;
  verifierResult?: VerifierResult;
}

const WANTS_NETWORK_RE = /\bhttps?:\/\/|\b(download|fetch|curl|wget|scrape|web ?search|browse|online|internet)\b/i;

/** Heuristic: the intent asks for something that needs the network. */
export function intentWantsNetwork(intent: string): boolean {
  return WANTS_NETWORK_RE.test(intent);
}

/** A bounded log: keeps the first `max` bytes, then counts what it dropped. */
class LogBuffer {
  private parts: string[] = [];
  private size = 0;
  private dropped = 0;
  constructor(private readonly max = 4 * 1024 * 1024) {}
  add(text: string): void {
    if (this.size >= this.max) {
      this.dropped += text.length;
      return;
    }
    const room = this.max - this.size;
    const part = text.length > room ? text.slice(0, room) : text;
    this.dropped += text.length - part.length;
    this.parts.push(part);
    this.size += part.length;
  }
  toString(): string {
    return this.parts.join('') + (this.dropped ? `\n[clawgym: ${this.dropped} more characters not kept]\n` : '');
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isCancel(e: unknown, signal?: AbortSignal): boolean {
  return (e instanceof SandboxError && e.kind === 'cancelled') || (signal?.aborted ?? false);
}

/** Run one trial. Never throws; the sandbox is always disposed. */
export async function runTrial(options: TrialOptions): Promise<TrialRecord> {
  const { task, backend, agent, runId, trialId, signal, onEvent } = options;
  const started = Date.now();
  const timing: TrialTiming = { createMs: 0, setupMs: 0, agentMs: 0, verifyMs: 0, integrityMs: 0, disposeMs: 0, totalMs: 0 };
  const logs = { setup: new LogBuffer(), agent: new LogBuffer(), verifier: new LogBuffer() };
  const decoder = () => {
    const d = new TextDecoder('utf-8', { fatal: false });
    return (c: Uint8Array) => d.decode(c, { stream: true });
  };
  const result: TrialResult = {
    taskId: task.id,
    trialId,
    source: task.source,
    agent: agent.name,
    status: 'error',
    reward: 0,
    solved: false,
    checks: [],
    verifierErrors: 0,
    changes: [],
    wantedNetwork: task.network === 'none' && intentWantsNetwork(task.intent),
    startedAt: new Date(started).toISOString(),
    timing,
  };
  const record: TrialRecord = { result, logs: { setup: '', agent: '', verifier: '' }, transcript: [], unifiedDiff: '' };
  const phase = (p: TrialPhase) => onEvent?.({ type: 'phase', trialId, phase: p });
  let current: TrialPhase = 'sandbox';
  let sandbox: Sandbox | undefined;
  let grader: Sandbox | undefined;
  let preparation: AgentPreparation | undefined;

  try {
    const cannot = agent.cannotRun?.(task);
    if (cannot) throw new Error(cannot);

    phase('sandbox');
    let t = Date.now();
    // Black-box agents start their model proxy here: its socket is mounted into the sandbox.
    preparation = await agent.prepare?.({ task, trialId, backend, signal });
    sandbox = await backend.create(
      {
        image: task.image ?? preparation?.image ?? options.image,
        workdir: task.root,
        env: task.env,
        network: task.network,
        resources: { ...DEFAULT_RESOURCES, ...options.resources, ...task.resources },
        runId,
        trialId,
        ...(preparation?.mounts?.length ? { mounts: preparation.mounts } : {}),
      },
      task.files,
      { signal },
    );
    timing.createMs = Date.now() - t;
    result.sandbox = { name: sandbox.name, backend: backend.name, isolation: backend.isolation };

    if (task.setup.length) {
      current = 'setup';
      phase('setup');
      t = Date.now();
      for (const command of task.setup) {
        logs.setup.add(`$ ${command}\n`);
        const out = decoder();
        const err = decoder();
        const r = await sandbox.exec(command, {
          timeoutMs: DEFAULT_SETUP_TIMEOUT_MS,
          signal,
          onStdout: (c) => logs.setup.add(out(c)),
          onStderr: (c) => logs.setup.add(err(c)),
        });
        if (r.timedOut) throw new Error(`setup command timed out after ${formatMs(DEFAULT_SETUP_TIMEOUT_MS)}: ${command}`);
        if (r.exitCode !== 0) throw new Error(`setup command exited with code ${r.exitCode}: ${command}${r.stderr.trim() ? ` (${r.stderr.trim().split('\n').slice(-1)[0]})` : ''}`);
      }
      timing.setupMs = Date.now() - t;
    }

    // What graders run, as it is before the agent (see integrity.ts).
    await sandbox.baseline?.(signal ? { signal } : {});

    current = 'agent';
    phase('agent');
    t = Date.now();
    const out = decoder();
    const err = decoder();
    const outcome = await agent.run({
      task,
      sandbox,
      timeoutMs: options.agentTimeoutMs ?? task.agent.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS,
      signal,
      trialId,
      onOutput: (stream, chunk) => {
        const text = stream === 'stdout' ? out(chunk) : err(chunk);
        logs.agent.add(text);
        onEvent?.({ type: 'output', trialId, phase: 'agent', stream, text });
      },
      ...(onEvent ? { onTrajectory: (event: TrajectoryEvent) => onEvent({ type: 'trajectory', trialId, event }) } : {}),
      ...(preparation ? { preparation } : {}),
    });
    timing.agentMs = Date.now() - t;
    record.transcript = outcome.transcript;
    if (outcome.trajectory) record.trajectory = outcome.trajectory;
    const { transcript: _transcript, trajectory: _trajectory, ...summary } = outcome;
    result.agentOutcome = summary;
    if (outcome.status === 'cancelled' || signal?.aborted) {
      result.status = 'cancelled';
      result.error = { phase: 'agent', message: 'cancelled' };
      return record;
    }
    if (outcome.error) logs.agent.add(`\n[clawgym: agent ${outcome.status}: ${outcome.error}]\n`);

    current = 'verifier';
    phase('verifier');
    t = Date.now();
    const secured = await secureGrading({
      backend,
      sandbox,
      root: task.root,
      ...(signal ? { signal } : {}),
      ...(options.freshGrading ? { forceFresh: true } : {}),
      log: (line) => logs.verifier.add(`${line}\n`),
    });
    timing.integrityMs = Date.now() - t;
    const integrity = secured.integrity;
    result.integrity = integrity;
    if (secured.fresh) grader = secured.sandbox;
    const verified = await runVerifier(task, secured.sandbox, {
      finalMessage: outcome.finalMessage,
      transcript: outcome.transcript,
      signal,
      onLog: (line) => logs.verifier.add(line.endsWith('\n') ? line : `${line}\n`),
    });
    timing.verifyMs = Date.now() - t;
    record.verifierResult = verified;
    const { snapshot, ...verifierSummary } = verified;
    result.verifier = verifierSummary;
    result.checks = verified.checks;
    result.verifierErrors = verified.verifierErrors;
    result.reward = verified.reward;
    result.solved = verified.solved;
    integrity.verifierFilesIntact = verified.filesIntact;
    if (verified.filesIntact === false) integrity.tampering.push("the verifier's files changed while the checks ran");
    if (integrity.tampering.length > 0) {
      // A grade the agent worked against is no grade: kept for the record, not as the reward.
      integrity.gradedReward = verified.reward;
      result.reward = 0;
      result.solved = false;
      logs.verifier.add(`integrity: tampering found: reward 0 (the verifier gave ${verified.reward.toFixed(4)})\n`);
    }
    result.status = result.solved ? 'passed' : 'failed';
    if (snapshot) {
      const diff = diffWorkspace(task.files, task.root, snapshot.entries);
      result.changes = diff.changes;
      record.unifiedDiff = diff.unified;
    }
    return record;
  } catch (e) {
    if (isCancel(e, signal)) {
      result.status = 'cancelled';
      result.error = { phase: current, message: 'cancelled' };
    } else {
      result.status = 'error';
      result.error = { phase: current, message: errorMessage(e) };
    }
    return record;
  } finally {
    if (sandbox) {
      phase('dispose');
      const t = Date.now();
      await Promise.all([sandbox.dispose(), grader?.dispose()]);
      timing.disposeMs = Date.now() - t;
    }
    await preparation?.release().catch(() => undefined);
    timing.totalMs = Date.now() - started;
    record.logs = { setup: logs.setup.toString(), agent: logs.agent.toString(), verifier: logs.verifier.toString() };
  }
}

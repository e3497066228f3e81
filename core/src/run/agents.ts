/**
 * Agents that need no model: `oracle` runs the task's reference solution, `nop` does nothing.
 * They share the interface the model-driven agents implement, so the runner treats all alike.
 */
import { randomBytes } from 'node:crypto';
import type { Sandbox, SandboxBackend, SandboxMount } from '../sandbox/types';
import { SandboxError } from '../sandbox/types';
import { TrajectoryBuilder, type Trajectory, type TrajectoryEvent } from '../trajectory/atif';
import type { Truncation } from './limits';
import type { ResolvedTask } from './types';

/** The version recorded in trajectories (`agent.version`) for the agents of this package. */
export const CLAWGYM_VERSION = '0.1.0';

export interface AgentContext {
  task: ResolvedTask;
  sandbox: Sandbox;
  /** Wall-clock limit for the whole agent run. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Raw output of the agent's commands, for `logs/agent.log` and live views. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
  /** The trial's id: the trajectory's `session_id`. */
  trialId?: string;
  /** The trajectory as it grows (steps, observations, the final metrics): the live event stream. */
  onTrajectory?: (event: TrajectoryEvent) => void;
  /** What the agent's `prepare` returned, when it has one. */
  preparation?: AgentPreparation;
}

/** The trajectory's `session_id`: the trial id, else the task id and a random suffix. */
export function trajectorySessionId(ctx: Pick<AgentContext, 'trialId' | 'task'>): string {
  return ctx.trialId ?? `${ctx.task.id}-${randomBytes(4).toString('hex')}`;
}

/** A trajectory builder for an agent run, streaming to the context's listener. */
export function startTrajectory(
  ctx: AgentContext,
  agent: { name: string; version?: string; model_name?: string; tool_definitions?: ConstructorParameters<typeof TrajectoryBuilder>[0]['agent']['tool_definitions']; extra?: Record<string, unknown> },
  /** The trajectory cap (bytes of text; TrialCaps.trajectoryBytes). */
  maxBytes?: number,
): TrajectoryBuilder {
  return new TrajectoryBuilder({
    sessionId: trajectorySessionId(ctx),
    agent: { version: CLAWGYM_VERSION, ...agent },
    ...(ctx.onTrajectory ? { onEvent: ctx.onTrajectory } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  });
}

export type AgentStatus = 'completed' | 'timeout' | 'failed' | 'cancelled';

export interface AgentOutcome {
  status: AgentStatus;
  /** The agent's last reply to the user (ClawGym `final_message`). */
  finalMessage: string;
  /** What happened, step by step (ClawGym payload `transcript`). */
  transcript: unknown[];
  steps: number;
  /** Why the agent did not complete, in words. */
  error?: string;
  exitCode?: number;
  /** The run as an ATIF trajectory (`trajectory.json`). */
  trajectory?: Trajectory;
  /** Model usage over the run, when a model was used. */
  usage?: { promptTokens: number; completionTokens: number; costUsd?: number; modelCalls: number; retries: number };
  /** Per step with tool calls: the model call (retries included), the tools, the whole step (ms). */
  stepTimings?: { modelMs: number; toolsMs: number; totalMs: number }[];
  /** What went over a cap (replies, observations, the trajectory) and was cut; see run/limits.ts. */
  truncated?: Truncation[];
}

export interface Agent {
  readonly name: string;
  /** Whether the agent can run this task at all (e.g. oracle needs a solution); a reason when not. */
  cannotRun?(task: ResolvedTask): string | undefined;
  /**
   * Optional: what the agent needs in place before its sandbox is created (black-box agents: a
   * model proxy whose socket is mounted into the sandbox). The trial passes the result to `run`
   * as `ctx.preparation` and calls its `release()` after the sandbox is disposed, whatever happened.
   */
  prepare?(ctx: AgentPrepareContext): Promise<AgentPreparation>;
  run(ctx: AgentContext): Promise<AgentOutcome>;
}

export interface AgentPrepareContext {
  task: ResolvedTask;
  trialId: string;
  backend: SandboxBackend;
  signal?: AbortSignal;
}

export interface AgentPreparation {
  /** Host directories the sandbox must see (SandboxSpec.mounts). */
  mounts?: SandboxMount[];
  /** The image to use when the task names none (the agent is installed there), over the run's default. */
  image?: string;
  /** Undo what prepare did (close the proxy, remove its directory). Never throws. */
  release(): Promise<void>;
}

export const nopAgent: Agent = {
  name: 'nop',
  async run(ctx) {
    const trajectory = startTrajectory(ctx, { name: 'nop' });
    trajectory.addUser(ctx.task.intent);
    return { status: 'completed', finalMessage: '', transcript: [], steps: 0, trajectory: trajectory.finish() };
  },
};

export const oracleAgent: Agent = {
  name: 'oracle',
  cannotRun(task) {
    return task.solution ? undefined : `task ${task.id} has no reference solution (add \`solution.script\` or \`solution.from\`${task.source.kind === 'clawgym' ? ', or solution/solve.sh in the task folder' : ''})`;
  },
  async run(ctx) {
    const { task, sandbox, timeoutMs, signal, onOutput } = ctx;
    if (!task.solution) throw new Error(oracleAgent.cannotRun!(task));
    const trajectory = startTrajectory(ctx, { name: 'oracle', tool_definitions: [ORACLE_TOOL] });
    trajectory.addUser(task.intent);
    // A fresh, unguessable place outside the workspace, so the solution is not part of the agent's output.
    const dir = `/tmp/clawgym-solution-${randomBytes(8).toString('hex')}`;
    const script = `${dir}/solve.sh`;
    await sandbox.copyIn([{ path: script, content: Buffer.from(task.solution.script, 'utf8'), mode: 0o755 }], { signal });
    const started = Date.now();
    try {
      const r = await sandbox.exec(['bash', script], {
        cwd: task.root,
        timeoutMs,
        signal,
        onStdout: (c) => onOutput?.('stdout', c),
        onStderr: (c) => onOutput?.('stderr', c),
      });
      const step = {
        type: 'command',
        command: `bash ${task.solution.origin}`,
        exit_code: r.exitCode,
        duration_ms: Date.now() - started,
        stdout: r.stdout,
        stderr: r.stderr,
        truncated: r.truncated || undefined,
      };
      const finalMessage = lastLines(r.stdout, 20);
      const id = trajectory.addAgent({ message: '', tool_calls: [{ tool_call_id: 'call_solution', function_name: 'exec', arguments: { command: step.command } }] });
      trajectory.addObservation(id, [{ source_call_id: 'call_solution', content: `exit code ${r.exitCode}\n${r.stdout}${r.stderr ? `\n[stderr]\n${r.stderr}` : ''}` }]);
      const done = { finalMessage, transcript: [step], steps: 1, exitCode: r.exitCode, trajectory: trajectory.finish() };
      if (r.timedOut) return { status: 'timeout', ...done, error: `the solution did not finish within ${formatMs(timeoutMs)}` };
      if (r.outputLimitExceeded) return { status: 'failed', ...done, error: `the solution wrote more output than allowed (${r.stdoutBytes + r.stderrBytes} bytes); it was stopped` };
      if (r.exitCode !== 0) return { status: 'failed', ...done, error: `the solution exited with code ${r.exitCode}${stderrTail(r.stderr)}` };
      return { status: 'completed', ...done };
    } catch (e) {
      if (e instanceof SandboxError && e.kind === 'cancelled') return { status: 'cancelled', finalMessage: '', transcript: [], steps: 0, error: 'cancelled' };
      throw e;
    } finally {
      // Not part of the workspace, but do not leave it for the verifier's commands to find either.
      await sandbox.exec(['rm', '-rf', dir], { timeoutMs: 10_000 }).catch(() => undefined);
    }
  },
};

/** The one tool the oracle's trajectory shows: the solution run as a shell command. */
const ORACLE_TOOL = {
  type: 'function' as const,
  function: { name: 'exec', description: 'Run a shell command in the workspace.', parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } },
};

export const BUILTIN_AGENTS: Record<string, Agent> = { oracle: oracleAgent, nop: nopAgent };

/** The last `n` lines of a command's output (an agent's final message). */
export function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}

/** `: <the last lines of stderr>` for an error message, or nothing when stderr is empty. */
export function stderrTail(stderr: string): string {
  const t = stderr.trim();
  if (!t) return '';
  const lines = t.split('\n').slice(-3).join(' | ');
  return `: ${lines.length > 300 ? `…${lines.slice(-300)}` : lines}`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(1)} s`;
  return `${+(ms / 60_000).toFixed(1)} min`;
}

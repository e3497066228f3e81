/**
 * Agents that need no model: `oracle` runs the task's reference solution, `nop` does nothing.
 * They share the interface the model-driven agents implement, so the runner treats all alike.
 */
import { randomBytes } from 'node:crypto';
import type { Sandbox } from '../sandbox/types';
import { SandboxError } from '../sandbox/types';
import type { ResolvedTask } from './types';

export interface AgentContext {
  task: ResolvedTask;
  sandbox: Sandbox;
  /** Wall-clock limit for the whole agent run. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Raw output of the agent's commands, for `logs/agent.log` and live views. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
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
}

export interface Agent {
  readonly name: string;
  /** Whether the agent can run this task at all (e.g. oracle needs a solution); a reason when not. */
  cannotRun?(task: ResolvedTask): string | undefined;
  run(ctx: AgentContext): Promise<AgentOutcome>;
}

export const nopAgent: Agent = {
  name: 'nop',
  async run() {
    return { status: 'completed', finalMessage: '', transcript: [], steps: 0 };
  },
};

export const oracleAgent: Agent = {
  name: 'oracle',
  cannotRun(task) {
    return task.solution ? undefined : `task ${task.id} has no reference solution (add \`solution.script\` or \`solution.from\`${task.source.kind === 'clawgym' ? ', or solution/solve.sh in the task folder' : ''})`;
  },
  async run({ task, sandbox, timeoutMs, signal, onOutput }) {
    if (!task.solution) throw new Error(oracleAgent.cannotRun!(task));
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
      if (r.timedOut) return { status: 'timeout', finalMessage, transcript: [step], steps: 1, exitCode: r.exitCode, error: `the solution did not finish within ${formatMs(timeoutMs)}` };
      if (r.outputLimitExceeded) return { status: 'failed', finalMessage, transcript: [step], steps: 1, exitCode: r.exitCode, error: `the solution wrote more output than allowed (${r.stdoutBytes + r.stderrBytes} bytes); it was stopped` };
      if (r.exitCode !== 0) return { status: 'failed', finalMessage, transcript: [step], steps: 1, exitCode: r.exitCode, error: `the solution exited with code ${r.exitCode}${tail(r.stderr)}` };
      return { status: 'completed', finalMessage, transcript: [step], steps: 1, exitCode: 0 };
    } catch (e) {
      if (e instanceof SandboxError && e.kind === 'cancelled') return { status: 'cancelled', finalMessage: '', transcript: [], steps: 0, error: 'cancelled' };
      throw e;
    } finally {
      // Not part of the workspace, but do not leave it for the verifier's commands to find either.
      await sandbox.exec(['rm', '-rf', dir], { timeoutMs: 10_000 }).catch(() => undefined);
    }
  },
};

export const BUILTIN_AGENTS: Record<string, Agent> = { oracle: oracleAgent, nop: nopAgent };

function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}

function tail(stderr: string): string {
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

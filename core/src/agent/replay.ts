/**
 * The `replay` agent: re-executes a recorded trajectory's tool calls, in order, in a fresh
 * sandbox, with the built-in agent's tools (tools.ts), and records what they give now. No model is
 * called. For demos (a run replayed without a model), debugging (the same steps against a changed
 * task or image) and regression tests (did the grader's verdict change?).
 *
 * A trajectory may come from a single trial folder (`trajectory.json`) or a run folder holding
 * several (the one whose task id matches the task being run is used). The replayed trajectory
 * keeps the recorded agent messages and tool calls, with the new observations, and says in its
 * notes which observations differ from the recorded ones.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { SandboxError } from '../sandbox/types';
import { startTrajectory, type Agent, type AgentOutcome } from '../run/agents';
import { validateTrajectory, type Trajectory } from '../trajectory/atif';
import { TOOL_DEFINITIONS, ToolBox } from './tools';

/** Where a task's recorded trajectory is: a trajectory.json, a trial folder, or a run folder. */
export function findRecordedTrajectory(source: string, taskId: string): { path: string } | { error: string } {
  const abs = nodePath.resolve(source);
  if (!fs.existsSync(abs)) return { error: `no trajectory at ${source}` };
  if (fs.statSync(abs).isFile()) return { path: abs };
  const direct = nodePath.join(abs, 'trajectory.json');
  if (fs.existsSync(direct)) return { path: direct };
  const trials = nodePath.join(abs, 'trials');
  if (fs.existsSync(trials)) {
    for (const name of fs.readdirSync(trials).sort()) {
      const result = nodePath.join(trials, name, 'result.json');
      const traj = nodePath.join(trials, name, 'trajectory.json');
      if (!fs.existsSync(result) || !fs.existsSync(traj)) continue;
      try {
        if ((JSON.parse(fs.readFileSync(result, 'utf8')) as { taskId?: string }).taskId === taskId) return { path: traj };
      } catch {
        // an unreadable result: not this one
      }
    }
    return { error: `the run folder ${source} has no trajectory for the task ${taskId}` };
  }
  return { error: `${source} holds no trajectory.json (give a trajectory.json, a trial folder or a run folder)` };
}

export function loadTrajectory(path: string): Trajectory {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the trajectory ${path}: ${(e as Error).message}`, { cause: e });
  }
  const problems = validateTrajectory(parsed);
  if (problems.length) throw new Error(`${path} is not a valid ATIF trajectory: ${problems.slice(0, 3).join('; ')}`);
  return parsed as Trajectory;
}

/** `source`: a trajectory.json, a trial folder, or a run folder (matched by task id). */
export function createReplayAgent(source: string): Agent {
  return {
    name: 'replay',
    cannotRun(task) {
      const found = findRecordedTrajectory(source, task.id);
      return 'error' in found ? found.error : undefined;
    },
    async run(ctx): Promise<AgentOutcome> {
      const found = findRecordedTrajectory(source, ctx.task.id);
      if ('error' in found) throw new Error(found.error);
      const recorded = loadTrajectory(found.path);
      const tools = new ToolBox({ sandbox: ctx.sandbox, root: ctx.task.root, ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}) });
      const trajectory = startTrajectory(ctx, {
        name: 'replay',
        ...(recorded.agent.model_name ? { model_name: recorded.agent.model_name } : {}),
        tool_definitions: TOOL_DEFINITIONS,
        extra: { replay_of: found.path, recorded_agent: recorded.agent.name, recorded_session: recorded.session_id },
      });
      trajectory.addUser(ctx.task.intent);
      const deadline = Date.now() + ctx.timeoutMs;
      const differing: number[] = [];
      let steps = 0;
      let finalMessage = '';
      const transcript: unknown[] = [];
      try {
        for (const step of recorded.steps) {
          if (step.source !== 'agent') continue;
          if (Date.now() > deadline) return { status: 'timeout', finalMessage, transcript, steps, error: 'the replay did not finish in time', trajectory: trajectory.finish() };
          steps++;
          const message = typeof step.message === 'string' ? step.message : '';
          const calls = step.tool_calls ?? [];
          const id = trajectory.addAgent({
            message,
            tool_calls: calls.map((c) => ({ tool_call_id: c.tool_call_id, function_name: c.function_name, arguments: c.arguments })),
            extra: { replayed_step: step.step_id },
          });
          if (!calls.length) {
            finalMessage = message;
            continue;
          }
          const results: { source_call_id: string; content: string }[] = [];
          let finished: string | undefined;
          for (const call of calls) {
            const outcome = await tools.call(call.function_name, JSON.stringify(call.arguments), ctx.signal);
            if (outcome.finish !== undefined) finished = outcome.finish;
            results.push({ source_call_id: call.tool_call_id, content: outcome.content });
            transcript.push({ step: step.step_id, tool: call.function_name, arguments: call.arguments, result: outcome.content });
          }
          trajectory.addObservation(id, results);
          // Recorded observations end with the budget line; compare what the tools said.
          const before = (step.observation?.results ?? []).map((r) => String(r.content).replace(/\n\n\[budget: [^\]]*\]$/, ''));
          if (before.length && before.join('\0') !== results.map((r) => r.content).join('\0')) differing.push(step.step_id);
          if (finished !== undefined) {
            finalMessage = finished;
            break;
          }
        }
      } catch (e) {
        if (e instanceof SandboxError && e.kind === 'cancelled') return { status: 'cancelled', finalMessage, transcript, steps, error: 'cancelled', trajectory: trajectory.finish() };
        throw e;
      }
      trajectory.setNote(
        differing.length
          ? `replay of ${found.path}: ${steps} steps; the observations of recorded steps ${differing.join(', ')} differ from the recording`
          : `replay of ${found.path}: ${steps} steps; every observation matches the recording`,
      );
      return { status: 'completed', finalMessage, transcript, steps, trajectory: trajectory.finish() };
    },
  };
}

/**
 * The built-in agent end to end: the real `openai` client over HTTP on 127.0.0.1 against the
 * scripted model server, tools executed in real Docker sandboxes, the verifier grading the
 * result. Fixture tasks reach reward 1; every injected fault (429, 500, slow, malformed tool-call
 * arguments, a stream cut short) is recovered or reported; limits, the persistent shell,
 * parallel tool calls, cancellation; and the API key appears in no output and no container.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { createBuiltinAgent, type BuiltinAgentOptions } from '../src/agent/builtin';
import { resolveModelConfig } from '../src/agent/config';
import { createReplayAgent } from '../src/agent/replay';
import { findTasks } from '../src/clawgym/find';
import { loadModelScript, startModelServer, type ModelServer, type RawModelScript } from '../src/modelserver';
import { runJob } from '../src/run/job';
import { loadTask } from '../src/run/load';
import { runTrial } from '../src/run/trial';
import type { ResolvedTask } from '../src/run/types';
import { createDockerBackend } from '../src/sandbox/docker';
import { validateTrajectory } from '../src/trajectory/atif';
import { assertDocker, containersOf, needsDocker, TEST_IMAGE } from './docker';

const repo = join(__dirname, '..', '..', '..');
const fixtureTasks = join(repo, 'test-fixtures', 'tasks');
const RUN = `test-agent-${process.pid}-${randomBytes(3).toString('hex')}`;

function fixture(id: string): ResolvedTask {
  const entry = findTasks([fixtureTasks], repo, { onePerTask: true }).tasks.find((e) => loadTask(e).task?.id === id);
  const r = entry && loadTask(entry);
  if (!r?.task) throw new Error(`no fixture task ${id}`);
  return r.task;
}

/** A small task of our own: write out/hello.txt containing "hello". */
function helloTask(id = 'hello'): ResolvedTask {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-agent-task-'));
  const file = join(dir, `${id}.clawtask`);
  fs.writeFileSync(
    file,
    [
      'version: 1',
      `id: ${id}`,
      'intent: Write the word hello into out/hello.txt.',
      'workspace:',
      '  files:',
      '    notes.txt: "say hello"',
      'verifier:',
      '  checks:',
      '    - id: hello',
      '      file_matches: { path: out/hello.txt, pattern: "^hello\\\\s*$" }',
      '',
    ].join('\n'),
  );
  const r = loadTask({ kind: 'clawtask', path: file });
  if (!r.task) throw new Error(`hello task refused: ${r.error}`);
  return r.task;
}

const WRITE_HELLO = { name: 'write_file', arguments: { path: 'out/hello.txt', content: 'hello\n' } };
const FINISH = { name: 'finish', arguments: { message: 'wrote it' } };

const servers: ModelServer[] = [];
async function serve(script: RawModelScript): Promise<ModelServer> {
  const s = await startModelServer({ script });
  servers.push(s);
  return s;
}

function agentFor(server: ModelServer, over: Partial<BuiltinAgentOptions> = {}) {
  return createBuiltinAgent({ model: { baseUrl: server.url, model: 'scripted', apiKey: 'test-key' }, sendTaskHeader: true, retryBaseMs: 20, ...over });
}

let backendCache: ReturnType<typeof createDockerBackend> | undefined;
const backend = () => (backendCache ??= createDockerBackend());

async function trial(task: ResolvedTask, server: ModelServer, over: Partial<BuiltinAgentOptions> = {}, extra: { signal?: AbortSignal; timeoutMs?: number } = {}) {
  return runTrial({
    task,
    backend: backend(),
    agent: agentFor(server, over),
    runId: RUN,
    trialId: `${task.id}-${randomBytes(2).toString('hex')}`,
    image: TEST_IMAGE,
    ...(extra.timeoutMs ? { agentTimeoutMs: extra.timeoutMs } : {}),
    ...(extra.signal ? { signal: extra.signal } : {}),
  });
}

describe('model configuration', () => {
  test('flags over environment; the key only from the environment; local endpoints need none', () => {
    const none = resolveModelConfig({}, {});
    assert.equal(none.ok, false);
    assert.match(none.ok ? '' : none.message, /no model is configured[\s\S]*--model[\s\S]*--model-script/);
    const env = { CLAWGYM_MODEL: 'm-env', OPENAI_BASE_URL: 'https://example.invalid/v1/', OPENAI_API_KEY: 'k1' };
    const r = resolveModelConfig({ model: 'm-flag' }, env);
    assert.ok(r.ok);
    assert.deepEqual([r.config.model, r.config.baseUrl, r.config.apiKey, r.keySource], ['m-flag', 'https://example.invalid/v1', 'k1', 'OPENAI_API_KEY']);
    const noKey = resolveModelConfig({ model: 'm' }, {});
    assert.equal(noKey.ok, false);
    assert.match(noKey.ok ? '' : noKey.message, /no API key for https:\/\/api.openai.com\/v1/);
    const local = resolveModelConfig({ model: 'm', baseUrl: 'http://127.0.0.1:8000/v1' }, {});
    assert.ok(local.ok && local.config.apiKey === 'no-key');
    const named = resolveModelConfig({ model: 'm', apiKeyEnv: 'MY_KEY' }, { MY_KEY: 'k2', OPENAI_API_KEY: 'other' });
    assert.ok(named.ok && named.config.apiKey === 'k2');
  });
});

test('test-fixtures/model-scripts/fixtures.json is what scripts/gen-model-scripts.mjs writes from the tasks', () => {
  execFileSync(process.execPath, [join(repo, 'scripts', 'gen-model-scripts.mjs'), '--check'], { stdio: 'pipe' });
  const script = loadModelScript(join(repo, 'test-fixtures', 'model-scripts', 'fixtures.json'));
  assert.deepEqual(script.tasks.map((t) => t.id).sort(), ['garden-meeting-notes', 'roommate-balances', 'task_1001']);
});

describe('built-in agent on the real engine', needsDocker(), () => {
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    assert.deepEqual(containersOf(RUN), [], 'containers were left behind');
  });

  test('fixture tasks solved through the tools against the bundled script: reward 1, valid trajectories', async (t) => {
    assertDocker(t);
    const script = loadModelScript(join(repo, 'test-fixtures', 'model-scripts', 'fixtures.json'));
    const server = await startModelServer({ script });
    servers.push(server);
    const tasks = ['roommate-balances', 'task_1001', 'garden-meeting-notes'].map(fixture);
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-agent-runs-'));
    const events: string[] = [];
    const summary = await runJob({ tasks, agent: agentFor(server), backend: backend(), image: TEST_IMAGE, concurrency: 3, runsDir, runId: RUN, onEvent: (e) => events.push(e.type) });
    for (const r of summary.results) {
      assert.equal(r.reward, 1, `${r.taskId}: ${JSON.stringify(r.checks.filter((c) => !c.passed))} ${r.agentOutcome?.error ?? ''}`);
      assert.equal(r.agentOutcome?.status, 'completed');
      const traj = JSON.parse(fs.readFileSync(join(summary.runDir!, 'trials', r.trialId, 'trajectory.json'), 'utf8'));
      assert.deepEqual(validateTrajectory(traj), []);
      assert.equal(traj.agent.name, 'builtin');
      assert.ok(traj.agent.tool_definitions.some((d: { function: { name: string } }) => d.function.name === 'edit_file'));
      const agentSteps = traj.steps.filter((s: { source: string }) => s.source === 'agent');
      assert.equal(agentSteps.length, 5);
      assert.equal(agentSteps[0].tool_calls.length, 2, 'the parallel list_dir + read_file');
      assert.equal(agentSteps[0].observation.results.length, 2);
      assert.ok(agentSteps.every((s: { metrics?: { prompt_tokens?: number } }) => (s.metrics?.prompt_tokens ?? 0) > 0));
      assert.ok(traj.final_metrics.total_prompt_tokens > 0);
    }
    assert.ok(events.includes('trajectory'), 'trajectory events are streamed');
    // The run streams the same events it stores: events.jsonl has every step.
    const jsonl = fs.readFileSync(join(summary.runDir!, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(jsonl.filter((e) => e.type === 'trajectory' && e.event.type === 'step').length >= 3 * 7);
  });

  test('replay re-executes a recorded trajectory in a fresh sandbox, without a model, and compares', async (t) => {
    assertDocker(t);
    const server = await serve({ tasks: { hello: { replies: [{ tool_calls: [{ name: 'exec', arguments: { command: 'cat notes.txt' } }, WRITE_HELLO] }, { tool_calls: [FINISH] }] } } });
    const recorded = await trial(helloTask(), server);
    assert.equal(recorded.result.reward, 1);
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-replay-'));
    fs.writeFileSync(join(dir, 'trajectory.json'), JSON.stringify(recorded.trajectory));
    const requestsBefore = server.requests.length;
    const same = await runTrial({ task: helloTask(), backend: backend(), agent: createReplayAgent(dir), runId: RUN, trialId: 'replay-1', image: TEST_IMAGE });
    assert.equal(same.result.reward, 1);
    assert.equal(server.requests.length, requestsBefore, 'no model call');
    assert.deepEqual(validateTrajectory(same.trajectory), []);
    assert.match(same.trajectory!.notes ?? '', /every observation matches/);
    assert.equal(same.result.agentOutcome?.finalMessage, 'wrote it');
    // The same steps against a task whose notes changed: graded again, and the difference said.
    const changed = helloTask();
    changed.files = [{ path: `${changed.root}/notes.txt`, content: Buffer.from('changed') }];
    const differs = await runTrial({ task: changed, backend: backend(), agent: createReplayAgent(join(dir, 'trajectory.json')), runId: RUN, trialId: 'replay-2', image: TEST_IMAGE });
    assert.equal(differs.result.reward, 1);
    assert.match(differs.trajectory!.notes ?? '', /observations of recorded steps 3 differ/);
    const none = createReplayAgent(join(dir, 'nowhere'));
    assert.match(none.cannotRun!(helloTask()) ?? '', /no trajectory at/);
  });

  test('every injected fault is recovered: 429, 500, slow, malformed arguments, a cut stream', async (t) => {
    assertDocker(t);
    const server = await serve({
      tasks: {
        hello: {
          replies: [
            { content: 'looking', tool_calls: [{ name: 'list_dir', arguments: {} }], fault: { kind: 429, times: 2, retry_after_s: 0 } },
            { tool_calls: [WRITE_HELLO], fault: { kind: 500, times: 1, retry_after_s: 0 } },
            { tool_calls: [{ name: 'read_file', arguments: { path: 'out/hello.txt' } }], fault: { kind: 'malformed-args', times: 1 } },
            { tool_calls: [{ name: 'exec', arguments: { command: 'cat out/hello.txt' } }], fault: { kind: 'truncate', times: 1 } },
            { tool_calls: [FINISH], fault: { kind: 'slow', times: 1, delay_ms: 3000 } },
          ],
        },
      },
    });
    const rec = await trial(helloTask(), server, { requestTimeoutMs: 1000 });
    const r = rec.result;
    assert.equal(r.reward, 1, JSON.stringify(r.agentOutcome));
    assert.equal(r.agentOutcome?.status, 'completed', `${r.agentOutcome?.error}\n${rec.logs.agent}`);
    // Replies are indexed by the assistant messages so far: the malformed call costs its step only.
    assert.equal(rec.trajectory?.steps.filter((s) => s.source === 'agent').length, 5);
    const usage = (r.agentOutcome as { usage?: { retries: number } }).usage;
    assert.equal(usage?.retries, 5, '2 × 429, 1 × 500, 1 cut stream, 1 time-out');
    // The malformed arguments were answered with an error observation naming the tool.
    const malformed = rec.trajectory!.steps.find((s) => s.observation?.results.some((o) => /read_file are not valid JSON/.test(String(o.content))));
    assert.ok(malformed, 'an error observation for the malformed call');
    assert.match(rec.logs.agent, /retry 1 of 5/);
  });

  test('faults past the retry budget are reported, not hidden', async (t) => {
    assertDocker(t);
    const server = await serve({ tasks: { hello: { replies: [{ content: 'x', fault: { kind: 500, times: 50, retry_after_s: 0 } }] } } });
    const r = (await trial(helloTask(), server, { maxRetries: 2 })).result;
    assert.equal(r.agentOutcome?.status, 'failed');
    assert.match(r.agentOutcome?.error ?? '', /the model call failed: 500/);
    assert.equal(r.reward, 0);
    assert.equal(r.status, 'failed');
  });

  test('malformed tool calls are counted and capped', async (t) => {
    assertDocker(t);
    const server = await serve({
      tasks: { hello: { replies: Array.from({ length: 10 }, () => ({ tool_calls: [{ name: 'exec', arguments: '{"command": "ls"' }] })) } },
    });
    const rec = await trial(helloTask(), server, { maxMalformed: 3 });
    assert.equal(rec.result.agentOutcome?.status, 'failed');
    assert.match(rec.result.agentOutcome?.error ?? '', /3 malformed tool calls/);
    assert.equal(rec.result.agentOutcome?.steps, 3);
  });

  test('limits: steps, tokens; the budget is told to the model after every step', async (t) => {
    assertDocker(t);
    const loop = { replies: Array.from({ length: 20 }, () => ({ tool_calls: [{ name: 'exec', arguments: { command: 'true' } }] })) };
    const server = await serve({ tasks: { hello: loop } });
    const steps = await trial(helloTask(), server, { maxSteps: 3 });
    assert.equal(steps.result.agentOutcome?.status, 'failed');
    assert.match(steps.result.agentOutcome?.error ?? '', /step limit \(3\)/);
    const second = server.requests.filter((q) => q.replyIndex === 1).at(-1)!;
    const lastTool = (second.messages as { role: string; content: string }[]).filter((m) => m.role === 'tool').at(-1)!;
    assert.match(lastTool.content, /\[budget: 2 steps left · .* left\]/);
    // The task's own agent.max_steps applies when the run sets none.
    const capped = helloTask();
    capped.agent = { maxSteps: 2 };
    const byTask = await trial(capped, server);
    assert.match(byTask.result.agentOutcome?.error ?? '', /step limit \(2\)/);
    const overridden = await trial(capped, server, { maxSteps: 4 });
    assert.match(overridden.result.agentOutcome?.error ?? '', /step limit \(4\)/);
    const tokens = await trial(helloTask(), server, { maxTotalTokens: 1 });
    assert.match(tokens.result.agentOutcome?.error ?? '', /token limit \(1\)/);
    assert.equal(tokens.result.agentOutcome?.steps, 1);
  });

  test('the shell keeps its working directory and exported variables between exec calls; edit_file is exact', async (t) => {
    assertDocker(t);
    const server = await serve({
      tasks: {
        hello: {
          replies: [
            { tool_calls: [{ name: 'exec', arguments: { command: 'mkdir -p out && cd out && export GREETING=hello && LOCAL=x' } }] },
            { tool_calls: [{ name: 'exec', arguments: { command: 'echo "$GREETING" > hello.txt; pwd; echo "[$LOCAL]"' } }] },
            { tool_calls: [{ name: 'edit_file', arguments: { path: 'out/hello.txt', old_string: 'nothing', new_string: 'x' } }] },
            { tool_calls: [{ name: 'write_file', arguments: { path: 'out/two.txt', content: 'a a' } }, { name: 'edit_file', arguments: { path: 'out/two.txt', old_string: 'a', new_string: 'b' } }] },
            { tool_calls: [{ name: 'edit_file', arguments: { path: 'out/two.txt', old_string: 'a', new_string: 'b', replace_all: true } }, { name: 'read_file', arguments: { path: 'out/two.txt' } }] },
            { tool_calls: [{ name: 'exec', arguments: { command: 'exit 3' } }, { name: 'exec', arguments: { command: 'pwd' } }] },
            { tool_calls: [FINISH, { name: 'exec', arguments: { command: 'rm -rf out' } }] },
          ],
        },
      },
    });
    const rec = await trial(helloTask(), server);
    assert.equal(rec.result.reward, 1, JSON.stringify(rec.result.agentOutcome));
    const obs = rec.trajectory!.steps.filter((s) => s.source === 'agent').map((s) => (s.observation?.results ?? []).map((o) => String(o.content)));
    assert.match(obs[1]![0]!, /^exit code 0\n\/root\/.openclaw\/workspace\/out|^exit code 0\n\/.*\/out\n\[\]/);
    assert.match(obs[1]![0]!, /\n\[\]/, 'a variable that was not exported does not carry over');
    assert.match(obs[2]![0]!, /old_string was not found/);
    assert.match(obs[3]![1]!, /occurs 2 times/);
    assert.match(obs[4]![0]!, /replaced 2 occurrences/);
    assert.match(obs[4]![1]!, /^b b/);
    assert.match(obs[5]![0]!, /^exit code 3/);
    assert.match(obs[5]![1]!, /\/out/, 'exit keeps the state too');
    assert.equal(obs[6]![1], 'not run: finish was called before this call');
  });

  test('cancellation stops a model call in flight promptly and leaves no container', async (t) => {
    assertDocker(t);
    const server = await serve({ tasks: { hello: { replies: [{ content: 'zzz', fault: { kind: 'slow', times: 1, delay_ms: 60_000 } }] } } });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 1500);
    const rec = await trial(helloTask(), server, {}, { signal: controller.signal });
    assert.equal(rec.result.status, 'cancelled');
    assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
  });

  test('the wall-time limit ends a run as a timeout', async (t) => {
    assertDocker(t);
    const server = await serve({ tasks: { hello: { replies: [{ tool_calls: [{ name: 'exec', arguments: { command: 'sleep 30' } }] }] } } });
    const rec = await trial(helloTask(), server, {}, { timeoutMs: 1500 });
    assert.equal(rec.result.agentOutcome?.status, 'timeout');
    assert.match(rec.result.agentOutcome?.error ?? '', /did not finish within 1.5 s/);
  });

  test('the API key reaches no run output, log, trajectory or container environment', async (t) => {
    assertDocker(t);
    const key = `sk-clawgym-secret-${randomBytes(12).toString('hex')}`;
    const server = await serve({
      tasks: {
        hello: {
          replies: [
            { tool_calls: [{ name: 'exec', arguments: { command: 'env; cat /proc/1/environ | tr "\\0" "\\n"; ls -la /' } }] },
            { tool_calls: [WRITE_HELLO] },
            { tool_calls: [FINISH] },
          ],
        },
      },
    });
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-agent-key-'));
    const inspected: string[] = [];
    const b = backend();
    const summary = await runJob({
      tasks: [helloTask()],
      agent: createBuiltinAgent({ model: { baseUrl: server.url, model: 'scripted', apiKey: key }, sendTaskHeader: true }),
      backend: b,
      image: TEST_IMAGE,
      runsDir,
      runId: RUN,
      onEvent: (e) => {
        // While the agent works, look at the live container from outside.
        if (e.type === 'phase' && e.phase === 'agent') {
          for (const id of containersOf(RUN)) inspected.push(execFileSync('docker', ['inspect', id], { encoding: 'utf8' }));
        }
      },
      meta: { note: 'key test' },
    });
    assert.equal(summary.results[0]!.reward, 1);
    assert.ok(inspected.length > 0, 'the container was inspected while the agent ran');
    const everything = [...inspected];
    const walk = (dir: string): void => {
      for (const name of fs.readdirSync(dir)) {
        const p = join(dir, name);
        if (fs.statSync(p).isDirectory()) walk(p);
        else everything.push(fs.readFileSync(p, 'utf8'));
      }
    };
    walk(summary.runDir!);
    assert.ok(everything.length > 10);
    assert.ok(everything.some((text) => text.includes('HOSTNAME=')), 'the env dump is in the outputs we searched');
    for (const text of everything) assert.ok(!text.includes(key), 'the key leaked');
  });
});

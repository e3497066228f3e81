/**
 * When the sandbox's engine dies or freezes mid-run (a SandboxError of kind `unavailable`), the
 * agent stops at the first such error instead of feeding "engine not reachable" to the model,
 * and the trial ends as `error` with the cause (issue 9, point 6). Fake sandboxes; the scripted
 * model server over HTTP.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBuiltinAgent } from '../src/agent/builtin';
import { commandAgent } from '../src/agent/blackbox';
import { startModelServer, type ModelServer } from '../src/modelserver';
import { runTrial } from '../src/run/trial';
import { SandboxError, type Command, type SandboxBackend } from '../src/sandbox/types';
import { FakeSandbox } from './fakeSandbox';
import { helloResolvedTask } from './util';

const servers: ModelServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

/** A backend whose one sandbox answers `ok` execs until `failAfter`, then throws `unavailable`. */
function dyingBackend(failAfter: number): { backend: SandboxBackend; sandbox: FakeSandbox } {
  let n = 0;
  const sandbox = new FakeSandbox('/workspace', [], (_command: Command) => {
    if (++n > failAfter) throw new SandboxError('unavailable', 'the Docker engine is not reachable (connect ENOENT /var/run/docker.sock)');
    return { exitCode: 0, stdout: 'fine\n' };
  });
  const backend: SandboxBackend = { name: 'local', isolation: 'none', describe: () => 'fake', create: async () => sandbox };
  return { backend, sandbox };
}

const EXEC = (command: string) => ({ tool_calls: [{ name: 'exec', arguments: { command } }] });

describe('an unavailable engine stops the agent', () => {
  test('built-in agent: the first `unavailable` from a tool ends the run; the trial is `error` with the cause, the model is not called again', async () => {
    const server = await startModelServer({ script: { tasks: { dying: { replies: [EXEC('ls'), EXEC('cat a'), EXEC('cat b'), EXEC('cat c'), { tool_calls: [{ name: 'finish', arguments: { message: 'done' } }] }] } } } });
    servers.push(server);
    // The shell's state folder and the first command work; the engine dies at the second command.
    const { backend, sandbox } = dyingBackend(2);
    const record = await runTrial({
      task: helloResolvedTask('dying'),
      backend,
      agent: createBuiltinAgent({ model: { baseUrl: server.url, model: 'scripted', apiKey: 'no-key' }, sendTaskHeader: true }),
      runId: 'run',
      trialId: 'dying-1',
      image: 'fake',
    });
    const r = record.result;
    assert.equal(r.status, 'error', JSON.stringify(r));
    assert.equal(r.error?.phase, 'agent');
    assert.match(r.error?.message ?? '', /engine failed during step 2 \(exec\); the agent was stopped: the Docker engine is not reachable/);
    assert.equal(server.requests.length, 2, 'no model call after the engine failed');
    assert.equal(sandbox.execs.length, 3, 'no tool call after the engine failed');
    assert.equal(r.verifier, undefined, 'nothing was graded');
    assert.equal(sandbox.disposed, true);
  });

  test('built-in agent: an engine that is gone from the first tool call on: one model call, then `error`', async () => {
    const server = await startModelServer({ script: { tasks: { gone: { replies: [EXEC('ls'), EXEC('ls')] } } } });
    servers.push(server);
    const { backend, sandbox } = dyingBackend(0);
    const record = await runTrial({
      task: helloResolvedTask('gone'),
      backend,
      agent: createBuiltinAgent({ model: { baseUrl: server.url, model: 'scripted', apiKey: 'no-key' }, sendTaskHeader: true }),
      runId: 'run',
      trialId: 'gone-1',
      image: 'fake',
    });
    assert.equal(record.result.status, 'error');
    assert.match(record.result.error?.message ?? '', /not reachable/);
    assert.equal(server.requests.length, 1);
    assert.equal(sandbox.execs.length, 1);
  });

  test('black-box agent: `unavailable` from the sandbox ends the run as `error` too', async () => {
    const { backend } = dyingBackend(0);
    const record = await runTrial({
      task: helloResolvedTask('blackbox'),
      backend,
      agent: commandAgent({ baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'no-key', model: 'm' }, 'echo hi'),
      runId: 'run',
      trialId: 'blackbox-1',
      image: 'fake',
    });
    assert.equal(record.result.status, 'error');
    assert.equal(record.result.error?.phase, 'agent');
    assert.match(record.result.error?.message ?? '', /not reachable/);
  });
});

/**
 * Hostile suite, the engine (issue 9, point 6): a Docker engine that freezes or dies in the middle
 * of a trial. The real engine is reached through a unix-socket relay the test controls: frozen,
 * it stops passing bytes; killed, it drops every connection and refuses new ones. The trial must
 * end as an `error` naming the engine, soon, and nothing may be left on the real engine.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { oracleAgent } from '../src/run/agents';
import { newRunId } from '../src/run/job';
import { runTrial } from '../src/run/trial';
import { createDockerBackend } from '../src/sandbox/docker';
import { SandboxError } from '../src/sandbox/types';
import { assertDocker, containersOf, needsDocker, TEST_IMAGE } from './docker';
import { helloResolvedTask } from './util';

/** A relay from a socket of ours to the engine's, which can be frozen or killed. */
function relay(): { socketPath: string; freeze(): void; kill(): void; close(): void } {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-relay-'));
  const socketPath = join(dir, 'docker.sock');
  const pairs = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((client) => {
    pairs.add(client);
    if (frozen) return; // accepted and never answered
    const engine = net.connect('/var/run/docker.sock');
    pairs.add(client).add(engine);
    const pass = (from: net.Socket, to: net.Socket) =>
      from.on('data', (d) => {
        if (!frozen) to.write(d);
      });
    pass(client, engine);
    pass(engine, client);
    const end = () => {
      client.destroy();
      engine.destroy();
    };
    client.on('close', end).on('error', end);
    engine.on('close', end).on('error', end);
  });
  server.listen(socketPath);
  return {
    socketPath,
    freeze: () => {
      frozen = true;
    },
    kill: () => {
      server.close();
      for (const s of pairs) s.destroy();
    },
    close: () => {
      server.close();
      for (const s of pairs) s.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function removeLeftovers(runId: string): void {
  for (const id of containersOf(runId)) void new Docker().getContainer(id).remove({ force: true }).catch(() => undefined);
}

describe('an engine that freezes or dies mid-trial', needsDocker(), () => {
  for (const how of ['freezes', 'dies'] as const) {
    test(`the engine ${how} during the agent phase: the trial is an error naming the engine`, async () => {
      assertDocker();
      const r = relay();
      const runId = newRunId();
      try {
        const backend = createDockerBackend({ docker: new Docker({ socketPath: r.socketPath }), callTimeoutMs: 2_000 });
        const task = helloResolvedTask('engine', { solution: { script: 'sleep 1.5; cp input.txt out.txt', origin: 'inline' } });
        const started = Date.now();
        const rec = await runTrial({
          task,
          backend,
          agent: oracleAgent,
          runId,
          trialId: 't',
          image: TEST_IMAGE,
          agentTimeoutMs: 4_000,
          onEvent: (e) => {
            if (e.type === 'phase' && e.phase === 'agent') setTimeout(() => (how === 'freezes' ? r.freeze() : r.kill()), 300);
          },
        });
        const took = Date.now() - started;
        assert.equal(rec.result.status, 'error', JSON.stringify(rec.result));
        assert.match(rec.result.error?.message ?? '', /Docker engine/);
        assert.ok(took < 20_000, `ended after ${took} ms`);
      } finally {
        r.close();
        removeLeftovers(runId);
      }
    });
  }

  test('a frozen engine: creating a sandbox ends at the request deadline', async () => {
    assertDocker();
    const r = relay();
    try {
      r.freeze();
      const backend = createDockerBackend({ docker: new Docker({ socketPath: r.socketPath }), callTimeoutMs: 1_000 });
      const t0 = Date.now();
      await assert.rejects(
        backend.create({ image: TEST_IMAGE, workdir: '/workspace', runId: newRunId(), trialId: 'x' }, []),
        (e: unknown) => e instanceof SandboxError && e.kind === 'unavailable' && /did not answer/.test(e.message),
      );
      assert.ok(Date.now() - t0 < 5_000);
    } finally {
      r.close();
    }
  });
});

/**
 * Hostile suite, bounds (issue 9, point 5): what an agent or a model server sends cannot grow a
 * trial's records or the process's memory without bound.
 *
 * - A model server whose reply stream never ends: the built-in agent stops reading each reply at
 *   its byte cap and aborts the request, the trial ends, events.jsonl, trajectory.json and
 *   agent.log stay under their caps, the result says what was cut, and memory stays flat.
 * - A command printing 1 GB in the sandbox: the observation and the event log stay under their
 *   caps (the sandbox already keeps 1 MiB and kills at 64 MiB).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { createBuiltinAgent } from '../src/agent/builtin';
import { startModelServer } from '../src/modelserver';
import { runJob, type JobTrialResult } from '../src/run/job';
import { createDockerBackend } from '../src/sandbox/docker';
import { validateTrajectory } from '../src/trajectory/atif';
import { assertDocker, containersOf, needsDocker, TEST_IMAGE } from './docker';
import { startHostileServer, type HostileServer } from './hostileServer';
import { helloResolvedTask } from './util';

const RUN = `test-hostile-bounds-${process.pid}-${randomBytes(3).toString('hex')}`;
const KiB = 1024;
const MiB = 1024 * KiB;

const servers: { close(): Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

/** The process's resident memory, sampled while `body` runs: the peak growth over the start. */
async function peakRss<T>(body: () => Promise<T>): Promise<{ value: T; growth: number }> {
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  try {
    const value = await body();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

const size = (p: string): number => fs.statSync(p).size;

describe('hostile: bounds', needsDocker(), () => {
  after(() => assert.deepEqual(containersOf(RUN), [], 'containers were left behind'));

  test('an endless model stream: each reply is cut at its cap and the request aborted, the trial ends, every file stays under its cap, memory stays flat', async (t) => {
    assertDocker(t);
    const server: HostileServer = await startHostileServer('endless');
    servers.push(server);
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-hostile-bounds-'));
    const caps = { maxReplyBytes: 256 * KiB, maxTrajectoryBytes: 192 * KiB, maxEventBytes: 384 * KiB };
    const started = Date.now();
    const { value: summary, growth } = await peakRss(() =>
      runJob({
        tasks: [helloResolvedTask('endless')],
        agent: createBuiltinAgent({ model: { baseUrl: server.url, model: 'endless', apiKey: 'no-key' }, maxSteps: 3, ...caps }),
        backend: createDockerBackend(),
        image: TEST_IMAGE,
        runsDir,
        runId: `${RUN}-endless`,
        maxEventBytes: caps.maxEventBytes,
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const r = summary.results[0] as JobTrialResult;
    const trialDir = join(summary.runDir!, 'trials', r.trialId);
    const files = {
      events: size(join(summary.runDir!, 'events.jsonl')),
      trajectory: size(join(trialDir, 'trajectory.json')),
      agentLog: size(join(trialDir, 'logs', 'agent.log')),
      result: size(join(trialDir, 'result.json')),
    };
    t.diagnostic(`endless stream: ${seconds.toFixed(1)} s, server wrote ${(server.streamedBytes / MiB).toFixed(1)} MiB; events.jsonl ${files.events} B, trajectory.json ${files.trajectory} B, agent.log ${files.agentLog} B; rss growth ${(growth / MiB).toFixed(1)} MiB`);

    // The trial ended on its own: three steps, each reply cut at the byte cap.
    assert.equal(r.status, 'failed');
    assert.equal(r.agentOutcome?.status, 'failed');
    assert.match(r.agentOutcome?.error ?? '', /step limit \(3\)/);
    assert.equal(server.requests.length, 3, 'one request a step; no retries of a cut reply');
    const cuts = r.truncated ?? [];
    assert.equal(cuts.filter((c) => c.what === 'reply' && c.unit === 'bytes' && c.limit === caps.maxReplyBytes).length, 3, JSON.stringify(cuts));
    assert.ok(cuts.some((c) => c.what === 'trajectory'), 'the trajectory cap fired and is recorded');
    assert.ok(cuts.some((c) => c.what === 'events' && (c.events ?? 0) > 0), 'the event cap fired and is recorded');
    // The reads stopped at the cap: the server wrote little more than three caps' worth of SSE.
    assert.ok(server.streamedBytes < 3 * 64 * caps.maxReplyBytes, `the server wrote ${server.streamedBytes} bytes`);

    // Every file under its cap (plus the lines that are always written: run and trial start/end).
    assert.ok(files.events < caps.maxEventBytes + 64 * KiB, `events.jsonl is ${files.events} bytes`);
    assert.ok(files.trajectory < caps.maxTrajectoryBytes + 16 * KiB, `trajectory.json is ${files.trajectory} bytes`);
    assert.ok(files.agentLog < 4 * MiB + 4 * KiB, `agent.log is ${files.agentLog} bytes`);
    const trajectory = JSON.parse(fs.readFileSync(join(trialDir, 'trajectory.json'), 'utf8'));
    assert.deepEqual(validateTrajectory(trajectory), []);
    assert.ok(trajectory.extra.trajectory_cap.steps.length > 0);
    const agentSteps = trajectory.steps.filter((s: { source: string }) => s.source === 'agent');
    assert.equal(agentSteps.length, 3);
    for (const s of agentSteps) assert.deepEqual(s.extra.truncated, { what: 'reply', limit: caps.maxReplyBytes, unit: 'bytes' });
    assert.match(agentSteps[0].message, /the reply was cut here: over the cap of 262144 bytes/);
    const events = fs.readFileSync(join(summary.runDir!, 'events.jsonl'), 'utf8');
    assert.match(events, /this trial's events reached their cap of 393216 bytes/);
    // Memory: the replies are capped, so the process holds a few MiB, not the stream.
    assert.ok(growth < 150 * MiB, `rss grew ${(growth / MiB).toFixed(1)} MiB`);
  });

  test('1 GB on stdout in a sandbox exec: the observation is cut at its cap and the event log stays under its cap', async (t) => {
    assertDocker(t);
    const server = await startModelServer({
      script: {
        tasks: {
          flood: {
            replies: [{ tool_calls: [{ name: 'exec', arguments: { command: "head -c 1073741824 /dev/zero | tr '\\0' a; echo" } }] }, { tool_calls: [{ name: 'finish', arguments: { message: 'done' } }] }],
          },
        },
      },
    });
    servers.push(server);
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-hostile-flood-'));
    const maxEventBytes = 1 * MiB;
    const { value: summary, growth } = await peakRss(() =>
      runJob({
        tasks: [helloResolvedTask('flood')],
        agent: createBuiltinAgent({ model: { baseUrl: server.url, model: 'scripted', apiKey: 'no-key' }, sendTaskHeader: true, maxObservationChars: 4000 }),
        backend: createDockerBackend(),
        image: TEST_IMAGE,
        runsDir,
        runId: `${RUN}-flood`,
        maxEventBytes,
      }),
    );
    const r = summary.results[0] as JobTrialResult;
    const events = size(join(summary.runDir!, 'events.jsonl'));
    t.diagnostic(`1 GB stdout: events.jsonl ${events} B (cap ${maxEventBytes}); rss growth ${(growth / MiB).toFixed(1)} MiB`);
    assert.equal(r.agentOutcome?.status, 'completed', r.agentOutcome?.error);
    assert.ok(events < maxEventBytes + 64 * KiB, `events.jsonl is ${events} bytes`);
    const cuts = r.truncated ?? [];
    assert.ok(cuts.some((c) => c.what === 'events'), JSON.stringify(cuts));
    assert.ok(cuts.some((c) => c.what === 'observation' && c.limit === 4000), JSON.stringify(cuts));
    const trajectory = JSON.parse(fs.readFileSync(join(summary.runDir!, 'trials', r.trialId, 'trajectory.json'), 'utf8'));
    const observation = trajectory.steps.find((s: { observation?: unknown }) => s.observation).observation.results[0];
    assert.ok(observation.content.length < 4200, `the observation is ${observation.content.length} characters`);
    assert.match(observation.content, /characters cut/);
    assert.equal(observation.extra.truncated.what, 'observation');
  });
});

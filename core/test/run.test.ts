/**
 * The runner: workspace diff (unit), and trials on the real engine: pass/fail, the run folder,
 * setup failures, agent timeouts, cancellation and a missing image — each leaving no container.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { diffWorkspace, unifiedHunks } from '../src/run/diff';
import { nopAgent, oracleAgent } from '../src/run/agents';
import { newRunId, runJob } from '../src/run/job';
import { runTrial } from '../src/run/trial';
import type { ResolvedTask } from '../src/run/types';
import { createDockerBackend } from '../src/sandbox/docker';
import { assertDocker, containersOf, needsDocker, TEST_IMAGE } from './docker';
import { helloResolvedTask } from './util';

describe('workspace diff', () => {
  test('unified hunks with context, additions and deletions', () => {
    const a = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
    const b = ['one', 'two', 'THREE', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven'];
    const d = unifiedHunks(a, b);
    assert.equal(d, '@@ -1,6 +1,6 @@\n one\n two\n-three\n+THREE\n four\n five\n six\n@@ -8,3 +8,4 @@\n eight\n nine\n ten\n+eleven\n');
    assert.equal(unifiedHunks(a, a), '');
    assert.equal(unifiedHunks([], ['x']), '@@ -0,0 +1,1 @@\n+x\n');
  });

  test('added, removed, modified, binary and symlinks', () => {
    const root = '/ws';
    const f = (path: string, text: string) => ({ path: `${root}/${path}`, content: Buffer.from(text) });
    const initial = [f('keep.txt', 'same\n'), f('edit.txt', 'a\nb\n'), f('gone.txt', 'bye\n'), { path: `${root}/dir`, content: Buffer.alloc(0), type: 'directory' as const }];
    const e = (path: string, text: string) => ({ path, type: 'file' as const, mode: 0o644, size: Buffer.byteLength(text), content: Buffer.from(text) });
    const snapshot = [
      e('keep.txt', 'same\n'),
      e('edit.txt', 'a\nB\n'),
      e('new.txt', 'hello'),
      { path: 'bin.dat', type: 'file' as const, mode: 0o644, size: 3, content: Buffer.from([0, 1, 2]) },
      { path: 'link', type: 'symlink' as const, mode: 0o777, size: 0, linkTarget: '/etc/passwd' },
      { path: 'dir', type: 'directory' as const, mode: 0o755, size: 0 },
    ];
    const d = diffWorkspace(initial, root, snapshot);
    assert.deepEqual(
      d.changes.map((c) => `${c.change} ${c.path}`),
      ['added bin.dat', 'modified edit.txt', 'removed gone.txt', 'added link', 'added new.txt'],
    );
    assert.match(d.unified, /--- a\/edit.txt\n\+\+\+ b\/edit.txt\n@@ -1,2 \+1,2 @@\n a\n-b\n\+B\n/);
    assert.match(d.unified, /\+hello\n\\ No newline at end of file/);
    assert.match(d.unified, /bin.dat\n@@ not a text diff: absent -> 3 bytes @@/);
    assert.match(d.unified, /symlink -> \/etc\/passwd/);
  });
});

function task(overrides: Partial<ResolvedTask> = {}): ResolvedTask {
  return helloResolvedTask('runner-test', overrides);
}


describe('trials on the real engine', needsDocker(), () => {
  const backend = createDockerBackend();

  test('oracle passes, nop fails; the run folder has every part', async () => {
    assertDocker();
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-runs-'));
    try {
      const runId = newRunId();
      const oracle = await runJob({ tasks: [task()], agent: oracleAgent, backend, image: TEST_IMAGE, runsDir, runId });
      assert.equal(oracle.passed, 1, JSON.stringify(oracle.results[0]));
      const r = oracle.results[0];
      assert.equal(r.reward, 1);
      assert.deepEqual(r.changes.map((c) => `${c.change} ${c.path}`), ['added out.txt']);
      const dir = join(runsDir, runId);
      for (const f of ['config.json', 'result.json', 'events.jsonl', 'trials/runner-test/config.json', 'trials/runner-test/result.json', 'trials/runner-test/verifier/report.json', 'trials/runner-test/verifier/ctrf.json', 'trials/runner-test/workspace.diff', 'trials/runner-test/logs/agent.log', 'trials/runner-test/transcript.json']) {
        assert.ok(fs.existsSync(join(dir, f)), `missing ${f}`);
      }
      assert.match(fs.readFileSync(join(dir, 'trials/runner-test/workspace.diff'), 'utf8'), /\+\+\+ b\/out.txt\n@@ -0,0 \+1,1 @@\n\+hello/);
      assert.match(fs.readFileSync(join(dir, 'trials/runner-test/logs/agent.log'), 'utf8'), /done/);
      const summary = JSON.parse(fs.readFileSync(join(dir, 'result.json'), 'utf8'));
      assert.equal(summary.complete, true);
      assert.equal(summary.passed, 1);
      const ctrf = JSON.parse(fs.readFileSync(join(dir, 'trials/runner-test/verifier/ctrf.json'), 'utf8'));
      assert.equal(ctrf.results.summary.passed, 1);
      const events = fs.readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).type);
      assert.deepEqual([events[0], events[1], events.at(-2), events.at(-1)], ['run-start', 'trial-start', 'trial-end', 'run-end']);

      const nop = await runJob({ tasks: [task()], agent: nopAgent, backend, image: TEST_IMAGE });
      assert.equal(nop.results[0].status, 'failed');
      assert.equal(nop.results[0].reward, 0);
      assert.deepEqual(containersOf(runId), []);
    } finally {
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
  });

  test('a failing setup command is an error in phase setup, with its message', async () => {
    assertDocker();
    const runId = newRunId();
    const rec = await runTrial({ task: task({ setup: ['mkdir -p output', 'echo broken >&2; exit 3'] }), backend, agent: oracleAgent, runId, trialId: 't', image: TEST_IMAGE });
    assert.equal(rec.result.status, 'error');
    assert.equal(rec.result.error?.phase, 'setup');
    assert.match(rec.result.error!.message, /exited with code 3: echo broken.*\(broken\)/);
    assert.deepEqual(containersOf(runId), []);
  });

  test('an agent over its time limit is stopped, and the workspace is still graded', async () => {
    assertDocker();
    const runId = newRunId();
    const started = Date.now();
    const rec = await runTrial({ task: task({ solution: { script: 'cp input.txt out.txt; sleep 600', origin: 'inline' } }), backend, agent: oracleAgent, runId, trialId: 't', image: TEST_IMAGE, agentTimeoutMs: 1500 });
    assert.ok(Date.now() - started < 20_000, 'took too long');
    assert.equal(rec.result.agentOutcome?.status, 'timeout');
    assert.equal(rec.result.status, 'passed', 'the file was written before the timeout, so the check passes');
    assert.deepEqual(containersOf(runId), []);
  });

  test('cancelling mid-agent: status cancelled, sandbox removed promptly', async () => {
    assertDocker();
    const runId = newRunId();
    const controller = new AbortController();
    const pending = runTrial({
      task: task({ solution: { script: 'sleep 600', origin: 'inline' } }),
      backend,
      agent: oracleAgent,
      runId,
      trialId: 't',
      image: TEST_IMAGE,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'phase' && e.phase === 'agent') setTimeout(() => controller.abort(), 300);
      },
    });
    const rec = await pending;
    assert.equal(rec.result.status, 'cancelled');
    assert.deepEqual(containersOf(runId), []);
  });

  test('a missing image is a clear sandbox error', async () => {
    assertDocker();
    const rec = await runTrial({ task: task(), backend, agent: nopAgent, runId: newRunId(), trialId: 't', image: 'clawgym/does-not-exist:never' });
    assert.equal(rec.result.status, 'error');
    assert.equal(rec.result.error?.phase, 'sandbox');
    assert.match(rec.result.error!.message, /clawgym image build|does not exist|No such image/i);
  });

  test('oracle without a solution says so and creates nothing', async () => {
    const rec = await runTrial({ task: task({ solution: undefined }), backend, agent: oracleAgent, runId: newRunId(), trialId: 't', image: TEST_IMAGE });
    assert.equal(rec.result.status, 'error');
    assert.match(rec.result.error!.message, /has no reference solution/);
    assert.equal(rec.result.sandbox, undefined);
  });
});

/**
 * Acceptance: every task of our own in test-fixtures/tasks/ (both forms) scores exactly 1 with the
 * oracle and exactly 0 with nop, on the real Docker engine, through the same runJob the CLI uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { findTasks } from '../src/clawgym/find';
import { nopAgent, oracleAgent } from '../src/run/agents';
import { runJob } from '../src/run/job';
import { loadTask } from '../src/run/load';
import type { ResolvedTask } from '../src/run/types';
import { createDockerBackend } from '../src/sandbox/docker';
import { assertDocker, needsDocker, TEST_IMAGE } from './docker';
import { fixturesDir } from './util';

const tasksDir = join(fixturesDir, 'tasks');

function loadAll(): ResolvedTask[] {
  const found = findTasks([tasksDir]);
  return found.tasks.map((entry) => {
    const r = loadTask(entry);
    assert.ok(r.task, `${entry.path} does not load: ${r.error}`);
    return r.task;
  });
}

test('the runnable fixtures: at least 12 tasks, both forms, each with a solution', () => {
  const tasks = loadAll();
  assert.ok(tasks.length >= 12, `only ${tasks.length} tasks`);
  assert.ok(tasks.filter((t) => t.source.kind === 'clawgym').length >= 4, 'too few ClawGym-folder tasks');
  assert.ok(tasks.filter((t) => t.source.kind === 'clawtask').length >= 8, 'too few .clawtask tasks');
  for (const t of tasks) assert.ok(t.solution, `${t.id} has no solution`);
});

test('oracle = 1 and nop = 0 for every fixture task on the real engine', needsDocker(), async () => {
  assertDocker();
  const tasks = loadAll();
  const backend = createDockerBackend();
  for (const [agent, expected] of [[oracleAgent, 1], [nopAgent, 0]] as const) {
    const summary = await runJob({ tasks, agent, backend, image: TEST_IMAGE, concurrency: 2 });
    const wrong = summary.results
      .filter((r) => r.status === 'error' || r.verifierErrors > 0 || Math.abs(r.reward - expected) > 1e-9)
      .map((r) => `${r.trialId}: ${r.status} reward ${r.reward}${r.error ? ` (${r.error.phase}: ${r.error.message})` : ''} ${r.checks.filter((c) => (expected === 1 ? !c.passed : c.score > 0)).map((c) => `${c.id}: ${c.error?.message ?? c.message}`).join('; ')}`);
    assert.deepEqual(wrong, [], `${agent.name} should score ${expected} on every task`);
    assert.equal(summary.trials, tasks.length);
  }
});

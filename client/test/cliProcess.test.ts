/**
 * The extension's side of running tasks, against the real CLI (dist/cli.js, as `npm run build`
 * makes it) and the real Docker engine: the JSON-line stream read by client/src/cliProcess.ts and
 * turned into outcomes and check locations by client/src/runProtocol.ts, exactly as the editor
 * does, minus the UI. Cancellation is proved by what is left on the engine: nothing.
 *
 * The stop ladder (second SIGINT, then SIGKILL) is tested on a stand-in script that ignores SIGINT.
 * CLAWGYM_TEST_CLI=path runs another build of the CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDocker, containersOf, needsDocker, TEST_IMAGE } from '../../core/test/docker';
import { startCli } from '../src/cliProcess';
import { checkLocator, cliArgs, runOutcome, RunTracker, validateOutcome, type CliEvent, type CliRequest } from '../src/runProtocol';
import { repoRoot } from './util';

const CLI = process.env.CLAWGYM_TEST_CLI || join(repoRoot, 'dist', 'cli.js');

const TASK = `version: 1
id: greet-file
title: Write a greeting
intent: |
  Write "hello" on the first line of out/greeting.txt.
workspace:
  files:
    notes.txt: |
      nothing to see
verifier:
  checks:
    - id: greeting-exists
      file_exists: out/greeting.txt
    - id: greeting-says-hello
      file_matches: { path: out/greeting.txt, pattern: '^hello' }
solution:
  script: |
    mkdir -p out && echo hello > out/greeting.txt
`;

/** The agent works for a minute: long enough to be cancelled mid-run. */
const SLOW_TASK = TASK.replace('id: greet-file', 'id: greet-slowly').replace('mkdir -p out && echo hello > out/greeting.txt', 'sleep 60');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawgym-cli-process-'));
  writeFileSync(join(dir, 'greet.clawtask'), TASK);
  writeFileSync(join(dir, 'slow.clawtask'), SLOW_TASK);
  writeFileSync(join(dir, 'broken.clawtask'), 'version: 1\nid: broken\nverifier: {}\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cliMissing(): string | undefined {
  return existsSync(CLI) ? undefined : `${CLI} does not exist: run \`npm run build\` first`;
}

interface Ran {
  tracker: RunTracker;
  events: CliEvent[];
  end: Awaited<ReturnType<typeof startCli>['done']>;
}

async function runCli(args: string[], onEvent?: (e: CliEvent, cancel: () => void) => void): Promise<Ran> {
  assert.equal(cliMissing(), undefined);
  const tracker = new RunTracker();
  const events: CliEvent[] = [];
  const proc = startCli({
    cli: CLI,
    args,
    cwd: dir,
    onEvent: (e) => {
      events.push(e);
      tracker.apply(e);
      onEvent?.(e, () => proc.cancel());
    },
    onStray: (line) => tracker.strayLines.push(line),
  });
  const end = await proc.done;
  return { tracker, events, end };
}

const request = (task: string, more: Partial<CliRequest>): CliRequest => ({
  command: 'run',
  task: join(dir, task),
  backend: 'docker',
  runsDir: join(dir, 'runs'),
  image: TEST_IMAGE,
  ...more,
});


test('nop on a real task: reward 0, a finding per failed check, each placed on its id line', needsDocker(), async () => {
  assertDocker();
  const { tracker, events, end } = await runCli(cliArgs(request('greet.clawtask', { agent: 'nop' })));
  assert.deepEqual(tracker.strayLines, [], 'stdout carries events only');
  assert.equal(end.code, 1, end.stderr);
  assert.deepEqual(
    [...new Set(events.map((e) => e.type))],
    ['run-start', 'trial-start', 'phase', 'trajectory', 'trial-end', 'run-end'],
  );
  const o = runOutcome(tracker, end);
  assert.equal(o.kind, 'failed');
  assert.equal(o.message, 'greet-file failed with nop: reward 0.000 (checks 0/2; failed: greeting-exists, greeting-says-hello)');
  assert.ok(o.folder && existsSync(join(o.folder, 'result.json')), `trial folder ${o.folder}`);
  const locate = checkLocator(TASK);
  const lines = o.findings.map((f) => {
    const span = locate(f.checkId, f.kind);
    return TASK.slice(span.start, span.end);
  });
  assert.deepEqual(lines, ['id: greeting-exists', 'id: greeting-says-hello']);
  assert.match(o.findings[0].message, /out\/greeting\.txt/);
  const runId = tracker.runs[0].runId;
  assert.deepEqual(containersOf(runId), []);
});

test('the oracle scores 1, and `check` (Validate) says oracle 1.000, nop 0.000: OK', needsDocker(), async () => {
  assertDocker();
  const run = await runCli(cliArgs(request('greet.clawtask', { agent: 'oracle' })));
  const o = runOutcome(run.tracker, run.end);
  assert.equal(o.kind, 'passed', `${o.message}\n${run.end.stderr}`);
  assert.equal(o.message, 'greet-file passed with oracle: reward 1.000 (checks 2/2)');
  assert.equal(run.end.code, 0);

  const check = await runCli(cliArgs(request('greet.clawtask', { command: 'check' })));
  const v = validateOutcome(check.tracker, check.end);
  assert.equal(v.kind, 'passed', `${v.message}\n${check.end.stderr}`);
  assert.equal(v.message, 'greet-file: oracle 1.000, nop 0.000: OK');
  assert.deepEqual(check.tracker.runs.map((r) => r.agent), ['oracle', 'nop']);
});

test('cancel while the agent works: exit 130, a cancelled outcome, no container left', needsDocker(), async () => {
  assertDocker();
  let cancelledAt = 0;
  const { tracker, end } = await runCli(cliArgs(request('slow.clawtask', { agent: 'oracle' })), (e, cancel) => {
    if (e.type === 'phase' && e.phase === 'agent' && !cancelledAt) {
      cancelledAt = Date.now();
      cancel();
    }
  });
  const took = Date.now() - cancelledAt;
  assert.ok(cancelledAt, 'the agent phase never started');
  assert.equal(end.code, 130, end.stderr);
  assert.equal(end.cancelRequested, true);
  // The CLI removes the sandbox itself; the stop ladder (5 s) must not have been needed.
  assert.ok(took < 5_000, `took ${took} ms to stop`);
  const o = runOutcome(tracker, end);
  assert.equal(o.kind, 'cancelled');
  assert.equal(tracker.results[0]?.result.status, 'cancelled');
  assert.deepEqual(containersOf(tracker.runs[0].runId), []);
});

test('a refused command (exit 2) and a task that cannot load (exit 1) come back with what the CLI said', async () => {
  const usage = await runCli(['run', join(dir, 'greet.clawtask'), '--json', '--backend', 'kubernetes']);
  assert.equal(usage.end.code, 2);
  const u = runOutcome(usage.tracker, usage.end);
  assert.equal(u.kind, 'error');
  assert.match(u.message, /refused the command \(exit 2\): unknown backend `kubernetes`/);

  const broken = await runCli(cliArgs(request('broken.clawtask', { agent: 'nop', backend: 'local' })));
  assert.equal(broken.end.code, 1, broken.end.stderr);
  const b = runOutcome(broken.tracker, broken.end);
  assert.equal(b.kind, 'error');
  assert.match(b.message, /^the run did not start: cannot run broken\.clawtask/);
  assert.match(b.detail ?? '', /intent/, 'the task\'s errors are in the detail');
});

test('the stop ladder: a process ignoring SIGINT gets a second SIGINT, then SIGKILL', async () => {
  const script = join(dir, 'stubborn.js');
  const log = join(dir, 'stubborn.log');
  writeFileSync(
    script,
    `const fs = require('fs');
     process.on('SIGINT', () => fs.appendFileSync(${JSON.stringify(log)}, 'INT\\n'));
     console.log(JSON.stringify({ type: 'run-start', runId: 'x', agent: 'nop', backend: 'local', isolation: 'none', tasks: 1, trials: 1, concurrency: 1 }));
     setInterval(() => {}, 1000);`,
  );
  const notices: string[] = [];
  let started!: () => void;
  const ready = new Promise<void>((r) => (started = r));
  const proc = startCli({ cli: script, args: [], cwd: dir, onEvent: () => started(), onNotice: (level, text) => notices.push(`${level}: ${text}`), secondSigintMs: 300, killAfterMs: 900 });
  await ready;
  const t0 = Date.now();
  proc.cancel();
  proc.cancel(); // idempotent: one ladder
  const end = await proc.done;
  const took = Date.now() - t0;
  assert.equal(end.signal, 'SIGKILL');
  assert.equal(end.cancelRequested, true);
  assert.ok(took >= 900 && took < 5_000, `killed after ${took} ms`);
  assert.equal(readFileSync(log, 'utf8'), 'INT\nINT\n');
  assert.equal(notices.length, 3, notices.join('\n'));
  assert.match(notices[2], /^error: .*killing it/);
  assert.equal(runOutcome(new RunTracker(), end).kind, 'cancelled');
});

test('a Node that cannot start is a spawn error, not a hang', async () => {
  const proc = startCli({ cli: CLI, args: ['help'], cwd: dir, execPath: join(dir, 'no-such-node'), onEvent: () => undefined });
  const end = await proc.done;
  assert.match(end.spawnError ?? '', /ENOENT/);
  assert.match(runOutcome(new RunTracker(), end).message, /^could not start the ClawGym CLI: .*ENOENT/);
  proc.cancel(); // nothing to stop: no throw
});

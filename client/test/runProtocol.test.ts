/**
 * The pure half of running tasks from the editor (client/src/runProtocol.ts): JSON lines from the
 * CLI, the run's state, and what the extension says at the end. No VS Code, no Docker: synthetic
 * events shaped like core's (the types are core's own, so a change there breaks the build here).
 * cliProcess.test.ts runs the real CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodePath from 'node:path';
import type { JobEvent, JobSummary } from '../../core/src/run/job';
import type { TrialResult } from '../../core/src/run/trial';
import type { CheckResult } from '../../core/src/verifier/types';
import { BACKEND_CHOICES } from '../../core/src/sandbox/select';
import { SETTINGS } from '../../core/src/settings';
import {
  BACKENDS,
  backendSetting,
  checkIds,
  checkLocator,
  checkRunOutcome,
  cliArgs,
  LineSplitter,
  parseEventLine,
  resolveRunsDir,
  runOutcome,
  RunTracker,
  validateOutcome,
  type CliEvent,
  type ProcessEnd,
} from '../src/runProtocol';

function check(id: string, passed: boolean, extra: Partial<CheckResult> = {}): CheckResult {
  return { id, kind: 'file_exists', weight: 1, score: passed ? 1 : 0, passed, message: passed ? 'ok' : `${id} is wrong`, durationMs: 1, ...extra };
}

function trial(agent: string, checks: CheckResult[], extra: Partial<TrialResult> = {}): TrialResult {
  const passed = checks.every((c) => c.passed);
  const reward = checks.length ? checks.reduce((s, c) => s + c.score, 0) / checks.length : 0;
  return {
    taskId: 'demo',
    trialId: 'demo',
    source: { kind: 'clawtask', path: '/w/demo.clawtask' },
    agent,
    status: passed ? 'passed' : 'failed',
    reward,
    solved: passed,
    checks,
    verifierErrors: checks.filter((c) => c.error).length,
    changes: [],
    wantedNetwork: false,
    startedAt: '2026-01-01T00:00:00.000Z',
    timing: { createMs: 100, setupMs: 0, agentMs: 10, verifyMs: 50, integrityMs: 5, disposeMs: 20, totalMs: 1500 },
    ...extra,
  };
}

function summary(agent: string, results: TrialResult[]): JobSummary {
  return {
    runId: `r-${agent}`,
    runDir: `/w/runs/r-${agent}`,
    agent,
    backend: 'docker',
    isolation: 'container',
    trials: results.length,
    passed: results.filter((r) => r.status === 'passed').length,
    failed: results.filter((r) => r.status === 'failed').length,
    errors: results.filter((r) => r.status === 'error').length,
    cancelled: results.filter((r) => r.status === 'cancelled').length,
    verifierErrors: 0,
    meanReward: results.length ? results[0].reward : 0,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1600,
    results,
  };
}

/** The events of one job, as `clawgym run --json` prints them. */
function job(agent: string, result: TrialResult, isolation = 'container'): JobEvent[] {
  const runId = `r-${agent}`;
  return [
    { type: 'run-start', runId, runDir: `/w/runs/${runId}`, agent, backend: isolation === 'container' ? 'docker' : 'local', isolation, tasks: 1, trials: 1, concurrency: 1 },
    { type: 'trial-start', runId, taskId: result.taskId, trialId: result.trialId, index: 0 },
    { type: 'phase', trialId: result.trialId, phase: 'sandbox' },
    { type: 'phase', trialId: result.trialId, phase: 'agent' },
    { type: 'phase', trialId: result.trialId, phase: 'verifier' },
    { type: 'trial-end', runId, result, trialDir: `/w/runs/${runId}/trials/${result.trialId}` },
    { type: 'run-end', summary: summary(agent, [result]) },
  ];
}

function track(events: CliEvent[]): RunTracker {
  const t = new RunTracker();
  // Through the wire format: what the tracker gets is what parseEventLine accepted.
  for (const e of events) {
    const parsed = parseEventLine(JSON.stringify(e));
    assert.ok('event' in parsed, `rejected: ${JSON.stringify(e)}`);
    t.apply(parsed.event);
  }
  return t;
}

const exited = (code: number | null, stderr = '', more: Partial<ProcessEnd> = {}): ProcessEnd => ({ code, signal: null, stderr, cancelRequested: false, ...more });

// ---------------------------------------------------------------------------------------------

test('LineSplitter: lines across chunks, UTF-8 split mid-character, CRLF, blank lines, a last line without a break', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  const bytes = Buffer.from('{"a":1}\r\n\n{"t":"é✓', 'utf8');
  // Cut inside the two-byte é and the three-byte ✓.
  const cuts = [3, 11, 13, 15, bytes.length];
  let from = 0;
  for (const to of cuts) {
    s.push(bytes.subarray(from, to));
    from = to;
  }
  s.push(Buffer.from('"}\n  \nlast', 'utf8'));
  assert.deepEqual(lines, ['{"a":1}', '{"t":"é✓"}']);
  s.end();
  assert.deepEqual(lines, ['{"a":1}', '{"t":"é✓"}', 'last']);
});

test('LineSplitter: a runaway line without a break is dropped and reported, later lines still arrive', () => {
  const lines: string[] = [];
  const dropped: number[] = [];
  const s = new LineSplitter((l) => lines.push(l), (n) => dropped.push(n));
  const chunk = 'x'.repeat(4 * 1024 * 1024);
  for (let i = 0; i < 9; i++) s.push(chunk);
  s.push('\nok\n');
  assert.equal(dropped.length, 1);
  assert.ok(dropped[0] > 32 * 1024 * 1024);
  assert.equal(lines.at(-1), 'ok');
});

test('parseEventLine: events pass, anything else comes back as text with the reason', () => {
  const end = { type: 'trial-end', runId: 'r', result: trial('nop', [check('a', false)]) };
  const ok = parseEventLine(JSON.stringify(end));
  assert.ok('event' in ok && ok.event.type === 'trial-end');
  assert.deepEqual(parseEventLine('clawgym: warning: x'), { text: 'clawgym: warning: x', problem: 'not JSON' });
  assert.deepEqual(parseEventLine('[1,2]'), { text: '[1,2]', problem: 'not an event (no `type`)' });
  const bad = parseEventLine('{"type":"trial-end","result":{"taskId":"t"}}');
  assert.ok('text' in bad && /unexpected shape/.test(bad.problem ?? ''));
  const badCheck = parseEventLine(JSON.stringify({ ...end, result: { ...end.result, checks: [{ id: 'a', score: '1' }] } }));
  assert.ok('text' in badCheck && badCheck.problem);
  const future = parseEventLine('{"type":"agent-step","n":1}');
  assert.ok('text' in future && future.unknown === true && !future.problem);
});

test('cliArgs passes the model settings to the built-in agent only, leaving empty ones to the environment', () => {
  const base = { command: 'run' as const, task: '/w/t.clawtask', backend: 'auto' as const, runsDir: '/w/runs' };
  const model = { model: ' gpt-x ', baseUrl: 'http://127.0.0.1:8000/v1', temperature: 0.2, maxTokens: 0, maxSteps: 30 };
  assert.deepEqual(cliArgs({ ...base, agent: 'builtin', model }).slice(-8), ['--model', 'gpt-x', '--base-url', 'http://127.0.0.1:8000/v1', '--temperature', '0.2', '--max-steps', '30']);
  assert.ok(!cliArgs({ ...base, agent: 'builtin', model: { model: '', baseUrl: '', temperature: -1, maxTokens: 0 } }).some((a) => a.startsWith('--model') || a === '--temperature'));
  assert.ok(!cliArgs({ ...base, agent: 'oracle', model }).includes('--model'));
});

test('cliArgs, backend and runs folder settings', () => {
  assert.deepEqual(cliArgs({ command: 'run', task: '/w/a b.clawtask', agent: 'nop', backend: 'docker', runsDir: '/w/runs', image: ' img:1 ' }), [
    'run', '/w/a b.clawtask', '--agent', 'nop', '--json', '--no-color', '--backend', 'docker', '--runs-dir', '/w/runs', '--image', 'img:1',
  ]);
  assert.deepEqual(cliArgs({ command: 'check', task: '/w/t.clawtask', backend: 'auto', runsDir: '/r', image: '' }), ['check', '/w/t.clawtask', '--json', '--no-color', '--backend', 'auto', '--runs-dir', '/r']);
  assert.equal(backendSetting('local'), 'local');
  assert.equal(backendSetting('kubernetes'), 'auto');
  assert.equal(backendSetting(undefined), 'auto');
  // The three lists of backends (CLI, setting, extension) are the same.
  assert.deepEqual([...BACKENDS], [...BACKEND_CHOICES]);
  assert.deepEqual([...BACKENDS], SETTINGS['clawgym.run.backend'].schema.unwrap().options);
  assert.equal(resolveRunsDir('runs', '/w', '/w/sub/t.clawtask'), nodePath.resolve('/w/runs'));
  assert.equal(resolveRunsDir('out/runs', undefined, '/elsewhere/t.clawtask'), nodePath.resolve('/elsewhere/out/runs'));
  assert.equal(resolveRunsDir('/abs/runs/', '/w', '/w/t.clawtask'), nodePath.normalize('/abs/runs/'));
  assert.equal(resolveRunsDir('  ', '/w', '/w/t.clawtask'), nodePath.resolve('/w/runs'));
});

test('RunTracker: progress follows the phases; agent output is logged in whole lines per stream', () => {
  const t = new RunTracker();
  const progress: string[] = [];
  const log: string[] = [];
  const feed = (e: CliEvent): void => {
    const r = t.apply(e);
    if (r.progress) progress.push(r.progress);
    log.push(...r.log.map((l) => `${l.level}: ${l.text}`));
  };
  const [start, trialStart, sandbox, agent, verifier, end, runEnd] = job('oracle', trial('oracle', [check('a', true)]));
  feed(start);
  feed(trialStart);
  feed(sandbox);
  feed(agent);
  feed({ type: 'output', trialId: 'demo', phase: 'agent', stream: 'stdout', text: 'hel' });
  feed({ type: 'output', trialId: 'demo', phase: 'agent', stream: 'stderr', text: 'warn!\n' });
  feed({ type: 'output', trialId: 'demo', phase: 'agent', stream: 'stdout', text: 'lo\nwor' });
  feed(verifier);
  feed(end);
  feed(runEnd);
  assert.deepEqual(progress, ['oracle: starting', 'oracle: starting', 'oracle: creating the sandbox', 'oracle: the agent is working', 'oracle: verifying']);
  const out = log.filter((l) => l.includes(' | '));
  assert.deepEqual(out, ['info: demo agent stderr | warn!', 'info: demo agent stdout | hello', 'info: demo agent stdout | wor']);
  // The partial `wor` is flushed by the next phase, before it.
  assert.ok(log.indexOf('info: demo agent stdout | wor') < log.findIndex((l) => l.endsWith('demo (oracle): verifier')));
  assert.ok(log.some((l) => /✓ demo passed: reward 1\.000 · checks 1\/1 · 1\.5 s/.test(l)), log.join('\n'));
  assert.ok(log.some((l) => l.includes('trial folder: /w/runs/r-oracle/trials/demo')));
  assert.equal(t.results.length, 1);
  assert.equal(t.summaries.length, 1);
});

test('runOutcome: nop fails with reward 0; one warning finding per failed check, verifier errors as errors', () => {
  const r = trial('nop', [
    check('exists', false, { message: 'out/a.txt does not exist' }),
    check('ok', true),
    check('py', false, { kind: 'python', error: { kind: 'crash', message: 'ZeroDivisionError' } }),
  ]);
  const o = runOutcome(track(job('nop', r)), exited(1));
  assert.equal(o.kind, 'failed');
  assert.equal(o.message, 'demo failed with nop: reward 0.333 (checks 1/3; failed: exists, py)');
  assert.equal(o.folder, '/w/runs/r-nop/trials/demo');
  assert.deepEqual(o.findings, [
    { checkId: 'exists', kind: 'file_exists', severity: 'warning', message: 'exists failed (nop, score 0.00): out/a.txt does not exist' },
    { checkId: 'py', kind: 'python', severity: 'error', message: 'py failed (nop, score 0.00): verifier error (crash): ZeroDivisionError' },
  ]);
});

test('runOutcome: the oracle passes; a weaker backend is said in the message', () => {
  const o = runOutcome(track(job('oracle', trial('oracle', [check('a', true), check('b', true)]))), exited(0));
  assert.equal(o.kind, 'passed');
  assert.equal(o.message, 'demo passed with oracle: reward 1.000 (checks 2/2)');
  assert.deepEqual(o.findings, []);
  const local = runOutcome(track(job('oracle', trial('oracle', [check('a', true)]), 'none')), exited(0));
  assert.match(local.message, /\[local, no isolation\]$/);
});

test('runOutcome: a trial error, a cancelled run, a refused command (exit 2), a load failure, a crash, a CLI that cannot start', () => {
  const err = trial('oracle', [], { status: 'error', error: { phase: 'agent', message: 'task demo has no reference solution' } });
  const e1 = runOutcome(track(job('oracle', err)), exited(1, 'some progress\n'));
  assert.equal(e1.kind, 'error');
  assert.equal(e1.message, 'demo: error in agent: task demo has no reference solution');

  const cancelled = trial('nop', [], { status: 'cancelled', error: { phase: 'agent', message: 'cancelled' } });
  const c = runOutcome(track(job('nop', cancelled)), exited(130, '', { cancelRequested: true }));
  assert.equal(c.kind, 'cancelled');
  assert.equal(c.message, 'demo: the run was cancelled');
  // Cancelled before any event: still a cancellation, not an error.
  assert.equal(runOutcome(new RunTracker(), { code: null, signal: 'SIGINT', stderr: '', cancelRequested: true }).kind, 'cancelled');

  const usage = runOutcome(new RunTracker(), exited(2, 'clawgym: unknown backend `k8s`; use one of `auto`, `docker`, `local`\n\nUsage: ...\n'));
  assert.equal(usage.kind, 'error');
  assert.match(usage.message, /refused the command \(exit 2\): unknown backend `k8s`/);
  assert.match(usage.detail ?? '', /Usage/);

  const load = runOutcome(
    new RunTracker(),
    exited(1, 'clawgym: warning: Docker is not usable (no engine); running in a temporary directory\nclawgym: cannot run t.clawtask: the task has errors\n  t.clawtask:3:1 error missing-field\nclawgym: no task could be loaded; nothing to run\n'),
  );
  assert.equal(load.kind, 'error');
  assert.equal(load.message, 'the run did not start: cannot run t.clawtask: the task has errors');
  assert.match(load.detail ?? '', /missing-field/);

  const crash = runOutcome(new RunTracker(), { code: null, signal: 'SIGSEGV', stderr: 'boom', cancelRequested: false });
  assert.match(crash.message, /killed by SIGSEGV before reporting a result: boom/);
  const crash2 = runOutcome(track(job('nop', trial('nop', [check('a', false)])).slice(0, 3)), exited(7, 'TypeError: x is undefined\n    at y'));
  assert.match(crash2.message, /exited with code 7 before reporting a result: TypeError/);

  const spawn = runOutcome(new RunTracker(), { code: null, signal: null, stderr: '', spawnError: 'spawn /nope ENOENT', cancelRequested: false });
  assert.equal(spawn.message, 'could not start the ClawGym CLI: spawn /nope ENOENT');
});

test('checkRunOutcome: one check of an oracle run', () => {
  const t = track(job('oracle', trial('oracle', [check('a', true), check('b', false, { message: 'pattern not found' })])));
  const a = checkRunOutcome(t, exited(1), 'a');
  assert.equal(a.kind, 'passed');
  assert.equal(a.message, 'check a passed with oracle (score 1.00)');
  assert.deepEqual(a.findings, []);
  const b = checkRunOutcome(t, exited(1), 'b');
  assert.equal(b.kind, 'failed');
  assert.equal(b.message, 'check b failed with oracle (score 0.00): pattern not found');
  assert.deepEqual(b.findings.map((f) => f.checkId), ['b']);
  const gone = checkRunOutcome(t, exited(1), 'renamed');
  assert.equal(gone.kind, 'error');
  assert.match(gone.message, /no result for check `renamed` \(checks: a, b\)/);
});

test('validateOutcome: the paper filter verdict; findings for checks the oracle fails or nop passes', () => {
  const ok = track([
    ...job('oracle', trial('oracle', [check('a', true)])),
    ...job('nop', trial('nop', [check('a', false)])),
    { type: 'check-end', verdicts: [{ taskId: 'demo', source: 'demo.clawtask', ok: true, problems: [], oracleReward: 1, nopReward: 0 }] },
  ]);
  const good = validateOutcome(ok, exited(0));
  assert.equal(good.kind, 'passed');
  assert.equal(good.message, 'demo: oracle 1.000, nop 0.000: OK');
  assert.deepEqual(good.findings, []);
  assert.equal(good.folder, '/w/runs');

  const bad = track([
    ...job('oracle', trial('oracle', [check('a', true), check('b', false, { message: 'no output/x' })])),
    ...job('nop', trial('nop', [check('a', true, { message: 'input.csv exists' }), check('b', false)])),
    { type: 'check-end', verdicts: [{ taskId: 'demo', source: 'demo.clawtask', ok: false, problems: ['oracle scores 0.500, not 1', 'doing nothing scores 0.500, not 0'], oracleReward: 0.5, nopReward: 0.5 }] },
  ]);
  const o = validateOutcome(bad, exited(1));
  assert.equal(o.kind, 'failed');
  assert.equal(o.message, 'demo: oracle 0.500, nop 0.500: oracle scores 0.500, not 1; doing nothing scores 0.500, not 0');
  assert.deepEqual(
    o.findings.map((f) => [f.checkId, f.severity, f.message]),
    [
      ['b', 'warning', 'the reference solution fails this check: b failed (oracle, score 0.00): no output/x'],
      ['a', 'warning', 'a gives points to an agent that does nothing (nop, score 1.00): input.csv exists'],
    ],
  );
  // No verdict (the CLI refused the task): the stderr says why.
  const refused = validateOutcome(new RunTracker(), exited(1, 'clawgym: cannot run x.clawtask: invalid task\n'));
  assert.equal(refused.kind, 'error');
  assert.equal(refused.message, 'the validation did not start: cannot run x.clawtask: invalid task');
});

test("checkLocator: a check's id entry, the reward script, the task id for a check that is gone; UTF-16 offsets", () => {
  const text = [
    'version: 1',
    'id: démo-✓',
    'title: "naïve — ✓"',
    'verifier:',
    '  checks:',
    '    - id: first',
    '      file_exists: a.txt',
    '    - file_matches: { path: b.txt, pattern: x }',
    '      id: second',
    '    - id: 3',
    '      file_exists: c',
    '  reward_script: reward/reward.sh',
    '',
  ].join('\r\n');
  const locate = checkLocator(text);
  const at = (id: string, kind?: string): string => {
    const s = locate(id, kind);
    return text.slice(s.start, s.end);
  };
  assert.equal(at('first'), 'id: first');
  assert.equal(at('second'), 'id: second');
  assert.equal(at('3'), 'id: 3');
  assert.equal(at('reward_script', 'reward_script'), 'reward_script: reward/reward.sh');
  assert.equal(at('renamed'), 'id');
  assert.deepEqual(checkIds(text), ['first', 'second', '3']);
  // Broken YAML still gives a place (the first line), never a throw.
  const broken = checkLocator('verifier: [\n  - id: x\n');
  assert.doesNotThrow(() => broken('x'));
});

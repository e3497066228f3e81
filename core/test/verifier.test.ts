/**
 * Verifier unit tests on a fake sandbox: scoring and weights, every host-side check kind, symlink
 * and path escapes, how the runner's reports are classified (wrong answer vs verifier error), the
 * bundle the sandbox receives, and the CTRF report. The runner itself runs in verifier-docker.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ResolvedTask, ResolvedVerifier } from '../src/run/types';
import { SandboxError, type ExecOptions, type ExecResult, type SandboxEntry } from '../src/sandbox/types';
import { parseRewardLine, runVerifier, toCtrf, type CheckResult, type VerifierResult } from '../src/verifier';
import { durationMs } from '../src/verifier/checks';
import { bigFile, dir, FakeSandbox, file, symlink, type ExecScript } from './fakeSandbox';

const ROOT = '/workspace';
const scratch = mkdtempSync(join(tmpdir(), 'clawgym-verifier-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function task(checks: object[], verifier: Partial<ResolvedVerifier> = {}, root = ROOT): ResolvedTask {
  return {
    id: 'unit-task',
    source: { kind: 'clawtask', path: join(scratch, 'unit.clawtask') },
    baseDir: scratch,
    intent: 'Do the thing.',
    metadata: { category: 'test' },
    root,
    files: [],
    setup: [],
    env: { TZ: 'UTC' },
    network: 'none',
    resources: {},
    agent: {},
    verifier: { timeoutMs: 60_000, passThreshold: 1, checks: checks as ResolvedVerifier['checks'], rubric: [], weights: { code: 1, rubric: 0 }, ...verifier },
  };
}

async function verify(t: ResolvedTask, entries: SandboxEntry[], script?: ExecScript): Promise<{ result: VerifierResult; sandbox: FakeSandbox; logs: string[] }> {
  const sandbox = new FakeSandbox(t.root, entries, script);
  const logs: string[] = [];
  const result = await runVerifier(t, sandbox, { finalMessage: 'All done.', transcript: [{ role: 'user', content: 'hi' }], onLog: (l) => logs.push(l) });
  return { result, sandbox, logs };
}

function byId(r: VerifierResult, id: string): CheckResult {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, `no result for ${id}: ${r.checks.map((x) => x.id).join(', ')}`);
  return c;
}

/** One check, one verdict. */
async function one(check: object, entries: SandboxEntry[]): Promise<CheckResult> {
  const { result } = await verify(task([{ id: 'c', ...check }]), entries);
  return byId(result, 'c');
}

// --- the runner's side of the conversation, scripted

interface Bundle {
  marker: string;
  dir_name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  timeout_ms: number;
  files: { path: string; data: string }[];
  commands: { id: string; command: string; timeout_ms: number; head: number }[];
  python: { id: string; file: string; timeout_ms: number }[];
  reward: { id: string; script: string; timeout_ms: number; mode: number; entries: { path: string; type: string; mode: number; data: string | null }[] } | null;
}

/** The spec the program ends with: `main(<Python literal>)`, read back as JSON. */
function bundleOf(options: ExecOptions): Bundle {
  const program = String(options.stdin);
  const at = program.lastIndexOf('\nmain(');
  assert.ok(at > 0 && program.endsWith(')\n'), 'the program ends with main(<spec>)');
  const literal = program.slice(at + 6, -2);
  const json = literal.replace(/"(?:[^"\\]|\\.)*"|\b(True|False|None)\b/g, (m, word?: string) => (word ? { True: 'true', False: 'false', None: 'null' }[word]! : m));
  return JSON.parse(json) as Bundle;
}

function fileOf(b: Bundle, path: string): string {
  const f = b.files.find((x) => x.path === path);
  assert.ok(f, `bundle has ${path}`);
  return Buffer.from(f.data, 'base64').toString('utf8');
}

/** An exec answering like the runner: the given reports (`kind:id` filled in) and a done line. */
function runner(reports: (b: Bundle) => object[], done: object = { fatal: null }, extra: Partial<ExecResult> = {}): ExecScript {
  return (_cmd, options) => {
    const b = bundleOf(options);
    const lines = reports(b).map((r) => `${b.marker} ${JSON.stringify({ duration_ms: 5, status: 'ok', stdout: '', stderr: '', ...r })}`);
    if (done) lines.push(`${b.marker} ${JSON.stringify({ done: true, python: '3.11.2', ...done })}`);
    return { stdout: `noise before\n${lines.join('\n')}\n`, ...extra };
  };
}

const py = (id: string, value: object) => ({ id, kind: 'python', exit_code: 0, result_json: JSON.stringify({ kind: 'value', value }) });
const rewardOut = (stdout: string, exit_code = 0) => ({ id: 'reward_script', kind: 'reward_script', exit_code, stdout });

function rewardDir(name: string, files: Record<string, string>): string {
  const d = join(scratch, name);
  mkdirSync(d, { recursive: true });
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(d, p, '..'), { recursive: true });
    writeFileSync(join(d, p), text);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------

describe('scoring', () => {
  test('the reward is the weighted mean of check scores; solved against the threshold', async () => {
    const t = task(
      [
        { id: 'a', file_exists: 'out/a.txt' },
        { id: 'b', file_exists: 'out/missing.txt', weight: 3 },
        { id: 'z', file_exists: 'out/missing.txt', weight: 0 },
      ],
      { passThreshold: 0.25 },
    );
    const { result, sandbox } = await verify(t, [dir('out'), file('out/a.txt', 'x')]);
    assert.equal(result.codeScore, 0.25);
    assert.equal(result.reward, 0.25);
    assert.equal(result.solved, true);
    assert.equal(result.verifierErrors, 0);
    assert.deepEqual(
      result.checks.map((c) => [c.id, c.weight, c.score, c.passed]),
      [
        ['a', 1, 1, true],
        ['b', 3, 0, false],
        ['z', 0, 0, false],
      ],
    );
    // nothing to run in the sandbox: no exec, no copy-in, one copy-out of the root
    assert.equal(sandbox.execs.length, 0);
    assert.equal(sandbox.copyIns.length, 0);
    assert.deepEqual(
      sandbox.copyOuts.map((c) => c.dir),
      [ROOT],
    );
    assert.ok(result.snapshot);
  });

  test('no checks at all: reward 0 and a note', async () => {
    const { result } = await verify(task([]), []);
    assert.equal(result.reward, 0);
    assert.equal(result.solved, false);
    assert.match(result.notes.join('\n'), /no checks/);
  });

  test('every weight 0: reward 0 and a note', async () => {
    const { result } = await verify(task([{ id: 'a', file_exists: 'x', weight: 0 }]), [file('x', '')]);
    assert.equal(result.reward, 0);
    assert.match(result.notes.join('\n'), /weight 0/);
  });

  test('a rubric without a judge: reward = code score, items listed as not judged, a note', async () => {
    const t = task([{ id: 'a', file_exists: 'x' }], { rubric: [{ id: 'tone', criterion: 'Polite.' }], weights: { code: 0.7, rubric: 0.3 } });
    const { result } = await verify(t, [file('x', '')]);
    assert.equal(result.reward, 1);
    assert.equal(result.rubricScore, null);
    assert.deepEqual(result.rubric, [{ id: 'tone', status: 'not-judged' }]);
    assert.match(result.notes.join('\n'), /rubric .* not judged/);
  });

  test('a reward at the threshold counts as solved despite float drift', async () => {
    const t = task([{ id: 'p', python: 'def grade(ws):\n    return 1\n' }]);
    const { result } = await verify(t, [], runner(() => [py('p', { t: 'dict', v: [['a', { t: 'num', v: 0.1 }], ['b', { t: 'num', v: 0.2 }], ['c', { t: 'num', v: 0.7 }]] })]));
    assert.ok(Math.abs(byId(result, 'p').score - 1 / 3) < 1e-12);
    const t2 = task([{ id: 'p', python: 'x' }], { passThreshold: 0.3 });
    const { result: r2 } = await verify(t2, [], runner(() => [py('p', { t: 'num', v: 0.1 + 0.2 })]));
    assert.equal(r2.solved, true);
  });

  test('durations: 30s, 15m, 1h, 250ms, seconds', () => {
    assert.equal(durationMs('30s'), 30_000);
    assert.equal(durationMs('15m'), 900_000);
    assert.equal(durationMs('1h'), 3_600_000);
    assert.equal(durationMs('250ms'), 250);
    assert.equal(durationMs(2.5), 2500);
    assert.equal(durationMs('soon'), undefined);
  });
});

describe('file_exists / file_absent', () => {
  const ws = [dir('out'), file('out/report.csv', 'a\n'), file('out/notes.md', ''), dir('out/empty'), file('input/deep/x.txt', 'x')];

  test('a path, a folder, a folder implied by a deeper file', async () => {
    assert.equal((await one({ file_exists: 'out/report.csv' }, ws)).passed, true);
    assert.equal((await one({ file_exists: 'out/empty' }, ws)).passed, true);
    assert.equal((await one({ file_exists: 'input/deep' }, ws)).passed, true);
    assert.equal((await one({ file_exists: './out//report.csv' }, ws)).passed, true);
    const miss = await one({ file_exists: 'out/nope.csv' }, ws);
    assert.equal(miss.passed, false);
    assert.equal(miss.error, undefined, 'a missing file is a wrong answer, not a verifier error');
    assert.match(miss.message, /out\/nope\.csv does not exist/);
  });

  test('globs: *, **, {a,b}, no match', async () => {
    const star = await one({ file_exists: 'out/*.csv' }, ws);
    assert.equal(star.passed, true);
    assert.match(star.message, /matches out\/report\.csv/);
    assert.equal((await one({ file_exists: '**/x.txt' }, ws)).passed, true);
    assert.equal((await one({ file_exists: 'out/*.{md,txt}' }, ws)).passed, true);
    const none = await one({ file_exists: 'out/*.json' }, ws);
    assert.equal(none.passed, false);
    assert.match(none.message, /no file matches out\/\*\.json/);
  });

  test('file_absent passes when nothing matches', async () => {
    assert.equal((await one({ file_absent: 'out/*.json' }, ws)).passed, true);
    const there = await one({ file_absent: 'out/*.md' }, ws);
    assert.equal(there.passed, false);
    assert.match(there.message, /matches out\/notes\.md/);
  });

  test('absolute paths and .. are path-escape errors', async () => {
    const abs = await one({ file_exists: '/etc/passwd' }, ws);
    assert.equal(abs.error?.kind, 'path-escape');
    assert.match(abs.message, /absolute/);
    const up = await one({ file_absent: 'out/../../secret' }, ws);
    assert.equal(up.error?.kind, 'path-escape');
    assert.match(up.message, /leaves the workspace/);
    // `..` that stays inside is fine
    assert.equal((await one({ file_exists: 'out/../input/deep/x.txt' }, ws)).passed, true);
  });
});

describe('symlinks are resolved inside the snapshot only', () => {
  const ws = [
    dir('data'),
    file('data/real.json', '{"ok": true}'),
    symlink('link.json', 'data/real.json'),
    symlink('abs.json', `${ROOT}/data/real.json`),
    symlink('alias', 'data'),
    symlink('passwd', '/etc/passwd'),
    symlink('up', '../../etc'),
    symlink('loop-a', 'loop-b'),
    symlink('loop-b', 'loop-a'),
    symlink('dangling', 'data/missing.json'),
  ];

  test('links inside the workspace are followed (relative, absolute into the root, through a folder link)', async () => {
    assert.equal((await one({ json: { path: 'link.json', query: 'ok', equals: true } }, ws)).passed, true);
    assert.equal((await one({ json: { path: 'abs.json', query: 'ok', equals: true } }, ws)).passed, true);
    assert.equal((await one({ file_matches: { path: 'alias/real.json', pattern: '"ok"' } }, ws)).passed, true);
    assert.equal((await one({ file_exists: 'alias' }, ws)).passed, true);
  });

  test('a link leaving the workspace is a path-escape error that names the link; nothing on the host is read', async () => {
    const abs = await one({ file_matches: { path: 'passwd', pattern: 'root' } }, ws);
    assert.equal(abs.error?.kind, 'path-escape');
    assert.match(abs.message, /symlink escapes the workspace: passwd -> \/etc\/passwd/);
    const rel = await one({ file_exists: 'up/passwd' }, ws);
    assert.equal(rel.error?.kind, 'path-escape');
    assert.match(rel.message, /symlink escapes the workspace: up -> \.\.\/\.\.\/etc/);
  });

  test('a symlink loop is a clear error, a dangling link a missing file', async () => {
    const loop = await one({ file_exists: 'loop-a' }, ws);
    assert.equal(loop.error?.kind, 'path-escape');
    assert.match(loop.message, /symlink loop/);
    const dangling = await one({ file_exists: 'dangling' }, ws);
    assert.equal(dangling.passed, false);
    assert.equal(dangling.error, undefined);
    assert.match(dangling.message, /via a symlink to data\/missing\.json/);
    assert.equal((await one({ file_absent: 'dangling' }, ws)).passed, true);
  });
});

describe('file_matches / file_equals', () => {
  const ws = [file('out/summary.md', '# Summary\n\nTotal: 42 EUR\n'), file('out/crlf.txt', 'a\r\nb\r\n'), bigFile('out/huge.log', 20 << 20), dir('out/sub')];

  test('file_matches with flags, misses, an invalid regex, a too-large file, a folder', async () => {
    assert.equal((await one({ file_matches: { path: 'out/summary.md', pattern: '^total: \\d+', flags: 'im' } }, ws)).passed, true);
    const miss = await one({ file_matches: { path: 'out/summary.md', pattern: '^Total: 43' } }, ws);
    assert.equal(miss.passed, false);
    assert.match(miss.message, /not found in out\/summary\.md \(\d+ bytes\)/);
    const bad = await one({ file_matches: { path: 'out/summary.md', pattern: '(unclosed' } }, ws);
    assert.equal(bad.error?.kind, 'invalid-check');
    assert.match(bad.message, /invalid regular expression/);
    const huge = await one({ file_matches: { path: 'out/huge.log', pattern: 'x' } }, ws);
    assert.equal(huge.error?.kind, 'too-large');
    const folder = await one({ file_matches: { path: 'out/sub', pattern: 'x' } }, ws);
    assert.equal(folder.passed, false);
    assert.match(folder.message, /is a directory/);
    const missing = await one({ file_matches: { path: 'out/none.md', pattern: 'x' } }, ws);
    assert.match(missing.message, /does not exist/);
  });

  test('file_equals: inline text with a trailing newline tolerated, a differing line named', async () => {
    assert.equal((await one({ file_equals: { path: 'out/summary.md', text: '# Summary\n\nTotal: 42 EUR' } }, ws)).passed, true);
    const diff = await one({ file_equals: { path: 'out/summary.md', text: '# Summary\n\nTotal: 41 EUR\n' } }, ws);
    assert.equal(diff.passed, false);
    assert.match(diff.message, /line 3 is "Total: 42 EUR", expected "Total: 41 EUR"/);
  });

  test('file_equals.from reads a fixture under the task folder, never outside it', async () => {
    mkdirSync(join(scratch, 'expected'), { recursive: true });
    writeFileSync(join(scratch, 'expected', 'summary.md'), '# Summary\n\nTotal: 42 EUR\n');
    symlinkSync('/etc/hostname', join(scratch, 'expected', 'outside.md'));
    assert.equal((await one({ file_equals: { path: 'out/summary.md', from: 'expected/summary.md' } }, ws)).passed, true);
    const up = await one({ file_equals: { path: 'out/summary.md', from: '../elsewhere.md' } }, ws);
    assert.equal(up.error?.kind, 'invalid-check');
    const link = await one({ file_equals: { path: 'out/summary.md', from: 'expected/outside.md' } }, ws);
    assert.equal(link.error?.kind, 'invalid-check');
    assert.match(link.message, /leaves the task's folder/);
    const gone = await one({ file_equals: { path: 'out/summary.md', from: 'expected/none.md' } }, ws);
    assert.equal(gone.error?.kind, 'invalid-check');
    assert.match(gone.message, /cannot read/);
  });
});

describe('json (and YAML)', () => {
  const ws = [
    file('out/r.json', JSON.stringify({ results: [{ score: 0.8, name: 'a' }, { score: 2, name: 'b' }], total: 3, tags: ['x'] })),
    file('out/cfg.yaml', 'server:\n  port: 8080\n  hosts: [a, b]\nenabled: true\n'),
    file('out/bad.json', '{"a": '),
    file('out/bad.yml', 'a: [1, 2\n'),
    file('out/one.json', '{"ok": 1}'),
    file('out/two.json', '{"ok": 1}'),
  ];

  test('equals, type, between, negative index, the whole document', async () => {
    assert.equal((await one({ json: { path: 'out/r.json', query: 'results[0].score', between: [0.5, 1] } }, ws)).passed, true);
    assert.equal((await one({ json: { path: 'out/r.json', query: 'results[-1].name', equals: 'b' } }, ws)).passed, true);
    assert.equal((await one({ json: { path: 'out/r.json', query: 'total', type: 'integer' } }, ws)).passed, true);
    assert.equal((await one({ json: { path: 'out/r.json', query: '', type: 'object' } }, ws)).passed, true);
    assert.equal((await one({ json: { path: 'out/r.json', query: 'tags', equals: ['x'] } }, ws)).passed, true);
    const wrong = await one({ json: { path: 'out/r.json', query: 'results[1].score', between: [0, 1] } }, ws);
    assert.equal(wrong.passed, false);
    assert.match(wrong.message, /results\[1\]\.score is 2, expected a value between 0 and 1/);
  });

  test('a query that finds nothing fails; with no condition the value only has to exist', async () => {
    const none = await one({ json: { path: 'out/r.json', query: 'results[5]', type: 'object' } }, ws);
    assert.equal(none.passed, false);
    assert.match(none.message, /nothing at results\[5\]/);
    assert.equal((await one({ json: { path: 'out/r.json', query: 'total' } }, ws)).passed, true);
    assert.equal((await one({ json: { path: 'out/r.json', query: 'missing' } }, ws)).passed, false);
  });

  test('YAML files (.yaml/.yml) are parsed as YAML', async () => {
    assert.equal((await one({ json: { path: 'out/cfg.yaml', query: 'server.port', equals: 8080 } }, ws)).passed, true);
    assert.equal((await one({ json: { path: 'out/cfg.yaml', query: 'server.hosts[1]', equals: 'b' } }, ws)).passed, true);
    assert.equal((await one({ json: { path: 'out/cfg.yaml', query: 'enabled', type: 'boolean' } }, ws)).passed, true);
    const bad = await one({ json: { path: 'out/bad.yml', query: 'a', type: 'array' } }, ws);
    assert.equal(bad.passed, false);
    assert.match(bad.message, /not valid YAML/);
  });

  test('invalid JSON is a wrong answer, not a verifier error', async () => {
    const bad = await one({ json: { path: 'out/bad.json', query: 'a', type: 'number' } }, ws);
    assert.equal(bad.passed, false);
    assert.equal(bad.error, undefined);
    assert.match(bad.message, /not valid JSON/);
  });

  test('a glob: every matching file must pass', async () => {
    const all = await one({ json: { path: 'out/{one,two}.json', query: 'ok', equals: 1 } }, ws);
    assert.equal(all.passed, true);
    assert.match(all.message, /all 2 files/);
    const mixed = await one({ json: { path: 'out/*.json', query: 'ok', equals: 1 } }, ws);
    assert.equal(mixed.passed, false);
  });
});

describe('csv', () => {
  const ws = [file('out/t.csv', 'date,amount,paid\r\n2024-01-02,12.50,true\r\n"2024-01-03",7,false\r\n'), file('out/empty.csv', '')];

  test('columns, rows, where (numbers, booleans, quoted cells)', async () => {
    assert.equal((await one({ csv: { path: 'out/t.csv', columns: ['date', 'amount', 'paid'], rows: 2 } }, ws)).passed, true);
    assert.equal((await one({ csv: { path: 'out/t.csv', where: { date: '2024-01-03', amount: 7 } } }, ws)).passed, true);
    assert.equal((await one({ csv: { path: 'out/t.csv', where: { amount: 12.5, paid: true } } }, ws)).passed, true);
    const pass = await one({ csv: { path: 'out/t.csv' } }, ws);
    assert.match(pass.message, /2 data rows/);
  });

  test('each kind of mismatch says what it saw', async () => {
    assert.match((await one({ csv: { path: 'out/t.csv', columns: ['date', 'total'] } }, ws)).message, /header is "date,amount,paid", expected "date,total"/);
    assert.match((await one({ csv: { path: 'out/t.csv', rows: 3 } }, ws)).message, /has 2 data rows, expected 3/);
    assert.match((await one({ csv: { path: 'out/t.csv', where: { amount: 8 } } }, ws)).message, /no row matches/);
    assert.match((await one({ csv: { path: 'out/t.csv', where: { price: 8 } } }, ws)).message, /no column "price"/);
    assert.match((await one({ csv: { path: 'out/empty.csv', rows: 0 } }, ws)).message, /empty/);
  });
});

describe('snapshot failures', () => {
  test('a too-large workspace turns host checks into verifier errors; in-sandbox checks still run', async () => {
    const t = task([
      { id: 'f', file_exists: 'x' },
      { id: 'cmd', command: 'true' },
    ]);
    const sandbox = new FakeSandbox(ROOT, [], runner(() => [{ id: 'cmd', kind: 'command', exit_code: 0 }]));
    sandbox.copyOutError = new SandboxError('too-large', 'copy-out of /workspace: over 256 MiB');
    const result = await runVerifier(t, sandbox, { finalMessage: '', transcript: [] });
    assert.equal(byId(result, 'f').error?.kind, 'too-large');
    assert.match(byId(result, 'f').message, /over 256 MiB/);
    assert.equal(byId(result, 'cmd').passed, true);
    assert.match(result.snapshotError ?? '', /over 256 MiB/);
    assert.equal(result.snapshot, undefined);
    assert.equal(result.reward, 0.5);
    assert.equal(result.verifierErrors, 1);
  });

  test('a workspace root the agent removed is an empty workspace: wrong answers, not errors', async () => {
    const t = task([
      { id: 'gone', file_exists: 'x' },
      { id: 'none', file_absent: 'x' },
      { id: 'cmd', command: 'true' },
    ]);
    const sandbox = new FakeSandbox(ROOT, [], runner(() => [{ id: 'cmd', kind: 'command', status: 'no-workspace' }]));
    sandbox.copyOutError = new SandboxError('backend', 'copy-out of /workspace from x: no such directory in the sandbox');
    const result = await runVerifier(t, sandbox, { finalMessage: '', transcript: [] });
    assert.deepEqual(
      result.checks.map((c) => [c.id, c.score, c.error?.kind]),
      [
        ['gone', 0, undefined],
        ['none', 1, undefined],
        ['cmd', 0, undefined],
      ],
    );
    assert.match(byId(result, 'cmd').message, /workspace root no longer exists/);
    assert.deepEqual(result.snapshot, { entries: [], totalBytes: 0, omitted: [] });
    assert.match(result.notes.join('\n'), /no longer exists/);
    assert.equal(result.verifierErrors, 0);
  });

  test('snapshot caps are passed to copy-out', async () => {
    const t = task([{ id: 'f', file_exists: 'x' }]);
    const sandbox = new FakeSandbox(ROOT, [file('x', 'abc')]);
    await runVerifier(t, sandbox, { finalMessage: '', transcript: [], snapshot: { maxTotalBytes: 1000, maxFileBytes: 10 } });
    assert.equal(sandbox.copyOuts[0]!.options.maxTotalBytes, 1000);
    assert.equal(sandbox.copyOuts[0]!.options.maxFileBytes, 10);
  });
});

describe('the in-sandbox bundle', () => {
  test('one exec of python3 -I -S with the runner and bundle on stdin: payload, sources, reward folder with modes', async () => {
    const rd = rewardDir('reward-a', { 'reward.sh': '#!/bin/bash\necho 1\n', 'check.py': 'print(1)\n', 'lib/helper.py': 'X = 1\n' });
    chmodSync(join(rd, 'reward.sh'), 0o755);
    const t = task(
      [
        { id: 'cmd', command: 'python3 tools/x.py --help', timeout: '5s', stdout_matches: 'usage' },
        { id: 'py', python: 'def grade(ws):\n    return 1.0\n' },
      ],
      { rewardScript: { hostDir: rd, script: 'reward.sh', weight: 2 }, timeoutMs: 300_000 },
      '/root/.openclaw/workspace',
    );
    let seen: Bundle | undefined;
    const { result, sandbox } = await verify(t, [], (cmd, options) => {
      seen = bundleOf(options);
      return runner(() => [
        { id: 'cmd', kind: 'command', exit_code: 0, stdout_head: 'usage: x.py' },
        py('py', { t: 'num', v: 1 }),
        rewardOut('grading...\n1.0\n'),
      ])(cmd, options);
    });
    assert.equal(sandbox.execs.length, 1, 'exactly one exec');
    assert.equal(sandbox.copyIns.length, 0, 'nothing is copied in before the runner runs');
    const exec = sandbox.execs[0]!;
    assert.deepEqual(exec.command, ['python3', '-I', '-S', '-']);
    assert.equal(exec.options.cwd, '/');
    assert.equal(exec.options.timeoutMs, 300_000 + 15_000);
    assert.deepEqual(exec.options.env, { TZ: 'UTC' });
    const b = seen!;
    assert.match(b.dir_name, /^clawgym-verifier-[0-9a-f]{32}$/);
    assert.equal(b.root, '/root/.openclaw/workspace');
    assert.equal(b.workdir, '/root/.openclaw/workspace');
    assert.equal(b.timeout_ms, 300_000);
    assert.deepEqual(JSON.parse(fileOf(b, 'payload.json')), {
      task_id: 'unit-task',
      user_query: 'Do the thing.',
      metadata: { category: 'test' },
      final_message: 'All done.',
      transcript: [{ role: 'user', content: 'hi' }],
    });
    assert.deepEqual(b.commands, [{ id: 'cmd', command: 'python3 tools/x.py --help', timeout_ms: 5000, head: 1 << 20 }]);
    assert.deepEqual(b.python, [{ id: 'py', file: 'checks/0.py', timeout_ms: 300_000 }]);
    assert.equal(fileOf(b, 'checks/0.py'), 'def grade(ws):\n    return 1.0\n');
    assert.equal(b.reward?.script, 'reward.sh');
    assert.equal(b.reward?.timeout_ms, 120_000, 'ClawGym limit: min(120 s, verifier timeout)');
    assert.deepEqual(
      b.reward?.entries.map((e) => [e.path, e.type, e.mode.toString(8), e.data === null ? null : Buffer.from(e.data, 'base64').toString()]),
      [
        ['check.py', 'file', '644', 'print(1)\n'],
        ['lib', 'directory', '755', null],
        ['lib/helper.py', 'file', '644', 'X = 1\n'],
        ['reward.sh', 'file', '755', '#!/bin/bash\necho 1\n'],
      ],
    );
    // two bundles never share a directory or a marker
    const again = await verify(t, [], (cmd, options) => runner(() => [])(cmd, options));
    const b2 = bundleOf(again.sandbox.execs[0]!.options);
    assert.notEqual(b2.dir_name, b.dir_name);
    assert.notEqual(b2.marker, b.marker);

    assert.equal(result.reward, 1);
    assert.equal(byId(result, 'reward_script').weight, 2);
    assert.equal(byId(result, 'reward_script').message, 'reward 1.0');
  });

  test('a transcript that is not JSON does not sink the verification: empty transcript and a note', async () => {
    const t = task([{ id: 'c', command: 'true' }]);
    const sandbox = new FakeSandbox(ROOT, [], runner(() => [{ id: 'c', kind: 'command', exit_code: 0 }]));
    const result = await runVerifier(t, sandbox, { finalMessage: 'ok', transcript: [{ tokens: 10n }] });
    assert.equal(byId(result, 'c').passed, true);
    assert.deepEqual(JSON.parse(fileOf(bundleOf(sandbox.execs[0]!.options), 'payload.json')).transcript, []);
    assert.match(result.notes.join('\n'), /transcript is not JSON/);
  });

  test('reward folder problems are invalid-check errors and the rest still runs', async () => {
    const rd = rewardDir('reward-b', { 'reward.sh': 'echo 1\n' });
    symlinkSync('/etc/hostname', join(rd, 'leak'));
    const t = task([{ id: 'p', python: 'x' }], { rewardScript: { hostDir: rd, script: 'reward.sh', weight: 1 } });
    const { result, sandbox } = await verify(t, [], runner((b) => [py('p', { t: 'num', v: 1 }), ...(b.reward ? [rewardOut('1')] : [])]));
    assert.equal(bundleOf(sandbox.execs[0]!.options).reward, null);
    assert.equal(byId(result, 'reward_script').error?.kind, 'invalid-check');
    assert.match(byId(result, 'reward_script').message, /leak is a symlink that leaves the reward folder/);
    assert.equal(byId(result, 'p').passed, true);

    const missing = task([], { rewardScript: { hostDir: rewardDir('reward-c', { 'check.py': '' }), script: 'reward.sh', weight: 1 } });
    const r2 = await verify(missing, []);
    assert.match(byId(r2.result, 'reward_script').message, /reward\.sh is not in/);
    assert.equal(r2.sandbox.execs.length, 0);
  });

  test('a check with id reward_script does not collide with the reward script', async () => {
    const rd = rewardDir('reward-d', { 'reward.sh': 'echo 1\n' });
    const t = task([{ id: 'reward_script', file_exists: 'x' }], { rewardScript: { hostDir: rd, script: 'reward.sh', weight: 1 } });
    const { result } = await verify(t, [file('x', '')], runner((b) => [{ id: b.reward!.id, kind: 'reward_script', exit_code: 0, stdout: '0.5\n' }]));
    assert.deepEqual(
      result.checks.map((c) => [c.id, c.kind, c.score]),
      [
        ['reward_script', 'file_exists', 1],
        ['reward_script-2', 'reward_script', 0.5],
      ],
    );
  });
});

describe('in-sandbox verdicts: wrong answers vs verifier errors', () => {
  async function sandboxed(checks: object[], reports: object[], opts: { reward?: boolean; done?: object; extra?: Partial<ExecResult> } = {}) {
    const v: Partial<ResolvedVerifier> = opts.reward ? { rewardScript: { hostDir: rewardDir('reward-v', { 'reward.sh': 'echo 1\n' }), script: 'reward.sh', weight: 1 } } : {};
    return (await verify(task(checks, v), [], runner(() => reports, opts.done ?? { fatal: null }, opts.extra))).result;
  }

  test('command: exit code and stdout_matches decide; timeouts are errors', async () => {
    const r = await sandboxed(
      [
        { id: 'ok', command: 'true' },
        { id: 'code', command: 'false', exit_code: 3 },
        { id: 'wrong', command: 'false' },
        { id: 'match', command: 'echo hi', stdout_matches: '^hi$' },
        { id: 'nomatch', command: 'echo hi', stdout_matches: '^bye' },
        { id: 'slow', command: 'sleep 9', timeout: '1s' },
        { id: 'late', command: 'true' },
        { id: 'cut', command: 'sleep 9' },
      ],
      [
        { id: 'ok', kind: 'command', exit_code: 0 },
        { id: 'code', kind: 'command', exit_code: 3 },
        { id: 'wrong', kind: 'command', exit_code: 1, stderr: 'boom\nlast words\n' },
        { id: 'match', kind: 'command', exit_code: 0, stdout_head: 'hi\n' },
        { id: 'nomatch', kind: 'command', exit_code: 0, stdout_head: 'hi\n' },
        { id: 'slow', kind: 'command', status: 'timeout', exit_code: -9 },
        { id: 'late', kind: 'command', status: 'deadline' },
        { id: 'cut', kind: 'command', status: 'timeout', exit_code: -9, limit_ms: 2500 },
      ],
    );
    assert.equal(byId(r, 'ok').passed, true);
    assert.equal(byId(r, 'code').passed, true);
    assert.deepEqual([byId(r, 'wrong').passed, byId(r, 'wrong').error], [false, undefined]);
    assert.match(byId(r, 'wrong').message, /exited with 1, expected 0: last words/);
    assert.equal(byId(r, 'match').passed, true);
    assert.match(byId(r, 'nomatch').message, /stdout does not match \/\^bye\//);
    assert.equal(byId(r, 'slow').error?.kind, 'timeout');
    assert.match(byId(r, 'slow').message, /did not finish within 1 s/);
    assert.equal(byId(r, 'late').error?.kind, 'timeout');
    assert.match(byId(r, 'late').message, /time limit ran out before/);
    assert.match(byId(r, 'cut').message, /did not finish within 2\.5 s \(what was left of the verifier's time limit\)/);
    assert.equal(r.verifierErrors, 3);
  });

  test('an invalid stdout_matches regex is caught before anything runs', async () => {
    const { result, sandbox } = await verify(task([{ id: 'bad', command: 'true', stdout_matches: '(' }]), []);
    assert.equal(byId(result, 'bad').error?.kind, 'invalid-check');
    assert.equal(sandbox.execs.length, 0);
  });

  test('python: floats, booleans, dicts (mean, booleans 0/1); bad values are errors of their own kind', async () => {
    const checks = ['f', 'b', 'd', 'big', 'neg', 'nan', 'str', 'nested', 'empty', 'dictbad', 'raise', 'nograde', 'died'].map((id) => ({ id, python: 'def grade(ws): ...' }));
    const r = await sandboxed(checks, [
      py('f', { t: 'num', v: 0.25 }),
      py('b', { t: 'bool', v: true }),
      py('d', { t: 'dict', v: [['a', { t: 'num', v: 1 }], ['b', { t: 'bool', v: false }], ['c', { t: 'num', v: 0.5 }]] }),
      py('big', { t: 'num', v: 2 }),
      py('neg', { t: 'num', v: -0.5 }),
      py('nan', { t: 'nonfinite', v: 'nan' }),
      py('str', { t: 'other', type: 'str', repr: "'yes'" }),
      py('nested', { t: 'dict', v: [['a', { t: 'dict', v: [] }]] }),
      py('empty', { t: 'dict', v: [] }),
      py('dictbad', { t: 'dict', v: [['a', { t: 'num', v: 1 }], ['b', { t: 'nonfinite', v: 'inf' }]] }),
      {
        id: 'raise',
        kind: 'python',
        exit_code: 0,
        result_json: JSON.stringify({ kind: 'exception', traceback: 'Traceback (most recent call last):\n  File "<string>", line 36, in <module>\n  File "/tmp/clawgym-verifier-ab/checks/10.py", line 4, in grade\n    raise ValueError("no output file")\nValueError: no output file\n' }),
      },
      { id: 'nograde', kind: 'python', exit_code: 0, result_json: '{"kind": "no-grade"}' },
      { id: 'died', kind: 'python', exit_code: 3, result_json: null, stderr: 'os._exit(3)\n' },
    ]);
    const s = (id: string) => [byId(r, id).score, byId(r, id).error?.kind];
    assert.deepEqual(s('f'), [0.25, undefined]);
    assert.deepEqual(s('b'), [1, undefined]);
    assert.deepEqual(s('d'), [0.5, undefined]);
    assert.match(byId(r, 'd').message, /mean of 3 values: a=1, b=0, c=0.5/);
    assert.deepEqual(s('big'), [0, 'out-of-range']);
    assert.match(byId(r, 'big').message, /2, outside \[0, 1\]/);
    assert.deepEqual(s('neg'), [0, 'out-of-range']);
    assert.deepEqual(s('nan'), [0, 'non-finite']);
    assert.deepEqual(s('str'), [0, 'not-a-number']);
    assert.match(byId(r, 'str').message, /a str \('yes'\)/);
    assert.deepEqual(s('nested'), [0, 'not-a-number']);
    assert.deepEqual(s('empty'), [0, 'not-a-number']);
    assert.deepEqual(s('dictbad'), [0, 'non-finite']);
    assert.match(byId(r, 'dictbad').message, /grade\(\)\["b"\] is inf/);
    assert.deepEqual(s('raise'), [0, 'crash']);
    assert.equal(byId(r, 'raise').message, 'grade() raised ValueError: no output file (line 4, in grade)');
    assert.match(byId(r, 'raise').output?.stderr ?? '', /Traceback/);
    assert.deepEqual(s('nograde'), [0, 'invalid-check']);
    assert.deepEqual(s('died'), [0, 'crash']);
    assert.match(byId(r, 'died').message, /exited before grade\(\) returned \(exit code 3\)/);
  });

  test('reward script: last non-empty line; non-zero exit, timeout, non-number, non-finite, out of range are errors', async () => {
    const cases: [object, number, string | undefined, RegExp][] = [
      [rewardOut('{"a": true}\n0.75\n\n'), 0.75, undefined, /reward 0\.75/],
      [rewardOut('0\n'), 0, undefined, /reward 0/],
      [rewardOut('1\n', 2), 0, 'crash', /exited with code 2/],
      [{ ...rewardOut(''), status: 'timeout', exit_code: -9 }, 0, 'timeout', /did not finish within 60 s/],
      [rewardOut('score: high\n'), 0, 'not-a-number', /not a number: "score: high"/],
      [rewardOut(''), 0, 'not-a-number', /printed nothing/],
      [rewardOut('nan\n'), 0, 'non-finite', /nan/],
      [rewardOut('-inf\n'), 0, 'non-finite', /inf/],
      [rewardOut('1e400\n'), 0, 'non-finite', /1e400/],
      [rewardOut('1.5\n'), 0, 'out-of-range', /outside \[0, 1\]/],
      [{ ...rewardOut(''), status: 'tampered', message: 'reward/x differs' }, 0, 'tampered', /reward\/x differs/],
    ];
    for (const [report, score, kind, message] of cases) {
      const r = await sandboxed([], [report], { reward: true });
      const c = byId(r, 'reward_script');
      assert.deepEqual([c.score, c.error?.kind], [score, kind], JSON.stringify(report));
      assert.match(c.message, message);
      assert.equal(c.kind, 'reward_script');
    }
  });

  test('parseRewardLine follows float(): signs, exponents, spaces; the last non-empty line wins', () => {
    assert.deepEqual(parseRewardLine('x\n  0.5  \n\n'), { value: 0.5, line: '0.5' });
    assert.deepEqual(parseRewardLine('+1e-1\r\n'), { value: 0.1, line: '+1e-1' });
    assert.deepEqual(parseRewardLine('.5'), { value: 0.5, line: '.5' });
    assert.equal((parseRewardLine('0x1') as { error: { kind: string } }).error.kind, 'not-a-number');
    assert.equal((parseRewardLine('Infinity') as { error: { kind: string } }).error.kind, 'non-finite');
    assert.equal((parseRewardLine('0.5\nDone') as { error: { kind: string } }).error.kind, 'not-a-number');
  });

  test('a fatal runner error (tampering) makes every in-sandbox check that has no report an error', async () => {
    const r = await sandboxed(
      [
        { id: 'f', file_absent: 'x' },
        { id: 'c', command: 'true' },
        { id: 'p', python: 'x' },
      ],
      [],
      { reward: true, done: { fatal: { kind: 'tampered', message: 'the verifier directory /tmp/clawgym-verifier-1 already exists' } } },
    );
    assert.equal(byId(r, 'f').passed, true, 'host checks do not depend on the runner');
    for (const id of ['c', 'p', 'reward_script']) {
      assert.equal(byId(r, id).error?.kind, 'tampered');
      assert.match(byId(r, id).message, /already exists/);
    }
    assert.equal(r.verifierErrors, 3);
  });

  test('an exec timeout keeps the checks that finished and marks the rest as timeouts', async () => {
    const r = await sandboxed(
      [
        { id: 'c', command: 'true' },
        { id: 'p', python: 'x' },
      ],
      [{ id: 'c', kind: 'command', exit_code: 0 }],
      { done: false as unknown as object, extra: { timedOut: true, exitCode: 137 } },
    );
    assert.equal(byId(r, 'c').passed, true);
    assert.equal(byId(r, 'p').error?.kind, 'timeout');
    assert.match(byId(r, 'p').message, /did not finish within 75 s \(its limit is 60 s\)/);
  });

  test('no python3 in the image, a backend error, garbage output: each a clear error', async () => {
    const noPython = await verify(task([{ id: 'c', command: 'true' }]), [], () => ({ exitCode: 127, stderr: "timeout: failed to run command 'python3': No such file or directory\n" }));
    assert.equal(byId(noPython.result, 'c').error?.kind, 'unavailable');
    assert.match(byId(noPython.result, 'c').message, /python3 is not installed/);
    assert.match(byId(noPython.result, 'c').message, /failed to run command 'python3'/);
    assert.ok(noPython.logs.some((l) => /failed to run command/.test(l)), 'the exec\'s stderr goes to the log');

    const backend = await verify(task([{ id: 'c', command: 'true' }]), [], () => {
      throw new SandboxError('backend', 'exec in clawgym-x: container is not running');
    });
    assert.equal(byId(backend.result, 'c').error?.kind, 'unavailable');
    assert.match(byId(backend.result, 'c').message, /container is not running/);

    const enoent = await verify(task([{ id: 'c', command: 'true' }]), [], () => {
      throw new SandboxError('backend', 'exec in local-1: spawn python3 ENOENT');
    });
    assert.match(byId(enoent.result, 'c').message, /^python3 is not installed in the sandbox image.*spawn python3 ENOENT/);

    const garbage = await verify(task([{ id: 'c', command: 'true' }]), [], () => ({ exitCode: 1, stdout: 'hello', stderr: 'Traceback...\nSyntaxError: bad\n' }));
    assert.equal(byId(garbage.result, 'c').error?.kind, 'internal');
    assert.match(byId(garbage.result, 'c').message, /ended without a result \(exit code 1\): SyntaxError: bad/);
  });

  test('lines that look like results but lack the marker are ignored', async () => {
    const r = await verify(task([{ id: 'c', command: 'true' }]), [], (_cmd, options) => {
      const b = bundleOf(options);
      return { stdout: `@@clawgym-verifier-forged@@ {"id":"c","kind":"command","status":"ok","exit_code":0,"duration_ms":1}\n${b.marker} {"done":true,"fatal":null}\n` };
    });
    assert.equal(byId(r.result, 'c').error?.kind, 'internal');
  });

  test('cancellation rejects with a cancelled SandboxError', async () => {
    const ac = new AbortController();
    const t = task([{ id: 'c', command: 'true' }]);
    const sandbox = new FakeSandbox(ROOT, [], () => {
      ac.abort();
      return {};
    });
    await assert.rejects(runVerifier(t, sandbox, { finalMessage: '', transcript: [], signal: ac.signal }), (e: unknown) => e instanceof SandboxError && e.kind === 'cancelled');
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(runVerifier(t, new FakeSandbox(ROOT, []), { finalMessage: '', transcript: [], signal: pre.signal }), (e: unknown) => e instanceof SandboxError && e.kind === 'cancelled');
  });
});

describe('CTRF', () => {
  test('checks become tests: passed / failed / other (verifier errors); rubric items skipped', async () => {
    const t = task(
      [
        { id: 'ok', file_exists: 'x' },
        { id: 'no', file_exists: 'y', weight: 2 },
        { id: 'err', file_exists: '/abs' },
      ],
      { rubric: [{ id: 'style', criterion: 'Nice.' }] },
    );
    const { result } = await verify(t, [file('x', '')]);
    const report = toCtrf(t, result, { start: 1000, stop: 1500, toolVersion: '0.1.0' });
    assert.deepEqual(report.results.tool, { name: 'clawgym', version: '0.1.0' });
    assert.deepEqual(report.results.summary, { tests: 4, passed: 1, failed: 1, skipped: 1, pending: 0, other: 1, start: 1000, stop: 1500 });
    const tests = report.results.tests;
    assert.deepEqual(
      tests.map((x) => [x.name, x.status]),
      [
        ['ok', 'passed'],
        ['no', 'failed'],
        ['err', 'other'],
        ['style', 'skipped'],
      ],
    );
    assert.deepEqual(tests[1]!.extra, { kind: 'file_exists', score: 0, weight: 2 });
    assert.equal((tests[2]!.extra.error as { kind: string }).kind, 'path-escape');
    assert.equal(typeof tests[0]!.duration, 'number');
    assert.match(tests[1]!.message ?? '', /y does not exist/);
    assert.equal(report.results.extra?.reward, result.reward);
    // plain JSON: survives a round trip unchanged
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { loadTask, materializeDir, parseDuration, parseSize, rubricFromMetadata, type LoadResult } from '../src/run/load';
import type { SandboxFile } from '../src/sandbox/types';
import { fixturesDir, tempDirs } from './util';

const tmp = tempDirs('load');
/** Write files (path -> text, or `{ mode }` / `null` for an empty folder) under a new temp dir. */
function tree(spec: Record<string, string | Buffer | null | { text: string; mode: number }>, dir = tmp()): string {
  for (const [rel, v] of Object.entries(spec)) {
    const p = join(dir, rel);
    if (v === null) {
      fs.mkdirSync(p, { recursive: true });
      continue;
    }
    fs.mkdirSync(join(p, '..'), { recursive: true });
    if (typeof v === 'string' || Buffer.isBuffer(v)) fs.writeFileSync(p, v);
    else {
      fs.writeFileSync(p, v.text);
      fs.chmodSync(p, v.mode);
    }
  }
  return dir;
}
const clawtask = (path: string): LoadResult => loadTask({ kind: 'clawtask', path });
const clawgym = (path: string): LoadResult => loadTask({ kind: 'clawgym', path });
function loaded(r: LoadResult): NonNullable<LoadResult['task']> {
  assert.equal(r.error, undefined, r.error);
  assert.ok(r.task);
  return r.task;
}
/** `path type mode size` lines, for readable comparisons. */
const listing = (files: readonly SandboxFile[]): string[] =>
  files.map((f) => `${f.path} ${f.type ?? 'file'} ${(f.mode ?? 0).toString(8)}${f.type === 'directory' ? '' : ` ${f.content.length}`}`);
const text = (files: readonly SandboxFile[], path: string): string => {
  const f = files.find((x) => x.path === path);
  assert.ok(f, `no ${path} in ${listing(files).join(', ')}`);
  return Buffer.from(f.content).toString('utf8');
};
const HEAD = 'version: 1\nid: t\nintent: Do the thing.\n';
const CHECKS = 'verifier:\n  checks:\n    - id: out\n      file_exists: out.txt\n';

describe('parseDuration / parseSize', () => {
  test('durations in every unit, and seconds as numbers', () => {
    assert.equal(parseDuration(120), 120_000);
    assert.equal(parseDuration(0.5), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5 m'), 90_000);
    assert.throws(() => parseDuration('soon'), /invalid duration/);
  });
  test('sizes are binary, as Docker reads them', () => {
    assert.equal(parseSize(1000), 1000);
    assert.equal(parseSize('512m'), 512 * 1024 ** 2);
    assert.equal(parseSize('2g'), 2 * 1024 ** 3);
    assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
    assert.equal(parseSize('100k'), 102_400);
    assert.equal(parseSize('7b'), 7);
    assert.throws(() => parseSize('lots'), /invalid size/);
  });
});

describe('loadTask: .clawtask', () => {
  test('defaults of a minimal task', () => {
    const t = loaded(clawtask(join(fixturesDir, 'valid', 'minimal.clawtask')));
    assert.equal(t.id, 'minimal');
    assert.deepEqual(t.source, { kind: 'clawtask', path: join(fixturesDir, 'valid', 'minimal.clawtask') });
    assert.equal(t.baseDir, join(fixturesDir, 'valid'));
    assert.equal(t.intent, 'Create hello.txt containing the word hello.');
    assert.deepEqual(t.metadata, {});
    assert.equal(t.root, '/workspace');
    assert.equal(t.image, undefined);
    assert.deepEqual(t.files, []);
    assert.deepEqual(t.setup, []);
    assert.deepEqual(t.env, {});
    assert.equal(t.network, 'none');
    assert.deepEqual(t.resources, {});
    assert.deepEqual(t.agent, {});
    assert.deepEqual(t.verifier, {
      timeoutMs: 120_000,
      passThreshold: 1,
      checks: [{ id: 'hello-exists', file_exists: 'hello.txt' }],
      rubric: [],
      weights: { code: 1, rubric: 0 },
    });
    assert.equal(t.solution, undefined);
  });

  test('every field of a full task (fixture valid/clawgym-root)', () => {
    const dir = join(fixturesDir, 'valid', 'clawgym-root');
    const t = loaded(clawtask(join(dir, 'task.clawtask')));
    assert.equal(t.id, 'task_0042');
    assert.equal(t.root, '/root/.openclaw/workspace');
    assert.equal(t.image, 'clawgym/sandbox:latest');
    assert.match(t.intent, /^I'm trying to support my partner/);
    assert.ok(t.intent.endsWith('Save all outputs under output/.\n'));
    assert.deepEqual(t.metadata, {
      source: 'clawgym',
      grading_type: 'hybrid',
      rule: [{ name: 'summary', file_path: 'output/reports/summary.md', scores: { '0': 'none', '1': 'full' } }],
    });
    assert.deepEqual(listing(t.files), ['/root/.openclaw/workspace/input directory 755', '/root/.openclaw/workspace/input/checkins.jsonl file 644 26']);
    assert.deepEqual(t.setup, ['mkdir -p output']);
    assert.deepEqual(t.env, { TZ: 'UTC', SEED: '7', DEBUG: 'false' });
    assert.equal(t.network, 'none');
    assert.deepEqual(t.resources, { cpus: 1.5, memoryBytes: 2 * 1024 ** 3, pids: 256 });
    assert.deepEqual(t.agent, { maxSteps: 40, timeoutMs: 15 * 60_000 });
    assert.equal(t.verifier.timeoutMs, 120_000);
    assert.equal(t.verifier.checks.length, 2);
    assert.deepEqual(t.verifier.rewardScript, { hostDir: join(dir, 'reward'), script: 'reward.sh', weight: 1 });
    assert.deepEqual(t.verifier.rubric.map((r) => r.id), ['summary-sections']);
    assert.deepEqual(t.verifier.weights, { code: 0.7, rubric: 0.3 });
  });

  test('inline files are UTF-8; `from` files keep their bytes and take the given mode (default 644)', () => {
    const dir = tree({
      'files/data.bin': Buffer.from([0, 1, 2, 255, 254]),
      'files/run.sh': { text: '#!/bin/sh\necho hi\n', mode: 0o755 },
      't.clawtask':
        HEAD +
        'workspace:\n  files:\n    notes/é ü.md: "naïve café ☕\\n"\n    empty.txt: ""\n    bin/data.bin: { from: files/data.bin }\n' +
        '    tools/run.sh: { from: files/run.sh, mode: "0755" }\n    tools/plain.sh: { from: files/run.sh }\n' +
        CHECKS,
    });
    const t = loaded(clawtask(join(dir, 't.clawtask')));
    assert.deepEqual(listing(t.files), [
      '/workspace/notes/é ü.md file 644 17',
      '/workspace/empty.txt file 644 0',
      '/workspace/bin/data.bin file 644 5',
      '/workspace/tools/run.sh file 755 18',
      '/workspace/tools/plain.sh file 644 18',
    ]);
    assert.equal(text(t.files, '/workspace/notes/é ü.md'), 'naïve café ☕\n');
    assert.deepEqual([...t.files[2]!.content], [0, 1, 2, 255, 254]);
  });

  test('from_dir is copied byte for byte: empty files, spaces, dot-files, deep paths, empty folders, modes', () => {
    const dir = tree({
      'in/input/a b/c d.txt': 'spaces\n',
      'in/input/.hidden': 'dot\n',
      'in/.env': 'TOP=1\n',
      'in/input/empty.txt': '',
      'in/input/deep/er/and/deeper/x.csv': 'a,b\n1,2\n',
      'in/input/nothing here': null,
      'in/input/tool.py': { text: 'print(1)\n', mode: 0o750 },
      'in/input/crlf.txt': 'a\r\nb\r\n',
      't.clawtask': HEAD + 'workspace:\n  from_dir: in\n' + CHECKS,
    });
    fs.chmodSync(join(dir, 'in/input/nothing here'), 0o700);
    const t = loaded(clawtask(join(dir, 't.clawtask')));
    assert.deepEqual(listing(t.files), [
      '/workspace/.env file 644 6',
      '/workspace/input directory 755',
      '/workspace/input/.hidden file 644 4',
      '/workspace/input/a b directory 755',
      '/workspace/input/a b/c d.txt file 644 7',
      '/workspace/input/crlf.txt file 644 6',
      '/workspace/input/deep directory 755',
      '/workspace/input/deep/er directory 755',
      '/workspace/input/deep/er/and directory 755',
      '/workspace/input/deep/er/and/deeper directory 755',
      '/workspace/input/deep/er/and/deeper/x.csv file 644 8',
      '/workspace/input/empty.txt file 644 0',
      '/workspace/input/nothing here directory 700',
      '/workspace/input/tool.py file 750 9',
    ]);
    assert.equal(text(t.files, '/workspace/input/crlf.txt'), 'a\r\nb\r\n');
  });

  test('from_dir { path, to } copies the folder under `to` (the folder itself arrives, with its mode)', () => {
    const dir = tree({ 'in/a.txt': 'a', 'in/empty': null, 't.clawtask': HEAD + 'workspace:\n  root: /w\n  from_dir: { path: in, to: data/sub }\n' + CHECKS });
    fs.chmodSync(join(dir, 'in'), 0o750);
    assert.deepEqual(listing(loaded(clawtask(join(dir, 't.clawtask'))).files), ['/w/data/sub directory 750', '/w/data/sub/a.txt file 644 1', '/w/data/sub/empty directory 755']);
    // `to: .` is the root itself: no entry for it
    fs.writeFileSync(join(dir, 't.clawtask'), HEAD + 'workspace:\n  root: /w\n  from_dir: { path: in, to: ./ }\n' + CHECKS);
    assert.deepEqual(listing(loaded(clawtask(join(dir, 't.clawtask'))).files), ['/w/a.txt file 644 1', '/w/empty directory 755']);
    // the fixture
    const fx = loaded(clawtask(join(fixturesDir, 'valid', 'from-dir-to', 'task.clawtask')));
    assert.deepEqual(listing(fx.files), [
      '/root/.openclaw/workspace/data directory 755',
      '/root/.openclaw/workspace/data/recipes directory 755',
      '/root/.openclaw/workspace/data/recipes/.keep file 644 0',
      '/root/.openclaw/workspace/data/recipes/index.csv file 644 39',
    ]);
  });

  test('from_dir { path, to } with an escaping `to` is refused by validation', () => {
    const dir = tree({ 'in/a.txt': 'a', 't.clawtask': HEAD + 'workspace:\n  from_dir: { path: in, to: ../up }\n' + CHECKS });
    const r = clawtask(join(dir, 't.clawtask'));
    assert.equal(r.task, undefined);
    assert.match(r.error ?? '', /`\.\.\/up` leaves `workspace.root` through `\.\.` \[path-escape\]$/);
  });

  test('from_dir: a symlink inside the folder is copied as what it points to', () => {
    const dir = tree({ 'in/real.txt': { text: 'real\n', mode: 0o600 }, 'in/sub/x.txt': 'x', 't.clawtask': HEAD + 'workspace:\n  from_dir: in\n' + CHECKS });
    fs.symlinkSync('real.txt', join(dir, 'in/link.txt'));
    fs.symlinkSync('sub', join(dir, 'in/linked-sub'));
    const t = loaded(clawtask(join(dir, 't.clawtask')));
    assert.deepEqual(listing(t.files), [
      '/workspace/link.txt file 600 5',
      '/workspace/linked-sub directory 755',
      '/workspace/linked-sub/x.txt file 644 1',
      '/workspace/real.txt file 600 5',
      '/workspace/sub directory 755',
      '/workspace/sub/x.txt file 644 1',
    ]);
    assert.equal(text(t.files, '/workspace/link.txt'), 'real\n');
  });

  const refusals: [string, (dir: string) => void, RegExp][] = [
    ['a symlink to an absolute path outside', (d) => fs.symlinkSync('/etc/hostname', join(d, 'in/host')), /symbolic link `host` points outside the copied folder \(`\/etc\/hostname`\)/],
    ['a symlink climbing out with ..', (d) => fs.symlinkSync('../t.clawtask', join(d, 'in/up')), /symbolic link `up` points outside the copied folder/],
    ['a dangling symlink', (d) => fs.symlinkSync('nowhere.txt', join(d, 'in/dangling')), /symbolic link `dangling` is dangling/],
    ['a symlink loop', (d) => fs.symlinkSync('.', join(d, 'in/loop')), /symbolic link `loop` makes a loop/],
    ['a FIFO', (d) => execFileSync('mkfifo', [join(d, 'in/pipe')]), /`pipe` is a FIFO \(named pipe\), not a regular file or folder/],
  ];
  for (const [name, plant, message] of refusals) {
    test(`from_dir: ${name} refuses the task`, () => {
      const dir = tree({ 'in/ok.txt': 'ok', 't.clawtask': HEAD + 'workspace:\n  from_dir: in\n' + CHECKS });
      plant(dir);
      const r = clawtask(join(dir, 't.clawtask'));
      assert.equal(r.task, undefined);
      assert.match(r.error ?? '', message);
      const diags = r.reports.flatMap((x) => x.diagnostics);
      assert.ok(diags.some((d) => d.severity === 'error' && message.test(d.message)));
    });
  }

  test('from_dir itself may not be a symlink leaving the task folder', () => {
    const outside = tree({ 'secret.txt': 's' });
    const dir = tree({ 't.clawtask': HEAD + 'workspace:\n  from_dir: in\n' + CHECKS });
    fs.symlinkSync(outside, join(dir, 'in'));
    const r = clawtask(join(dir, 't.clawtask'));
    assert.equal(r.task, undefined);
    assert.match(r.error ?? '', /`workspace.from_dir` `in` resolves to .* outside the task's folder \[symlink-escape\]/);
  });

  test('a `from` file that is a symlink out of the task folder is refused', () => {
    const outside = tree({ 'secret.txt': 's' });
    const dir = tree({ 't.clawtask': HEAD + 'workspace:\n  files:\n    a.txt: { from: files/a.txt }\n' + CHECKS });
    fs.mkdirSync(join(dir, 'files'));
    fs.symlinkSync(join(outside, 'secret.txt'), join(dir, 'files/a.txt'));
    const r = clawtask(join(dir, 't.clawtask'));
    assert.equal(r.task, undefined);
    assert.match(r.error ?? '', /`from` `files\/a.txt` resolves to .*outside the task's folder/);
  });

  test('listed files win over from_dir; a file where from_dir has a folder is refused', () => {
    const dir = tree({ 'in/a.txt': 'from dir', 'in/sub/b.txt': 'b', 't.clawtask': HEAD + 'workspace:\n  from_dir: in\n  files:\n    a.txt: "inline"\n' + CHECKS });
    const t = loaded(clawtask(join(dir, 't.clawtask')));
    assert.equal(text(t.files, '/workspace/a.txt'), 'inline');
    assert.equal(t.files.filter((f) => f.path === '/workspace/a.txt').length, 1);

    fs.writeFileSync(join(dir, 't.clawtask'), HEAD + 'workspace:\n  from_dir: in\n  files:\n    sub: "x"\n    a.txt/c: "y"\n' + CHECKS);
    const r = clawtask(join(dir, 't.clawtask'));
    assert.equal(r.task, undefined);
    const messages = r.reports.flatMap((x) => x.diagnostics.map((d) => d.message));
    assert.ok(messages.some((m) => /`sub` is both a file and a folder/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /`a.txt\/c` is below `a.txt`, which is a file/.test(m)), messages.join('\n'));
  });

  test('workspace.root, env, setup, network, resources, agent and verifier values', () => {
    const dir = tree({
      'reward/reward.sh': 'echo 1\n',
      'reward/check.py': 'print(1)\n',
      'sol/solve.sh': 'echo solved > out.txt\n',
      't.clawtask':
        HEAD +
        'workspace:\n  root: /srv/work/\n  setup: mkdir -p out\n  env: { A: 1, B: true, C: x, D: 1.5 }\n  network: open\n  resources: { memory: 512m, cpus: 0.5 }\n' +
        'agent: { timeout: 90 }\n' +
        'verifier:\n  timeout: 30s\n  pass_threshold: 0.5\n  reward_script: reward/reward.sh\n  reward_weight: 2\n' +
        '  rubric:\n    - { id: r1, criterion: Nice }\n  weights: { code: 0.5, rubric: 0.5 }\n' +
        'solution: { from: sol/solve.sh }\n',
    });
    const t = loaded(clawtask(join(dir, 't.clawtask')));
    assert.equal(t.root, '/srv/work');
    assert.deepEqual(t.setup, ['mkdir -p out']);
    assert.deepEqual(t.env, { A: '1', B: 'true', C: 'x', D: '1.5' });
    assert.equal(t.network, 'open');
    assert.deepEqual(t.resources, { cpus: 0.5, memoryBytes: 512 * 1024 ** 2 });
    assert.deepEqual(t.agent, { timeoutMs: 90_000 });
    assert.equal(t.verifier.timeoutMs, 30_000);
    assert.equal(t.verifier.passThreshold, 0.5);
    assert.deepEqual(t.verifier.rewardScript, { hostDir: join(dir, 'reward'), script: 'reward.sh', weight: 2 });
    assert.deepEqual(t.verifier.weights, { code: 0.5, rubric: 0.5 });
    assert.deepEqual(t.solution, { script: 'echo solved > out.txt\n', origin: join(dir, 'sol/solve.sh') });
  });

  test('a rubric without weights blends 0.7/0.3; an inline solution script', () => {
    const dir = tree({
      't.clawtask': HEAD + CHECKS + '  rubric:\n    - { id: r1, file: out.txt, criterion: Nice }\nsolution:\n  script: |\n    echo hi > out.txt\n',
    });
    const t = loaded(clawtask(join(dir, 't.clawtask')));
    assert.deepEqual(t.verifier.weights, { code: 0.7, rubric: 0.3 });
    assert.deepEqual(t.solution, { script: 'echo hi > out.txt\n', origin: `${join(dir, 't.clawtask')} (solution.script)` });
  });

  test('a reward script whose folder holds an escaping symlink is refused', () => {
    const dir = tree({ 'reward/reward.sh': 'echo 1\n', 't.clawtask': HEAD + 'verifier:\n  reward_script: reward/reward.sh\n' });
    fs.symlinkSync('/etc', join(dir, 'reward/etc'));
    const r = clawtask(join(dir, 't.clawtask'));
    assert.equal(r.task, undefined);
    assert.match(r.error ?? '', /the reward script's folder: symbolic link `etc` points outside/);
  });

  test('a task with validation errors is refused with the diagnostics; warnings alone load', () => {
    const r = clawtask(join(fixturesDir, 'invalid', 'path-escape.clawtask'));
    assert.equal(r.task, undefined);
    assert.match(r.error ?? '', /path-escape\.clawtask:\d+:\d+: .* \[path-escape\] \(and \d+ more errors?\)$/);
    assert.ok(r.reports[0]!.text);
    assert.ok(r.reports[0]!.diagnostics.some((d) => d.code === 'path-escape'));

    const dir = tree({ 'in/out.txt': 'x', 't.clawtask': HEAD + 'workspace:\n  from_dir: in\n' + CHECKS });
    const w = clawtask(join(dir, 't.clawtask'));
    assert.ok(w.task, w.error);
    assert.deepEqual(w.reports[0]!.diagnostics.map((d) => `${d.severity} ${d.code}`), ['warning check-passes-untouched']);
  });

  test('a missing or unreadable file is a clear error; a byte-order mark is ignored', () => {
    const r = clawtask('/nonexistent/x.clawtask');
    assert.equal(r.task, undefined);
    assert.match(r.error ?? '', /^\/nonexistent\/x\.clawtask: the file does not exist/);
    const dir = tree({ 't.clawtask': '\uFEFF' + HEAD + CHECKS });
    assert.equal(loaded(clawtask(join(dir, 't.clawtask'))).id, 't');
    assert.match(clawtask(dir).error ?? '', /the file is a directory, not a regular file \[special-file\]/);
  });

  test('every valid fixture loads', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.clawtask')) files.push(join(d, e.name));
      }
    };
    walk(join(fixturesDir, 'valid'));
    assert.ok(files.length >= 14);
    for (const f of files) assert.ok(clawtask(f).task, `${f}: ${clawtask(f).error}`);
  });
});

describe('loadTask: ClawGym task directories', () => {
  const valid = join(fixturesDir, 'clawgym', 'valid');

  test('the contract: root, inputs at input_mount_dir, reward folder, 120 s, metadata passed through', () => {
    const dir = join(valid, 'task_0102');
    const t = loaded(clawgym(dir));
    const entry = JSON.parse(fs.readFileSync(join(dir, 'data_entry.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(t.id, 'task_0102');
    assert.deepEqual(t.source, { kind: 'clawgym', path: dir });
    assert.equal(t.baseDir, dir);
    assert.equal(t.intent, entry.user_query);
    assert.deepEqual(t.metadata, entry.metadata);
    assert.equal(t.root, '/root/.openclaw/workspace');
    assert.deepEqual(listing(t.files), [
      '/root/.openclaw/workspace/input directory 755',
      '/root/.openclaw/workspace/input/notes directory 755',
      '/root/.openclaw/workspace/input/notes/2024-04-02 planning.md file 644 208',
      '/root/.openclaw/workspace/input/notes/2024-04-16 no notes.md file 644 0',
      '/root/.openclaw/workspace/input/notes/2024-04-30 follow-up.md file 644 208',
    ]);
    assert.deepEqual(t.verifier, {
      timeoutMs: 120_000,
      passThreshold: 1,
      checks: [],
      rewardScript: { hostDir: join(dir, 'reward'), script: 'reward.sh', weight: 1 },
      rubric: [],
      weights: { code: 1, rubric: 0 },
    });
    assert.equal(t.network, 'none');
    assert.equal(t.solution, undefined);
  });

  test('a relative input_mount_dir is a folder under the root; absent means no inputs', () => {
    const t = loaded(clawgym(join(valid, 'task_0106')));
    assert.deepEqual(listing(t.files), ['/root/.openclaw/workspace/data directory 755', '/root/.openclaw/workspace/data/recipes.json file 644 535']);
    assert.deepEqual(loaded(clawgym(join(valid, 'task_0105'))).files, []);

    const dir = tree({
      'data_entry.json': JSON.stringify({ task_id: 'x', user_query: 'q', metadata: {} }),
      'input_files/a.txt': 'a',
      'reward/reward.sh': 'echo 1\n',
    });
    const r = clawgym(dir);
    assert.deepEqual(loaded(r).files, []);
    assert.ok(r.reports.flatMap((x) => x.diagnostics).some((d) => d.code === 'inputs-ignored'));
  });

  test('an absolute input_mount_dir outside the root is honoured as given', () => {
    const dir = tree({
      'data_entry.json': JSON.stringify({ task_id: 'x', user_query: 'q', metadata: {}, input_mount_dir: '/data/in/' }),
      'input_files/a.txt': 'a',
      'reward/reward.sh': 'echo 1\n',
    });
    assert.deepEqual(listing(loaded(clawgym(dir)).files), ['/data/in directory 755', '/data/in/a.txt file 644 1']);
  });

  test('a hybrid task: metadata.rule becomes rubric entries, blended 0.7/0.3; metadata untouched', () => {
    const dir = join(valid, 'task_0104');
    const t = loaded(clawgym(dir));
    const entry = JSON.parse(fs.readFileSync(join(dir, 'data_entry.json'), 'utf8')) as { metadata: { rule: { name: string; scores: Record<string, string> }[] } };
    assert.deepEqual(t.metadata, entry.metadata);
    assert.deepEqual(
      t.verifier.rubric.map((r) => [r.id, r.file, r.criterion]),
      entry.metadata.rule.map((r) => [r.name.toLowerCase().replace(/[^a-z0-9]+/g, '-'), 'output/README.md', r.name]),
    );
    assert.deepEqual(t.verifier.rubric[0]!.scores, entry.metadata.rule[0]!.scores);
    assert.deepEqual(t.verifier.weights, { code: 0.7, rubric: 0.3 });
  });

  test('rubricFromMetadata: unique ids, absolute file paths, odd items', () => {
    const r = rubricFromMetadata({
      rule: [
        { name: 'Same', file_path: '/root/.openclaw/workspace/out/a.md', scores: { '0': 'no', '1': 'yes', '2': 'ignored', '0.5': 7 } },
        { name: 'Same', file_path: '/etc/passwd' },
        { name: '' },
        'not a rule',
        { name: '✓✓' },
      ],
    });
    assert.deepEqual(r, [
      { id: 'same', criterion: 'Same', file: 'out/a.md', scores: { '0': 'no', '1': 'yes' } },
      { id: 'same-2', criterion: 'Same (file: /etc/passwd)' },
      { id: 'rule-3', criterion: 'Rule 3' },
      { id: 'rule-5', criterion: '✓✓' },
    ]);
    assert.deepEqual(rubricFromMetadata({ rule: 'free text' }), []);
  });

  test('solution/solve.sh is the solution when present', () => {
    const dir = tree({
      'data_entry.json': JSON.stringify({ task_id: 'x', user_query: 'q', metadata: {} }),
      'reward/reward.sh': 'echo 1\n',
      'solution/solve.sh': '#!/bin/bash\necho done\n',
    });
    assert.deepEqual(loaded(clawgym(dir)).solution, { script: '#!/bin/bash\necho done\n', origin: join(dir, 'solution/solve.sh') });
  });

  test('an input symlink to the grader (inside the task dir, outside input_files/) is refused', () => {
    const dir = tree({
      'data_entry.json': JSON.stringify({ task_id: 'x', user_query: 'q', metadata: {}, input_mount_dir: '/root/.openclaw/workspace' }),
      'input_files/a.txt': 'a',
      'reward/reward.sh': 'echo 1\n',
      'reward/check.py': 'secret grader\n',
    });
    fs.symlinkSync('../reward/check.py', join(dir, 'input_files/peek.py'));
    const r = clawgym(dir);
    assert.equal(r.task, undefined);
    assert.match(r.error ?? '', /symbolic link `peek.py` points outside the copied folder/);
  });

  test('invalid task directories are refused with their diagnostics', () => {
    const invalid = join(fixturesDir, 'clawgym', 'invalid');
    for (const name of ['missing-reward', 'missing-data-entry', 'invalid-json', 'missing-fields', 'mount-dir-escape', 'symlink-escape-input']) {
      const r = clawgym(join(invalid, name));
      assert.equal(r.task, undefined, name);
      assert.ok(r.error, name);
      assert.ok(r.reports.some((x) => x.diagnostics.some((d) => d.severity === 'error')), name);
    }
  });

  test('every valid fixture loads', () => {
    for (const name of fs.readdirSync(valid)) assert.ok(clawgym(join(valid, name)).task, name);
  });
});

describe('materializeDir', () => {
  test('a missing folder is a problem, not a throw', () => {
    const m = materializeDir('/nonexistent/folder', '/w');
    assert.deepEqual(m.files, []);
    assert.equal(m.problems[0]!.code, 'from-missing');
  });
  test('names that are not valid UTF-8 are refused (they could not be copied exactly)', () => {
    const dir = tmp();
    // A raw 0xff byte in a name (Linux allows it).
    fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/bad'), Buffer.from([0xff])]), 'x');
    const m = materializeDir(dir, '/w');
    assert.match(m.problems[0]?.message ?? '', /not valid UTF-8/);
  });
});

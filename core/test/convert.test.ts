import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join, relative } from 'node:path';
import { clawtaskFromClawGym, exportClawGym, importClawGym, type ConvertReport } from '../src/clawgym/convert';
import { checkPySource, checkPySpec, jsRegexToPython, rewardShSource } from '../src/clawgym/checkPy';
import { readClawGymTask } from '../src/clawgym/task';
import { createTaskDocument, nodeFileSystem, validateTask } from '../src/language';
import { loadTask } from '../src/run/load';
import type { CheckModel } from '../src/run/types';
import { parseTask } from '../src/syntax';
import { assertDocker, needsDocker, TEST_IMAGE } from './docker';
import { fixturesDir, tempDirs } from './util';

const validDir = join(fixturesDir, 'clawgym', 'valid');
const tmp = tempDirs('convert');
type Spec = Record<string, string | Buffer | null | { text: string | Buffer; mode: number } | { link: string }>;
/** Files (path -> content), empty folders (null), modes and symlinks under a folder. */
function tree(spec: Spec, dir = tmp()): string {
  for (const [rel, v] of Object.entries(spec)) {
    const p = join(dir, rel);
    if (v === null) {
      fs.mkdirSync(p, { recursive: true });
      continue;
    }
    fs.mkdirSync(join(p, '..'), { recursive: true });
    if (typeof v === 'string' || Buffer.isBuffer(v)) fs.writeFileSync(p, v);
    else if ('link' in v) fs.symlinkSync(v.link, p);
    else {
      fs.writeFileSync(p, v.text);
      fs.chmodSync(p, v.mode);
    }
  }
  return dir;
}
/** Every entry under a folder: type, permission bits and content (symlink targets as written). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string): void => {
    for (const name of fs.readdirSync(abs).sort()) {
      const p = join(abs, name);
      const st = fs.lstatSync(p);
      const rel = relative(dir, p);
      if (st.isSymbolicLink()) out[rel] = `link -> ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o777).toString(8)}`;
        walk(p);
      } else out[rel] = `file ${(st.mode & 0o777).toString(8)} ${fs.readFileSync(p).toString('base64')}`;
    }
  };
  walk(dir);
  return out;
}
function ok(r: ConvertReport): void {
  assert.deepEqual(r.failed, [], JSON.stringify(r.failed, null, 1));
}
const dataEntry = (o: Record<string, unknown>): string => JSON.stringify({ task_id: 'x', user_query: 'Do it.', metadata: {}, ...o }, null, 2) + '\n';
const REWARD = { 'reward/reward.sh': 'echo 1\n', 'reward/check.py': 'print("{}")\n' };

describe('import then export', () => {
  test('gives byte-identical trees for every valid ClawGym fixture (files, bytes, modes)', () => {
    const out = tmp();
    const imp = importClawGym([validDir], join(out, 'clawtask'));
    ok(imp);
    const names = fs.readdirSync(validDir).sort();
    assert.deepEqual(imp.converted.map((c) => c.id), names);
    const exp = exportClawGym([join(out, 'clawtask')], join(out, 'clawgym'));
    ok(exp);
    assert.deepEqual(fs.readdirSync(join(out, 'clawgym')).sort(), names);
    for (const name of names) assert.deepEqual(snapshot(join(out, 'clawgym', name)), snapshot(join(validDir, name)), name);
  });

  test('the imported .clawtask files validate without errors and load to the same task as the directories', () => {
    const out = tmp();
    ok(importClawGym([validDir], out));
    for (const name of fs.readdirSync(validDir)) {
      const file = join(out, name, `${name}.clawtask`);
      const text = fs.readFileSync(file, 'utf8');
      const errors = validateTask(createTaskDocument(file, 0, text), nodeFileSystem).filter((d) => d.severity === 'error');
      assert.deepEqual(errors, [], name);
      const mine = loadTask({ kind: 'clawtask', path: file }).task!;
      const theirs = loadTask({ kind: 'clawgym', path: join(validDir, name) }).task!;
      assert.ok(mine && theirs, name);
      assert.deepEqual(mine.files, theirs.files, name);
      assert.equal(mine.root, theirs.root);
      assert.equal(mine.intent, theirs.intent);
      assert.deepEqual(mine.metadata, theirs.metadata);
      assert.deepEqual(mine.verifier.rubric, theirs.verifier.rubric);
      assert.deepEqual(mine.verifier.weights, theirs.verifier.weights);
      assert.equal(mine.verifier.timeoutMs, 120_000);
      assert.equal(mine.verifier.rewardScript?.script, 'reward.sh');
      assert.deepEqual(snapshot(mine.verifier.rewardScript!.hostDir), snapshot(theirs.verifier.rewardScript!.hostDir));
    }
  });

  test('edge cases survive the round trip: empty folders and files, spaces, dot-files, modes, inner symlinks, solution, key order', () => {
    const src = tmp();
    const task = tree(
      {
        // integer-like keys after others: a JS object would reorder them
        'data_entry.json': '{\n  "task_id": "edge-1",\n  "user_query": "Look at in/ and fix it.",\n  "metadata": {"z": 1, "rule": [{"name": "R", "file_path": "out.md", "scores": {"1": "all", "0.5": "half", "0": "none"}}], "1.0": 1.0, "a": [true, null]},\n  "input_mount_dir": "in"\n}',
        'input_files/.hidden': 'h',
        'input_files/with space/file name.txt': 'x\r\ny',
        'input_files/empty.txt': '',
        'input_files/empty dir': null,
        'input_files/deep/er/est/f.bin': Buffer.from([0, 255, 10, 13]),
        'input_files/run.sh': { text: '#!/bin/sh\n', mode: 0o755 },
        'input_files/private': { text: 'p', mode: 0o600 },
        'input_files/link.txt': { link: 'empty.txt' },
        'reward/reward.sh': { text: 'echo 1\n', mode: 0o755 },
        'reward/check.py': 'print("{}")\n',
        'reward/helpers/empty': null,
        'solution/solve.sh': { text: '#!/bin/bash\ntouch in/out.md\n', mode: 0o755 },
        'NOTES.txt': 'kept beside',
      },
      join(src, 'edge-1'),
    );
    const out = tmp();
    const imp = importClawGym([task], join(out, 'a'));
    ok(imp);
    const file = join(out, 'a', 'edge-1', 'edge-1.clawtask');
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /from_dir:\n {4}path: input_files\n {4}to: in\n/);
    assert.match(text, /solution:\n {2}from: solution\/solve.sh\n/);
    assert.match(text, /"1": all\n\s+"0.5": half\n\s+"0": none/, 'metadata keeps its key order');
    // the copy beside the .clawtask is the whole directory, byte for byte
    const copy = snapshot(join(out, 'a', 'edge-1'));
    delete copy['edge-1.clawtask'];
    assert.deepEqual(copy, snapshot(task));

    ok(exportClawGym([file], join(out, 'b')));
    const back = snapshot(join(out, 'b', 'edge-1'));
    const orig = snapshot(task);
    delete orig['NOTES.txt']; // export writes the ClawGym parts only
    // a symlink inside input_files comes back as the file it points to (the loader's rule)
    assert.equal(back['input_files/link.txt'], orig['input_files/empty.txt']);
    delete back['input_files/link.txt'];
    delete orig['input_files/link.txt'];
    assert.deepEqual(back, orig);
  });

  test('tricky intents survive exactly (block scalar where YAML can, quoted where it cannot)', () => {
    const intents = [
      'trailing spaces   \nand a # hash, "quotes" and key: value\n',
      'no trailing newline',
      '  leading spaces\nthen text\n',
      'unicode ☕ é 中文 \u{1F600}\n\ttab\n',
      'windows\r\nline\r\nbreaks\r\n',
      'ends with blank lines\n\n\n',
      '   ',
      '---\n...\n- not a list\n',
      'lone\rcarriage return',
      'x\n   \n',
    ];
    for (const [i, intent] of intents.entries()) {
      const dir = tree({ 'data_entry.json': dataEntry({ task_id: `t${i}`, user_query: intent }), ...REWARD });
      const out = tmp();
      const imp = importClawGym([dir], out);
      ok(imp);
      const text = fs.readFileSync(imp.converted[0]!.file!, 'utf8');
      assert.equal((parseTask(text).value as { intent: string }).intent, intent, JSON.stringify(intent));
      if (!intent.includes('\r') && intent.trim() !== '') assert.match(text, /^intent: \|/m, `${JSON.stringify(intent)} is a block scalar`);
      // and back: the kept data_entry.json agrees, so its exact text returns
      const exp = exportClawGym([imp.converted[0]!.file!], join(out, 'back'));
      ok(exp);
      assert.equal(fs.readFileSync(join(out, 'back', `t${i}`, 'data_entry.json'), 'utf8'), fs.readFileSync(join(dir, 'data_entry.json'), 'utf8'));
    }
  });

  test('input_mount_dir: absolute under the root becomes `to`; outside the root is refused; absent means no from_dir', () => {
    const under = tree({ 'data_entry.json': dataEntry({ input_mount_dir: '/root/.openclaw/workspace/input/' }), 'input_files/a.txt': 'a', ...REWARD });
    const r = importClawGym([under], tmp());
    ok(r);
    assert.match(fs.readFileSync(r.converted[0]!.file!, 'utf8'), /from_dir:\n {4}path: input_files\n {4}to: input\n/);

    const outside = tree({ 'data_entry.json': dataEntry({ input_mount_dir: '/data' }), 'input_files/a.txt': 'a', ...REWARD });
    const o = importClawGym([outside], tmp());
    assert.equal(o.converted.length, 0);
    assert.match(o.failed[0]!.error, /input_mount_dir `\/data` is outside the workspace root/);

    const absent = tree({ 'data_entry.json': dataEntry({}), 'input_files/a.txt': 'a', ...REWARD });
    const a = importClawGym([absent], tmp());
    ok(a);
    assert.doesNotMatch(fs.readFileSync(a.converted[0]!.file!, 'utf8'), /from_dir/);
    assert.ok(a.converted[0]!.warnings.some((w) => /inputs-ignored/.test(w)));
  });

  test('never loses a task silently: per-task errors, duplicates, missing paths; the others are imported', () => {
    const split = tmp();
    tree({ 'good/data_entry.json': dataEntry({ task_id: 'good' }), 'good/reward/reward.sh': 'echo 1\n' }, split);
    tree({ 'dup/data_entry.json': dataEntry({ task_id: 'good' }), 'dup/reward/reward.sh': 'echo 1\n' }, split);
    tree({ 'broken/data_entry.json': '{"task_id": "broken",', 'broken/reward/reward.sh': 'echo 1\n' }, split);
    tree({ 'bad id/data_entry.json': dataEntry({ task_id: 'bad id' }), 'bad id/reward/reward.sh': 'echo 1\n' }, split);
    const r = importClawGym([split, join(split, 'nowhere'), join(fixturesDir, 'clawgym', 'invalid', 'symlink-escape-input')], tmp());
    // tasks go in name order: `dup` comes first and takes the id, `good` is then the duplicate
    assert.deepEqual(r.converted.map((c) => [relative(split, c.source), c.id]), [['dup', 'good']]);
    const errors = Object.fromEntries(r.failed.map((f) => [f.source.startsWith(split) ? relative(split, f.source) : relative(fixturesDir, f.source), f.error]));
    assert.deepEqual(Object.keys(errors).sort(), ['bad id', 'broken', 'clawgym/invalid/symlink-escape-input', 'good', 'nowhere']);
    assert.match(errors['bad id']!, /task_id `bad id` cannot be a .clawtask id/);
    assert.match(errors.broken!, /invalid JSON/);
    assert.match(errors.good!, /task_id `good` was already imported from `.*dup`/);
    assert.equal(errors.nowhere, 'path not found');
    assert.match(errors['clawgym/invalid/symlink-escape-input']!, /symlink-escape|outside/);
    assert.ok(r.failed.find((f) => f.source.endsWith('broken'))!.reports!.length > 0);
  });

  test('refuses to overwrite without the option, replaces with it, and never writes into the source', () => {
    const dir = tree({ 'data_entry.json': dataEntry({ task_id: 'ow' }), ...REWARD }, join(tmp(), 'ow'));
    const out = tmp();
    ok(importClawGym([dir], out));
    fs.writeFileSync(join(out, 'ow', 'stale.txt'), 'old');
    const again = importClawGym([dir], out);
    assert.match(again.failed[0]?.error ?? '', /already exists \(pass overwrite/);
    assert.ok(fs.existsSync(join(out, 'ow', 'stale.txt')), 'untouched');
    ok(importClawGym([dir], out, { overwrite: true }));
    assert.ok(!fs.existsSync(join(out, 'ow', 'stale.txt')), 'replaced');
    assert.deepEqual(fs.readdirSync(out), ['ow'], 'no staging folders left');

    const inPlace = importClawGym([dir], join(dir, '..'), { overwrite: true });
    assert.match(inPlace.failed[0]?.error ?? '', /overlaps the task's own folder/);
    assert.ok(fs.existsSync(join(dir, 'data_entry.json')));

    const progress: string[] = [];
    importClawGym([dir], tmp(), { onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.ok}`) });
    assert.deepEqual(progress, ['1/1 true']);
  });

  test('clawtaskFromClawGym: rubric rules become rubric entries; metadata stays as is', () => {
    const t = readClawGymTask(join(validDir, 'task_0104')).task!;
    const { text } = clawtaskFromClawGym(t);
    const v = parseTask(text).value as { metadata: unknown; verifier: { rubric: { id: string; file: string }[]; timeout: string; reward_script: string } };
    assert.deepEqual(v.metadata, t.metadata);
    assert.deepEqual(v.verifier.rubric.map((r) => [r.id, r.file]), [['options-are-complete-and-correct', 'output/README.md'], ['written-for-non-programmers', 'output/README.md']]);
    assert.equal(v.verifier.timeout, '2m');
    assert.equal(v.verifier.reward_script, 'reward/reward.sh');
  });
});

describe('export', () => {
  const HEAD = 'version: 1\nid: e\nintent: |\n  Write out.txt.\n';

  test('refuses clearly what a ClawGym directory cannot express', () => {
    const cases: [string, string, RegExp][] = [
      ['rubric-only', HEAD + 'verifier:\n  rubric:\n    - { id: r, criterion: Good }\n', /only a rubric/],
      ['both', HEAD + 'verifier:\n  reward_script: reward/reward.sh\n  checks:\n    - { id: a, file_exists: out.txt }\n', /both checks and a reward script/],
      ['setup', HEAD + 'workspace:\n  setup: mkdir x\nverifier:\n  checks:\n    - { id: a, file_exists: out.txt }\n', /workspace.setup/],
      ['env', HEAD + 'workspace:\n  env: { A: 1 }\nverifier:\n  checks:\n    - { id: a, file_exists: out.txt }\n', /workspace.env/],
      ['unicode-class', HEAD + 'verifier:\n  checks:\n    - { id: a, file_matches: { path: out.txt, pattern: "\\\\p{L}", flags: u } }\n', /check `a`: the pattern .* cannot be exported: .*Unicode property/],
      ['invalid', HEAD + 'verifier: {}\n', /no-checks/],
    ];
    for (const [name, text, message] of cases) {
      const dir = tree({ 't.clawtask': text, 'reward/reward.sh': 'echo 1\n' });
      const out = tmp();
      const r = exportClawGym([join(dir, 't.clawtask')], out);
      assert.equal(r.converted.length, 0, name);
      assert.match(r.failed[0]!.error, message, name);
      assert.deepEqual(fs.readdirSync(out).filter((n) => n !== '.'), [], `${name}: nothing written`);
    }
  });

  test('generates data_entry.json (2-space JSON, the format key order) and says what it drops', () => {
    const dir = tree({
      't.clawtask':
        'version: 1\nid: gen\nmetadata: { b: 1, a: [x] }\nintent: "Write out.txt.\\n"\nworkspace:\n  image: custom:1\n  files:\n    in/a.txt: hello\n' +
        'verifier:\n  pass_threshold: 0.5\n  checks:\n    - { id: a, file_exists: out.txt }\n  rubric:\n    - { id: r, file: out.txt, criterion: Nice, scores: { "1": good } }\n',
    });
    const out = tmp();
    const r = exportClawGym([dir], out);
    ok(r);
    assert.equal(
      fs.readFileSync(join(out, 'gen', 'data_entry.json'), 'utf8'),
      JSON.stringify(
        {
          task_id: 'gen',
          user_query: 'Write out.txt.\n',
          metadata: { b: 1, a: ['x'], rule: [{ name: 'Nice', file_path: 'out.txt', scores: { '1': 'good' } }] },
          input_mount_dir: '/root/.openclaw/workspace',
        },
        null,
        2,
      ) + '\n',
    );
    assert.equal(fs.readFileSync(join(out, 'gen', 'input_files', 'in', 'a.txt'), 'utf8'), 'hello');
    const w = r.converted[0]!.warnings.join('\n');
    assert.match(w, /workspace.root `\/workspace` becomes/);
    assert.match(w, /workspace.image `custom:1` is not kept/);
    assert.match(w, /pass_threshold 0.5 is not kept/);
    assert.ok(fs.existsSync(join(out, 'gen', 'reward', 'check.py')));
    // and it runs as a ClawGym task directory, with the rubric back from the rules
    const back = loadTask({ kind: 'clawgym', path: join(out, 'gen') }).task!;
    assert.deepEqual(back.verifier.rubric.map((x) => [x.criterion, x.file]), [['Nice', 'out.txt']]);
  });

  test('a data_entry.json beside the task that disagrees is not used', () => {
    const dir = tree({
      't.clawtask': HEAD + 'verifier:\n  reward_script: reward/reward.sh\n',
      'data_entry.json': dataEntry({ task_id: 'e', user_query: 'Something else.' }),
      'reward/reward.sh': 'echo 1\n',
    });
    const out = tmp();
    const r = exportClawGym([join(dir, 't.clawtask')], out);
    ok(r);
    assert.match(r.converted[0]!.warnings.join('\n'), /data_entry.json beside the task was not used \(its user_query differs/);
    assert.equal(JSON.parse(fs.readFileSync(join(out, 'e', 'data_entry.json'), 'utf8')).user_query, 'Write out.txt.\n');
  });
});

// ---------------------------------------------------------------------------------------------
// check.py

const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;
const pythonGate = python ? {} : process.env.CLAWGYM_REQUIRE_DOCKER === '1' ? {} : { skip: 'needs python3 on the host' };
const hasPyYaml = python !== undefined && spawnSync('python3', ['-c', 'import yaml']).status === 0;

describe('jsRegexToPython', () => {
  // [pattern, flags, text]: the Python translation must decide as JavaScript does
  const corpus: [string, string, string][] = [
    ['^# Notes$', 'm', 'x\n# Notes\ny'],
    ['Notes$', '', '# Notes\n'],
    ['Notes$', '', '# Notes'],
    ['a.b', '', 'a\rb'],
    ['a.b', '', 'a\u2028b'],
    ['a.b', 's', 'a\rb'],
    ['\\d', '', '\u0663'],
    ['\\w', '', 'é'],
    ['\\bcat\\b', '', 'écat'],
    ['\\Bcat', '', 'écat'],
    ['\\s', '', '\u00a0'],
    ['\\S\\s\\S', '', 'a\u3000b'],
    ['[\\s]', '', '\u2003'],
    ['[\\d-z]', '', '-'],
    ['[\\w]+', '', 'é'],
    ['(?<y>\\d{4})-\\k<y>', '', '2024-2024'],
    ['(?<y>\\d{4})-\\k<y>', '', '2024-2025'],
    ['a{,2}', '', 'a{,2}'],
    ['a{,2}', '', 'aa'],
    ['x{2}', '', 'xx'],
    ['x{2,}y', '', 'xxxy'],
    ['[^]', '', '\n'],
    ['[]', '', 'a'],
    ['\\a', '', 'a'],
    ['^ok\\b', '', 'ok 1'],
    ['[\\b]', '', '\b'],
    ['\\cJ', '', '\n'],
    ['\\u00e9', '', 'é'],
    ['\\u{1F600}', 'u', '\u{1F600}'],
    ['NOTES', 'i', 'notes'],
    ['^b', 'm', 'a\rb'],
    ['a$', 'm', 'a\r\nb'],
    ['\\/path', '', '/path'],
    ['(?<=a)b', '', 'ab'],
    ['(?<!a)b', '', 'cb'],
    ['[a-c]+$', '', 'abc'],
    ['\\x41', '', 'A'],
    ['(?:ab)+', '', 'abab'],
    ['[.]', '', 'x'],
    ['[[]', '', '['],
    ['\\p', '', 'p'],
    ['}', '', '}'],
  ];

  test('rejects what Python cannot express', () => {
    assert.match((jsRegexToPython('\\p{L}', 'u') as { error: string }).error, /Unicode property/);
    assert.match((jsRegexToPython('[a', '') as { error: string }).error, /unterminated/);
    assert.match((jsRegexToPython('a\\', '') as { error: string }).error, /lone backslash/);
  });

  test('translations match as JavaScript does (run with python3)', pythonGate, () => {
    const cases = corpus.map(([p, f, text]) => {
      const t = jsRegexToPython(p, f);
      assert.ok(!('error' in t), `${p}: ${JSON.stringify(t)}`);
      return { ...t, text, js: new RegExp(p, f).test(text), p, f };
    });
    const script = 'import json, re, sys\ncases = json.load(sys.stdin)\nout = []\nfor c in cases:\n    flags = 0\n    for n in c["flags"]:\n        flags |= getattr(re, n)\n    out.append(re.compile(c["pattern"], flags).search(c["text"]) is not None)\nprint(json.dumps(out))\n';
    const r = spawnSync(python ?? 'python3', ['-W', 'ignore', '-c', script], { input: JSON.stringify(cases), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const py = JSON.parse(r.stdout) as boolean[];
    const differ = cases.filter((c, i) => py[i] !== c.js).map((c) => `/${c.p}/${c.f} on ${JSON.stringify(c.text)}: js ${c.js}, python ${!c.js}`);
    assert.deepEqual(differ, []);
    // the corpus covers both outcomes
    assert.ok(cases.some((c) => c.js) && cases.some((c) => !c.js));
  });
});

/** A workspace exercising every check kind, with the score JavaScript's verifier gives each check. */
function checkCorpus(): { ws: Spec; checks: CheckModel[]; expected: Record<string, number>; fixtures: Record<string, string> } {
  const ws: Spec = {
    'output/report.csv': 'name,score\nann,3\nbob,4.0\n"c, d",5\n',
    'output/notes.md': '# Notes\n',
    'output/other.md': 'nothing\n',
    'output/stats.json': '{"scores": {"mean": 4.5}, "counts": [3, 2.0, true], "flag": true, "nested": {"a.b": 1}}',
    'output/bom.json': '\uFEFF{"a": 1}',
    'output/conf.yaml': 'enabled: yes\nwhen: 2024-01-01\nn: 3\n',
    'output/cr.txt': 'a\rb',
    'output/digits.txt': '\u0663',
    'tools/ok.sh': 'echo "ok 1"\n',
    'link-in': { link: 'output/notes.md' },
    'link-out': { link: '/etc/hostname' },
    'empty-dir': null,
  };
  const c = (id: string, body: Record<string, unknown>, score: number, weight?: number): [CheckModel, string, number] => [
    { id, ...body, ...(weight !== undefined ? { weight } : {}) } as CheckModel,
    id,
    score,
  ];
  const rows: [CheckModel, string, number][] = [
    c('exists-file', { file_exists: 'output/report.csv' }, 1, 2),
    c('exists-dir', { file_exists: 'empty-dir' }, 1),
    c('exists-glob', { file_exists: 'output/*.csv' }, 1),
    c('exists-deep-glob', { file_exists: '**/notes.md' }, 1),
    c('exists-missing', { file_exists: 'output/nope.txt' }, 0, 3),
    c('exists-link-in', { file_exists: 'link-in' }, 1),
    c('exists-link-out', { file_exists: 'link-out' }, 0),
    c('absent-ok', { file_absent: 'output/*.tmp' }, 1),
    c('absent-bad', { file_absent: 'output/notes.md' }, 0),
    c('absent-link-out', { file_absent: 'link-out' }, 0),
    c('matches-m', { file_matches: { path: 'output/notes.md', pattern: '^# Notes$', flags: 'm' } }, 1),
    c('matches-dollar', { file_matches: { path: 'output/notes.md', pattern: 'Notes$' } }, 0),
    c('matches-dot', { file_matches: { path: 'output/cr.txt', pattern: 'a.b' } }, 0),
    c('matches-dot-s', { file_matches: { path: 'output/cr.txt', pattern: 'a.b', flags: 's' } }, 1),
    c('matches-i', { file_matches: { path: 'output/notes.md', pattern: 'NOTES', flags: 'i' } }, 1),
    c('matches-backref', { file_matches: { path: 'output/report.csv', pattern: '(?<c>b)o\\k<c>' } }, 1),
    c('matches-digit', { file_matches: { path: 'output/digits.txt', pattern: '\\d' } }, 0),
    c('matches-glob-all', { file_matches: { path: 'output/*.md', pattern: 'Notes' } }, 0),
    c('matches-glob-one', { file_matches: { path: 'output/n*.md', pattern: 'Notes' } }, 1),
    c('matches-dir', { file_matches: { path: 'output', pattern: 'x' } }, 0),
    c('matches-link', { file_matches: { path: 'link-in', pattern: 'Notes' } }, 1),
    c('equals-text', { file_equals: { path: 'output/notes.md', text: '# Notes' } }, 1),
    c('equals-from', { file_equals: { path: 'output/notes.md', from: 'fixtures/notes.md' } }, 1),
    c('equals-bad', { file_equals: { path: 'output/notes.md', text: '# notes' } }, 0),
    c('json-between', { json: { path: 'output/stats.json', query: 'scores.mean', between: [4, 5] } }, 1),
    c('json-integer', { json: { path: 'output/stats.json', query: 'counts[1]', type: 'integer' } }, 1),
    c('json-bool-not-number', { json: { path: 'output/stats.json', query: 'counts[2]', type: 'number' } }, 0),
    c('json-bool-not-1', { json: { path: 'output/stats.json', query: 'flag', equals: 1 } }, 0),
    c('json-object', { json: { path: 'output/stats.json', query: 'nested', equals: { 'a.b': 1 } } }, 1),
    c('json-quoted-key', { json: { path: 'output/stats.json', query: 'nested["a.b"]', equals: 1 } }, 1),
    c('json-negative-index', { json: { path: 'output/stats.json', query: 'counts[-1]', equals: true } }, 1),
    c('json-missing', { json: { path: 'output/stats.json', query: 'scores.median', type: 'number' } }, 0),
    c('json-bom', { json: { path: 'output/bom.json', query: 'a', equals: 1 } }, 1),
    c('csv-shape', { csv: { path: 'output/report.csv', columns: ['name', 'score'], rows: 3 } }, 1),
    c('csv-where-number', { csv: { path: 'output/report.csv', where: { name: 'bob', score: 4 } } }, 1),
    c('csv-where-quoted', { csv: { path: 'output/report.csv', where: { name: 'c, d' } } }, 1),
    c('csv-rows-bad', { csv: { path: 'output/report.csv', rows: 2 } }, 0),
    c('command-ok', { command: 'bash tools/ok.sh', stdout_matches: '^ok\\b' }, 1),
    c('command-exit', { command: 'exit 3', exit_code: 3 }, 1),
    c('command-fails', { command: 'false' }, 0),
    c('command-timeout', { command: 'sleep 5', timeout: 1 }, 0),
    c('command-dollar', { command: 'printf "ok\\n"', stdout_matches: 'ok$' }, 0),
    // runs after the file checks: they saw other.md (matches-glob-all), commands run later
    c('command-removes', { command: 'rm output/other.md' }, 1),
    c('python-float', { python: 'def grade(ws):\n    return 0.25\n' }, 0.25, 4),
    c('python-dict', { python: 'def grade(ws):\n    return {"a": True, "b": 0.5}\n' }, 0.75),
    c('python-bool', { python: 'def grade(ws):\n    return False\n' }, 0),
    c('python-raises', { python: 'def grade(ws):\n    raise RuntimeError("no")\n' }, 0),
    c('python-out-of-range', { python: 'def grade(ws):\n    return 2\n' }, 0),
    c('python-ws', { python: 'import os\ndef grade(ws):\n    return os.getcwd() == ws and os.path.isfile(os.path.join(ws, "output", "notes.md"))\n' }, 1),
  ];
  if (hasPyYaml) {
    rows.push(c('yaml-yes-is-a-string', { json: { path: 'output/conf.yaml', query: 'enabled', type: 'string' } }, 1));
    rows.push(c('yaml-date-is-a-string', { json: { path: 'output/conf.yaml', query: 'when', equals: '2024-01-01' } }, 1));
    rows.push(c('yaml-number', { json: { path: 'output/conf.yaml', query: 'n', equals: 3 } }, 1));
  }
  return { ws, checks: rows.map((r) => r[0]), expected: Object.fromEntries(rows.map((r) => [r[1], r[2]])), fixtures: { 'fixtures/notes.md': '# Notes\r\n' } };
}

function weightedMean(checks: CheckModel[], scores: Record<string, number>): number {
  let total = 0;
  let weight = 0;
  for (const ch of checks) {
    const c = ch as { id: string; weight?: number };
    const w = c.weight ?? 1;
    total += w * scores[c.id]!;
    weight += w;
  }
  return Math.round((total / weight) * 1e6) / 1e6;
}

/** A generated reward/ folder and a workspace, in the ClawGym layout (`<root>/reward`). */
function generated(): { root: string; ws: string; corpus: ReturnType<typeof checkCorpus> } {
  const corpus = checkCorpus();
  const spec = checkPySpec(corpus.checks, 120_000, (from) => corpus.fixtures[from]!);
  assert.ok(!('error' in spec), JSON.stringify(spec));
  const root = tmp();
  const ws = tree(corpus.ws, join(root, 'workspace'));
  const weights = Object.fromEntries(corpus.checks.map((ch) => [(ch as { id: string }).id, (ch as { weight?: number }).weight ?? 1]));
  tree({ 'reward/check.py': checkPySource('corpus', spec), 'reward/reward.sh': rewardShSource('corpus', weights) }, ws);
  return { root, ws, corpus };
}

describe('check.py', () => {
  test('gives every check kind the score the verifier gives (python3 on the host)', pythonGate, () => {
    const { ws, corpus } = generated();
    const r = spawnSync(python ?? 'python3', [join(ws, 'reward', 'check.py'), ws], { cwd: ws, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const scores = JSON.parse(r.stdout) as Record<string, number>;
    assert.deepEqual(Object.keys(scores), Object.keys(corpus.expected), 'one score per check, in the task order');
    const wrong = Object.keys(corpus.expected).filter((id) => scores[id] !== corpus.expected[id]).map((id) => `${id}: got ${scores[id]}, expected ${corpus.expected[id]}`);
    assert.deepEqual(wrong, [], r.stderr);
  });

  test('reward.sh prints the weighted mean as its last line, like the authors\' script', pythonGate, () => {
    const { ws, corpus } = generated();
    const out = execFileSync('bash', [join(ws, 'reward', 'reward.sh')], { cwd: ws, env: { ...process.env, OPENCLAW_WORKSPACE: ws }, encoding: 'utf8', timeout: 60_000 });
    const last = out.trim().split('\n').at(-1)!;
    assert.equal(Number(last), weightedMean(corpus.checks, corpus.expected));
    // a broken grader is reward 0.0, never an error
    fs.writeFileSync(join(ws, 'reward', 'check.py'), 'raise SystemExit(1)\n');
    assert.equal(execFileSync('bash', [join(ws, 'reward', 'reward.sh')], { cwd: ws, env: { ...process.env, OPENCLAW_WORKSPACE: ws }, encoding: 'utf8' }).trim(), '0.0');
  });

  test('runs in the sandbox image the ClawGym way (reward/ under the root, bash reward.sh)', needsDocker(), (t) => {
    assertDocker(t);
    const { ws, corpus } = generated();
    const name = `clawgym-convert-test-${process.pid}-${Date.now()}`;
    try {
      // The workspace goes in read-write at the contract's root; no network, as the harness runs it.
      const r = spawnSync(
        'docker',
        ['run', '--rm', '--name', name, '--label', 'clawgym.test=convert', '--network', 'none', '-v', `${ws}:/root/.openclaw/workspace`, '-w', '/root/.openclaw/workspace', TEST_IMAGE, 'bash', '/root/.openclaw/workspace/reward/reward.sh'],
        { encoding: 'utf8', timeout: 120_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      // link-out points at the container's /etc/hostname: still outside the workspace, still 0
      assert.equal(Number(r.stdout.trim().split('\n').at(-1)), weightedMean(corpus.checks, corpus.expected));
    } finally {
      spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    }
  });

  test('the spec refuses what cannot be exported and embeds file_equals fixtures', () => {
    const bad = checkPySpec([{ id: 'a', file_matches: { path: 'x', pattern: '\\p{L}', flags: 'u' } } as CheckModel], 1000, () => '');
    assert.match((bad as { error: string }).error, /check `a`: the pattern/);
    const missing = checkPySpec([{ id: 'b', file_equals: { path: 'x', from: 'nope.txt' } } as CheckModel], 1000, () => {
      throw new Error('ENOENT');
    });
    assert.match((missing as { error: string }).error, /check `b`: cannot read `nope.txt`: ENOENT/);
    const spec = checkPySpec([{ id: 'c', file_equals: { path: 'x', from: 'f.txt' } } as CheckModel, { id: 'd', command: 'true', timeout: '5s' } as CheckModel], 1000, () => 'fixture text');
    assert.deepEqual(spec, {
      checks: [
        { id: 'c', kind: 'file_equals', timeout: 1, path: 'x', text: 'fixture text' },
        { id: 'd', kind: 'command', timeout: 5, command: 'true', exit_code: 0 },
      ],
    });
  });
});

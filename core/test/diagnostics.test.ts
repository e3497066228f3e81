/**
 * Diagnostics: one unit test per code on in-memory text, the evaluators, cancellation, and the
 * fixture corpus (test-fixtures/valid must be clean; test-fixtures/invalid/NAME.clawtask must give
 * exactly NAME.expected). Run with UPDATE_SNAPSHOTS=1 to rewrite the snapshots, then review them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import {
  createTaskDocument,
  memoryFileSystem,
  nodeFileSystem,
  validateTask,
  type Diagnostic,
  type DiagnosticCode,
  type FileSystemHost,
} from '../src/language';
import { LineIndex } from '../src/syntax';
import {
  compileGlob,
  csvConditionHolds,
  jsonConditionHolds,
  parseCsv,
  parseQuery,
  PathSet,
  queryJson,
  textEquals,
  textMatches,
} from '../src/language/diagnostics/evaluate';
import { fixturesDir } from './util';

const HEAD = 'version: 1\nid: t\nintent: Write output/report.md.\n';
const CHECKS = 'verifier:\n  checks:\n    - id: a\n      file_exists: output/report.md\n';

function validate(text: string, files: string[] = [], dir: string | undefined = '/task'): Diagnostic[] {
  return validateTask(createTaskDocument('/task/t.clawtask', 1, text, dir), memoryFileSystem(files));
}

/** The diagnostics with `code`, as `line:col text` (1-based), for compact assertions. */
function at(text: string, code: DiagnosticCode, files: string[] = []): string[] {
  const li = new LineIndex(text);
  return validate(text, files)
    .filter((d) => d.code === code)
    .map((d) => {
      const p = li.positionAt(d.span.start);
      return `${p.line + 1}:${p.character + 1} ${text.slice(d.span.start, d.span.end)}`;
    });
}

function only(text: string, files: string[] = []): DiagnosticCode[] {
  return validate(text, files).map((d) => d.code);
}

test('a minimal task is clean', () => {
  assert.deepEqual(validate(HEAD + CHECKS), []);
});

test('yaml-syntax: broken YAML is reported, and what parsed is still validated without cascades', () => {
  const text = `${HEAD}difficulty: hardd\nverifier:\n  checks:\n    - id: a\n      file_exists: [x\n    - id: b\n      command: true\n`;
  const codes = only(text);
  assert.ok(codes.includes('yaml-syntax'));
  assert.ok(codes.includes('invalid-value'), 'the enum error before the break is still reported');
  assert.ok(!codes.includes('missing-field') && !codes.includes('check-kind-missing') && !codes.includes('invalid-type'), codes.join());
});

test('duplicate-key underlines the whole second key', () => {
  assert.deepEqual(at(`${HEAD}id: u\n${CHECKS}`, 'duplicate-key'), ['4:1 id']);
});

test('not-a-mapping for an empty file, a list and a scalar', () => {
  assert.deepEqual(only(''), ['not-a-mapping']);
  assert.deepEqual(at('- a\n- b\n', 'not-a-mapping'), ['1:1 - a']);
  assert.deepEqual(only('just text'), ['not-a-mapping']);
});

test('missing-field: one diagnostic per parent listing every missing name', () => {
  const ds = validate('# a task\nid: t\nworkspace:\n  resources: { cpus: 1 }\n');
  const m = ds.filter((d) => d.code === 'missing-field');
  assert.equal(m.length, 1);
  assert.deepEqual(m[0]!.data?.missing, ['version', 'intent', 'verifier']);
  assert.deepEqual(m[0]!.data?.path, []);
  // a check without an id: on the item's first key, path = the check
  const c = validate(`${HEAD}verifier:\n  checks:\n    - file_exists: a.txt\n`).find((d) => d.code === 'missing-field');
  assert.deepEqual(c?.data, { path: ['verifier', 'checks', 0], missing: ['id'] });
  assert.deepEqual(at(`${HEAD}verifier:\n  checks:\n    - file_exists: a.txt\n`, 'missing-field'), ['6:7 file_exists']);
  // a nested mapping: on its key
  assert.deepEqual(at(`${HEAD}${CHECKS}  weights: { code: 0.5 }\n`, 'missing-field'), ['8:3 weights']);
});

test('invalid-type says what was expected and what was found, in YAML terms', () => {
  const ds = validate(`${HEAD.replace('intent: Write output/report.md.', 'intent: { a: 1 }')}${CHECKS}`);
  const d = ds.find((x) => x.code === 'invalid-type');
  assert.equal(d?.message, '`intent` must be a string, got a mapping');
  assert.deepEqual(at(`${HEAD}skills: csv\n${CHECKS}`, 'invalid-type'), ['4:9 csv']);
  const f = validate(`${HEAD}workspace:\n  files:\n    a.txt: 3\n${CHECKS}`).find((x) => x.code === 'invalid-type');
  assert.equal(f?.message, '`a.txt` must be a string or a mapping, got an integer');
});

test('unknown-key with did-you-mean, at every level; x- keys and metadata are free', () => {
  const text = `${HEAD}tittle: x\nx-tool: { any: thing }\nmetadata: { whatever: [1], nested: { deep: 1 } }\nworkspace:\n  netwrok: none\n  x-note: 1\nverifier:\n  checks:\n    - id: a\n      command: ls\n      exit_cod: 1\n      x-owner: me\n    - id: b\n      file_exists: x\n      exit_code: 1\n`;
  const ds = validate(text).filter((d) => d.code === 'unknown-key');
  assert.deepEqual(
    ds.map((d) => d.data?.suggestion),
    ['title', 'network', 'exit_code', undefined],
  );
  assert.deepEqual(ds[2]!.data?.path, ['verifier', 'checks', 0, 'exit_cod']);
  // exit_code is a key of command checks only
  assert.deepEqual(at(text, 'unknown-key'), ['4:1 tittle', '8:3 netwrok', '14:7 exit_cod', '18:7 exit_code']);
  const noSuggestion = validate(`${HEAD}zzzzzz: 1\n${CHECKS}`).find((d) => d.code === 'unknown-key');
  assert.equal(noSuggestion?.data?.suggestion, undefined);
  assert.match(noSuggestion!.message, /x-/);
});

test('x- keys inside workspace.files are file names, not extension keys', () => {
  assert.deepEqual(only(`${HEAD}workspace:\n  files:\n    x-data.txt: 3\n${CHECKS}`), ['invalid-type']);
});

test('unsupported-version', () => {
  assert.deepEqual(at(HEAD.replace('version: 1', 'version: 2') + CHECKS, 'unsupported-version'), ['1:10 2']);
  assert.deepEqual(only(HEAD.replace('version: 1', 'version: "1"') + CHECKS), ['invalid-value']);
});

test('invalid-value: enums get a suggestion; ranges and formats have human messages', () => {
  const d = validate(`${HEAD}difficulty: hardd\n${CHECKS}`)[0]!;
  assert.equal(d.code, 'invalid-value');
  assert.equal(d.data?.suggestion, 'hard');
  const text = `${HEAD}workspace:\n  files:\n    run.sh: { from: run.sh, mode: "999" }\n${CHECKS}  pass_threshold: 1.5\n`;
  const ds = validate(text, ['/task/run.sh']);
  assert.deepEqual(ds.map((x) => x.code), ['invalid-value', 'invalid-value']);
  assert.match(ds[0]!.message, /octal mode/);
  assert.match(ds[1]!.message, /at most 1/);
  assert.match(validate(HEAD.replace('id: t', 'id: "a b"') + CHECKS)[0]!.message, /not a valid id/);
  // an unquoted mode is a YAML number: say how to write it
  const mode = validate(`${HEAD}workspace:\n  files:\n    run.sh: { from: run.sh, mode: 755 }\n${CHECKS}`, ['/task/run.sh']);
  assert.deepEqual(mode.map((x) => x.code), ['invalid-type']);
  assert.match(mode[0]!.message, /"755"/);
});

test('check-kind-missing, a kind typo as unknown-key, and check-kind-multiple', () => {
  assert.deepEqual(at(`${HEAD}verifier:\n  checks:\n    - id: a\n      weight: 2\n`, 'check-kind-missing'), ['6:7 id']);
  const typo = validate(`${HEAD}verifier:\n  checks:\n    - id: a\n      file_exist: out.txt\n`);
  assert.deepEqual(typo.map((d) => [d.code, d.data?.suggestion]), [['unknown-key', 'file_exists']]);
  const multi = validate(`${HEAD}verifier:\n  checks:\n    - id: a\n      file_exists: x\n      command: y\n`);
  assert.deepEqual(multi.map((d) => [d.code, d.data?.path]), [['check-kind-multiple', ['verifier', 'checks', 0]]]);
});

test('a check is validated against the variant its kind selects', () => {
  const ds = validate(`${HEAD}verifier:\n  checks:\n    - id: a\n      json: { path: r.json, query: x, type: numbr, between: [1, z] }\n`);
  assert.deepEqual(ds.map((d) => d.code), ['invalid-value', 'invalid-type']);
  assert.equal(ds[0]!.data?.suggestion, 'number');
});

test('duplicate-id across checks and rubric items, on the later ids', () => {
  const text = `${HEAD}verifier:\n  checks:\n    - { id: a, file_exists: output/report.md }\n    - { id: a, file_absent: tmp }\n  rubric:\n    - { id: a, criterion: good }\n`;
  assert.deepEqual(at(text, 'duplicate-id'), ['7:13 a', '9:13 a']);
  assert.match(validate(text).find((d) => d.code === 'duplicate-id')!.message, /line 6/);
});

test('from-missing: files, folders, and the right kind of entry; skipped without a directory', () => {
  const text = `${HEAD}workspace:\n  files:\n    a.txt: { from: files/a.txt }\n    b.txt: { from: files/b.txt }\n  from_dir: inputs\nverifier:\n  reward_script: reward/reward.sh\nsolution: { from: solution }\n`;
  const files = ['/task/files/a.txt', '/task/inputs', '/task/solution/solve.sh'];
  assert.deepEqual(at(text, 'from-missing', files), ['7:20 files/b.txt', '8:13 inputs', '10:18 reward/reward.sh', '11:19 solution']);
  // an untitled document has no folder: no disk checks
  assert.deepEqual(validateTask(createTaskDocument('untitled:t', 1, text), memoryFileSystem([])), []);
});

test('invalid-regex with the engine reason, on the pattern value', () => {
  const text = `${HEAD}verifier:\n  checks:\n    - id: a\n      file_matches: { path: out.txt, pattern: '(a' }\n    - id: b\n      command: ls\n      stdout_matches: '[z'\n    - id: c\n      file_matches: { path: out.txt, pattern: '\\p{L}', flags: u }\n`;
  const ds = validate(text).filter((d) => d.code === 'invalid-regex');
  assert.deepEqual(at(text, 'invalid-regex'), ["7:47 '(a'", "10:23 '[z'"]);
  assert.match(ds[0]!.message, /Unterminated group/);
});

test('invalid-duration and invalid-size wherever the schema uses them', () => {
  const text = `${HEAD}workspace:\n  resources: { memory: lots }\nagent: { timeout: 5 min }\nverifier:\n  timeout: -1\n  checks:\n    - { id: a, file_exists: out.txt, timeout: { s: 1 } }\n`;
  assert.deepEqual(only(text), ['invalid-size', 'invalid-duration', 'invalid-duration', 'invalid-duration']);
  assert.match(validate(text)[1]!.message, /like 30s, 15m or 1h/);
});

test('path-absolute (with the relative suggestion) and path-escape, for workspace and task paths', () => {
  const text = `${HEAD}workspace:\n  root: /root/.openclaw/workspace\n  files:\n    /etc/passwd: x\n    ../up.txt: y\n    a\\b.txt: z\nverifier:\n  checks:\n    - { id: a, file_exists: /root/.openclaw/workspace/out/r.md }\n    - { id: b, file_exists: out/../../x }\n  reward_script: ../reward.sh\n`;
  const ds = validate(text);
  const abs = ds.filter((d) => d.code === 'path-absolute');
  assert.deepEqual(abs.map((d) => d.data?.suggestion), ['etc/passwd', 'out/r.md']);
  assert.deepEqual(at(text, 'path-absolute'), ['7:5 /etc/passwd', '12:29 /root/.openclaw/workspace/out/r.md']);
  assert.deepEqual(at(text, 'path-escape'), ['8:5 ../up.txt', '13:29 out/../../x', '14:18 ../reward.sh']);
  const bs = ds.find((d) => d.message.includes('backslash'));
  assert.equal(bs?.severity, 'warning');
  assert.equal(bs?.data?.suggestion, 'a/b.txt');
});

test('check-passes-untouched: listed files, from_dir on disk, and conditions true on inline content', () => {
  const text = `${HEAD}workspace:
  files:
    input/data.csv: "name,score\\nann,3\\n"
    input/r.json: '{"a": {"b": [1, 2.5]}}'
    notes.md: "# Notes\\nhello\\n"
  from_dir: inputs
verifier:
  checks:
    - { id: e1, file_exists: input/data.csv }
    - { id: e2, file_exists: "input/*.csv" }
    - { id: e3, file_exists: input }
    - { id: e4, file_exists: disk/only.txt }
    - { id: e5, file_exists: output/new.csv }
    - { id: a1, file_absent: notes.md }
    - { id: m1, file_matches: { path: notes.md, pattern: '^# Notes' } }
    - { id: m2, file_matches: { path: notes.md, pattern: '^# Summary' } }
    - { id: q1, file_equals: { path: notes.md, text: "# Notes\\nhello" } }
    - { id: j1, json: { path: input/r.json, query: 'a.b[1]', between: [2, 3] } }
    - { id: j2, json: { path: input/r.json, query: 'a.b[0]', equals: 2 } }
    - { id: c1, csv: { path: input/data.csv, columns: [name, score], where: { name: ann, score: 3 } } }
    - { id: c2, csv: { path: input/data.csv, rows: 2 } }
`;
  const ds = validate(text, ['/task/inputs/disk/only.txt']).filter((d) => d.code === 'check-passes-untouched');
  assert.deepEqual(
    ds.map((d) => d.data?.path?.[2]),
    [0, 1, 2, 3, 6, 8, 9, 11],
  );
  assert.ok(ds.every((d) => d.severity === 'warning'));
});

test('no-checks on the verifier key; not when a reward script or rubric verifies', () => {
  assert.deepEqual(at(`${HEAD}verifier:\n  checks: []\n`, 'no-checks'), ['4:1 verifier']);
  assert.deepEqual(only(`${HEAD}verifier: { rubric: [{ id: r, criterion: good }] }\n`), []);
  assert.deepEqual(only(`${HEAD}verifier: { reward_script: r.sh }\n`, ['/task/r.sh']), []);
  // no verifier at all: only missing-field
  assert.deepEqual(only(HEAD), ['missing-field']);
});

test('rubric-file-unmentioned unless a check or the intent names the file', () => {
  const text = `${HEAD}${CHECKS}  rubric:\n    - { id: r1, file: output/report.md, criterion: ok }\n    - { id: r2, file: output/other.md, criterion: ok }\n`;
  assert.deepEqual(at(text, 'rubric-file-unmentioned'), ['10:23 output/other.md']);
});

test('solution-conflict: solution, file_equals and json need exactly one alternative', () => {
  const text = `${HEAD}verifier:\n  checks:\n    - id: a\n      file_equals: { path: a.txt }\n    - id: b\n      json: { path: r.json, query: x }\n    - id: c\n      file_equals: { path: a.txt, text: x, from: f.txt }\nsolution: { script: run, from: s.sh }\n`;
  assert.deepEqual(at(text, 'solution-conflict', ['/task/f.txt', '/task/s.sh']), ['7:7 file_equals', '9:7 json', '11:7 file_equals', '12:1 solution']);
});

test('diagnostics are sorted by position and cancellation returns nothing', () => {
  const text = `${HEAD}tittle: x\ndifficulty: hardd\n${CHECKS}  timeout: soon\n`;
  const ds = validate(text);
  assert.ok(ds.length >= 3);
  for (let i = 1; i < ds.length; i++) assert.ok(ds[i - 1]!.span.start <= ds[i]!.span.start);
  const doc = createTaskDocument('/task/t.clawtask', 1, text);
  assert.deepEqual(validateTask(doc, memoryFileSystem([]), { isCancellationRequested: true }), []);
});

test('a throwing file system costs only its own diagnostics', () => {
  const bad: FileSystemHost = {
    stat() {
      throw new Error('boom');
    },
    readDir() {
      throw new Error('boom');
    },
  };
  const ds = validateTask(createTaskDocument('/task/t.clawtask', 1, `${HEAD}tittle: x\nverifier: { reward_script: r.sh }\n`), bad);
  assert.deepEqual(ds.map((d) => d.code), ['unknown-key']);
});

// ---------------------------------------------------------------------------------------------
// Evaluators

test('evaluators: queries, JSON conditions, CSV, text and globs', () => {
  assert.deepEqual(parseQuery('a.b[0]["c.d"]'), ['a', 'b', 0, 'c.d']);
  assert.deepEqual(parseQuery(''), []);
  assert.equal(parseQuery('a..b'), undefined);
  assert.deepEqual(queryJson({ a: [1, { b: 2 }] }, 'a[-1].b'), { found: true, value: 2 });
  assert.deepEqual(queryJson({ a: 1 }, 'a.b'), { found: false });
  assert.equal(jsonConditionHolds('{"n": 3}', { query: 'n', type: 'integer', between: [1, 3] }), true);
  assert.equal(jsonConditionHolds('{"n": 3.5}', { query: 'n', type: 'integer' }), false);
  assert.equal(jsonConditionHolds('{"n": {"x": [1]}}', { query: 'n', equals: { x: [1] } }), true);
  assert.equal(jsonConditionHolds('not json', { query: '', type: 'object' }), undefined);
  assert.deepEqual(parseCsv('a,"b ""q"", c"\r\n1,2\n\n'), [['a', 'b "q", c'], ['1', '2']]);
  assert.equal(csvConditionHolds('a,b\n1,x\n2,y\n', { columns: ['a', 'b'], rows: 2, where: { a: 2, b: 'y' } }), true);
  assert.equal(csvConditionHolds('a,b\n1,x\n', { where: { a: 2 } }), false);
  assert.equal(textEquals('x\n', 'x'), true);
  assert.equal(textEquals('x\n\n', 'x'), false);
  assert.equal(textMatches('Hello', '^hello', 'i'), true);
  assert.equal(textMatches('x', '(', ''), undefined);
  assert.equal(compileGlob('out/**/*.{csv,json}')!.test('out/a/b/c.json'), true);
  assert.equal(compileGlob('out/*.csv')!.test('out/a/b.csv'), false);
  const set = new PathSet(['input/a/b.txt', './x.md']);
  assert.equal(set.match('input/a'), 'input/a/b.txt');
  assert.equal(set.match('input/*/b.txt'), 'input/a/b.txt');
  assert.equal(set.match('x.md'), './x.md');
  assert.equal(set.match('input/b'), undefined);
});

// ---------------------------------------------------------------------------------------------
// Fixtures

function findTasks(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTasks(p));
    else if (name.endsWith('.clawtask')) out.push(p);
  }
  return out;
}

function runFixture(file: string): { text: string; diagnostics: Diagnostic[] } {
  const text = readFileSync(file, 'utf8');
  const doc = createTaskDocument(file, 1, text, dirname(file));
  return { text, diagnostics: validateTask(doc, nodeFileSystem) };
}

/**
 * One diagnostic per entry: `L:C-L:C severity code message` (1-based, UTF-16 columns), then the
 * source line and carets under the span, so a diagnostic on the wrong line is obvious.
 */
function formatSnapshot(text: string, diagnostics: Diagnostic[]): string {
  const li = new LineIndex(text);
  const out: string[] = [];
  for (const d of diagnostics) {
    const s = li.positionAt(d.span.start);
    const e = li.positionAt(d.span.end);
    out.push(`${s.line + 1}:${s.character + 1}-${e.line + 1}:${e.character + 1} ${d.severity} ${d.code} ${d.message}`);
    const line = li.lineText(s.line);
    const endCol = e.line === s.line ? e.character : line.length;
    const pad = line.slice(0, s.character).replace(/[^\t]/g, ' ');
    out.push(`    | ${line}`);
    out.push(`    | ${pad}${'^'.repeat(Math.max(1, endCol - s.character))}${e.line > s.line ? ' …' : ''}`);
  }
  return out.join('\n') + '\n';
}

const validDir = join(fixturesDir, 'valid');
const invalidDir = join(fixturesDir, 'invalid');

test('fixture corpus has at least 12 valid and 25 invalid tasks', () => {
  assert.ok(findTasks(validDir).length >= 12);
  assert.ok(findTasks(invalidDir).length >= 25);
});

for (const file of existsSync(validDir) ? findTasks(validDir) : []) {
  test(`valid fixture ${relative(fixturesDir, file)} has no diagnostics`, () => {
    const { text, diagnostics } = runFixture(file);
    assert.equal(formatSnapshot(text, diagnostics), '\n');
  });
}

const seenCodes = new Set<string>();
for (const file of existsSync(invalidDir) ? findTasks(invalidDir) : []) {
  test(`invalid fixture ${relative(fixturesDir, file)} matches its snapshot`, () => {
    const { text, diagnostics } = runFixture(file);
    diagnostics.forEach((d) => seenCodes.add(d.code));
    assert.ok(diagnostics.length > 0, 'an invalid fixture must produce diagnostics');
    const actual = formatSnapshot(text, diagnostics);
    const snap = join(dirname(file), basename(file, '.clawtask') + '.expected');
    if (process.env.UPDATE_SNAPSHOTS === '1' || !existsSync(snap)) {
      writeFileSync(snap, actual);
      if (process.env.UPDATE_SNAPSHOTS !== '1') assert.fail(`wrote a new snapshot ${snap}: review it`);
    }
    assert.equal(actual, readFileSync(snap, 'utf8'));
  });
}

test('the invalid fixtures cover every .clawtask diagnostic code', () => {
  const codes: DiagnosticCode[] = [
    'yaml-syntax', 'duplicate-key', 'not-a-mapping', 'missing-field', 'invalid-type', 'invalid-value', 'unknown-key',
    'unsupported-version', 'check-kind-missing', 'check-kind-multiple', 'duplicate-id', 'from-missing', 'invalid-regex',
    'invalid-duration', 'invalid-size', 'path-absolute', 'path-escape', 'check-passes-untouched', 'no-checks',
    'rubric-file-unmentioned', 'solution-conflict', 'regex-backtracking',
  ];
  // recompute rather than rely on test order
  for (const file of findTasks(invalidDir)) runFixture(file).diagnostics.forEach((d) => seenCodes.add(d.code));
  assert.deepEqual(codes.filter((c) => !seenCodes.has(c)), []);
});

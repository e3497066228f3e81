import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTaskDocument } from '../src/language/documents';
import { documentSymbols, foldingRanges } from '../src/language/symbols';
import type { DocumentSymbol, FoldingRange, TaskDocument } from '../src/language/types';

const URI = 'file:///tasks/demo.clawtask';
const doc = (text: string): TaskDocument => createTaskDocument(URI, 1, text);

const TASK = [
  'version: 1', // 0
  'id: pcs-trends', // 1
  'title: Find patterns', // 2
  'intent: |', // 3
  '', // 4
  '  I am trying to support my partner.', // 5
  '  Save outputs under output/.', // 6
  '', // 7
  '# region workspace', // 8
  'workspace:', // 9
  '  files:', // 10
  '    input/checkins.jsonl: { from: files/checkins.jsonl }', // 11
  '    input/notes.md: |', // 12
  '      Headache: 6/10', // 13
  '      # not a comment, content', // 14
  '      Dizzy: 2/10', // 15
  '    empty.txt: ""', // 16
  '  network: none', // 17
  '# endregion', // 18
  '# Checks below are deterministic;', // 19
  '# each has a stable id.', // 20
  'verifier:', // 21
  '  checks:', // 22
  '    - id: metrics-csv', // 23
  '      file_exists: output/daily.csv', // 24
  '    - id: header', // 25
  '      file_matches:', // 26
  '        path: output/daily.csv', // 27
  "        pattern: '^date'", // 28
  '    - command: python3 x.py', // 29
  '  rubric:', // 30
  '    - id: summary', // 31
  '      file: output/summary.md', // 32
  '      criterion: Has sections.', // 33
  'solution:', // 34
  '  script: |', // 35
  '    python3 tools/x.py', // 36
  '',
].join('\n');

const byName = (syms: DocumentSymbol[], name: string): DocumentSymbol => {
  const s = syms.find((x) => x.name === name);
  assert.ok(s, `no symbol ${name} in ${syms.map((x) => x.name).join(', ')}`);
  return s;
};

test('outline: task sections, files by path, checks and rubric items by id', () => {
  const d = doc(TASK);
  const syms = documentSymbols(d);
  assert.deepEqual(
    syms.map((s) => s.name),
    ['version', 'id', 'title', 'intent', 'workspace', 'verifier', 'solution'],
  );
  assert.equal(byName(syms, 'id').detail, 'pcs-trends');
  assert.equal(byName(syms, 'title').detail, 'Find patterns');
  // The intent's first non-blank line, not its `|` header.
  assert.equal(byName(syms, 'intent').detail, 'I am trying to support my partner.');

  const files = byName(byName(syms, 'workspace').children, 'files');
  assert.deepEqual(
    files.children.map((f) => [f.name, f.kind, f.detail]),
    [
      ['input/checkins.jsonl', 'file', 'from files/checkins.jsonl'],
      ['input/notes.md', 'file', 'inline, 3 lines'],
      ['empty.txt', 'file', 'empty'],
    ],
  );
  assert.equal(byName(byName(syms, 'workspace').children, 'network').detail, 'none');

  const verifier = byName(syms, 'verifier');
  const checks = byName(verifier.children, 'checks');
  assert.deepEqual(
    checks.children.map((c) => [c.name, c.kind, c.detail]),
    [
      ['metrics-csv', 'check', 'file_exists'],
      ['header', 'check', 'file_matches'],
      ['#3', 'check', 'command'],
    ],
  );
  const rubric = byName(verifier.children, 'rubric');
  assert.deepEqual(rubric.children.map((c) => [c.name, c.detail]), [['summary', 'rubric: output/summary.md']]);
  assert.deepEqual(byName(syms, 'solution').children.map((c) => c.name), ['script']);
});

test('outline spans: entry from key through value, selection on the key or the item id', () => {
  const d = doc(TASK);
  const syms = documentSymbols(d);
  const text = d.parsed.text;
  const verifier = byName(syms, 'verifier');
  assert.equal(text.slice(verifier.selectionSpan.start, verifier.selectionSpan.end), 'verifier');
  assert.ok(text.slice(verifier.span.start, verifier.span.end).startsWith('verifier:'));
  assert.ok(text.slice(verifier.span.start, verifier.span.end).endsWith('criterion: Has sections.'));
  const header = byName(byName(verifier.children, 'checks').children, 'header');
  assert.equal(text.slice(header.selectionSpan.start, header.selectionSpan.end), 'header');
  assert.equal(text.slice(header.span.start, header.span.end), "id: header\n      file_matches:\n        path: output/daily.csv\n        pattern: '^date'");
  // A check without an id selects its first key.
  const third = byName(byName(verifier.children, 'checks').children, '#3');
  assert.equal(text.slice(third.selectionSpan.start, third.selectionSpan.end), 'command');
  // Every symbol's selection lies inside its span, and children inside parents.
  const walk = (s: DocumentSymbol, parent?: DocumentSymbol): void => {
    assert.ok(s.span.start <= s.selectionSpan.start && s.selectionSpan.end <= s.span.end, s.name);
    if (parent) assert.ok(parent.span.start <= s.span.start && s.span.end <= parent.span.end, s.name);
    s.children.forEach((c) => walk(c, s));
  };
  syms.forEach((s) => walk(s));
});

test('outline of free-form sections is generic; scalar lists stay one symbol', () => {
  const syms = documentSymbols(doc('metadata:\n  source: clawgym\n  nested: { a: 1 }\nskills: [csv, python]\nagent:\n  max_steps: 40\n'));
  const meta = byName(syms, 'metadata');
  assert.equal(meta.kind, 'object');
  assert.deepEqual(meta.children.map((c) => [c.name, c.kind, c.detail]), [
    ['source', 'string', 'clawgym'],
    ['nested', 'object', undefined],
  ]);
  const skills = byName(syms, 'skills');
  assert.equal(skills.kind, 'array');
  assert.equal(skills.detail, 'csv, python');
  assert.deepEqual(skills.children, []);
  assert.equal(byName(byName(syms, 'agent').children, 'max_steps').kind, 'number');
});

test('outline of broken, CRLF and non-ASCII documents', () => {
  // Half-typed: unterminated flow list, a key with no value, a dangling item.
  const broken = doc('version: 1\nid: x\nverifier:\n  checks:\n    - id: a\n      file_exists: [x,\n    -\n  rubric:\nworkspace:\n');
  const syms = documentSymbols(broken);
  assert.ok(syms.some((s) => s.name === 'verifier'));
  assert.ok(byName(byName(syms, 'verifier').children, 'checks').children.some((c) => c.name === 'a'));

  const crlf = 'id: démo\r\nintent: "Résumé 📄 first"\r\nverifier:\r\n  checks:\r\n    - id: café\r\n      file_exists: 文件.txt\r\n';
  const d = doc(crlf);
  const s = documentSymbols(d);
  assert.equal(byName(s, 'intent').detail, 'Résumé 📄 first');
  const cafe = byName(byName(byName(s, 'verifier').children, 'checks').children, 'café');
  assert.equal(crlf.slice(cafe.selectionSpan.start, cafe.selectionSpan.end), 'café');
  assert.equal(d.parsed.lines.positionAt(cafe.span.end).line, 5);
  assert.ok(!crlf.slice(cafe.span.start, cafe.span.end).endsWith('\r'));

  for (const t of ['', '# only a comment', '- a\n- b', 'just text', '{a: [', ': : :']) {
    assert.doesNotThrow(() => documentSymbols(doc(t)));
    assert.doesNotThrow(() => foldingRanges(doc(t)));
  }
});

// ---------------------------------------------------------------------------------------------
// Folding

const has = (ranges: FoldingRange[], startLine: number, endLine: number, kind?: FoldingRange['kind']): boolean =>
  ranges.some((r) => r.startLine === startLine && r.endLine === endLine && r.kind === kind);

test('folding: entries, list items, block scalars, comments and regions', () => {
  const ranges = foldingRanges(doc(TASK));
  const expect: [number, number, FoldingRange['kind']?][] = [
    [3, 6], // intent: |  (through its last non-blank line, not the blank line after)
    [8, 18, 'region'],
    [9, 17], // workspace
    [10, 16], // files
    [12, 15], // a block scalar file
    [19, 20, 'comment'],
    [21, 33], // verifier
    [22, 29], // checks
    [23, 24], // first check item
    [25, 28], // second check item
    [26, 28], // file_matches mapping
    [30, 33],
    [31, 33],
    [34, 36],
    [35, 36],
  ];
  for (const [s, e, k] of expect) assert.ok(has(ranges, s, e, k), `missing ${s}-${e} ${k ?? ''}: ${JSON.stringify(ranges)}`);
  assert.equal(ranges.length, expect.length, JSON.stringify(ranges));
  // `#` inside a block scalar is content, not a comment.
  assert.ok(!ranges.some((r) => r.kind === 'comment' && r.startLine <= 14 && 14 <= r.endLine));
});

test('folding invariants: sorted, no single-line ranges, one range per start line', () => {
  const texts = [TASK, TASK.replace(/\n/g, '\r\n'), '- a\n- b:\n    c: 1\n', 'a:\n  - b:\n      c: 1\n  - d\n'];
  for (const t of texts) {
    const ranges = foldingRanges(doc(t));
    const lines = doc(t).parsed.lines.lineCount;
    const starts = new Set<number>();
    let prev = -1;
    for (const r of ranges) {
      assert.ok(r.endLine > r.startLine);
      assert.ok(r.startLine >= prev);
      assert.ok(r.endLine < lines);
      assert.ok(!starts.has(r.startLine), `duplicate start ${r.startLine}`);
      starts.add(r.startLine);
      prev = r.startLine;
    }
  }
  // CRLF gives the same ranges as LF.
  assert.deepEqual(foldingRanges(doc(TASK.replace(/\n/g, '\r\n'))), foldingRanges(doc(TASK)));
});

test('folding: a list item and its first key start on one line: the outer (longer) range wins', () => {
  const ranges = foldingRanges(doc('checks:\n  - file_matches:\n      path: a\n      pattern: b\n    id: x\n'));
  assert.deepEqual(ranges, [
    { startLine: 0, endLine: 4 },
    { startLine: 1, endLine: 4 },
  ]);
});

test('folding: regions nest, unmatched markers are ignored, comments split by blank lines', () => {
  const text = ['# region outer', '# region inner', 'a: 1', '# endregion', '# endregion', '# endregion', '# c1', '', '# c2', '# c3', '#region tight', 'b: 2'].join('\n');
  const ranges = foldingRanges(doc(text));
  assert.deepEqual(ranges, [
    { startLine: 0, endLine: 4, kind: 'region' },
    { startLine: 1, endLine: 3, kind: 'region' },
    { startLine: 8, endLine: 9, kind: 'comment' },
  ]);
});

test('folding on broken YAML keeps what parsed and non-ASCII lines count right', () => {
  const text = 'intent: |\n  Ünïcödé 📄 line\n  second\nverifier:\n  checks:\n    - id: a\n      file_exists: [x,\n';
  const ranges = foldingRanges(doc(text));
  assert.ok(has(ranges, 0, 2));
  assert.ok(ranges.some((r) => r.startLine === 3));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeActions } from '../src/language/codeActions';
import { createTaskDocument } from '../src/language/documents';
import { validateTask } from '../src/language/diagnostics';
import { memoryFileSystem } from '../src/language/fsHost';
import type { CodeAction, Diagnostic, DiagnosticCode, DiagnosticData, TaskDocument, TextEdit } from '../src/language/types';
import { Task, TASK_FORMAT_VERSION } from '../src/model/schema';
import { parseTask } from '../src/syntax';

const URI = 'file:///tasks/sleep-study.clawtask';
const doc = (text: string, uri = URI): TaskDocument => createTaskDocument(uri, 1, text);

/** Apply non-overlapping edits (as an editor does: all against the original text). */
function apply(text: string, edits: TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.span.start - a.span.start || b.span.end - a.span.end);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.span.end <= sorted[i - 1]!.span.start, 'overlapping edits');
  let out = text;
  for (const e of sorted) out = out.slice(0, e.span.start) + e.newText + out.slice(e.span.end);
  return out;
}

/** The text after an action, asserted to be valid YAML. */
function applyValid(text: string, action: CodeAction): string {
  const out = apply(text, action.edits);
  const errors = parseTask(out).syntaxErrors.filter((e) => e.severity === 'error');
  assert.deepEqual(errors.map((e) => e.message), [], `invalid YAML after "${action.title}":\n${out}`);
  return out;
}

const valueOf = (text: string): Record<string, unknown> => parseTask(text).value as Record<string, unknown>;

/** A diagnostic as validateTask's contract describes it, on the `n`th occurrence of `needle`. */
function diag(text: string, needle: string, code: DiagnosticCode, data: DiagnosticData, n = 0): Diagnostic {
  let start = -1;
  for (let i = 0; i <= n; i++) start = text.indexOf(needle, start + 1);
  assert.ok(start >= 0, `${needle} not in text`);
  return { span: { start, end: start + needle.length }, severity: 'error', code, message: `${code} at ${needle}`, data };
}

const actionsFor = (text: string, d: Diagnostic, uri = URI): CodeAction[] => codeActions(doc(text, uri), d.span, [d]);
const titled = (actions: CodeAction[], title: string): CodeAction => {
  const a = actions.find((x) => x.title === title);
  assert.ok(a, `no action "${title}" in ${JSON.stringify(actions.map((x) => x.title))}`);
  return a;
};

// ---------------------------------------------------------------------------------------------
// unknown-key

const BASE = [
  'version: 1',
  'id: sleep-study',
  'intent: Summarise my sleep.',
  'workspace:',
  '  netwrk: none',
  '  files:',
  '    a.txt: hi',
  'verifier:',
  '  checks:',
  '    - id: out',
  '      file_exist: output/report.md',
  '      bogus:',
  '        nested: 1',
  '        more: [1, 2]',
  '    - id: two',
  '      command: "true"',
  '',
].join('\n');

test('unknown-key: "Change to" the suggestion (preferred) fixes the key in place', () => {
  const d = diag(BASE, 'file_exist', 'unknown-key', { path: ['verifier', 'checks', 0, 'file_exist'], suggestion: 'file_exists' });
  const actions = actionsFor(BASE, d);
  const change = titled(actions, 'Change to `file_exists`');
  assert.equal(change.isPreferred, true);
  assert.deepEqual(change.diagnostics, [d]);
  const out = applyValid(BASE, change);
  const checks = (valueOf(out).verifier as { checks: Record<string, unknown>[] }).checks;
  assert.equal(checks[0]!.file_exists, 'output/report.md');
  assert.ok(!('file_exist' in checks[0]!));
});

test('unknown-key: "Remove" deletes the entry with its nested lines', () => {
  const d = diag(BASE, 'bogus', 'unknown-key', { path: ['verifier', 'checks', 0, 'bogus'] });
  const actions = actionsFor(BASE, d);
  assert.deepEqual(actions.map((a) => a.title), ['Remove `bogus`', 'Rename to `x-bogus` (keep as tool data)']);
  const out = applyValid(BASE, actions[0]!);
  assert.equal(out, BASE.replace('      bogus:\n        nested: 1\n        more: [1, 2]\n', ''));
  const top = diag(BASE, 'netwrk', 'unknown-key', { path: ['workspace', 'netwrk'], suggestion: 'network' });
  const removed = applyValid(BASE, titled(actionsFor(BASE, top), 'Remove `netwrk`'));
  assert.deepEqual((valueOf(removed).workspace as Record<string, unknown>).files, { 'a.txt': 'hi' });
});

test('unknown-key: "Rename to x-…" keeps the data as a tool key the validator accepts', () => {
  const d = diag(BASE, 'bogus', 'unknown-key', { path: ['verifier', 'checks', 0, 'bogus'] });
  const out = applyValid(BASE, titled(actionsFor(BASE, d), 'Rename to `x-bogus` (keep as tool data)'));
  assert.deepEqual((valueOf(out).verifier as { checks: Record<string, unknown>[] }).checks[0]!['x-bogus'], { nested: 1, more: [1, 2] });
  // Not offered when `x-bogus` already exists there.
  const taken = 'a: 1\nbogus: 2\nx-bogus: 3\n';
  assert.deepEqual(actionsFor(taken, diag(taken, 'bogus', 'unknown-key', { path: ['bogus'] })).map((a) => a.title), ['Remove `bogus`']);
});

test('unknown-key: removing the first key of a list item pulls the next key onto the `- ` line', () => {
  const text = 'verifier:\n  checks:\n    - bogus: 1\n      id: a\n      file_exists: b\n';
  const d = diag(text, 'bogus', 'unknown-key', { path: ['verifier', 'checks', 0, 'bogus'] });
  const out = applyValid(text, titled(actionsFor(text, d), 'Remove `bogus`'));
  assert.equal(out, 'verifier:\n  checks:\n    - id: a\n      file_exists: b\n');
  // The only key of an item cannot be removed without removing the item: no "Remove".
  const lone = 'verifier:\n  checks:\n    - bogus: 1\n';
  const titles = actionsFor(lone, diag(lone, 'bogus', 'unknown-key', { path: ['verifier', 'checks', 0, 'bogus'] })).map((a) => a.title);
  assert.deepEqual(titles, ['Rename to `x-bogus` (keep as tool data)']);
});

test('unknown-key in flow mappings and at the end of a file without a final newline', () => {
  const flow = 'verifier:\n  checks:\n    - { id: a, file_matches: { path: x, patern: y, flags: i } }\n';
  const d = diag(flow, 'patern', 'unknown-key', { path: ['verifier', 'checks', 0, 'file_matches', 'patern'], suggestion: 'pattern' });
  const changed = applyValid(flow, titled(actionsFor(flow, d), 'Change to `pattern`'));
  assert.ok(changed.includes('{ path: x, pattern: y, flags: i }'));
  const removed = applyValid(flow, titled(actionsFor(flow, d), 'Remove `patern`'));
  assert.ok(removed.includes('{ path: x, flags: i }'), removed);
  const first = 'a: { bogus: 1, b: 2 }';
  assert.equal(applyValid(first, titled(actionsFor(first, diag(first, 'bogus', 'unknown-key', { path: ['a', 'bogus'] })), 'Remove `bogus`')), 'a: { b: 2 }');

  const eof = 'version: 1\nbogus: x';
  assert.equal(applyValid(eof, titled(actionsFor(eof, diag(eof, 'bogus', 'unknown-key', { path: ['bogus'] })), 'Remove `bogus`')), 'version: 1');
});

test('unknown-key: no rename onto a key that already exists in the mapping', () => {
  const text = 'title: a\ntitel: b\n';
  const actions = actionsFor(text, diag(text, 'titel', 'unknown-key', { path: ['titel'], suggestion: 'title' }));
  assert.deepEqual(actions.map((a) => a.title), ['Remove `titel`', 'Rename to `x-titel` (keep as tool data)']);
});

// ---------------------------------------------------------------------------------------------
// invalid-value, path-absolute, duplicate-id

test('invalid-value and path-absolute replace the value with the suggestion', () => {
  const text = 'workspace:\n  network: "Model-Only"\n  files:\n    /abs/in.txt: x\nverifier:\n  checks:\n    - id: a\n      file_exists: /output/r.md\n';
  const inv = diag(text, '"Model-Only"', 'invalid-value', { path: ['workspace', 'network'], suggestion: 'model-only' });
  const out = applyValid(text, titled(actionsFor(text, inv), 'Change to `model-only`'));
  assert.equal((valueOf(out).workspace as Record<string, unknown>).network, 'model-only');

  const abs = diag(text, '/output/r.md', 'path-absolute', { path: ['verifier', 'checks', 0, 'file_exists'], suggestion: 'output/r.md' });
  const fixed = applyValid(text, titled(actionsFor(text, abs), 'Make relative: `output/r.md`'));
  assert.ok(fixed.includes('file_exists: output/r.md\n'));
  const key = diag(text, '/abs/in.txt', 'path-absolute', { path: ['workspace', 'files', '/abs/in.txt'], suggestion: 'abs/in.txt' });
  const fixedKey = applyValid(text, titled(actionsFor(text, key), 'Make relative: `abs/in.txt`'));
  assert.deepEqual((valueOf(fixedKey).workspace as Record<string, unknown>).files, { 'abs/in.txt': 'x' });
  // Without a suggestion there is nothing to offer.
  assert.deepEqual(actionsFor(text, diag(text, '/output/r.md', 'path-absolute', {})), []);
});

test('a suggestion that YAML would read as another type is quoted', () => {
  const text = 'difficulty: hrad\n';
  for (const [suggestion, expected] of [
    ['true', 'difficulty: "true"\n'],
    ['1.5', 'difficulty: "1.5"\n'],
    ['a: b', 'difficulty: "a: b"\n'],
  ] as const) {
    const a = actionsFor(text, diag(text, 'hrad', 'invalid-value', { path: ['difficulty'], suggestion }))[0]!;
    assert.equal(applyValid(text, a), expected);
    assert.equal(valueOf(apply(text, a.edits)).difficulty, suggestion);
  }
});

test('duplicate-id renames to a fresh id', () => {
  const text = 'verifier:\n  checks:\n    - id: out\n      file_exists: a\n    - id: out-2\n      file_exists: b\n    - id: "out"\n      file_exists: c\n  rubric:\n    - id: out-3\n      criterion: x\n';
  const d = diag(text, '"out"', 'duplicate-id', { path: ['verifier', 'checks', 2, 'id'] });
  const a = titled(actionsFor(text, d), 'Rename to `out-4`');
  const out = applyValid(text, a);
  assert.equal((valueOf(out).verifier as { checks: { id: string }[] }).checks[2]!.id, 'out-4');
});

test('codes without a fix and diagnostics outside the span give nothing', () => {
  const text = 'verifier:\n  checks:\n    - id: a\n      file_exists: x\n      file_absent: y\n';
  assert.deepEqual(actionsFor(text, diag(text, 'id', 'check-kind-multiple', { path: ['verifier', 'checks', 0] })), []);
  const d = diag(text, 'file_absent', 'unknown-key', { path: ['verifier', 'checks', 0, 'file_absent'], suggestion: 'file_exists' });
  assert.deepEqual(codeActions(doc(text), { start: 0, end: 3 }, [d]), []);
  // A caret touching the end of the squiggle still gets the fixes (no rename onto the existing
  // `file_exists`, though).
  assert.deepEqual(
    codeActions(doc(text), { start: d.span.end, end: d.span.end }, [d]).map((a) => a.title),
    ['Remove `file_absent`', 'Rename to `x-file_absent` (keep as tool data)'],
  );
});

// ---------------------------------------------------------------------------------------------
// missing-field

test('missing top-level fields: values derived from the schema, id from the file name', () => {
  const text = '# my task\ntitle: Sleep\n';
  const d: Diagnostic = { span: { start: 0, end: 9 }, severity: 'error', code: 'missing-field', message: 'm', data: { path: [], missing: ['version', 'id', 'intent', 'verifier'] } };
  const a = titled(codeActions(doc(text, 'file:///home/me/Sleep%20Study.v2.clawtask'), d.span, [d]), 'Add missing fields `version`, `id`, `intent`, `verifier`');
  const out = applyValid(text, a);
  assert.equal(out, '# my task\ntitle: Sleep\nversion: 1\nid: sleep-study-v2\nintent: ""\nverifier: {}\n');
  const v = valueOf(out);
  assert.equal(v.version, TASK_FORMAT_VERSION);
  // The result has every required field: the schema's complaints are only about values now.
  const r = Task.safeParse(v);
  assert.ok(!r.success);
  assert.ok(r.error.issues.every((i) => i.code !== 'invalid_type'), JSON.stringify(r.error.issues));
});

test('missing fields in an empty document, untitled URIs and unknown names', () => {
  const d: Diagnostic = { span: { start: 0, end: 0 }, severity: 'error', code: 'missing-field', message: 'm', data: { path: [], missing: ['id', 'no-such-field'] } };
  const out = applyValid('', codeActions(doc('', 'untitled:Untitled-1'), d.span, [d])[0]!);
  assert.equal(out, 'id: Untitled-1\n');
  const comments = '# only a comment';
  assert.equal(applyValid(comments, codeActions(doc(comments), d.span, [d])[0]!), '# only a comment\nid: sleep-study\n');
  const none: Diagnostic = { ...d, data: { path: [], missing: ['no-such-field'] } };
  assert.deepEqual(codeActions(doc(''), none.span, [none]), []);
});

test('missing fields inside nested block mappings use the mapping\'s own indentation', () => {
  const text = 'verifier:\n    weights:\n        code: 0.5\n    timeout: 2m\n';
  const d = diag(text, 'weights', 'missing-field', { path: ['verifier', 'weights'], missing: ['rubric'] });
  const out = applyValid(text, titled(actionsFor(text, d), 'Add missing field `rubric`'));
  assert.equal(out, 'verifier:\n    weights:\n        code: 0.5\n        rubric: 0\n    timeout: 2m\n');
});

test('missing fields of a check kind: block, flow, and an empty value', () => {
  const block = 'verifier:\n  checks:\n    - id: a\n      file_matches:\n        path: out.md\n';
  const d = diag(block, 'file_matches', 'missing-field', { path: ['verifier', 'checks', 0, 'file_matches'], missing: ['pattern'] });
  assert.equal(applyValid(block, titled(actionsFor(block, d), 'Add missing field `pattern`')), block + '        pattern: ""\n');

  const flow = 'verifier:\n  checks:\n    - id: a\n      json: { path: out.json }\n';
  const f = diag(flow, 'json', 'missing-field', { path: ['verifier', 'checks', 0, 'json'], missing: ['query'] });
  assert.equal(applyValid(flow, actionsFor(flow, f)[0]!), 'verifier:\n  checks:\n    - id: a\n      json: { path: out.json, query: "" }\n');
  const emptyFlow = 'verifier:\n  checks:\n    - { id: a, json: {} }\n';
  const ef = diag(emptyFlow, 'id', 'missing-field', { path: ['verifier', 'checks', 0, 'json'], missing: ['path', 'query'] });
  assert.equal(applyValid(emptyFlow, actionsFor(emptyFlow, ef)[0]!), 'verifier:\n  checks:\n    - { id: a, json: { path: "", query: "" } }\n');

  const empty = 'verifier:\n  checks:\n    - id: a\n      file_matches:   # todo\n    - id: b\n      python: x\n';
  const e = diag(empty, 'file_matches', 'missing-field', { path: ['verifier', 'checks', 0, 'file_matches'], missing: ['path', 'pattern'] });
  assert.equal(
    applyValid(empty, titled(actionsFor(empty, e), 'Add missing fields `path`, `pattern`')),
    'verifier:\n  checks:\n    - id: a\n      file_matches:   # todo\n        path: ""\n        pattern: ""\n    - id: b\n      python: x\n',
  );
  const tilde = 'verifier:\n  weights: ~\n';
  const t = diag(tilde, 'weights', 'missing-field', { path: ['verifier', 'weights'], missing: ['code', 'rubric'] });
  assert.deepEqual((valueOf(applyValid(tilde, actionsFor(tilde, t)[0]!)).verifier as Record<string, unknown>).weights, { code: 0, rubric: 0 });
});

test('a rubric item missing its criterion', () => {
  const text = 'verifier:\n  rubric:\n    - id: r\n';
  const d = diag(text, 'id', 'missing-field', { path: ['verifier', 'rubric', 0], missing: ['criterion'] });
  const out = applyValid(text, titled(actionsFor(text, d), 'Add missing field `criterion`'));
  assert.equal(out, 'verifier:\n  rubric:\n    - id: r\n      criterion: ""\n');
});

test('a mapping-valued required field gets its own required children (union member chosen by the field)', () => {
  // Only the file_matches variant of a check has `file_matches`; its value needs `path` and `pattern`.
  const text = 'verifier:\n  checks:\n    - id: c\n';
  const d = diag(text, 'id', 'missing-field', { path: ['verifier', 'checks', 0], missing: ['file_matches'] });
  const out = applyValid(text, titled(actionsFor(text, d), 'Add missing field `file_matches`'));
  assert.equal(out, 'verifier:\n  checks:\n    - id: c\n      file_matches:\n        path: ""\n        pattern: ""\n');
});

test('"Add check id": unique ids derived from the kind and path', () => {
  const text = [
    'verifier:',
    '  checks:',
    '    - id: file-exists-output-report-md',
    '      file_exists: output/report.md',
    '    - file_exists: output/report.md',
    '    - file_matches: { path: "out/Ünï code.md", pattern: x }',
    '    - python: |',
    '        def grade(ws): return 1',
    '    - command: python3 tools/run.py --check',
    '',
  ].join('\n');
  const expected: [number, string][] = [
    [1, 'file-exists-output-report-md-2'],
    [2, 'file-matches-out-uni-code-md'],
    [3, 'python'],
    [4, 'command-python3-tools-run-py-check'],
  ];
  const needles = ['file_exists: output/report.md', 'file_matches', 'python', 'command'];
  for (const [i, id] of expected) {
    const d = diag(text, needles[i - 1]!, 'missing-field', { path: ['verifier', 'checks', i], missing: ['id'] }, i === 1 ? 1 : 0);
    const a = titled(actionsFor(text, d), `Add check id \`${id}\``);
    assert.equal(a.isPreferred, true);
    const out = applyValid(text, a);
    assert.equal((valueOf(out).verifier as { checks: { id?: string }[] }).checks[i]!.id, id);
  }
  // Asked together (fix all), the ids stay unique among themselves too.
  const twin = 'verifier:\n  checks:\n    - file_exists: a.txt\n    - file_exists: a.txt\n';
  const td = [0, 1].map((n) => diag(twin, 'file_exists', 'missing-field', { path: ['verifier', 'checks', n], missing: ['id'] }, n));
  const acts = codeActions(doc(twin), { start: 0, end: twin.length }, td);
  assert.deepEqual(acts.map((x) => x.title), ['Add check id `file-exists-a-txt`', 'Add check id `file-exists-a-txt-2`']);
  const all = apply(twin, acts.flatMap((x) => x.edits));
  assert.deepEqual((valueOf(all).verifier as { checks: { id: string }[] }).checks.map((c) => c.id), ['file-exists-a-txt', 'file-exists-a-txt-2']);
});

test('check ids in zero-indented lists, 4-space documents and CRLF documents', () => {
  const zero = 'verifier:\n  checks:\n  - file_exists: a.txt\n  - id: b\n    file_exists: b.txt\n';
  const z = diag(zero, 'file_exists', 'missing-field', { path: ['verifier', 'checks', 0], missing: ['id'] });
  assert.equal(applyValid(zero, actionsFor(zero, z)[0]!), 'verifier:\n  checks:\n  - file_exists: a.txt\n    id: file-exists-a-txt\n  - id: b\n    file_exists: b.txt\n');

  const crlf = 'version: 1\r\nverifier:\r\n    checks:\r\n        -   file_exists: a.txt\r\n            weight: 2\r\n';
  const c = diag(crlf, 'file_exists', 'missing-field', { path: ['verifier', 'checks', 0], missing: ['id'] });
  const out = applyValid(crlf, actionsFor(crlf, c)[0]!);
  assert.equal(out, crlf + '            id: file-exists-a-txt\r\n');
  assert.ok(!/[^\r]\n/.test(out), 'a bare LF in a CRLF document');
});

// ---------------------------------------------------------------------------------------------
// no-checks

test('"Add a check": into the verifier mapping, an empty `checks:`, `checks: []`, or a new verifier', () => {
  const cases: [string, string][] = [
    ['version: 1\nverifier:\n  timeout: 2m\n', 'version: 1\nverifier:\n  timeout: 2m\n  checks:\n    - id: file-exists-output-result-txt\n      file_exists: output/result.txt\n'],
    ['verifier:\n  checks:\nsolution: {}\n', 'verifier:\n  checks:\n    - id: file-exists-output-result-txt\n      file_exists: output/result.txt\nsolution: {}\n'],
    ['verifier:\n  checks: []\n', 'verifier:\n  checks: [ { id: file-exists-output-result-txt, file_exists: output/result.txt } ]\n'],
    ['verifier:\n', 'verifier:\n  checks:\n    - id: file-exists-output-result-txt\n      file_exists: output/result.txt\n'],
    ['verifier: {}\n', 'verifier: { checks: [ { id: file-exists-output-result-txt, file_exists: output/result.txt } ] }\n'],
    ['id: x\n', 'id: x\nverifier:\n  checks:\n    - id: file-exists-output-result-txt\n      file_exists: output/result.txt\n'],
    // The document's own style: 4-space mappings, `-` flush with its key.
    ['verifier:\n    rubric:\n    - id: r\n      criterion: c\n', 'verifier:\n    rubric:\n    - id: r\n      criterion: c\n    checks:\n    - id: file-exists-output-result-txt\n      file_exists: output/result.txt\n'],
    ['verifier:\r\n  timeout: 2m\r\n', 'verifier:\r\n  timeout: 2m\r\n  checks:\r\n    - id: file-exists-output-result-txt\r\n      file_exists: output/result.txt\r\n'],
  ];
  for (const [text, expected] of cases) {
    const d: Diagnostic = { span: { start: 0, end: 1 }, severity: 'warning', code: 'no-checks', message: 'm', data: { path: ['verifier'] } };
    const a = titled(codeActions(doc(text), d.span, [d]), 'Add a check');
    assert.equal(applyValid(text, a), expected);
  }
});

test('"Add a check" picks an id no other check or rubric item uses', () => {
  const text = 'verifier:\n  rubric:\n    - id: file-exists-output-result-txt\n      criterion: c\n';
  const d: Diagnostic = { span: { start: 0, end: 1 }, severity: 'warning', code: 'no-checks', message: 'm', data: { path: ['verifier'] } };
  const out = applyValid(text, codeActions(doc(text), d.span, [d])[0]!);
  assert.equal((valueOf(out).verifier as { checks: { id: string }[] }).checks[0]!.id, 'file-exists-output-result-txt-2');
});

// ---------------------------------------------------------------------------------------------
// Robustness

test('never throws, whatever the diagnostics say', () => {
  const texts = ['', 'a: [', 'verifier:\n  checks:\n    - id: x\n      file_exists: [a,\n', '- a\n- b\n', 'just text', 'version: 1\r\nid: é\r\n'];
  const codes: DiagnosticCode[] = ['unknown-key', 'invalid-value', 'path-absolute', 'missing-field', 'duplicate-id', 'no-checks', 'check-kind-multiple', 'yaml-syntax'];
  const datas: (DiagnosticData | undefined)[] = [
    undefined,
    {},
    { path: ['nope', 3, 'x'], missing: ['id'], suggestion: 'x' },
    { path: ['verifier', 'checks', 0], missing: ['id', 'file_exists'] },
    { path: [], missing: ['version', 'verifier'] },
    { path: ['verifier', 'checks', 0, 'file_exists'], suggestion: '' },
  ];
  for (const text of texts) {
    for (const code of codes) {
      for (const data of datas) {
        for (const span of [{ start: 0, end: 0 }, { start: 0, end: text.length }, { start: text.length + 5, end: text.length + 9 }]) {
          const d: Diagnostic = { span, severity: 'error', code, message: 'm', ...(data ? { data } : {}) };
          let actions: CodeAction[] = [];
          assert.doesNotThrow(() => (actions = codeActions(doc(text), { start: 0, end: text.length + 10 }, [d])));
          for (const a of actions) for (const e of a.edits) assert.ok(e.span.start >= 0 && e.span.end <= text.length && e.span.start <= e.span.end);
        }
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Integration with validateTask: the fix removes the problem it is offered for

const fs = memoryFileSystem(['/tasks/files/in.txt']);
const validate = (text: string, uri = URI): Diagnostic[] => validateTask(doc(text, uri), fs);

/** Apply the preferred fix (or the titled one) for the first diagnostic with `code`. */
function fixFirst(text: string, code: DiagnosticCode, title?: string): { out: string; fixed: Diagnostic } {
  const diags = validate(text);
  const d = diags.find((x) => x.code === code);
  assert.ok(d, `validateTask reported no ${code}: ${JSON.stringify(diags.map((x) => x.code))}`);
  const actions = codeActions(doc(text), d.span, diags).filter((a) => a.diagnostics.includes(d));
  const a = title ? titled(actions, title) : actions.find((x) => x.isPreferred);
  assert.ok(a, `no fix for ${code}: ${JSON.stringify(actions.map((x) => x.title))}`);
  return { out: applyValid(text, a), fixed: d };
}

const samePath = (a?: DiagnosticData, b?: DiagnosticData): boolean => JSON.stringify(a?.path) === JSON.stringify(b?.path);

const VALID = 'version: 1\nid: sleep-study\nintent: Summarise my sleep.\nverifier:\n  checks:\n    - id: report\n      file_exists: output/report.md\n';

test('integration: each quick fix removes the diagnostic it fixes', () => {
  assert.deepEqual(validate(VALID).filter((d) => d.severity === 'error'), [], 'the baseline task is valid');
  const cases: [string, DiagnosticCode, string?][] = [
    [VALID.replace('intent:', 'titel: T\nintent:'), 'unknown-key'],
    [VALID.replace('intent:', 'titel: T\nintent:'), 'unknown-key', 'Remove `titel`'],
    [VALID.replace('intent:', 'titel: T\nintent:'), 'unknown-key', 'Rename to `x-titel` (keep as tool data)'],
    [VALID.replace('file_exists:', 'file_exist:'), 'unknown-key'],
    [VALID.replace('intent: Summarise my sleep.\n', 'difficulty: hrad\n'), 'missing-field'],
    [VALID.replace('version: 1\nid: sleep-study\n', ''), 'missing-field'],
    [VALID.replace('    - id: report\n      file_exists:', '    - file_exists:'), 'missing-field'],
    [VALID + '    - id: report\n      file_absent: tmp.txt\n', 'duplicate-id'],
    [VALID.replace('id: sleep-study', 'id: sleep-study\ndifficulty: hrad'), 'invalid-value'],
    [VALID.replace('output/report.md', '/output/report.md'), 'path-absolute'],
    [VALID.replace('verifier:\n  checks:\n    - id: report\n      file_exists: output/report.md\n', 'verifier:\n  timeout: 2m\n'), 'no-checks'],
  ];
  for (const [text, code, title] of cases) {
    for (const t of [text, text.replace(/\n/g, '\r\n')]) {
      const { out, fixed } = fixFirst(t, code, title);
      const after = validate(out);
      assert.ok(
        !after.some((d) => d.code === code && samePath(d.data, fixed.data)),
        `${code} still reported after the fix:\n${out}\n${JSON.stringify(after.map((d) => [d.code, d.message]))}`,
      );
      if (t.includes('\r\n')) assert.ok(!/[^\r]\n/.test(out), 'a bare LF in a CRLF document');
    }
  }
});

test('integration: applying every preferred fix repeatedly converges on a task without errors', () => {
  const messy = [
    'titel: Messy',
    'workspace:',
    '  network: nonee',
    '  files:',
    '    /in.txt: x',
    'verifier:',
    '  checks:',
    '    - file_exists: out/a.txt',
    '    - id: b',
    '      file_exist: out/b.txt',
    '    - id: b',
    '      file_matches: { path: /out/c.txt, pattern: x }',
    '',
  ].join('\n');
  let text = messy;
  for (let round = 0; round < 10; round++) {
    const diags = validate(text);
    const fix = codeActions(doc(text), { start: 0, end: text.length }, diags).find((a) => a.isPreferred);
    if (!fix) break;
    text = applyValid(text, fix);
  }
  const left = validate(text).filter((d) => d.severity === 'error');
  // What remains needs a human: the empty intent the fix inserted.
  assert.deepEqual(left.map((d) => d.code), ['invalid-value'], `${text}\n${JSON.stringify(left.map((d) => d.message))}`);
  const v = valueOf(text) as { version: number; id: string; verifier: { checks: { id: string }[] } };
  assert.equal(v.version, 1);
  assert.equal(v.id, 'sleep-study');
  assert.deepEqual(v.verifier.checks.map((c) => c.id), ['file-exists-out-a-txt', 'b', 'b-2']);
});

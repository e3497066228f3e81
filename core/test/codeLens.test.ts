import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeLenses } from '../src/language/codeLens';
import { createTaskDocument } from '../src/language/documents';
import { COMMANDS, type CodeLens, type TaskDocument } from '../src/language/types';

const URI = 'file:///tasks/demo.clawtask';

function lenses(text: string): { doc: TaskDocument; lenses: CodeLens[] } {
  const doc = createTaskDocument(URI, 1, text);
  return { doc, lenses: codeLenses(doc) };
}

const lineOf = (doc: TaskDocument, offset: number): number => doc.parsed.lines.positionAt(offset).line;

test('Run and Validate sit on the top-level id line; Verify on each check', () => {
  const text = [
    '# header comment',
    'version: 1',
    'id: demo',
    'intent: do it',
    'verifier:',
    '  checks:',
    '    - id: report-exists',
    '      file_exists: output/report.md',
    '    - command: "true"',
    '      id: runs',
    '',
  ].join('\n');
  const { doc, lenses: ls } = lenses(text);
  const run = ls.filter((l) => l.command === COMMANDS.runTask);
  const validate = ls.filter((l) => l.command === COMMANDS.validateTask);
  const verify = ls.filter((l) => l.command === COMMANDS.runCheck);
  assert.equal(run.length, 1);
  assert.equal(validate.length, 1);
  assert.equal(run[0]!.title, '▶ Run task');
  assert.equal(validate[0]!.title, '✓ Validate (oracle + no-op)');
  assert.equal(lineOf(doc, run[0]!.span.start), 2);
  assert.equal(lineOf(doc, validate[0]!.span.start), 2);
  assert.deepEqual(run[0]!.args, [URI]);
  assert.deepEqual(validate[0]!.args, [URI]);
  assert.deepEqual(
    verify.map((l) => [l.title, lineOf(doc, l.span.start), l.args]),
    [
      ['▶ Verify report-exists', 6, [URI, 'report-exists']],
      // A check whose id is not its first key still anchors on the item's first line.
      ['▶ Verify runs', 8, [URI, 'runs']],
    ],
  );
  // Lens spans never cross a line.
  for (const l of ls) assert.equal(lineOf(doc, l.span.start), lineOf(doc, l.span.end));
});

test('without a top-level id the task lenses go on line 0; checks without an id get no lens', () => {
  const { doc, lenses: ls } = lenses('version: 1\nverifier:\n  checks:\n    - file_exists: a.txt\n    - id: ""\n      file_exists: b\n');
  assert.deepEqual(
    ls.map((l) => [l.command, lineOf(doc, l.span.start)]),
    [
      [COMMANDS.runTask, 0],
      [COMMANDS.validateTask, 0],
    ],
  );
});

test('CRLF and non-ASCII text: lenses are on the right lines, ids verbatim', () => {
  const text = 'version: 1\r\nintent: «Résumé» 📄\r\nid: démo\r\nverifier:\r\n  checks:\r\n    - id: café-check\r\n      file_exists: 文件.txt\r\n';
  const { doc, lenses: ls } = lenses(text);
  assert.equal(lineOf(doc, ls[0]!.span.start), 2);
  const verify = ls.find((l) => l.command === COMMANDS.runCheck)!;
  assert.equal(lineOf(doc, verify.span.start), 5);
  assert.deepEqual(verify.args, [URI, 'café-check']);
  // The span stops before the line break.
  assert.ok(!text.slice(verify.span.start, verify.span.end).includes('\r'));
});

test('broken YAML still yields lenses from what parsed, and nothing throws', () => {
  const { doc, lenses: ls } = lenses('version: 1\nid: broken\nverifier:\n  checks:\n    - id: a\n      file_exists: [x,\n    - id: b\n');
  assert.equal(lineOf(doc, ls[0]!.span.start), 1);
  assert.ok(ls.some((l) => l.command === COMMANDS.runCheck && l.args[1] === 'a'));
  for (const t of ['', ':::', '- a\n- b', '{', 'id: [', '\t\tx', 'verifier:\n  checks: 3']) {
    assert.doesNotThrow(() => codeLenses(createTaskDocument(URI, 1, t)));
  }
});

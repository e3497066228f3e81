/**
 * UTF-16 positions: LSP counts characters in UTF-16 code units, which is what JavaScript string
 * indices are. These tests pin the conversions on text where bytes, code points and UTF-16 units
 * differ, and on every line-break style, and check that diagnostics land on the right line there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineIndex, parseTask } from '../src/syntax';
import { createTaskDocument, memoryFileSystem, validateTask } from '../src/language';

test('é and CJK count one UTF-16 unit each', () => {
  const text = 'é: 1\n名前: 2\n';
  const li = new LineIndex(text);
  assert.deepEqual(li.positionAt(text.indexOf(':')), { line: 0, character: 1 });
  assert.deepEqual(li.positionAt(text.indexOf('2')), { line: 1, character: 4 });
  assert.equal(li.offsetAt({ line: 1, character: 2 }), text.indexOf(': 2'));
});

test('an emoji outside the BMP counts two UTF-16 units (a surrogate pair)', () => {
  const text = 'a: "🦀x"\n';
  const li = new LineIndex(text);
  // a, :, space, quote, then 🦀 (2 units), then x at character 6
  assert.deepEqual(li.positionAt(text.indexOf('x')), { line: 0, character: 6 });
  assert.equal(li.offsetAt({ line: 0, character: 6 }), text.indexOf('x'));
  assert.equal([...'🦀'].length, 1);
  assert.equal('🦀'.length, 2);
});

test('CRLF is one line break; the CR is not part of the line', () => {
  const text = 'a: 1\r\nb: 2\r\n';
  const li = new LineIndex(text);
  assert.equal(li.lineCount, 3);
  assert.deepEqual(li.positionAt(text.indexOf('b')), { line: 1, character: 0 });
  assert.equal(li.lineText(0), 'a: 1');
  assert.equal(li.lineEnd(0), 4);
  // an offset between CR and LF belongs to the first line's end
  assert.deepEqual(li.positionAt(5), { line: 0, character: 5 });
  // past the end of a line clamps to the line's end, never into the next line
  assert.equal(li.offsetAt({ line: 0, character: 99 }), 4);
});

test('a lone CR is a line break too', () => {
  const text = 'a: 1\rb: 2\rc: 3';
  const li = new LineIndex(text);
  assert.equal(li.lineCount, 3);
  assert.deepEqual(li.positionAt(text.indexOf('c')), { line: 2, character: 0 });
  assert.equal(li.lineText(1), 'b: 2');
  assert.equal(li.offsetAt({ line: 2, character: 3 }), text.length - 1);
});

test('mixed line breaks and out-of-range positions', () => {
  const text = 'x\ny\r\nz\rw';
  const li = new LineIndex(text);
  assert.deepEqual(['x', 'y', 'z', 'w'].map((ch) => li.positionAt(text.indexOf(ch)).line), [0, 1, 2, 3]);
  assert.deepEqual(li.positionAt(-5), { line: 0, character: 0 });
  assert.deepEqual(li.positionAt(1000), { line: 3, character: 1 });
  assert.equal(li.offsetAt({ line: 10, character: 0 }), text.length);
  assert.equal(li.offsetAt({ line: -1, character: 3 }), 0);
});

/** The line and UTF-16 column of the first diagnostic with `code`. */
function where(text: string, code: string): { line: number; character: number; text: string } {
  const doc = createTaskDocument('untitled:t', 1, text);
  const d = validateTask(doc, memoryFileSystem([])).find((x) => x.code === code);
  assert.ok(d, `expected a ${code} diagnostic`);
  return { ...doc.parsed.lines.positionAt(d.span.start), text: text.slice(d.span.start, d.span.end) };
}

const TAIL = 'verifier:\n  checks:\n    - { id: a, file_exists: out.txt }\n';

test('diagnostics after emoji and CJK text land on the right line and UTF-16 column', () => {
  const text = `version: 1\nid: t\nintent: "🦀🦀 名前 é"\ndifficulty: "🦀 hard"\n${TAIL}`;
  const pos = where(text, 'invalid-value');
  assert.equal(pos.line, 3);
  assert.equal(pos.character, 12);
  assert.equal(pos.text, '"🦀 hard"');
});

test('diagnostics in a CRLF file land on the right line', () => {
  const text = `version: 1\r\nid: t\r\nintent: hi\r\nagent:\r\n  timeout: soon\r\n${TAIL.replace(/\n/g, '\r\n')}`;
  const pos = where(text, 'invalid-duration');
  assert.deepEqual({ line: pos.line, character: pos.character, text: pos.text }, { line: 4, character: 11, text: 'soon' });
});

test('diagnostics in a lone-CR file land on the right line', () => {
  const text = `version: 1\rid: t\rintent: hi\rtittle: x\r${TAIL.replace(/\n/g, '\r')}`;
  const pos = where(text, 'unknown-key');
  assert.deepEqual({ line: pos.line, character: pos.character, text: pos.text }, { line: 3, character: 0, text: 'tittle' });
});

test('the parser keeps source offsets in UTF-16 units', () => {
  const p = parseTask('k: "🦀"\nv: 2\n');
  assert.deepEqual(p.lines.positionAt(p.text.indexOf('v')), { line: 1, character: 0 });
  assert.equal(p.syntaxErrors.length, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineIndex } from '../../core/src/syntax';
import type * as core from '../../core/src/language';
import {
  flattenSymbols,
  fromLspDiagnostic,
  kindAllowed,
  positionToOffset,
  rangeToSpan,
  snippetToPlainText,
  spanToRange,
  toLspCodeAction,
  toLspCompletionItems,
  toLspDiagnostic,
  toLspDocumentSymbols,
  toLspFoldingRanges,
} from '../src/convert';
import { DiagnosticSeverity, DiagnosticTag, InsertTextFormat, SymbolKind, type InsertReplaceEdit } from 'vscode-languageserver/node';

// "🦀" is one code point but two UTF-16 code units: LSP (utf-16) counts it as 2 characters.
const TEXT = 'version: 1\ntitle: 🦀 crab\nbogus: 🦀🦀\n';
const lines = new LineIndex(TEXT);

test('spans convert to UTF-16 ranges past astral characters', () => {
  const at = TEXT.indexOf('crab');
  assert.deepEqual(spanToRange(lines, { start: at, end: at + 4 }), { start: { line: 1, character: 10 }, end: { line: 1, character: 14 } });
  const e = TEXT.lastIndexOf('🦀');
  // the second crab on line 2 starts at character 9 (7 for "bogus: " + 2 for the first crab)
  assert.deepEqual(spanToRange(lines, { start: e, end: e + 2 }), { start: { line: 2, character: 9 }, end: { line: 2, character: 11 } });
});

test('positions convert back to offsets; garbage positions give undefined', () => {
  assert.equal(positionToOffset(lines, { line: 1, character: 10 }), TEXT.indexOf('crab'));
  // past the end of the line: the end of the line (LSP rule), not the next line
  assert.equal(positionToOffset(lines, { line: 0, character: 999 }), 'version: 1'.length);
  assert.equal(positionToOffset(lines, { line: 99, character: 0 }), undefined);
  assert.equal(positionToOffset(lines, { line: -1, character: 0 }), undefined);
  assert.equal(positionToOffset(lines, { line: 0, character: 1.5 }), undefined);
  assert.equal(positionToOffset(lines, undefined), undefined);
  assert.deepEqual(rangeToSpan(lines, { start: { line: 1, character: 14 }, end: { line: 1, character: 10 } }), {
    start: TEXT.indexOf('crab'),
    end: TEXT.indexOf('crab') + 4,
  });
});

test('diagnostics carry code, source, data and tags, and come back as the same core diagnostic', () => {
  const start = TEXT.indexOf('bogus');
  const d: core.Diagnostic = {
    span: { start, end: start + 5 },
    severity: 'warning',
    code: 'unknown-key',
    message: 'unknown key `bogus`',
    data: { path: ['bogus'], suggestion: 'title' },
    tags: ['unnecessary'],
  };
  const lsp = toLspDiagnostic(lines, d);
  assert.deepEqual(lsp.range, { start: { line: 2, character: 0 }, end: { line: 2, character: 5 } });
  assert.equal(lsp.code, 'unknown-key');
  assert.equal(lsp.source, 'clawgym');
  assert.equal(lsp.severity, DiagnosticSeverity.Warning);
  assert.deepEqual(lsp.tags, [DiagnosticTag.Unnecessary]);
  assert.deepEqual(lsp.data, d.data);
  // through JSON, as over the wire
  const back = fromLspDiagnostic(lines, JSON.parse(JSON.stringify(lsp)));
  assert.deepEqual(back, d);
});

test('diagnostics that are not ours are not converted back', () => {
  const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } };
  assert.equal(fromLspDiagnostic(lines, { range, message: 'x', code: 'unknown-key', source: 'eslint' }), undefined);
  assert.equal(fromLspDiagnostic(lines, { range, message: 'x', code: 'no-such-code', source: 'clawgym' }), undefined);
  assert.equal(fromLspDiagnostic(lines, { range: { start: { line: 50, character: 0 }, end: range.end }, message: 'x', code: 'unknown-key' }), undefined);
});

test('completion items: insert/replace ranges from the replace span, snippets, extra edits, retrigger', () => {
  const text = 'verifier:\n  checks:\n    - id: a🦀\n      file_ex\n';
  const li = new LineIndex(text);
  const wordStart = text.indexOf('file_ex');
  const cursor = wordStart + 4; // between "file" and "_ex"
  const item: core.CompletionItem = {
    label: 'file_exists',
    kind: 'property',
    insertText: 'file_exists: ${1:path}',
    isSnippet: true,
    replace: { start: wordStart, end: wordStart + 7 },
    documentation: 'Passes when the file exists.',
    additionalEdits: [{ span: { start: text.indexOf('🦀'), end: text.indexOf('🦀') + 2 }, newText: '' }],
    retrigger: true,
  };
  const [vs] = toLspCompletionItems(li, cursor, [item], { insertReplace: true, snippets: true, markdown: true });
  const edit = vs!.textEdit as InsertReplaceEdit;
  assert.deepEqual(edit.replace, { start: { line: 3, character: 6 }, end: { line: 3, character: 13 } });
  assert.deepEqual(edit.insert, { start: { line: 3, character: 6 }, end: { line: 3, character: 10 } });
  assert.equal(vs!.insertTextFormat, InsertTextFormat.Snippet);
  assert.deepEqual(vs!.documentation, { kind: 'markdown', value: 'Passes when the file exists.' });
  assert.deepEqual(vs!.additionalTextEdits, [{ range: { start: { line: 2, character: 11 }, end: { line: 2, character: 13 } }, newText: '' }]);
  assert.equal(vs!.command?.command, 'editor.action.triggerSuggest');

  const [plain] = toLspCompletionItems(li, cursor, [item], { insertReplace: false, snippets: false, markdown: false });
  assert.deepEqual(plain!.textEdit, { newText: 'file_exists: path', range: edit.replace });
  assert.equal(plain!.insertTextFormat, InsertTextFormat.PlainText);
  assert.equal(plain!.documentation, 'Passes when the file exists.');
});

test('snippets flatten to plain text for clients without snippet support', () => {
  assert.equal(snippetToPlainText('id: ${1:check-id}\n  file_exists: ${2:path}$0'), 'id: check-id\n  file_exists: path');
  assert.equal(snippetToPlainText('${1|none,model-only,open|}'), 'none');
  assert.equal(snippetToPlainText('cost: \\$5 ${1:a ${2:b}}'), 'cost: $5 a b');
});

test('document symbols guard against empty names and selections outside the range; flattening keeps containers', () => {
  const text = 'verifier:\n  checks:\n    - id: c1\n';
  const li = new LineIndex(text);
  const sym: core.DocumentSymbol = {
    name: 'verifier',
    kind: 'object',
    span: { start: 0, end: text.length - 1 },
    selectionSpan: { start: 0, end: 8 },
    children: [{ name: '', kind: 'check', span: { start: text.indexOf('id'), end: text.length - 1 }, selectionSpan: { start: 0, end: 3 }, children: [] }],
  };
  const [root] = toLspDocumentSymbols(li, [sym]);
  assert.equal(root!.kind, SymbolKind.Object);
  const child = root!.children![0]!;
  assert.equal(child.kind, SymbolKind.Function);
  assert.notEqual(child.name.trim(), '');
  assert.deepEqual(child.selectionRange, { start: child.range.start, end: child.range.start });
  const flat = flattenSymbols('file:///t.clawtask', [root!]);
  assert.deepEqual(flat.map((s) => [s.name, s.containerName]), [['verifier', undefined], [child.name, 'verifier']]);
});

test('folding ranges drop empty and out-of-document ranges', () => {
  const out = toLspFoldingRanges([
    { startLine: 0, endLine: 3 },
    { startLine: 2, endLine: 2 },
    { startLine: 1, endLine: 40 },
    { startLine: 1, endLine: 2, kind: 'comment' },
  ], 10);
  assert.deepEqual(out, [{ startLine: 0, endLine: 3 }, { startLine: 1, endLine: 2, kind: 'comment' }]);
});

test('code actions: edits in the right shape, the client diagnostics reattached, kind filter', () => {
  const start = TEXT.indexOf('bogus');
  const d: core.Diagnostic = { span: { start, end: start + 5 }, severity: 'error', code: 'unknown-key', message: 'm', data: { suggestion: 'title' } };
  const lspDiag = toLspDiagnostic(lines, d);
  const action: core.CodeAction = { title: 'Change to `title`', kind: 'quickfix', diagnostics: [d], edits: [{ span: d.span, newText: 'title' }], isPreferred: true };
  const a = toLspCodeAction(lines, 'file:///t', 3, action, (x) => (x === d ? lspDiag : undefined), true);
  assert.equal(a.kind, 'quickfix');
  assert.equal(a.isPreferred, true);
  assert.equal(a.diagnostics![0], lspDiag);
  assert.deepEqual(a.edit, { documentChanges: [{ textDocument: { uri: 'file:///t', version: 3 }, edits: [{ range: lspDiag.range, newText: 'title' }] }] });
  const b = toLspCodeAction(lines, 'file:///t', 3, action, () => undefined, false);
  assert.deepEqual(b.edit, { changes: { 'file:///t': [{ range: lspDiag.range, newText: 'title' }] } });
  assert.ok(kindAllowed('quickfix', ['quickfix']));
  assert.ok(kindAllowed('refactor.extract', ['refactor']));
  assert.ok(!kindAllowed('quickfix', ['source']));
  assert.ok(kindAllowed('quickfix', undefined));
});

/**
 * The real server, in-process, over a pair of streams: what a client sees on the wire.
 *
 * Tests that depend on core's language features (diagnostics, completion, …) assert the behaviour
 * the shared contracts describe; the server only converts, so a failure there is either core's
 * answer or the conversion, and the convert tests tell which.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancellationTokenSource,
  CodeActionRequest,
  CodeLensRequest,
  CompletionRequest,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  DocumentDiagnosticReportKind,
  DocumentSymbolRequest,
  FileChangeType,
  FoldingRangeRequest,
  HoverRequest,
  LSPErrorCodes,
  ResponseError,
  TextDocumentSyncKind,
  type CompletionItem,
  type CompletionList,
  type Diagnostic,
  type DidChangeWatchedFilesParams,
  type DocumentDiagnosticReport,
  type DocumentSymbol,
  type FullDocumentDiagnosticReport,
  type InsertReplaceEdit,
  type MarkupContent,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';
import { memoryFileSystem, type FileSystemHost } from '../../core/src/language';
import { fileUri, positionOf, pushOnlyCapabilities, rangeOf, TestClient, type TestClientOptions } from './harness';

const URI = fileUri('/ws/task.clawtask');

/** A small valid task (one check); tests add the line they are about. */
const VALID = [
  'version: 1',
  'id: demo',
  'intent: Write the report to output/report.md.',
  'verifier:',
  '  checks:',
  '    - id: report',
  '      file_exists: output/report.md',
  '',
].join('\n');

/** A disk whose files tests can add and remove (paths absolute). */
class MutableFs implements FileSystemHost {
  private paths: Set<string>;
  private inner: FileSystemHost;
  constructor(paths: string[]) {
    this.paths = new Set(paths);
    this.inner = memoryFileSystem([...this.paths]);
  }
  add(path: string): void {
    this.paths.add(path);
    this.inner = memoryFileSystem([...this.paths]);
  }
  stat(path: string): ReturnType<FileSystemHost['stat']> {
    return this.inner.stat(path);
  }
  readDir(path: string): ReturnType<FileSystemHost['readDir']> {
    return this.inner.readDir(path);
  }
}

async function withClient(opts: TestClientOptions, body: (c: TestClient) => Promise<void>): Promise<void> {
  const fs = opts.server?.fileSystem ?? new MutableFs(['/ws/task.clawtask']);
  const client = await TestClient.start({ ...opts, server: { ...opts.server, fileSystem: fs } });
  try {
    await body(client);
  } finally {
    await client.dispose();
  }
}

function full(report: DocumentDiagnosticReport): FullDocumentDiagnosticReport {
  assert.equal(report.kind, DocumentDiagnosticReportKind.Full, `expected a full report, got ${JSON.stringify(report)}`);
  return report as FullDocumentDiagnosticReport;
}

function byCode(items: Diagnostic[], code: string): Diagnostic[] {
  return items.filter((d) => d.code === code);
}

function items(result: CompletionItem[] | CompletionList | null): CompletionItem[] {
  if (!result) return [];
  return Array.isArray(result) ? result : result.items;
}

// ---------------------------------------------------------------------------------------------

test('initialize: UTF-16 positions, incremental sync, pull diagnostics and every feature advertised', async () => {
  await withClient({}, async (c) => {
    const caps = c.initializeResult.capabilities;
    assert.equal(caps.positionEncoding, 'utf-16');
    assert.deepEqual(caps.textDocumentSync, { openClose: true, change: TextDocumentSyncKind.Incremental });
    assert.deepEqual(caps.diagnosticProvider, { identifier: 'clawgym', interFileDependencies: false, workspaceDiagnostics: false });
    assert.ok(caps.completionProvider);
    assert.equal(caps.hoverProvider, true);
    assert.ok(caps.documentSymbolProvider);
    assert.equal(caps.foldingRangeProvider, true);
    assert.ok(caps.codeActionProvider);
    assert.ok(caps.codeLensProvider);
    assert.equal(c.initializeResult.serverInfo?.name, 'clawgym-language-server');
    // file watching and configuration changes are registered dynamically after `initialized`
    await waitUntil(() => c.registrations.length >= 2);
    const watch = c.registrations.find((r) => r.method === DidChangeWatchedFilesNotification.method);
    assert.deepEqual(watch?.registerOptions, { watchers: [{ globPattern: '**/*' }] });
    assert.ok(c.registrations.some((r) => r.method === DidChangeConfigurationNotification.method));
  });
});

test('initialize: a client without pull support gets no diagnosticProvider (the server pushes)', async () => {
  await withClient({ capabilities: pushOnlyCapabilities() }, async (c) => {
    assert.equal(c.initializeResult.capabilities.diagnosticProvider, undefined);
    assert.equal(c.server.pullMode(), false);
  });
});

test('pull diagnostics: an unknown key is reported on the exact key range', async () => {
  const text = VALID.replace('intent:', 'bogus: 1\nintent:');
  await withClient({}, async (c) => {
    await c.open(URI, text);
    const report = full(await c.pull(URI));
    const [d, ...more] = byCode(report.items, 'unknown-key');
    assert.ok(d, `no unknown-key in ${JSON.stringify(report.items)}`);
    assert.equal(more.length, 0);
    assert.deepEqual(d.range, rangeOf(text, 'bogus'));
    assert.equal(d.source, 'clawgym');
    assert.equal(d.severity, 1);
    assert.deepEqual((d.data as { path?: unknown }).path, ['bogus']);
    assert.ok(report.resultId);
    assert.deepEqual(c.errors(), []);
  });
});

test('pull diagnostics: a YAML syntax error is reported where the parser stopped', async () => {
  const text = VALID.replace('  checks:\n', '  timeout: ]\n  checks:\n');
  await withClient({}, async (c) => {
    await c.open(URI, text);
    const report = full(await c.pull(URI));
    const syntax = byCode(report.items, 'yaml-syntax');
    assert.ok(syntax.length > 0, `no yaml-syntax in ${JSON.stringify(report.items)}`);
    assert.deepEqual(syntax[0]!.range.start, positionOf(text, text.indexOf(']')));
    assert.equal(syntax[0]!.severity, 1);
  });
});

test('parse once per version: every feature shares it; closing evicts it', async () => {
  await withClient({}, async (c) => {
    await c.open(URI, VALID);
    await c.pull(URI);
    await c.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: URI } });
    await c.connection.sendRequest(FoldingRangeRequest.type, { textDocument: { uri: URI } });
    await c.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri: URI } });
    await c.connection.sendRequest(HoverRequest.type, { textDocument: { uri: URI }, position: { line: 0, character: 1 } });
    assert.equal(c.server.cache.parses, 1);
    assert.equal(c.server.cache.size, 1);
    await c.change(URI, 2, [{ range: { start: { line: 1, character: 8 }, end: { line: 1, character: 8 } }, text: 'x' }]);
    await c.pull(URI);
    await c.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: URI } });
    assert.equal(c.server.cache.parses, 2);
    await c.close(URI);
    await waitUntil(() => c.server.cache.size === 0);
    assert.equal(c.server.documents.get(URI), undefined);
  });
});

test('incremental edits then re-pull: new result id when diagnostics change, `unchanged` when not', async () => {
  const text = VALID.replace('intent:', 'bogus: 1\nintent:');
  await withClient({}, async (c) => {
    await c.open(URI, text);
    const first = full(await c.pull(URI));
    assert.equal(byCode(first.items, 'unknown-key').length, 1);

    // pulling again with the id: nothing changed
    const again = await c.pull(URI, first.resultId);
    assert.deepEqual(again, { kind: DocumentDiagnosticReportKind.Unchanged, resultId: first.resultId });
    const validations = c.server.stats.validations;

    // delete the `bogus: 1` line with an incremental edit
    const bogusLine = positionOf(text, text.indexOf('bogus')).line;
    await c.change(URI, 2, [{ range: { start: { line: bogusLine, character: 0 }, end: { line: bogusLine + 1, character: 0 } }, text: '' }]);
    const second = full(await c.pull(URI, first.resultId));
    // (after a request: the server has processed the notification before it)
    assert.equal(c.server.documents.get(URI)?.getText(), VALID);
    assert.notEqual(second.resultId, first.resultId);
    assert.equal(byCode(second.items, 'unknown-key').length, 0);
    assert.equal(c.server.stats.validations, validations + 1);

    // two edits in one notification that leave the diagnostics as they were (in the last value)
    const last = positionOf(VALID, VALID.indexOf('report.md', VALID.indexOf('file_exists')));
    await c.change(URI, 3, [
      { range: { start: last, end: last }, text: 'final-' },
      { range: { start: last, end: { line: last.line, character: last.character + 6 } }, text: 'big-' },
    ]);
    const third = await c.pull(URI, second.resultId);
    assert.equal(c.server.documents.get(URI)?.getText(), VALID.replace('file_exists: output/report.md', 'file_exists: output/big-report.md'));
    assert.deepEqual(third, { kind: DocumentDiagnosticReportKind.Unchanged, resultId: second.resultId });
  });
});

test('push mode: diagnostics are published per version, debounced, and cleared on close', async () => {
  const text = VALID.replace('intent:', 'bogus: 1\nintent:');
  await withClient({ capabilities: pushOnlyCapabilities(), initializationOptions: { pushDiagnosticsDelay: 150 } }, async (c) => {
    await c.open(URI, text);
    const opened = await c.waitForPublish(URI, (p) => p.version === 1);
    const [d] = byCode(opened.diagnostics, 'unknown-key');
    assert.deepEqual(d?.range, rangeOf(text, 'bogus'));

    // three quick edits: only the last version is validated and published
    const next = c.nextPublish(URI);
    for (let v = 2; v <= 4; v++) {
      await c.change(URI, v, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '' }]);
    }
    const published = await next;
    assert.equal(published.version, 4);
    assert.ok(!c.published.some((p) => p.version === 2 || p.version === 3));

    const cleared = c.nextPublish(URI);
    await c.close(URI);
    assert.deepEqual((await cleared).diagnostics, []);
  });
});

test('settings: diagnostics.enable=false silences them; untouchedChecks=false drops check-passes-untouched', async () => {
  const untouched = [
    'version: 1',
    'id: demo',
    'intent: Summarise input/notes.md into output/summary.md.',
    'workspace:',
    '  files:',
    '    input/notes.md: hello',
    'verifier:',
    '  checks:',
    '    - id: notes-there',
    '      file_exists: input/notes.md',
    '    - id: summary',
    '      file_exists: output/summary.md',
    '',
  ].join('\n');
  await withClient({}, async (c) => {
    await c.open(URI, untouched);
    const report = full(await c.pull(URI));
    const [d] = byCode(report.items, 'check-passes-untouched');
    assert.ok(d, `no check-passes-untouched in ${JSON.stringify(report.items)}`);
    // on the check (its `-` line or the kind's line), never elsewhere
    assert.ok([8, 9].includes(d.range.start.line), JSON.stringify(d.range));

    // the user turns the warning off: the server re-reads its settings and asks for a refresh
    c.configuration = { diagnostics: { untouchedChecks: false } };
    const refreshed = c.nextRefresh();
    await c.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    await refreshed;
    const after = full(await c.pull(URI, report.resultId));
    assert.equal(byCode(after.items, 'check-passes-untouched').length, 0);
  });
  await withClient({ configuration: { diagnostics: { enable: false } } }, async (c) => {
    await c.open(URI, VALID.replace('intent:', 'bogus: 1\nintent:'));
    assert.deepEqual(full(await c.pull(URI)).items, []);
  });
});

test('a `from` file appearing on disk refreshes diagnostics (pull: refresh request; push: re-publish)', async () => {
  const text = [
    'version: 1',
    'id: demo',
    'intent: Clean input/data.csv.',
    'workspace:',
    '  files:',
    '    input/data.csv: { from: files/data.csv }',
    'verifier:',
    '  checks:',
    '    - id: cleaned',
    '      file_exists: output/clean.csv',
    '',
  ].join('\n');
  const created: DidChangeWatchedFilesParams = { changes: [{ uri: fileUri('/ws/files/data.csv'), type: FileChangeType.Created }] };

  const pullFs = new MutableFs(['/ws/task.clawtask']);
  await withClient({ server: { fileSystem: pullFs } }, async (c) => {
    await c.open(URI, text);
    const before = full(await c.pull(URI));
    const [missing] = byCode(before.items, 'from-missing');
    assert.deepEqual(missing?.range, rangeOf(text, 'files/data.csv'));
    pullFs.add('/ws/files/data.csv');
    const refreshed = c.nextRefresh();
    await c.connection.sendNotification(DidChangeWatchedFilesNotification.type, created);
    await refreshed;
    const after = full(await c.pull(URI, before.resultId));
    assert.equal(byCode(after.items, 'from-missing').length, 0);
  });

  const pushFs = new MutableFs(['/ws/task.clawtask']);
  await withClient({ capabilities: pushOnlyCapabilities(), server: { fileSystem: pushFs } }, async (c) => {
    await c.open(URI, text);
    const before = await c.waitForPublish(URI);
    assert.equal(byCode(before.diagnostics, 'from-missing').length, 1);
    pushFs.add('/ws/files/data.csv');
    const republished = c.nextPublish(URI);
    await c.connection.sendNotification(DidChangeWatchedFilesNotification.type, created);
    assert.equal(byCode((await republished).diagnostics, 'from-missing').length, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Features, with UTF-16 positions on lines holding astral characters (🦀 = 2 UTF-16 units)

const EMOJI_TASK = [
  'version: 1',
  'id: crab',
  'title: Crab 🦀 report',
  'intent: Write 🦀/notes.md and output/report.md.',
  'workspace: { env: { MOOD: "🦀🦀" }, netwrk: none }',
  'verifier:',
  '  checks:',
  '    - id: notes',
  '      file_exists: 🦀/',
  '    - { description: "🦀 crab", id: report, file_exists: output/report.md }',
  '',
].join('\n');

/** The UTF-16 position just after `needle` (first occurrence after `from`). */
function after(text: string, needle: string, from = 0): { line: number; character: number } {
  return positionOf(text, text.indexOf(needle, from) + needle.length);
}

test('completion after an astral character: ranges in UTF-16 units', async () => {
  const text = [
    'version: 1',
    'id: crab',
    'intent: Write 🦀/notes.md.',
    'workspace:',
    '  files:',
    '    🦀/notes.md: hello 🦀',
    'verifier:',
    '  checks:',
    '    - id: notes',
    '      file_exists: 🦀/',
    '',
  ].join('\n');
  await withClient({}, async (c) => {
    await c.open(URI, text);
    const cursor = after(text, 'file_exists: 🦀/');
    assert.equal(cursor.character, 'file_exists: 🦀/'.length + 6); // 6 spaces of indentation; the crab counts 2
    const result = await c.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: URI }, position: cursor });
    const list = items(result);
    const notes = list.find((i) => i.label.includes('notes.md'));
    assert.ok(notes, `no notes.md among ${JSON.stringify(list.map((i) => i.label))}`);
    const edit = notes.textEdit as InsertReplaceEdit | TextEdit | undefined;
    assert.ok(edit);
    const range = 'replace' in edit ? edit.replace : edit.range;
    // the edit replaces the typed path (all of it, or the segment after the slash), ending at the cursor
    assert.equal(range.end.line, cursor.line);
    assert.equal(range.end.character, cursor.character);
    const valueStart = after(text, 'file_exists: ', text.indexOf('id: notes'));
    assert.ok(
      range.start.character === valueStart.character || range.start.character === cursor.character,
      `replace starts at ${range.start.character}, expected ${valueStart.character} or ${cursor.character}`,
    );
  });
});

test('hover on a key after an astral character: markdown and an exact UTF-16 range', async () => {
  await withClient({}, async (c) => {
    await c.open(URI, EMOJI_TASK);
    const line = EMOJI_TASK.split('\n').findIndex((l) => l.includes('description: "🦀 crab"'));
    const keyAt = EMOJI_TASK.indexOf('file_exists', EMOJI_TASK.indexOf('description: "🦀 crab"'));
    const pos = positionOf(EMOJI_TASK, keyAt + 2);
    assert.equal(pos.line, line);
    const hover = await c.connection.sendRequest(HoverRequest.type, { textDocument: { uri: URI }, position: pos });
    assert.ok(hover, 'no hover');
    assert.equal((hover.contents as MarkupContent).kind, 'markdown');
    assert.ok((hover.contents as MarkupContent).value.length > 0);
    assert.deepEqual(hover.range, { start: positionOf(EMOJI_TASK, keyAt), end: positionOf(EMOJI_TASK, keyAt + 'file_exists'.length) });
  });
});

test('document symbols, folding ranges and code lenses on a task with astral characters', async () => {
  await withClient({}, async (c) => {
    await c.open(URI, EMOJI_TASK);
    const symbols = (await c.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: URI } })) as DocumentSymbol[] | null;
    assert.ok(symbols && symbols.length > 0, 'no symbols');
    const all: DocumentSymbol[] = [];
    const walk = (list: DocumentSymbol[]): void => list.forEach((s) => (all.push(s), walk(s.children ?? [])));
    walk(symbols);
    assert.ok(all.every((s) => 'selectionRange' in s), 'expected hierarchical DocumentSymbols');
    const report = all.find((s) => s.name === 'report');
    assert.ok(report, `no symbol for check \`report\` among ${JSON.stringify(all.map((s) => s.name))}`);
    // the flow-style check's range ends on its line, past both astral characters
    const endOfCheck = after(EMOJI_TASK, 'output/report.md', EMOJI_TASK.indexOf('{ description'));
    assert.equal(report.range.end.line, endOfCheck.line);
    assert.ok(report.range.end.character >= endOfCheck.character, `range ends at ${report.range.end.character} < ${endOfCheck.character}`);

    const folds = await c.connection.sendRequest(FoldingRangeRequest.type, { textDocument: { uri: URI } });
    const verifierLine = EMOJI_TASK.split('\n').indexOf('verifier:');
    assert.ok(folds?.some((f) => f.startLine === verifierLine && f.endLine >= verifierLine + 3), `no fold for verifier in ${JSON.stringify(folds)}`);

    const lenses = await c.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri: URI } });
    assert.ok(lenses && lenses.length > 0, 'no code lenses');
    const commands = new Set(lenses.map((l) => l.command?.command));
    assert.ok(commands.has('clawgym.runTask') || commands.has('clawgym.validateTask'), JSON.stringify([...commands]));
    const runReport = lenses.find((l) => l.command?.command === 'clawgym.runCheck' && l.command.arguments?.[1] === 'report');
    assert.ok(runReport, 'no runCheck lens for `report`');
    assert.equal(runReport.command?.arguments?.[0], URI);
    assert.equal(runReport.range.start.line, endOfCheck.line);
  });
});

test('code action: a did-you-mean fix for a key after astral characters, from the diagnostic sent back', async () => {
  await withClient({}, async (c) => {
    await c.open(URI, EMOJI_TASK);
    const report = full(await c.pull(URI));
    const [d] = byCode(report.items, 'unknown-key');
    assert.ok(d, `no unknown-key in ${JSON.stringify(report.items)}`);
    assert.deepEqual(d.range, rangeOf(EMOJI_TASK, 'netwrk'));
    assert.equal((d.data as { suggestion?: string }).suggestion, 'network');
    const actions = await c.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: URI },
      range: d.range,
      context: { diagnostics: [d], only: ['quickfix'] },
    });
    assert.ok(actions && actions.length > 0, 'no code actions');
    const fix = actions.find((a) => 'edit' in a && a.edit);
    assert.ok(fix && 'kind' in fix, JSON.stringify(actions));
    assert.equal(fix.kind, 'quickfix');
    assert.deepEqual(fix.diagnostics?.[0], d);
    const edits = documentEdits(fix.edit!, URI);
    assert.deepEqual(edits, [{ range: d.range, newText: 'network' }]);
  });
});

function documentEdits(edit: WorkspaceEdit, uri: string): TextEdit[] {
  if (edit.changes) return edit.changes[uri] ?? [];
  const out: TextEdit[] = [];
  for (const ch of edit.documentChanges ?? []) {
    if ('textDocument' in ch && ch.textDocument.uri === uri) out.push(...(ch.edits as TextEdit[]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Robustness

test('a cancelled request answers RequestCancelled (or a result) and the server keeps working', async () => {
  await withClient({}, async (c) => {
    await c.open(URI, VALID);
    const outcomes: string[] = [];
    const settle = async (p: Promise<unknown>): Promise<void> => {
      try {
        await p;
        outcomes.push('result');
      } catch (err) {
        assert.ok(err instanceof ResponseError, `unexpected rejection ${String(err)}`);
        assert.equal(err.code, LSPErrorCodes.RequestCancelled);
        outcomes.push('cancelled');
      }
    };
    const requests: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      const a = new CancellationTokenSource();
      requests.push(settle(c.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: URI }, position: { line: 6, character: 8 } }, a.token)));
      a.cancel();
      const b = new CancellationTokenSource();
      requests.push(settle(c.pull(URI) as Promise<unknown>));
      requests.push(settle(c.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: URI } }, b.token)));
      b.cancel();
    }
    await Promise.all(requests);
    // sent and cancelled in the same tick: the server sees the cancellation before dispatching
    assert.ok(outcomes.includes('cancelled'), JSON.stringify(outcomes));
    // still alive and correct
    const report = full(await c.pull(URI));
    assert.ok(Array.isArray(report.items));
    assert.deepEqual(c.errors(), []);
  });
});

test('garbage requests (unknown documents, positions out of range) answer empty, never an error', async () => {
  await withClient({}, async (c) => {
    await c.open(URI, VALID);
    const unknown = fileUri('/nowhere/else.clawtask');
    const far = { line: 9999, character: 3 };
    const negative = { line: -1, character: -5 };
    for (const uri of [unknown, URI]) {
      for (const position of [far, negative]) {
        assert.deepEqual(items(await c.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position })), []);
        assert.equal(await c.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position }), null);
      }
    }
    assert.deepEqual(await c.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: unknown } }), []);
    assert.deepEqual(await c.connection.sendRequest(FoldingRangeRequest.type, { textDocument: { uri: unknown } }), []);
    assert.deepEqual(await c.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri: unknown } }), []);
    assert.deepEqual(full(await c.pull(unknown)).items, []);
    const junkDiagnostic = { range: { start: { line: 500, character: 0 }, end: { line: 501, character: 0 } }, message: 'x', code: 'not-ours', source: 'clawgym' };
    assert.deepEqual(
      await c.connection.sendRequest(CodeActionRequest.type, { textDocument: { uri: URI }, range: { start: far, end: far }, context: { diagnostics: [junkDiagnostic] } }),
      [],
    );
    assert.deepEqual(
      await c.connection.sendRequest(CodeActionRequest.type, { textDocument: { uri: URI }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, context: { diagnostics: [junkDiagnostic] } }),
      [],
    );
    // malformed params: no textDocument at all
    assert.deepEqual(await c.connection.sendRequest('textDocument/documentSymbol', {}), []);
    assert.deepEqual(await c.connection.sendRequest('textDocument/codeLens', { textDocument: { uri: 42 } }), []);
    // edits against an unknown document are ignored, and the server still answers
    await c.change(unknown, 3, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'x' }]);
    assert.ok(Array.isArray(full(await c.pull(URI)).items));
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

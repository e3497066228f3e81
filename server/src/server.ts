/**
 * The ClawGym language server: wires a `Connection` to core's language features.
 *
 * It holds no language knowledge. Every answer comes from core (plain data, UTF-16 offsets) and is
 * converted to LSP types in ./convert. What lives here is protocol plumbing: document sync, the
 * parse cache per (uri, version), pull diagnostics with result ids (and a push fallback for clients
 * without pull support), settings, file watching, cancellation, and the rule that no handler ever
 * throws.
 *
 * `startServer` takes the connection as a parameter so tests and the benchmark can run the real
 * server in-process over a pair of streams; ./main.ts is the process entry point.
 */
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  DocumentDiagnosticReportKind,
  FileChangeType,
  LSPErrorCodes,
  PositionEncodingKind,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type ClientCapabilities,
  type Connection,
  type Diagnostic,
  type DiagnosticServerCancellationData,
  type DocumentDiagnosticReport,
  type InitializeResult,
  type ServerCapabilities,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import * as core from '../../core/src/language';
import {
  flattenSymbols,
  fromLspDiagnostic,
  kindAllowed,
  positionToOffset,
  rangeToSpan,
  toLspCodeAction,
  toLspCodeLens,
  toLspCompletionItems,
  toLspDiagnostic,
  toLspDocumentSymbols,
  toLspFoldingRanges,
  toLspHover,
} from './convert';
import { DEFAULT_SETTINGS, parseSettings, sameSettings, type ServerSettings } from './settings';

export const SERVER_NAME = 'clawgym-language-server';

/** Default debounce of pushed diagnostics after an edit (push mode only; pull is on demand). */
export const DEFAULT_PUSH_DELAY_MS = 100;

/** Options the client may send in `initializationOptions`. */
export interface InitializationOptions {
  /** Debounce of pushed diagnostics in milliseconds (push mode only). */
  pushDiagnosticsDelay?: number;
}

export interface ServerOptions {
  /** The disk as the features see it; default: the real disk. Wrapped in a cache the server invalidates. */
  fileSystem?: core.FileSystemHost;
  /** The parse cache; default: a fresh one per server instance. */
  cache?: core.TaskDocumentCache;
  /** Debounce of pushed diagnostics; `initializationOptions.pushDiagnosticsDelay` overrides it. */
  pushDelayMs?: number;
}

/** What `startServer` hands back: introspection for tests and benchmarks, and a way to stop timers. */
export interface ServerInstance {
  readonly documents: TextDocuments<TextDocument>;
  readonly cache: core.TaskDocumentCache;
  /** How many times diagnostics were computed (a report reused for an unchanged version does not count). */
  readonly stats: { validations: number };
  /** The settings in force. */
  settings(): ServerSettings;
  /** Whether the server publishes diagnostics by pull (true) or push (false); known after initialize. */
  pullMode(): boolean;
  dispose(): void;
}

/** A pull report for one document, kept so a repeated pull of an unchanged document is free. */
interface Report {
  /** The inputs it was computed from: document version, settings and file-system generations. */
  key: string;
  resultId: string;
  /** The items serialised, to keep the same result id when an edit leaves the diagnostics unchanged. */
  json: string;
  items: Diagnostic[];
}

const cancelledError = (): ResponseError<void> => new ResponseError(LSPErrorCodes.RequestCancelled, 'The request was cancelled.');
/** The same for a diagnostic pull: the client cancelled it, so it need not be retriggered. */
const cancelledPull = (): ResponseError<DiagnosticServerCancellationData> =>
  new ResponseError(LSPErrorCodes.RequestCancelled, 'The request was cancelled.', { retriggerRequest: false });

export function startServer(connection: Connection, options: ServerOptions = {}): ServerInstance {
  const documents = new TextDocuments(TextDocument);
  const cache = options.cache ?? new core.TaskDocumentCache();
  const baseFs = options.fileSystem ?? core.nodeFileSystem;
  const stats = { validations: 0 };

  let caps: ClientCapabilities = {};
  let pull = false;
  let pushDelay = options.pushDelayMs ?? DEFAULT_PUSH_DELAY_MS;
  let watching = false;
  let fs = core.cachedFileSystem(baseFs);

  let settings: ServerSettings = DEFAULT_SETTINGS;
  /** Resolves once the first settings are in; diagnostics wait for it so they never use stale defaults. */
  let settingsReady: Promise<void> = Promise.resolve();
  // Generations: a report is reused only while the document version and both of these are unchanged.
  let settingsEpoch = 0;
  let fsEpoch = 0;

  // Result ids are unique per server instance so a restarted server never matches an old id.
  const session = Math.random().toString(36).slice(2, 8);
  let resultCounter = 0;
  const reports = new Map<string, Report>();
  const pushTimers = new Map<string, () => void>();
  const justOpened = new Set<string>();
  let refreshTimer: NodeJS.Timeout | undefined;
  let disposed = false;

  const log = (where: string, err: unknown): void => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    try {
      connection.console.error(`[${where}] ${text}`);
    } catch {
      // the connection may already be gone; nothing else to tell
    }
  };

  /** The parsed document for the TextDocument's current version (shared by every feature). */
  const parse = (doc: TextDocument): core.TaskDocument => cache.get(doc.uri, doc.version, () => doc.getText());

  // -------------------------------------------------------------------------------------------
  // Handler plumbing: cancellation and "never throw"

  /**
   * Runs a feature against an open document. Unknown documents and thrown errors give `empty`;
   * `RequestCancelled` is answered only when this request's own token fired (before or after the
   * work), never for any other reason (vscode-languageserver-node #889).
   */
  function withDocument<R, E>(
    name: string,
    uri: unknown,
    token: CancellationToken,
    empty: E,
    work: (doc: TextDocument, task: core.TaskDocument) => R,
  ): R | E | ResponseError<void> {
    try {
      if (token.isCancellationRequested) return cancelledError();
      const doc = typeof uri === 'string' ? documents.get(uri) : undefined;
      if (!doc) return empty;
      const result = work(doc, parse(doc));
      if (token.isCancellationRequested) return cancelledError();
      return result;
    } catch (err) {
      if (token.isCancellationRequested) return cancelledError();
      log(name, err);
      return empty;
    }
  }

  /** Wraps a notification handler so an exception is logged instead of escaping into the connection. */
  const safely =
    <P>(name: string, handler: (params: P) => void) =>
    (params: P): void => {
      try {
        handler(params);
      } catch (err) {
        log(name, err);
      }
    };

  // -------------------------------------------------------------------------------------------
  // Diagnostics

  function computeDiagnostics(doc: TextDocument, token: core.Cancellation): Diagnostic[] {
    if (!settings.diagnostics.enable) return [];
    const task = parse(doc);
    stats.validations++;
    let diags = core.validateTask(task, fs, token);
    if (!settings.diagnostics.untouchedChecks) diags = diags.filter((d) => d.code !== 'check-passes-untouched');
    const lines = task.parsed.lines;
    return diags.map((d) => toLspDiagnostic(lines, d));
  }

  /** The report for the document's current version, computed at most once per set of inputs. */
  function reportFor(doc: TextDocument, token: core.Cancellation): Report | undefined {
    const key = `${doc.version}|${settingsEpoch}|${fsEpoch}`;
    const prev = reports.get(doc.uri);
    if (prev && prev.key === key) return prev;
    const items = computeDiagnostics(doc, token);
    if (token.isCancellationRequested) return undefined;
    const json = JSON.stringify(items);
    // Same diagnostics as before the edit: keep the result id so the client may be told `unchanged`.
    const resultId = prev && prev.json === json ? prev.resultId : `${session}-${++resultCounter}`;
    const report: Report = { key, resultId, json, items };
    reports.set(doc.uri, report);
    return report;
  }

  const emptyReport = (): DocumentDiagnosticReport => ({ kind: DocumentDiagnosticReportKind.Full, items: [] });

  connection.languages.diagnostics.on(async (params, token) => {
    try {
      if (token.isCancellationRequested) return cancelledPull();
      await settingsReady;
      const doc = documents.get(params?.textDocument?.uri);
      if (!doc) return emptyReport();
      if (token.isCancellationRequested) return cancelledPull();
      const report = reportFor(doc, token);
      if (!report) return cancelledPull();
      if (params.previousResultId === report.resultId) {
        return { kind: DocumentDiagnosticReportKind.Unchanged, resultId: report.resultId };
      }
      return { kind: DocumentDiagnosticReportKind.Full, resultId: report.resultId, items: report.items };
    } catch (err) {
      if (token.isCancellationRequested) return cancelledPull();
      log('diagnostics', err);
      return emptyReport();
    }
  });

  /** Push mode: publish the document's diagnostics after `delay` ms, restarting the timer on each edit. */
  function schedulePush(uri: string, delay: number): void {
    if (pull || disposed) return;
    pushTimers.get(uri)?.();
    const run = (): void => {
      pushTimers.delete(uri);
      void pushNow(uri);
    };
    if (delay <= 0) {
      const h = setImmediate(run);
      pushTimers.set(uri, () => clearImmediate(h));
    } else {
      const h = setTimeout(run, delay);
      pushTimers.set(uri, () => clearTimeout(h));
    }
  }

  async function pushNow(uri: string): Promise<void> {
    try {
      await settingsReady;
      const doc = documents.get(uri);
      if (!doc || disposed) return;
      const report = reportFor(doc, core.NEVER_CANCELLED);
      if (!report) return;
      await connection.sendDiagnostics({ uri, version: doc.version, diagnostics: report.items });
    } catch (err) {
      log('publishDiagnostics', err);
    }
  }

  /** Something every document depends on changed (settings, files on disk): ask for fresh diagnostics. */
  function refreshDiagnostics(): void {
    if (disposed) return;
    if (pull) {
      if (caps.workspace?.diagnostics?.refreshSupport === true) {
        connection.languages.diagnostics.refresh().catch((err: unknown) => log('diagnostics/refresh', err));
      }
      // Without refresh support the client pulls again on its own next trigger (edit, focus).
    } else {
      for (const doc of documents.all()) schedulePush(doc.uri, 0);
    }
  }

  /** File events come in bursts (a checkout, a build): refresh once per burst. */
  function scheduleRefresh(): void {
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      refreshDiagnostics();
    }, 50);
  }

  // -------------------------------------------------------------------------------------------
  // Settings

  async function loadSettings(): Promise<void> {
    if (caps.workspace?.configuration !== true) return;
    try {
      // A client that never answers must not hold diagnostics back forever.
      const section: unknown = await Promise.race([
        connection.workspace.getConfiguration({ section: 'clawgym' }) as Promise<unknown>,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref()),
      ]);
      applySettings(parseSettings(section));
    } catch (err) {
      log('configuration', err);
    }
  }

  function applySettings(next: ServerSettings): void {
    if (sameSettings(settings, next)) return;
    settings = next;
    settingsEpoch++;
    refreshDiagnostics();
  }

  connection.onDidChangeConfiguration(
    safely('didChangeConfiguration', (params) => {
      if (caps.workspace?.configuration === true) {
        settingsReady = loadSettings();
      } else {
        // Legacy clients push the settings in the notification itself.
        const all = params?.settings as Record<string, unknown> | undefined;
        applySettings(parseSettings(all?.clawgym));
      }
    }),
  );

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  connection.onInitialize((params): InitializeResult => {
    caps = params.capabilities ?? {};
    pull = caps.textDocument?.diagnostic !== undefined;
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    if (typeof init.pushDiagnosticsDelay === 'number' && init.pushDiagnosticsDelay >= 0) pushDelay = init.pushDiagnosticsDelay;
    watching = caps.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    // With file events we can trust the cache much longer; without them, stat again every second.
    fs = core.cachedFileSystem(baseFs, watching ? 10_000 : 1_000);

    const capabilities: ServerCapabilities = {
      positionEncoding: PositionEncodingKind.UTF16,
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
      completionProvider: { triggerCharacters: [' ', ':', '/'], resolveProvider: false },
      hoverProvider: true,
      documentSymbolProvider: { label: 'ClawGym' },
      foldingRangeProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.Refactor, CodeActionKind.Source] },
      codeLensProvider: { resolveProvider: false },
    };
    if (pull) {
      capabilities.diagnosticProvider = { identifier: 'clawgym', interFileDependencies: false, workspaceDiagnostics: false };
    }
    return { capabilities, serverInfo: { name: SERVER_NAME } };
  });

  connection.onInitialized(
    safely('initialized', () => {
      if (caps.workspace?.configuration === true) {
        settingsReady = loadSettings();
        if (caps.workspace.didChangeConfiguration?.dynamicRegistration === true) {
          connection.client.register(DidChangeConfigurationNotification.type, { section: 'clawgym' }).catch((err: unknown) => log('register', err));
        }
      }
      if (watching) {
        // Every file: a `from` path can name any file, and its appearing or disappearing changes diagnostics.
        connection.client
          .register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*' }] })
          .catch((err: unknown) => log('register', err));
      }
    }),
  );

  connection.onShutdown(() => {
    stopTimers();
  });

  // -------------------------------------------------------------------------------------------
  // Documents

  documents.onDidOpen(
    safely('didOpen', (e) => {
      justOpened.add(e.document.uri);
    }),
  );

  documents.onDidChangeContent(
    safely('didChange', (e) => {
      const uri = e.document.uri;
      // Opening shows diagnostics at once; typing is debounced.
      const delay = justOpened.delete(uri) ? 0 : pushDelay;
      schedulePush(uri, delay);
    }),
  );

  documents.onDidClose(
    safely('didClose', (e) => {
      const uri = e.document.uri;
      cache.delete(uri);
      reports.delete(uri);
      justOpened.delete(uri);
      pushTimers.get(uri)?.();
      pushTimers.delete(uri);
      if (!pull) connection.sendDiagnostics({ uri, diagnostics: [] }).catch((err: unknown) => log('didClose', err));
    }),
  );

  connection.onDidChangeWatchedFiles(
    safely('didChangeWatchedFiles', (params) => {
      // Drop every cached stat/readDir: the next validation and completion see the disk as it is.
      fs = core.cachedFileSystem(baseFs, watching ? 10_000 : 1_000);
      // Diagnostics depend on which files exist, not on their content: only creations and
      // deletions invalidate them (a save of an open task would otherwise refresh everything).
      const changes = Array.isArray(params?.changes) ? params.changes : [];
      if (changes.some((c) => c.type === FileChangeType.Created || c.type === FileChangeType.Deleted)) {
        fsEpoch++;
        scheduleRefresh();
      }
    }),
  );

  // -------------------------------------------------------------------------------------------
  // Features

  connection.onCompletion((params, token) =>
    withDocument('completion', params?.textDocument?.uri, token, [], (_doc, task) => {
      const lines = task.parsed.lines;
      const offset = positionToOffset(lines, params.position);
      if (offset === undefined) return [];
      const items = core.complete(task, offset, fs, token);
      const item = caps.textDocument?.completion?.completionItem;
      return toLspCompletionItems(lines, offset, items, {
        insertReplace: item?.insertReplaceSupport === true,
        snippets: item?.snippetSupport === true,
        markdown: item?.documentationFormat === undefined || item.documentationFormat.includes('markdown'),
      });
    }),
  );

  connection.onHover((params, token) =>
    withDocument('hover', params?.textDocument?.uri, token, null, (_doc, task) => {
      const lines = task.parsed.lines;
      const offset = positionToOffset(lines, params.position);
      if (offset === undefined) return null;
      const h = core.hover(task, offset);
      if (!h) return null;
      const formats = caps.textDocument?.hover?.contentFormat;
      return toLspHover(lines, h, formats === undefined || formats.includes('markdown'));
    }),
  );

  connection.onDocumentSymbol((params, token) =>
    withDocument('documentSymbol', params?.textDocument?.uri, token, [], (doc, task) => {
      const symbols = toLspDocumentSymbols(task.parsed.lines, core.documentSymbols(task));
      if (caps.textDocument?.documentSymbol?.hierarchicalDocumentSymbolSupport === true) return symbols;
      return flattenSymbols(doc.uri, symbols);
    }),
  );

  connection.onFoldingRanges((params, token) =>
    withDocument('foldingRange', params?.textDocument?.uri, token, [], (_doc, task) =>
      toLspFoldingRanges(core.foldingRanges(task), task.parsed.lines.lineCount),
    ),
  );

  connection.onCodeAction((params, token) =>
    withDocument('codeAction', params?.textDocument?.uri, token, [], (doc, task) => {
      // Without literal support a client only understands bare commands; our fixes are edits.
      if (caps.textDocument?.codeAction?.codeActionLiteralSupport === undefined) return [];
      const lines = task.parsed.lines;
      const span = rangeToSpan(lines, params.range);
      if (!span) return [];
      // The client sends back the diagnostics it shows; rebuild ours from their code, range and data.
      const pairs: [core.Diagnostic, Diagnostic][] = [];
      for (const d of params.context?.diagnostics ?? []) {
        const c = fromLspDiagnostic(lines, d);
        if (c) pairs.push([c, d]);
      }
      const byCore = new Map(pairs);
      const lspFor = (d: core.Diagnostic): Diagnostic | undefined =>
        byCore.get(d) ??
        pairs.find(([c]) => c.code === d.code && c.span.start === d.span.start && c.span.end === d.span.end)?.[1];
      const documentChanges = caps.workspace?.workspaceEdit?.documentChanges === true;
      return core
        .codeActions(task, span, pairs.map(([c]) => c))
        .map((a) => toLspCodeAction(lines, doc.uri, doc.version, a, lspFor, documentChanges))
        .filter((a) => kindAllowed(a.kind ?? CodeActionKind.QuickFix, params.context?.only));
    }),
  );

  connection.onCodeLens((params, token) =>
    withDocument('codeLens', params?.textDocument?.uri, token, [], (_doc, task) => {
      const lines = task.parsed.lines;
      return core.codeLenses(task).map((l) => toLspCodeLens(lines, l));
    }),
  );

  // -------------------------------------------------------------------------------------------

  function stopTimers(): void {
    for (const cancel of pushTimers.values()) cancel();
    pushTimers.clear();
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = undefined;
  }

  documents.listen(connection);
  connection.listen();

  return {
    documents,
    cache,
    stats,
    settings: () => settings,
    pullMode: () => pull,
    dispose() {
      disposed = true;
      stopTimers();
    },
  };
}

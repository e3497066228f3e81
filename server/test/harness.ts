/**
 * Runs the real server in-process over a pair of streams and drives it with a protocol client, as
 * vscode-languageserver-node's own connection tests do. Used by the protocol tests and by the
 * `bench:lsp` benchmark.
 *
 * The server side is given MessageReader/MessageWriter objects rather than raw streams: given a raw
 * stream, vscode-languageserver exits the process when the stream ends. For the same reason tests
 * never send `exit` in-process (the server answers it with process.exit); the child-process test does.
 */
import { PassThrough } from 'node:stream';
import {
  createConnection,
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DocumentDiagnosticRequest,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type DocumentDiagnosticReport,
  type InitializeResult,
  type LogMessageParams,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type Registration,
  type TextDocumentContentChangeEvent,
} from 'vscode-languageserver/node';
import { startServer, type ServerInstance, type ServerOptions } from '../src/server';

/** What VS Code declares for the features this server uses (pull diagnostics included). */
export function vscodeLikeCapabilities(): ClientCapabilities {
  return {
    general: { positionEncodings: ['utf-16'] },
    textDocument: {
      synchronization: { dynamicRegistration: true, didSave: true },
      diagnostic: { dynamicRegistration: true, relatedDocumentSupport: false },
      publishDiagnostics: { relatedInformation: true, versionSupport: true, tagSupport: { valueSet: [1, 2] }, codeDescriptionSupport: true, dataSupport: true },
      completion: {
        completionItem: { snippetSupport: true, insertReplaceSupport: true, documentationFormat: ['markdown', 'plaintext'] },
        contextSupport: true,
      },
      hover: { contentFormat: ['markdown', 'plaintext'] },
      documentSymbol: { hierarchicalDocumentSymbolSupport: true },
      foldingRange: { lineFoldingOnly: true },
      codeAction: {
        codeActionLiteralSupport: { codeActionKind: { valueSet: ['', 'quickfix', 'refactor', 'source'] } },
        isPreferredSupport: true,
        dataSupport: true,
      },
      codeLens: {},
    },
    workspace: {
      configuration: true,
      didChangeConfiguration: { dynamicRegistration: true },
      didChangeWatchedFiles: { dynamicRegistration: true },
      diagnostics: { refreshSupport: true },
      workspaceEdit: { documentChanges: true },
    },
  };
}

/** The same client without pull diagnostics: the server must push. */
export function pushOnlyCapabilities(): ClientCapabilities {
  const caps = vscodeLikeCapabilities();
  delete caps.textDocument!.diagnostic;
  delete caps.workspace!.diagnostics;
  return caps;
}

export interface TestClientOptions {
  capabilities?: ClientCapabilities;
  initializationOptions?: unknown;
  /** The value the client answers for the `clawgym` configuration section. */
  configuration?: unknown;
  server?: ServerOptions;
}

interface Waiter<T> {
  match: (v: T) => boolean;
  resolve: (v: T) => void;
}

export class TestClient {
  readonly published: PublishDiagnosticsParams[] = [];
  readonly logs: LogMessageParams[] = [];
  readonly registrations: Registration[] = [];
  refreshRequests = 0;
  configuration: unknown;
  initializeResult!: InitializeResult;
  private readonly publishWaiters = new Set<Waiter<PublishDiagnosticsParams>>();
  private readonly refreshWaiters = new Set<() => void>();
  private readonly streams: PassThrough[];

  private constructor(
    readonly connection: ProtocolConnection,
    readonly server: ServerInstance,
    streams: PassThrough[],
    configuration: unknown,
  ) {
    this.streams = streams;
    this.configuration = configuration;
  }

  static async start(opts: TestClientOptions = {}): Promise<TestClient> {
    const up = new PassThrough(); // client -> server
    const down = new PassThrough(); // server -> client
    const serverConnection = createConnection(new StreamMessageReader(up), new StreamMessageWriter(down));
    const server = startServer(serverConnection, opts.server);
    const connection = createProtocolConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
    const client = new TestClient(connection, server, [up, down], opts.configuration ?? {});

    connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      client.published.push(p);
      for (const w of client.publishWaiters) {
        if (w.match(p)) {
          client.publishWaiters.delete(w);
          w.resolve(p);
        }
      }
    });
    connection.onNotification(LogMessageNotification.type, (p) => {
      client.logs.push(p);
    });
    connection.onRequest('workspace/configuration', (params: { items: unknown[] }) => params.items.map(() => client.configuration));
    connection.onRequest(RegistrationRequest.type, (p) => {
      client.registrations.push(...p.registrations);
    });
    connection.onRequest('workspace/diagnostic/refresh', () => {
      client.refreshRequests++;
      for (const w of client.refreshWaiters) w();
      client.refreshWaiters.clear();
      return null;
    });
    connection.listen();

    client.initializeResult = await connection.sendRequest(InitializeRequest.type, {
      processId: null, // a number would start the server's parent-process watchdog timer
      rootUri: null,
      capabilities: opts.capabilities ?? vscodeLikeCapabilities(),
      initializationOptions: opts.initializationOptions,
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  async open(uri: string, text: string, version = 1): Promise<void> {
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'clawtask', version, text },
    });
  }

  async change(uri: string, version: number, contentChanges: TextDocumentContentChangeEvent[]): Promise<void> {
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges });
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  pull(uri: string, previousResultId?: string): Promise<DocumentDiagnosticReport> {
    return this.connection.sendRequest(DocumentDiagnosticRequest.type, { textDocument: { uri }, previousResultId });
  }

  /** Resolves with the next (or an already received) publish for `uri` that satisfies `match`. */
  waitForPublish(uri: string, match: (p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 5000): Promise<PublishDiagnosticsParams> {
    const m = (p: PublishDiagnosticsParams): boolean => p.uri === uri && match(p);
    const seen = this.published.find(m);
    if (seen) return Promise.resolve(seen);
    return this.nextPublish(uri, match, timeoutMs);
  }

  /** Resolves with the next publish for `uri` satisfying `match`, ignoring earlier ones. */
  nextPublish(uri: string, match: (p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 5000): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter<PublishDiagnosticsParams> = {
        match: (p) => p.uri === uri && match(p),
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      };
      const timer = setTimeout(() => {
        this.publishWaiters.delete(waiter);
        reject(new Error(`no publishDiagnostics for ${uri} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.publishWaiters.add(waiter);
    });
  }

  /** Resolves at the next workspace/diagnostic/refresh request. */
  nextRefresh(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.refreshWaiters.delete(done);
        reject(new Error(`no workspace/diagnostic/refresh within ${timeoutMs} ms`));
      }, timeoutMs);
      this.refreshWaiters.add(done);
    });
  }

  /** Error-level log lines the server sent (handlers log instead of throwing). */
  errors(): string[] {
    return this.logs.filter((l) => l.type === 1).map((l) => l.message);
  }

  /** Shuts the server down (without `exit`, which would end this process) and closes the streams. */
  async dispose(): Promise<void> {
    try {
      await this.connection.sendRequest(ShutdownRequest.type);
    } catch {
      // already gone
    }
    this.server.dispose();
    this.connection.dispose();
    for (const s of this.streams) s.end();
  }
}

/** A `file:` URI for an absolute path (percent-encoding what needs it). */
export function fileUri(path: string): string {
  return new URL(`file://${path}`).href;
}

/** Line/character of a UTF-16 offset in `text` (for building expected ranges in tests). */
export function positionOf(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, character: offset - lineStart };
}

/** The range of the first occurrence of `needle` (after `from`) in `text`. */
export function rangeOf(text: string, needle: string, from = 0): { start: { line: number; character: number }; end: { line: number; character: number } } {
  const at = text.indexOf(needle, from);
  if (at < 0) throw new Error(`${JSON.stringify(needle)} not in text`);
  return { start: positionOf(text, at), end: positionOf(text, at + needle.length) };
}

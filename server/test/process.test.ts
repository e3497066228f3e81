/**
 * The entry point as an editor starts it: a child process speaking over stdio or Node IPC.
 * initialize, open + pull, shutdown, exit; the process must exit with code 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import {
  createProtocolConnection,
  DidOpenTextDocumentNotification,
  DocumentDiagnosticReportKind,
  DocumentDiagnosticRequest,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageReader,
  type MessageWriter,
} from 'vscode-languageserver/node';
import { vscodeLikeCapabilities } from './harness';

// compiled to out/server/test/process.test.js; the entry point is out/server/src/main.js
const MAIN = path.join(__dirname, '..', 'src', 'main.js');

function exited(child: ChildProcess, timeoutMs = 10_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`server did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function session(child: ChildProcess, reader: MessageReader, writer: MessageWriter): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const connection = createProtocolConnection(reader, writer);
  connection.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => ({})));
  connection.onRequest('client/registerCapability', () => null);
  connection.listen();
  try {
    const init = await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: null,
      capabilities: vscodeLikeCapabilities(),
    });
    assert.equal(init.capabilities.positionEncoding, 'utf-16');
    await connection.sendNotification(InitializedNotification.type, {});
    const uri = 'file:///nowhere/task.clawtask';
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'clawtask', version: 1, text: 'version: 1\nbogus: 1\n' },
    });
    const report = await connection.sendRequest(DocumentDiagnosticRequest.type, { textDocument: { uri } });
    assert.equal(report.kind, DocumentDiagnosticReportKind.Full);
    await connection.sendRequest(ShutdownRequest.type);
    const code = exited(child);
    await connection.sendNotification(ExitNotification.type);
    assert.equal(await code, 0, `server exited with ${String(await code)}; stderr: ${stderr}`);
  } finally {
    connection.dispose();
    if (child.exitCode === null) child.kill();
  }
}

test('the entry point serves over stdio (node out/server/src/main.js --stdio)', async () => {
  const child = spawn(process.execPath, [MAIN, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  await session(child, new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
});

test('the entry point serves over Node IPC (--node-ipc)', async () => {
  const child = fork(MAIN, ['--node-ipc'], { stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  await session(child, new IPCMessageReader(child), new IPCMessageWriter(child));
});

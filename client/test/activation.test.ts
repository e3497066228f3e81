/**
 * Activation without VS Code: the compiled extension is loaded against a small fake `vscode` module.
 * It proves the habits that matter when things go wrong: every command is registered even when the
 * server cannot start, the failure is shown with a "Show Logs" action, and the task commands say that
 * running arrives with the sandbox engine instead of pretending to run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Module from 'node:module';
import { join } from 'node:path';
import { repoRoot } from './util';

interface Call {
  kind: string;
  args: unknown[];
}
const calls: Call[] = [];
const commands = new Map<string, (...args: unknown[]) => unknown>();
const config: Record<string, unknown> = {};

class Uri {
  constructor(private readonly value: string) {}
  toString(): string {
    return this.value;
  }
}
const disposable = { dispose: (): void => undefined };
const record =
  (kind: string) =>
  (...args: unknown[]): Promise<undefined> => {
    calls.push({ kind, args });
    return Promise.resolve(undefined);
  };

/** Anything the test does not model is a harmless stub (the language client reads a lot at load). */
function stub(path: string): unknown {
  const fn = function () {
    return stub(`${path}()`);
  };
  return new Proxy(fn, {
    get: (_t, prop) => (prop === 'then' ? undefined : stub(`${path}.${String(prop)}`)),
    construct: () => stub(`new ${path}`) as object,
  });
}

const fakeVscode = {
  Uri,
  window: {
    createOutputChannel: (name: string) => ({
      name,
      info: (...a: unknown[]) => calls.push({ kind: 'log.info', args: a }),
      warn: (...a: unknown[]) => calls.push({ kind: 'log.warn', args: a }),
      error: (...a: unknown[]) => calls.push({ kind: 'log.error', args: a }),
      trace: () => undefined,
      debug: () => undefined,
      append: () => undefined,
      appendLine: () => undefined,
      show: (...a: unknown[]) => calls.push({ kind: 'log.show', args: a }),
      dispose: () => undefined,
    }),
    showErrorMessage: record('showErrorMessage'),
    showInformationMessage: record('showInformationMessage'),
    showWarningMessage: record('showWarningMessage'),
    activeTextEditor: undefined,
  },
  commands: {
    registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
      commands.set(id, fn);
      return disposable;
    },
  },
  workspace: {
    getConfiguration: () => ({ get: (key: string, def?: unknown) => (key in config ? config[key] : def) }),
    onDidChangeConfiguration: () => disposable,
    workspaceFolders: undefined,
  },
};
const vscodeModule = new Proxy(fakeVscode as Record<string, unknown>, {
  get: (t, prop: string) => (prop in t ? t[prop] : stub(`vscode.${prop}`)),
});

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const moduleInternals = Module as unknown as { _load: Loader };
const originalLoad = moduleInternals._load;
before(() => {
  moduleInternals._load = function (request, parent, isMain) {
    if (request === 'vscode') return vscodeModule;
    return originalLoad.call(this, request, parent, isMain);
  };
});
after(() => {
  moduleInternals._load = originalLoad;
});

interface Extension {
  activate(context: unknown): Promise<void>;
  deactivate(): Promise<void>;
}

test('a server that cannot start: commands still exist and the error offers Show Logs', async () => {
  config['clawgym.server.path'] = '/nonexistent/clawgym-server.js';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ext = require(join(repoRoot, 'out', 'client', 'src', 'extension.js')) as Extension;
  const context = { subscriptions: [] as unknown[], extension: { packageJSON: { version: '0.0.0-test' } }, asAbsolutePath: (p: string) => join(repoRoot, p) };
  await ext.activate(context);

  assert.deepEqual([...commands.keys()].sort(), ['clawgym.restartServer', 'clawgym.runCheck', 'clawgym.runTask', 'clawgym.showLogs', 'clawgym.validateTask']);
  const error = calls.find((c) => c.kind === 'showErrorMessage');
  assert.ok(error, 'no error message shown');
  assert.match(String(error.args[0]), /nonexistent\/clawgym-server\.js/);
  assert.equal(error.args[1], 'Show Logs');
  assert.ok(calls.some((c) => c.kind === 'log.error'));

  calls.length = 0;
  await commands.get('clawgym.runCheck')!(new Uri('file:///w/t.clawtask'), 'metrics-csv');
  const info = calls.find((c) => c.kind === 'showInformationMessage');
  assert.ok(info);
  assert.match(String(info.args[0]), /sandbox engine/);
  assert.match(String(info.args[0]), /Nothing was run/);
  assert.ok(calls.some((c) => c.kind === 'log.show'), 'the output channel should open');
  assert.ok(calls.some((c) => c.kind === 'log.warn' && /file:\/\/\/w\/t\.clawtask, metrics-csv/.test(String(c.args[0]))));

  calls.length = 0;
  await commands.get('clawgym.showLogs')!();
  assert.ok(calls.some((c) => c.kind === 'log.show'));
  await ext.deactivate();
});

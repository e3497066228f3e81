/**
 * Activation without VS Code: the compiled extension is loaded against a small fake `vscode` module.
 * It proves the habits that matter when things go wrong: every command is registered even when the
 * server cannot start, the failure is shown with a "Show Logs" action, and the task commands say
 * plainly why they cannot run what they were given. (Running for real: cliProcess.test.ts against the
 * CLI, e2e/ in VS Code.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDocker, needsDocker } from '../../core/test/docker';
import { repoRoot } from './util';

interface Call {
  kind: string;
  args: unknown[];
}
const calls: Call[] = [];
const commands = new Map<string, (...args: unknown[]) => unknown>();
const config: Record<string, unknown> = {};
let pickLabel = 'oracle';

class Uri {
  readonly scheme: string;
  readonly path: string;
  constructor(private readonly value: string) {
    [this.scheme, this.path] = value.split(':');
    if (this.path.startsWith('//')) this.path = this.path.slice(2);
  }
  get fsPath(): string {
    return this.path;
  }
  static file(path: string): Uri {
    return new Uri(`file://${path}`);
  }
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
    /** Picks the item whose label is `pickLabel`. */
    showQuickPick: async (items: { label: string }[]) => items.find((i) => i.label === pickLabel),
    withProgress: (_options: unknown, task: (progress: unknown, token: unknown) => Promise<unknown>) =>
      task({ report: (m: { message?: string }) => calls.push({ kind: 'progress', args: [m.message] }) }, { isCancellationRequested: false, onCancellationRequested: () => disposable }),
    activeTextEditor: undefined,
  },
  ProgressLocation: { Notification: 15 },
  commands: {
    registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
      commands.set(id, fn);
      return disposable;
    },
  },
  workspace: {
    getConfiguration: () => ({
      get: (key: string, def?: unknown) => (key in config ? config[key] : def),
      inspect: (key: string) => ({ key, globalValue: key in config ? config[key] : undefined }),
    }),
    onDidChangeConfiguration: () => disposable,
    onDidChangeTextDocument: () => disposable,
    workspaceFolders: undefined,
    getWorkspaceFolder: () => undefined,
    textDocuments: [],
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

  assert.deepEqual([...commands.keys()].sort(), ['clawgym.restartServer', 'clawgym.runCheck', 'clawgym.runTask', 'clawgym.setApiKey', 'clawgym.showLogs', 'clawgym.validateTask']);
  const error = calls.find((c) => c.kind === 'showErrorMessage');
  assert.ok(error, 'no error message shown');
  assert.match(String(error.args[0]), /nonexistent\/clawgym-server\.js/);
  assert.equal(error.args[1], 'Show Logs');
  assert.ok(calls.some((c) => c.kind === 'log.error'));

  // No editor, no argument: nothing to run, said as an error with the way to the logs.
  calls.length = 0;
  await commands.get('clawgym.runTask')!();
  const noTask = calls.find((c) => c.kind === 'showErrorMessage');
  assert.ok(noTask, 'runTask without a task must say so');
  assert.match(String(noTask.args[0]), /open a \.clawtask file to run it/);
  assert.equal(noTask.args[1], 'Show Logs');
  assert.ok(calls.some((c) => c.kind === 'log.error' && /open a \.clawtask file/.test(String(c.args[0]))), 'the runs log records it');

  // An unsaved (untitled) task cannot go to the CLI, which reads files from disk.
  calls.length = 0;
  await commands.get('clawgym.runCheck')!(new Uri('untitled:Untitled-1'), 'metrics-csv');
  const untitled = calls.find((c) => c.kind === 'showErrorMessage');
  assert.ok(untitled);
  assert.match(String(untitled.args[0]), /saved on disk can be verified: save Untitled-1 to a file first/);
  assert.ok(!calls.some((c) => c.kind === 'showInformationMessage'), 'nothing claims to have run');

  calls.length = 0;
  await commands.get('clawgym.showLogs')!();
  assert.ok(calls.some((c) => c.kind === 'log.show'));
  await ext.deactivate();
});

test('deactivating during a run stops the CLI with SIGINT; its sandbox is removed; a second run of the same task is refused', needsDocker(), async () => {
  assertDocker();
  const cli = join(repoRoot, 'dist', 'cli.js');
  assert.ok(existsSync(cli), `${cli} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'clawgym-deactivate-'));
  try {
    const task = join(dir, 'slow.clawtask');
    writeFileSync(
      task,
      'version: 1\nid: slow-one\nintent: wait\nverifier:\n  checks:\n    - id: done\n      file_exists: done.txt\nsolution:\n  script: sleep 120\n',
    );
    config['clawgym.run.backend'] = 'docker';
    config['clawgym.run.runsDirectory'] = join(dir, 'runs');
    pickLabel = 'oracle';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ext = require(join(repoRoot, 'out', 'client', 'src', 'extension.js')) as Extension;
    const state = new Map<string, unknown>();
    const context = {
      subscriptions: [] as unknown[],
      extension: { packageJSON: { version: '0.0.0-test' } },
      asAbsolutePath: (p: string) => join(repoRoot, p),
      workspaceState: { get: (k: string) => state.get(k), update: async (k: string, v: unknown) => void state.set(k, v) },
    };
    await ext.activate(context);
    calls.length = 0;
    const run = commands.get('clawgym.runTask')!(Uri.file(task)) as Promise<void>;
    const until = Date.now() + 60_000;
    while (!calls.some((c) => c.kind === 'progress' && /the agent is working/.test(String(c.args[0])))) {
      assert.ok(Date.now() < until, `the agent never started: ${JSON.stringify(calls.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(state.get('clawgym.run.lastAgent'), 'oracle', 'the agent choice is remembered');

    // The same task again while it runs: refused, with the offer to cancel the first.
    await commands.get('clawgym.runTask')!(Uri.file(task));
    const busy = calls.find((c) => c.kind === 'showWarningMessage');
    assert.ok(busy, 'a second run of the same task must be refused');
    assert.match(String(busy.args[0]), /a run with oracle of slow\.clawtask is still running/);
    assert.deepEqual(busy.args.slice(1), ['Cancel It', 'Keep It Running']);

    const started = Date.now();
    await ext.deactivate();
    const took = Date.now() - started;
    await run;
    assert.ok(took < 5_000, `deactivate took ${took} ms (the CLI should stop on the first SIGINT)`);
    assert.ok(calls.some((c) => c.kind === 'log.info' && /stopping the CLI \(SIGINT/.test(String(c.args[0]))));
    const runIds = readdirSync(join(dir, 'runs'));
    assert.equal(runIds.length, 1);
    const left = execFileSync('docker', ['ps', '-a', '--filter', `label=dev.clawgym.run=${runIds[0]}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
    assert.equal(left, '', 'containers left behind');
    const done = calls.find((c) => c.kind === 'showInformationMessage');
    assert.match(String(done?.args[0]), /slow-one: the run was cancelled/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

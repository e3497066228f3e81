/**
 * The VS Code extension: the only code that imports `vscode`. It is deliberately thin: it starts the
 * language server (dist/server.js) and registers commands; every language feature lives in core/,
 * served by server/, and running tasks goes through the bundled CLI as a child process (runner.ts).
 *
 * Habits taken from rust-analyzer's client: commands are registered before anything can fail, so
 * they always exist (and say why they cannot run); failures are loud, with a "Show Logs" action on
 * one LogOutputChannel.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, State, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
// Type-only imports: checked against the single sources in core/, erased from the bundle.
import type { SettingKey } from '../../core/src/settings';
import type { COMMANDS } from '../../core/src/language/types';
import { TaskRunner } from './runner';

const LANGUAGE_ID = 'clawtask';
const SERVER_PATH_SETTING: SettingKey = 'clawgym.server.path';
type TaskCommand = (typeof COMMANDS)[keyof typeof COMMANDS];
const RUN_TASK: TaskCommand = 'clawgym.runTask';
const VALIDATE_TASK: TaskCommand = 'clawgym.validateTask';
const RUN_CHECK: TaskCommand = 'clawgym.runCheck';

let client: LanguageClient | undefined;
let log: vscode.LogOutputChannel;
let runner: TaskRunner | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  log = vscode.window.createOutputChannel('ClawGym', { log: true });
  context.subscriptions.push(log);
  log.info(`ClawGym ${String(context.extension.packageJSON.version)} activating`);

  registerCommands(context);

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SERVER_PATH_SETTING)) {
        log.info(`${SERVER_PATH_SETTING} changed; restarting the language server`);
        void restartServer(context);
      }
    }),
  );

  await startServer(context);
}

export async function deactivate(): Promise<void> {
  // Runs first: their CLIs get SIGINT and time to remove their sandboxes.
  const r = runner;
  runner = undefined;
  await Promise.all([r?.dispose(), stopServer()]);
}

// ---------------------------------------------------------------------------------------------
// Commands

function registerCommands(context: vscode.ExtensionContext): void {
  const register = (id: string, run: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  };
  register('clawgym.restartServer', () => restartServer(context));
  register('clawgym.showLogs', () => log.show(true));

  // CodeLens targets (arguments: the document URI as a string, then a check id) and palette
  // commands (no arguments: the active editor). They run the bundled CLI; a runner that failed to
  // come up leaves commands that say so.
  let r: TaskRunner | undefined;
  let why = '';
  try {
    r = runner = new TaskRunner(context, log);
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
    log.error(`the task runner could not start: ${why}`);
  }
  const guarded =
    (command: string, run: (r: TaskRunner, ...args: unknown[]) => Promise<void>) =>
    async (...args: unknown[]): Promise<void> => {
      if (!r) {
        const choice = await vscode.window.showErrorMessage(`ClawGym: ${command} cannot run: the task runner failed to start (${why}).`, 'Show Logs');
        if (choice === 'Show Logs') log.show();
        return;
      }
      try {
        await run(r, ...args);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        log.error(`${command}: ${e instanceof Error && e.stack ? e.stack : message}`);
        const choice = await vscode.window.showErrorMessage(`ClawGym: ${command} failed: ${message}`, 'Show Logs');
        if (choice === 'Show Logs') log.show();
      }
    };
  register(RUN_TASK, guarded(RUN_TASK, (r, uri) => r.runTask(uri)));
  register(VALIDATE_TASK, guarded(VALIDATE_TASK, (r, uri) => r.validateTask(uri)));
  register(RUN_CHECK, guarded(RUN_CHECK, (r, uri, checkId) => r.runCheck(uri, checkId)));
  register('clawgym.setApiKey', guarded('clawgym.setApiKey', (r) => r.setApiKey()));
}

// ---------------------------------------------------------------------------------------------
// The language server

/** The server module: the `clawgym.server.path` setting, or the bundled dist/server.js. */
function serverModule(context: vscode.ExtensionContext): string {
  const configured = vscode.workspace.getConfiguration().get<string>(SERVER_PATH_SETTING, '').trim();
  if (!configured) return context.asAbsolutePath(path.join('dist', 'server.js'));
  if (path.isAbsolute(configured)) return configured;
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, configured) : path.resolve(configured);
}

async function startServer(context: vscode.ExtensionContext): Promise<void> {
  try {
    const module = serverModule(context);
    if (!fs.existsSync(module)) {
      throw new Error(`the server module ${module} does not exist (run \`npm run build\`, or fix ${SERVER_PATH_SETTING})`);
    }
    log.info(`starting the language server: ${module}`);
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { language: LANGUAGE_ID, scheme: 'file' },
        { language: LANGUAGE_ID, scheme: 'untitled' },
      ],
      synchronize: {
        // `from:` files and `from_dir` folders live next to the task: the server needs to hear
        // about any file appearing or disappearing to keep `from-missing` diagnostics true.
        fileEvents: vscode.workspace.createFileSystemWatcher('**/*'),
      },
      outputChannel: log,
      traceOutputChannel: log,
    };
    // The id `clawgym` makes the client read `clawgym.trace.server` by itself.
    const c = new LanguageClient('clawgym', 'ClawGym Language Server', serverOptions, clientOptions);
    c.onDidChangeState((e) => log.info(`language server: ${State[e.oldState]} -> ${State[e.newState]}`));
    client = c;
    await c.start();
    log.info('language server started');
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.error(`the language server failed to start: ${message}`);
    void vscode.window.showErrorMessage(`ClawGym: the language server failed to start: ${message}`, 'Show Logs').then((choice) => {
      if (choice === 'Show Logs') log.show();
    });
  }
}

async function stopServer(): Promise<void> {
  const c = client;
  client = undefined;
  if (!c) return;
  try {
    if (c.isRunning()) await c.stop();
    else await c.dispose();
  } catch (e) {
    log.warn(`stopping the language server: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function restartServer(context: vscode.ExtensionContext): Promise<void> {
  log.info('restarting the language server');
  await stopServer();
  await startServer(context);
}

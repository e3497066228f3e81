/**
 * Run, Validate and Verify in the editor, the way Inspect AI's extension runs evaluations: the
 * bundled CLI (dist/cli.js) as a child process that streams JSON lines on stdout; cancel = SIGINT.
 * A crashing run or a Docker error never touches the language server, and the CLI's own cleanup
 * (sandboxes removed on SIGINT) does the hard part.
 *
 * One run per task file at a time. Results: a notification (reward, pass/fail, "Open Run Folder",
 * "Show Output"), the "ClawGym Runs" log, and diagnostics on the checks that failed
 * (`clawgym-run`, cleared when the file changes or the next run starts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SettingKey } from '../../core/src/settings';
import { startCli } from './cliProcess';
import {
  AGENTS,
  backendSetting,
  checkIds,
  checkLocator,
  cliArgs,
  checkRunOutcome,
  resolveRunsDir,
  runOutcome,
  RunTracker,
  stderrTail,
  validateOutcome,
  type AgentName,
  type CheckFinding,
  type CliRequest,
  type LogLine,
  type Outcome,
  type ProcessEnd,
} from './runProtocol';

const BACKEND_SETTING: SettingKey = 'clawgym.run.backend';
const RUNS_DIR_SETTING: SettingKey = 'clawgym.run.runsDirectory';
const IMAGE_SETTING: SettingKey = 'clawgym.sandbox.image';
const LAST_AGENT_KEY = 'clawgym.run.lastAgent';
export const DIAGNOSTIC_COLLECTION = 'clawgym-run';

const AGENT_DESCRIPTIONS: Record<AgentName, string> = {
  builtin: 'the built-in agent, with your model',
  oracle: 'the reference solution',
  nop: 'do nothing',
};
const AGENT_DETAILS: Record<AgentName, string> = {
  builtin: 'A tool-calling agent on the model of the clawgym.agent.* settings (key: ClawGym: Set API Key).',
  oracle: "Runs the task's `solution`: a good task scores 1.",
  nop: 'Leaves the workspace as it is: a good task scores 0.',
};
/** Whether a setting has a value of the user's (anywhere), not only its default. */
function explicitlySet(config: vscode.WorkspaceConfiguration, key: string): boolean {
  const i = config.inspect(key);
  return i !== undefined && [i.globalValue, i.workspaceValue, i.workspaceFolderValue].some((v) => v !== undefined);
}

/** Where ClawGym: Set API Key keeps the key (VS Code's secret storage, never settings). */
export const API_KEY_SECRET = 'clawgym.agent.apiKey';

interface Target {
  uri: vscode.Uri;
  file: string;
  /** Working directory of the CLI: the workspace folder holding the task, else the task's folder. */
  cwd: string;
  folder?: vscode.WorkspaceFolder;
}

interface Job {
  /** "a run with nop", "the validation"... */
  label: string;
  cancel(): void;
  /** Where progress messages go while a notification shows the job. */
  onProgress?: (message: string) => void;
  /** Settles when the process has ended (never rejects). */
  done: Promise<ProcessEnd>;
}

export class TaskRunner implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  readonly diagnostics: vscode.DiagnosticCollection;
  private readonly jobs = new Map<string, Job>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    /** The extension's main log, for failures of the runner itself. */
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.output = vscode.window.createOutputChannel('ClawGym Runs', { log: true });
    this.diagnostics = vscode.languages.createDiagnosticCollection(DIAGNOSTIC_COLLECTION);
    this.disposables.push(
      this.output,
      this.diagnostics,
      // A finding points at a line of the text that ran; once the text changes it may not.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length && this.diagnostics.has(e.document.uri)) this.diagnostics.delete(e.document.uri);
      }),
    );
  }

  /** Runs in progress (for tests and deactivation). */
  get running(): number {
    return this.jobs.size;
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  /** `clawgym.runTask(uri?)`: pick an agent, run, report the reward and the failed checks. */
  async runTask(arg?: unknown): Promise<void> {
    const target = await this.target(arg, 'run');
    if (!target || (await this.busy(target))) return;
    const agent = await this.pickAgent(target);
    if (!agent) return;
    await this.execute(target, { command: 'run', agent }, `Running ${path.basename(target.file)} with ${agent}`, `a run with ${agent}`, runOutcome);
  }

  /** `clawgym.validateTask(uri?)`: `clawgym check`: the oracle must score 1 and nop 0. */
  async validateTask(arg?: unknown): Promise<void> {
    const target = await this.target(arg, 'validate');
    if (!target || (await this.busy(target))) return;
    await this.execute(target, { command: 'check' }, `Validating ${path.basename(target.file)} (oracle, then nop)`, 'the validation', validateOutcome);
  }

  /** `clawgym.runCheck(uri, checkId)`: run the oracle, report that one check. */
  async runCheck(arg?: unknown, checkIdArg?: unknown): Promise<void> {
    const target = await this.target(arg, 'verify');
    if (!target || (await this.busy(target))) return;
    let checkId = typeof checkIdArg === 'string' || typeof checkIdArg === 'number' ? String(checkIdArg) : undefined;
    if (!checkId) {
      const doc = await vscode.workspace.openTextDocument(target.uri);
      const ids = checkIds(doc.getText());
      if (!ids.length) {
        void this.error(`${path.basename(target.file)} has no checks with an id to verify.`);
        return;
      }
      checkId = await vscode.window.showQuickPick(ids, { title: `Verify a check of ${path.basename(target.file)} (with the oracle)`, placeHolder: 'Check id' });
      if (!checkId) return;
    }
    const id = checkId;
    await this.execute(target, { command: 'run', agent: 'oracle' }, `Verifying ${id} (oracle)`, `the verification of ${id}`, (t, end) => checkRunOutcome(t, end, id));
  }

  // -------------------------------------------------------------------------------------------
  // Stopping

  /** Stop every run: SIGINT, then SIGINT again, then SIGKILL (cliProcess.ts). */
  async stopAll(): Promise<void> {
    const jobs = [...this.jobs.values()];
    for (const job of jobs) job.cancel();
    await Promise.all(jobs.map((j) => j.done));
  }

  async dispose(): Promise<void> {
    try {
      await this.stopAll();
    } finally {
      for (const d of this.disposables) d.dispose();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Parts

  /** The task a command is about: its argument (a Uri, or a URI string from a CodeLens) or the active editor. */
  private async target(arg: unknown, verb: string): Promise<Target | undefined> {
    let uri: vscode.Uri | undefined;
    if (arg instanceof vscode.Uri) uri = arg;
    else if (typeof arg === 'string' && arg) uri = arg.includes('://') || arg.startsWith('file:') ? vscode.Uri.parse(arg) : vscode.Uri.file(arg);
    else uri = vscode.window.activeTextEditor?.document.uri;
    if (!uri) {
      void this.error(`open a .clawtask file to ${verb} it.`);
      return undefined;
    }
    if (uri.scheme !== 'file') {
      void this.error(`only a task saved on disk can ${verb === 'run' ? 'run' : `be ${verb === 'verify' ? 'verified' : 'validated'}`}: save ${uri.path ? path.basename(uri.path) : 'it'} to a file first.`);
      return undefined;
    }
    // The CLI reads the file from disk: unsaved edits would not be what runs.
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc?.isDirty) {
      this.output.info(`saving ${uri.fsPath} before running it`);
      if (!(await doc.save())) {
        void this.error(`could not save ${path.basename(uri.fsPath)}; nothing was run.`);
        return undefined;
      }
    }
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    return { uri, file: uri.fsPath, folder, cwd: folder?.uri.fsPath ?? path.dirname(uri.fsPath) };
  }

  /** True when the task already has a run; offers to cancel it. */
  private async busy(target: Target): Promise<boolean> {
    const job = this.jobs.get(target.file);
    if (!job) return false;
    const choice = await vscode.window.showWarningMessage(
      `ClawGym: ${job.label} of ${path.basename(target.file)} is still running; a task runs once at a time.`,
      'Cancel It',
      'Keep It Running',
    );
    if (choice === 'Cancel It') job.cancel();
    return true;
  }

  private async pickAgent(target: Target): Promise<AgentName | undefined> {
    const last = this.context.workspaceState.get<string>(LAST_AGENT_KEY);
    const order = [...AGENTS].sort((a, b) => Number(b === last) - Number(a === last));
    const items = order.map((agent) => ({ label: agent, description: AGENT_DESCRIPTIONS[agent], detail: AGENT_DETAILS[agent], agent }));
    const pick = await vscode.window.showQuickPick(items, {
      title: `Run ${path.basename(target.file)} with…`,
      placeHolder: 'Pick an agent',
      matchOnDescription: true,
    });
    if (!pick) return undefined;
    await this.context.workspaceState.update(LAST_AGENT_KEY, pick.agent);
    return pick.agent;
  }

  private request(target: Target, base: Pick<CliRequest, 'command' | 'agent'>): CliRequest {
    const config = vscode.workspace.getConfiguration(undefined, target.uri);
    return {
      ...base,
      task: target.file,
      backend: backendSetting(config.get(BACKEND_SETTING)),
      runsDir: resolveRunsDir(config.get(RUNS_DIR_SETTING), target.folder?.uri.fsPath, target.file),
      image: config.get<string>(IMAGE_SETTING),
      model: {
        model: config.get<string>('clawgym.agent.model'),
        baseUrl: config.get<string>('clawgym.agent.baseUrl'),
        temperature: config.get<number>('clawgym.agent.temperature'),
        maxTokens: config.get<number>('clawgym.agent.maxTokens'),
        // Only when set: otherwise the task's own `agent.max_steps` (else 50) applies.
        maxSteps: explicitlySet(config, 'clawgym.agent.maxSteps') ? config.get<number>('clawgym.agent.maxSteps') : undefined,
      },
    };
  }

  /** `clawgym.setApiKey`: ask for the key and keep it in secret storage (an empty answer removes it). */
  async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: 'ClawGym: API key for the built-in agent\'s model',
      prompt: 'Kept in VS Code\'s secret storage and given to runs as CLAWGYM_API_KEY; never written to settings, run folders or sandboxes. Leave empty to remove it.',
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) return;
    if (key.trim()) await this.context.secrets.store(API_KEY_SECRET, key.trim());
    else await this.context.secrets.delete(API_KEY_SECRET);
    void vscode.window.showInformationMessage(key.trim() ? 'ClawGym: the API key is stored.' : 'ClawGym: the API key is removed.');
  }

  /** Start the CLI, follow it under a cancellable progress notification, then report. */
  private async execute(
    target: Target,
    base: Pick<CliRequest, 'command' | 'agent'>,
    title: string,
    label: string,
    finish: (tracker: RunTracker, end: ProcessEnd) => Outcome,
  ): Promise<void> {
    // The built-in agent's key, read before the check below (nothing may await after it).
    const secret = base.agent === 'builtin' ? await this.context.secrets.get(API_KEY_SECRET) : undefined;
    // Another command may have started while this one waited for a pick. From this check to
    // start() nothing awaits, so two commands cannot both get past it.
    if (this.jobs.has(target.file)) {
      await this.busy(target);
      return;
    }
    const cli = this.context.asAbsolutePath(path.join('dist', 'cli.js'));
    if (!fs.existsSync(cli)) {
      void this.error(`the bundled CLI ${cli} is missing (run \`npm run build\`); nothing was run.`);
      return;
    }
    const req = this.request(target, base);
    const args = cliArgs(req);
    this.diagnostics.delete(target.uri);
    this.output.info(`${label} of ${target.file}: ${['clawgym', ...args].map(quote).join(' ')} (in ${target.cwd})`);

    const tracker = new RunTracker();
    const job = this.start(target, cli, args, label, tracker, secret ? { ...process.env, CLAWGYM_API_KEY: secret } : undefined);
    const end = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ClawGym: ${title}`, cancellable: true },
      (progress, token) => {
        const sub = token.onCancellationRequested(() => {
          this.output.info(`${label}: cancel requested`);
          job.cancel();
        });
        job.onProgress = (message) => progress.report({ message });
        return job.done.finally(() => {
          sub.dispose();
          job.onProgress = undefined;
        });
      },
    );

    let outcome: Outcome;
    try {
      outcome = finish(tracker, end);
    } catch (e) {
      outcome = { kind: 'error', message: `could not read the run's result: ${e instanceof Error ? e.message : String(e)}`, findings: [] };
    }
    this.output.info(`${label} ended (${end.code !== null ? `exit ${end.code}` : end.signal ?? end.spawnError ?? 'unknown'}): ${outcome.kind}: ${outcome.message}`);
    if (tracker.strayLines.length) this.output.warn(`${tracker.strayLines.length} line(s) of the CLI's stdout were not events this extension knows (a CLI of another version?)`);
    await this.showFindings(target, outcome.findings);
    void this.notify(outcome);
  }

  private start(target: Target, cli: string, args: string[], label: string, tracker: RunTracker, env?: NodeJS.ProcessEnv): Job {
    const write = (lines: LogLine[]): void => {
      for (const l of lines) this.output[l.level](l.text);
    };
    const proc = startCli({
      cli,
      args,
      cwd: target.cwd,
      ...(env ? { env } : {}),
      onEvent: (event) => {
        const { log, progress } = tracker.apply(event);
        write(log);
        if (progress) job.onProgress?.(progress);
      },
      onStray: (line, info) => {
        if (!info.unknown) tracker.strayLines.push(line.slice(0, 500));
        this.output[info.unknown ? 'trace' : 'warn'](`stdout${info.problem ? ` (${info.problem})` : ''}: ${line.slice(0, 2000)}`);
      },
      onStderrLine: (line) => this.output[/\b(warning|error)\b/i.test(line) ? 'warn' : 'info'](`stderr: ${line}`),
      onNotice: (level, text) => this.output[level](`${label}: ${text}`),
    });
    const job: Job = {
      label,
      cancel: () => proc.cancel(),
      done: proc.done.then((end) => {
        if (end.spawnError) this.output.error(`${label}: could not start ${process.execPath} ${cli}: ${end.spawnError}`);
        if (this.jobs.get(target.file) === job) this.jobs.delete(target.file);
        return end;
      }),
    };
    this.jobs.set(target.file, job);
    return job;
  }

  private async showFindings(target: Target, findings: CheckFinding[]): Promise<void> {
    if (!findings.length) {
      this.diagnostics.delete(target.uri);
      return;
    }
    try {
      const doc = await vscode.workspace.openTextDocument(target.uri);
      const locate = checkLocator(doc.getText());
      const diagnostics = findings.map((f) => {
        const span = locate(f.checkId, f.kind);
        const d = new vscode.Diagnostic(
          new vscode.Range(doc.positionAt(span.start), doc.positionAt(span.end)),
          f.message,
          f.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
        );
        d.source = DIAGNOSTIC_COLLECTION;
        d.code = f.kind;
        return d;
      });
      this.diagnostics.set(target.uri, diagnostics);
    } catch (e) {
      this.log.warn(`could not place the run's findings in ${target.file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async notify(outcome: Outcome): Promise<void> {
    const text = `ClawGym: ${outcome.message}`;
    if (outcome.kind === 'error') {
      const detail = outcome.detail ? ` | ${oneLine(outcome.detail, 600)}` : '';
      if (outcome.detail) this.output.error(`${outcome.message}\n${outcome.detail}`);
      const choice = await vscode.window.showErrorMessage(`${text}${detail}`, 'Show Logs');
      if (choice === 'Show Logs') this.output.show();
      return;
    }
    const actions = [...(outcome.folder ? ['Open Run Folder'] : []), 'Show Output'];
    const show = outcome.kind === 'failed' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const choice = await show(text, ...actions);
    if (choice === 'Show Output') this.output.show();
    else if (choice === 'Open Run Folder' && outcome.folder) await this.openFolder(outcome.folder);
  }

  private async openFolder(folder: string): Promise<void> {
    const uri = vscode.Uri.file(folder);
    try {
      if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
      else await vscode.commands.executeCommand('revealFileInOS', uri);
    } catch (e) {
      this.output.warn(`could not reveal ${folder}: ${e instanceof Error ? e.message : String(e)}`);
      await vscode.commands.executeCommand('vscode.openFolder', uri, { forceNewWindow: true });
    }
  }

  private async error(message: string): Promise<void> {
    this.output.error(message);
    const choice = await vscode.window.showErrorMessage(`ClawGym: ${message}`, 'Show Logs');
    if (choice === 'Show Logs') this.output.show();
  }
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function oneLine(text: string, max: number): string {
  const flat = stderrTail(text, 6).split('\n').join(' | ');
  return flat.length > max ? `…${flat.slice(-max)}` : flat;
}

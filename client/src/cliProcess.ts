/**
 * The CLI as a child process: started with the extension host's own Node, stdout read as JSON-line
 * events, stderr kept (its tail) for error messages, and a stop ladder. No `vscode` here, so the
 * real CLI can be driven from a plain test (client/test/cliProcess.test.ts).
 */
import { spawn } from 'node:child_process';
import { LineSplitter, parseEventLine, type CliEvent, type ProcessEnd } from './runProtocol';

/** After SIGINT, a second SIGINT: the CLI then removes its sandboxes and exits at once... */
export const SECOND_SIGINT_MS = 5_000;
/** ...and SIGKILL when even that did not end it (`clawgym gc` removes what it left). */
export const KILL_AFTER_MS = 10_000;
/** How much of stderr is kept for the error message (every line goes to `onStderrLine`). */
const STDERR_KEEP = 64 * 1024;

export interface CliProcessOptions {
  /** The bundled CLI script (dist/cli.js). */
  cli: string;
  args: readonly string[];
  cwd: string;
  /** Node to run it with (default: this process's, as in the extension host). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  onEvent(event: CliEvent): void;
  /** A stdout line that is no known event (`unknown`: a well-formed event of a type we do not know). */
  onStray?(line: string, info: { unknown?: boolean; problem?: string }): void;
  onStderrLine?(line: string): void;
  /** What the stop ladder does, in words. */
  onNotice?(level: 'info' | 'warn' | 'error', text: string): void;
  secondSigintMs?: number;
  killAfterMs?: number;
}

export interface CliProcess {
  readonly pid: number | undefined;
  readonly cancelRequested: boolean;
  /** SIGINT; a second SIGINT after `secondSigintMs`; SIGKILL after `killAfterMs`. Idempotent. */
  cancel(): void;
  /** Settles when the process has ended and its output is read (never rejects). */
  readonly done: Promise<ProcessEnd>;
}

export function startCli(o: CliProcessOptions): CliProcess {
  let stderr = '';
  let spawnError: string | undefined;
  let cancelRequested = false;
  const timers: NodeJS.Timeout[] = [];
  const notice = o.onNotice ?? (() => undefined);

  // The extension host runs on Electron's Node (desktop) or plain Node (code-server, remote):
  // ELECTRON_RUN_AS_NODE makes the first behave as the second. NO_COLOR keeps stderr plain.
  const child = spawn(o.execPath ?? process.execPath, [o.cli, ...o.args], {
    cwd: o.cwd,
    env: { ...(o.env ?? process.env), ELECTRON_RUN_AS_NODE: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });

  const stdout = new LineSplitter(
    (line) => {
      const parsed = parseEventLine(line);
      if ('event' in parsed) o.onEvent(parsed.event);
      else o.onStray?.(line, parsed);
    },
    (n) => notice('warn', `dropped a stdout line of ${n} characters without a line break`),
  );
  const errLines = new LineSplitter((line) => o.onStderrLine?.(line));
  child.stdout?.on('data', (b: Buffer) => stdout.push(b));
  child.stderr?.on('data', (b: Buffer) => {
    errLines.push(b);
    stderr = (stderr + b.toString('utf8')).slice(-STDERR_KEEP);
  });

  const done = new Promise<ProcessEnd>((resolve) => {
    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      stdout.end();
      errLines.end();
      resolve({ code, signal, stderr, spawnError, cancelRequested });
    };
    child.once('error', (e) => {
      spawnError = e.message;
      // A process that never started emits no 'close'.
      if (child.pid === undefined) settle(null, null);
    });
    child.once('close', settle);
  });

  const running = (): boolean => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    get pid() {
      return child.pid;
    },
    get cancelRequested() {
      return cancelRequested;
    },
    done,
    cancel() {
      if (cancelRequested || !running()) return;
      cancelRequested = true;
      const second = o.secondSigintMs ?? SECOND_SIGINT_MS;
      const kill = o.killAfterMs ?? KILL_AFTER_MS;
      notice('info', 'stopping the CLI (SIGINT: it cancels the trial and removes its sandbox)');
      child.kill('SIGINT');
      timers.push(
        setTimeout(() => {
          if (!running()) return;
          notice('warn', `still running ${second / 1000} s after SIGINT; a second SIGINT (remove sandboxes, exit now)`);
          child.kill('SIGINT');
        }, second),
        setTimeout(() => {
          if (!running()) return;
          notice('error', `still running ${kill / 1000} s after SIGINT; killing it (\`clawgym gc\` removes sandboxes it left)`);
          child.kill('SIGKILL');
        }, kill),
      );
    },
  };
}

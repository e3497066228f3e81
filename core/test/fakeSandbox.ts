/**
 * An in-memory Sandbox for fast unit tests: `copyOut` returns the entries given, `exec` answers
 * from a script. Every call is recorded. The real engine is exercised by the Docker tests.
 */
import { SandboxError, type Command, type CopyOutOptions, type CopyOutResult, type ExecOptions, type ExecResult, type Sandbox, type SandboxEntry, type SandboxFile, type SandboxSpec } from '../src/sandbox/types';

export type ExecScript = (command: Command, options: ExecOptions) => Partial<ExecResult> | Promise<Partial<ExecResult>>;

export class FakeSandbox implements Sandbox {
  readonly id = 'fake-0001';
  readonly name = 'clawgym-fake';
  readonly spec: SandboxSpec;
  entries: SandboxEntry[];
  /** When set, copyOut rejects with it. */
  copyOutError?: Error;
  execs: { command: Command; options: ExecOptions }[] = [];
  copyOuts: { dir: string; options: CopyOutOptions }[] = [];
  copyIns: SandboxFile[][] = [];
  disposed = false;

  constructor(
    root: string,
    entries: SandboxEntry[],
    private readonly script: ExecScript = () => ({}),
  ) {
    this.spec = { image: 'fake', workdir: root, runId: 'run', trialId: 'trial' };
    this.entries = entries;
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    if (options.signal?.aborted) throw new SandboxError('cancelled', 'exec cancelled');
    this.execs.push({ command, options });
    const r = await this.script(command, options);
    if (options.signal?.aborted) throw new SandboxError('cancelled', 'exec cancelled');
    const stdout = r.stdout ?? '';
    const stderr = r.stderr ?? '';
    if (stderr && options.onStderr) options.onStderr(Buffer.from(stderr));
    return {
      exitCode: r.exitCode ?? 0,
      stdout,
      stderr,
      stdoutBytes: Buffer.byteLength(stdout),
      stderrBytes: Buffer.byteLength(stderr),
      truncated: false,
      timedOut: r.timedOut ?? false,
      outputLimitExceeded: r.outputLimitExceeded ?? false,
      durationMs: r.durationMs ?? 1,
    };
  }

  async copyIn(files: readonly SandboxFile[]): Promise<void> {
    this.copyIns.push([...files]);
  }

  async copyOut(dir: string, options: CopyOutOptions = {}): Promise<CopyOutResult> {
    this.copyOuts.push({ dir, options });
    if (options.signal?.aborted) throw new SandboxError('cancelled', 'copy-out cancelled');
    if (this.copyOutError) throw this.copyOutError;
    const max = options.maxFileBytes ?? 16 << 20;
    const omitted: string[] = [];
    let totalBytes = 0;
    const entries = this.entries.map((e) => {
      if (e.type !== 'file' || !e.content) return e;
      if (e.content.length > max) {
        omitted.push(e.path);
        const { content: _content, ...rest } = e;
        return rest;
      }
      totalBytes += e.content.length;
      return e;
    });
    return { entries, totalBytes, omitted };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

export function file(path: string, text: string | Uint8Array, mode = 0o644): SandboxEntry {
  const content = typeof text === 'string' ? Buffer.from(text) : text;
  return { path, type: 'file', mode, size: content.length, content };
}

export function dir(path: string): SandboxEntry {
  return { path, type: 'directory', mode: 0o755, size: 0 };
}

export function symlink(path: string, target: string): SandboxEntry {
  return { path, type: 'symlink', mode: 0o777, size: 0, linkTarget: target };
}

/** A file listed without content, as copy-out reports files over its per-file cap. */
export function bigFile(path: string, size: number): SandboxEntry {
  return { path, type: 'file', mode: 0o644, size };
}

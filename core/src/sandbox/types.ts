/**
 * The sandbox interface: where a task's workspace lives while an agent works on it and while the
 * verifier grades it. Backends: Docker through dockerode (`docker.ts`, the real one) and a
 * temporary directory, isolated with bubblewrap when present (`local.ts`, the weaker fallback).
 *
 * Every call takes an optional AbortSignal; an aborted call rejects with a {@link SandboxError} of
 * kind `cancelled` and leaves nothing running that the call started. `dispose()` never throws and
 * may be called any number of times.
 */

/** Why a sandbox call failed. Callers branch on `kind`, people read `message`. */
export type SandboxErrorKind =
  /** The backend cannot be reached (Docker daemon down, bubblewrap missing when required). */
  | 'unavailable'
  /** The image does not exist (run `clawgym image build`). */
  | 'image-missing'
  /** A path escapes the workspace or the sandbox (`..`, absolute where relative is needed, symlinks). */
  | 'path-escape'
  /** An output or copy went over its size cap. */
  | 'too-large'
  /** The call's AbortSignal fired. */
  | 'cancelled'
  /** Anything else the backend reported. */
  | 'backend';

export class SandboxError extends Error {
  constructor(
    readonly kind: SandboxErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SandboxError';
  }
}

export interface SandboxResources {
  /** CPU cores (fractions allowed). */
  cpus?: number;
  memoryBytes?: number;
  /** Maximum number of processes (fork-bomb guard). */
  pids?: number;
}

export interface SandboxSpec {
  /** Docker image (ignored by the local backend). */
  image: string;
  /** Absolute path of the workspace root inside the sandbox; created empty, default cwd of exec. */
  workdir: string;
  /** Environment of every exec (exec-level env is merged over it). Never put secrets here. */
  env?: Record<string, string>;
  /** `none` (default): no network; `model-only` and `open` both get a network for now. */
  network?: 'none' | 'model-only' | 'open';
  resources?: SandboxResources;
  /** Labels for bookkeeping and `clawgym gc`: the run and trial this sandbox belongs to. */
  runId: string;
  trialId: string;
  /**
   * Host directories made visible in the sandbox (black-box agents: the model proxy's socket).
   * Docker bind-mounts them (a local engine only: a remote one cannot see this machine's paths);
   * the local backend binds them with bubblewrap, and without it maps `containerPath` to
   * `hostPath` in commands' arguments and environment.
   */
  mounts?: SandboxMount[];
}

export interface SandboxMount {
  /** Absolute path on the host. */
  hostPath: string;
  /** Absolute path inside the sandbox (outside the workspace). */
  containerPath: string;
  /** Default false. */
  readOnly?: boolean;
}

/** One file to put into the sandbox. */
export interface SandboxFile {
  /** Absolute POSIX path inside the sandbox (normally under `workdir`). */
  path: string;
  /** Ignored for directories (pass an empty array). */
  content: Uint8Array;
  /** Unix permission bits; default 0o644 for files, 0o755 for directories. */
  mode?: number;
  /** Default `file`. A `directory` entry creates an (empty) directory: ClawGym inputs can hold them. */
  type?: 'file' | 'directory';
}

/** One entry read back out of the sandbox. */
export interface SandboxEntry {
  /** POSIX path relative to the copied directory, no leading `./`, never containing `..`. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  size: number;
  /** File content (type `file` only); absent when the file was over the per-file cap. */
  content?: Uint8Array;
  /** Symlink target as stored (type `symlink` only); never followed on the host. */
  linkTarget?: string;
}

export interface CopyOutOptions {
  signal?: AbortSignal;
  /** Cap on the total bytes read (default 256 MiB): over it, the copy fails with `too-large`. */
  maxTotalBytes?: number;
  /** Files bigger than this are listed without `content` (default 16 MiB). */
  maxFileBytes?: number;
}

export interface CopyOutResult {
  entries: SandboxEntry[];
  /** Bytes of file content read. */
  totalBytes: number;
  /** Paths whose content was left out for being over `maxFileBytes`. */
  omitted: string[];
}

export interface ExecOptions {
  /** Working directory; default the sandbox's `workdir`. */
  cwd?: string;
  /** Merged over the sandbox env. */
  env?: Record<string, string>;
  /** Kill the command (and everything it started) after this long; the result says `timedOut`. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Streamed output as it arrives (before capping). */
  onStdout?: (chunk: Uint8Array) => void;
  onStderr?: (chunk: Uint8Array) => void;
  /**
   * Keep at most this many bytes of each stream in the result (default 1 MiB). When a stream goes
   * over `killAfterBytes` (default 64 MiB) the command is killed and `outputLimitExceeded` is set.
   */
  maxOutputBytes?: number;
  killAfterBytes?: number;
  /** Bytes written to the command's stdin, then stdin is closed. */
  stdin?: Uint8Array | string;
}

export interface ExecResult {
  /** Exit code; 137 when killed by the timeout or the output limit; -1 when unknown. */
  exitCode: number;
  /** The first `maxOutputBytes` of stdout, decoded as UTF-8. */
  stdout: string;
  stderr: string;
  /** Total bytes each stream produced (may be more than kept). */
  stdoutBytes: number;
  stderrBytes: number;
  /** Whether stdout/stderr in the result were cut at `maxOutputBytes`. */
  truncated: boolean;
  timedOut: boolean;
  outputLimitExceeded: boolean;
  durationMs: number;
}

/** What {@link Sandbox.quiesce} did. */
export interface QuiesceReport {
  /** Processes killed. */
  killed: number;
  /** Every process of the agent phase is gone; false: grading must not happen in this sandbox. */
  clean: boolean;
  /**
   * The sandbox had to be stopped to be quiesced (its supervisor was not trustworthy or could
   * not kill everything): only `copyOut` and `changes` work on it now; grade elsewhere.
   */
  stopped: boolean;
  /** Evidence that something in the sandbox worked against the harness (forged frames...). */
  tampering: string[];
  /** How it was done or why it is not clean, for the trial's log and result. */
  detail: string;
}

/** One entry of the engine's diff of a container's file system against its image. */
export interface FileSystemChange {
  /** Absolute path in the sandbox. */
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

/** A command: argv (run as is) or a string (run with `bash -c`). */
export type Command = string | readonly string[];

export interface Sandbox {
  /** Unique id (container id, or the temp dir). */
  readonly id: string;
  /** Unique, human-readable name (container name). */
  readonly name: string;
  readonly spec: SandboxSpec;
  exec(command: Command, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Optional: run a Python 3 program exactly as `exec(['python3', '-I', '-S', '-'], { stdin: program })`
   * does, possibly from an interpreter already running in the sandbox (the Docker session forks
   * its supervisor). Callers fall back to that exec where a backend has no such method.
   */
  execPython?(program: string, options?: ExecOptions): Promise<ExecResult>;
  /** Put files in (creating parent directories). Paths must be absolute; the local backend refuses paths it cannot map. */
  copyIn(files: readonly SandboxFile[], options?: { signal?: AbortSignal }): Promise<void>;
  /** Read a directory tree (absolute path) back; symlinks are reported, never followed. */
  copyOut(dir: string, options?: CopyOutOptions): Promise<CopyOutResult>;
  /**
   * End the agent phase: kill every process started in the sandbox since it was created (in any
   * session or process group, `setsid`, double-forked, ignoring signals) and wait until they are
   * reaped, so that nothing of the agent runs, and the workspace is stable, when grading starts.
   * The sandbox stays usable (`exec`, `copyIn`, `copyOut`). Never throws but for cancellation.
   */
  quiesce?(options?: { signal?: AbortSignal }): Promise<QuiesceReport>;
  /**
   * Optional: what changed in the sandbox's file system since it was created from its image, as
   * the engine (not anything inside the sandbox) sees it. Works on a stopped sandbox too.
   */
  changes?(options?: { signal?: AbortSignal }): Promise<FileSystemChange[]>;
  /**
   * Optional: record, in a trusted way, the state of what graders run (programs, libraries,
   * configuration), so that `changes` reports what changed since (cheaply, without the engine's
   * whole-container diff). Call it right before the agent phase.
   */
  baseline?(options?: { signal?: AbortSignal }): Promise<void>;
  /** Stop and remove everything; never throws; idempotent. */
  dispose(): Promise<void>;
}

export interface SandboxBackend {
  readonly name: 'docker' | 'local';
  /** How strongly sandboxes are isolated from the host; reported to the user. */
  readonly isolation: 'container' | 'bubblewrap' | 'none';
  /** A one-line description for logs and run configs, e.g. `docker 28.2 at unix:///var/run/docker.sock`. */
  describe(): string;
  /**
   * Create and start a sandbox with `files` already in place under `workdir`. Callers must
   * `dispose()` it (in `finally`); sandboxes still alive at SIGINT/SIGTERM are disposed by the
   * process-wide registry (see registry.ts).
   */
  create(spec: SandboxSpec, files: readonly SandboxFile[], options?: { signal?: AbortSignal }): Promise<Sandbox>;
  /**
   * Optional: a fresh sandbox made like `source` (its image, environment and limits; no network,
   * no mounts) holding a copy of `source`'s directory `dir`, for grading what an agent left
   * without anything else it left. `source` may be stopped (see {@link Sandbox.quiesce}).
   */
  createGrader?(source: Sandbox, dir: string, options?: { signal?: AbortSignal }): Promise<Sandbox>;
}

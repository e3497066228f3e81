/**
 * The Docker sandbox backend, on dockerode. One container per sandbox: created with the files
 * already in place (fed to its first process's stdin, see `initialCopy`), under Docker's init
 * (which reaps orphans, so killed process trees do not fill the pids limit with zombies). The
 * first process then becomes a small Python supervisor on the container's attached stdio
 * (session.ts): commands and copy-outs go through it, with no `docker exec` or getArchive. Images
 * without python3, `session: false`, and sandboxes whose supervisor died use `sleep infinity` as
 * the keep-alive and one `docker exec` per command. Removed with `remove({ force: true })`.
 *
 * The engine is wherever dockerode's default points: `DOCKER_HOST` (unix://, tcp://, ssh://) or the
 * local socket. Round trips are kept to the minimum: create = createContainer + attach + start
 * (a missing image is learnt from createContainer's 404, not from a separate inspect);
 * exec without a session = exec create + start + inspect (for the exit code).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { registerSandbox, unregisterSandbox } from './registry';
import { Capture, captured } from './output';
import { Demuxer, READY, SupervisorSession } from './session';
import { SUPERVISOR_SOURCE } from './supervisorSource';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_TOTAL_BYTES, packFiles, sandboxPathSegments, unpackEntries } from './tar';
import {
  SandboxError,
  type Command,
  type CopyOutOptions,
  type CopyOutResult,
  type ExecOptions,
  type ExecResult,
  type FileSystemChange,
  type QuiesceReport,
  type Sandbox,
  type SandboxBackend,
  type SandboxFile,
  type SandboxSpec,
} from './types';

/** Labels on every sandbox container (read by `clawgym gc`). */
export const LABEL_RUN = 'dev.clawgym.run';
export const LABEL_TRIAL = 'dev.clawgym.trial';
/** `<hostname>:<pid>` of the process that created the container. */
export const LABEL_OWNER = 'dev.clawgym.owner';
/** ISO time of creation. */
export const LABEL_CREATED = 'dev.clawgym.created';

/** A fork-bomb guard for specs that set none. */
export const DEFAULT_PIDS_LIMIT = 1024;
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const DEFAULT_KILL_AFTER_BYTES = 64 * 1024 * 1024;

/**
 * Capabilities dropped from Docker's default set. None is needed to work on files, run Python or
 * shell tools, or switch users (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETUID, SETGID, KILL stay):
 * raw sockets, device nodes, chroot, file capabilities and the audit log are not.
 */
export const DROPPED_CAPS = ['NET_RAW', 'MKNOD', 'SYS_CHROOT', 'SETFCAP', 'SETPCAP', 'AUDIT_WRITE'];

/** How long after a timeout the host stops waiting for the in-sandbox `timeout` and kills itself. */
const TIMEOUT_GRACE_MS = 500;
/** How long to wait for the exec stream to end after killing its processes. */
const KILL_WAIT_MS = 2_000;
/** Without a session: how often a running `docker exec` is asked whether its process ended. */
const EXIT_POLL_MS = 250;
/** How long output written before the command exited may take to arrive. */
const EXIT_DRAIN_MS = 100;
/**
 * How long one engine request may take before the engine counts as frozen (`unavailable`):
 * `CLAWGYM_DOCKER_TIMEOUT_MS`, or the backend's `callTimeoutMs`. Creating and starting a
 * container on a loaded engine is the slowest request seen (a few seconds).
 */
export const DEFAULT_ENGINE_CALL_TIMEOUT_MS = 60_000;

/**
 * Kills every process whose environment holds `CLAWGYM_EXEC_ID=<id>`: all the processes one exec
 * started, including those that left its process group (setsid, daemons). Only bash builtins, so
 * it needs a single process slot even when a fork bomb holds the pids limit. Repeats until a pass
 * finds nothing, to catch children forked during the scan.
 */
const KILL_SCRIPT = `m="CLAWGYM_EXEC_ID=$1"
for pass in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  n=0
  for d in /proc/[0-9]*; do
    p=\${d#/proc/}
    [ "$p" = "$$" ] && continue
    while IFS= read -r -d '' e; do
      if [ "$e" = "$m" ]; then kill -KILL "$p" 2>/dev/null && n=$((n+1)); break; fi
    done 2>/dev/null < "$d/environ"
  done
  [ "$n" = 0 ] && exit 0
done
exit 1`;

export interface DockerBackendOptions {
  /** The client to use; default `new Docker()`, which follows DOCKER_HOST. */
  docker?: Docker;
  /**
   * How `create` puts the files in. `stdin` (default): the container's first process reads the
   * tar on its stdin (attached before start), extracts it with the image's `tar`, then becomes
   * the keep-alive; this spares the engine's putArchive, which re-executes the daemon binary in a
   * chroot for every copy (the costliest step of a create here). `archive`: putArchive before
   * start. `stdin` falls back to `archive` by itself for an image without `sh` or `tar`.
   */
  initialCopy?: 'stdin' | 'archive';
  /**
   * Run commands through a persistent in-sandbox session (default true): the first process,
   * once the files are in, becomes a small Python supervisor on the container's attached stdio
   * (session.ts), so an exec costs no `docker exec` and a copy-out no getArchive. Images
   * without python3 (or sh) fall back to `docker exec` by themselves, and so does a sandbox
   * whose supervisor was killed. `false`: always `docker exec` and getArchive.
   */
  session?: boolean;
  /** Deadline of each engine request (default {@link DEFAULT_ENGINE_CALL_TIMEOUT_MS}). */
  callTimeoutMs?: number;
}

export interface DockerSandbox extends Sandbox {
  readonly container: Docker.Container;
  /** Why the last dispose could not remove the container (it is then left for `clawgym gc`). */
  readonly disposeError: Error | undefined;
  /**
   * How commands (and copy-outs) reach the container now: `session` (its supervisor, see
   * session.ts) or `docker-exec` (one engine exec each, and getArchive), the fallback for images
   * without python3, `session: false`, and a supervisor that ended.
   */
  readonly commandChannel: 'session' | 'docker-exec';
  execPython(program: string, options?: ExecOptions): Promise<ExecResult>;
}

export interface DockerBackend extends SandboxBackend {
  readonly name: 'docker';
  readonly isolation: 'container';
  readonly docker: Docker;
  /** Where the engine is: `unix:///var/run/docker.sock`, `tcp://host:2375`, `ssh://user@host`. */
  readonly endpoint: string;
  /** Checks that the engine answers; throws `unavailable` with what to do otherwise. */
  ping(signal?: AbortSignal): Promise<{ version: string; apiVersion: string }>;
  imageExists(tag: string, signal?: AbortSignal): Promise<boolean>;
  create(spec: SandboxSpec, files: readonly SandboxFile[], options?: { signal?: AbortSignal }): Promise<DockerSandbox>;
}

interface DockerError extends Error {
  statusCode?: number;
  code?: string;
  json?: unknown;
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
]);

function isAbort(e: unknown): boolean {
  const err = e as { name?: string; code?: string } | undefined;
  return err?.name === 'AbortError' || err?.code === 'ABORT_ERR';
}

function cancelled(what: string): SandboxError {
  return new SandboxError('cancelled', `${what} was cancelled`);
}

/** Where dockerode's modem connects, as a URL-ish string for messages and `describe()`. */
function endpointOf(docker: Docker): string {
  const modem = docker.modem as {
    socketPath?: unknown;
    host?: string;
    port?: string | number;
    protocol?: string;
    username?: string;
  };
  if (modem.host) {
    const user = modem.username ? `${modem.username}@` : '';
    const port = modem.port ? `:${modem.port}` : '';
    const scheme = modem.protocol === 'http' ? 'tcp' : (modem.protocol ?? 'tcp');
    return `${scheme}://${user}${modem.host}${port}`;
  }
  if (typeof modem.socketPath === 'string') return `unix://${modem.socketPath}`;
  // docker-modem's default is a function choosing between these two.
  const userSocket = join(homedir(), '.docker', 'run', 'docker.sock');
  return `unix://${existsSync(userSocket) ? userSocket : '/var/run/docker.sock'}`;
}

function unavailable(endpoint: string, e: unknown): SandboxError {
  const err = e as DockerError;
  const detail = err.code ? `${err.code}: ${err.message}` : err.message;
  const hint =
    err.code === 'EACCES'
      ? 'give this user access to the socket (e.g. the docker group)'
      : 'start the Docker engine (dockerd)';
  return new SandboxError(
    'unavailable',
    `the Docker engine at ${endpoint} is not reachable (${detail}): ${hint}, set DOCKER_HOST to a reachable engine, or use \`--backend local\``,
    { cause: e },
  );
}

/** A SandboxError for any failure of a dockerode call. */
function mapError(e: unknown, endpoint: string, what: string): SandboxError {
  if (e instanceof SandboxError) return e;
  if (isAbort(e)) return cancelled(what);
  const err = e as DockerError;
  if (err.code && CONNECT_CODES.has(err.code) && err.statusCode === undefined) return unavailable(endpoint, e);
  const message = (err.message ?? String(e)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  return new SandboxError('backend', `${what}: ${message}`, { cause: e });
}

/** The engine did not answer a request in time. */
function frozen(endpoint: string, what: string, ms: number): SandboxError {
  return new SandboxError(
    'unavailable',
    `the Docker engine at ${endpoint} did not answer (${what}) within ${Math.round(ms / 1000)} s: it is frozen or overloaded (raise CLAWGYM_DOCKER_TIMEOUT_MS if it is only slow)`,
  );
}

/**
 * One engine request with a deadline: `call` gets a signal that fires at the deadline (or when the
 * caller's does) and the request is raced against it too, for calls that ignore their signal.
 */
async function engineCall<T>(
  endpoint: string,
  what: string,
  ms: number,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = new AbortController();
  const combined = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      deadline.abort();
      reject(frozen(endpoint, what, ms));
    }, ms);
  });
  const request = call(combined);
  request.catch(() => undefined);
  try {
    return await Promise.race([request, late]);
  } catch (e) {
    if (deadline.signal.aborted && !signal?.aborted) throw frozen(endpoint, what, ms);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function sanitizeNamePart(s: string, max: number): string {
  return s.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, max) || 'x';
}

/** `clawgym-<runId>-<trialId>-<random>`, restricted to Docker's name alphabet. */
export function containerName(runId: string, trialId: string): string {
  return `clawgym-${sanitizeNamePart(runId, 60)}-${sanitizeNamePart(trialId, 60)}-${randomBytes(4).toString('hex')}`;
}

export function ownerLabel(): string {
  return `${hostname()}:${process.pid}`;
}

/** How a Python program on stdin is run in the sandbox (isolated mode, no site). */
const PYTHON_STDIN = ['python3', '-I', '-S', '-'] as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class DockerSandboxImpl implements DockerSandbox {
  readonly id: string;
  disposeError: Error | undefined;
  /** The command session on the container's attached stdio, when the image can run one. */
  session: SupervisorSession | undefined;
  private abandonedKill: Promise<void> | undefined;
  private disposing: Promise<void> | undefined;

  constructor(
    readonly container: Docker.Container,
    readonly name: string,
    readonly spec: SandboxSpec,
    private readonly endpoint: string,
    private readonly callTimeoutMs: number,
  ) {
    this.id = container.id;
  }

  /** An engine request with this backend's deadline. */
  private call<T>(what: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return engineCall(this.endpoint, what, this.callTimeoutMs, signal, fn);
  }

  private assertUsable(what: string): void {
    if (this.disposing) throw new SandboxError('backend', `${what}: sandbox ${this.name} was disposed`);
  }

  /** How commands run right now: through the session's supervisor, or one `docker exec` each. */
  get commandChannel(): 'session' | 'docker-exec' {
    return this.session?.isAlive ? 'session' : 'docker-exec';
  }

  /** The session, once its supervisor said hello and while it lives. */
  private async liveSession(): Promise<SupervisorSession | undefined> {
    const session = this.session;
    if (!session || !(await session.started) || !session.isAlive) return undefined;
    return session;
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const what = `exec in ${this.name}`;
    this.assertUsable(what);
    const { signal } = options;
    if (signal?.aborted) throw cancelled(what);
    const started = performance.now();
    const argv = typeof command === 'string' ? ['bash', '-c', command] : [...command];
    if (argv.length === 0) throw new SandboxError('backend', `${what}: empty command`);
    if (this.stopped) throw new SandboxError('backend', `${what}: the sandbox was stopped at the end of the agent phase`);
    const session = await this.liveSession();
    if (session) {
      const result = await this.execInSession(session, argv, options, what, started);
      if (result) return result;
      // Never started (the session ended first): run it the other way.
    }
    if (this.session) await this.killAbandoned(this.session);
    return this.execWithDocker(argv, options, what, started);
  }

  /**
   * `python3 -I -S -` with the program on stdin; through the session, a fork of its supervisor
   * runs it (no interpreter start-up: about 13 ms of CPU a call here), else a plain exec.
   */
  async execPython(program: string, options: ExecOptions = {}): Promise<ExecResult> {
    const what = `exec in ${this.name}`;
    this.assertUsable(what);
    if (options.signal?.aborted) throw cancelled(what);
    const started = performance.now();
    const session = await this.liveSession();
    if (session) {
      const result = await this.execInSession(session, [...PYTHON_STDIN], { ...options, stdin: program }, what, started, true);
      if (result) return result;
    }
    return this.exec([...PYTHON_STDIN], { ...options, stdin: program });
  }

  /** One command through the supervisor; undefined when it never started. */
  private async execInSession(
    session: SupervisorSession,
    argv: string[],
    options: ExecOptions,
    what: string,
    started: number,
    python = false,
  ): Promise<ExecResult | undefined> {
    const { signal } = options;
    const timeoutMs = options.timeoutMs !== undefined && options.timeoutMs > 0 ? options.timeoutMs : undefined;
    const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const killAfter = options.killAfterBytes ?? DEFAULT_KILL_AFTER_BYTES;
    const out = new Capture(maxOutput);
    const err = new Capture(maxOutput);
    const marker = randomBytes(8).toString('hex');
    let overLimit = false;
    const job = session.exec(
      {
        argv,
        cwd: options.cwd ?? this.spec.workdir,
        env: options.env ?? {},
        stdin: options.stdin,
        timeoutMs,
        killAfterBytes: killAfter,
        marker,
        python,
      },
      (stream, data) => {
        if (overLimit) return;
        const capture = stream === 'e' ? err : out;
        capture.add(data);
        try {
          (stream === 'e' ? options.onStderr : options.onStdout)?.(data);
        } catch {
          // A throwing listener must not break the exec.
        }
        // The supervisor enforces the limit too; this covers one that does not.
        if (capture.bytes > killAfter) {
          overLimit = true;
          job.kill();
        }
      },
    );
    let stop!: (reason: 'abort' | 'stuck') => void;
    const stopRequested = new Promise<'abort' | 'stuck'>((r) => (stop = r));
    const onAbort = (): void => stop('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) stop('abort');
    // Safety net: the supervisor kills at the timeout; if it does not answer, the host does.
    let deadline: NodeJS.Timeout | undefined;
    if (timeoutMs !== undefined) deadline = setTimeout(() => stop('stuck'), timeoutMs + TIMEOUT_GRACE_MS);
    try {
      let outcome = await Promise.race([job.done, stopRequested]);
      let hostTimedOut = false;
      if (outcome === 'abort' || outcome === 'stuck') {
        const reason = outcome;
        job.kill();
        const after = await Promise.race([job.done, sleep(KILL_WAIT_MS).then(() => 'late' as const)]);
        if (after === 'late' || after.kind !== 'exit') {
          // The supervisor did not confirm: kill from outside, and stop trusting it.
          if (after === 'late') session.abandon('the supervisor did not confirm a kill');
          await this.killExec(marker);
        }
        if (reason === 'abort') throw cancelled(what);
        hostTimedOut = true;
        outcome = after === 'late' ? { kind: 'lost' } : after;
      }
      await this.killAbandoned(session);
      if (signal?.aborted) throw cancelled(what);
      if (outcome.kind === 'not-started') return undefined;
      if (outcome.kind === 'error') throw new SandboxError('backend', `${what}: the sandbox could not start the command: ${outcome.message}`);
      let exitCode = -1;
      let timedOut = hostTimedOut;
      let outputLimitExceeded = overLimit;
      if (outcome.kind === 'exit') {
        exitCode = outcome.exitCode;
        timedOut ||= outcome.timedOut;
        outputLimitExceeded ||= outcome.outputLimitExceeded;
      } else if (!hostTimedOut) {
        // The session ended under the command (its supervisor was killed): its exit code is
        // lost; whatever it left running is killed from outside.
        await this.killExec(marker);
      }
      if (timedOut || outputLimitExceeded) exitCode = 137;
      return {
        exitCode,
        ...captured(out, err),
        timedOut,
        outputLimitExceeded,
        durationMs: performance.now() - started,
      };
    } finally {
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async execWithDocker(argv: string[], options: ExecOptions, what: string, started: number): Promise<ExecResult> {
    const { signal } = options;
    const timeoutMs = options.timeoutMs !== undefined && options.timeoutMs > 0 ? options.timeoutMs : undefined;
    // coreutils timeout puts the command in its own process group and SIGKILLs the whole group
    // (itself included, so the exec exits 137) right when the time is up, inside the sandbox.
    const cmd = timeoutMs === undefined ? argv : ['timeout', '-s', 'KILL', `${(timeoutMs / 1000).toFixed(3)}s`, ...argv];
    const marker = randomBytes(8).toString('hex');
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    env.push(`CLAWGYM_EXEC_ID=${marker}`);
    const hasStdin = options.stdin !== undefined;

    let exec: Docker.Exec;
    let stream: NodeJS.ReadWriteStream;
    try {
      exec = await this.call(`${what}: exec create`, signal, (abortSignal) =>
        this.container.exec({
          Cmd: cmd,
          Env: env,
          WorkingDir: options.cwd ?? this.spec.workdir,
          AttachStdout: true,
          AttachStderr: true,
          AttachStdin: hasStdin,
          Tty: false,
          abortSignal,
        }),
      );
      stream = (await this.call(`${what}: exec start`, signal, () =>
        exec.start({ hijack: hasStdin, stdin: hasStdin, Detach: false, Tty: false }),
      )) as NodeJS.ReadWriteStream;
    } catch (e) {
      throw mapError(e, this.endpoint, what);
    }
    const destroy = (): void => (stream as unknown as { destroy(): void }).destroy();

    const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const killAfter = options.killAfterBytes ?? DEFAULT_KILL_AFTER_BYTES;
    const out = new Capture(maxOutput);
    const err = new Capture(maxOutput);
    let stopped = false;
    let outputLimitExceeded = false;
    let timedOut = false;
    let streamError: Error | undefined;

    // `ended` settles when the exec's output closes; `stop` when we decide to stop waiting for it.
    let stop!: (reason: 'limit' | 'abort' | 'stuck' | 'exited') => void;
    const stopRequested = new Promise<'limit' | 'abort' | 'stuck' | 'exited'>((r) => (stop = r));
    const ended = new Promise<'ended'>((resolve) => {
      stream.on('end', () => resolve('ended'));
      stream.on('close', () => resolve('ended'));
      stream.on('error', (e: Error) => {
        streamError = e;
        resolve('ended');
      });
    });

    const demux = new Demuxer((type, data) => {
      if (stopped) return;
      const capture = type === 2 ? err : out;
      capture.add(data);
      try {
        (type === 2 ? options.onStderr : options.onStdout)?.(data);
      } catch {
        // A throwing listener must not break the exec.
      }
      if (capture.bytes > killAfter) {
        outputLimitExceeded = true;
        stopped = true;
        stop('limit');
      }
    });
    stream.on('data', (chunk: Buffer) => {
      if (!stopped) demux.push(chunk);
    });

    if (hasStdin) {
      const input = options.stdin!;
      stream.write(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength));
      stream.end();
    }

    const onAbort = (): void => stop('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the exec was being started: the listener came too late to hear it.
    if (signal?.aborted) stop('abort');
    // Safety net for processes that escaped the `timeout` process group and hold the output open.
    let deadline: NodeJS.Timeout | undefined;
    if (timeoutMs !== undefined) {
      deadline = setTimeout(() => {
        timedOut = true;
        stop('stuck');
      }, timeoutMs + TIMEOUT_GRACE_MS);
    }

    // The command may exit while processes it left running keep its output open: the exec is
    // over when the engine says its process ended (polled once the command has run a while).
    let exitPoll: NodeJS.Timeout | undefined;
    let polling = true;
    const pollExit = async (): Promise<void> => {
      try {
        const info = await this.call(`${what}: exec inspect`, undefined, () => exec.inspect());
        if (!info.Running && info.ExitCode !== null) return stop('exited');
      } catch {
        // the stream's end or the deadline decides
      }
      if (polling) exitPoll = setTimeout(() => void pollExit(), EXIT_POLL_MS);
    };
    exitPoll = setTimeout(() => void pollExit(), EXIT_POLL_MS);
    try {
      let first = await Promise.race([ended, stopRequested]);
      polling = false;
      clearTimeout(exitPoll);
      if (first === 'exited') {
        // What it wrote before it exited is on its way: a moment to take it, then hang up.
        await Promise.race([ended, sleep(EXIT_DRAIN_MS)]);
        stopped = true;
        destroy();
        first = 'ended';
      }
      let killedAll = false;
      if (first !== 'ended') {
        stopped = true;
        // Over the limit or cancelled: hang up first. Merely pausing is not enough: the engine's
        // copy of this output then blocks, and the engine holds back the end of every later exec
        // in the container (the kill below included) behind it.
        // Stuck: keep draining, so that the end of the stream tells us the kill worked.
        if (first === 'stuck') stream.resume();
        else destroy();
        const killed = await this.killExec(marker);
        killedAll = killed;
        const after =
          first === 'stuck' ? await Promise.race([ended, sleep(KILL_WAIT_MS).then(() => 'late' as const)]) : 'ended';
        destroy();
        if (first === 'abort') throw cancelled(what);
        if (after === 'late') {
          throw new SandboxError(
            'backend',
            `${what}: the command was still running ${timeoutMs! + TIMEOUT_GRACE_MS + KILL_WAIT_MS} ms after its ${timeoutMs} ms timeout and could not be killed${killed ? '' : ' (the kill itself failed)'}; dispose the sandbox`,
          );
        }
      }
      let exitCode = await this.exitCodeOf(exec, signal);
      if (signal?.aborted) throw cancelled(what);
      const durationMs = performance.now() - started;
      if (timeoutMs !== undefined && (timedOut || (exitCode === 137 && durationMs >= timeoutMs))) {
        timedOut = true;
        // The group is dead; also kill anything that left it (setsid, daemons) and closed its output.
        if (!killedAll) await this.killExec(marker);
      }
      // Docker reports odd codes (126) for an exec whose output we hung up on: it was killed.
      if (outputLimitExceeded || (timedOut && exitCode === -1)) exitCode = 137;
      if (streamError && exitCode === -1 && !timedOut && !outputLimitExceeded) {
        throw mapError(streamError, this.endpoint, what);
      }
      return {
        exitCode,
        ...captured(out, err),
        timedOut,
        outputLimitExceeded,
        durationMs: performance.now() - started,
      };
    } finally {
      polling = false;
      clearTimeout(exitPoll);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      if (stopped) destroy();
    }
  }

  /** Exit code from exec inspect; polls briefly when the stream closed before Docker recorded it. */
  private async exitCodeOf(exec: Docker.Exec, signal: AbortSignal | undefined): Promise<number> {
    for (let attempt = 0; attempt < 40; attempt++) {
      if (signal?.aborted) return -1;
      try {
        const info = await this.call('exec inspect', undefined, () => exec.inspect());
        if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      } catch (e) {
        if (e instanceof SandboxError && e.kind === 'unavailable') throw e;
        return -1; // the container is gone (disposed meanwhile)
      }
      await sleep(Math.min(5 * 2 ** attempt, 100));
    }
    return -1;
  }

  /** Kills a supervisor the host gave up on (once), so that it cannot run a request late. */
  private async killAbandoned(session: SupervisorSession): Promise<void> {
    if (!session.abandoned || session.pid === undefined) return;
    this.abandonedKill ??= (async () => {
      try {
        const exec = await this.call('kill the supervisor', undefined, () =>
          this.container.exec({ Cmd: ['kill', '-KILL', String(session.pid)], AttachStdout: true, AttachStderr: true }),
        );
        const stream = (await this.call('kill the supervisor', undefined, () => exec.start({ hijack: false, stdin: false }))) as NodeJS.ReadableStream;
        await this.drained(stream);
      } catch {
        // Gone already (or the container is): nothing can run late.
      }
    })();
    await this.abandonedKill;
  }

  /**
   * Runs {@link KILL_SCRIPT}; retried because a saturated pids limit can refuse the new process.
   * Rejects with `unavailable` when the engine does not answer.
   */
  private async killExec(marker: string): Promise<boolean> {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        const exec = await this.call('kill a command', undefined, () =>
          this.container.exec({
            Cmd: ['bash', '-c', KILL_SCRIPT, 'clawgym-kill', marker],
            AttachStdout: true,
            AttachStderr: true,
          }),
        );
        const stream = (await this.call('kill a command', undefined, () => exec.start({ hijack: false, stdin: false }))) as NodeJS.ReadableStream;
        await this.drained(stream);
        const code = await this.exitCodeOf(exec, undefined);
        if (code === 0) return true;
      } catch (e) {
        // A frozen or dead engine is the command's result: the caller cannot go on without it.
        const mapped = mapError(e, this.endpoint, 'kill a command');
        if (mapped.kind === 'unavailable') throw mapped;
        if (this.disposing) return false;
      }
      await sleep(50 * (attempt + 1));
    }
    return false;
  }

  /** Reads a short exec's output to its end, within the engine deadline. */
  private async drained(stream: NodeJS.ReadableStream): Promise<void> {
    stream.resume();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      }),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(frozen(this.endpoint, 'a short exec', this.callTimeoutMs)), this.callTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  async copyIn(files: readonly SandboxFile[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const what = `copy-in to ${this.name}`;
    this.assertUsable(what);
    if (options.signal?.aborted) throw cancelled(what);
    const archive = await packFiles(files);
    try {
      await this.call(what, options.signal, (abortSignal) => this.container.putArchive(archive, { path: '/', abortSignal }));
    } catch (e) {
      throw mapError(e, this.endpoint, what);
    }
  }

  async copyOut(dir: string, options: CopyOutOptions = {}): Promise<CopyOutResult> {
    const segments = sandboxPathSegments(dir, 'copy-out directory');
    const path = `/${segments.join('/')}`;
    const what = `copy-out of ${path} from ${this.name}`;
    this.assertUsable(what);
    if (segments.length === 0) throw new SandboxError('path-escape', `${what}: name a directory below "/"`);
    if (options.signal?.aborted) throw cancelled(what);
    const session = await this.liveSession();
    if (session) {
      const result = await session.snapshot(path, {
        what,
        path,
        maxTotalBytes: options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
        maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
        signal: options.signal,
      });
      if (result) return result;
      // The session ended first: ask the engine.
      if (options.signal?.aborted) throw cancelled(what);
    }
    if (this.session) await this.killAbandoned(this.session);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.call(what, options.signal, (abortSignal) => this.container.getArchive({ path, abortSignal }));
    } catch (e) {
      const err = e as DockerError;
      if (err.statusCode === 404) throw new SandboxError('backend', `${what}: no such directory in the sandbox`, { cause: e });
      throw mapError(e, this.endpoint, what);
    }
    // Docker describes the copied path in a header: refuse a symlink (never followed) or a file.
    const stat = archiveStat(stream);
    if (stat) {
      const { isDir, isLink } = stat;
      if (isLink || !isDir) {
        (stream as unknown as { destroy(): void }).destroy();
        throw isLink
          ? new SandboxError('path-escape', `${what}: ${path} is a symlink (to ${stat.linkTarget ?? '?'}), not followed`)
          : new SandboxError('backend', `${what}: ${path} is not a directory`);
      }
    }
    return unpackEntries(stream, {
      maxTotalBytes: options.maxTotalBytes,
      maxFileBytes: options.maxFileBytes,
      stripFirst: true,
      signal: options.signal,
      what,
    });
  }

  /**
   * Ends the agent phase. With a hardened session whose frames all verified, its supervisor (which
   * no agent process can trace or read) kills everything but itself, its shell and Docker's init,
   * and checks those two are as they were. Otherwise, or when that fails, the engine stops the
   * container: every process dies with it, the files stay for `copyOut` and `changes`.
   */
  async quiesce(options: { signal?: AbortSignal } = {}): Promise<QuiesceReport> {
    const what = `quiesce ${this.name}`;
    this.assertUsable(what);
    if (options.signal?.aborted) throw cancelled(what);
    const tampering: string[] = [];
    let why: string;
    const session = this.session && (await this.session.started) ? this.session : undefined;
    if (session?.forged) tampering.push(session.forged);
    if (session?.isAlive && session.hardened) {
      const q = await session.quiesce(Math.max(15_000, Math.min(this.callTimeoutMs, 60_000)));
      if (session.forged && !tampering.includes(session.forged)) tampering.push(session.forged);
      if (q?.clean && !session.forged) {
        return { killed: q.killed, clean: true, stopped: false, tampering, detail: `the supervisor killed ${q.killed} process${q.killed === 1 ? '' : 'es'} and checked the kept ones` };
      }
      for (const p of q?.problems ?? []) if (p.includes('not as it was')) tampering.push(`${p} (code injected into a kept process?)`);
      why = q ? `the supervisor could not make it clean: ${q.problems.join('; ') || 'no reason given'}` : session.forged ? 'the session channel was forged' : 'the supervisor did not answer';
    } else {
      why = !session ? 'no session (docker exec sandbox)' : session.forged ? 'the session channel was forged' : !session.isAlive ? 'the supervisor was gone (killed during the agent phase?)' : 'the supervisor could not harden itself';
    }
    // Stop the container: the engine kills every process in it.
    try {
      await this.call(`${what}: kill`, options.signal, (abortSignal) => this.container.kill({ signal: 'SIGKILL', abortSignal } as unknown as object));
    } catch (e) {
      const err = e as DockerError;
      // 409: not running (already stopped).
      if (err.statusCode !== 409) {
        if (isAbort(e) || options.signal?.aborted) throw cancelled(what);
        return { killed: 0, clean: false, stopped: false, tampering, detail: `${why}; stopping the container failed: ${mapError(e, this.endpoint, what).message}` };
      }
    }
    try {
      await this.call(`${what}: wait`, options.signal, (abortSignal) => this.container.wait({ condition: 'not-running', abortSignal } as unknown as object));
    } catch (e) {
      if (isAbort(e) || options.signal?.aborted) throw cancelled(what);
    }
    this.stopped = true;
    this.session?.close();
    return { killed: 0, clean: true, stopped: true, tampering, detail: `${why}: the container was stopped` };
  }

  /** Set once `quiesce` stopped the container: commands cannot run in it any more. */
  private stopped = false;

  /** Paths the system-tree walks leave out: the workspace and the mounts. */
  private get walkSkips(): string[] {
    return [this.spec.workdir, ...(this.spec.mounts ?? []).map((m) => m.containerPath)];
  }

  /** Set once the supervisor recorded the system trees (see `baseline`). */
  private baselined = false;

  /**
   * The supervisor notes the start of the agent phase (T0); `changes` then looks for what in
   * the system trees has a ctime after it (a few ms on overlayfs) instead of asking the engine
   * for its diff of the whole container (350-650 ms a call here).
   */
  async baseline(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.assertUsable(`baseline of ${this.name}`);
    const session = await this.liveSession();
    if (!session?.hardened || options.signal?.aborted) return;
    this.baselined = await session.baseline(this.walkSkips);
  }

  /**
   * What changed outside the workspace: from the supervisor's walks when it recorded a baseline
   * and is still to be trusted (hardened, every frame verified), else the engine's diff of the
   * container's file system against its image.
   */
  async changes(options: { signal?: AbortSignal } = {}): Promise<FileSystemChange[]> {
    const what = `changes of ${this.name}`;
    this.assertUsable(what);
    const session = this.baselined && !this.stopped ? await this.liveSession() : undefined;
    if (session && !session.forged) {
      const list = await session.changes(this.walkSkips);
      if (list && !session.forged) return list;
    }
    let list: { Path: string; Kind: number }[] | null;
    try {
      list = (await this.call(what, options.signal, (abortSignal) => this.container.changes({ abortSignal } as unknown as object))) as typeof list;
    } catch (e) {
      throw mapError(e, this.endpoint, what);
    }
    const kinds = ['modified', 'added', 'deleted'] as const;
    return (list ?? []).map((c) => ({ path: c.Path, kind: kinds[c.Kind] ?? 'modified' }));
  }

  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      try {
        await this.call(`remove ${this.name}`, undefined, () => this.container.remove({ force: true, v: true }));
      } catch (e) {
        const err = e as DockerError;
        // 404: already gone; 409: another removal is under way.
        if (err.statusCode !== 404 && err.statusCode !== 409) this.disposeError = err;
      }
      this.session?.close();
      unregisterSandbox(this);
    })();
    return this.disposing;
  }
}

class DockerBackendImpl implements DockerBackend {
  readonly name = 'docker' as const;
  readonly isolation = 'container' as const;
  readonly endpoint: string;
  private version: string | undefined;
  /** Docker's init (tini); turned off if this engine has none. */
  private useInit = true;
  private initialCopy: 'stdin' | 'archive';
  private readonly session: boolean;
  readonly callTimeoutMs: number;

  constructor(
    readonly docker: Docker,
    options: DockerBackendOptions,
  ) {
    this.endpoint = endpointOf(docker);
    const fromEnv = Number(process.env.CLAWGYM_DOCKER_TIMEOUT_MS);
    this.callTimeoutMs = options.callTimeoutMs ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_ENGINE_CALL_TIMEOUT_MS);
    this.initialCopy = options.initialCopy ?? 'stdin';
    this.session = options.session ?? true;
  }

  describe(): string {
    return `docker${this.version ? ` ${this.version}` : ''} at ${this.endpoint}`;
  }

  async ping(signal?: AbortSignal): Promise<{ version: string; apiVersion: string }> {
    // A bounded wait: a tcp:// or ssh:// host that drops packets would otherwise hang.
    const timeout = AbortSignal.timeout(10_000);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      // dockerode takes an abortSignal here; its typings do not say so.
      const version = this.docker.version.bind(this.docker) as unknown as (o: object) => Promise<Docker.DockerVersion>;
      const v = await version({ abortSignal: combined });
      this.version = v.Version;
      return { version: v.Version, apiVersion: v.ApiVersion };
    } catch (e) {
      if (signal?.aborted) throw cancelled('ping');
      if (timeout.aborted) throw unavailable(this.endpoint, Object.assign(new Error('no answer in 10 s'), { code: 'ETIMEDOUT' }));
      const err = e as DockerError;
      if (err.statusCode === undefined) throw unavailable(this.endpoint, e);
      throw mapError(e, this.endpoint, 'ping');
    }
  }

  async imageExists(tag: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await engineCall(this.endpoint, `inspect image ${tag}`, this.callTimeoutMs, signal, (abortSignal) =>
        this.docker.getImage(tag).inspect({ abortSignal } as Docker.ImageInspectOptions),
      );
      return true;
    } catch (e) {
      if ((e as DockerError).statusCode === 404) return false;
      throw mapError(e, this.endpoint, `inspect image ${tag}`);
    }
  }

  async create(spec: SandboxSpec, files: readonly SandboxFile[], options: { signal?: AbortSignal } = {}): Promise<DockerSandbox> {
    const { signal } = options;
    if (signal?.aborted) throw cancelled('create');
    sandboxPathSegments(spec.workdir, 'workdir');
    checkMounts(spec, this.endpoint);
    // Pack first: a bad path fails before anything exists on the engine.
    const archive = files.length > 0 ? await packFiles(files) : undefined;
    let copy = this.initialCopy;
    let withShell = true;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.createOnce(spec, archive, copy, withShell, signal);
      } catch (e) {
        if (attempt >= 3) throw e;
        if (e instanceof InitMissing) {
          this.useInit = false;
        } else if (e instanceof ShellMissing) {
          // No /bin/sh: no extraction, no session; the engine copies, `sleep` keeps it up.
          withShell = false;
          copy = 'archive';
        } else if (e instanceof StdinCopyFailed) {
          // The image cannot extract a tar itself (or the extraction failed): let the engine do
          // it, which also reports a real error (disk full...) in the engine's words.
          if (e.toolMissing) this.initialCopy = 'archive';
          copy = 'archive';
        } else {
          throw e;
        }
      }
    }
  }

  async createGrader(source: Sandbox, dir: string, options: { signal?: AbortSignal } = {}): Promise<DockerSandbox> {
    if (!(source instanceof DockerSandboxImpl)) throw new SandboxError('backend', `createGrader: ${source.name} is not a Docker sandbox`);
    const segments = sandboxPathSegments(dir, 'grading directory');
    if (segments.length === 0) throw new SandboxError('path-escape', 'createGrader: name a directory below "/"');
    const path = `/${segments.join('/')}`;
    const parent = `/${segments.slice(0, -1).join('/')}`;
    const { mounts: _mounts, ...like } = source.spec;
    const grader = await this.create({ ...like, network: 'none', trialId: `${source.spec.trialId}-grade` }, [], options);
    const what = `copy ${path} from ${source.name} to ${grader.name}`;
    try {
      let tree: NodeJS.ReadableStream | undefined;
      try {
        tree = await engineCall(this.endpoint, what, this.callTimeoutMs, options.signal, (abortSignal) => source.container.getArchive({ path, abortSignal }));
      } catch (e) {
        // The agent removed the workspace: the grader sees it missing too.
        if ((e as DockerError).statusCode !== 404) throw e;
      }
      if (tree) {
        if (archiveStat(tree)?.isLink) {
          // a symlink in place of the workspace: nothing is copied (the verifier reports it)
          (tree as unknown as { destroy(): void }).destroy();
        } else {
          const capped = capStream(tree, DEFAULT_MAX_TOTAL_BYTES + 64 * 1024 * 1024, what);
          await engineCall(this.endpoint, what, this.callTimeoutMs, options.signal, (abortSignal) =>
            grader.container.putArchive(capped as unknown as NodeJS.ReadableStream, { path: parent, abortSignal }),
          );
          if (capped.error) throw capped.error;
        }
      }
      return grader;
    } catch (e) {
      await grader.dispose();
      throw mapError(e, this.endpoint, what);
    }
  }

  private async createOnce(
    spec: SandboxSpec,
    archive: Buffer | undefined,
    copyMode: 'stdin' | 'archive',
    withShell: boolean,
    signal: AbortSignal | undefined,
  ): Promise<DockerSandbox> {
    const viaStdin = withShell && archive !== undefined && copyMode === 'stdin';
    // The session's first process: attached for the whole life of the container.
    const withSession = withShell && this.session;
    const attach = viaStdin || withSession;
    const name = containerName(spec.runId, spec.trialId);
    const what = `create ${name}`;
    const resources = spec.resources ?? {};
    const hostConfig: Docker.HostConfig = {
      NetworkMode: (spec.network ?? 'none') === 'none' ? 'none' : 'bridge',
      PidsLimit: resources.pids ?? DEFAULT_PIDS_LIMIT,
      SecurityOpt: ['no-new-privileges'],
      CapDrop: DROPPED_CAPS,
      Init: this.useInit,
    };
    if (spec.mounts?.length) hostConfig.Binds = spec.mounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`);
    // The engine's log driver would also store everything the first process prints: the
    // session's frames, i.e. every command's output (line by line, as JSON, on the host's disk).
    if (withSession) hostConfig.LogConfig = { Type: 'none', Config: {} };
    if (resources.cpus !== undefined) hostConfig.NanoCpus = Math.round(resources.cpus * 1e9);
    if (resources.memoryBytes !== undefined) {
      hostConfig.Memory = resources.memoryBytes;
      hostConfig.MemorySwap = resources.memoryBytes; // no swap on top
    }
    // A per-container secret the shell prints when the supervisor is gone (see session.ts).
    const sentinel = `clawgym-session-over-${randomBytes(12).toString('hex')}`;
    const stdinBytes = viaStdin ? padArchive(archive) : undefined;
    let cmd: string[];
    // The frames' key goes with the source (see session.ts): never on a command line.
    const key = randomBytes(32);
    const supervisor = Buffer.concat([Buffer.from(`KEY = bytes.fromhex('${key.toString('hex')}')\n`), SUPERVISOR_BYTES]);
    if (withSession) cmd = [SESSION_BOOT, 'clawgym-init', String(stdinBytes?.length ?? 0), String(supervisor.length)];
    else cmd = viaStdin ? [STDIN_COPY_SCRIPT] : ['infinity'];
    let container: Docker.Container;
    try {
      // Raced against the deadline but not aborted (see below); a container created late is
      // labelled, so `clawgym gc` finds it.
      container = await engineCall(this.endpoint, what, this.callTimeoutMs, undefined, () => this.docker.createContainer({
        name,
        Image: spec.image,
        // The image's own entrypoint (if any) must not run: the sandbox only needs to stay up.
        Entrypoint: attach ? ['/bin/sh', '-c'] : ['sleep'],
        Cmd: cmd,
        OpenStdin: attach,
        StdinOnce: attach,
        AttachStdin: attach,
        AttachStdout: attach,
        AttachStderr: attach,
        WorkingDir: spec.workdir,
        Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: {
          [LABEL_RUN]: spec.runId,
          [LABEL_TRIAL]: spec.trialId,
          [LABEL_OWNER]: ownerLabel(),
          [LABEL_CREATED]: new Date().toISOString(),
        },
        HostConfig: hostConfig,
        // No abortSignal: an abort mid-request could leave a container we never learn the id of
        // (a removal by name can race the engine's create). The call is short; the check follows.
      }));
    } catch (e) {
      const err = e as DockerError;
      if (err.statusCode === 404 && /no such image/i.test(err.message)) {
        throw new SandboxError(
          'image-missing',
          `the image ${spec.image} does not exist on the Docker engine at ${this.endpoint}: run \`clawgym image build\` (or build/load ${spec.image})`,
          { cause: e },
        );
      }
      throw mapError(e, this.endpoint, what);
    }
    const sandbox = new DockerSandboxImpl(container, name, spec, this.endpoint, this.callTimeoutMs);
    registerSandbox(sandbox);
    if (signal?.aborted) {
      await sandbox.dispose();
      throw cancelled(what);
    }
    let attached: NodeJS.ReadWriteStream | undefined;
    let session: SupervisorSession | undefined;
    try {
      let ready: Promise<'session' | 'plain'> | undefined;
      if (attach) {
        attached = (await engineCall(this.endpoint, `${what}: attach`, this.callTimeoutMs, signal, (abortSignal) =>
          container.attach({
            stream: true,
            stdin: true,
            stdout: true,
            stderr: true,
            hijack: true,
            abortSignal,
          }),
        )) as NodeJS.ReadWriteStream;
        session = new SupervisorSession(attached, sentinel, key);
        ready = waitForReady(session, what, signal);
        // Awaited after start; until then a rejection (start failed, stream closed) is not unhandled.
        ready.catch(() => undefined);
        if (withSession) {
          // Stdin stays open for the supervisor. Nothing in argv: `ps` output must neither
          // hold the sentinel (it would end the session) nor pages of Python.
          attached.write(`${SESSION_SCRIPT}\n${sentinel}\n`);
          if (stdinBytes) attached.write(stdinBytes);
          attached.write(supervisor);
        } else {
          // Ending our side closes the process's stdin (StdinOnce): tar sees the end.
          attached.end(archive!);
        }
      }
      if (archive && !viaStdin) {
        await engineCall(this.endpoint, `${what}: copy the files in`, this.callTimeoutMs, signal, (abortSignal) =>
          container.putArchive(archive, { path: '/', abortSignal }),
        );
      }
      if (signal?.aborted) throw cancelled(what);
      try {
        await engineCall(this.endpoint, `${what}: start`, this.callTimeoutMs, signal, (abortSignal) =>
          container.start({ abortSignal } as unknown as Docker.ContainerStartOptions),
        );
      } catch (e) {
        if (attach && /\/bin\/sh.*(no such file|not found)|executable file not found/i.test((e as Error).message ?? '')) {
          throw new ShellMissing();
        }
        throw e;
      }
      const kind = await ready;
      if (signal?.aborted) throw cancelled(what);
      if (kind === 'session') {
        sandbox.session = session;
        attached = undefined; // kept: the session's channel
      }
    } catch (e) {
      await sandbox.dispose();
      if (e instanceof ShellMissing) throw e;
      if (this.useInit && /docker-init/i.test((e as Error).message ?? '')) throw new InitMissing();
      throw mapError(e, this.endpoint, what);
    } finally {
      if (attached) {
        session?.close();
        (attached as unknown as { destroy?: () => void }).destroy?.();
      }
    }
    return sandbox;
  }
}

/** What the engine's archive header says of the copied path (getArchive), if it says it. */
function archiveStat(stream: NodeJS.ReadableStream): { isDir: boolean; isLink: boolean; linkTarget?: string } | undefined {
  const header = (stream as unknown as { headers?: Record<string, string> }).headers?.['x-docker-container-path-stat'];
  if (!header) return undefined;
  const stat = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { mode: number; linkTarget?: string };
  return { isDir: (stat.mode & 2 ** 31) !== 0, isLink: (stat.mode & 2 ** 27) !== 0, ...(stat.linkTarget !== undefined ? { linkTarget: stat.linkTarget } : {}) };
}

/** `stream` passed through, failing with `too-large` (in `error` too) after `max` bytes. */
function capStream(stream: NodeJS.ReadableStream, max: number, what: string): PassThrough & { error?: SandboxError } {
  const out = new PassThrough() as PassThrough & { error?: SandboxError };
  let seen = 0;
  stream.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > max) {
      out.error ??= new SandboxError('too-large', `${what}: over ${max} bytes`);
      (stream as unknown as { destroy(): void }).destroy();
      out.destroy(out.error);
      return;
    }
    if (!out.write(chunk)) {
      stream.pause();
      out.once('drain', () => stream.resume());
    }
  });
  stream.on('end', () => out.end());
  stream.on('error', (e: Error) => out.destroy(e));
  return out;
}

/** The first process of a sandbox created with files and no session: extract stdin at `/`, then stay up. */
const STDIN_COPY_SCRIPT = `tar -x -f - -C / && echo ${READY} && exec sleep infinity`;
/**
 * The first process of a sandbox with a session. Its stdin, which stays open, holds in order:
 * this script's line, the sentinel line (printed when the supervisor is gone, before the shell becomes the
 * keep-alive so that `docker exec` still works), $1 bytes of tar (GNU tar reads its input to
 * the end: `head -c` hands it exactly the archive), $2 bytes of the supervisor's source. The host
 * sends nothing more before the supervisor's hello, so no reader can take bytes meant for the
 * next. Without python3: no session. The script itself comes first on stdin (one line, run by
 * {@link SESSION_BOOT}), so the keep-alive's command line stays short.
 */
const SESSION_SCRIPT = [
  'IFS= read -r sentinel',
  'if [ "$1" != 0 ]; then { command -v head && command -v tar; } >/dev/null 2>&1 || { echo "clawgym: tar or head: not found" >&2; exit 127; }',
  'head -c "$1" | tar -x -f - -C / || exit 1; fi',
  `if command -v python3 >/dev/null 2>&1; then echo "${READY} session"`,
  `python3 -I -S -c "import sys; exec(compile(sys.stdin.buffer.read($2), 'clawgym-supervisor', 'exec'))" "\${LC_CTYPE+set}" "\${LC_CTYPE-}"`,
  `printf '%s' "$sentinel"; else echo ${READY}; fi`,
  'exec sleep infinity',
].join('; ');
const SESSION_BOOT = 'IFS= read -r script && eval "$script"';
const SUPERVISOR_BYTES = Buffer.from(SUPERVISOR_SOURCE, 'utf8');

/** The archive padded with zero blocks to whole 10 KiB records, as tar reads them. */
function padArchive(archive: Buffer | undefined): Buffer | undefined {
  if (!archive) return undefined;
  const rest = archive.length % 10240;
  return rest === 0 ? archive : Buffer.concat([archive, Buffer.alloc(10240 - rest)]);
}

const READY_TIMEOUT_MS = 120_000;

/** Resolves when the first process says the files are in; rejects with its stderr if it ends first. */
function waitForReady(session: SupervisorSession, what: string, signal: AbortSignal | undefined): Promise<'session' | 'plain'> {
  return new Promise<'session' | 'plain'>((resolve, reject) => {
    let done = false;
    const finish = (error?: Error, kind?: 'session' | 'plain'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(kind!);
    };
    const onAbort = (): void => finish(cancelled(what));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => finish(new SandboxError('backend', `${what}: the files were not in place after ${READY_TIMEOUT_MS / 1000} s`)),
      READY_TIMEOUT_MS,
    );
    session.ready.then(
      (kind) => finish(undefined, kind),
      () => finish(new StdinCopyFailed(`${what}: copying the files in failed: ${session.stderr.trim() || 'the extracting process ended'}`)),
    );
  });
}

/**
 * Bind mounts need the engine on this machine: a remote engine (tcp://, ssh://) would mount its
 * own host's path of that name, or nothing.
 */
function checkMounts(spec: SandboxSpec, endpoint: string): void {
  if (!spec.mounts?.length) return;
  if (!endpoint.startsWith('unix://')) {
    throw new SandboxError(
      'unavailable',
      `black-box agents need a local engine: the model proxy is reached through a bind-mounted socket, and the Docker engine at ${endpoint} is not on this machine (unset DOCKER_HOST, or use \`--backend local\`)`,
    );
  }
  for (const m of spec.mounts) {
    if (!isAbsolute(m.hostPath)) throw new SandboxError('path-escape', `mount: the host path ${JSON.stringify(m.hostPath)} is not absolute`);
    sandboxPathSegments(m.containerPath, 'mount');
    if (m.containerPath === spec.workdir || m.containerPath.startsWith(`${spec.workdir}/`) || spec.workdir.startsWith(`${m.containerPath}/`)) {
      throw new SandboxError('path-escape', `mount: ${m.containerPath} overlaps the workspace ${spec.workdir}`);
    }
    if (/[:,]/.test(m.hostPath) || /[:,]/.test(m.containerPath)) throw new SandboxError('path-escape', `mount: paths with ':' or ',' cannot be bind-mounted (${m.hostPath})`);
  }
}

/** The image has no /bin/sh: retry without the shell (putArchive, `sleep`, no session). */
class ShellMissing extends Error {}

/** The engine has no docker-init: retry without `Init`. */
class InitMissing extends Error {}

/** The image could not extract the files from stdin: retry with putArchive. */
class StdinCopyFailed extends SandboxError {
  readonly toolMissing: boolean;
  constructor(message: string) {
    super('backend', message);
    this.toolMissing = /not found|no such file/i.test(message);
  }
}

export function createDockerBackend(options: DockerBackendOptions = {}): DockerBackend {
  return new DockerBackendImpl(options.docker ?? new Docker(), options);
}

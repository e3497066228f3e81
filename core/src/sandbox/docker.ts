/**
 * The Docker sandbox backend, on dockerode. One container per sandbox: created with the files
 * already in place (fed to its first process's stdin, see `initialCopy`), kept alive by `sleep infinity` under Docker's
 * init (which reaps orphans, so killed process trees do not fill the pids limit with zombies),
 * commands run with `exec`, removed with `remove({ force: true })`.
 *
 * The engine is wherever dockerode's default points: `DOCKER_HOST` (unix://, tcp://, ssh://) or the
 * local socket. Round trips are kept to the minimum: create = createContainer + attach + start
 * (a missing image is learnt from createContainer's 404, not from a separate inspect);
 * exec = exec create + start + inspect (for the exit code).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { registerSandbox, unregisterSandbox } from './registry';
import { packFiles, sandboxPathSegments, unpackEntries } from './tar';
import {
  SandboxError,
  type Command,
  type CopyOutOptions,
  type CopyOutResult,
  type ExecOptions,
  type ExecResult,
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
}

export interface DockerSandbox extends Sandbox {
  readonly container: Docker.Container;
  /** Why the last dispose could not remove the container (it is then left for `clawgym gc`). */
  readonly disposeError: Error | undefined;
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Splits Docker's multiplexed exec stream (8-byte frame headers) without copying payloads. */
class Demuxer {
  private pending: Buffer | undefined;
  private type = 0;
  private remaining = 0;

  constructor(private readonly emit: (type: number, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (buf.length > 0) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, buf.length);
        this.remaining -= n;
        this.emit(this.type, buf.subarray(0, n));
        buf = buf.subarray(n);
        continue;
      }
      if (buf.length < 8) {
        this.pending = Buffer.from(buf);
        return;
      }
      this.type = buf[0]!;
      this.remaining = buf.readUInt32BE(4);
      buf = buf.subarray(8);
    }
  }
}

/** Collects one output stream, keeping at most `max` bytes. */
class Capture {
  bytes = 0;
  private kept: Buffer[] = [];
  private keptBytes = 0;

  constructor(private readonly max: number) {}

  add(data: Buffer): void {
    this.bytes += data.length;
    if (this.keptBytes >= this.max) return;
    const part = data.length <= this.max - this.keptBytes ? data : data.subarray(0, this.max - this.keptBytes);
    // Copy: the demuxer's slices may share memory with buffers node reuses.
    this.kept.push(Buffer.from(part));
    this.keptBytes += part.length;
  }

  get truncated(): boolean {
    return this.bytes > this.keptBytes;
  }

  text(): string {
    return Buffer.concat(this.kept).toString('utf8');
  }
}

class DockerSandboxImpl implements DockerSandbox {
  readonly id: string;
  disposeError: Error | undefined;
  private disposing: Promise<void> | undefined;

  constructor(
    readonly container: Docker.Container,
    readonly name: string,
    readonly spec: SandboxSpec,
    private readonly endpoint: string,
  ) {
    this.id = container.id;
  }

  private assertUsable(what: string): void {
    if (this.disposing) throw new SandboxError('backend', `${what}: sandbox ${this.name} was disposed`);
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const what = `exec in ${this.name}`;
    this.assertUsable(what);
    const { signal } = options;
    if (signal?.aborted) throw cancelled(what);
    const started = performance.now();
    const argv = typeof command === 'string' ? ['bash', '-c', command] : [...command];
    if (argv.length === 0) throw new SandboxError('backend', `${what}: empty command`);
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
      exec = await this.container.exec({
        Cmd: cmd,
        Env: env,
        WorkingDir: options.cwd ?? this.spec.workdir,
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: hasStdin,
        Tty: false,
        abortSignal: signal,
      });
      stream = (await exec.start({ hijack: hasStdin, stdin: hasStdin, Detach: false, Tty: false })) as NodeJS.ReadWriteStream;
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
    let stop!: (reason: 'limit' | 'abort' | 'stuck') => void;
    const stopRequested = new Promise<'limit' | 'abort' | 'stuck'>((r) => (stop = r));
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

    try {
      const first = await Promise.race([ended, stopRequested]);
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
        stdout: out.text(),
        stderr: err.text(),
        stdoutBytes: out.bytes,
        stderrBytes: err.bytes,
        truncated: out.truncated || err.truncated,
        timedOut,
        outputLimitExceeded,
        durationMs: performance.now() - started,
      };
    } finally {
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
        const info = await exec.inspect();
        if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      } catch {
        return -1; // the container is gone (disposed meanwhile)
      }
      await sleep(Math.min(5 * 2 ** attempt, 100));
    }
    return -1;
  }

  /** Runs {@link KILL_SCRIPT}; retried because a saturated pids limit can refuse the new process. */
  private async killExec(marker: string): Promise<boolean> {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        const exec = await this.container.exec({
          Cmd: ['bash', '-c', KILL_SCRIPT, 'clawgym-kill', marker],
          AttachStdout: true,
          AttachStderr: true,
        });
        const stream = (await exec.start({ hijack: false, stdin: false })) as NodeJS.ReadableStream;
        stream.resume();
        await new Promise<void>((resolve) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', () => resolve());
        });
        const code = await this.exitCodeOf(exec, undefined);
        if (code === 0) return true;
      } catch {
        if (this.disposing) return false;
      }
      await sleep(50 * (attempt + 1));
    }
    return false;
  }

  async copyIn(files: readonly SandboxFile[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const what = `copy-in to ${this.name}`;
    this.assertUsable(what);
    if (options.signal?.aborted) throw cancelled(what);
    const archive = await packFiles(files);
    try {
      await this.container.putArchive(archive, { path: '/', abortSignal: options.signal });
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
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.container.getArchive({ path, abortSignal: options.signal });
    } catch (e) {
      const err = e as DockerError;
      if (err.statusCode === 404) throw new SandboxError('backend', `${what}: no such directory in the sandbox`, { cause: e });
      throw mapError(e, this.endpoint, what);
    }
    // Docker describes the copied path in a header: refuse a symlink (never followed) or a file.
    const statHeader = (stream as unknown as { headers?: Record<string, string> }).headers?.['x-docker-container-path-stat'];
    if (statHeader) {
      const stat = JSON.parse(Buffer.from(statHeader, 'base64').toString('utf8')) as { mode: number; linkTarget?: string };
      const isDir = (stat.mode & 2 ** 31) !== 0;
      const isLink = (stat.mode & 2 ** 27) !== 0;
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

  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      try {
        await this.container.remove({ force: true, v: true });
      } catch (e) {
        const err = e as DockerError;
        // 404: already gone; 409: another removal is under way.
        if (err.statusCode !== 404 && err.statusCode !== 409) this.disposeError = err;
      }
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

  constructor(
    readonly docker: Docker,
    options: DockerBackendOptions,
  ) {
    this.endpoint = endpointOf(docker);
    this.initialCopy = options.initialCopy ?? 'stdin';
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
      await this.docker.getImage(tag).inspect({ abortSignal: signal } as Docker.ImageInspectOptions);
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
    // Pack first: a bad path fails before anything exists on the engine.
    const archive = files.length > 0 ? await packFiles(files) : undefined;
    let copy = this.initialCopy;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.createOnce(spec, archive, copy, signal);
      } catch (e) {
        if (attempt >= 2) throw e;
        if (e instanceof InitMissing) {
          this.useInit = false;
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

  private async createOnce(
    spec: SandboxSpec,
    archive: Buffer | undefined,
    copyMode: 'stdin' | 'archive',
    signal: AbortSignal | undefined,
  ): Promise<DockerSandbox> {
    const viaStdin = archive !== undefined && copyMode === 'stdin';
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
    if (resources.cpus !== undefined) hostConfig.NanoCpus = Math.round(resources.cpus * 1e9);
    if (resources.memoryBytes !== undefined) {
      hostConfig.Memory = resources.memoryBytes;
      hostConfig.MemorySwap = resources.memoryBytes; // no swap on top
    }
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name,
        Image: spec.image,
        // The image's own entrypoint (if any) must not run: the sandbox only needs to stay up.
        Entrypoint: viaStdin ? ['/bin/sh', '-c'] : ['sleep'],
        Cmd: viaStdin ? [STDIN_COPY_SCRIPT] : ['infinity'],
        OpenStdin: viaStdin,
        StdinOnce: viaStdin,
        AttachStdin: viaStdin,
        AttachStdout: viaStdin,
        AttachStderr: viaStdin,
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
      });
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
    const sandbox = new DockerSandboxImpl(container, name, spec, this.endpoint);
    registerSandbox(sandbox);
    if (signal?.aborted) {
      await sandbox.dispose();
      throw cancelled(what);
    }
    let attached: NodeJS.ReadWriteStream | undefined;
    try {
      let ready: Promise<void> | undefined;
      if (viaStdin) {
        attached = (await container.attach({
          stream: true,
          stdin: true,
          stdout: true,
          stderr: true,
          hijack: true,
          abortSignal: signal,
        })) as NodeJS.ReadWriteStream;
        ready = waitForReady(attached, what, signal);
        // Awaited after start; until then a rejection (start failed, stream closed) is not unhandled.
        ready.catch(() => undefined);
        // Ending our side closes the process's stdin (StdinOnce): tar sees the end.
        attached.end(archive);
      } else if (archive) {
        await container.putArchive(archive, { path: '/', abortSignal: signal });
      }
      if (signal?.aborted) throw cancelled(what);
      await container.start({ abortSignal: signal } as unknown as Docker.ContainerStartOptions);
      await ready;
      if (signal?.aborted) throw cancelled(what);
    } catch (e) {
      await sandbox.dispose();
      if (this.useInit && /docker-init/i.test((e as Error).message ?? '')) throw new InitMissing();
      throw mapError(e, this.endpoint, what);
    } finally {
      (attached as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    }
    return sandbox;
  }
}

const READY = 'clawgym-ready';
/** The first process of a sandbox created with files: extract stdin at `/`, then stay up. */
const STDIN_COPY_SCRIPT = `tar -x -f - -C / && echo ${READY} && exec sleep infinity`;
/** How long a create waits for the files to be extracted. */
const READY_TIMEOUT_MS = 120_000;

/** Resolves when the first process says the files are in; rejects with its stderr if it ends first. */
function waitForReady(stream: NodeJS.ReadWriteStream, what: string, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onAbort = (): void => finish(cancelled(what));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => finish(new SandboxError('backend', `${what}: the files were not in place after ${READY_TIMEOUT_MS / 1000} s`)),
      READY_TIMEOUT_MS,
    );
    const demux = new Demuxer((type, data) => {
      if (type === 2) stderr = (stderr + data.toString('utf8')).slice(-4000);
      else {
        stdout = (stdout + data.toString('utf8')).slice(-100);
        if (stdout.includes(READY)) finish();
      }
    });
    stream.on('data', (chunk: Buffer) => demux.push(chunk));
    const ended = (): void => finish(new StdinCopyFailed(`${what}: copying the files in failed: ${stderr.trim() || 'the extracting process ended'}`));
    stream.on('end', ended);
    stream.on('close', ended);
    stream.on('error', (e: Error) => finish(e));
  });
}

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

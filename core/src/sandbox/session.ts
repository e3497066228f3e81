/**
 * The host side of a sandbox's command session: the container's first process (see
 * `SESSION_SCRIPT` in docker.ts) extracts the files, prints a ready line, then runs the Python
 * supervisor of supervisorSource.ts on the container's attached stdin/stdout. A command is then
 * one JSON line in and a few frames out, instead of a `docker exec` (runc exec + inspect), and a
 * copy-out is a walk by the supervisor instead of the engine's getArchive.
 *
 * Wire format (inside Docker's 8-byte stream headers, Tty off):
 * - host -> supervisor: one line a request, `name=value` fields (see {@link encodeRequest}):
 *   `op=exec|py id argv cwd env stdin? timeout_ms? kill_after marker`,
 *   `op=snapshot id dir max_total max_file`, `op=kill id`. `py` runs the Python program on stdin
 *   in a fork of the supervisor (no interpreter start-up).
 * - supervisor -> host: frames `kind (1 byte) | id (u32 BE) | length (u32 BE) | payload | tag`,
 *   the tag being the first 16 bytes of HMAC-SHA256(key, frame number (u64 BE) | the frame before
 *   it). The key is per sandbox and reaches the supervisor inside its source, on its stdin, before
 *   any command runs; the supervisor is not dumpable, so nothing in the sandbox can read it. The
 *   agent's processes can write bytes into the container's stdout (through /proc/1/fd/1), but a
 *   frame that does not verify ends the session as forged ({@link SupervisorSession.forged}):
 *   `H` hello `{version, pid}`, `a` request accepted, `o`/`e` output bytes, `x` exit
 *   `{exit, timed_out, output_limit}`, `n` snapshot entry `{p, t, m, s?, l?, c?}` followed by `d`
 *   content frames (exactly `s` bytes when `c` is 1), `z` snapshot end `{total}` or `{error}`,
 *   `!` request failed `{message}`, `q` quiesce done `{killed, clean, problems, hardened}`.
 * - When the supervisor ends (killed by the agent, crashed), the shell that started it writes a
 *   per-container sentinel and becomes `sleep infinity`: the host sees the session is over even
 *   in the middle of a frame, and the sandbox goes on with `docker exec`.
 */
import { createHmac } from 'node:crypto';
import { SandboxError, type CopyOutResult, type SandboxEntry } from './types';

/** Splits Docker's multiplexed stream (8-byte frame headers) without copying payloads. */
export class Demuxer {
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

/** The first line of the first process: files are in; `session` when the supervisor follows. */
export const READY = 'clawgym-ready';

/** How long a request may wait for the supervisor's `a` (accepted) before the session is given up. */
export const ACCEPT_TIMEOUT_MS = 10_000;

export interface SessionExecRequest {
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  stdin?: Uint8Array | string;
  timeoutMs?: number;
  killAfterBytes: number;
  /** CLAWGYM_EXEC_ID of the command's processes: lets the host kill them with `docker exec` too. */
  marker: string;
  /**
   * Run the Python program on stdin in a fork of the supervisor's interpreter, as `python3 -I -S -`
   * would, instead of executing argv (which stays the description of the command).
   */
  python?: boolean;
}

/** A request's fields: strings, string lists (argv, env), bytes (stdin) and whole numbers. */
export type RequestFields = Record<string, string | readonly string[] | Uint8Array | number | undefined>;

/**
 * One request line for the supervisor: `name=value` fields separated by spaces; strings and
 * NUL-separated lists as base64 of UTF-8, bytes as base64, numbers in decimal. The supervisor then
 * needs no `json` module, whose import (it brings `re`) was a third of its start-up.
 */
export function encodeRequest(fields: RequestFields): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    let text: string;
    if (typeof value === 'number') text = String(Math.trunc(value));
    else if (typeof value === 'string') text = Buffer.from(value, 'utf8').toString('base64');
    else if (value instanceof Uint8Array) text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    else text = Buffer.from(value.join('\0'), 'utf8').toString('base64');
    parts.push(`${name}=${text}`);
  }
  return parts.join(' ');
}

export type SessionExecOutcome =
  | { kind: 'exit'; exitCode: number; timedOut: boolean; outputLimitExceeded: boolean }
  /** The supervisor refused the request (e.g. fork failed under the pids limit). */
  | { kind: 'error'; message: string }
  /** Never accepted: the command did not start; safe to run it another way. */
  | { kind: 'not-started' }
  /** The session ended after the command started: its exit code is unknown. */
  | { kind: 'lost' };

export interface SessionExec {
  readonly done: Promise<SessionExecOutcome>;
  /** Ask the supervisor to kill the command's processes (it then reports an exit). */
  kill(): void;
}

export interface SnapshotOptions {
  maxTotalBytes: number;
  maxFileBytes: number;
  signal?: AbortSignal;
  /** Names the copy in error messages. */
  what: string;
  /** The absolute directory, for messages. */
  path: string;
}

interface Job {
  accepted: boolean;
  acceptTimer?: NodeJS.Timeout;
  onFrame(kind: string, payload: Buffer): void;
  /** The session is over. */
  onLost(): void;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** A clean relative path from the supervisor (which runs as root next to the agent: checked). */
function checkedPath(p: unknown, what: string): string {
  if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.includes('\0')) {
    throw new SandboxError('path-escape', `${what}: the sandbox reported a bad name ${JSON.stringify(p)}`);
  }
  const segments = p.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new SandboxError('path-escape', `${what}: the sandbox reported a name with "..": ${JSON.stringify(p)}`);
  }
  return p;
}

/** Bytes of HMAC-SHA256 kept as a frame's tag. */
const TAG_BYTES = 16;
/** No frame the supervisor sends is larger (its reads are 256 KiB at most): more is forged. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** What the supervisor's `quiesce` found: see {@link SupervisorSession.quiesce}. */
export interface SessionQuiesce {
  killed: number;
  clean: boolean;
  problems: string[];
  hardened: boolean;
}

export class SupervisorSession {
  /** Resolves with the ready line's kind; rejects (with the first process's stderr) if the stream ends before it. */
  readonly ready: Promise<'session' | 'plain'>;
  /** Resolves true when the supervisor said hello, false when there is none or it died first. */
  readonly started: Promise<boolean>;
  /** The supervisor's pid inside the container, once known. */
  pid: number | undefined;
  private state: 'line' | 'frames' | 'plain' | 'dead' = 'line';
  private alive = false;
  private line = '';
  private stderrTail = '';
  private header: Buffer | undefined;
  private frameKind = '';
  private frameId = 0;
  private frameLeft = 0;
  private frameParts: Buffer[] = [];
  private sentinelTail = Buffer.alloc(0);
  private readonly sentinel: Buffer;
  /** The frames' HMAC key (see the wire format) and the number of the next frame. */
  private seq = 0n;
  /** Why the stream stopped verifying: bytes that are not the supervisor's were written into it. */
  forged: string | undefined;
  /** The supervisor made itself not dumpable (its hello says so). */
  hardened = false;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private resolveReady!: (kind: 'session' | 'plain') => void;
  private rejectReady!: (e: Error) => void;
  private resolveStarted!: (ok: boolean) => void;
  private readonly demux: Demuxer;
  /** Called once when a session that was alive is over. */
  onDead: (() => void) | undefined;

  constructor(
    private readonly stream: NodeJS.ReadWriteStream,
    sentinel: string,
    /** The frames' HMAC key, given to the supervisor with its source. */
    private readonly key: Buffer,
  ) {
    this.sentinel = Buffer.from(sentinel);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    this.started = new Promise((resolve) => (this.resolveStarted = resolve));
    this.demux = new Demuxer((type, data) => {
      if (type === 2) this.stderrTail = (this.stderrTail + data.toString('utf8')).slice(-4000);
      else this.onStdout(data);
    });
    stream.on('data', (chunk: Buffer) => this.demux.push(chunk));
    const ended = (): void => this.die(`the first process ended: ${this.stderrTail.trim() || 'no message'}`);
    stream.on('end', ended);
    stream.on('close', ended);
    stream.on('error', (e: Error) => this.die(e.message));
  }

  /** Whether requests go to the supervisor (it said hello and has not ended). */
  get isAlive(): boolean {
    return this.alive && this.state === 'frames';
  }

  /** The first process's stderr so far (for create errors). */
  get stderr(): string {
    return this.stderrTail;
  }

  private onStdout(data: Buffer): void {
    if (this.state === 'dead' || this.state === 'plain') return;
    if (this.state === 'line') {
      const nl = data.indexOf(10);
      if (nl < 0) {
        this.line = (this.line + data.toString('utf8')).slice(-200);
        return;
      }
      const line = (this.line + data.subarray(0, nl).toString('utf8')).trim();
      if (!line.endsWith(READY) && !line.endsWith(`${READY} session`)) {
        // Something else printed a line first (an image's profile...): keep looking.
        this.line = '';
        this.onStdout(data.subarray(nl + 1));
        return;
      }
      if (line.endsWith('session')) {
        this.state = 'frames';
        this.resolveReady('session');
        const rest = data.subarray(nl + 1);
        if (rest.length > 0) this.onStdout(rest);
      } else {
        this.state = 'plain';
        this.resolveReady('plain');
        this.resolveStarted(false);
      }
      return;
    }
    // The sentinel can arrive in the middle of a frame the supervisor did not finish.
    const scan = this.sentinelTail.length > 0 ? Buffer.concat([this.sentinelTail, data]) : data;
    if (scan.indexOf(this.sentinel) >= 0) {
      this.die('the supervisor ended');
      return;
    }
    this.sentinelTail = Buffer.from(scan.subarray(Math.max(0, scan.length - this.sentinel.length + 1)));
    this.parseFrames(data);
  }

  private parseFrames(data: Buffer): void {
    let buf = data;
    while (buf.length > 0 && this.state === 'frames') {
      if (this.frameLeft > 0) {
        const n = Math.min(this.frameLeft, buf.length);
        this.frameParts.push(buf.subarray(0, n));
        this.frameLeft -= n;
        buf = buf.subarray(n);
        if (this.frameLeft === 0) this.dispatch();
        continue;
      }
      const need = 9 - (this.header?.length ?? 0);
      const part = buf.subarray(0, need);
      this.header = this.header ? Buffer.concat([this.header, part]) : Buffer.from(part);
      buf = buf.subarray(part.length);
      if (this.header.length < 9) return;
      this.frameKind = String.fromCharCode(this.header[0]!);
      this.frameId = this.header.readUInt32BE(1);
      const length = this.header.readUInt32BE(5);
      if (length > MAX_FRAME_BYTES) {
        this.forge(`a frame of ${length} bytes`);
        return;
      }
      this.frameHead = this.header;
      this.frameLeft = length + TAG_BYTES;
      this.header = undefined;
      this.frameParts = [];
    }
  }

  /** The stream carries bytes that are not the supervisor's: stop trusting it (and say so). */
  private forge(what: string): void {
    this.forged ??= `bytes that are not the supervisor's were written into the sandbox's session channel (${what})`;
    this.abandon(this.forged);
  }

  private frameHead: Buffer = Buffer.alloc(0);

  private dispatch(): void {
    const whole = this.frameParts.length === 1 ? this.frameParts[0]! : Buffer.concat(this.frameParts);
    this.frameParts = [];
    const payload = whole.subarray(0, whole.length - TAG_BYTES);
    const number = Buffer.alloc(8);
    number.writeBigUInt64BE(this.seq);
    const tag = createHmac('sha256', this.key).update(number).update(this.frameHead).update(payload).digest().subarray(0, TAG_BYTES);
    if (!tag.equals(whole.subarray(whole.length - TAG_BYTES))) {
      this.forge(`frame ${this.seq} does not verify`);
      return;
    }
    this.seq++;
    if (this.frameKind === 'H') {
      try {
        const hello = JSON.parse(payload.toString('utf8')) as { pid?: number; hardened?: boolean };
        this.pid = hello.pid;
        this.hardened = hello.hardened === true;
      } catch {
        // A hello without a readable body still means the supervisor is there.
      }
      this.alive = true;
      this.resolveStarted(true);
      return;
    }
    const job = this.jobs.get(this.frameId);
    if (!job) return;
    if (this.frameKind === 'a') {
      job.accepted = true;
      clearTimeout(job.acceptTimer);
      return;
    }
    job.onFrame(this.frameKind, payload);
  }

  private die(reason: string): void {
    if (this.state === 'dead') return;
    const wasLine = this.state === 'line';
    this.state = 'dead';
    this.alive = false;
    if (wasLine) this.rejectReady(new Error(reason));
    this.resolveStarted(false);
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) {
      clearTimeout(job.acceptTimer);
      job.onLost();
    }
    this.onDead?.();
  }

  /** Give the session up (unresponsive supervisor, dispose): pending requests end as lost. */
  abandon(reason: string): void {
    if (this.state === 'frames') this.abandoned = true;
    this.die(reason);
  }

  /**
   * True once the host gave up on a supervisor that may still be running (stopped, stuck): the
   * sandbox must kill it before running commands another way, or it could start them late.
   */
  abandoned = false;

  /** Stop reading and close the attach stream. */
  close(): void {
    this.die('closed');
    (this.stream as unknown as { destroy?: () => void }).destroy?.();
  }

  private send(fields: RequestFields): boolean {
    try {
      this.stream.write(`${encodeRequest(fields)}\n`);
      return true;
    } catch {
      this.die('cannot write to the supervisor');
      return false;
    }
  }

  private register(id: number, job: Job): void {
    this.jobs.set(id, job);
    job.acceptTimer = setTimeout(() => {
      if (!job.accepted) this.abandon(`the supervisor did not answer in ${ACCEPT_TIMEOUT_MS / 1000} s`);
    }, ACCEPT_TIMEOUT_MS);
  }

  exec(req: SessionExecRequest, onOutput: (stream: 'o' | 'e', data: Buffer) => void): SessionExec {
    const id = this.nextId++;
    let settle!: (o: SessionExecOutcome) => void;
    const done = new Promise<SessionExecOutcome>((r) => (settle = r));
    const job: Job = {
      accepted: false,
      onFrame: (kind, payload) => {
        if (kind === 'o' || kind === 'e') onOutput(kind, payload);
        else if (kind === 'x' || kind === '!') {
          this.jobs.delete(id);
          clearTimeout(job.acceptTimer);
          try {
            const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
            if (kind === '!') settle({ kind: 'error', message: String(body.message) });
            else {
              settle({
                kind: 'exit',
                exitCode: typeof body.exit === 'number' ? body.exit : -1,
                timedOut: body.timed_out === true,
                outputLimitExceeded: body.output_limit === true,
              });
            }
          } catch {
            settle({ kind: 'lost' });
          }
        }
      },
      onLost: () => settle(job.accepted ? { kind: 'lost' } : { kind: 'not-started' }),
    };
    if (!this.isAlive) {
      settle({ kind: 'not-started' });
      return { done, kill: () => undefined };
    }
    this.register(id, job);
    this.send({
      op: req.python ? 'py' : 'exec',
      id,
      argv: req.argv,
      cwd: req.cwd,
      env: Object.entries(req.env).map(([k, v]) => `${k}=${v}`),
      stdin: req.stdin === undefined ? undefined : typeof req.stdin === 'string' ? Buffer.from(req.stdin, 'utf8') : req.stdin,
      timeout_ms: req.timeoutMs,
      kill_after: req.killAfterBytes,
      marker: req.marker,
    });
    return {
      done,
      kill: () => {
        if (this.jobs.has(id)) this.send({ op: 'kill', id });
      },
    };
  }

  /**
   * Kill every process in the sandbox but Docker's init, the supervisor's shell and the
   * supervisor, and check those kept are as they were before any command ran. Resolves undefined
   * when the session could not do it (ended, forged, no answer in `timeoutMs`).
   */
  async quiesce(timeoutMs = 15_000): Promise<SessionQuiesce | undefined> {
    const r = await this.request('quiesce', {}, timeoutMs);
    if (r?.kind !== 'q') return undefined;
    const body = r.body as Partial<SessionQuiesce>;
    return {
      killed: Number(body.killed) || 0,
      clean: body.clean === true,
      problems: Array.isArray(body.problems) ? body.problems.map(String) : [],
      hardened: body.hardened === true,
    };
  }

  /**
   * Mark the start of the agent phase (the supervisor's T0), so that {@link changes} reports
   * what in the system trees (programs, libraries, configuration: the supervisor's SYSTEM_TREES)
   * changed since, `skip` left out.
   */
  baseline(skip: readonly string[], timeoutMs = 30_000): Promise<boolean> {
    return this.request('baseline', { argv: skip }, timeoutMs).then((r) => r?.kind === 'b');
  }

  /** What changed in the system trees since {@link baseline}; undefined when it cannot say. */
  async changes(skip: readonly string[], timeoutMs = 30_000): Promise<{ path: string; kind: 'added' | 'modified' | 'deleted' }[] | undefined> {
    const r = await this.request('changes', { argv: skip }, timeoutMs);
    if (r?.kind !== 'c') return undefined;
    const body = r.body as { changes?: unknown; more?: unknown };
    if (!Array.isArray(body.changes)) return undefined;
    const list = body.changes
      .filter((c): c is [string, 'added' | 'modified' | 'deleted'] => Array.isArray(c) && typeof c[0] === 'string' && ['added', 'modified', 'deleted'].includes(c[1] as string))
      .map(([path, kind]) => ({ path, kind }));
    if (Number(body.more) > 0) list.push({ path: `(${Number(body.more)} more changes)`, kind: 'modified' });
    return list;
  }

  /** One request answered by one frame; undefined when the session ends or it takes too long. */
  private request(op: string, fields: RequestFields, timeoutMs: number): Promise<{ kind: string; body: unknown } | undefined> {
    if (!this.isAlive) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.jobs.delete(id);
        resolve(undefined);
      }, timeoutMs);
      const job: Job = {
        accepted: false,
        onFrame: (kind, payload) => {
          this.jobs.delete(id);
          clearTimeout(timer);
          clearTimeout(job.acceptTimer);
          try {
            resolve({ kind, body: JSON.parse(payload.toString('utf8')) as unknown });
          } catch {
            resolve(undefined);
          }
        },
        onLost: () => {
          clearTimeout(timer);
          resolve(undefined);
        },
      };
      this.register(id, job);
      this.send({ ...fields, op, id });
    });
  }

  /**
   * Read a directory tree through the supervisor. Resolves undefined when the session could not
   * do it (ended, never accepted): the caller falls back to the engine's archive.
   */
  snapshot(dir: string, options: SnapshotOptions): Promise<CopyOutResult | undefined> {
    const { what, path, maxTotalBytes, maxFileBytes, signal } = options;
    if (!this.isAlive) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise<CopyOutResult | undefined>((resolve, reject) => {
      const entries: SandboxEntry[] = [];
      const omitted: string[] = [];
      let totalBytes = 0;
      let current: { entry: SandboxEntry; left: number; parts: Buffer[] } | undefined;
      let finished = false;
      const finish = (result: CopyOutResult | undefined, error?: Error): void => {
        if (finished) return;
        finished = true;
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(job.acceptTimer);
        if (this.jobs.get(id) === job) {
          this.jobs.delete(id);
          if (error) this.send({ op: 'kill', id }); // stop the walk
        }
        if (error) reject(error);
        else resolve(result);
      };
      const onAbort = (): void => finish(undefined, new SandboxError('cancelled', `${what} was cancelled`));
      const tooLarge = (name: string, size: number, before: number): SandboxError =>
        new SandboxError(
          'too-large',
          `${what} is over its ${formatBytes(maxTotalBytes)} cap while reading ${name} (${size} bytes, ${before} read before it)`,
        );
      const closeCurrent = (): void => {
        if (!current) return;
        if (current.left > 0) throw new SandboxError('backend', `${what}: the sandbox sent ${current.entry.path} short`);
        current.entry.content = new Uint8Array(Buffer.concat(current.parts));
        current = undefined;
      };
      const job: Job = {
        accepted: false,
        onFrame: (kind, payload) => {
          if (finished) return;
          try {
            if (kind === 'd') {
              if (!current || payload.length > current.left) throw new SandboxError('backend', `${what}: unexpected content from the sandbox`);
              current.parts.push(Buffer.from(payload));
              current.left -= payload.length;
              return;
            }
            closeCurrent();
            const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
            if (kind === 'n') {
              const p = checkedPath(body.p, what);
              const mode = typeof body.m === 'number' ? body.m & 0o7777 : 0;
              const t = body.t;
              if (t === 'd') entries.push({ path: p, type: 'directory', mode, size: 0 });
              else if (t === 'l') entries.push({ path: p, type: 'symlink', mode, size: 0, linkTarget: String(body.l ?? '') });
              else if (t === 'f') {
                const size = typeof body.s === 'number' && body.s >= 0 ? body.s : 0;
                if (totalBytes + size > maxTotalBytes) throw tooLarge(p, size, totalBytes);
                totalBytes += size;
                const entry: SandboxEntry = { path: p, type: 'file', mode, size };
                entries.push(entry);
                if (body.c === 1 && size <= maxFileBytes) current = { entry, left: size, parts: [] };
                else if (body.c === 1) throw new SandboxError('backend', `${what}: the sandbox sent ${p} over the per-file cap`);
                else if (size > 0 || body.c !== 0) omitted.push(p);
                else entry.content = new Uint8Array();
              } else entries.push({ path: p, type: 'other', mode, size: 0 });
            } else if (kind === 'z') {
              const error = body.error;
              if (error === undefined) finish({ entries, totalBytes, omitted });
              else if (error === 'missing') finish(undefined, new SandboxError('backend', `${what}: no such directory in the sandbox`));
              else if (error === 'symlink') {
                finish(undefined, new SandboxError('path-escape', `${what}: ${path} is a symlink (to ${String(body.target ?? '?')}), not followed`));
              } else if (error === 'notdir') finish(undefined, new SandboxError('backend', `${what}: ${path} is not a directory`));
              else if (error === 'too-large') {
                finish(undefined, tooLarge(String(body.path), Number(body.size), Number(body.before)));
              } else finish(undefined, new SandboxError('backend', `${what}: ${String(body.message ?? error)}`));
            } else if (kind === '!') {
              finish(undefined, new SandboxError('backend', `${what}: ${String(body.message)}`));
            }
          } catch (e) {
            finish(undefined, e instanceof SandboxError ? e : new SandboxError('backend', `${what}: unreadable answer from the sandbox: ${(e as Error).message}`));
          }
        },
        onLost: () => finish(undefined),
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.register(id, job);
      this.send({ op: 'snapshot', id, dir, max_total: maxTotalBytes, max_file: maxFileBytes });
    });
  }
}

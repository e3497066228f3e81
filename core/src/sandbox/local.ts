/**
 * The fallback sandbox backend, for machines without Docker: every sandbox is a fresh temporary
 * directory (`clawgym-sbx-*` under the OS temp dir) holding the workspace, a private /tmp and a home.
 *
 * With bubblewrap (`bwrap`, probed once per process) every exec runs in its own mount, pid, ipc,
 * uts and network namespaces: the workspace is bound at `spec.workdir` (so graders that hard-code
 * `/root/.openclaw/workspace` work), /tmp and /root are the sandbox's own directories, /usr and /etc
 * are the host's, read-only, and nothing else of the host is visible (no /home, /run, /var, so no
 * Docker socket). Without bubblewrap, commands run directly on the host as the current user with
 * cwd = the workspace directory: nothing is isolated. What neither mode enforces (compared with
 * Docker): CPU and process-count limits (a fork bomb is stopped only by the exec's timeout); memory
 * is an address-space ulimit (RLIMIT_AS), which counts reserved virtual memory, so runtimes that
 * reserve a lot up front (Node, the JVM) need `memoryBytes` of about 2 GB or more.
 *
 * Every exec runs under a keeper (localKeeper.ts, needs python3): with bubblewrap it is PID 1 of
 * the exec's pid namespace, without it a child subreaper on the host. An exec returns when its
 * command exits (after a short drain of what it wrote), even when background processes keep its
 * output open; those live on until `quiesce()` or `dispose()`, which kill and reap every process
 * the sandbox's execs started, however they left the command's process group or environment.
 * Unisolated, a command can still kill its keeper (it runs as the same user): quiesce then reports
 * the sandbox unclean. Without python3 the backend falls back to killing the process group when
 * the command exits (bubblewrap: the pid namespace ends with it, which is still clean).
 *
 * Other differences a caller can see:
 * - With bubblewrap, background processes live in their exec's own pid and network namespaces:
 *   a later exec shares their files (workspace, /tmp, /root) but cannot see or reach them.
 * - Files written outside the workspace, /tmp and /root last only for one exec (bubblewrap) or go
 *   to the host (no bubblewrap).
 * - Without bubblewrap: the workspace is not at `spec.workdir`. Absolute paths under it in the
 *   command itself (argv items, `bash -c` text, `cwd`) are translated to the workspace directory,
 *   and `CLAWGYM_WORKSPACE` holds its real path, but files that hard-code the path (a grader's
 *   `check.py`) cannot work. /tmp is the host's /tmp (copyIn under /tmp writes there; what it
 *   creates is removed by dispose) and `TMPDIR` points at the sandbox's own tmp directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs, lstatSync, readlinkSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import type { Duplex } from 'node:stream';
import { KEEPER_SOURCE } from './localKeeper';
import { Capture, captured, findExecutable } from './output';
import { registerSandbox, unregisterSandbox } from './registry';
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
  type SandboxEntry,
  type SandboxFile,
  type SandboxSpec,
} from './types';

export interface LocalBackendOptions {
  /**
   * `auto` (default): isolate with bubblewrap when it works on this machine, else run unisolated.
   * `require`: fail (SandboxError `unavailable`) when bubblewrap does not work. `never`: unisolated.
   */
  bubblewrap?: 'auto' | 'require' | 'never';
}

const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const DEFAULT_KILL_AFTER = 64 * 1024 * 1024;
const DEFAULT_MAX_TOTAL = 256 * 1024 * 1024;
const DEFAULT_MAX_FILE = 16 * 1024 * 1024;
/**
 * How long to go on reading the output pipes after the command exited, for what it wrote just
 * before: background children can hold the pipes open for as long as they live.
 */
const DRAIN_GRACE_MS = 50;
/** After asking a keeper to kill everything: how long before its process group is killed instead. */
const KEEPER_KILL_GRACE_MS = 6000;
/** How long quiesce() waits for every keeper to report that its processes are reaped. */
const QUIESCE_DEADLINE_MS = 8000;
/** Marks the processes of one unisolated sandbox, so dispose can find ones that left the process group. */
const TOKEN_VAR = 'CLAWGYM_SANDBOX_TOKEN';

/** Whether bubblewrap works here, found once per process. */
export interface BubblewrapStatus {
  ok: boolean;
  /** Absolute path of `bwrap` (when found). */
  path?: string;
  /** e.g. `bubblewrap 0.8.0`. */
  version?: string;
  /** Why it cannot be used (when not ok). */
  problem?: string;
  /** Extra arguments the probe needed (a user namespace mapping us to root when we are not root). */
  userArgs: string[];
}

let probed: BubblewrapStatus | undefined;

/** Find `bwrap` and run `bwrap <our usual flags> true` once; the answer is cached for the process. */
export function bubblewrapStatus(): BubblewrapStatus {
  if (probed) return probed;
  const found = findExecutable('bwrap');
  if (!found) return (probed = { ok: false, problem: 'bwrap (bubblewrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)', userArgs: [] });
  const version = spawnSync(found, ['--version'], { encoding: 'utf8', timeout: 5000 }).stdout?.trim() || undefined;
  // As root we already are root inside; otherwise map ourselves to root as Docker sandboxes run as root.
  const attempts = process.getuid?.() === 0 ? [[]] : [['--unshare-user', '--uid', '0', '--gid', '0'], []];
  let problem = '';
  for (const userArgs of attempts) {
    const r = spawnSync(found, [...systemViewArgs(), '--tmpfs', '/tmp', '--unshare-all', '--die-with-parent', '--new-session', ...userArgs, '--', 'true'], {
      encoding: 'utf8',
      timeout: 10_000,
      env: { PATH: STANDARD_PATH },
    });
    if (r.status === 0) return (probed = { ok: true, path: found, version, userArgs });
    problem = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
  }
  return (probed = { ok: false, path: found, version, problem: `bwrap is installed but does not work here: ${problem}`, userArgs: [] });
}

/** Whether execs can run under the keeper (localKeeper.ts), found once per process and mode. */
export interface KeeperStatus {
  ok: boolean;
  /** Absolute path of the python3 that runs it (as the sandbox sees it, with bubblewrap). */
  python?: string;
  /** Why not (when not ok). */
  problem?: string;
}

const keeperProbes = new Map<string, KeeperStatus>();

/**
 * Find a python3 for the keeper and run it once on `true`: as PID 1 of a bubblewrap pid namespace
 * when `bwrap` is given, else as a subreaper on the host (which needs prctl: Linux).
 */
export function keeperStatus(bwrap: BubblewrapStatus | undefined): KeeperStatus {
  const key = bwrap ? 'ns' : 'sub';
  const known = keeperProbes.get(key);
  if (known) return known;
  const status = probeKeeper(bwrap);
  keeperProbes.set(key, status);
  return status;
}

function probeKeeper(bwrap: BubblewrapStatus | undefined): KeeperStatus {
  const inside = (argv: string[]): [string, string[]] =>
    bwrap
      ? [bwrap.path!, [...systemViewArgs(), '--proc', '/proc', '--dev', '/dev', '--unshare-all', '--die-with-parent', '--new-session', ...bwrap.userArgs, '--as-pid-1', '--', ...argv]]
      : [argv[0]!, argv.slice(1)];
  const hostPython = bwrap ? 'python3' : findExecutable('python3');
  if (!hostPython) return { ok: false, problem: 'python3 is not installed (the keeper that reaps background processes needs it)' };
  const [file, args] = inside([hostPython, '-I', '-S', '-c', 'import sys; print(sys.executable)']);
  const found = spawnSync(file, args, { encoding: 'utf8', timeout: 10_000, env: { PATH: STANDARD_PATH } });
  const python = found.status === 0 ? found.stdout.trim() : '';
  if (!python.startsWith('/')) {
    return { ok: false, problem: `python3 does not run${bwrap ? ' inside bubblewrap' : ''}: ${(found.stderr || found.error?.message || `exit ${found.status}`).trim().split('\n')[0]}` };
  }
  const [kfile, kargs] = inside([python, '-I', '-S', '-c', KEEPER_SOURCE, bwrap ? 'ns' : 'sub', '', '', '--', 'true']);
  const run = spawnSync(kfile, kargs, { timeout: 10_000, env: { PATH: STANDARD_PATH }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const ctl = String(run.output?.[3] ?? '');
  if (!bwrap && ctl.includes('r 0')) return { ok: false, python, problem: 'prctl(PR_SET_CHILD_SUBREAPER) is not available here (Linux only)' };
  if (run.status !== 0 || !/^x 0$/m.test(ctl) || !/^d \d+ 1$/m.test(ctl)) {
    return { ok: false, python, problem: `the keeper does not work here: ${(String(run.stderr ?? '') || run.error?.message || `exit ${run.status}`).trim().split('\n').pop()}` };
  }
  return { ok: true, python };
}

export function createLocalBackend(options: LocalBackendOptions = {}): SandboxBackend {
  const mode = options.bubblewrap ?? 'auto';
  const bw = mode === 'never' ? undefined : bubblewrapStatus();
  if (mode === 'require' && !bw?.ok) throw new SandboxError('unavailable', `bubblewrap is required but unusable: ${bw?.problem}`);
  const bwrap = bw?.ok ? bw : undefined;
  const keeper = keeperStatus(bwrap);
  const user = os.userInfo().username;
  const reaping = keeper.ok
    ? 'background processes are reaped when the agent phase ends'
    : `background processes that leave their process group may survive (${keeper.problem})`;
  const where = os.tmpdir();
  return {
    name: 'local',
    isolation: bwrap ? 'bubblewrap' : 'none',
    describe() {
      return bwrap
        ? `local sandboxes in ${where}, isolated with ${bwrap.version ?? 'bubblewrap'} (own namespaces, network off unless asked, host /usr and /etc read-only); weaker than Docker: no CPU or process-count limits, memory only as an address-space ulimit; ${reaping}`
        : `local sandboxes in ${where}, NOT isolated${mode === 'auto' && bw?.problem ? ` (${bw.problem})` : ''}: commands run directly on this machine as ${user}, with its files and network; no CPU or process-count limits, memory only as an address-space ulimit; ${reaping}; only for tasks you trust`;
    },
    async create(spec, files, createOptions) {
      throwIfAborted(createOptions?.signal);
      const workdir = normalizeWorkdir(spec.workdir);
      const root = await fs.mkdtemp(nodePath.join(os.tmpdir(), 'clawgym-sbx-'));
      const sandbox = new LocalSandbox({ ...spec, workdir }, root, bwrap, keeper.ok ? keeper : undefined, keeper.problem);
      registerSandbox(sandbox);
      try {
        await sandbox.init();
        await sandbox.copyIn(files, createOptions);
        return sandbox;
      } catch (e) {
        await sandbox.dispose();
        throw e;
      }
    },
  };
}

interface Mount {
  /** Absolute, normalized sandbox path. */
  sandbox: string;
  host: string;
}

/** In a home: what Python (the user site) and shells read at start-up (see run/integrity.ts). */
const HOME_START_UP = ['.local', '.bashrc', '.bash_profile', '.bash_login', '.profile', '.pythonrc', '.pythonrc.py'];

class LocalSandbox implements Sandbox {
  readonly id: string;
  readonly name: string;
  private readonly ws: string;
  private readonly tmp: string;
  private readonly home: string;
  private readonly token = randomBytes(12).toString('hex');
  private readonly mounts: Mount[];
  /** Every exec whose processes may still run (an exec that returned can leave background ones). */
  private readonly running = new Set<Running>();
  /** Why quiesce() could not guarantee that nothing escaped (a keeper killed from inside), if so. */
  private readonly escapes: string[] = [];
  /** Top-level host /tmp entries copyIn created (unisolated mode), removed by dispose. */
  private readonly hostTmpCreated = new Set<string>();
  private disposed: Promise<void> | undefined;

  constructor(
    readonly spec: SandboxSpec,
    private readonly root: string,
    private readonly bwrap: BubblewrapStatus | undefined,
    private readonly keeper: KeeperStatus | undefined,
    private readonly keeperProblem: string | undefined,
  ) {
    this.id = root;
    this.name = `clawgym-local-${safeName(spec.runId)}-${safeName(spec.trialId)}-${nodePath.basename(root).slice('clawgym-sbx-'.length)}`;
    this.ws = nodePath.join(root, 'workspace');
    this.tmp = nodePath.join(root, 'tmp');
    this.home = nodePath.join(root, 'home');
    // Longest prefix first: a workdir under /tmp wins over /tmp.
    this.mounts = [
      { sandbox: spec.workdir, host: this.ws },
      { sandbox: '/tmp', host: bwrap ? this.tmp : '/tmp' },
    ].sort((a, b) => b.sandbox.length - a.sandbox.length);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.ws, { mode: 0o755 });
    await fs.mkdir(this.tmp);
    await fs.chmod(this.tmp, 0o1777);
    await fs.mkdir(this.home, { mode: 0o700 });
    if (this.bwrap && isUnder(this.spec.workdir, '/root')) {
      // bwrap would create the mount point itself, but mode 0700 all the way down.
      const rel = this.spec.workdir.slice('/root'.length);
      await fs.mkdir(nodePath.join(this.home, rel), { recursive: true, mode: 0o755 });
    }
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.disposed) throw new SandboxError('backend', `sandbox ${this.name} has been disposed`);
    throwIfAborted(options.signal);
    let argv = typeof command === 'string' ? ['bash', '-c', command] : [...command];
    if (argv.length === 0) throw new SandboxError('backend', 'exec: empty command');
    const cwd = nodePath.posix.resolve(this.spec.workdir, options.cwd ?? this.spec.workdir);
    const env: Record<string, string> = {
      PATH: this.bwrap ? STANDARD_PATH : process.env.PATH || STANDARD_PATH,
      HOME: this.bwrap ? '/root' : this.home,
      CLAWGYM_WORKSPACE: this.bwrap ? this.spec.workdir : this.ws,
      ...(this.bwrap ? {} : { TMPDIR: this.tmp, [TOKEN_VAR]: this.token }),
      ...this.spec.env,
      ...options.env,
    };
    if (!this.bwrap) {
      // Mounts cannot be made without bubblewrap: their sandbox paths name the host paths instead.
      for (const m of this.spec.mounts ?? []) for (const k of Object.keys(env)) env[k] = translatePath(env[k]!, m.containerPath, m.hostPath);
    }
    const memory = this.spec.resources?.memoryBytes;
    if (memory && memory > 0) {
      // bash's ulimit -v is in KiB; a lower limit already in place stays (the 2>/dev/null).
      argv = ['bash', '-c', `ulimit -v ${Math.max(1, Math.floor(memory / 1024))} 2>/dev/null; exec "$@"`, 'bash', ...argv];
    }
    const kept = this.keeper ? (this.bwrap ? 'ns' : 'sub') : undefined;
    const keeperArgv = (cmd: string[]) =>
      this.keeper ? [this.keeper.python!, '-I', '-S', '-c', KEEPER_SOURCE, kept!, env.LC_CTYPE !== undefined ? 'set' : '', env.LC_CTYPE ?? '', '--', ...cmd] : cmd;
    let file: string;
    let args: string[];
    let hostCwd: string;
    if (this.bwrap) {
      file = this.bwrap.path!;
      args = [...this.bwrapArgs(), '--chdir', cwd, ...(kept ? ['--as-pid-1'] : []), '--', ...keeperArgv(argv)];
      hostCwd = this.root;
    } else {
      // A cwd outside the sandbox's places is the host's own directory (as bubblewrap shows the
      // host's /usr and /etc): nothing is isolated here anyway, and starting in `/` must work.
      hostCwd = this.mapOrHost(cwd);
      const st = await fs.stat(hostCwd).catch(() => undefined);
      if (!st?.isDirectory()) throw new SandboxError('backend', `exec: the working directory ${cwd} does not exist in the sandbox`);
      // Commands refer to the workspace by its sandbox path; here it lives elsewhere.
      argv = argv.map((a) => translatePath(a, this.spec.workdir, this.ws));
      for (const m of this.spec.mounts ?? []) argv = argv.map((a) => translatePath(a, m.containerPath, m.hostPath));
      [file, ...args] = keeperArgv(argv);
    }
    return runProcess({ file, args, cwd: hostCwd, env, kept }, options, (r) => {
      this.running.add(r);
      void r.gone.then((end) => {
        this.running.delete(r);
        if (end.escaped) this.escapes.push(end.escaped);
      });
    });
  }

  async quiesce(options: { signal?: AbortSignal } = {}): Promise<QuiesceReport> {
    throwIfAborted(options.signal);
    const running = [...this.running];
    for (const r of running) r.end('quiesced');
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<'late' | 'cancelled'>((resolve) => {
      timer = setTimeout(() => resolve('late'), QUIESCE_DEADLINE_MS);
      onAbort = () => resolve('cancelled');
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    const ends = await Promise.race([Promise.all(running.map((r) => r.gone)), deadline]);
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    if (ends === 'cancelled') throw new SandboxError('cancelled', 'quiesce was cancelled');
    let killed = 0;
    const problems: string[] = [];
    if (ends === 'late') problems.push(`some execs' processes were not reaped within ${QUIESCE_DEADLINE_MS} ms`);
    else {
      for (const e of ends) killed += e.killed;
      if (ends.some((e) => !e.clean)) problems.push('some processes could not be reaped in time (uninterruptible?)');
    }
    // Belt and braces for the unisolated mode: anything that still carries the sandbox's token.
    if (!this.bwrap) killed += killByEnvToken(this.token);
    if (this.escapes.length > 0) problems.push(...new Set(this.escapes));
    if (!this.keeper && !this.bwrap) {
      problems.push(`no keeper (${this.keeperProblem ?? 'unavailable'}): processes that left their exec's process group and cleared their environment cannot be found`);
    }
    const how = this.keeper
      ? this.bwrap
        ? "every exec's keeper (PID 1 of its pid namespace) killed and reaped all its processes"
        : "every exec's keeper (a child subreaper) killed and reaped all its descendants"
      : this.bwrap
        ? "every exec's pid namespace ended with its command"
        : 'process groups and token-marked processes killed';
    return {
      killed,
      clean: problems.length === 0,
      stopped: false,
      tampering: [],
      detail: problems.length === 0 ? `${how}; ${killed} killed` : `${how}; ${killed} killed; but ${problems.join('; ')}`,
    };
  }

  /** Start of the agent phase (ns, less the coarse clock's lag): see `changes`. */
  private t0: bigint | undefined;

  async baseline(): Promise<void> {
    this.t0 = BigInt(Date.now() - 20) * 1_000_000n;
  }

  /**
   * What the agent changed of what graders read here: the system is the host's, read-only under
   * bubblewrap (and not watched without it: `isolation: none`); the sandbox's own home holds the
   * Python user site and shell start-up files, which are. By ctime against `baseline`.
   */
  async changes(): Promise<FileSystemChange[]> {
    if (this.t0 === undefined) return [];
    const out: FileSystemChange[] = [];
    const visit = async (host: string, shown: string, depth: number): Promise<void> => {
      let st;
      try {
        st = await fs.lstat(host, { bigint: true });
      } catch {
        return;
      }
      if (st.ctimeNs >= this.t0!) out.push({ path: shown, kind: 'modified' });
      if (!st.isDirectory() || depth > 12 || out.length > 5000) return;
      for (const name of await fs.readdir(host).catch(() => [] as string[])) await visit(nodePath.join(host, name), `${shown}/${name}`, depth + 1);
    };
    for (const entry of HOME_START_UP) await visit(nodePath.join(this.home, entry), `/root/${entry}`, 0);
    return out;
  }

  async copyIn(files: readonly SandboxFile[], options?: { signal?: AbortSignal }): Promise<void> {
    for (const f of files) {
      throwIfAborted(options?.signal);
      const { mount, rel } = this.map(f.path, 'copyIn');
      const isDir = f.type === 'directory';
      if (rel.length === 0) {
        if (!isDir) throw new SandboxError('path-escape', `copyIn: ${f.path} is the root of ${mount.sandbox}, not a file path`);
        // The workspace root may take a mode; /tmp (the host's, without bubblewrap) is left alone.
        if (f.mode !== undefined && mount.host === this.ws) await fs.chmod(mount.host, f.mode & 0o777);
        continue;
      }
      const parent = await this.ensureDirs(mount, rel.slice(0, -1), f.path);
      const target = nodePath.join(parent, rel[rel.length - 1]);
      const existing = await lstatOrUndefined(target);
      if (isDir) {
        if (existing?.isSymbolicLink()) throw new SandboxError('path-escape', `copyIn: ${f.path} is a symbolic link in the sandbox; refusing to write through it`);
        if (existing && !existing.isDirectory()) throw new SandboxError('backend', `copyIn: ${f.path} exists and is not a directory`);
        if (!existing) await this.mkdirTracked(mount, rel, target);
        await fs.chmod(target, (f.mode ?? 0o755) & 0o777);
        continue;
      }
      if (existing?.isDirectory()) throw new SandboxError('backend', `copyIn: ${f.path} exists and is a directory`);
      // Replace whatever is there (a symlink or hard link planted by a command is not written through).
      if (existing) await fs.unlink(target);
      const handle = await fs.open(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      try {
        await handle.writeFile(f.content);
        await handle.chmod((f.mode ?? 0o644) & 0o777);
      } finally {
        await handle.close();
      }
      if (rel.length === 1) this.noteHostTmp(mount, target);
    }
  }

  async copyOut(dir: string, options: CopyOutOptions = {}): Promise<CopyOutResult> {
    throwIfAborted(options.signal);
    const maxTotal = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL;
    const maxFile = options.maxFileBytes ?? DEFAULT_MAX_FILE;
    const { mount, rel } = this.map(dir, 'copyOut');
    // Every component, the directory itself included, must be a real directory.
    let hostDir = mount.host;
    for (const seg of rel) {
      hostDir = nodePath.join(hostDir, seg);
      const st = await lstatOrUndefined(hostDir);
      if (!st) throw new SandboxError('backend', `copyOut: ${dir} does not exist in the sandbox`);
      if (st.isSymbolicLink()) throw new SandboxError('path-escape', `copyOut: ${dir} goes through a symbolic link (${sandboxPathOf(mount, hostDir)}); refusing to follow it`);
      if (!st.isDirectory()) throw new SandboxError('backend', `copyOut: ${sandboxPathOf(mount, hostDir)} is not a directory`);
    }
    const entries: SandboxEntry[] = [];
    const omitted: string[] = [];
    let totalBytes = 0;
    const walk = async (hostPath: string, relPath: string): Promise<void> => {
      const names = (await fs.readdir(hostPath)).sort();
      for (const name of names) {
        throwIfAborted(options.signal);
        const p = nodePath.join(hostPath, name);
        const r = relPath ? `${relPath}/${name}` : name;
        const st = await lstatOrUndefined(p);
        if (!st) continue; // removed while we walked
        const mode = st.mode & 0o7777;
        if (st.isSymbolicLink()) {
          entries.push({ path: r, type: 'symlink', mode, size: 0, linkTarget: await fs.readlink(p) });
        } else if (st.isDirectory()) {
          entries.push({ path: r, type: 'directory', mode, size: 0 });
          await walk(p, r);
        } else if (st.isFile()) {
          if (st.size > maxFile) {
            entries.push({ path: r, type: 'file', mode, size: st.size });
            omitted.push(r);
            continue;
          }
          if (totalBytes + st.size > maxTotal) throw tooLarge(dir, maxTotal);
          // O_NOFOLLOW: the file could have been swapped for a link since the lstat.
          const handle = await fs.open(p, fsc.O_RDONLY | fsc.O_NOFOLLOW);
          let content: Buffer;
          try {
            content = await handle.readFile();
          } finally {
            await handle.close();
          }
          totalBytes += content.length;
          if (totalBytes > maxTotal) throw tooLarge(dir, maxTotal);
          entries.push({ path: r, type: 'file', mode, size: content.length, content: new Uint8Array(content.buffer, content.byteOffset, content.byteLength) });
        } else {
          entries.push({ path: r, type: 'other', mode, size: 0 });
        }
      }
    };
    await walk(hostDir, '');
    return { entries, totalBytes, omitted };
  }

  dispose(): Promise<void> {
    this.disposed ??= this.doDispose();
    return this.disposed;
  }

  private async doDispose(): Promise<void> {
    try {
      const running = [...this.running];
      for (const r of running) r.end('cancelled');
      await Promise.race([Promise.allSettled(running.map((r) => r.gone)), new Promise((r) => setTimeout(r, QUIESCE_DEADLINE_MS).unref())]);
      if (!this.bwrap) killByEnvToken(this.token);
      for (const p of [this.root, ...this.hostTmpCreated]) {
        await makeWritable(p);
        await fs.rm(p, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
      }
    } catch {
      // dispose never throws
    }
    unregisterSandbox(this);
  }

  private bwrapArgs(): string[] {
    const args = [...systemViewArgs(), '--proc', '/proc', '--dev', '/dev', '--dir', '/var/tmp'];
    args.push('--bind', this.home, '/root', '--bind', this.tmp, '/tmp', '--bind', this.ws, this.spec.workdir);
    for (const m of this.spec.mounts ?? []) args.push(m.readOnly ? '--ro-bind' : '--bind', m.hostPath, m.containerPath);
    args.push('--unshare-all');
    if ((this.spec.network ?? 'none') !== 'none') args.push('--share-net');
    args.push('--die-with-parent', '--new-session', ...this.bwrap!.userArgs);
    return args;
  }

  /** Map an absolute sandbox path to a mount and its (checked) relative components. */
  private map(p: string, what: string): { mount: Mount; rel: string[] } {
    if (typeof p !== 'string' || !p.startsWith('/')) throw new SandboxError('path-escape', `${what}: ${JSON.stringify(p)} is not an absolute sandbox path`);
    if (p.includes('\0')) throw new SandboxError('path-escape', `${what}: ${JSON.stringify(p)} contains a NUL byte`);
    const segs = p.split('/').filter((s) => s !== '' && s !== '.');
    if (segs.includes('..')) throw new SandboxError('path-escape', `${what}: ${p} contains '..'`);
    const norm = '/' + segs.join('/');
    for (const mount of this.mounts) {
      if (isUnder(norm, mount.sandbox)) {
        const rel = norm === mount.sandbox ? [] : norm.slice(mount.sandbox.length + 1).split('/');
        return { mount, rel };
      }
    }
    throw new SandboxError(
      'path-escape',
      `${what}: ${p} is outside the sandbox's writable places (${this.mounts.map((m) => m.sandbox).join(' and ')}); the local backend can only map paths under those`,
    );
  }

  private mapOrHost(p: string): string {
    const mount = this.mounts.find((m) => isUnder(p, m.sandbox));
    return mount ? nodePath.join(mount.host, p.slice(mount.sandbox.length)) : p;
  }

  /** Create missing parent directories one by one, refusing any component that is a symlink. */
  private async ensureDirs(mount: Mount, rel: string[], forPath: string): Promise<string> {
    let cur = mount.host;
    for (let i = 0; i < rel.length; i++) {
      cur = nodePath.join(cur, rel[i]);
      let st = await lstatOrUndefined(cur);
      if (!st) {
        await this.mkdirTracked(mount, rel.slice(0, i + 1), cur);
        st = await fs.lstat(cur);
      }
      if (st.isSymbolicLink()) {
        throw new SandboxError('path-escape', `copyIn: cannot write ${forPath}: ${sandboxPathOf(mount, cur)} is a symbolic link in the sandbox; refusing to write through it`);
      }
      if (!st.isDirectory()) throw new SandboxError('backend', `copyIn: cannot write ${forPath}: ${sandboxPathOf(mount, cur)} is not a directory`);
    }
    return cur;
  }

  private async mkdirTracked(mount: Mount, rel: string[], hostPath: string): Promise<void> {
    try {
      await fs.mkdir(hostPath);
      await fs.chmod(hostPath, 0o755);
      if (rel.length === 1) this.noteHostTmp(mount, hostPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }

  private noteHostTmp(mount: Mount, hostPath: string): void {
    if (!this.bwrap && mount.sandbox === '/tmp' && mount.host === '/tmp') this.hostTmpCreated.add(hostPath);
  }
}

/** One exec's processes, as the sandbox tracks them until the last of them is gone. */
interface Running {
  /**
   * Kill everything the exec started. While the command runs, `cancelled` makes the exec reject
   * and `quiesced` makes it return as killed (exit 137); after it returned, its leftovers go.
   */
  end(why: 'cancelled' | 'quiesced'): void;
  /** Settles when the exec's keeper (or, without one, its process) is gone. */
  gone: Promise<ExecEnd>;
}

interface ExecEnd {
  /** Processes the keeper killed. */
  killed: number;
  /** Everything the exec started has been reaped (as far as the keeper can know). */
  clean: boolean;
  /** Set when processes may have got away (the keeper was killed before it could report). */
  escaped?: string;
}

interface Launch {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Under a keeper (control channel on fd 3): PID 1 of a pid namespace, or a subreaper. */
  kept: 'ns' | 'sub' | undefined;
}

/**
 * Spawn in its own process group. With a keeper, the exec returns when the keeper reports that the
 * command exited (after DRAIN_GRACE_MS for its last output) and background processes live on
 * under it; timeout, output limit and abort ask it to kill everything, and the exec returns once
 * the keeper is gone. Without one, the group is killed when the command exits.
 */
function runProcess(launch: Launch, o: ExecOptions, register: (r: Running) => void): Promise<ExecResult> {
  const maxOutput = o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const killAfter = o.killAfterBytes ?? DEFAULT_KILL_AFTER;
  const started = performance.now();
  const { file, kept } = launch;
  return new Promise<ExecResult>((resolve, reject) => {
    const child = spawn(file, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      detached: true,
      stdio: [o.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe', kept ? 'pipe' : 'ignore'],
    });
    const ctl = kept ? (child.stdio[3] as Duplex | null) : null;
    let stopped: 'timeout' | 'limit' | 'cancelled' | 'quiesced' | 'callback' | undefined;
    let callbackError: unknown;
    let settled = false;
    let exited = false;
    /** From the keeper: the command's exit code, or minus the signal that killed it. */
    let mainStatus: number | undefined;
    let keeperEnd: ExecEnd | undefined;
    let subreaper: boolean | undefined;
    let markGone: (end: ExecEnd) => void = () => undefined;
    const gone = new Promise<ExecEnd>((r) => (markGone = r));
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let fallback: NodeJS.Timeout | undefined;
    const killAll = () => {
      if (exited) return killGroup();
      if (ctl && !ctl.destroyed) {
        ctl.write('k\n');
        // A keeper that cannot act (stopped by the command, unisolated) is killed with its group.
        fallback ??= setTimeout(killGroup, KEEPER_KILL_GRACE_MS);
      } else killGroup();
    };
    const stop = (why: NonNullable<typeof stopped>) => {
      if (stopped) return;
      stopped = why;
      killAll();
    };
    register({ end: (why) => (settled ? killAll() : stop(why)), gone });
    const out = new Capture(maxOutput);
    const err = new Capture(maxOutput);
    const onData = (c: Capture, cb: ((chunk: Uint8Array) => void) | undefined) => (chunk: Buffer) => {
      // After the exec returned, what background processes write is read (so they do not block) and dropped.
      if (settled) return;
      c.add(chunk);
      if (cb && !stopped) {
        try {
          cb(chunk);
        } catch (e) {
          callbackError = e;
          stop('callback');
        }
      }
      if (c.bytes > killAfter) stop('limit');
    };
    child.stdout!.on('data', onData(out, o.onStdout));
    child.stderr!.on('data', onData(err, o.onStderr));
    let openPipes = 2;
    let drained: (() => void) | undefined;
    const pipeEnded = () => {
      if (--openPipes === 0) drained?.();
    };
    child.stdout!.on('end', pipeEnded);
    child.stderr!.on('end', pipeEnded);
    if (o.stdin !== undefined) {
      child.stdin!.on('error', () => undefined); // EPIPE when the command does not read its input
      child.stdin!.end(typeof o.stdin === 'string' ? Buffer.from(o.stdin, 'utf8') : o.stdin);
    }
    const timer = o.timeoutMs !== undefined && o.timeoutMs > 0 ? setTimeout(() => stop('timeout'), o.timeoutMs) : undefined;
    const onAbort = () => stop('cancelled');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let graceTimer: NodeJS.Timeout | undefined;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (graceTimer) clearTimeout(graceTimer);
      o.signal?.removeEventListener('abort', onAbort);
      if (stopped === 'cancelled') return reject(new SandboxError('cancelled', 'exec was cancelled'));
      if (stopped === 'callback') return reject(callbackError);
      let exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -1);
      let stderrText = err.text();
      if (spawnError) {
        // Like a shell: 127 for a command that is not there.
        exitCode = (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126;
        stderrText += `${file}: ${spawnError.message}\n`;
      }
      if (stopped) exitCode = 137;
      resolve({
        exitCode,
        ...captured(out, err),
        stderr: stderrText,
        timedOut: stopped === 'timeout',
        outputLimitExceeded: stopped === 'limit',
        durationMs: Math.round(performance.now() - started),
      });
    };
    /** Finish once both pipes are at their end, or after the drain grace (background processes hold them). */
    const drainThenFinish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled || graceTimer) return;
      drained = () => finish(code, signal);
      if (openPipes === 0) return drained();
      graceTimer = setTimeout(drained, DRAIN_GRACE_MS);
    };
    if (ctl) {
      let pending = '';
      ctl.setEncoding('latin1');
      ctl.on('error', () => undefined);
      ctl.on('data', (text: string) => {
        pending += text;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const [kind, a, b] = pending.slice(0, nl).split(' ');
          pending = pending.slice(nl + 1);
          if (kind === 'r') subreaper = a === '1';
          else if (kind === 'x' && mainStatus === undefined) {
            mainStatus = Number(a);
            // Killed on purpose: return once the keeper is gone (everything reaped), not now.
            if (!stopped) drainThenFinish(mainStatus >= 0 ? mainStatus : null, mainStatus >= 0 ? null : signalName(-mainStatus));
          } else if (kind === 'd') keeperEnd = { killed: Number(a) || 0, clean: b === '1' };
        }
      });
    }
    child.on('error', (e) => {
      if (child.pid === undefined) {
        markGone({ killed: 0, clean: true });
        finish(null, null, e);
      }
    });
    child.on('exit', (code, signal) => {
      exited = true;
      if (fallback) clearTimeout(fallback);
      // What is left in the group (the keeper's, or the command's when there is none) goes with it.
      killGroup();
      let end: ExecEnd;
      if (!kept) end = { killed: 0, clean: true };
      else if (keeperEnd) end = { ...keeperEnd, ...(subreaper === false ? { clean: false, escaped: 'the keeper could not become a subreaper' } : {}) };
      else if (kept === 'ns') end = { killed: 0, clean: true }; // its pid namespace died with it
      else end = { killed: 0, clean: false, escaped: "an exec's keeper was killed before it could reap (processes it held may have escaped to init)" };
      markGone(end);
      if (mainStatus !== undefined && !stopped) return drainThenFinish(mainStatus >= 0 ? mainStatus : null, mainStatus >= 0 ? null : signalName(-mainStatus));
      drainThenFinish(code, signal);
    });
  });
}

function signalName(n: number): NodeJS.Signals | null {
  for (const [name, value] of Object.entries(os.constants.signals)) if (value === n) return name as NodeJS.Signals;
  return null;
}

/** The host's system directories, read-only: /usr, /etc and the merged-/usr links or dirs. */
function systemViewArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const p = `/${name}`;
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(p), p);
      else if (st.isDirectory()) args.push('--ro-bind', p, p);
    } catch {
      // not on this system
    }
  }
  args.push('--ro-bind', '/etc', '/etc');
  return args;
}

/**
 * Kill processes of an unisolated sandbox that left its process groups (setsid, daemons): they
 * still carry the sandbox's token in their environment. Linux only; elsewhere a no-op.
 */
function killByEnvToken(token: string): number {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return 0;
  }
  let killed = 0;
  const needle = `${TOKEN_VAR}=${token}\0`;
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle)) {
        process.kill(Number(pid), 'SIGKILL');
        killed++;
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return killed;
}

/** Make every directory under p writable and searchable by us, so rm can empty read-only dirs. */
async function makeWritable(p: string): Promise<void> {
  const st = await lstatOrUndefined(p);
  if (!st?.isDirectory()) return;
  await fs.chmod(p, (st.mode & 0o7777) | 0o700).catch(() => undefined);
  const names = await fs.readdir(p).catch(() => [] as string[]);
  for (const name of names) await makeWritable(nodePath.join(p, name));
}

function translatePath(arg: string, from: string, to: string): string {
  if (!arg.includes(from)) return arg;
  // Only whole path prefixes: `/root/ws`, `/root/ws/x`, not `/root/wsx`.
  const re = new RegExp(`${escapeRegExp(from)}(?![A-Za-z0-9_.-])`, 'g');
  return arg.replace(re, to);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function normalizeWorkdir(workdir: string): string {
  if (typeof workdir !== 'string' || !workdir.startsWith('/')) throw new SandboxError('path-escape', `workdir ${JSON.stringify(workdir)} is not an absolute path`);
  const segs = workdir.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) throw new SandboxError('path-escape', `workdir ${workdir} contains '..'`);
  if (segs.length === 0) throw new SandboxError('path-escape', 'workdir cannot be /');
  const norm = '/' + segs.join('/');
  if (norm === '/tmp') throw new SandboxError('path-escape', 'workdir cannot be /tmp itself (the sandbox has its own /tmp)');
  return norm;
}

function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

function sandboxPathOf(mount: Mount, hostPath: string): string {
  const rel = nodePath.relative(mount.host, hostPath).split(nodePath.sep).join('/');
  return rel ? nodePath.posix.join(mount.sandbox, rel) : mount.sandbox;
}

async function lstatOrUndefined(p: string) {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function tooLarge(dir: string, max: number): SandboxError {
  return new SandboxError('too-large', `copyOut: ${dir} holds more than ${max} bytes of files (the cap)`);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SandboxError('cancelled', 'cancelled');
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40) || 'x';
}


/**
 * `clawgym image build`: the default sandbox image (bash, coreutils, python3 with a `python`
 * alias, PyYAML), built one of two ways behind one call:
 *
 * - `dockerfile`: a docker build of images/sandbox/Dockerfile (the text is embedded below, so the
 *   bundled CLI needs no file next to it), which needs a registry for `debian:bookworm-slim`.
 * - `debootstrap`: a Debian root filesystem from packages (`debootstrap --variant=minbase`),
 *   imported as an image, for machines that reach Debian's mirrors but no registry. It needs root
 *   and the `debootstrap` command. The root filesystem tarball is cached (default
 *   ~/.cache/clawgym/image), keyed by the recipe, so a rebuild after `docker rmi` takes seconds.
 *
 * `auto` (the default) tries the Dockerfile and falls back to debootstrap when the registry or the
 * network is the problem. Whatever built it, the image is run once to check it has what graders
 * need; an image that fails the check is removed again.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { findExecutable } from './output';
import { registerSandbox, unregisterSandbox } from './registry';

export type ImageBuildMethod = 'dockerfile' | 'debootstrap';

export interface BuildImageOptions {
  /** e.g. `clawgym/sandbox:latest`. */
  tag: string;
  /** Default `auto`: the Dockerfile, falling back to debootstrap when no registry is reachable. */
  method?: 'auto' | ImageBuildMethod;
  /** Build even when the image exists. */
  force?: boolean;
  /** Progress, one line at a time (build steps, debootstrap's output, why a fallback happened). */
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  /** Where the debootstrap root filesystem is cached (default `$XDG_CACHE_HOME/clawgym/image` or `~/.cache/clawgym/image`). */
  cacheDir?: string;
  /** Debian mirror for debootstrap (default: debootstrap's own, deb.debian.org). */
  mirror?: string;
}

export interface BuildImageResult {
  tag: string;
  /** False when the image already existed and nothing was done. */
  built: boolean;
  method?: ImageBuildMethod;
  durationMs: number;
  /** Why nothing was built, or why the method differs from the one asked for (auto's fallback). */
  reason?: string;
  /** Debootstrap only: whether the cached root filesystem was used. */
  cached?: boolean;
}

export type ImageBuildErrorKind =
  /** The Docker engine cannot be reached. */
  | 'unavailable'
  /** The base image could not be pulled (no registry reachable, or it refused). */
  | 'registry-unreachable'
  /** Packages could not be downloaded during the build. */
  | 'network'
  /** A command the method needs (debootstrap, tar) is not installed. */
  | 'missing-tool'
  /** debootstrap needs root. */
  | 'not-root'
  | 'build-failed'
  /** The image was built but lacks something graders need. */
  | 'verify-failed'
  | 'cancelled';

export class ImageBuildError extends Error {
  constructor(
    readonly kind: ImageBuildErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ImageBuildError';
  }
}

/** images/sandbox/Dockerfile, verbatim (a test checks they agree). */
export const SANDBOX_DOCKERFILE = `# The default ClawGym sandbox image: bash, coreutils, python3 (with a \`python\` alias) and PyYAML,
# what task graders need. \`clawgym image build\` builds it from this text (embedded in
# core/src/sandbox/image.ts; a test keeps the two equal) or, with no registry reachable, from
# Debian packages with debootstrap. By hand: docker build -t clawgym/sandbox:latest images/sandbox
FROM debian:bookworm-slim
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bash coreutils python3 python3-yaml \\
 && rm -rf /var/lib/apt/lists/* \\
 && ln -s python3 /usr/bin/python
CMD ["/bin/bash"]
`;

/** The debootstrap recipe; part of the cache key, so changing it invalidates cached root filesystems. */
export const DEBOOTSTRAP_RECIPE = {
  suite: 'bookworm',
  variant: 'minbase',
  /** bash and coreutils are Essential: minbase has them. */
  include: ['python3', 'python3-yaml'],
  /** Symlinks made in the root filesystem after debootstrap: `python` -> `python3`. */
  links: [['usr/bin/python', 'python3']],
  /** Bumped when the way the root filesystem is made changes. */
  revision: 1,
} as const;

const LABELS = { 'clawgym.image': 'sandbox' };
const VERIFY_LABEL = 'clawgym.image-verify';

/**
 * What graders need, checked inside the image. Prints `clawgym-image-ok` last when all is there.
 */
const VERIFY_SCRIPT = [
  'set -e',
  'for c in bash cat cp ls mkdir mv rm sort head tail wc sha256sum; do command -v "$c" >/dev/null || { echo "missing command: $c"; exit 1; }; done',
  `python3 -c 'import sys; assert sys.version_info >= (3, 9), "python3 is " + sys.version; import yaml; print("python3", sys.version.split()[0], "PyYAML", yaml.__version__)'`,
  'python --version',
  'echo clawgym-image-ok',
].join('\n');

export function defaultImageCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || nodePath.join(os.homedir(), '.cache');
  return nodePath.join(base, 'clawgym', 'image');
}

/** Build the sandbox image (see the module comment); resolves once it exists and passed its check. */
export async function buildImage(docker: Docker, options: BuildImageOptions): Promise<BuildImageResult> {
  throwIfAborted(options.signal);
  // Registered like a sandbox, so the process-wide SIGINT/SIGTERM handling (registry.ts) stops a
  // build cleanly too: debootstrap runs in its own process group, out of reach of a terminal's Ctrl-C.
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const work = build(docker, { ...options, signal: controller.signal });
  const handle = {
    name: `image build of ${options.tag}`,
    dispose: async () => {
      controller.abort();
      await work.catch(() => undefined);
    },
  };
  registerSandbox(handle);
  try {
    return await work;
  } finally {
    unregisterSandbox(handle);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function build(docker: Docker, options: BuildImageOptions): Promise<BuildImageResult> {
  const started = performance.now();
  const log = options.onLog ?? (() => undefined);
  const { tag, signal } = options;
  const elapsed = () => Math.round(performance.now() - started);
  throwIfAborted(signal);
  const previous = await imageId(docker, tag);
  if (previous && !options.force) {
    return { tag, built: false, durationMs: elapsed(), reason: `${tag} already exists (force a rebuild to replace it)` };
  }
  const method = options.method ?? 'auto';
  let used: ImageBuildMethod;
  let reason: string | undefined;
  let cached: boolean | undefined;
  if (method === 'dockerfile') {
    await buildFromDockerfile(docker, tag, log, signal);
    used = 'dockerfile';
  } else if (method === 'debootstrap') {
    cached = await buildWithDebootstrap(docker, tag, options, log);
    used = 'debootstrap';
  } else {
    try {
      await buildFromDockerfile(docker, tag, log, signal);
      used = 'dockerfile';
    } catch (e) {
      if (!(e instanceof ImageBuildError) || (e.kind !== 'registry-unreachable' && e.kind !== 'network')) throw e;
      reason = `the Dockerfile build failed (${e.message}); built from Debian packages with debootstrap instead`;
      log(`${e.kind === 'registry-unreachable' ? 'no registry reachable' : 'no network for the build'}: ${e.message}`);
      log('falling back to debootstrap (Debian packages imported as an image)');
      cached = await buildWithDebootstrap(docker, tag, options, log);
      used = 'debootstrap';
    }
  }
  try {
    const summary = await verifyImage(docker, tag, signal);
    log(`verified ${tag}: ${summary}`);
  } catch (e) {
    // Do not leave a broken image that the next build would skip as existing.
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
    throw e;
  }
  if (previous && previous !== (await imageId(docker, tag))) {
    // The image this tag named before is now untagged: remove it unless something still uses it
    // (a container, another tag: then the engine refuses and it stays).
    await docker
      .getImage(previous)
      .remove()
      .catch(() => undefined);
  }
  return { tag, built: true, method: used, durationMs: elapsed(), ...(reason ? { reason } : {}), ...(cached !== undefined ? { cached } : {}) };
}

/**
 * Run `tag` once (no network, removed afterwards) and check bash, coreutils, python3 >= 3.9, PyYAML
 * and the `python` alias. Resolves with a one-line summary (versions), rejects with `verify-failed`.
 */
export async function verifyImage(docker: Docker, tag: string, signal?: AbortSignal): Promise<string> {
  throwIfAborted(signal);
  const name = `clawgym-image-verify-${randomBytes(6).toString('hex')}`;
  let container: Docker.Container | undefined;
  const timeout = AbortSignal.timeout(60_000);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    container = await docker.createContainer({
      Image: tag,
      name,
      Cmd: ['bash', '-c', VERIFY_SCRIPT],
      Tty: true,
      NetworkDisabled: true,
      Labels: { [VERIFY_LABEL]: '1' },
      HostConfig: { NetworkMode: 'none' },
      abortSignal: both,
    });
    await container.start({ abortSignal: both });
    const { StatusCode } = (await container.wait({ abortSignal: both })) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true, follow: false, abortSignal: both })).toString('utf8').replace(/\r/g, '').trim();
    const lines = output.split('\n');
    if (StatusCode !== 0 || lines[lines.length - 1] !== 'clawgym-image-ok') {
      throw new ImageBuildError('verify-failed', `the image ${tag} lacks what graders need (exit ${StatusCode}): ${output || '(no output)'}`);
    }
    return lines.slice(0, -1).join(', ');
  } catch (e) {
    if (e instanceof ImageBuildError) throw e;
    if (signal?.aborted) throw new ImageBuildError('cancelled', 'image check cancelled', { cause: e });
    const msg = dockerMessage(e);
    if (timeout.aborted) throw new ImageBuildError('verify-failed', `checking the image ${tag} took over 60 s`, { cause: e });
    throw new ImageBuildError('verify-failed', `could not run the image ${tag} to check it: ${msg}`, { cause: e });
  } finally {
    if (container) await container.remove({ force: true }).catch(() => undefined);
    else await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
  }
}

/** The image's id, or undefined when there is none. */
async function imageId(docker: Docker, tag: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Id;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw new ImageBuildError('unavailable', `cannot reach the Docker engine: ${dockerMessage(e)}`, { cause: e });
  }
}

async function buildFromDockerfile(docker: Docker, tag: string, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  log(`building ${tag} from the Dockerfile (FROM debian:bookworm-slim)`);
  const context = await tarOf([{ name: 'Dockerfile', content: SANDBOX_DOCKERFILE }]);
  const events: BuildEvent[] = [];
  let error: string | undefined;
  try {
    const stream = await docker.buildImage(Readable.from([context]), {
      t: tag,
      rm: true,
      forcerm: true,
      labels: { ...LABELS, 'clawgym.image.method': 'dockerfile' },
      ...(signal ? { abortSignal: signal } : {}),
    });
    await readJsonLines(stream, (ev: BuildEvent) => {
      events.push(ev);
      if (ev.error || ev.errorDetail) error ??= ev.error ?? ev.errorDetail?.message ?? 'unknown error';
      else if (ev.stream) {
        for (const line of ev.stream.split('\n')) if (line.trim()) log(line.trimEnd());
      }
      else if (ev.status) log(`${ev.id ? `${ev.id}: ` : ''}${ev.status}${ev.progress ? ` ${ev.progress}` : ''}`);
    });
  } catch (e) {
    if (signal?.aborted) throw new ImageBuildError('cancelled', 'image build cancelled', { cause: e });
    error ??= dockerMessage(e);
  }
  if (error === undefined) return;
  const text = events.map((e) => e.stream ?? e.status ?? '').join('\n');
  // Still at `FROM` (no second step started): the base image could not be fetched.
  const atFrom = !/Step 2\/|^#\d+ \[2\/|RUN /m.test(text);
  if (atFrom && REGISTRY_ERROR.test(error)) throw new ImageBuildError('registry-unreachable', `cannot fetch the base image debian:bookworm-slim: ${error.trim()}`);
  if (NETWORK_ERROR.test(text) || NETWORK_ERROR.test(error)) throw new ImageBuildError('network', `the build could not download packages: ${lastLines(text, 3) || error}`);
  throw new ImageBuildError('build-failed', `docker build failed: ${error.trim()}${text ? `\n${lastLines(text, 10)}` : ''}`);
}

const REGISTRY_ERROR =
  /registry|pull access denied|manifest unknown|failed to resolve source metadata|dial tcp|no such host|i\/o timeout|TLS handshake|connection refused|network is unreachable|server misbehaving|Client\.Timeout|failed to do request|toomanyrequests|not found/i;
const NETWORK_ERROR = /Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect to|Network is unreachable|Connection timed out/i;

/** Build (or take from the cache) the root filesystem and import it. Resolves with whether the cache served. */
async function buildWithDebootstrap(docker: Docker, tag: string, options: BuildImageOptions, log: (line: string) => void): Promise<boolean> {
  const { signal } = options;
  const cacheDir = options.cacheDir ?? defaultImageCacheDir();
  const key = createHash('sha256')
    .update(JSON.stringify({ ...DEBOOTSTRAP_RECIPE, arch: os.arch() }))
    .digest('hex')
    .slice(0, 16);
  const cached = nodePath.join(cacheDir, `sandbox-rootfs-${DEBOOTSTRAP_RECIPE.suite}-${key}.tar`);
  const hit = await fs
    .stat(cached)
    .then((s) => s.isFile() && s.size > 0)
    .catch(() => false);
  if (hit) {
    log(`using the cached root filesystem ${cached} (delete it to rebuild from Debian packages)`);
  } else {
    await makeRootfsTarball(cached, options, log);
  }
  throwIfAborted(signal);
  const { repo, tagPart } = splitTag(tag);
  log(`importing ${cached} as ${tag}`);
  const t0 = performance.now();
  try {
    const stream = await docker.importImage(cached, {
      repo,
      tag: tagPart,
      changes: ['CMD ["/bin/bash"]', `LABEL ${Object.entries({ ...LABELS, 'clawgym.image.method': 'debootstrap' })
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`],
      ...(signal ? { abortSignal: signal } : {}),
    });
    let error: string | undefined;
    await readJsonLines(stream, (ev: BuildEvent) => {
      if (ev.error || ev.errorDetail) error ??= ev.error ?? ev.errorDetail?.message;
    });
    if (error) throw new Error(error);
  } catch (e) {
    if (signal?.aborted) throw new ImageBuildError('cancelled', 'image import cancelled', { cause: e });
    throw new ImageBuildError('build-failed', `docker import of ${cached} failed: ${dockerMessage(e)}`, { cause: e });
  }
  log(`imported in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return hit;
}

async function makeRootfsTarball(dest: string, options: BuildImageOptions, log: (line: string) => void): Promise<void> {
  const { signal } = options;
  if (process.getuid?.() !== 0) {
    throw new ImageBuildError(
      'not-root',
      'building the image from Debian packages (debootstrap) needs root: run `sudo clawgym image build`, or build where a registry is reachable (`--method dockerfile`)',
    );
  }
  const debootstrap = findExecutable('debootstrap');
  if (!debootstrap) {
    throw new ImageBuildError(
      'missing-tool',
      'no registry is reachable and debootstrap is not installed; install it (Debian/Ubuntu: `apt-get install -y debootstrap`) and run `clawgym image build` again',
    );
  }
  const tarBin = findExecutable('tar');
  if (!tarBin) throw new ImageBuildError('missing-tool', 'tar is not installed (Debian/Ubuntu: `apt-get install -y tar`)');
  const rootfs = await fs.mkdtemp(nodePath.join(os.tmpdir(), 'clawgym-rootfs-'));
  const partial = `${dest}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const r = DEBOOTSTRAP_RECIPE;
    const args = [`--variant=${r.variant}`, `--include=${r.include.join(',')}`, r.suite, rootfs, ...(options.mirror ? [options.mirror] : [])];
    log(`debootstrap ${args.join(' ')} (about a minute; cached afterwards)`);
    const t0 = performance.now();
    await run(debootstrap, args, log, signal, 'debootstrap');
    log(`debootstrap finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const [link, target] of r.links) {
      const p = nodePath.join(rootfs, link);
      await fs.rm(p, { force: true });
      await fs.symlink(target, p);
    }
    // Package downloads and indexes are not needed at run time.
    await emptyDir(nodePath.join(rootfs, 'var/cache/apt/archives'), (n) => n.endsWith('.deb'));
    await emptyDir(nodePath.join(rootfs, 'var/lib/apt/lists'), (n) => n !== 'partial' && n !== 'lock');
    await fs.mkdir(nodePath.dirname(dest), { recursive: true });
    await run(tarBin, ['--numeric-owner', '-C', rootfs, '-cf', partial, '.'], log, signal, 'tar');
    await fs.rename(partial, dest);
    const size = (await fs.stat(dest)).size;
    log(`root filesystem cached at ${dest} (${(size / 2 ** 20).toFixed(0)} MiB)`);
  } finally {
    await fs.rm(partial, { force: true }).catch(() => undefined);
    await removeRootfs(rootfs);
  }
}

/**
 * Remove a debootstrap target safely: an interrupted debootstrap can leave /proc, /sys or bind
 * mounts of /dev inside it, and a recursive delete must never walk into those.
 */
async function removeRootfs(rootfs: string): Promise<void> {
  try {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
      .filter((m): m is string => !!m && (m === rootfs || m.startsWith(`${rootfs}/`)))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await run('umount', ['-l', m], () => undefined, undefined, 'umount').catch(() => undefined);
  } catch {
    // no /proc here: nothing can be mounted the way debootstrap mounts either
  }
  await run('rm', ['-rf', '--one-file-system', rootfs], () => undefined, undefined, 'rm').catch(() => undefined);
}

async function emptyDir(dir: string, which: (name: string) => boolean): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const n of names) if (which(n)) await fs.rm(nodePath.join(dir, n), { recursive: true, force: true });
}

/** Run a command in its own process group, its output lines to `log`; abort = SIGTERM (so debootstrap unmounts), then SIGKILL. */
function run(file: string, args: string[], log: (line: string) => void, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ImageBuildError('cancelled', `${what} cancelled`));
    const env = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin:/bin`, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
    const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    const tail: string[] = [];
    const onLine = (line: string) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log(line);
    };
    lines(child.stdout!, onLine);
    lines(child.stderr!, onLine);
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 5000);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new ImageBuildError((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing-tool' : 'build-failed', `${what}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (signal?.aborted) return reject(new ImageBuildError('cancelled', `${what} cancelled`));
      if (code === 0) return resolve();
      const out = tail.join('\n');
      const kind = what === 'debootstrap' && NETWORK_ERROR.test(out) ? 'network' : 'build-failed';
      reject(new ImageBuildError(kind, `${what} failed (${sig ?? `exit ${code}`})${out ? `:\n${out}` : ''}`));
    });
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i).replace(/\r$/, ''));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => buf && onLine(buf));
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // gone
  }
}

interface BuildEvent {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Docker's JSON-lines progress stream, parsed; rejects if the stream errors. */
function readJsonLines(stream: NodeJS.ReadableStream, onEvent: (ev: BuildEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const handle = (line: string) => {
      if (!line.trim()) return;
      try {
        onEvent(JSON.parse(line) as BuildEvent);
      } catch {
        onEvent({ stream: line });
      }
    };
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        handle(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    stream.on('end', () => {
      handle(buf);
      resolve();
    });
    stream.on('error', reject);
  });
}

async function tarOf(entries: { name: string; content: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, mode: 0o644 }, e.content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** `host:5000/a/b:tag` -> repo `host:5000/a/b`, tag `tag` (default `latest`). */
export function splitTag(ref: string): { repo: string; tagPart: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tagPart: ref.slice(colon + 1) };
  return { repo: ref, tagPart: 'latest' };
}

function dockerMessage(e: unknown): string {
  const err = e as { json?: { message?: string }; reason?: string; message?: string };
  return (err?.json?.message ?? err?.message ?? String(e)).trim();
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').filter(Boolean).slice(-n).join('\n');
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ImageBuildError('cancelled', 'cancelled');
}


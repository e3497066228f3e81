/**
 * The end-to-end environment: where scripts/e2e-setup.sh installed Node 24 and code-server, the
 * built extension, and a throw-away code-server instance (fresh user-data, extensions and workspace
 * folders per run) that tests drive with a browser.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The repository root (this file compiles to out/e2e/src/env.js). */
export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const SETUP_SCRIPT = 'scripts/e2e-setup.sh';
/** Where screenshots and logs of a run go (kept after the run, for looking at failures). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'out', 'e2e');
export const CHROMIUM = '/usr/bin/chromium';
/**
 * The extension folder to install: the repository (as `npm run build` left it), or, for trying a
 * packaged build, an unpacked extension folder given in CLAWGYM_E2E_EXTENSION.
 */
export const EXTENSION_SOURCE = process.env.CLAWGYM_E2E_EXTENSION || REPO_ROOT;

export interface E2eEnv {
  /** Node 24 binary that runs code-server. */
  node: string;
  /** code-server's entry script. */
  entry: string;
}

/**
 * Finds the installation scripts/e2e-setup.sh made. The versions are read from the script itself,
 * so the stamp the test looks for can never drift from the one the script writes.
 * Returns a reason string when the environment is not (completely) installed.
 */
export function findE2eEnv(): E2eEnv | string {
  const script = readFileSync(join(REPO_ROOT, SETUP_SCRIPT), 'utf8');
  const nodeMajor = /^NODE_MAJOR=(\S+)$/m.exec(script)?.[1];
  const codeServer = /^CODE_SERVER_VERSION=(\S+)$/m.exec(script)?.[1];
  if (!nodeMajor || !codeServer) return `cannot read NODE_MAJOR/CODE_SERVER_VERSION from ${SETUP_SCRIPT}`;
  const dir =
    process.env.CLAWGYM_E2E_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'clawgym', 'e2e');
  const stamp = join(dir, `ready-node${nodeMajor}-code-server-${codeServer}`);
  if (!existsSync(stamp)) return `the e2e environment is not installed (no ${stamp}); run ${SETUP_SCRIPT}`;
  const fields = new Map(
    readFileSync(stamp, 'utf8')
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string | undefined])
      .filter((kv): kv is [string, string] => kv[1] !== undefined),
  );
  const node = fields.get('node');
  const entry = fields.get('entry');
  for (const p of [node, entry, CHROMIUM]) {
    if (!p || !existsSync(p)) return `the e2e environment is incomplete (${p ?? 'a path'} is missing); run ${SETUP_SCRIPT}`;
  }
  return { node: node as string, entry: entry as string };
}

// ---------------------------------------------------------------------------------------------
// The extension under test

/** What the extension folder holds: the files a .vsix ships (see .vscodeignore). */
const EXTENSION_FILES = ['package.json', 'dist', 'syntaxes', 'snippets', 'language-configuration.json', 'schemas', 'README.md', 'LICENSE'];
const BUNDLES = ['dist/client.js', 'dist/server.js'];
/** Sources the bundles are built from: dist/ older than any of these is stale. */
const BUNDLE_SOURCES = ['client/src', 'server/src', 'core/src', 'package.json'];

export interface ExtensionManifest {
  publisher: string;
  name: string;
  version: string;
  /** contributes.languages[clawtask], when the manifest contributes it. */
  language?: { id: string; aliases?: string[] };
  /** contributes.commands: command id -> "Category: Title" as the palette shows it. */
  commands: Map<string, string>;
  /** Commands hidden from the palette (`menus.commandPalette` with `when: false`). */
  hiddenFromPalette: Set<string>;
}

export function readManifest(): ExtensionManifest {
  const pkg = JSON.parse(readFileSync(join(EXTENSION_SOURCE, 'package.json'), 'utf8')) as {
    publisher: string;
    name: string;
    version: string;
    contributes?: {
      languages?: { id: string; aliases?: string[]; extensions?: string[] }[];
      commands?: { command: string; title: string; category?: string }[];
      menus?: { commandPalette?: { command: string; when?: string }[] };
    };
  };
  const language = pkg.contributes?.languages?.find((l) => l.extensions?.includes('.clawtask') || l.id === 'clawtask');
  const commands = new Map(
    (pkg.contributes?.commands ?? []).map((c) => [c.command, c.category ? `${c.category}: ${c.title}` : c.title]),
  );
  const hiddenFromPalette = new Set(
    (pkg.contributes?.menus?.commandPalette ?? []).filter((m) => m.when === 'false').map((m) => m.command),
  );
  return { publisher: pkg.publisher, name: pkg.name, version: pkg.version, language, commands, hiddenFromPalette };
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/**
 * The test runs the extension as `npm run build` left it in dist/. Returns a reason when the
 * bundles are missing or older than their sources (the e2e command runs the build first).
 */
export function checkBundles(): string | undefined {
  const missing = BUNDLES.filter((b) => !existsSync(join(EXTENSION_SOURCE, b)));
  if (missing.length) return `${missing.join(', ')} missing in ${EXTENSION_SOURCE}: run \`npm run build\` before the e2e test`;
  if (EXTENSION_SOURCE !== REPO_ROOT) return undefined;
  const built = Math.min(...BUNDLES.map((b) => statSync(join(REPO_ROOT, b)).mtimeMs));
  const stale = BUNDLE_SOURCES.filter((s) => existsSync(join(REPO_ROOT, s)) && newestMtime(join(REPO_ROOT, s)) > built);
  if (stale.length) return `dist/ is older than ${stale.join(', ')}: run \`npm run build\` before the e2e test`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// A code-server instance

export interface Instance {
  url: string;
  workspace: string;
  /** Extension host and server logs live under here. */
  userDataDir: string;
  logFile: string;
  stop(): Promise<void>;
  /** True while any process of the instance's process group is alive. */
  alive(): boolean;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Settings that keep the workbench quiet and deterministic. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'editor.wordBasedSuggestions': 'off',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'editor.hover.delay': 150,
  'files.autoSave': 'off',
};

/**
 * Starts code-server with the built extension unpacked into a fresh extensions dir, a fresh
 * user-data dir and a copy of e2e/workspace. Resolves once the HTTP server answers.
 */
export async function startCodeServer(env: E2eEnv, manifest: ExtensionManifest, deadlineMs = 30_000): Promise<Instance> {
  const root = await mkdtemp(join(tmpdir(), 'clawgym-e2e-'));
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  const workspace = join(root, 'workspace');
  const extDir = join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);

  await mkdir(join(userDataDir, 'User'), { recursive: true });
  await writeFile(join(userDataDir, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
  await mkdir(extDir, { recursive: true });
  for (const f of EXTENSION_FILES) {
    const src = join(EXTENSION_SOURCE, f);
    if (!existsSync(src)) continue;
    // A .vsix in dist/ is not part of the extension.
    await cp(src, join(extDir, f), { recursive: true, filter: (p) => !p.endsWith('.vsix') });
  }
  await cp(join(REPO_ROOT, 'e2e', 'workspace'), workspace, { recursive: true });

  const port = await freePort();
  const logFile = join(ARTIFACTS_DIR, 'logs', 'code-server.log');
  await mkdir(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const args = [
    env.entry,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--config', join(root, 'config.yaml'),
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    workspace,
  ];
  // Own process group (detached), so stop() ends code-server and everything it started
  // (extension host, our language server) in one signal. HOME-derived dirs point into `root`.
  const child: ChildProcess = spawn(env.node, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(root, 'xdg-config'),
      XDG_DATA_HOME: join(root, 'xdg-data'),
      XDG_CACHE_HOME: join(root, 'xdg-cache'),
    },
    cwd: root,
  });
  let output = '';
  const onData = (b: Buffer): void => {
    log.write(b);
    if (output.length < 100_000) output += b.toString();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not start ${env.node}`);

  const alive = (): boolean => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pgid, sig);
    } catch {
      /* already gone */
    }
  };
  const waitGone = async (ms: number): Promise<boolean> => {
    const until = Date.now() + ms;
    while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    return !alive();
  };
  // If the test process dies first (Ctrl+C, a runner's kill), take the detached group with it.
  const killOnExit = (): void => {
    signal('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    killOnExit();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', killOnExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    signal('SIGTERM');
    if (!(await waitGone(5_000))) {
      signal('SIGKILL');
      await waitGone(5_000);
    }
    await exited.catch(() => undefined);
    log.end();
    await rm(root, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  };

  const url = `http://127.0.0.1:${port}/`;
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`code-server exited early (${child.exitCode ?? child.signalCode}):\n${output.slice(-4000)}`);
    }
    try {
      const res = await fetch(`${url}healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) {
      await stop();
      throw new Error(`code-server did not answer on ${url} within ${deadlineMs} ms:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, workspace, userDataDir, logFile, stop, alive };
}

/** The extension host's log files (for failure reports): exthost.log and our output channels. */
export function extensionHostLogs(userDataDir: string): { path: string; text: string }[] {
  const found: { path: string; text: string }[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      // The extension host's own log, and our output channels (named after the extension).
      else if (/^(remote)?exthost\.log$|clawgym|clawtask/i.test(name)) found.push({ path: p, text: readFileSync(p, 'utf8') });
    }
  };
  walk(join(userDataDir, 'logs'));
  return found;
}

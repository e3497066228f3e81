/**
 * `clawgym image build` against the real engine: skip when present, the Dockerfile path (fails fast
 * as registry-unreachable where no registry is reachable, as on the project's machines), a real
 * debootstrap build (cold about a minute, then from the cache in ~/.cache/clawgym/image that CI
 * keeps), auto's fallback, the image check, cancellation. Throwaway tags only; the shared
 * clawgym/sandbox:latest is only read.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { buildImage, DEBOOTSTRAP_RECIPE, ImageBuildError, SANDBOX_DOCKERFILE, splitTag, verifyImage } from '../src/sandbox/image';
import { disposeAll, liveSandboxes } from '../src/sandbox/registry';
import { assertDocker, dockerRequired, needsDocker, TEST_IMAGE } from './docker';
import { repoRoot } from './util';

const docker = new Docker();
const throwaway = () => `clawgym/sandbox-test:${randomBytes(5).toString('hex')}`;
const made = new Set<string>();

async function imageId(tag: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Id;
  } catch {
    return undefined;
  }
}

async function rejectsWithKind(p: Promise<unknown>, kind: ImageBuildError['kind']): Promise<ImageBuildError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ImageBuildError, `expected an ImageBuildError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    return e;
  }
  assert.fail(`expected an ImageBuildError of kind ${kind}`);
}

/** Directories the debootstrap path creates under the temp dir, to check none is left. */
const rootfsDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('clawgym-rootfs-')));

function debootstrapProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'debootstrap needs root';
  for (const d of ['/usr/sbin', '/sbin', ...(process.env.PATH ?? '').split(':')]) if (d && fs.existsSync(join(d, 'debootstrap'))) return undefined;
  return 'debootstrap is not installed (apt-get install -y debootstrap)';
}
const debootstrapSkip = (): { skip?: string } => {
  const docker = needsDocker();
  if (docker.skip) return docker;
  const problem = debootstrapProblem();
  return problem && !dockerRequired ? { skip: problem } : {};
};

after(async () => {
  for (const tag of made) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  const left = await docker.listContainers({ all: true, filters: { label: ['clawgym.image-verify'] } });
  assert.deepEqual(
    left.map((c) => c.Names),
    [],
    'image-check containers left behind',
  );
});

describe('image recipe', () => {
  test('the embedded Dockerfile is images/sandbox/Dockerfile, byte for byte', () => {
    assert.equal(SANDBOX_DOCKERFILE, fs.readFileSync(join(repoRoot, 'images', 'sandbox', 'Dockerfile'), 'utf8'));
  });

  test('the Dockerfile and the debootstrap recipe install the same packages', () => {
    const installed = /apt-get install[^\n]*?((?: [a-z0-9.+-]+)+) \\\n/.exec(SANDBOX_DOCKERFILE)![1].trim().split(' ');
    for (const p of DEBOOTSTRAP_RECIPE.include) assert.ok(installed.includes(p), `${p} missing from the Dockerfile`);
    assert.match(SANDBOX_DOCKERFILE, /ln -s python3 \/usr\/bin\/python/);
    assert.deepEqual(DEBOOTSTRAP_RECIPE.links, [['usr/bin/python', 'python3']]);
  });

  test('splitTag', () => {
    assert.deepEqual(splitTag('clawgym/sandbox:latest'), { repo: 'clawgym/sandbox', tagPart: 'latest' });
    assert.deepEqual(splitTag('clawgym/sandbox'), { repo: 'clawgym/sandbox', tagPart: 'latest' });
    assert.deepEqual(splitTag('localhost:5000/a/b:v1'), { repo: 'localhost:5000/a/b', tagPart: 'v1' });
    assert.deepEqual(splitTag('localhost:5000/a/b'), { repo: 'localhost:5000/a/b', tagPart: 'latest' });
  });

  test('an unreachable engine is reported as unavailable', async () => {
    const nowhere = new Docker({ socketPath: join(os.tmpdir(), `clawgym-no-engine-${randomBytes(4).toString('hex')}.sock`) });
    const e = await rejectsWithKind(buildImage(nowhere, { tag: 'clawgym/sandbox-test:x' }), 'unavailable');
    assert.match(e.message, /cannot reach the Docker engine/);
  });
});

describe('clawgym image build on the real engine', () => {
  let registryReachable: boolean | undefined;

  test('an existing image is skipped, fast and untouched', needsDocker(), async (t) => {
    assertDocker(t);
    const before = await imageId(TEST_IMAGE);
    const logs: string[] = [];
    const r = await buildImage(docker, { tag: TEST_IMAGE, onLog: (l) => logs.push(l) });
    assert.equal(r.built, false);
    assert.equal(r.method, undefined);
    assert.match(r.reason!, /already exists/);
    assert.ok(r.durationMs < 2000, `${r.durationMs} ms`);
    assert.deepEqual(logs, []);
    assert.equal(await imageId(TEST_IMAGE), before);
  });

  test('dockerfile: builds where a registry is reachable, else fails fast as registry-unreachable', needsDocker(), async (t) => {
    assertDocker(t);
    const tag = throwaway();
    made.add(tag);
    const logs: string[] = [];
    const t0 = Date.now();
    try {
      const r = await buildImage(docker, { tag, method: 'dockerfile', onLog: (l) => logs.push(l) });
      registryReachable = true;
      assert.equal(r.built, true);
      assert.equal(r.method, 'dockerfile');
      assert.ok(await imageId(tag));
    } catch (e) {
      registryReachable = false;
      assert.ok(e instanceof ImageBuildError, String(e));
      assert.equal(e.kind, 'registry-unreachable', e.message);
      assert.match(e.message, /debian:bookworm-slim/);
      assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
      assert.ok(logs.some((l) => /FROM debian:bookworm-slim/.test(l)), 'build progress was streamed');
      assert.equal(await imageId(tag), undefined, 'no image after a failed build');
    }
  });

  test('debootstrap: builds a working image, the second time from the cache', debootstrapSkip(), async (t) => {
    assertDocker(t);
    const tag = throwaway();
    made.add(tag);
    const tmpBefore = rootfsDirs();
    const first = await buildImage(docker, { tag, method: 'debootstrap' });
    t.diagnostic(`first build: ${(first.durationMs / 1000).toFixed(1)} s (${first.cached ? 'cached root filesystem' : 'cold'})`);
    assert.equal(first.built, true);
    assert.equal(first.method, 'debootstrap');
    const info = await docker.getImage(tag).inspect();
    assert.deepEqual(info.Config.Cmd, ['/bin/bash']);
    assert.equal(info.Config.Labels?.['clawgym.image.method'], 'debootstrap');
    // An independent look inside, beyond buildImage's own check.
    const out = execFileSync('docker', ['run', '--rm', '--network', 'none', tag, 'bash', '-c', 'readlink /usr/bin/python; python -c "import yaml, sys; print(yaml.safe_load(\'a: [1, 2]\'), sys.version_info >= (3, 9))"; ls /var/cache/apt/archives'], {
      encoding: 'utf8',
    });
    assert.equal(out, "python3\n{'a': [1, 2]} True\npartial\n");

    const firstId = info.Id;
    const logs: string[] = [];
    const second = await buildImage(docker, { tag, method: 'debootstrap', force: true, onLog: (l) => logs.push(l) });
    assert.notEqual(await imageId(tag), firstId);
    assert.equal(await imageId(firstId), undefined, 'the replaced image was left dangling');
    t.diagnostic(`cached rebuild: ${(second.durationMs / 1000).toFixed(1)} s`);
    assert.equal(second.cached, true);
    assert.ok(second.durationMs < 60_000, `${second.durationMs} ms`);
    assert.ok(logs.some((l) => /using the cached root filesystem/.test(l)));
    assert.deepEqual([...rootfsDirs()].filter((d) => !tmpBefore.has(d)), [], 'temporary root filesystem left behind');
  });

  test('auto falls back to debootstrap when no registry is reachable, and says why', debootstrapSkip(), async (t) => {
    assertDocker(t);
    const tag = throwaway();
    made.add(tag);
    const logs: string[] = [];
    const r = await buildImage(docker, { tag, onLog: (l) => logs.push(l) });
    assert.equal(r.built, true);
    if (registryReachable) {
      assert.equal(r.method, 'dockerfile');
      return;
    }
    assert.equal(r.method, 'debootstrap');
    assert.match(r.reason!, /cannot fetch the base image/);
    assert.ok(logs.some((l) => /^no registry reachable: /.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /falling back to debootstrap/.test(l)));
    assert.ok(logs.some((l) => /^verified /.test(l)));
  });

  test('the image check rejects an image without PyYAML', needsDocker(), async (t) => {
    assertDocker(t);
    const broken = throwaway();
    made.add(broken);
    const c = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['bash', '-c', 'rm -rf /usr/lib/python3/dist-packages/yaml'], Labels: { 'clawgym.image-verify': 'fixture' } });
    try {
      await c.start();
      await c.wait();
      const { repo, tagPart } = splitTag(broken);
      await c.commit({ repo, tag: tagPart });
    } finally {
      await c.remove({ force: true });
    }
    assert.match(await verifyImage(docker, TEST_IMAGE), /PyYAML/);
    const e = await rejectsWithKind(verifyImage(docker, broken), 'verify-failed');
    assert.match(e.message, /No module named 'yaml'/);
  });

  test('a cancelled build stops debootstrap and leaves no root filesystem, mount or partial cache behind', debootstrapSkip(), async (t) => {
    assertDocker(t);
    await rejectsWithKind(buildImage(docker, { tag: throwaway(), signal: AbortSignal.abort() }), 'cancelled');
    const cacheDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-image-cache-'));
    const tmpBefore = rootfsDirs();
    try {
      const ac = new AbortController();
      const tag = throwaway();
      made.add(tag);
      // Abort once debootstrap is downloading (a fresh cache dir forces the cold path).
      const p = buildImage(docker, { tag, method: 'debootstrap', cacheDir, signal: ac.signal, onLog: (l) => /^I: Retrieving/.test(l) && ac.abort() });
      await rejectsWithKind(p, 'cancelled');
      assert.deepEqual(fs.readdirSync(cacheDir), []);
      assert.deepEqual([...rootfsDirs()].filter((d) => !tmpBefore.has(d)), []);
      assert.doesNotMatch(fs.readFileSync('/proc/self/mountinfo', 'utf8'), /clawgym-rootfs-/);
      assert.equal(await imageId(tag), undefined);

      // Ctrl-C in the CLI: the registry's disposeAll() stops a build like it removes sandboxes.
      const tag2 = throwaway();
      made.add(tag2);
      let started!: () => void;
      const retrieving = new Promise<void>((r) => (started = r));
      const p2 = buildImage(docker, { tag: tag2, method: 'debootstrap', cacheDir, onLog: (l) => /^I: Retrieving/.test(l) && started() });
      const settled = rejectsWithKind(p2, 'cancelled');
      await retrieving;
      assert.ok(liveSandboxes().some((s) => s.name === `image build of ${tag2}`));
      assert.deepEqual(await disposeAll(30_000), []);
      await settled;
      assert.deepEqual(liveSandboxes().filter((s) => s.name.startsWith('image build')), []);
      assert.deepEqual(fs.readdirSync(cacheDir), []);
      assert.deepEqual([...rootfsDirs()].filter((d) => !tmpBefore.has(d)), []);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

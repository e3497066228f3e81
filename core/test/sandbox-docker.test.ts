/**
 * The Docker sandbox backend on the real engine: lifecycle, exec (streaming, exit codes, env,
 * cwd, stdin, timeouts, cancellation, output caps), copy in/out, labels and limits, the security
 * cases of issue 3 (escaping paths, planted symlinks, 1 GB of output, a fork bomb, a command that
 * never ends), engine errors, a remote engine over DOCKER_HOST=tcp://, gc, and signal cleanup in
 * a child process. Every container carries this file's run label and is removed in `finally`;
 * the last hook fails if one is left.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { createDockerBackend, DEFAULT_PIDS_LIMIT, DROPPED_CAPS, LABEL_CREATED, LABEL_OWNER, LABEL_RUN, LABEL_TRIAL, type DockerBackend, type DockerSandbox } from '../src/sandbox/docker';
import { gcSandboxes, ownerGone } from '../src/sandbox/gc';
import { disposeAll, installSignalHandlers, liveSandboxes, registerSandbox, unregisterSandbox } from '../src/sandbox/registry';
import { SandboxError, type Sandbox, type SandboxFile, type SandboxSpec } from '../src/sandbox/types';
import { assertDocker, needsDocker, TEST_IMAGE } from './docker';
import { assertTrickyRoundTrip, trickyFiles } from './fixtures/tricky-files';

/** Every container of this test file carries this run id. */
const RUN = `test-docker-${process.pid}-${randomBytes(3).toString('hex')}`;
const WORKDIR = '/root/.openclaw/workspace';

const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({ image: TEST_IMAGE, workdir: WORKDIR, runId: RUN, trialId: 't', ...over });
const file = (path: string, content: string, mode?: number): SandboxFile => ({ path, content: Buffer.from(content), ...(mode !== undefined ? { mode } : {}) });

let backendCache: DockerBackend | undefined;
const backend = (): DockerBackend => (backendCache ??= createDockerBackend());
let noSessionCache: DockerBackend | undefined;
/** The backend whose commands go through the in-sandbox session (default) or always `docker exec`. */
const backendFor = (session: boolean): DockerBackend => (session ? backend() : (noSessionCache ??= createDockerBackend({ session: false })));

async function withSandbox<T>(s: SandboxSpec, files: readonly SandboxFile[], fn: (sb: Sandbox) => Promise<T>, b = backend()): Promise<T> {
  const sb = await b.create(s, files);
  try {
    return await fn(sb);
  } finally {
    await sb.dispose();
  }
}

async function rejectsKind(p: Promise<unknown>, kind: SandboxError['kind'], message?: RegExp): Promise<SandboxError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SandboxError, `expected a SandboxError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  return assert.fail(`expected a SandboxError of kind ${kind}`);
}

/** `pid ppid cmdline` of every process in the sandbox (the image has no ps). */
async function processes(sb: Sandbox): Promise<{ pid: number; ppid: number; cmd: string }[]> {
  const r = await sb.exec([
    'bash',
    '-c',
    'for d in /proc/[0-9]*; do c=$(tr "\\0" " " < $d/cmdline 2>/dev/null) || continue; s=$(cat $d/stat 2>/dev/null) || continue; s=${s##*) }; set -- $s; echo "${d#/proc/} $2 $c"; done',
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid, ppid, ...cmd] = line.split(' ');
      return { pid: Number(pid), ppid: Number(ppid), cmd: cmd.join(' ').trim() };
    });
}

async function containersOfRun(runId = RUN): Promise<Docker.ContainerInfo[]> {
  return backend().docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
}

async function exists(id: string): Promise<boolean> {
  try {
    await backend().docker.getContainer(id).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

/** A TCP port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A backend built while DOCKER_HOST (and `extra`) have the given values (dockerode reads them at construction). */
function backendWithDockerHost(value: string, extra: Record<string, string> = {}): DockerBackend {
  const vars = { DOCKER_HOST: value, ...extra };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return createDockerBackend();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

const SSHD = '/usr/sbin/sshd';
const sshSkip = !existsSync(SSHD)
  ? `needs ${SSHD} (apt-get install openssh-server) to serve ssh://`
  : process.getuid?.() !== 0
    ? 'needs root to run a private sshd'
    : undefined;

describe('docker backend', needsDocker(), () => {
  after(async () => {
    if (backendCache === undefined) return;
    const left = await containersOfRun();
    const leftFromChild = await containersOfRun(`${RUN}-child`);
    const all = [...left, ...leftFromChild];
    await Promise.all(all.map((c) => backend().docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    assert.deepEqual(
      all.map((c) => c.Names[0]),
      [],
      'containers were left behind',
    );
  });

  test('ping, describe, imageExists', async (t) => {
    assertDocker(t);
    const b = backend();
    const v = await b.ping();
    assert.match(v.version, /^\d+\.\d+/);
    assert.match(b.describe(), new RegExp(`^docker ${v.version.replace(/[.+]/g, '\\$&')} at (unix|tcp|ssh)://`));
    assert.equal(b.name, 'docker');
    assert.equal(b.isolation, 'container');
    assert.equal(await b.imageExists(TEST_IMAGE), true);
    assert.equal(await b.imageExists('clawgym/no-such-image:never'), false);
  });

  for (const session of [true, false]) {
    describe(`one sandbox, many execs (${session ? 'session' : 'docker exec'})`, () => {
      let sb: Sandbox;
      test('create with files in place', async (t) => {
        assertDocker(t);
        sb = await backendFor(session).create(spec({ env: { FROM_SPEC: 'spec value', OVERRIDE: 'spec' } }), [
          file(`${WORKDIR}/hello.txt`, 'hello\n'),
          file('/opt/elsewhere/tool.sh', '#!/bin/bash\necho tool "$@"\n', 0o755),
        ]);
        assert.match(sb.name, new RegExp(`^clawgym-${RUN}-t-[0-9a-f]{8}$`));
        assert.match(sb.id, /^[0-9a-f]{64}$/);
        const r = await sb.exec('cat hello.txt && /opt/elsewhere/tool.sh a b');
        assert.equal(r.stdout, 'hello\ntool a b\n');
        assert.equal((sb as DockerSandbox).commandChannel, session ? 'session' : 'docker-exec');
      });

      test('exit codes, stdout and stderr apart, argv vs bash -c', async (t) => {
        assertDocker(t);
        const r = await sb.exec('echo out; echo err >&2; exit 7');
        assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.timedOut, r.outputLimitExceeded, r.truncated], [7, 'out\n', 'err\n', false, false, false]);
        assert.equal(r.stdoutBytes, 4);
        assert.ok(r.durationMs > 0);
        // argv runs as is: no shell expands "$HOME" or splits words.
        const argv = await sb.exec(['printf', '%s|', 'a b', '$HOME', '*']);
        assert.equal(argv.stdout, 'a b|$HOME|*|');
        const missing = await sb.exec(['no-such-binary']);
        assert.notEqual(missing.exitCode, 0);
        assert.match(missing.stdout + missing.stderr, /no-such-binary/);
        const signalled = await sb.exec('kill -TERM $$');
        assert.equal(signalled.exitCode, 143);
      });

      test('env (spec, then exec over it) and cwd (workdir by default)', async (t) => {
        assertDocker(t);
        const r = await sb.exec('echo "$FROM_SPEC|$OVERRIDE|$FROM_EXEC"; pwd', { env: { OVERRIDE: 'exec', FROM_EXEC: 'x y' } });
        assert.equal(r.stdout, `spec value|exec|x y\n${WORKDIR}\n`);
        const cwd = await sb.exec(['pwd'], { cwd: '/tmp' });
        assert.equal(cwd.stdout, '/tmp\n');
      });

      test('stdin is written then closed', async (t) => {
        assertDocker(t);
        const input = Buffer.alloc(300_000, 'z');
        const r = await sb.exec('wc -c; cat > /dev/null; echo done', { stdin: input });
        assert.equal(r.stdout, '300000\ndone\n');
        const text = await sb.exec(['cat'], { stdin: 'line1\nline2' });
        assert.equal(text.stdout, 'line1\nline2');
      });

      test('output streams as it is produced and is kept up to maxOutputBytes', async (t) => {
        assertDocker(t);
        const seen: { at: number; text: string }[] = [];
        const start = performance.now();
        const r = await sb.exec('echo first; sleep 1; echo second; head -c 5000 /dev/zero | tr "\\0" e >&2', {
          onStdout: (c) => seen.push({ at: performance.now() - start, text: Buffer.from(c).toString() }),
          maxOutputBytes: 1000,
        });
        assert.equal(seen[0]?.text, 'first\n');
        // The first line arrived before the command slept, not at the end.
        assert.ok(seen[0]!.at < r.durationMs - 700, `first chunk at ${seen[0]!.at} ms of ${r.durationMs}`);
        assert.equal(r.stdout, 'first\nsecond\n');
        assert.equal(r.stderr, 'e'.repeat(1000));
        assert.equal(r.stderrBytes, 5000);
        assert.equal(r.truncated, true);
        assert.equal(r.outputLimitExceeded, false);
      });

      test('an exec that never ends is killed at its timeout with everything it started', async (t) => {
        assertDocker(t);
        const start = performance.now();
        const r = await sb.exec('sleep infinity', { timeoutMs: 1000 });
        const took = performance.now() - start;
        assert.equal(r.timedOut, true);
        assert.equal(r.exitCode, 137);
        assert.ok(took >= 1000 && took < 3500, `took ${took} ms`);
        // Children that left the process group (setsid) and keep the output open die too.
        const start2 = performance.now();
        const r2 = await sb.exec('setsid sleep 7777 & (trap "" TERM; sleep 8888) & sleep infinity', { timeoutMs: 1000 });
        const took2 = performance.now() - start2;
        assert.equal(r2.timedOut, true);
        assert.ok(took2 < 4000, `took ${took2} ms`);
        // The keep-alive is `sleep infinity` under docker-init (pid 1): only its child may remain.
        const left = (await processes(sb)).filter((p) => /sleep (infinity|7777|8888)/.test(p.cmd) && p.pid !== 1 && p.ppid !== 1);
        assert.deepEqual(left, [], 'processes survived the timeout');
        // The keep-alive is still there and the sandbox still works.
        assert.equal((await sb.exec('echo ok')).stdout, 'ok\n');
      });

      test('a command that ends before its timeout is not timed out', async (t) => {
        assertDocker(t);
        const r = await sb.exec('exit 137', { timeoutMs: 5000 });
        assert.equal(r.exitCode, 137);
        assert.equal(r.timedOut, false);
      });

      test('an aborted exec rejects with cancelled and kills the command', async (t) => {
        assertDocker(t);
        const controller = new AbortController();
        const p = sb.exec('sleep 5555; echo never', { signal: controller.signal });
        setTimeout(() => controller.abort(), 300);
        const start = performance.now();
        await rejectsKind(p, 'cancelled');
        assert.ok(performance.now() - start < 3000);
        const left = (await processes(sb)).filter((p) => p.cmd.includes('sleep 5555'));
        assert.deepEqual(left, []);
        // Already aborted: nothing starts.
        await rejectsKind(sb.exec('true', { signal: AbortSignal.abort() }), 'cancelled');
      });

      test('1 GB to stdout is capped, reported and killed early', async (t) => {
        assertDocker(t);
        const start = performance.now();
        let streamed = 0;
        const r = await sb.exec('yes | head -c 1G; echo unreachable >&2', { onStdout: (c) => (streamed += c.byteLength) });
        const took = performance.now() - start;
        assert.equal(r.outputLimitExceeded, true);
        assert.equal(r.exitCode, 137);
        assert.equal(r.truncated, true);
        assert.equal(r.stdout.length, 1024 * 1024);
        assert.ok(r.stdout.startsWith('y\ny\n'));
        assert.ok(r.stdoutBytes > 64 * 1024 * 1024 && r.stdoutBytes < 128 * 1024 * 1024, `${r.stdoutBytes} bytes read`);
        assert.equal(streamed, r.stdoutBytes);
        assert.ok(took < 20_000, `took ${took} ms`);
        assert.deepEqual((await processes(sb)).filter((p) => /yes|head/.test(p.cmd)), []);
        // A smaller limit, set per exec.
        const small = await sb.exec('head -c 10M /dev/zero', { killAfterBytes: 1024 * 1024, maxOutputBytes: 10 });
        assert.equal(small.outputLimitExceeded, true);
        assert.equal(small.stdout.length, 10);
      });

      test('copyIn then copyOut: tricky names, modes, empty dirs, byte for byte', async (t) => {
        assertDocker(t);
        await sb.copyIn(trickyFiles);
        const out = await sb.copyOut('/w');
        assertTrickyRoundTrip(out.entries);
        // The sandbox sees the same bytes.
        const r = await sb.exec(['bash', '-c', 'stat -c "%a %s %n" /w/secret /w/run.sh "/w/with space/and  two.txt"; stat -c "%a %F" "/w/empty dir"; md5sum /w/bin.dat']);
        const md5 = createHash('md5').update(trickyFiles.find((f) => f.path === '/w/bin.dat')!.content).digest('hex');
        assert.equal(r.stdout, `600 2 /w/secret\n755 18 /w/run.sh\n644 7 /w/with space/and  two.txt\n755 directory\n${md5}  /w/bin.dat\n`);
        // Existing system directories keep their modes (no parent entries are written).
        const modes = await sb.exec(['stat', '-c', '%a', '/tmp', '/root']);
        assert.equal(modes.stdout, '1777\n700\n');
      });

      test('copy-out refuses escaping paths; planted symlinks come back as symlinks, never their targets', async (t) => {
        assertDocker(t);
        await rejectsKind(sb.copyOut(`${WORKDIR}/../../etc`), 'path-escape', /"\.\."/);
        await rejectsKind(sb.copyOut('etc'), 'path-escape', /not absolute/);
        await rejectsKind(sb.copyOut('/'), 'path-escape');
        await rejectsKind(sb.copyIn([file('/w/../etc/x', 'x')]), 'path-escape');
        const planted = await sb.exec(
          `mkdir -p ${WORKDIR}/sub && cd ${WORKDIR} && ln -s /etc/passwd leak && ln -s / rootlink && ln -s ../../../../etc sub/up && ln -s /root/.openclaw/workspace/hello.txt inside && ln -s /etc ${WORKDIR}-link`,
        );
        assert.equal(planted.exitCode, 0, planted.stderr);
        const out = await sb.copyOut(WORKDIR);
        const by = new Map(out.entries.map((e) => [e.path, e]));
        for (const [path, target] of [
          ['leak', '/etc/passwd'],
          ['rootlink', '/'],
          ['sub/up', '../../../../etc'],
          ['inside', '/root/.openclaw/workspace/hello.txt'],
        ] as const) {
          const e = by.get(path);
          assert.equal(e?.type, 'symlink', path);
          assert.equal(e?.linkTarget, target, path);
          assert.equal(e?.content, undefined, path);
        }
        assert.ok(![...by.keys()].some((p) => p.startsWith('rootlink/') || p.startsWith('sub/up/')), 'a symlink was followed');
        assert.ok(!out.entries.some((e) => e.content && Buffer.from(e.content).toString().includes('root:x:0:0')), '/etc/passwd leaked');
        // A copied directory that is itself a symlink is refused, not followed.
        await rejectsKind(sb.copyOut(`${WORKDIR}-link`), 'path-escape', /symlink/);
        await rejectsKind(sb.copyOut(`${WORKDIR}/hello.txt`), 'backend', /not a directory/);
        await rejectsKind(sb.copyOut('/no/such/dir'), 'backend', /no such directory/);
      });

      test('copy-out of a 1 GB file fails with too-large, quickly', async (t) => {
        assertDocker(t);
        const made = await sb.exec(`head -c 1G /dev/zero > ${WORKDIR}/big && head -c 100 /dev/zero > ${WORKDIR}/small`);
        assert.equal(made.exitCode, 0, made.stderr);
        const start = performance.now();
        const e = await rejectsKind(sb.copyOut(WORKDIR), 'too-large', /256 MiB cap while reading big/);
        assert.ok(performance.now() - start < 3000, `took ${performance.now() - start} ms: ${e.message}`);
        await sb.exec(`rm ${WORKDIR}/big`);
        // Over the per-file cap only: listed, without content.
        const out = await sb.copyOut(WORKDIR, { maxFileBytes: 50 });
        assert.ok(out.omitted.includes('small'));
        assert.equal(out.entries.find((x) => x.path === 'small')?.size, 100);
        assert.equal(out.entries.find((x) => x.path === 'small')?.content, undefined);
      });

      test('dispose is idempotent, never throws, and later calls fail clearly', async (t) => {
        assertDocker(t);
        assert.ok(liveSandboxes().includes(sb as never));
        await Promise.all([sb.dispose(), sb.dispose()]);
        await sb.dispose();
        assert.ok(!liveSandboxes().includes(sb as never));
        assert.equal(await exists(sb.id), false);
        await rejectsKind(sb.exec('true'), 'backend', /disposed/);
        await rejectsKind(sb.copyOut(WORKDIR), 'backend', /disposed/);
      });
    });
  }

  for (const initialCopy of ['stdin', 'archive'] as const) {
    test(`files given to create arrive byte for byte (initialCopy: ${initialCopy}); system dirs keep their modes`, async (t) => {
      assertDocker(t);
      const b = createDockerBackend({ initialCopy });
      const sb = await b.create(spec({ trialId: `files-${initialCopy}` }), [...trickyFiles, file(`${WORKDIR}/in-workdir.txt`, 'w')]);
      try {
        assertTrickyRoundTrip((await sb.copyOut('/w')).entries);
        const r = await sb.exec(['stat', '-c', '%a %U %n', '/tmp', '/root', '/w/secret', `${WORKDIR}/in-workdir.txt`]);
        assert.equal(r.stdout, `1777 root /tmp\n700 root /root\n600 root /w/secret\n644 root ${WORKDIR}/in-workdir.txt\n`);
        // The keep-alive runs under docker-init either way.
        const init = await sb.exec(['cat', '/proc/1/cmdline']);
        assert.match(init.stdout.replace(/\0/g, ' '), /docker-init -- /);
      } finally {
        await sb.dispose();
      }
    });
  }

  test('an image without tar falls back to putArchive for the files', async (t) => {
    assertDocker(t);
    const docker = backend().docker;
    const repo = 'clawgym-test-notar';
    const c = await docker.createContainer({ Image: TEST_IMAGE, Entrypoint: ['rm'], Cmd: ['/usr/bin/tar'], Labels: { [LABEL_RUN]: RUN } });
    try {
      await c.start();
      await c.wait();
      await c.commit({ repo, tag: RUN });
    } finally {
      await c.remove({ force: true });
    }
    const image = `${repo}:${RUN}`;
    try {
      const b = createDockerBackend({ initialCopy: 'stdin' });
      const sb = await b.create(spec({ image, trialId: 'notar' }), [file(`${WORKDIR}/a.txt`, 'fallback')]);
      try {
        assert.equal((await sb.exec('cat a.txt; command -v tar || echo no tar')).stdout, 'fallbackno tar\n');
      } finally {
        await sb.dispose();
      }
    } finally {
      await docker.getImage(image).remove({ force: true });
    }
  });

  test('labels, unique names, limits, security options, no network', async (t) => {
    assertDocker(t);
    const s = spec({ trialId: 'trial/with:odd chars', resources: { cpus: 0.5, memoryBytes: 256 * 1024 * 1024, pids: 99 } });
    const [a, b] = await Promise.all([backend().create(s, []), backend().create(s, [])]);
    try {
      assert.notEqual(a.name, b.name);
      assert.match(a.name, /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
      assert.ok(a.name.includes('trial-with-odd-chars'), a.name);
      const info = await backend().docker.getContainer(a.id).inspect();
      assert.equal(info.Name, `/${a.name}`);
      const labels = info.Config.Labels;
      assert.equal(labels[LABEL_RUN], RUN);
      assert.equal(labels[LABEL_TRIAL], 'trial/with:odd chars');
      assert.equal(labels[LABEL_OWNER], `${hostname()}:${process.pid}`);
      assert.ok(Math.abs(Date.parse(labels[LABEL_CREATED]!) - Date.now()) < 60_000);
      const hc = info.HostConfig;
      assert.equal(hc.NetworkMode, 'none');
      assert.equal(hc.NanoCpus, 500_000_000);
      assert.equal(hc.Memory, 256 * 1024 * 1024);
      assert.equal(hc.MemorySwap, 256 * 1024 * 1024);
      assert.equal(hc.PidsLimit, 99);
      assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
      assert.deepEqual(hc.CapDrop, DROPPED_CAPS);
      assert.equal(info.Config.WorkingDir, WORKDIR);
      // The limits hold inside: the cgroup says so, and only loopback exists.
      const r = await a.exec(
        'ls /sys/class/net; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; grep NoNewPrivs /proc/self/status',
      );
      assert.equal(r.stdout, 'lo\n99\nNoNewPrivs:\t1\n');
      // Normal work is unaffected by the dropped capabilities: files, chown, python, another user.
      const work = await a.exec(
        'set -e; mkdir -p d && echo x > d/f && chown nobody d/f && chmod 600 d/f && python3 -c "import yaml,sys; print(yaml.safe_load(\'a: 1\'))" && setpriv --reuid=nobody --regid=nogroup --clear-groups id -u 2>/dev/null || su -s /bin/sh nobody -c "id -u"',
      );
      assert.equal(work.exitCode, 0, work.stderr);
      assert.match(work.stdout, /\{'a': 1\}\n65534\n/);
      // No resources given: a default pids limit still applies.
      const d = await backend().create(spec({ trialId: 'defaults' }), []);
      try {
        const dinfo = await backend().docker.getContainer(d.id).inspect();
        assert.equal(dinfo.HostConfig.PidsLimit, DEFAULT_PIDS_LIMIT);
      } finally {
        await d.dispose();
      }
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });

  test('network "open" gets a network interface besides lo', async (t) => {
    assertDocker(t);
    await withSandbox(spec({ network: 'open' }), [], async (sb) => {
      const r = await sb.exec('ls /sys/class/net');
      assert.ok(r.stdout.split('\n').filter(Boolean).length >= 2, r.stdout);
    });
  });

  for (const session of [true, false]) {
    test(`a fork bomb under a pids limit fails cleanly and the sandbox is still usable and disposable (${session ? 'session' : 'docker exec'})`, async (t) => {
      assertDocker(t);
      let id = '';
      await withSandbox(spec({ trialId: 'forkbomb', resources: { pids: 64 } }), [], async (sb) => {
        id = sb.id;
        const start = performance.now();
        let result: Awaited<ReturnType<Sandbox['exec']>> | undefined;
        let error: unknown;
        try {
          result = await sb.exec('bomb() { bomb | bomb & }; bomb; sleep 60', { timeoutMs: 3000 });
        } catch (e) {
          error = e;
        }
        const took = performance.now() - start;
        assert.ok(took < 12_000, `took ${took} ms`);
        if (result) {
          assert.equal(result.timedOut, true);
          assert.equal(result.exitCode, 137);
        } else {
          // The last resort: the bomb could not be killed from inside; the caller disposes.
          assert.ok(error instanceof SandboxError && error.kind === 'backend', String(error));
        }
        // Once the bomb is gone (Docker's init reaps the orphans), the sandbox works again.
        let ok = false;
        for (let i = 0; i < 20 && !ok; i++) {
          const r = await sb.exec('echo alive').catch(() => undefined);
          ok = r?.stdout === 'alive\n';
          if (!ok) await new Promise((r) => setTimeout(r, 250));
        }
        assert.ok(ok, 'the sandbox did not recover after the fork bomb');
      }, backendFor(session));
      assert.equal(await exists(id), false);
    });
  }

  test('a missing image is image-missing, naming the image and `clawgym image build`', async (t) => {
    assertDocker(t);
    await rejectsKind(backend().create(spec({ image: 'clawgym/no-such-image:never' }), []), 'image-missing', /clawgym\/no-such-image:never.*clawgym image build/);
  });

  test('a failure after the container exists removes it', async (t) => {
    assertDocker(t);
    // A workdir that is a file: createContainer accepts it, start fails.
    await rejectsKind(backend().create(spec({ trialId: 'bad-start', workdir: '/etc/passwd' }), []), 'backend');
    assert.deepEqual((await containersOfRun()).filter((c) => c.Labels[LABEL_TRIAL] === 'bad-start'), []);
    // Cancelled at different points of a create (request, attach, start, extraction): nothing is left.
    let cancelledCount = 0;
    await Promise.all(
      [1, 10, 40, 100, 200].map(async (delay) => {
        const controller = new AbortController();
        const p = backend().create(spec({ trialId: 'cancelled' }), [file('/w/x', 'x')], { signal: controller.signal });
        setTimeout(() => controller.abort(), delay);
        try {
          await (await p).dispose(); // finished before the abort landed
        } catch (e) {
          assert.ok(e instanceof SandboxError && e.kind === 'cancelled', String(e));
          cancelledCount++;
        }
      }),
    );
    assert.ok(cancelledCount >= 3, `only ${cancelledCount} of 5 creates were cancelled`);
    assert.deepEqual((await containersOfRun()).filter((c) => c.Labels[LABEL_TRIAL] === 'cancelled'), []);
  });

  test('a dead engine is unavailable with an actionable message', async (t) => {
    assertDocker(t);
    const port = await closedPort();
    const dead = backendWithDockerHost(`tcp://127.0.0.1:${port}`);
    assert.equal(dead.endpoint, `tcp://127.0.0.1:${port}`);
    const e = await rejectsKind(dead.ping(), 'unavailable');
    assert.match(e.message, new RegExp(`tcp://127\\.0\\.0\\.1:${port} is not reachable \\(ECONNREFUSED`));
    assert.match(e.message, /start the Docker engine \(dockerd\), set DOCKER_HOST .* `--backend local`/);
    await rejectsKind(dead.create(spec(), [file('/w/a', 'a')]), 'unavailable', /not reachable/);
    const noSocket = createDockerBackend({ docker: new Docker({ socketPath: '/nonexistent/docker.sock' }) });
    assert.equal(noSocket.describe(), 'docker at unix:///nonexistent/docker.sock');
    await rejectsKind(noSocket.ping(), 'unavailable', /unix:\/\/\/nonexistent\/docker\.sock is not reachable \(ENOENT/);
  });

  test('DOCKER_HOST=tcp://127.0.0.1:PORT reaches a remote engine (a TCP relay to the socket)', async (t) => {
    assertDocker(t);
    const local = backend().endpoint;
    if (!local.startsWith('unix://')) {
      t.skip(`the engine is not on a local socket (${local})`);
      return;
    }
    const socketPath = local.slice('unix://'.length);
    let connections = 0;
    const relay = net.createServer({ allowHalfOpen: true }, (client) => {
      connections++;
      const upstream = net.connect({ path: socketPath, allowHalfOpen: true });
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as net.AddressInfo).port;
    try {
      const remote = backendWithDockerHost(`tcp://127.0.0.1:${port}`);
      await remote.ping();
      assert.match(remote.describe(), new RegExp(`^docker \\S+ at tcp://127\\.0\\.0\\.1:${port}$`));
      const sb = await remote.create(spec({ trialId: 'tcp' }), [file(`${WORKDIR}/in.txt`, 'over tcp')]);
      try {
        const r = await sb.exec('cat in.txt; cat >> in.txt', { stdin: ' and back' });
        assert.equal(r.stdout, 'over tcp');
        const timed = await sb.exec('sleep infinity', { timeoutMs: 500 });
        assert.equal(timed.timedOut, true);
        const out = await sb.copyOut(WORKDIR);
        assert.equal(Buffer.from(out.entries.find((e) => e.path === 'in.txt')!.content!).toString(), 'over tcp and back');
      } finally {
        await sb.dispose();
      }
      assert.equal(await exists(sb.id), false);
      assert.ok(connections > 0);
    } finally {
      relay.close();
    }
  });

  test('DOCKER_HOST=ssh://root@127.0.0.1:PORT reaches an engine over ssh (a private sshd and ssh-agent)', { skip: sshSkip }, async (t) => {
    assertDocker(t);
    const dir = mkdtempSync(join(tmpdir(), 'clawgym-ssh-'));
    const children: ReturnType<typeof spawn>[] = [];
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hostkey')]);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'userkey')]);
      writeFileSync(join(dir, 'authorized_keys'), execFileSync('cat', [join(dir, 'userkey.pub')]), { mode: 0o600 });
      const port = await closedPort();
      writeFileSync(
        join(dir, 'sshd_config'),
        [
          'ListenAddress 127.0.0.1',
          `Port ${port}`,
          `HostKey ${join(dir, 'hostkey')}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          'StrictModes no',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PermitRootLogin prohibit-password',
          'UsePAM no',
          `PidFile ${join(dir, 'sshd.pid')}`,
        ].join('\n'),
      );
      mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
      children.push(spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' }));
      const agentSock = join(dir, 'agent.sock');
      children.push(spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' }));
      await waitFor(() => existsSync(agentSock), 'ssh-agent');
      execFileSync('ssh-add', ['-q', join(dir, 'userkey')], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: 'ignore' });
      await waitFor(() => canConnect(port), 'sshd');

      const remote = backendWithDockerHost(`ssh://root@127.0.0.1:${port}`, { SSH_AUTH_SOCK: agentSock });
      assert.equal(remote.endpoint, `ssh://root@127.0.0.1:${port}`);
      await remote.ping();
      const sb = await remote.create(spec({ trialId: 'ssh' }), [file(`${WORKDIR}/in.txt`, 'over ssh')]);
      try {
        assert.equal((await sb.exec('cat in.txt')).stdout, 'over ssh');
        assert.equal((await sb.exec(['wc', '-c'], { stdin: '12345' })).stdout, '5\n');
        const out = await sb.copyOut(WORKDIR);
        assert.deepEqual(out.entries.map((e) => e.path), ['in.txt']);
      } finally {
        await sb.dispose();
      }
      assert.equal(await exists(sb.id), false);
    } finally {
      for (const c of children) c.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('gc removes containers whose owner died, keeps live and foreign owners, never touches unlabelled ones', async (t) => {
    assertDocker(t);
    const docker = backend().docker;
    // A pid that is certainly dead: a child that has exited.
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    const make = (labels: Record<string, string>) =>
      docker.createContainer({ Image: TEST_IMAGE, Entrypoint: ['sleep'], Cmd: ['infinity'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
    const now = new Date().toISOString();
    const base = { [LABEL_RUN]: RUN, [LABEL_CREATED]: now };
    const dead = await make({ ...base, [LABEL_TRIAL]: 'dead', [LABEL_OWNER]: `${hostname()}:${deadPid}` });
    const alive = await make({ ...base, [LABEL_TRIAL]: 'alive', [LABEL_OWNER]: `${hostname()}:${process.pid}` });
    const foreign = await make({ ...base, [LABEL_TRIAL]: 'foreign', [LABEL_OWNER]: `some-other-host.invalid:${deadPid}` });
    // Ours (so the after hook finds it) but without the gc label: gc must not see it.
    const unlabelled = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['true'], Labels: { 'dev.clawgym.test': RUN } });
    try {
      // Unfiltered dry run: sees every clawgym container on the engine, removes nothing.
      const dry = await gcSandboxes(docker, { dryRun: true });
      const ids = (items: { id: string }[]) => new Set(items.map((i) => i.id));
      assert.ok(ids(dry.removed).has(dead.id));
      assert.ok(ids(dry.kept).has(alive.id));
      assert.ok(ids(dry.kept).has(foreign.id));
      assert.ok(!ids(dry.removed).has(unlabelled.id) && !ids(dry.kept).has(unlabelled.id));
      assert.equal(await exists(dead.id), true);
      const item = dry.removed.find((i) => i.id === dead.id)!;
      assert.deepEqual({ ...item, name: '' }, { name: '', id: dead.id, run: RUN, trial: 'dead', owner: `${hostname()}:${deadPid}`, created: now, reason: `owner process ${deadPid} is gone` });
      assert.match(dry.kept.find((i) => i.id === foreign.id)!.reason, /another host/);
      assert.match(dry.kept.find((i) => i.id === alive.id)!.reason, /is running/);

      // For real, limited to this run so that other users' leftovers are not ours to judge here.
      const res = await gcSandboxes(docker, { runId: RUN });
      assert.deepEqual([...ids(res.removed)], [dead.id]);
      assert.equal(await exists(dead.id), false);
      assert.equal(await exists(alive.id), true);
      assert.equal(await exists(unlabelled.id), true);

      // --all removes every clawgym container of the run, never the unlabelled one.
      const all = await gcSandboxes(docker, { runId: RUN, all: true });
      assert.deepEqual(ids(all.removed), new Set([alive.id, foreign.id]));
      assert.equal(await exists(unlabelled.id), true);
    } finally {
      await Promise.all([dead, alive, foreign, unlabelled].map((c) => c.remove({ force: true }).catch(() => undefined)));
    }
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`a process holding a sandbox that gets ${signal} exits ${code} and leaves no container`, async (t) => {
      assertDocker(t);
      const childRun = `${RUN}-child`;
      const script = join(__dirname, 'fixtures', 'sigint-child.js');
      const child = spawn(process.execPath, [script, TEST_IMAGE, childRun], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let buf = '';
          child.stdout.on('data', (c: Buffer) => {
            buf += c.toString();
            if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
          });
          void exited.then((c) => reject(new Error(`child exited ${c}: ${stderr}`)));
        });
        const { id } = JSON.parse(line) as { id: string };
        assert.equal(await exists(id), true);
        // Let the exec start, so the signal lands mid-call.
        await new Promise((r) => setTimeout(r, 300));
        child.kill(signal);
        const exitCode = await exited;
        assert.equal(exitCode, code, stderr);
        assert.match(stderr, new RegExp(`got ${signal}`));
        assert.equal(await exists(id), false, 'the container survived the signal');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  }
});

describe('registry and gc helpers (no engine)', () => {
  test('disposeAll disposes in parallel and gives up on a stuck dispose after the timeout', async () => {
    const disposed: string[] = [];
    const quick = { name: 'quick', dispose: async () => void disposed.push('quick') };
    const stuck = { name: 'stuck', dispose: () => new Promise<void>(() => undefined) };
    const throwing = { name: 'throwing', dispose: () => Promise.reject(new Error('nope')) };
    registerSandbox(quick);
    registerSandbox(stuck);
    registerSandbox(throwing);
    const start = performance.now();
    const left = await disposeAll(200);
    assert.deepEqual(left, ['stuck']);
    assert.deepEqual(disposed, ['quick']);
    assert.ok(performance.now() - start < 1000);
    assert.deepEqual(liveSandboxes().map((s) => s.name), ['stuck']);
    unregisterSandbox(stuck);
  });

  test('signal handlers: the first signal disposes then exits 130/143, a second exits at once; install once, uninstall', async (t) => {
    const before = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
    if (before.SIGINT + before.SIGTERM > 0) {
      t.skip('this process already handles SIGINT/SIGTERM; emitting one would reach those handlers too');
      return;
    }
    const codes: number[] = [];
    const seen: string[] = [];
    let release!: () => void;
    const slow = { name: 'slow', dispose: () => new Promise<void>((r) => (release = r)) };
    registerSandbox(slow);
    const uninstall = installSignalHandlers({ exit: (c) => codes.push(c), onSignal: (s) => seen.push(s), disposeTimeoutMs: 5000 });
    try {
      assert.equal(installSignalHandlers(), uninstall, 'a second install keeps the first');
      assert.equal(process.listenerCount('SIGINT'), 1);
      process.emit('SIGINT', 'SIGINT');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(codes, [], 'exited before disposal finished');
      assert.deepEqual(seen, ['SIGINT']);
      process.emit('SIGTERM', 'SIGTERM');
      assert.deepEqual(codes, [143], 'the second signal did not exit at once');
      release();
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(codes, [143, 130]);
      assert.ok(!liveSandboxes().includes(slow));
    } finally {
      uninstall();
      unregisterSandbox(slow);
    }
    assert.equal(process.listenerCount('SIGINT'), 0);
    assert.equal(process.listenerCount('SIGTERM'), 0);
    assert.notEqual(installSignalHandlers({ exit: () => undefined }), uninstall, 'uninstall allows a new install');
    installSignalHandlers()();
  });

  test('ownerGone: dead pid, live pid, other host, reused pid, malformed labels', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.on('exit', r));
    const host = 'h1';
    assert.match(ownerGone(`${host}:${child.pid}`, Date.now(), host) ?? '', /is gone/);
    assert.equal(ownerGone(`${host}:${process.pid}`, Date.now(), host), undefined);
    assert.equal(ownerGone(`other:${child.pid}`, Date.now(), host), undefined);
    assert.equal(ownerGone('garbage', Date.now(), host), undefined);
    assert.equal(ownerGone(`${host}:notapid`, Date.now(), host), undefined);
    if (process.platform === 'linux') {
      // This process is alive but started after a container "created" an hour ago: its pid was reused.
      assert.match(ownerGone(`${host}:${process.pid}`, Date.now() - 3_600_000, host) ?? '', /newer process/);
    }
  });
});

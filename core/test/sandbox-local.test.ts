/**
 * The local (no-Docker) sandbox backend, with real processes: once with bubblewrap (when it works
 * on this machine; required in CI) and once forced unisolated (`bubblewrap: 'never'`).
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { bubblewrapStatus, createLocalBackend } from '../src/sandbox/local';
import { SandboxError, type Sandbox, type SandboxBackend, type SandboxFile, type SandboxSpec } from '../src/sandbox/types';

const WORKDIR = '/root/.openclaw/workspace';
/** CI sets this (or CLAWGYM_REQUIRE_DOCKER): a machine without working bubblewrap fails instead of skipping. */
const bwrapRequired = process.env.CLAWGYM_REQUIRE_BWRAP === '1' || process.env.CLAWGYM_REQUIRE_DOCKER === '1';
const bw = bubblewrapStatus();

const modes: { label: string; bubblewrap: 'require' | 'never'; skip?: string }[] = [
  { label: 'bubblewrap', bubblewrap: 'require', skip: bw.ok || bwrapRequired ? undefined : `bubblewrap unusable here: ${bw.problem}` },
  { label: 'unisolated', bubblewrap: 'never' },
];

const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({ image: 'unused', workdir: WORKDIR, runId: 'run1', trialId: 't1', ...over });
const file = (path: string, content: string | Uint8Array, mode?: number): SandboxFile => ({
  path,
  content: typeof content === 'string' ? Buffer.from(content) : content,
  ...(mode !== undefined ? { mode } : {}),
});
const marker = () => `${1000 + Math.floor(Math.random() * 1000)}.${randomBytes(3).readUIntBE(0, 3)}`;

/** Host pids whose command line mentions `text` (every process on the machine, sandboxed or not). */
function processesWith(text: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes(text)) found.push(Number(pid));
    } catch {
      // exited
    }
  }
  return found;
}

async function rejectsWithKind(p: Promise<unknown>, kind: SandboxError['kind'], message?: RegExp): Promise<SandboxError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SandboxError, `expected a SandboxError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a SandboxError of kind ${kind}`);
}

for (const mode of modes) {
  describe(`local backend, ${mode.label}`, { skip: mode.skip }, () => {
    let backend: SandboxBackend;
    const live: Sandbox[] = [];
    const make = async (files: SandboxFile[] = [], over: Partial<SandboxSpec> = {}) => {
      backend ??= createLocalBackend({ bubblewrap: mode.bubblewrap });
      const s = await backend.create(spec(over), files);
      live.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of live.splice(0)) await s.dispose();
    });

    test('reports its isolation plainly', () => {
      backend ??= createLocalBackend({ bubblewrap: mode.bubblewrap });
      assert.equal(backend.name, 'local');
      assert.equal(backend.isolation, mode.bubblewrap === 'require' ? 'bubblewrap' : 'none');
      assert.match(backend.describe(), mode.bubblewrap === 'require' ? /bubblewrap.*weaker than Docker/ : /NOT isolated/);
    });

    test('exec: exit codes, streamed output, stdin, env, cwd', async () => {
      const s = await make([], { env: { A: 'from-spec', B: 'from-spec' } });
      const r1 = await s.exec('echo out; echo err >&2; exit 3');
      assert.equal(r1.exitCode, 3);
      assert.equal(r1.stdout, 'out\n');
      assert.equal(r1.stderr, 'err\n');
      assert.equal(r1.stdoutBytes, 4);
      assert.equal(r1.timedOut || r1.outputLimitExceeded || r1.truncated, false);

      const chunks: string[] = [];
      const r2 = await s.exec(['bash', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.05; done'], { onStdout: (c) => chunks.push(Buffer.from(c).toString()) });
      assert.equal(chunks.join(''), 'line1\nline2\nline3\n');
      assert.ok(chunks.length >= 2, `output arrived as it was written (${chunks.length} chunks)`);
      assert.equal(r2.stdout, 'line1\nline2\nline3\n');

      const r3 = await s.exec(['cat'], { stdin: 'piped in' });
      assert.equal(r3.stdout, 'piped in');
      const r4 = await s.exec('echo "$A $B"', { env: { B: 'from-exec' } });
      assert.equal(r4.stdout, 'from-spec from-exec\n');
      const r5 = await s.exec('pwd; cd "$CLAWGYM_WORKSPACE" && pwd -P');
      const [pwd, ws] = r5.stdout.trim().split('\n');
      assert.equal(pwd, ws, 'default cwd is the workspace');
      if (mode.bubblewrap === 'require') assert.equal(pwd, WORKDIR);
      const r6 = await s.exec(['no-such-command-here']);
      assert.notEqual(r6.exitCode, 0);
      assert.match(r6.stderr, /no-such-command-here/);
    });

    test('the host environment does not leak in (no API keys)', async () => {
      const secret = `sk-test-${randomBytes(8).toString('hex')}`;
      process.env.OPENAI_API_KEY = secret;
      process.env.CLAWGYM_TEST_SECRET = secret;
      try {
        const s = await make();
        const r = await s.exec('env');
        assert.equal(r.exitCode, 0);
        assert.ok(!r.stdout.includes(secret), 'secret visible in the sandbox');
        assert.doesNotMatch(r.stdout, /OPENAI_API_KEY|CLAWGYM_TEST_SECRET/);
        assert.match(r.stdout, /^PATH=/m);
        assert.match(r.stdout, /^HOME=/m);
      } finally {
        delete process.env.OPENAI_API_KEY;
        delete process.env.CLAWGYM_TEST_SECRET;
      }
    });

    test('a timeout kills the command and every process it started', async () => {
      const s = await make();
      const a = marker();
      const b = marker();
      const t0 = Date.now();
      const r = await s.exec(`sleep ${a} & sleep ${b}`, { timeoutMs: 500 });
      assert.equal(r.timedOut, true);
      assert.equal(r.exitCode, 137);
      assert.ok(Date.now() - t0 < 5000, `returned after ${Date.now() - t0} ms`);
      assert.deepEqual(processesWith(a), [], 'background sleep survived');
      assert.deepEqual(processesWith(b), [], 'foreground sleep survived');
    });

    test('background processes live on after their exec returned, until quiesce', async () => {
      const s = await make();
      const a = marker();
      const t0 = Date.now();
      const r = await s.exec(`sleep ${a} & echo started`);
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout, 'started\n');
      assert.ok(Date.now() - t0 < 2000, `returned after ${Date.now() - t0} ms`);
      assert.equal(processesWith(a).length, 1, 'the background sleep runs on');
      const q = await s.quiesce!();
      assert.equal(q.clean, true, q.detail);
      assert.ok(q.killed >= 1, q.detail);
      assert.deepEqual(processesWith(a), []);
      assert.equal((await s.exec('echo still works')).stdout, 'still works\n');
    });

    test('1 GB of stdout is capped and the command killed early', async () => {
      const s = await make();
      const seen = { bytes: 0 };
      const t0 = Date.now();
      // Default caps: 1 MiB kept, killed past 64 MiB.
      const r = await s.exec('head -c 1073741824 /dev/zero; echo finished', { onStdout: (c) => (seen.bytes += c.length) });
      const ms = Date.now() - t0;
      assert.equal(r.outputLimitExceeded, true);
      assert.equal(r.exitCode, 137);
      assert.equal(r.truncated, true);
      assert.equal(r.stdout.length, 1024 * 1024);
      assert.ok(r.stdoutBytes > 64 * 1024 * 1024 && r.stdoutBytes < 128 * 1024 * 1024, `read ${r.stdoutBytes} bytes`);
      assert.ok(seen.bytes >= 64 * 1024 * 1024, `streamed ${seen.bytes} bytes before the kill`);
      assert.ok(ms < 10_000, `took ${ms} ms`);
      const small = await s.exec('head -c 100000 /dev/zero', { maxOutputBytes: 1000, killAfterBytes: 50_000 });
      assert.equal(small.outputLimitExceeded, true);
      assert.equal(small.stdout.length, 1000);
    });

    test('abort cancels a running exec and kills it; an aborted signal never starts one', async () => {
      const s = await make();
      const a = marker();
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      await rejectsWithKind(s.exec(['sleep', a], { signal: ac.signal }), 'cancelled');
      assert.deepEqual(processesWith(a), []);
      await rejectsWithKind(s.exec(['touch', 'never'], { signal: AbortSignal.abort() }), 'cancelled');
      assert.equal((await s.exec('test -e never')).exitCode, 1);
      await rejectsWithKind(backend.create(spec(), [], { signal: AbortSignal.abort() }), 'cancelled');
    });

    test('copy round trip of tricky files: empty, spaces, dot-files, deep, empty dirs, modes, bytes', async () => {
      const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const s = await make([
        file(`${WORKDIR}/empty.txt`, ''),
        file(`${WORKDIR}/name with spaces.txt`, 'spaces\n'),
        file(`${WORKDIR}/.hidden`, 'dot\n'),
        file(`${WORKDIR}/input/a/b/c/d/e/deep.txt`, 'deep\n'),
        file(`${WORKDIR}/run.sh`, '#!/bin/bash\necho ran\n', 0o755),
        file(`${WORKDIR}/private.txt`, 'p', 0o600),
        file(`${WORKDIR}/bytes.bin`, allBytes),
        { path: `${WORKDIR}/empty dir`, content: new Uint8Array(0), type: 'directory' },
        { path: `${WORKDIR}/input/locked`, content: new Uint8Array(0), type: 'directory', mode: 0o700 },
      ]);
      // Commands see the files where the task put them.
      const r = await s.exec('./run.sh && cat "name with spaces.txt" input/a/b/c/d/e/deep.txt && stat -c %a private.txt && test -d "empty dir"');
      assert.equal(r.stdout, 'ran\nspaces\ndeep\n600\n', r.stderr);
      const out = await s.copyOut(WORKDIR);
      const byPath = new Map(out.entries.map((e) => [e.path, e]));
      assert.deepEqual([...byPath.keys()].sort(), [
        '.hidden',
        'bytes.bin',
        'empty dir',
        'empty.txt',
        'input',
        'input/a',
        'input/a/b',
        'input/a/b/c',
        'input/a/b/c/d',
        'input/a/b/c/d/e',
        'input/a/b/c/d/e/deep.txt',
        'input/locked',
        'name with spaces.txt',
        'private.txt',
        'run.sh',
      ]);
      const text = (p: string) => Buffer.from(byPath.get(p)!.content!).toString();
      assert.equal(text('empty.txt'), '');
      assert.equal(byPath.get('empty.txt')!.type, 'file');
      assert.equal(text('name with spaces.txt'), 'spaces\n');
      assert.equal(text('.hidden'), 'dot\n');
      assert.equal(text('input/a/b/c/d/e/deep.txt'), 'deep\n');
      assert.deepEqual(Buffer.from(byPath.get('bytes.bin')!.content!), Buffer.from(allBytes));
      assert.equal(byPath.get('run.sh')!.mode, 0o755);
      assert.equal(byPath.get('private.txt')!.mode, 0o600);
      assert.equal(byPath.get('.hidden')!.mode, 0o644);
      assert.equal(byPath.get('empty dir')!.type, 'directory');
      assert.equal(byPath.get('input/locked')!.mode, 0o700);
      assert.equal(byPath.get('input/a')!.mode, 0o755, 'implicit parents are 0755');
      assert.equal(out.totalBytes, 0 + 7 + 4 + 5 + 21 + 1 + 256);
      assert.deepEqual(out.omitted, []);
      // A sub-directory, and /tmp.
      assert.deepEqual((await s.copyOut(`${WORKDIR}/input/a/b/c/d`)).entries.map((e) => e.path), ['e', 'e/deep.txt']);
      const tmpDir = `/tmp/clawgym-test-${randomBytes(4).toString('hex')}`;
      await s.copyIn([file(`${tmpDir}/x.txt`, 'in tmp')]);
      assert.equal((await s.exec(['cat', `${tmpDir}/x.txt`])).stdout, 'in tmp');
      assert.deepEqual((await s.copyOut(tmpDir)).entries.map((e) => [e.path, Buffer.from(e.content!).toString()]), [['x.txt', 'in tmp']]);
      // copyIn over an existing file replaces it.
      await s.copyIn([file(`${WORKDIR}/.hidden`, 'again', 0o640)]);
      assert.equal((await s.exec('cat .hidden; stat -c %a .hidden')).stdout, 'again640\n');
    });

    test('copyOut caps: big files listed without content, too much in total is too-large', async () => {
      const s = await make([file(`${WORKDIR}/small.txt`, 'x'.repeat(10)), file(`${WORKDIR}/big.txt`, 'y'.repeat(5000))]);
      const r = await s.copyOut(WORKDIR, { maxFileBytes: 1000 });
      assert.deepEqual(r.omitted, ['big.txt']);
      const big = r.entries.find((e) => e.path === 'big.txt')!;
      assert.equal(big.content, undefined);
      assert.equal(big.size, 5000);
      assert.equal(r.totalBytes, 10);
      await rejectsWithKind(s.copyOut(WORKDIR, { maxTotalBytes: 1000 }), 'too-large');
      await rejectsWithKind(s.copyOut(WORKDIR, { signal: AbortSignal.abort() }), 'cancelled');
    });

    test('symlinks planted by a command are reported, never followed, by copyOut', async () => {
      const s = await make([file(`${WORKDIR}/a.txt`, 'a')]);
      const r = await s.exec('ln -s /etc etc_link && ln -s /etc/hostname host_file && ln -s ../../.. up && mkfifo pipe');
      assert.equal(r.exitCode, 0, r.stderr);
      const out = await s.copyOut(WORKDIR);
      const byPath = new Map(out.entries.map((e) => [e.path, e]));
      assert.deepEqual([...byPath.keys()].sort(), ['a.txt', 'etc_link', 'host_file', 'pipe', 'up']);
      assert.deepEqual(
        ['etc_link', 'host_file', 'up'].map((p) => [byPath.get(p)!.type, byPath.get(p)!.linkTarget, byPath.get(p)!.content]),
        [
          ['symlink', '/etc', undefined],
          ['symlink', '/etc/hostname', undefined],
          ['symlink', '../../..', undefined],
        ],
      );
      assert.equal(byPath.get('pipe')!.type, 'other');
      assert.equal(out.totalBytes, 1);
      // Asking for a directory through a link is refused.
      await rejectsWithKind(s.copyOut(`${WORKDIR}/etc_link`), 'path-escape', /symbolic link/);
    });

    test('copyIn never writes through a symlink a command planted', async () => {
      const outside = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-outside-'));
      try {
        fs.writeFileSync(join(outside, 'victim.txt'), 'original');
        const s = await make();
        // The link's target is the host path: what an unisolated command could reach, and what a
        // careless copyIn on the host would follow in either mode.
        assert.equal((await s.exec(['ln', '-s', outside, 'x'])).exitCode, 0);
        assert.equal((await s.exec(['ln', '-s', join(outside, 'victim.txt'), 'v'])).exitCode, 0);
        await rejectsWithKind(s.copyIn([file(`${WORKDIR}/x/passwd`, 'owned')]), 'path-escape', /x is a symbolic link/);
        await rejectsWithKind(s.copyIn([file(`${WORKDIR}/x/new/deeper.txt`, 'owned')]), 'path-escape');
        await rejectsWithKind(s.copyIn([{ path: `${WORKDIR}/x`, content: new Uint8Array(0), type: 'directory' }]), 'path-escape');
        assert.deepEqual(fs.readdirSync(outside), ['victim.txt']);
        // A link in the last position is replaced, not written through.
        await s.copyIn([file(`${WORKDIR}/v`, 'replaced')]);
        assert.equal(fs.readFileSync(join(outside, 'victim.txt'), 'utf8'), 'original');
        const v = (await s.copyOut(WORKDIR)).entries.find((e) => e.path === 'v')!;
        assert.equal(v.type, 'file');
        assert.equal(Buffer.from(v.content!).toString(), 'replaced');
      } finally {
        fs.rmSync(outside, { recursive: true, force: true });
      }
    });

    test('paths outside the sandbox or with .. are refused', async () => {
      const s = await make();
      for (const p of [`${WORKDIR}/../escape.txt`, `${WORKDIR}/a/../../b`, '/etc/passwd', '/root/elsewhere.txt', 'relative.txt', '', `/tmp/../etc/x`]) {
        await rejectsWithKind(s.copyIn([file(p, 'x')]), 'path-escape');
      }
      await rejectsWithKind(s.copyOut('/etc'), 'path-escape', /outside/);
      await rejectsWithKind(s.copyOut(`${WORKDIR}/..`), 'path-escape');
      assert.equal(fs.existsSync('/root/elsewhere.txt'), false);
      await rejectsWithKind(backend.create(spec({ workdir: '/' }), []), 'path-escape');
      await rejectsWithKind(backend.create(spec(), [file('/etc/clawgym-test', 'x')]), 'path-escape');
    });

    test('a memory limit stops a command that allocates past it', async () => {
      const s = await make([], { resources: { memoryBytes: 256 * 1024 * 1024 } });
      const small = await s.exec(['python3', '-c', 'x = bytearray(50 * 2**20); print(len(x))']);
      assert.equal(small.stdout, `${50 * 2 ** 20}\n`, small.stderr);
      const big = await s.exec(['python3', '-c', 'x = bytearray(512 * 2**20); print(len(x))']);
      assert.notEqual(big.exitCode, 0);
      assert.match(big.stderr, /MemoryError/);
    });

    test('dispose removes everything (read-only dirs too), cancels running execs, is idempotent', async () => {
      const s = await make([file(`${WORKDIR}/a.txt`, 'a')]);
      const tmpDir = `/tmp/clawgym-test-${randomBytes(4).toString('hex')}`;
      await s.copyIn([file(`${tmpDir}/t.txt`, 't')]);
      assert.equal((await s.exec('mkdir -p ro/sub && touch ro/sub/f && chmod 555 ro/sub ro && chmod 444 a.txt')).exitCode, 0);
      const a = marker();
      const running = rejectsWithKind(s.exec(['sleep', a]), 'cancelled');
      await new Promise((r) => setTimeout(r, 200));
      await Promise.all([s.dispose(), s.dispose()]);
      await running;
      assert.deepEqual(processesWith(a), []);
      assert.equal(fs.existsSync(s.id), false, `${s.id} left behind`);
      assert.equal(fs.existsSync(tmpDir), false, `${tmpDir} left behind`);
      await s.dispose();
      await rejectsWithKind(s.exec('true'), 'backend', /disposed/);
    });
  });
}

describe('local backend, bubblewrap only', { skip: modes[0].skip }, () => {
  const live: Sandbox[] = [];
  after(async () => {
    for (const s of live) await s.dispose();
  });
  const make = async (over: Partial<SandboxSpec> = {}, files: SandboxFile[] = []) => {
    const s = await createLocalBackend({ bubblewrap: 'require' }).create(spec(over), files);
    live.push(s);
    return s;
  };

  test('the workspace is at its absolute path; the host home, /run and /tmp are not visible', async () => {
    const hostTmp = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-visible-'));
    try {
      const s = await make({}, [file(`${WORKDIR}/in.txt`, 'hello')]);
      const r = await s.exec(`cat ${WORKDIR}/in.txt; echo; python3 -c "print(open('${WORKDIR}/in.txt').read())"; ls -A /root; ls /run 2>&1; ls ${hostTmp} 2>&1; id -u`);
      assert.equal(r.stdout, `hello\nhello\n.openclaw\nls: cannot access '/run': No such file or directory\nls: cannot access '${hostTmp}': No such file or directory\n0\n`);
      // Writes outside the workspace and /tmp do not reach the host.
      const w = await s.exec('{ echo x > /usr/clawgym-test; } 2>&1; { echo x > /etc/clawgym-test; } 2>&1');
      assert.match(w.stdout, /\/usr\/clawgym-test: Read-only file system\n.*\/etc\/clawgym-test: Read-only file system/);
      assert.equal(fs.existsSync('/etc/clawgym-test'), false);
    } finally {
      fs.rmSync(hostTmp, { recursive: true, force: true });
    }
  });

  test('network none leaves only the loopback interface; open shares the host network', async () => {
    const ifaces = (text: string) =>
      text
        .split('\n')
        .slice(2)
        .map((l) => l.split(':')[0].trim())
        .filter(Boolean)
        .sort();
    const none = await make({ network: 'none' });
    assert.deepEqual(ifaces((await none.exec('cat /proc/net/dev')).stdout), ['lo']);
    const open = await make({ network: 'open' });
    const hostIfaces = ifaces(fs.readFileSync('/proc/net/dev', 'utf8'));
    assert.deepEqual(ifaces((await open.exec('cat /proc/net/dev')).stdout), hostIfaces);
  });
});

describe('local backend, unisolated only', () => {
  test('commands naming the absolute workspace path are translated; CLAWGYM_WORKSPACE is the real one', async () => {
    const s = await createLocalBackend({ bubblewrap: 'never' }).create(spec(), [file(`${WORKDIR}/in.txt`, 'hello')]);
    try {
      const r = await s.exec(`cat ${WORKDIR}/in.txt && cd "$CLAWGYM_WORKSPACE" && cat in.txt && echo " ${WORKDIR}x"`, { cwd: `${WORKDIR}/` });
      assert.equal(r.stdout, `hellohello ${WORKDIR}x\n`, r.stderr);
      assert.equal((await s.exec(['cat', `${WORKDIR}/in.txt`])).stdout, 'hello');
      assert.equal((await s.exec('echo "$CLAWGYM_WORKSPACE"')).stdout.trim().startsWith(os.tmpdir()), true);
      // The host's /tmp is not the sandbox's to re-mode.
      const tmpMode = fs.statSync('/tmp').mode;
      await s.copyIn([{ path: '/tmp', content: new Uint8Array(0), type: 'directory', mode: 0o700 }]);
      assert.equal(fs.statSync('/tmp').mode, tmpMode);
      assert.equal((await s.exec('pwd', { cwd: '/' })).stdout, '/\n', 'outside the workspace and /tmp, cwd is the host directory');
      await rejectsWithKind(s.exec('pwd', { cwd: '/no/such/dir' }), 'backend', /does not exist/);
      // A daemon that leaves the process group (and holds the output pipe) does not hang the exec
      // and is found by dispose through its environment.
      const a = marker();
      const t0 = Date.now();
      const r2 = await s.exec(`setsid bash -c 'echo $$ > daemon.pid; exec sleep ${a}' & until [ -s daemon.pid ]; do sleep 0.01; done; echo started`);
      assert.equal(r2.stdout, 'started\n');
      assert.ok(Date.now() - t0 < 5000);
      assert.equal(processesWith(a).length, 1, 'the daemon escaped the exec (expected without isolation)');
      await s.dispose();
      // SIGKILL is asynchronous: allow the kernel a moment to reap it (deadline, not a fixed sleep).
      const deadline = Date.now() + 5000;
      while (processesWith(a).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(processesWith(a), []);
    } finally {
      await s.dispose();
    }
  });
});

/**
 * The Docker sandbox's command session (session.ts, supervisorSource.ts) on the real engine:
 * concurrent commands in one sandbox, a command's file descriptors (it cannot reach the
 * supervisor's stdio), garbage requests, the environment (the same as `docker exec`, nothing from
 * the host), the fallback to `docker exec` and getArchive when the agent kills the supervisor
 * and for an image without python3, and the round trip of `true` through the session and
 * through `docker exec`. The shared behaviour (timeouts, cancel, output caps, copies, fork bomb)
 * is covered both ways by sandbox-docker.test.ts.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createDockerBackend, LABEL_RUN, type DockerBackend, type DockerSandbox } from '../src/sandbox/docker';
import type { SandboxFile, SandboxSpec } from '../src/sandbox/types';
import { assertDocker, needsDocker, TEST_IMAGE } from './docker';

const RUN = `test-session-${process.pid}-${randomBytes(3).toString('hex')}`;
const WORKDIR = '/root/.openclaw/workspace';
const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({ image: TEST_IMAGE, workdir: WORKDIR, runId: RUN, trialId: 't', ...over });
const file = (path: string, content: string): SandboxFile => ({ path, content: Buffer.from(content) });

let sessionBackend: DockerBackend | undefined;
let execBackend: DockerBackend | undefined;
const backend = (): DockerBackend => (sessionBackend ??= createDockerBackend());
const noSession = (): DockerBackend => (execBackend ??= createDockerBackend({ session: false }));

async function withSandbox<T>(b: DockerBackend, s: SandboxSpec, files: readonly SandboxFile[], fn: (sb: DockerSandbox) => Promise<T>): Promise<T> {
  const sb = await b.create(s, files);
  try {
    return await fn(sb);
  } finally {
    await sb.dispose();
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

describe('docker sandbox session', needsDocker(), () => {
  after(async () => {
    if (!sessionBackend) return;
    const left = await sessionBackend.docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${RUN}`] } });
    await Promise.all(left.map((c) => sessionBackend!.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    assert.deepEqual(
      left.map((c) => c.Names[0]),
      [],
      'containers were left behind',
    );
  });

  test('many commands at once in one sandbox, each with its own output, exit code and stdin', async (t) => {
    assertDocker(t);
    await withSandbox(backend(), spec(), [], async (sb) => {
      await sb.exec('true');
      assert.equal(sb.commandChannel, 'session');
      const start = performance.now();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => sb.exec(`sleep 1; cat; echo " ${i}"; echo e${i} >&2; exit ${i}`, { stdin: `in${i}` })),
      );
      const took = performance.now() - start;
      results.forEach((r, i) => {
        assert.deepEqual([r.exitCode, r.stdout, r.stderr], [i, `in${i} ${i}\n`, `e${i}\n`]);
      });
      // In parallel: eight one-second sleeps end in far less than eight seconds.
      assert.ok(took < 4000, `took ${took} ms`);
    });
  });

  test('execPython (a fork of the supervisor) gives what `python3 -I -S -` gives through docker exec', async (t) => {
    assertDocker(t);
    const programs = [
      'import os, sys\nprint(sys.argv, os.getcwd(), os.environ.get("X"), sys.flags.isolated, sys.flags.no_site)\nsys.stderr.write("err\\n")',
      'import sys\nsys.exit(3)',
      'import sys\nsys.exit("bye")',
      'raise ValueError("boom")',
      'import os\nprint(sorted(int(f) for f in os.listdir("/proc/self/fd")))',
      'import signal\nprint(signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL, signal.set_wakeup_fd(-1))',
      'import os\nprint(sorted(k for k in os.environ if k not in ("HOSTNAME", "CLAWGYM_EXEC_ID")))',
    ];
    const run = (sb: DockerSandbox, program: string, how: 'fork' | 'exec') =>
      how === 'fork'
        ? sb.execPython(program, { cwd: '/tmp', env: { X: 'y z' } })
        : sb.exec(['python3', '-I', '-S', '-'], { cwd: '/tmp', env: { X: 'y z' }, stdin: program });
    await withSandbox(backend(), spec(), [], async (sb) => {
      await sb.exec('true');
      assert.equal(sb.commandChannel, 'session');
      for (const program of programs) {
        const forked = await run(sb, program, 'fork');
        const execed = await run(sb, program, 'exec');
        assert.deepEqual([forked.exitCode, forked.stdout], [execed.exitCode, execed.stdout], program);
        // Tracebacks name the same line; only the exec'd one reads "<stdin>" from a real file.
        assert.equal(forked.stderr.split('\n').at(-2), execed.stderr.split('\n').at(-2), program);
      }
      // Killed at its time limit like any command.
      const slow = await sb.execPython('import time\ntime.sleep(30)', { timeoutMs: 300 });
      assert.equal(slow.timedOut, true);
      assert.equal(slow.exitCode, 137);
      // Without python3 on PATH it does not start, as an exec would not.
      await sb.exec('mv /usr/bin/python3 /usr/bin/python3.gone');
      const gone = await sb.execPython('print(1)');
      assert.equal(gone.exitCode, 127);
      assert.match(gone.stderr, /python3: executable file not found/);
      assert.equal(sb.commandChannel, 'session');
    });
  });

  test("a command cannot reach the supervisor's stdio; garbage requests do not stop it", async (t) => {
    assertDocker(t);
    await withSandbox(backend(), spec(), [], async (sb) => {
      await sb.exec('true');
      // A command holds only 0, 1, 2: its own pipes (looked at from outside, in a plain sleep).
      const sleeper = sb.exec(['sleep', '3.21']);
      const fds = await sb.exec([
        'bash',
        '-c',
        'sleep 0.5; for d in /proc/[0-9]*; do if [ "$(tr "\\0" " " < $d/cmdline)" = "sleep 3.21 " ]; then for f in $d/fd/*; do echo "${f##*/} $(readlink $f)"; done; fi; done',
      ]);
      assert.equal((await sleeper).exitCode, 0);
      const open = fds.stdout.trim().split('\n');
      assert.deepEqual(
        open.map((l) => l.split(' ')[0]),
        ['0', '1', '2'],
        fds.stdout,
      );
      assert.ok(
        open.every((l) => /pipe:\[\d+\]$/.test(l)),
        fds.stdout,
      );
      // Writing frame-like bytes to its own stdout is just output.
      const fake = await sb.exec(['bash', '-c', 'printf "x\\0\\0\\0\\1\\0\\0\\0\\2{}"; printf "\\0\\0\\0\\0\\0\\0\\0\\0\\0" >&2']);
      assert.equal(fake.stdoutBytes, 11);
      assert.equal(fake.stderrBytes, 9);
      // Root can still write to the supervisor's stdin through /proc: bad requests are ignored.
      const garbage = await sb.exec([
        'bash',
        '-c',
        'printf "not json\\n[1]\\n{\\"id\\": 999, \\"argv\\": 5}\\nop=exec id=x\\nop=exec id=999 argv=!!!\\nop=dGVsZXBvcnQ= id=999998\\nop=a2lsbA== id=4242\\nid=999997\\n=\\n\\n" > /proc/$PPID/fd/0; echo sent',
      ]);
      assert.equal(garbage.stdout, 'sent\n');
      const after = await sb.exec('echo still here');
      assert.equal(after.stdout, 'still here\n');
      assert.equal(sb.commandChannel, 'session');
    });
  });

  test('commands get the container environment as docker exec does, nothing from the host', async (t) => {
    assertDocker(t);
    const hostOnly = `CLAWGYM_HOST_ONLY_${randomBytes(4).toString('hex')}`;
    process.env[hostOnly] = 'leak';
    try {
      const envOf = async (b: DockerBackend): Promise<string[]> =>
        withSandbox(b, spec({ env: { FROM_SPEC: 'a b', LANG: 'C.UTF-8' } }), [], async (sb) => {
          const r = await sb.exec(['env'], { env: { FROM_EXEC: 'x' } });
          assert.equal(r.exitCode, 0, r.stderr);
          // HOSTNAME is the container id; the marker differs per command.
          return r.stdout
            .trim()
            .split('\n')
            .filter((l) => !/^(HOSTNAME|CLAWGYM_EXEC_ID)=/.test(l))
            .sort();
        });
      const viaSession = await envOf(backend());
      const viaExec = await envOf(noSession());
      assert.deepEqual(viaSession, viaExec);
      assert.ok(viaSession.includes('FROM_SPEC=a b') && viaSession.includes('FROM_EXEC=x'), viaSession.join(', '));
      assert.ok(!viaSession.some((l) => l.startsWith(hostOnly) || l.startsWith('LC_CTYPE=') || l.startsWith('PWD=')), viaSession.join(', '));
    } finally {
      delete process.env[hostOnly];
    }
  });

  test('killing the supervisor: the running commands end, later execs and copy-outs go through docker exec', async (t) => {
    assertDocker(t);
    await withSandbox(backend(), spec(), [file(`${WORKDIR}/a.txt`, 'kept')], async (sb) => {
      const pid = (await sb.exec(['bash', '-c', 'echo $PPID'])).stdout.trim();
      assert.match(pid, /^\d+$/);
      assert.equal(sb.commandChannel, 'session');
      const long = sb.exec('sleep 300; echo never');
      await new Promise((r) => setTimeout(r, 200));
      const start = performance.now();
      const killer = await sb.exec(['bash', '-c', `kill -KILL ${pid}; sleep 1; echo late`], { timeoutMs: 20_000 });
      const running = await long;
      assert.ok(performance.now() - start < 10_000, `took ${performance.now() - start} ms`);
      // Their exit codes are lost with the supervisor; their processes were killed.
      assert.equal(running.exitCode, -1);
      assert.equal(killer.exitCode, -1);
      assert.equal(sb.commandChannel, 'docker-exec');
      const r = await sb.exec('cat a.txt; echo; for d in /proc/[0-9]*; do tr "\\0" " " < $d/cmdline; echo; done');
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok(r.stdout.startsWith('kept\n'), r.stdout);
      assert.ok(!r.stdout.includes('sleep 300'), r.stdout);
      // The shell that ran the supervisor is now the keep-alive.
      assert.match(r.stdout, /sleep infinity/);
      const out = await sb.copyOut(WORKDIR);
      assert.deepEqual(
        out.entries.map((e) => [e.path, Buffer.from(e.content ?? []).toString()]),
        [['a.txt', 'kept']],
      );
      const timed = await sb.exec('sleep 30', { timeoutMs: 500 });
      assert.deepEqual([timed.timedOut, timed.exitCode], [true, 137]);
    });
  });

  test('an image without python3 runs commands with docker exec', async (t) => {
    assertDocker(t);
    const docker = backend().docker;
    const repo = 'clawgym-test-nopython';
    const c = await docker.createContainer({
      Image: TEST_IMAGE,
      Entrypoint: ['sh', '-c'],
      Cmd: ['rm -f /usr/bin/python3* /usr/bin/python /usr/local/bin/python3*'],
      Labels: { [LABEL_RUN]: RUN },
    });
    try {
      await c.start();
      await c.wait();
      await c.commit({ repo, tag: RUN });
    } finally {
      await c.remove({ force: true });
    }
    const image = `${repo}:${RUN}`;
    try {
      await withSandbox(backend(), spec({ image, trialId: 'nopy' }), [file(`${WORKDIR}/a.txt`, 'no python')], async (sb) => {
        const r = await sb.exec('cat a.txt; command -v python3 || echo " none"');
        assert.equal(r.stdout, 'no python none\n');
        assert.equal(sb.commandChannel, 'docker-exec');
        const out = await sb.copyOut(WORKDIR);
        assert.deepEqual(
          out.entries.map((e) => e.path),
          ['a.txt'],
        );
      });
    } finally {
      await docker.getImage(image).remove({ force: true });
    }
  });

  test('round trip of `true`: session vs docker exec', async (t) => {
    assertDocker(t);
    const measure = (b: DockerBackend): Promise<number[]> =>
      withSandbox(b, spec({ trialId: 'latency' }), [], async (sb) => {
        for (let i = 0; i < 5; i++) await sb.exec(['true']); // warm up
        const times: number[] = [];
        for (let i = 0; i < 60; i++) {
          const start = performance.now();
          const r = await sb.exec(['true']);
          times.push(performance.now() - start);
          assert.equal(r.exitCode, 0);
        }
        return times.sort((a, b) => a - b);
      });
    const session = await measure(backend());
    const exec = await measure(noSession());
    const line = (name: string, s: number[]): string => `${name}: p50 ${percentile(s, 50).toFixed(1)} ms, p95 ${percentile(s, 95).toFixed(1)} ms`;
    t.diagnostic(line('session', session));
    t.diagnostic(line('docker exec', exec));
    // The point of the session: a command costs well under a docker exec round trip.
    assert.ok(percentile(session, 50) < percentile(exec, 50) / 2, `${line('session', session)}; ${line('docker exec', exec)}`);
  });
});

/**
 * Hostile cases for the local sandbox backend (issue 9, points 1 and 7): what an agent leaves
 * running must be gone after quiesce() however it hid, and an exec returns when its command exits
 * even when background children keep its output open. Run with bubblewrap (when it works here;
 * required in CI) and unisolated. Every case has a short timeout so that a regression fails
 * instead of hanging, and every sandbox is disposed.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { bubblewrapStatus, createLocalBackend, keeperStatus } from '../src/sandbox/local';
import type { Sandbox, SandboxBackend, SandboxSpec } from '../src/sandbox/types';

const WORKDIR = '/root/.openclaw/workspace';
const bwrapRequired = process.env.CLAWGYM_REQUIRE_BWRAP === '1' || process.env.CLAWGYM_REQUIRE_DOCKER === '1';
const bw = bubblewrapStatus();
const CASE = { timeout: 20_000 };

const modes: { label: string; bubblewrap: 'require' | 'never'; skip?: string }[] = [
  { label: 'bubblewrap', bubblewrap: 'require', skip: bw.ok || bwrapRequired ? undefined : `bubblewrap unusable here: ${bw.problem}` },
  { label: 'unisolated', bubblewrap: 'never' },
];

const spec = (): SandboxSpec => ({ image: 'unused', workdir: WORKDIR, runId: 'hostile', trialId: 'local' });
/** A number-like argument no other process has: `sleep <marker>` sleeps ~1000 s and is findable. */
const marker = () => `${1000 + Math.floor(Math.random() * 1000)}.${randomBytes(3).readUIntBE(0, 3)}`;

/** Host pids of live (not zombie) processes with `text` as one of their argv items. */
function processesWith(text: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes(text)) found.push(Number(pid));
    } catch {
      // exited
    }
  }
  return found;
}

/** Poll until `check` holds (deadline, never a fixed sleep). */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const mode of modes) {
  describe(`hostile local backend, ${mode.label}`, { skip: mode.skip }, () => {
    let backend: SandboxBackend;
    const live: Sandbox[] = [];
    const make = async () => {
      backend ??= createLocalBackend({ bubblewrap: mode.bubblewrap });
      const s = await backend.create(spec(), []);
      live.push(s);
      return s;
    };
    const hostFile = (s: Sandbox, name: string) => join(s.id, 'workspace', name);
    afterEach(async () => {
      for (const s of live.splice(0)) await s.dispose();
    });

    test('the keeper works on this machine (python3, and prctl when unisolated)', () => {
      const k = keeperStatus(mode.bubblewrap === 'require' ? bw : undefined);
      assert.equal(k.ok, true, k.problem);
    });

    test('`sleep 300 & echo launched` returns at once with its output; the sleep lives until quiesce', CASE, async () => {
      const s = await make();
      const m = marker();
      const t0 = Date.now();
      const r = await s.exec(`sleep ${m} & echo launched`, { timeoutMs: 10_000 });
      const ms = Date.now() - t0;
      assert.equal(r.timedOut, false);
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout, 'launched\n');
      assert.ok(ms < 1000, `returned after ${ms} ms`);
      assert.equal(processesWith(m).length, 1);
      const q = await s.quiesce!();
      assert.equal(q.clean, true, q.detail);
      assert.deepEqual(processesWith(m), []);
    });

    test('output written just before the command exits is kept even when a child holds the pipe', CASE, async () => {
      const s = await make();
      const m = marker();
      const r = await s.exec(`(sleep ${m}) & head -c 200000 /dev/zero | tr '\\0' x; echo; echo done >&2`);
      assert.equal(r.stdout.length, 200001);
      assert.equal(r.stderr, 'done\n');
      await s.quiesce!();
      assert.deepEqual(processesWith(m), []);
    });

    test('a setsid loop rewriting a workspace file is stopped by quiesce; the file is then stable', CASE, async () => {
      const s = await make();
      const m = marker();
      const r = await s.exec(`setsid bash -c 'while :; do date +%s%N > tick; sleep 0.01; done' ${m} </dev/null >/dev/null 2>&1 & echo ok`);
      assert.equal(r.stdout, 'ok\n');
      const f = hostFile(s, 'tick');
      await until(() => fs.existsSync(f), 5000, 'the loop to write');
      const before = fs.readFileSync(f, 'utf8');
      await until(() => fs.readFileSync(f, 'utf8') !== before, 5000, 'the loop to rewrite');
      const q = await s.quiesce!();
      assert.equal(q.clean, true, q.detail);
      assert.ok(q.killed >= 1, q.detail);
      assert.deepEqual(processesWith(m), []);
      const frozen = fs.readFileSync(f, 'utf8');
      const mtime = fs.statSync(f).mtimeMs;
      await sleep(1000);
      assert.equal(fs.readFileSync(f, 'utf8'), frozen, 'the file changed after quiesce');
      assert.equal(fs.statSync(f).mtimeMs, mtime);
      assert.equal((await s.exec('cat tick')).stdout, frozen, 'exec still works for grading');
    });

    test('a double-forked daemon is found and killed', CASE, async () => {
      const s = await make();
      const m = marker();
      await s.exec(`bash -c '(setsid sleep ${m} </dev/null >/dev/null 2>&1 &) ; exit 0'`);
      await until(() => processesWith(m).length === 1, 5000, 'the daemon');
      const q = await s.quiesce!();
      assert.equal(q.clean, true, q.detail);
      assert.deepEqual(processesWith(m), []);
    });

    test('an `env -i` escapee (no environment marker) is found and killed', CASE, async () => {
      const s = await make();
      const m = marker();
      await s.exec(`env -i /usr/bin/setsid /bin/sleep ${m} </dev/null >/dev/null 2>&1 &`);
      await until(() => processesWith(m).length === 1, 5000, 'the escapee');
      const [pid] = processesWith(m);
      assert.equal(fs.readFileSync(`/proc/${pid}/environ`, 'latin1'), '', 'the escapee has an empty environment');
      const q = await s.quiesce!();
      assert.equal(q.clean, true, q.detail);
      assert.deepEqual(processesWith(m), []);
    });

    test('a process that ignores SIGTERM, SIGINT and SIGHUP is killed', CASE, async () => {
      const s = await make();
      const m = marker();
      await s.exec(`setsid bash -c 'trap "" TERM INT HUP; while :; do sleep 0.05; done' ${m} </dev/null >/dev/null 2>&1 &`);
      await until(() => processesWith(m).length === 1, 5000, 'the stubborn process');
      const [pid] = processesWith(m);
      process.kill(pid!, 'SIGTERM');
      await sleep(100);
      assert.equal(processesWith(m).length, 1, 'SIGTERM is ignored (the test is meaningful)');
      const q = await s.quiesce!();
      assert.equal(q.clean, true, q.detail);
      assert.deepEqual(processesWith(m), []);
    });

    test('a fork loop (a process that keeps forking and exiting, so its pid keeps changing) is killed', CASE, async () => {
      const s = await make();
      const m = marker();
      const loop = 'import os, time\nwhile True:\n    if os.fork():\n        os._exit(0)\n    try:\n        os.setsid()\n    except OSError:\n        pass\n    time.sleep(0.002)\n';
      await s.exec(['bash', '-c', `python3 -c "$1" ${m} </dev/null >/dev/null 2>&1 & python3 -c "$1" ${m} </dev/null >/dev/null 2>&1 &`, 'bash', loop]);
      await until(() => processesWith(m).length >= 1, 5000, 'the fork loop');
      await sleep(200);
      const q = await s.quiesce!();
      assert.equal(q.clean, true, q.detail);
      await sleep(200);
      assert.deepEqual(processesWith(m), []);
    });

    test('quiesce kills a command still running, and the sandbox stays usable', CASE, async () => {
      const s = await make();
      const m = marker();
      // As one `bash -c` string: argv form would put the marker in the keeper's (and bwrap's) argv too.
      const running = s.exec(`sleep ${m}`);
      await until(() => processesWith(m).length >= 1, 5000, 'the command');
      const q = await s.quiesce!();
      assert.equal(q.clean, true, q.detail);
      const r = await running;
      assert.equal(r.exitCode, 137);
      assert.deepEqual(processesWith(m), []);
      assert.equal((await s.exec('echo fine')).stdout, 'fine\n');
      const again = await s.quiesce!();
      assert.equal(again.clean, true, again.detail);
      assert.equal(again.killed, 0);
    });

    test('a command that kills its keeper: shrugged off with bubblewrap, reported unclean unisolated', CASE, async () => {
      const s = await make();
      const m = marker();
      await s.exec(`setsid sleep ${m} </dev/null >/dev/null 2>&1 & kill -9 $PPID; sleep 0.2`);
      const q = await s.quiesce!();
      if (mode.bubblewrap === 'require') {
        assert.equal(q.clean, true, q.detail);
        assert.deepEqual(processesWith(m), []);
      } else {
        assert.equal(q.clean, false, q.detail);
        assert.match(q.detail, /keeper was killed/);
        // The environment marker still finds this one (it kept its environment).
        assert.deepEqual(processesWith(m), []);
      }
    });
  });
}

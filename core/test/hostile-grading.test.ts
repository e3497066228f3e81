/**
 * Hostile suite, grading (issue 9, points 1, 2, 7 and the session's framing of 8): an agent that
 * works against the harness, on the real engine. The "agent" is the oracle running a hostile
 * reference solution, as an adversarial agent's commands would run. Every case asserts the grade
 * is the one the workspace earns (a no-op earns 0) and that no container is left.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { oracleAgent } from '../src/run/agents';
import { classifyChanges } from '../src/run/integrity';
import { newRunId } from '../src/run/job';
import { runTrial, type TrialRecord } from '../src/run/trial';
import type { ResolvedTask } from '../src/run/types';
import { createDockerBackend, type DockerSandbox } from '../src/sandbox/docker';
import { createLocalBackend } from '../src/sandbox/local';
import { assertDocker, containersOf, needsDocker, TEST_IMAGE } from './docker';
import { helloResolvedTask } from './util';

const ROOT = '/workspace';

describe('classifying the engine diff', () => {
  test('workspace, its ancestors, /tmp and agent data do not matter; programs, libraries and hooks do', () => {
    const c = classifyChanges(
      [
        { path: '/root', kind: 'modified' },
        { path: '/root/.openclaw', kind: 'modified' },
        { path: '/root/.openclaw/workspace/out.txt', kind: 'added' },
        { path: '/root/.openclaw/agents/main/sessions/x.jsonl', kind: 'added' },
        { path: '/tmp/scratch.txt', kind: 'added' },
        { path: '/usr/bin/python3', kind: 'modified' },
        { path: '/usr/local/bin/python3', kind: 'added' },
        { path: '/usr/lib/python3.11/json/__init__.py', kind: 'modified' },
        { path: '/usr/local/lib/python3.11/dist-packages/evil.pth', kind: 'added' },
        { path: '/etc/ld.so.preload', kind: 'added' },
        { path: '/root/.local/lib/python3.11/site-packages/usercustomize.py', kind: 'added' },
        { path: '/usr/share/doc/foo/README', kind: 'added' },
      ],
      '/root/.openclaw/workspace',
    );
    assert.deepEqual(
      c.outside.map((x) => x.path),
      [
        '/root/.openclaw/agents/main/sessions/x.jsonl',
        '/tmp/scratch.txt',
        '/usr/bin/python3',
        '/usr/local/bin/python3',
        '/usr/lib/python3.11/json/__init__.py',
        '/usr/local/lib/python3.11/dist-packages/evil.pth',
        '/etc/ld.so.preload',
        '/root/.local/lib/python3.11/site-packages/usercustomize.py',
        '/usr/share/doc/foo/README',
      ],
    );
    assert.equal(c.relevant.length, 7);
    assert.deepEqual(
      c.tampering.map((t) => t.split(' ')[0]),
      ['/usr/bin/python3', '/usr/local/bin/python3', '/usr/lib/python3.11/json/__init__.py', '/etc/ld.so.preload', '/root/.local/lib/python3.11/site-packages/usercustomize.py'],
    );
  });
});

describe('hostile agents against grading, on the real engine', needsDocker(), () => {
  const backend = createDockerBackend();
  const runId = newRunId();
  let rewardDir = '';

  before(() => {
    rewardDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-hostile-reward-'));
    // As the authors' graders: reward.sh runs check.py, whose last line is the reward.
    fs.writeFileSync(join(rewardDir, 'reward.sh'), 'python3 "$(dirname "$0")/check.py" "$PWD"\n');
    fs.writeFileSync(
      join(rewardDir, 'check.py'),
      'import os, sys\np = os.path.join(sys.argv[1], "out.txt")\nprint(1.0 if os.path.exists(p) and open(p).read() == "hello\\n" else 0.0)\n',
    );
  });
  after(() => {
    fs.rmSync(rewardDir, { recursive: true, force: true });
    assert.deepEqual(containersOf(runId), [], 'no container is left');
  });

  /** A task graded by its reward script alone; the "agent" runs `solution`. */
  function hostile(solution: string, checks: ResolvedTask['verifier']['checks'] = []): ResolvedTask {
    const base = helloResolvedTask('hostile');
    return {
      ...base,
      solution: { script: solution, origin: 'inline' },
      verifier: { ...base.verifier, checks, rewardScript: { hostDir: rewardDir, script: 'reward.sh', weight: 1 } },
    };
  }

  async function trial(task: ResolvedTask, agentTimeoutMs = 60_000): Promise<TrialRecord> {
    return runTrial({ task, backend, agent: oracleAgent, runId, trialId: `t${Math.random().toString(36).slice(2, 8)}`, image: TEST_IMAGE, agentTimeoutMs });
  }

  test('honest work is graded in the agent sandbox, with the reward it earns', async () => {
    assertDocker();
    const r = (await trial(hostile('cp input.txt out.txt'))).result;
    assert.equal(r.status, 'passed', JSON.stringify(r.error ?? r.checks));
    assert.equal(r.reward, 1);
    assert.equal(r.integrity?.gradedIn, "agent-sandbox", JSON.stringify(r.integrity));
    assert.deepEqual(r.integrity?.tampering, []);
    assert.equal(r.integrity?.verifierFilesIntact, true);
  });

  test('a setsid loop that rewrites reward/check.py once it is placed is dead before grading', async () => {
    assertDocker();
    const loop = `setsid bash -c 'while true; do [ -d ${ROOT}/reward ] && printf "print(1.0)\\n" > ${ROOT}/reward/check.py; sleep 0.005; done' > /dev/null 2>&1 < /dev/null &`;
    for (let i = 0; i < 3; i++) {
      const r = (await trial(hostile(loop))).result;
      assert.equal(r.reward, 0, `attempt ${i}: the forged check.py must not count (${JSON.stringify(r.checks)})`);
      assert.ok(r.integrity && 'killed' in r.integrity.quiesce && r.integrity.quiesce.killed >= 1, JSON.stringify(r.integrity));
      assert.equal(r.integrity?.verifierFilesIntact, true);
    }
  });

  test('double-forked, env -i, signal-ignoring writers are killed; the workspace is stable while checks run', async () => {
    assertDocker();
    const writer = `trap '' TERM INT HUP QUIT USR1 USR2; while true; do echo x >> ${ROOT}/noise.txt; sleep 0.002; done`;
    const solution = [
      'cp input.txt out.txt',
      `( env -i /bin/bash -c "${writer}" > /dev/null 2>&1 < /dev/null & ) &`,
      `( setsid env -i /bin/bash -c "${writer}" > /dev/null 2>&1 < /dev/null & ) &`,
      'sleep 0.3',
    ].join('\n');
    const stable = { id: 'stable', command: 'a=$(stat -c %s noise.txt); sleep 0.5; b=$(stat -c %s noise.txt); echo "$a $b"; [ "$a" = "$b" ]' };
    const r = (await trial(hostile(solution, [stable] as ResolvedTask['verifier']['checks']))).result;
    const check = r.checks.find((c) => c.id === 'stable');
    assert.equal(check?.passed, true, JSON.stringify(check));
    assert.equal(r.reward, 1);
    assert.ok(r.integrity && 'killed' in r.integrity.quiesce && r.integrity.quiesce.killed >= 2, JSON.stringify(r.integrity));
  });

  test('a python3 replaced by a script printing 1.0 is not the grader: fresh sandbox, tampering, reward 0', async () => {
    assertDocker();
    const solution = 'p=$(readlink -f /usr/bin/python3); rm -f /usr/bin/python3 "$p"; printf "#!/bin/sh\\necho 1.0\\n" > /usr/bin/python3; chmod +x /usr/bin/python3';
    const r = (await trial(hostile(solution))).result;
    assert.equal(r.integrity?.gradedIn, 'fresh-sandbox', JSON.stringify(r.integrity));
    assert.ok(r.integrity!.tampering.some((t) => t.includes('/usr/bin/python3')), JSON.stringify(r.integrity));
    assert.equal(r.solved, false);
    assert.equal(r.reward, 0);
    assert.equal(r.integrity?.gradedReward, 0, 'the grader (the image\'s python3) gave 0 too');
  });

  test('a pip-style change graded fresh keeps the earned reward (no tampering)', async () => {
    assertDocker();
    const solution = 'cp input.txt out.txt; mkdir -p /usr/local/lib/python3/dist-packages; echo "x = 1" > /usr/local/lib/python3/dist-packages/helper.py';
    const r = (await trial(hostile(solution))).result;
    assert.equal(r.integrity?.gradedIn, 'fresh-sandbox');
    assert.deepEqual(r.integrity?.tampering, []);
    assert.equal(r.reward, 1);
    assert.equal(r.status, 'passed');
  });

  test('bytes imitating the supervisor frames do not make a finished agent look timed out; they are reported', async () => {
    assertDocker();
    // an `x` (exit) frame header claiming 4 GB of payload, then junk, written to the session's channel
    const solution = "cp input.txt out.txt; printf 'x\\000\\000\\000\\001\\377\\377\\377\\377junk' > /proc/1/fd/1; printf 'x\\000\\000\\000\\002\\000\\000\\000\\002{}' > /proc/1/fd/1; echo done";
    const started = Date.now();
    const rec = await trial(hostile(solution), 20_000);
    const r = rec.result;
    assert.ok(Date.now() - started < 15_000, 'the agent phase ended when the agent did');
    assert.notEqual(r.agentOutcome?.status, 'timeout', JSON.stringify(r.agentOutcome));
    assert.equal(r.integrity?.gradedIn, 'fresh-sandbox', JSON.stringify(r.integrity));
    assert.ok(r.integrity!.tampering.some((t) => /session channel/.test(t)), JSON.stringify(r.integrity));
    assert.equal(r.solved, false);
  });

  test('an agent that kills the supervisor: the container is stopped, grading is fresh and fair', async () => {
    assertDocker();
    const solution = 'cp input.txt out.txt; for d in /proc/[0-9]*; do if tr "\\0" " " < $d/cmdline 2>/dev/null | grep -q clawgym-supervisor; then kill -9 ${d#/proc/}; fi; done; sleep 0.2; echo ok';
    const r = (await trial(hostile(solution))).result;
    assert.equal(r.integrity?.gradedIn, 'fresh-sandbox', JSON.stringify(r.integrity));
    assert.ok(r.integrity && 'stopped' in r.integrity.quiesce && r.integrity.quiesce.stopped);
    assert.equal(r.reward, 1, JSON.stringify(r.checks));
  });

  test('the supervisor sees every change to what graders run, and none made before the agent phase', async () => {
    assertDocker();
    const sb = (await backend.create({ image: TEST_IMAGE, workdir: ROOT, runId, trialId: 'walk' }, [])) as DockerSandbox;
    try {
      // "setup": before the baseline, so not the agent's
      await sb.exec('printf "#!/bin/sh\\necho v1\\n" > /usr/local/bin/tool; chmod +x /usr/local/bin/tool; echo "# setup" >> /etc/bash.bashrc');
      await new Promise((r) => setTimeout(r, 50));
      await sb.baseline!();
      await sb.exec([
        'bash',
        '-c',
        [
          'echo "# agent" >> "$(python3 -c "import json, os; print(os.path.dirname(json.__file__))")/__init__.py"',
          'echo "echo v2" >> /usr/local/bin/tool', // in place, in a directory setup had already copied up
          'd=$(python3 -c "import sysconfig; print(sysconfig.get_paths()[\'purelib\'])"); mkdir -p "$d"; echo "import os" > "$d/sitecustomize.py"',
          'touch /etc/ld.so.preload',
          `echo data > ${ROOT}/out.txt; echo scratch > /tmp/scratch`,
        ].join('; '),
      ]);
      assert.equal((await sb.quiesce!()).clean, true);
      const c = classifyChanges(await sb.changes!(), ROOT);
      const paths = c.relevant.map((x) => x.path);
      assert.ok(paths.includes('/usr/local/bin/tool'), paths.join(' '));
      assert.ok(!paths.includes('/etc/bash.bashrc'), 'a change made before the baseline is not the agent\'s');
      assert.ok(!paths.some((p) => p.startsWith('/tmp') || p.startsWith(ROOT)));
      for (const want of [/json\/__init__\.py/, /sitecustomize\.py/, /ld\.so\.preload/]) {
        assert.ok(c.tampering.some((t) => want.test(t)), `${want} in ${JSON.stringify(c.tampering)}`);
      }
    } finally {
      await sb.dispose();
    }
  });

  test('without a session (docker exec), exec also returns when its command exits', async () => {
    assertDocker();
    const plain = createDockerBackend({ session: false });
    const sb = await plain.create({ image: TEST_IMAGE, workdir: ROOT, runId, trialId: 'plain' }, []);
    try {
      const t0 = Date.now();
      const r = await sb.exec('sleep 300 & echo launched', { timeoutMs: 20_000 });
      assert.ok(Date.now() - t0 < 3_000, `exec returned after ${Date.now() - t0} ms`);
      assert.equal(r.stdout.trim(), 'launched');
      assert.equal(r.exitCode, 0);
      assert.equal(r.timedOut, false);
    } finally {
      await sb.dispose();
    }
  });

  test('the supervisor cannot be traced or read by the agent; exec returns while its children live on', async () => {
    assertDocker();
    const sb = (await backend.create({ image: TEST_IMAGE, workdir: ROOT, runId, trialId: 'probe' }, [])) as DockerSandbox;
    try {
      const pid = (sb as unknown as { session: { pid: number } }).session.pid;
      const probe = await sb.exec(['python3', '-c', `
import os
for name in ("mem", "environ", "fd/1"):
    try:
        open("/proc/${pid}/" + name, "rb").read(1)
        print(name, "READABLE")
    except OSError as e:
        print(name, "denied", e.errno)
`]);
      assert.doesNotMatch(probe.stdout, /READABLE/, probe.stdout + probe.stderr);
      assert.match(probe.stdout, /mem denied/);

      const t0 = Date.now();
      const r = await sb.exec('sleep 300 & echo launched', { timeoutMs: 20_000 });
      assert.ok(Date.now() - t0 < 3_000, `exec returned after ${Date.now() - t0} ms`);
      assert.equal(r.stdout.trim(), 'launched');
      assert.equal(r.timedOut, false);
      const alive = await sb.exec('for d in /proc/[0-9]*; do tr "\\0" " " < $d/cmdline 2>/dev/null; echo; done | grep -c "^sleep 300" || true');
      assert.equal(alive.stdout.trim(), '1', 'the child lives on until the agent phase ends');
      const q = await sb.quiesce!();
      assert.equal(q.clean, true, q.detail);
      assert.equal(q.stopped, false);
      assert.ok(q.killed >= 1);
      const after = await sb.exec('for d in /proc/[0-9]*; do tr "\\0" " " < $d/cmdline 2>/dev/null; echo; done | grep -c "^sleep 300" || true');
      assert.equal(after.stdout.trim(), '0');
    } finally {
      await sb.dispose();
    }
  });
});

describe('hostile agents against grading, local backend with bubblewrap', () => {
  test('a setsid writer is dead before grading and a usercustomize.py in the home is tampering', async (t) => {
    const backend = createLocalBackend({ bubblewrap: 'require' });
    const base = helloResolvedTask('hostile-local');
    const solution = [
      'cp input.txt out.txt',
      `setsid bash -c 'while true; do echo x >> ${ROOT}/noise.txt; sleep 0.005; done' > /dev/null 2>&1 < /dev/null &`,
      'd=$(python3 -c "import site; print(site.getusersitepackages())"); mkdir -p "$d"; echo "print(1.0)" > "$d/usercustomize.py"',
    ].join('\n');
    const stable = { id: 'stable', command: 'a=$(stat -c %s noise.txt); sleep 0.4; b=$(stat -c %s noise.txt); [ "$a" = "$b" ]' };
    let rec: TrialRecord;
    try {
      rec = await runTrial({
        task: { ...base, solution: { script: solution, origin: 'inline' }, verifier: { ...base.verifier, checks: [...base.verifier.checks, stable] as ResolvedTask['verifier']['checks'] } },
        backend,
        agent: oracleAgent,
        runId: newRunId(),
        trialId: 't',
        image: TEST_IMAGE,
      });
    } catch (e) {
      return t.skip(`no bubblewrap here: ${(e as Error).message}`);
    }
    const r = rec.result;
    if (r.status === 'error' && /bubblewrap|bwrap/i.test(r.error?.message ?? '')) return t.skip(r.error!.message);
    assert.equal(r.checks.find((c) => c.id === 'stable')?.passed, true, JSON.stringify(r.checks));
    assert.ok(r.integrity && 'killed' in r.integrity.quiesce && r.integrity.quiesce.killed >= 1, JSON.stringify(r.integrity));
    assert.ok(r.integrity!.tampering.some((x) => /usercustomize/.test(x)), JSON.stringify(r.integrity));
    assert.equal(r.reward, 0);
    assert.equal(r.solved, false);
  });
});

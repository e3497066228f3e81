/**
 * The verifier on the real engine: every check kind on a real workspace, a ClawGym task folder and
 * its reward.sh, reward-script and python-check failures, the payload file, and the integrity
 * rules (a planted reward/ is replaced, the verifier's directory cannot be pre-filled, its files
 * cannot be rewritten by the agent's code). Also measures one verification of a reward-script-only
 * task (printed, not asserted). Sandboxes are disposed in `finally`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { loadTask } from '../src/run/load';
import type { ResolvedTask, ResolvedVerifier } from '../src/run/types';
import { createDockerBackend } from '../src/sandbox/docker';
import type { Command, ExecOptions, Sandbox, SandboxBackend } from '../src/sandbox/types';
import { runVerifier, type CheckResult, type VerifierResult } from '../src/verifier';
import { assertDocker, needsDocker, TEST_IMAGE } from './docker';
import { fixturesDir } from './util';

const ROOT = '/root/.openclaw/workspace';
const TASK_0101 = join(fixturesDir, 'clawgym', 'valid', 'task_0101');
const RUN_ID = `verifier-test-${process.pid}`;
const WEIRD = 'He said "hi" \\ back\\slash $HOME `tick` ✓ é \u2028 tab\there \'single\' %s {x}';

let backendCache: SandboxBackend | undefined;
const backend = (): SandboxBackend => (backendCache ??= createDockerBackend());
let trial = 0;

/** A started sandbox holding `files` (relative to `root`), disposed after `fn` whatever happens. */
async function withSandbox<T>(files: Record<string, string>, fn: (sb: Sandbox) => Promise<T>, root = ROOT): Promise<T> {
  const sb = await backend().create(
    { image: TEST_IMAGE, workdir: root, runId: RUN_ID, trialId: `t${++trial}` },
    Object.entries(files).map(([p, text]) => ({ path: `${root}/${p}`, content: Buffer.from(text) })),
  );
  try {
    return await fn(sb);
  } finally {
    await sb.dispose();
  }
}

/** Play the agent: a shell script run in the workspace. */
async function agent(sb: Sandbox, script: string): Promise<void> {
  const r = await sb.exec(script, { timeoutMs: 30_000 });
  assert.equal(r.exitCode, 0, `agent script failed: ${r.stderr}`);
}

function task(checks: object[], verifier: Partial<ResolvedVerifier> = {}, root = ROOT): ResolvedTask {
  return {
    id: 'docker-task',
    source: { kind: 'clawtask', path: join(fixturesDir, 'x.clawtask') },
    baseDir: TASK_0101,
    intent: 'Please do the thing.',
    metadata: { category: 'test/verifier', grading_type: 'automated' },
    root,
    files: [],
    setup: [],
    env: { GREETING: 'hello from the task env' },
    network: 'none',
    resources: {},
    agent: {},
    verifier: { timeoutMs: 60_000, passThreshold: 1, checks: checks as ResolvedVerifier['checks'], rubric: [], weights: { code: 1, rubric: 0 }, ...verifier },
  };
}

function byId(r: VerifierResult, id: string): CheckResult {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, `no result for ${id}`);
  return c;
}

function verify(t: ResolvedTask, sb: Sandbox, ctx: { finalMessage?: string; transcript?: unknown[] } = {}): Promise<VerifierResult> {
  return runVerifier(t, sb, { finalMessage: ctx.finalMessage ?? 'Done.', transcript: ctx.transcript ?? [] });
}

function rewardTask(hostDir: string, verifier: Partial<ResolvedVerifier> = {}): ResolvedTask {
  return task([], { rewardScript: { hostDir, script: 'reward.sh', weight: 1 }, ...verifier });
}

/** A throwaway reward folder on the host (its own scripts are the point of the test). */
async function rewardFolder(t: TestContext, files: Record<string, string>): Promise<string> {
  const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'clawgym-reward-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), text);
  }
  return dir;
}

const SOLVE_0101 = `
mkdir -p tools output
cat > tools/monthly_totals.py <<'PY'
import csv, json, collections
months = collections.defaultdict(float)
cats = collections.defaultdict(float)
with open("input/transactions.csv", newline="") as f:
    for row in csv.DictReader(f):
        months[row["date"][:7]] += float(row["amount"])
        cats[row["category"]] += float(row["amount"])
json.dump({m: round(v, 2) for m, v in months.items()}, open("output/monthly_totals.json", "w"))
open("output/top_category.txt", "w").write(max(cats.items(), key=lambda kv: kv[1])[0] + "\\n")
PY
python3 tools/monthly_totals.py
`;

describe('verifier on the real engine', needsDocker(), () => {
  test('every check kind on a real workspace: passes, failures and a planted symlink', async (t) => {
    assertDocker(t);
    const checks = [
      { id: 'exists', file_exists: 'out/report.md' },
      { id: 'glob', file_exists: 'out/**/*.csv' },
      { id: 'absent', file_absent: 'out/*.tmp' },
      { id: 'matches', file_matches: { path: 'out/report.md', pattern: '^total: 42$', flags: 'im' } },
      { id: 'equals-text', file_equals: { path: 'out/report.md', text: '# Report\nTotal: 42\n' } },
      { id: 'equals-from', file_equals: { path: 'input/transactions.csv', from: 'input_files/input/transactions.csv' } },
      { id: 'json', json: { path: 'out/data.json', query: 'items[1].price', between: [2, 3] } },
      { id: 'yaml', json: { path: 'out/conf.yml', query: 'server.port', equals: 8080 } },
      { id: 'csv', csv: { path: 'out/deep/t.csv', columns: ['name', 'qty'], rows: 2, where: { name: 'pear', qty: 3 } } },
      { id: 'command', command: 'test "$GREETING" = "hello from the task env" && pwd && python3 -c "print(6*7)"', stdout_matches: `^${ROOT}\\n42$` },
      { id: 'command-exit', command: 'exit 4', exit_code: 4 },
      // quotes, backslashes, $, backticks, non-ASCII, U+2028 and a tab survive the trip to the runner byte for byte
      { id: 'command-bytes', command: `test "$(cat <<'EOF'\n${WEIRD}\nEOF\n)" = "$(cat weird.txt)" && test "$WEIRD" = "$(cat weird.txt)"` },
      { id: 'python', weight: 2, python: 'import os, json\ndef grade(ws):\n    d = json.load(open(os.path.join(ws, "out/data.json")))\n    return {"two": len(d["items"]) == 2, "cwd": os.getcwd() == ws, "half": 0.5}\n' },
      // failures: wrong answers, not errors
      { id: 'f-missing', file_exists: 'out/nope.md' },
      { id: 'f-json', json: { path: 'out/data.json', query: 'items[0].price', equals: 99 } },
      { id: 'f-command', command: 'grep -q absent out/report.md' },
      // the agent planted a link to a host-looking path: refused, not read
      { id: 'f-escape', file_matches: { path: 'out/leak.txt', pattern: 'root' } },
    ];
    // the agent leaves the input untouched, so file_equals.from (the task's input_files copy) holds
    await withSandbox({ 'input/transactions.csv': readFileSync(join(TASK_0101, 'input_files/input/transactions.csv'), 'utf8'), 'weird.txt': WEIRD }, async (sb) => {
      await agent(
        sb,
        `mkdir -p out/deep
printf '# Report\\nTotal: 42\\n' > out/report.md
echo '{"items": [{"price": 1}, {"price": 2.5}]}' > out/data.json
printf 'server:\\n  port: 8080\\n' > out/conf.yml
printf 'name,qty\\napple,1\\npear,3\\n' > out/deep/t.csv
ln -s /etc/passwd out/leak.txt`,
      );
      const t0 = task(checks);
      t0.env.WEIRD = WEIRD;
      const r = await verify(t0, sb);
      const verdicts = Object.fromEntries(r.checks.map((c) => [c.id, c.error ? `error:${c.error.kind}` : c.passed ? 'pass' : 'fail']));
      assert.deepEqual(verdicts, {
        exists: 'pass',
        glob: 'pass',
        absent: 'pass',
        matches: 'pass',
        'equals-text': 'pass',
        'equals-from': 'pass',
        json: 'pass',
        yaml: 'pass',
        csv: 'pass',
        command: 'pass',
        'command-exit': 'pass',
        'command-bytes': 'pass',
        python: 'fail',
        'f-missing': 'fail',
        'f-json': 'fail',
        'f-command': 'fail',
        'f-escape': 'error:path-escape',
      });
      assert.ok(Math.abs(byId(r, 'python').score - 2.5 / 3) < 1e-9, `python score ${byId(r, 'python').score}`);
      assert.match(byId(r, 'f-escape').message, /symlink escapes the workspace: out\/leak\.txt -> \/etc\/passwd/);
      assert.equal(r.verifierErrors, 1);
      // 12 passes + python 2 × 5/6 over a total weight of 18
      assert.ok(Math.abs(r.reward - (12 + 2 * (2.5 / 3)) / 18) < 1e-9, `reward ${r.reward}`);
      assert.ok(r.snapshot && r.snapshot.entries.some((e) => e.path === 'out/leak.txt' && e.type === 'symlink'));
    });
  });

  test('a ClawGym task folder: its reward.sh gives 1 for a solution and 0 for no work', async (t) => {
    assertDocker(t);
    const loaded = loadTask({ kind: 'clawgym', path: TASK_0101 });
    assert.ok(loaded.task, loaded.error);
    const resolved = loaded.task;
    assert.equal(resolved.root, ROOT);
    const files = Object.fromEntries(resolved.files.filter((f) => f.type !== 'directory').map((f) => [f.path.slice(ROOT.length + 1), Buffer.from(f.content).toString()]));
    const solved = await withSandbox(files, async (sb) => {
      await agent(sb, SOLVE_0101);
      return verify(resolved, sb);
    });
    assert.deepEqual(
      solved.checks.map((c) => [c.id, c.kind, c.score, c.error?.kind]),
      [['reward_script', 'reward_script', 1, undefined]],
    );
    assert.equal(solved.reward, 1);
    assert.equal(solved.solved, true);
    const nop = await withSandbox(files, (sb) => verify(resolved, sb));
    assert.equal(nop.reward, 0);
    assert.equal(nop.verifierErrors, 0, 'a reward of 0 is a wrong answer, not a verifier error');
  });

  test('the reward script runs as root in the root, with the payload file, and the folder byte for byte with modes', async (t) => {
    assertDocker(t);
    const dir = await rewardFolder(t, {
      'reward.sh': `set -e
{
  echo "uid=$(id -u) cwd=$(pwd) script=$0"
  echo "modes=$(cd "$(dirname "$0")" && stat -c '%n:%a' reward.sh check.py sub sub/data.bin | tr '\\n' ' ')"
  echo "sum=$(cd "$(dirname "$0")" && cat sub/data.bin | od -An -tx1 | tr -d ' \\n')"
  echo "payload_env=$OPENCLAW_REWARD_PAYLOAD"
  cat "$OPENCLAW_REWARD_PAYLOAD"; echo
} >&2
echo 0.5
`,
      'check.py': 'print("unused")\n',
    });
    const { chmod, mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'data.bin'), Buffer.from([0, 1, 2, 0xff, 10]));
    await chmod(join(dir, 'reward.sh'), 0o750);
    await chmod(join(dir, 'sub'), 0o711);
    await chmod(join(dir, 'sub', 'data.bin'), 0o600);
    const transcript = [{ role: 'user', content: 'Please do the thing.' }, { role: 'assistant', content: 'Done. ✓' }];
    const r = await withSandbox({}, (sb) => verify(rewardTask(dir), sb, { finalMessage: 'Done. ✓', transcript }));
    const c = byId(r, 'reward_script');
    assert.equal(c.score, 0.5, c.message);
    const err = c.output?.stderr ?? '';
    assert.match(err, new RegExp(`uid=0 cwd=${ROOT} script=${ROOT}/reward/reward.sh`));
    assert.match(err, /modes=reward\.sh:750 check\.py:644 sub:711 sub\/data\.bin:600/);
    assert.match(err, /sum=000102ff0a/);
    const envLine = /payload_env=(\S+)/.exec(err);
    assert.match(envLine?.[1] ?? '', /^\/tmp\/clawgym-verifier-[0-9a-f]{32}\/payload\.json$/);
    const payload = JSON.parse(err.slice(err.indexOf('{'), err.lastIndexOf('}') + 1));
    assert.deepEqual(payload, {
      task_id: 'docker-task',
      user_query: 'Please do the thing.',
      metadata: { category: 'test/verifier', grading_type: 'automated' },
      final_message: 'Done. ✓',
      transcript,
    });
  });

  test('reward script failures are verifier errors: crash, timeout, non-number, NaN, inf', async (t) => {
    assertDocker(t);
    const cases: [string, Partial<ResolvedVerifier>, string, RegExp][] = [
      ['echo 1; echo "boom" >&2; exit 3', {}, 'crash', /exited with code 3: boom/],
      ['echo 0.9; sleep 30', { timeoutMs: 1500 }, 'timeout', /did not finish within 1\.5 s/],
      ['echo "{\\"a\\": 1}"', {}, 'not-a-number', /not a number/],
      ['echo nan', {}, 'non-finite', /nan/],
      ['echo inf', {}, 'non-finite', /inf/],
    ];
    await withSandbox({}, async (sb) => {
      for (const [script, verifier, kind, message] of cases) {
        const dir = await rewardFolder(t, { 'reward.sh': `${script}\n` });
        const started = performance.now();
        const r = await verify(rewardTask(dir, verifier), sb);
        const c = byId(r, 'reward_script');
        assert.equal(c.error?.kind, kind, `${script}: ${c.message}`);
        assert.match(c.message, message);
        assert.equal(r.reward, 0);
        assert.equal(r.verifierErrors, 1);
        if (kind === 'timeout') assert.ok(performance.now() - started < 10_000, 'the timeout is enforced in the sandbox');
      }
      // the killed script left nothing running
      const ps = await sb.exec("ps -eo args | grep -c '[s]leep 30' || true");
      assert.equal(ps.stdout.trim(), '0');
    });
  });

  test("the verifier's time limit covers all in-sandbox checks together", async (t) => {
    assertDocker(t);
    const checks = [
      { id: 'slow', command: 'sleep 1.2' },
      { id: 'cut', python: 'import time\ndef grade(ws):\n    time.sleep(30)\n    return 1\n' },
      { id: 'cmd', command: 'true' },
      { id: 'never', python: 'def grade(ws):\n    return 1\n' },
    ];
    // a command that closes its output and hangs is still stopped at its own limit
    const quiet = await withSandbox({}, (sb) => verify(task([{ id: 'quiet', command: 'exec >&- 2>&-; sleep 30', timeout: '1s' }]), sb));
    assert.equal(byId(quiet, 'quiet').error?.kind, 'timeout');
    assert.match(byId(quiet, 'quiet').message, /within 1 s/);
    const started = performance.now();
    const r = await withSandbox({}, (sb) => verify(task(checks, { timeoutMs: 2000 }), sb));
    assert.ok(performance.now() - started < 15_000);
    // commands run before python checks: `cmd` runs, `cut` gets what is left, `never` nothing
    assert.deepEqual(
      r.checks.map((c) => [c.id, c.error?.kind]),
      [
        ['slow', undefined],
        ['cut', 'timeout'],
        ['cmd', undefined],
        ['never', 'timeout'],
      ],
    );
    assert.match(byId(r, 'cut').message, /what was left of the verifier's time limit/);
    assert.match(byId(r, 'never').message, /time limit ran out before grade\(\) started/);
  });

  test('python checks: a dict, an exception, 2.0, a workspace module that must not shadow the standard library', async (t) => {
    assertDocker(t);
    const checks = [
      { id: 'dict', python: 'def grade(ws):\n    return {"a": True, "b": 0.5, "c": 0}\n' },
      { id: 'raises', python: 'import json\n\ndef grade(ws):\n    with open(ws + "/missing.json") as f:\n        return json.load(f)\n' },
      { id: 'two', python: 'def grade(ws):\n    return 2.0\n' },
      { id: 'shadow', python: 'import json\ndef grade(ws):\n    return 1.0 if json.dumps([1]) == "[1]" else 0.0\n' },
      { id: 'prints', python: 'import sys\nprint("noise on stdout")\ndef grade(ws):\n    print("more", file=sys.stderr)\n    return 1\n' },
    ];
    const r = await withSandbox({ 'json.py': 'def dumps(x):\n    return "planted"\n' }, (sb) => verify(task(checks), sb));
    assert.equal(byId(r, 'dict').score, 0.5);
    assert.equal(byId(r, 'dict').error, undefined);
    assert.equal(byId(r, 'raises').error?.kind, 'crash');
    assert.match(byId(r, 'raises').message, /FileNotFoundError: .*missing\.json.* \(line 4, in grade\)/);
    assert.equal(byId(r, 'two').error?.kind, 'out-of-range');
    assert.equal(byId(r, 'shadow').score, 1, 'the workspace json.py must not shadow the stdlib');
    assert.equal(byId(r, 'prints').score, 1);
    assert.match(byId(r, 'prints').output?.stdout ?? '', /noise on stdout/);
  });

  test('a reward/ planted by the agent is replaced whole (files, extras, a symlink out)', async (t) => {
    assertDocker(t);
    const dir = join(TASK_0101, 'reward');
    await withSandbox({}, async (sb) => {
      await agent(sb, `mkdir -p reward && printf 'import json\\nprint(json.dumps({"all": True}))\\n' > reward/check.py && echo 'echo 1.0' > reward/reward.sh && echo x > reward/extra.txt`);
      const r = await verify(rewardTask(dir), sb);
      assert.equal(byId(r, 'reward_script').score, 0, 'the task\'s own check.py graded the empty workspace');
      const ls = await sb.exec('ls -A reward && cmp reward/check.py /dev/stdin >&2', { stdin: readFileSync(join(dir, 'check.py')) });
      assert.equal(ls.exitCode, 0, ls.stderr);
      assert.deepEqual(ls.stdout.trim().split('\n'), ['check.py', 'reward.sh']);
      // a symlink in place of reward/ is removed, never followed
      await agent(sb, 'rm -rf reward && mkdir -p /opt/keep && echo keep > /opt/keep/check.py && ln -s /opt/keep reward');
      const r2 = await verify(rewardTask(dir), sb);
      assert.equal(byId(r2, 'reward_script').error, undefined, byId(r2, 'reward_script').message);
      const after = await sb.exec('cat /opt/keep/check.py && test -d reward && test ! -L reward');
      assert.equal(after.exitCode, 0);
      assert.equal(after.stdout, 'keep\n');
    });
  });

  test("the verifier's directory: pre-planting is impossible, a directory that appears first is tampering", async (t) => {
    assertDocker(t);
    const dir = join(TASK_0101, 'reward');
    await withSandbox({}, async (sb) => {
      // the agent plants every directory it can think of: the real one is random and created by the runner
      await agent(sb, 'for i in 0 1 2 3; do mkdir -p /tmp/clawgym-verifier-$i$i$i/checks; echo "def grade(ws): return 1.0" > /tmp/clawgym-verifier-$i$i$i/checks/0.py; done; mkdir -p /tmp/clawgym-verifier-');
      const planted = await verify(task([{ id: 'p', python: 'def grade(ws):\n    return 0.0\n' }], { rewardScript: { hostDir: dir, script: 'reward.sh', weight: 1 } }), sb);
      assert.deepEqual(
        planted.checks.map((c) => [c.id, c.score, c.error?.kind]),
        [
          ['p', 0, undefined],
          ['reward_script', 0, undefined],
        ],
      );
      // the runner removes its directory when done
      const left = await sb.exec('ls -d /tmp/clawgym-verifier-*');
      assert.equal(left.stdout.trim().split('\n').length, 5, left.stdout);

      // a process that learns the name and creates the directory first is caught: every in-sandbox check is `tampered`
      const racer = interceptExec(sb, async (options) => {
        const name = bundleDir(options);
        await sb.exec(['mkdir', name]);
      });
      const raced = await verify(task([{ id: 'c', command: 'true' }, { id: 'f', file_exists: 'nothing' }], { rewardScript: { hostDir: dir, script: 'reward.sh', weight: 1 } }), racer);
      assert.equal(byId(raced, 'c').error?.kind, 'tampered');
      assert.match(byId(raced, 'c').message, /already exists/);
      assert.equal(byId(raced, 'reward_script').error?.kind, 'tampered');
      assert.equal(byId(raced, 'f').error, undefined, 'host checks are unaffected');
    });
  });

  test("the agent's code, run by a command check, cannot rewrite the verifier's files", async (t) => {
    assertDocker(t);
    await withSandbox({ 'tools/run.sh': 'for d in /tmp/clawgym-verifier-*; do printf "def grade(ws):\\n    return 1.0\\n" > "$d/checks/0.py"; echo \'{"task_id": "forged"}\' > "$d/payload.json"; done\n' }, async (sb) => {
      const r = await verify(task([{ id: 'c', command: 'bash tools/run.sh' }, { id: 'p', python: 'def grade(ws):\n    return 0.0\n' }]), sb);
      // files of the verifier changed under the checks: no in-sandbox verdict stands
      assert.equal(r.filesIntact, false);
      assert.equal(byId(r, 'c').error?.kind, 'tampered');
      assert.equal(byId(r, 'p').error?.kind, 'tampered');
      assert.match(byId(r, 'p').message, /was changed after it was written/);
    });
  });

  test('no python3 in the sandbox: in-sandbox checks say so, file checks still run', async (t) => {
    assertDocker(t);
    await withSandbox({ 'a.txt': 'x' }, async (sb) => {
      await agent(sb, 'mv /usr/bin/python3 /usr/bin/python3.gone; rm -f /usr/bin/python');
      const r = await verify(task([{ id: 'c', command: 'true' }, { id: 'f', file_exists: 'a.txt' }]), sb);
      assert.equal(byId(r, 'c').error?.kind, 'unavailable');
      assert.match(byId(r, 'c').message, /python3 is not installed/);
      assert.equal(byId(r, 'f').passed, true);
    });
  });

  test('snapshot caps on the real engine; a workspace the agent removed', async (t) => {
    assertDocker(t);
    await withSandbox({ 'big.txt': 'x'.repeat(5000), 'small.txt': 'hello' }, async (sb) => {
      const checks = [
        { id: 'big', file_matches: { path: 'big.txt', pattern: 'x' } },
        { id: 'small', file_matches: { path: 'small.txt', pattern: 'hello' } },
        { id: 'cmd', command: 'test -f big.txt' },
      ];
      const perFile = await runVerifier(task(checks), sb, { finalMessage: '', transcript: [], snapshot: { maxFileBytes: 1000 } });
      assert.equal(byId(perFile, 'big').error?.kind, 'too-large');
      assert.equal(byId(perFile, 'small').passed, true);
      const total = await runVerifier(task(checks), sb, { finalMessage: '', transcript: [], snapshot: { maxTotalBytes: 1000 } });
      assert.equal(byId(total, 'big').error?.kind, 'too-large');
      assert.equal(byId(total, 'small').error?.kind, 'too-large', 'no snapshot: every file check is an error');
      assert.equal(byId(total, 'cmd').passed, true, 'in-sandbox checks still run');
      assert.match(total.snapshotError ?? '', /cap/);

      await sb.exec(['rm', '-rf', ROOT], { cwd: '/' });
      const gone = await verify(task([...checks, { id: 'absent', file_absent: 'small.txt' }]), sb);
      assert.deepEqual(
        gone.checks.map((c) => [c.id, c.score, c.error?.kind]),
        [
          ['big', 0, undefined],
          ['small', 0, undefined],
          ['cmd', 0, undefined],
          ['absent', 1, undefined],
        ],
      );
      assert.match(byId(gone, 'cmd').message, /workspace root no longer exists/);
    });
  });

  test('timing: one verification of a reward-script-only task (copy-out + one exec)', async (t) => {
    assertDocker(t);
    const loaded = loadTask({ kind: 'clawgym', path: TASK_0101 });
    const resolved = loaded.task!;
    const files = Object.fromEntries(resolved.files.filter((f) => f.type !== 'directory').map((f) => [f.path.slice(ROOT.length + 1), Buffer.from(f.content).toString()]));
    const times: number[] = [];
    await withSandbox(files, async (sb) => {
      await agent(sb, SOLVE_0101);
      for (let i = 0; i < 12; i++) {
        const started = performance.now();
        const r = await verify(resolved, sb);
        times.push(performance.now() - started);
        assert.equal(r.reward, 1);
      }
    });
    times.sort((a, b) => a - b);
    const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(0);
    t.diagnostic(`verify (reward script only): p50 ${p(0.5)} ms, min ${times[0]!.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms over ${times.length} runs`);
  });
});

/** A view of `sb` whose exec first runs `before` (to play a process racing the verifier). */
function interceptExec(sb: Sandbox, before: (options: ExecOptions) => Promise<void>): Sandbox {
  return {
    id: sb.id,
    name: sb.name,
    spec: sb.spec,
    copyIn: (f, o) => sb.copyIn(f, o),
    copyOut: (d, o) => sb.copyOut(d, o),
    dispose: () => sb.dispose(),
    exec: async (command: Command, options: ExecOptions = {}) => {
      if (options.stdin !== undefined) await before(options);
      return sb.exec(command, options);
    },
  };
}

function bundleDir(options: ExecOptions): string {
  const m = /\nmain\(\{.*?"dir_name": "(clawgym-verifier-[0-9a-f]+)"/.exec(String(options.stdin));
  assert.ok(m, 'the spec names the directory');
  return `/tmp/${m[1]!}`;
}

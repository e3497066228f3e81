/**
 * The compiled CLI's run-side commands as a child process, on the real engine: run, check,
 * import/export, gc, Ctrl-C, and their usage errors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { assertDocker, containersOf, needsDocker } from '../../core/test/docker';

const repoRoot = join(__dirname, '..', '..', '..');
const cliJs = join(repoRoot, 'out', 'cli', 'src', 'main.js');
const tasks = join(repoRoot, 'test-fixtures', 'tasks');

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [cliJs, ...args], { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmp(): string {
  return fs.mkdtempSync(join(os.tmpdir(), 'clawgym-cli-run-'));
}


/** A tiny task in a temp folder; `solution` is its oracle script. */
function writeTask(dir: string, solution: string, extra = ''): string {
  const file = join(dir, 'tiny.clawtask');
  fs.writeFileSync(
    file,
    `version: 1
id: tiny
intent: Copy input.txt to out.txt.
workspace:
  files:
    input.txt: "hello\\n"
verifier:
  checks:
    - id: copied
      file_equals: { path: out.txt, text: "hello\\n" }
${extra}solution:
  script: |
${solution
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`,
  );
  return file;
}

describe('run-side usage errors exit 2', () => {
  const cwd = repoRoot;
  for (const [args, re] of [
    [['run'], /needs at least one task/],
    [['run', '--backend', 'vm', 'x'], /unknown backend `vm`/],
    [['run', '--concurrency', '0', 'x'], /whole number of 1 or more/],
    [['run', '--timeout', 'soon', 'x'], /invalid duration/],
    [['run', '--agent', 'gpt', join(tasks, 'roommate-balances')], /unknown agent `gpt`/],
    [['check', '--agent', 'nop', 'x'], /always runs the oracle and nop/],
    [['run', '--agent', 'oracle', 'no/such/task'], /path not found/],
    [['run', 'x'], /no model is configured for the built-in agent/],
    [['run', '--model-script', 's.json', '--model', 'm', 'x'], /cannot go with `--model`/],
    [['run', '--api-key-env', 'sk-123', 'x'], /the key itself is never a flag/],
    [['run', '--temperature', '5', 'x'], /from 0 to 2/],
    [['run', '--agent', 'oracle', '--model', 'm', 'x'], /model flags are for model-driven agents/],
    [['run', '--agent', 'replay', 'x'], /needs `--trajectory PATH`/],
    [['run', '--trajectory', 't.json', 'x'], /is for `--agent replay`/],
    [['check', '--model', 'm', 'x'], /`--model` is for `run`/],
    [['run', '--model-script', 'no/such/script.json', join(tasks, 'roommate-balances')], /no\/such\/script.json/],
    [['import', 'x'], /needs `--out <dir>`/],
    [['export', '--format', 'harbor', 'x', '--out', 'y'], /unknown export format/],
    [['image', 'push'], /use `clawgym image build`/],
  ] as const) {
    test(args.join(' '), () => {
      const r = run([...args], cwd);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
    });
  }
});

describe('run and check on the real engine', needsDocker(), () => {
  test('run --agent oracle passes (exit 0) and writes a run folder; nop fails (exit 1) naming the failed checks', () => {
    assertDocker();
    const cwd = tmp();
    try {
      const ok = run(['run', '--agent', 'oracle', join(tasks, 'roommate-balances')], cwd);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /✓ roommate-balances {2}reward 1\.000 · checks 7\/7/);
      assert.match(ok.stderr, /1 trial: 1 passed, 0 failed · mean reward 1\.000/);
      const runs = fs.readdirSync(join(cwd, 'runs'));
      assert.equal(runs.length, 1);
      assert.ok(fs.existsSync(join(cwd, 'runs', runs[0], 'trials', 'roommate-balances', 'verifier', 'ctrf.json')));

      const bad = run(['run', '--agent', 'nop', '--no-save', join(tasks, 'clawgym', 'task_1003')], cwd);
      assert.equal(bad.status, 1, bad.stderr);
      assert.match(bad.stdout, /✗ task_1003 {2}reward 0\.000/);
      assert.match(bad.stdout, /✗ reward_script \[reward_script\]/);
      assert.equal(fs.readdirSync(join(cwd, 'runs')).length, 1, '--no-save wrote nothing');
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('--json prints the event stream as JSON lines', () => {
    assertDocker();
    const cwd = tmp();
    try {
      const r = run(['run', '--json', '--no-save', '--agent', 'nop', join(tasks, 'clawgym', 'task_1001')], cwd);
      assert.equal(r.status, 1);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; result?: { reward: number } });
      assert.equal(events[0].type, 'run-start');
      assert.equal(events.at(-1)!.type, 'run-end');
      assert.equal(events.find((e) => e.type === 'trial-end')?.result?.reward, 0);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('check accepts good tasks and rejects one whose no-op already scores', () => {
    assertDocker();
    const cwd = tmp();
    try {
      const good = run(['check', '--no-save', '-j', '2', join(tasks, 'clawgym', 'task_1002'), join(tasks, 'shop-customer-summary')], cwd);
      assert.equal(good.status, 0, good.stdout + good.stderr);
      assert.match(good.stderr, /2 tasks checked: 2 ok, 0 rejected/);
      // The check passes on the untouched workspace: the filter must reject it.
      const file = writeTask(cwd, 'cp input.txt out.txt');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('input.txt: "hello\\n"', 'input.txt: "hello\\n"\n    out.txt: "hello\\n"'));
      const bad = run(['check', '--no-save', file], cwd);
      assert.equal(bad.status, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /✗ tiny {2}oracle 1\.000 · nop 1\.000/);
      assert.match(bad.stdout, /doing nothing scores 1\.000, not 0 \(already passing: copied\)/);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('Ctrl-C mid-run: exit 130, the sandbox removed, the run folder says what happened', async () => {
    assertDocker();
    const cwd = tmp();
    try {
      const file = writeTask(cwd, 'sleep 600');
      const child = spawn(process.execPath, [cliJs, 'run', '--agent', 'oracle', '--json', file], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let runId = '';
      let signalled = false;
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        for (const line of out.split('\n').slice(0, -1)) {
          const e = JSON.parse(line) as { type: string; runId?: string; phase?: string };
          if (e.type === 'run-start') runId = e.runId!;
          if (e.type === 'phase' && e.phase === 'agent' && !signalled) {
            signalled = true;
            child.kill('SIGINT');
          }
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 130);
      assert.ok(runId, 'saw run-start');
      assert.deepEqual(containersOf(runId), [], 'no container left');
      const summary = JSON.parse(fs.readFileSync(join(cwd, 'runs', runId, 'result.json'), 'utf8'));
      assert.equal(summary.complete, false);
      assert.equal(summary.cancelled, 1);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('import then run gives the reward of the original; export gives back the same files', () => {
    assertDocker();
    const cwd = tmp();
    try {
      const imp = run(['import', join(tasks, 'clawgym'), '--out', 'imported'], cwd);
      assert.equal(imp.status, 0, imp.stderr);
      const ran = run(['run', '--agent', 'oracle', '--no-save', '-j', '2', 'imported'], cwd);
      assert.equal(ran.status, 0, ran.stdout + ran.stderr);
      assert.match(ran.stderr, /6 trials: 6 passed/, 'each imported task runs once, as a .clawtask');
      const exp = run(['export', '--format', 'clawgym', 'imported', '--out', 'exported'], cwd);
      assert.equal(exp.status, 0, exp.stderr);
      const diff = spawnSync('diff', ['-r', join(cwd, 'exported'), join(tasks, 'clawgym')], { encoding: 'utf8' });
      assert.equal(diff.status, 0, diff.stdout);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('gc removes a sandbox whose owner process is gone and keeps a live one', () => {
    assertDocker();
    const run1 = `gc-cli-test-${process.pid}`;
    const host = os.hostname();
    const dead = spawnSync('true').pid!; // a pid that has exited
    const mk = (owner: string) =>
      execFileSync('docker', ['create', '--label', `dev.clawgym.run=${run1}`, '--label', 'dev.clawgym.trial=t', '--label', `dev.clawgym.owner=${owner}`, 'clawgym/sandbox:latest', 'true'], { encoding: 'utf8' }).trim();
    const gone = mk(`${host}:${dead}`);
    const live = mk(`${host}:${process.pid}`);
    try {
      const r = run(['gc'], repoRoot);
      assert.equal(r.status, 0, r.stderr);
      const left = containersOf(run1);
      assert.ok(!left.some((id) => gone.startsWith(id)), 'the orphan was removed');
      assert.ok(left.some((id) => live.startsWith(id)), 'the live one was kept');
    } finally {
      spawnSync('docker', ['rm', '-f', gone, live]);
    }
  });
});

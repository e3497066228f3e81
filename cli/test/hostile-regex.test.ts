/**
 * Hostile suite, bounded matching, at the CLI: the bundled CLI (dist/cli.js, built by `npm run
 * build`) as a child process on the real engine. Patterns that make a backtracking engine run
 * for ages (`^(a+)+$` against `aaa…a!`, the glob `*a*a*a*a*a*a*a*a*a*a*a*b` against a long name)
 * must not freeze `clawgym validate`, nor a run: the hostile trial is graded (its patterns are
 * answered, the unsupported one is an error of that check alone), the other trials go on, and
 * Ctrl-C and SIGTERM end the run within seconds with every container removed.
 *
 * Before bounded matching each of these froze the process: V8's regex engine does not yield to
 * signals, timers or other trials.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { assertDocker, containersOf, needsDocker } from '../../core/test/docker';

const repoRoot = join(__dirname, '..', '..', '..');
const cliJs = join(repoRoot, 'dist', 'cli.js');
const noBundle = fs.existsSync(cliJs) ? false : 'dist/cli.js is missing (run `npm run build`)';

/** How long a run may take to end after a signal (it removes containers first). */
const EXIT_WITHIN_MS = 15_000;

/** 40 `a`s and a `!`: V8 needs about 2^40 steps for `^(a+)+$` on it, i.e. forever. */
const SEED = `${'a'.repeat(40)}!`;

/**
 * The hostile task: the oracle writes 50,000 `a`s and a `!`, and a file with a 200-`a` name;
 * every check pattern backtracks catastrophically on that, and one plain check passes. With
 * `lookahead`, one more check uses a lookahead the linear engine refuses (`run` then refuses the
 * task: the verifier's side of that is in core/test/hostile-regex.test.ts).
 */
function hostileTask(dir: string, lookahead = false): string {
  const file = join(dir, 'hostile.clawtask');
  fs.writeFileSync(
    file,
    `version: 1
id: hostile
intent: Write out.txt.
workspace:
  files:
    seed.txt: "${SEED}"
verifier:
  timeout: 30s
  checks:
    - id: seed-nested
      file_matches: { path: seed.txt, pattern: '^(a+)+$' }
    - id: file-nested
      file_matches: { path: out.txt, pattern: '^(a+)+$' }
    - id: stdout-nested
      command: cat out.txt
      stdout_matches: '^(a+)+$'
    - id: glob-overlap
      file_exists: 'names/*a*a*a*a*a*a*a*a*a*a*a*b'
${lookahead ? "    - id: lookahead\n      file_matches: { path: out.txt, pattern: 'a(?=!)' }\n" : ''}    - id: written
      file_exists: out.txt
solution:
  script: |
    head -c 50000 /dev/zero | tr '\\0' a > out.txt
    printf '!' >> out.txt
    mkdir names && touch "names/$(head -c 200 /dev/zero | tr '\\0' a)"
`,
  );
  return file;
}

/** A trial that stays in its agent phase until it is cancelled. */
function slowTask(dir: string, id: string): string {
  const file = join(dir, `${id}.clawtask`);
  fs.writeFileSync(
    file,
    `version: 1
id: ${id}
intent: Wait.
verifier:
  checks:
    - id: never
      file_exists: never.txt
solution:
  script: sleep 600
`,
  );
  return file;
}

function tmp(): string {
  return fs.mkdtempSync(join(os.tmpdir(), 'clawgym-hostile-regex-'));
}

interface Check {
  id: string;
  score: number;
  passed: boolean;
  message: string;
  error?: { kind: string; message: string };
}

describe('hostile: bounded matching at the CLI', { skip: noBundle }, () => {
  test('validate: a pattern that backtracks catastrophically on the inline content neither hangs nor passes silently; it warns', () => {
    const cwd = tmp();
    try {
      const file = hostileTask(cwd, true);
      const started = Date.now();
      const r = spawnSync(process.execPath, [cliJs, 'validate', '--json', file], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
      const ms = Date.now() - started;
      assert.equal(r.signal, null, `validate was killed after ${ms} ms: it hung`);
      const ds = JSON.parse(r.stdout) as { code: string; severity: string; message: string; line: number }[];
      const codes = ds.map((d) => `${d.severity} ${d.code}`);
      assert.equal(codes.filter((c) => c === 'warning regex-backtracking').length, 4, r.stdout);
      assert.ok(codes.includes('error invalid-regex'), 'the lookahead is refused');
      assert.match(ds.find((d) => d.code === 'invalid-regex')!.message, /lookahead `\(\?=!\)` is not supported/);
      assert.ok(ms < 10_000, `validate took ${ms} ms`);
      console.log(`validate on the hostile task: ${ms} ms (process start included)`);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  // the last case forces the fallback: no grace at all, so the run removes every sandbox and exits
  // at once, as it would when winding down takes longer than CANCEL_GRACE_MS
  for (const [signal, grace] of [
    ['SIGINT', undefined],
    ['SIGTERM', undefined],
    ['SIGTERM', '0'],
  ] as const) {
    const how = grace === undefined ? '' : ` (no grace: CLAWGYM_CANCEL_GRACE_MS=${grace})`;
    test(`run: the hostile trial is graded while the others go on, then ${signal}${how} ends the run within seconds, no container left`, needsDocker(), async () => {
      assertDocker();
      const cwd = tmp();
      const child = spawn(process.execPath, [cliJs, 'run', '--agent', 'oracle', '--json', '-j', '3', hostileTask(cwd), slowTask(cwd, 'slow-1'), slowTask(cwd, 'slow-2')], {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1', ...(grace === undefined ? {} : { CLAWGYM_CANCEL_GRACE_MS: grace }) },
      });
      let runId = '';
      let hostile: { status: string; checks: Check[] } | undefined;
      const inAgent = new Set<string>();
      const trialTask = new Map<string, string>();
      let signalledAt = 0;
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      let buf = '';
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const line of lines) {
          const e = JSON.parse(line) as { type: string; runId?: string; trialId?: string; taskId?: string; phase?: string; result?: { taskId: string; status: string; checks: Check[] } };
          if (e.type === 'run-start') runId = e.runId!;
          if (e.type === 'trial-start') trialTask.set(e.trialId!, e.taskId!);
          if (e.type === 'phase' && e.phase === 'agent') inAgent.add(trialTask.get(e.trialId!) ?? '');
          if (e.type === 'trial-end' && e.result?.taskId === 'hostile') hostile = e.result;
          // the hostile trial is graded and both slow trials are busy: now interrupt
          if (hostile && inAgent.has('slow-1') && inAgent.has('slow-2') && !signalledAt) {
            signalledAt = Date.now();
            child.kill(signal);
          }
        }
      });
      // a frozen CLI would never get here: fail after 90 s instead of hanging the suite
      const watchdog = setTimeout(() => child.kill('SIGKILL'), 90_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(watchdog);
      const exitMs = Date.now() - signalledAt;
      try {
        assert.ok(hostile, `the hostile trial never finished grading: ${stderr.slice(-2000)}`);
        assert.ok(signalledAt > 0, 'the signal was sent');
        assert.equal(code, signal === 'SIGTERM' ? 143 : 130, stderr.slice(-2000));
        assert.ok(exitMs < EXIT_WITHIN_MS, `the run took ${exitMs} ms to end after ${signal}`);
        assert.deepEqual(containersOf(runId), [], 'no container left');
        const by = new Map(hostile.checks.map((c) => [c.id, c]));
        // the patterns were answered (no match: the text ends with `!`, the name has no `b`) ...
        for (const id of ['seed-nested', 'file-nested', 'stdout-nested', 'glob-overlap']) {
          assert.equal(by.get(id)?.score, 0, `${id}: ${JSON.stringify(by.get(id))}`);
          assert.equal(by.get(id)?.error, undefined, `${id} is a wrong answer, not an error`);
        }
        // ... and the plain check still passes
        assert.equal(by.get('written')?.passed, true);
        if (grace !== undefined) assert.match(stderr, /did not wind down within 0 ms; removing sandboxes and exiting now/);
        console.log(`${signal}${how}: the run ended ${exitMs} ms after the signal`);
      } finally {
        for (const id of containersOf(runId)) spawnSync('docker', ['rm', '-f', id]);
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  }
});

/**
 * `npm run bench:sandbox`: what one trial's sandbox cycle costs, against the floor of a bare
 * container run measured in the same process, on the same engine, at the same concurrency.
 *
 * - **clawgym**: the full cycle the runner does for every trial (create a container with the
 *   workspace copied in, the agent's exec, the verifier: snapshot, copy the reward folder in, one
 *   exec grading it, then dispose), through `runJob` with the `nop` agent exactly as
 *   `clawgym run --agent nop` does it, run folder included.
 * - **floor**: `docker run --rm IMAGE python3 -c pass` through the docker CLI: a container that
 *   starts Python once and goes away, the least any harness can do per task.
 * - **floor+grade**: the floor plus the grading every cycle must do: `docker run --rm -i` with the
 *   inputs and reward/ as a tar on stdin, extracted and graded by the authors' reward.sh in the
 *   container's one process. What it adds to the floor is the reward script's own cost.
 * - **cli-harness** (context, `--cli-harness`): the authors' style of harness, one docker CLI
 *   subprocess per step (run -d, cp inputs, exec agent, cp reward, exec reward.sh, rm -f).
 *
 * The tasks are generated like ClawGym-Bench's published split (200 tasks; 3 input files of about
 * 2 KB in all; the authors' reward.sh; a stdlib check.py). Target (issue 3): clawgym/floor <= 1.2
 * at concurrency 4 over 200 tasks. Prints the figures and the ratio; `--strict` exits 1 when the
 * target is missed. Options: `--tasks N` (200), `--concurrency N` (4), `--image TAG`, `--keep`,
 * `--fresh-grading` (grade every trial in a fresh sandbox: what always-fresh grading would cost).
 *
 * Issue 9 (integrity): the clawgym cycle now ends the agent phase (the supervisor kills and
 * reaps whatever the agent left) and reads the engine's diff before grading; the `integrity`
 * line shows what that costs a trial.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { findTasks } from '../core/src/clawgym/find';
import { nopAgent } from '../core/src/run/agents';
import { runJob } from '../core/src/run/job';
import { loadTask } from '../core/src/run/load';
import type { ResolvedTask } from '../core/src/run/types';
import { createDockerBackend } from '../core/src/sandbox/docker';
import { installSignalHandlers } from '../core/src/sandbox/registry';
import { packFiles } from '../core/src/sandbox/tar';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const TASKS = Number(arg('tasks', '200'));
const CONCURRENCY = Number(arg('concurrency', '4'));
const IMAGE = arg('image', 'clawgym/sandbox:latest');
const STRICT = process.argv.includes('--strict');
const KEEP = process.argv.includes('--keep');
const CLI_HARNESS = process.argv.includes('--cli-harness');
const FRESH = process.argv.includes('--fresh-grading');
const TARGET = 1.2;

const repoRoot = path.join(__dirname, '..', '..');
const REWARD_SH = fs.readFileSync(path.join(repoRoot, 'test-fixtures', 'clawgym', 'valid', 'task_0101', 'reward', 'reward.sh'));

const CHECK_PY = `import json, os, sys
ws = sys.argv[1] if len(sys.argv) > 1 else "/root/.openclaw/workspace"
out = os.path.join(ws, "output", "summary.json")
scores = {"summary_exists": os.path.isfile(out), "totals_match": False}
if scores["summary_exists"]:
    try:
        with open(out) as f:
            data = json.load(f)
        scores["totals_match"] = data.get("total") == 42
    except ValueError:
        pass
print(json.dumps(scores))
`;

/** A split like ClawGym-Bench: task dirs with data_entry.json, input_files/ and reward/. */
function generateSplit(dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const id = `task_${String(i).padStart(4, '0')}`;
    const t = path.join(dir, id);
    fs.mkdirSync(path.join(t, 'input_files', 'input'), { recursive: true });
    fs.mkdirSync(path.join(t, 'reward'), { recursive: true });
    fs.writeFileSync(
      path.join(t, 'data_entry.json'),
      JSON.stringify(
        {
          task_id: id,
          user_query: `Please read the files under input/ and write output/summary.json with the total of the amounts (task ${i}). `.repeat(6),
          metadata: { category: 'bench/generated', grading_type: 'automated' },
          input_mount_dir: '/root/.openclaw/workspace',
        },
        null,
        2,
      ),
    );
    const rows = Array.from({ length: 24 }, (_, r) => `2024-0${(r % 9) + 1}-1${r % 10},item ${r} for task ${i},${(r * 7 + i) % 50}`).join('\n');
    fs.writeFileSync(path.join(t, 'input_files', 'input', 'ledger.csv'), `date,description,amount\n${rows}\n`);
    fs.writeFileSync(path.join(t, 'input_files', 'input', 'notes.md'), `# Notes for task ${i}\n\n${'Remember to double-check the totals. '.repeat(12)}\n`);
    fs.writeFileSync(path.join(t, 'input_files', 'input', 'config.json'), JSON.stringify({ currency: 'EUR', task: i, owner: 'bench' }, null, 2));
    fs.writeFileSync(path.join(t, 'reward', 'reward.sh'), REWARD_SH, { mode: 0o755 });
    fs.writeFileSync(path.join(t, 'reward', 'check.py'), CHECK_PY);
  }
}

function docker(args: string[], stdin?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', args, { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    if (stdin) p.stdin!.end(stdin);
    let err = '';
    p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args.slice(0, 2).join(' ')} exited ${code}: ${err.trim()}`))));
  });
}

/** Run `work(i)` for i < n, `concurrency` at a time; per-item latencies in ms. */
async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<{ wallMs: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const t = performance.now();
        await work(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { wallMs: performance.now() - start, latencies };
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function line(name: string, r: { wallMs: number; latencies: number[] }, n: number): string {
  return `${name.padEnd(12)} ${(r.wallMs / 1000).toFixed(2).padStart(7)} s wall · ${(r.wallMs / n).toFixed(1).padStart(6)} ms/task · per-task latency p50 ${pct(r.latencies, 50).toFixed(0)} ms, p95 ${pct(r.latencies, 95).toFixed(0)} ms`;
}

async function cliHarness(tasks: ResolvedTask[], splitDir: string): Promise<{ wallMs: number; latencies: number[] }> {
  return pool(tasks.length, CONCURRENCY, async (i) => {
    const task = tasks[i];
    const name = `clawgym-bench-cli-${process.pid}-${i}`;
    const dir = path.join(splitDir, task.id);
    await docker(['run', '-d', '--name', name, '--network', 'none', '--label', 'dev.clawgym.run=bench-cli', IMAGE, 'sleep', 'infinity']);
    try {
      await docker(['exec', name, 'mkdir', '-p', '/root/.openclaw/workspace']);
      await docker(['cp', `${path.join(dir, 'input_files')}/.`, `${name}:/root/.openclaw/workspace`]);
      await docker(['exec', '-w', '/root/.openclaw/workspace', name, 'true']); // the (nop) agent's step
      await docker(['cp', path.join(dir, 'reward'), `${name}:/root/.openclaw/workspace/reward`]);
      await docker(['exec', '-w', '/root/.openclaw/workspace', name, 'bash', '/root/.openclaw/workspace/reward/reward.sh']);
    } finally {
      await docker(['rm', '-f', name]);
    }
  });
}

/**
 * The least a harness that also grades can do: one `docker run --rm -i` per task whose only
 * process extracts the inputs and the reward folder from stdin and runs the authors' reward.sh
 * (bash and two python3 starts: work the bare floor does not do and the clawgym cycle cannot skip).
 */
async function gradedFloorInputs(tasks: ResolvedTask[]): Promise<Buffer[]> {
  return Promise.all(
    tasks.map((task) => {
      const dir = task.verifier.rewardScript!.hostDir;
      const reward = fs.readdirSync(dir).map((name) => ({
        path: `${task.root}/reward/${name}`,
        content: fs.readFileSync(path.join(dir, name)),
        mode: fs.statSync(path.join(dir, name)).mode & 0o777,
      }));
      return packFiles([...task.files, ...reward]);
    }),
  );
}

function gradedFloor(archive: Buffer): Promise<void> {
  const script = 'tar -x -f - -C / && cd /root/.openclaw/workspace && bash reward/reward.sh';
  return docker(['run', '--rm', '-i', '--network', 'none', IMAGE, 'sh', '-c', script], archive);
}

async function main(): Promise<void> {
  installSignalHandlers();
  const backend = createDockerBackend();
  await backend.ping();
  if (!(await backend.imageExists(IMAGE))) throw new Error(`the image ${IMAGE} does not exist: run \`clawgym image build\``);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgym-bench-sandbox-'));
  try {
    const splitDir = path.join(work, 'split');
    generateSplit(splitDir, TASKS);
    const tasks = findTasks([splitDir]).tasks.map((e) => {
      const r = loadTask(e);
      if (!r.task) throw new Error(`generated task refused: ${r.error}`);
      return r.task;
    });
    console.log(`bench:sandbox · ${TASKS} tasks · concurrency ${CONCURRENCY} · ${backend.describe()} · image ${IMAGE} · ${os.cpus().length} cores`);

    // Warm-up: the engine's and the page cache's first-time costs out of both measurements.
    await pool(CONCURRENCY, CONCURRENCY, () => docker(['run', '--rm', '--network', 'none', IMAGE, 'python3', '-c', 'pass']));
    await runJob({ tasks: tasks.slice(0, CONCURRENCY), agent: nopAgent, backend, image: IMAGE, concurrency: CONCURRENCY });

    // Interleave the two measurements (floor, ours, floor, ours) so drift on a shared machine hits both.
    const halves = [tasks.slice(0, Math.ceil(TASKS / 2)), tasks.slice(Math.ceil(TASKS / 2))];
    const floor = { wallMs: 0, latencies: [] as number[] };
    const graded = { wallMs: 0, latencies: [] as number[] };
    const archives = await gradedFloorInputs(tasks);
    const ours = { wallMs: 0, latencies: [] as number[] };
    let rewards = 0;
    let failures = 0;
    const timings: { createMs: number; agentMs: number; verifyMs: number; integrityMs: number; disposeMs: number }[] = [];
    let freshGraded = 0;
    for (const half of halves) {
      const f = await pool(half.length, CONCURRENCY, () => docker(['run', '--rm', '--network', 'none', IMAGE, 'python3', '-c', 'pass']));
      floor.wallMs += f.wallMs;
      floor.latencies.push(...f.latencies);
      const offset = half === halves[0] ? 0 : halves[0].length;
      const g = await pool(half.length, CONCURRENCY, (i) => gradedFloor(archives[offset + i]));
      graded.wallMs += g.wallMs;
      graded.latencies.push(...g.latencies);
      const t = performance.now();
      const summary = await runJob({ tasks: half, agent: nopAgent, backend, image: IMAGE, concurrency: CONCURRENCY, runsDir: path.join(work, 'runs'), ...(FRESH ? { freshGrading: true } : {}) });
      freshGraded += summary.results.filter((r) => r.integrity?.gradedIn === 'fresh-sandbox').length;
      ours.wallMs += performance.now() - t;
      ours.latencies.push(...summary.results.map((r) => r.timing.totalMs));
      timings.push(...summary.results.map((r) => r.timing));
      rewards += summary.results.reduce((s, r) => s + r.reward, 0);
      failures += summary.results.filter((r) => r.status === 'error' || r.verifierErrors > 0).length;
    }
    if (failures) throw new Error(`${failures} trials errored or had verifier errors: the cycle measured is not a working one`);

    console.log('');
    console.log(line('floor', floor, TASKS) + '   (docker run --rm IMAGE python3 -c pass)');
    console.log(line('floor+grade', graded, TASKS) + '   (docker run --rm -i IMAGE: inputs and reward/ from stdin, bash reward.sh)');
    console.log(line('clawgym', ours, TASKS) + '   (create + copy in + exec + verify + dispose, nop agent, run folder written)');
    const phase = (k: keyof (typeof timings)[number]) => `${k.replace('Ms', '')} p50 ${pct(timings.map((t) => t[k]), 50).toFixed(0)} ms`;
    console.log(`${''.padEnd(12)} phases: ${phase('createMs')} · ${phase('agentMs')} · ${phase('verifyMs')} (of it ${phase('integrityMs')}) · ${phase('disposeMs')}`);
    console.log(`${''.padEnd(12)} integrity: mean ${(timings.reduce((a, t) => a + t.integrityMs, 0) / timings.length).toFixed(1)} ms/trial (quiesce + look at what changed outside the workspace${FRESH ? ' + fresh grading sandbox' : ''}); ${freshGraded} of ${TASKS} graded in a fresh sandbox${FRESH ? ' (--fresh-grading)' : ''}`);
    if (CLI_HARNESS) {
      const cli = await cliHarness(tasks, splitDir);
      console.log(line('cli-harness', cli, TASKS) + '   (docker CLI subprocess per step, the authors\' style)');
      console.log(`cli-harness/floor ratio: ${(cli.wallMs / floor.wallMs).toFixed(2)}`);
    }
    const ratio = ours.wallMs / floor.wallMs;
    console.log('');
    console.log(`nop mean reward ${(rewards / TASKS).toFixed(3)} (must be 0)`);
    console.log(`floor+grade/floor ratio: ${(graded.wallMs / floor.wallMs).toFixed(2)} (what grading with the authors' reward.sh adds to a bare container, before any harness)`);
    console.log(`clawgym/floor+grade ratio: ${(ours.wallMs / graded.wallMs).toFixed(2)}`);
    console.log(`clawgym/floor ratio: ${ratio.toFixed(2)} (target <= ${TARGET}) ${ratio <= TARGET ? 'PASS' : 'FAIL'}`);
    if (STRICT && ratio > TARGET) process.exitCode = 1;
  } finally {
    if (!KEEP) fs.rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

main().catch((e: unknown) => {
  console.error(`bench:sandbox: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});

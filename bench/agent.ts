/**
 * `npm run bench:agent`: the built-in agent's harness overhead per step, against a bare exec round
 * trip over the Docker API measured in the same run, on the same engine.
 *
 * - **agent step**: one step of the built-in agent, end to end: the streamed model call over HTTP
 *   to the scripted model server on 127.0.0.1 (zero delay, so the model's own latency is nil and
 *   everything measured is harness), the reply reassembled, the `exec` tool call run in the
 *   sandbox through the persistent shell (working directory and exported variables restored and
 *   saved), the observation, the trajectory step. Shown whole, and split into the model call and
 *   the rest.
 * - **bare exec**: `true` through the Docker API with dockerode: exec create, start (attached),
 *   read to the end, inspect for the exit code. What a harness without an in-sandbox session pays
 *   for every command (the docker CLI's `docker exec` costs more: a process start on top).
 *
 * Target (issue 4): agent step p95 <= half the bare exec round trip (p50). Prints the figures and
 * the ratios; `--strict` exits 1 when the target is missed. Options: `--steps N` (200),
 * `--execs N` (200), `--image TAG`.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createBuiltinAgent } from '../core/src/agent/builtin';
import { startModelServer } from '../core/src/modelserver';
import { runTrial } from '../core/src/run/trial';
import type { ResolvedTask } from '../core/src/run/types';
import { createDockerBackend } from '../core/src/sandbox/docker';
import { installSignalHandlers } from '../core/src/sandbox/registry';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const STEPS = Number(arg('steps', '200'));
const EXECS = Number(arg('execs', '200'));
const IMAGE = arg('image', 'clawgym/sandbox:latest');
const STRICT = process.argv.includes('--strict');

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const fmt = (v: number): string => v.toFixed(1).padStart(6);
const row = (name: string, v: number[], note: string): string => `${name.padEnd(22)} p50 ${fmt(pct(v, 50))} ms · p95 ${fmt(pct(v, 95))} ms · n=${v.length}   ${note}`;

const TASK: ResolvedTask = {
  id: 'bench-agent',
  source: { kind: 'clawtask', path: '/bench/bench-agent.clawtask' },
  baseDir: '/bench',
  intent: 'Run the commands, then finish.',
  metadata: {},
  root: '/root/.openclaw/workspace',
  files: [{ path: '/root/.openclaw/workspace/notes.txt', content: Buffer.from('bench\n') }],
  setup: [],
  network: 'none',
  env: {},
  resources: {},
  agent: {},
  verifier: { checks: [{ id: 'notes', file_exists: 'notes.txt' }], timeoutMs: 60_000, passThreshold: 1, rubric: [], weights: { code: 1, rubric: 0 } },
};

async function bareExecs(backend: ReturnType<typeof createDockerBackend>): Promise<number[]> {
  const sandbox = await createDockerBackend({ session: false }).create({ image: IMAGE, workdir: TASK.root, runId: `bench-agent-${process.pid}`, trialId: 'bare' }, []);
  const times: number[] = [];
  try {
    const container = backend.docker.getContainer(sandbox.id);
    for (let i = 0; i < EXECS + 10; i++) {
      const t = performance.now();
      const exec = await container.exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true, Tty: false });
      const stream = await exec.start({ hijack: true, stdin: false, Detach: false, Tty: false });
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
        stream.resume();
      });
      const info = await exec.inspect();
      if (info.ExitCode !== 0) throw new Error(`bare exec exited ${info.ExitCode}`);
      if (i >= 10) times.push(performance.now() - t); // the first ten warm the engine up
    }
  } finally {
    await sandbox.dispose();
  }
  return times;
}

async function main(): Promise<void> {
  installSignalHandlers();
  const backend = createDockerBackend();
  await backend.ping();
  if (!(await backend.imageExists(IMAGE))) throw new Error(`the image ${IMAGE} does not exist: run \`clawgym image build\``);
  console.log(`bench:agent · ${STEPS} agent steps · ${EXECS} bare execs · ${backend.describe()} · image ${IMAGE}`);

  const replies = [
    ...Array.from({ length: STEPS }, (_, i) => ({ tool_calls: [{ name: 'exec', arguments: { command: i % 2 ? 'true' : 'cd .' } }] })),
    { tool_calls: [{ name: 'finish', arguments: { message: 'done' } }] },
  ];
  const server = await startModelServer({ script: { tasks: { [TASK.id]: { replies } } }, record: false });
  let steps: { modelMs: number; toolsMs: number; totalMs: number }[];
  try {
    const agent = createBuiltinAgent({ model: { baseUrl: server.url, model: 'scripted', apiKey: 'bench' }, sendTaskHeader: true, maxSteps: STEPS + 5 });
    const rec = await runTrial({ task: TASK, backend, agent, runId: `bench-agent-${randomBytes(3).toString('hex')}`, trialId: 'steps', image: IMAGE });
    if (rec.result.agentOutcome?.status !== 'completed') throw new Error(`the agent did not complete: ${rec.result.agentOutcome?.error ?? rec.result.error?.message}`);
    steps = (rec.result.agentOutcome.stepTimings ?? []).slice(5); // the first steps warm up the shell and the connection
  } finally {
    await server.close();
  }
  const bare = await bareExecs(backend);

  const total = steps.map((s) => s.totalMs);
  console.log('');
  console.log(row('agent step (whole)', total, '(model call over HTTP + exec tool + trajectory; the model itself takes 0 ms)'));
  console.log(row('  model call', steps.map((s) => s.modelMs), '(streamed chat completion from the scripted server on 127.0.0.1)'));
  console.log(row('  tools and the rest', steps.map((s) => s.totalMs - s.modelMs), '(the exec through the sandbox session, persistent shell state)'));
  console.log(row('bare exec round trip', bare, '(dockerode: exec create + start + read + inspect of `true`)'));
  const target = pct(bare, 50) / 2;
  const p95 = pct(total, 95);
  console.log('');
  console.log(`agent step p95 / bare exec p50: ${(p95 / pct(bare, 50)).toFixed(2)} · agent step p95 / bare exec p95: ${(p95 / pct(bare, 95)).toFixed(2)}`);
  console.log(`agent step p95 ${p95.toFixed(1)} ms (target <= half the bare exec round trip: ${target.toFixed(1)} ms) ${p95 <= target ? 'PASS' : 'FAIL'}`);
  if (STRICT && p95 > target) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(`bench:agent: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});

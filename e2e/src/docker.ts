/**
 * The Docker gate for e2e steps that run tasks (the idea of core/test/docker.ts, which this
 * project's rootDir cannot import): locally, no engine or no image skips them with the reason; in
 * CI (`CLAWGYM_REQUIRE_DOCKER=1`, set by `.ci/run`) they run and fail on the engine's own error.
 */
import { execFileSync } from 'node:child_process';

export const SANDBOX_IMAGE = process.env.CLAWGYM_TEST_IMAGE ?? 'clawgym/sandbox:latest';
export const dockerRequired = process.env.CLAWGYM_REQUIRE_DOCKER === '1';

let cached: string | undefined | null = null;

/** Why the engine or the image is unusable, or undefined when both are there (checked once). */
export function dockerProblem(): string | undefined {
  if (cached !== null) return cached;
  try {
    execFileSync('docker', ['image', 'inspect', SANDBOX_IMAGE], { stdio: 'pipe', timeout: 15_000 });
    cached = undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const text = err.stderr?.toString().trim() || err.message;
    cached = /No such image/i.test(text) ? `the image ${SANDBOX_IMAGE} does not exist (run \`clawgym image build\`)` : `no Docker engine: ${text.split('\n')[0]}`;
  }
  return cached;
}

/** `test()` options: `{ skip: reason }` without Docker, unless CI requires it. */
export function needsDocker(): { skip?: string } {
  const problem = dockerProblem();
  return problem && !dockerRequired ? { skip: `needs Docker: ${problem}` } : {};
}

/** Sandbox containers of a run still on the engine (any state), by the label every sandbox carries. */
export function containersOfRun(runId: string): string[] {
  return execFileSync('docker', ['ps', '-a', '--filter', `label=dev.clawgym.run=${runId}`, '--format', '{{.Names}}'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

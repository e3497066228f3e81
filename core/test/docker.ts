/**
 * Gate for tests that need the real Docker engine and the sandbox image.
 *
 * Locally, a machine without a running engine skips these tests with a clear reason. In CI
 * (`CLAWGYM_REQUIRE_DOCKER=1`, set by `.ci/run`) a missing engine or image is a failure, never a
 * silent skip.
 */
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export const TEST_IMAGE = process.env.CLAWGYM_TEST_IMAGE ?? 'clawgym/sandbox:latest';
export const dockerRequired = process.env.CLAWGYM_REQUIRE_DOCKER === '1';

let cached: string | undefined | null = null;

/** Why the engine or image is unusable, or undefined when both are there. Checked once per process. */
export function dockerProblem(): string | undefined {
  if (cached !== null) return cached;
  try {
    execFileSync('docker', ['image', 'inspect', TEST_IMAGE], { stdio: 'pipe', timeout: 15_000 });
    cached = undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const text = err.stderr?.toString().trim() || err.message;
    cached = /No such image/i.test(text)
      ? `the image ${TEST_IMAGE} does not exist (run \`clawgym image build\`)`
      : `no Docker engine: ${text.split('\n')[0]}`;
  }
  return cached;
}

/**
 * Options for `test()`/`describe()`: `{ skip: reason }` when Docker is unusable locally. In CI the
 * test runs anyway and fails on its first Docker call with the engine's own error.
 */
export function needsDocker(): { skip?: string } {
  const problem = dockerProblem();
  if (!problem) return {};
  if (dockerRequired) return {};
  return { skip: `needs Docker: ${problem}` };
}

/** Call at the start of a Docker test to fail loudly in CI when the engine is missing. */
export function assertDocker(_t?: TestContext): void {
  const problem = dockerProblem();
  if (problem && dockerRequired) throw new Error(`CLAWGYM_REQUIRE_DOCKER=1 but ${problem}`);
}

/** Ids of the sandbox containers of a run still on the engine (any state), by the label every sandbox carries. */
export function containersOf(runId: string): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', `label=dev.clawgym.run=${runId}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

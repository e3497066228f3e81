import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { ResolvedTask } from '../src/run/types';
/** The repository root (tests run from out/core/test). */
export const repoRoot = join(__dirname, '..', '..', '..');
export const fixturesDir = join(repoRoot, 'test-fixtures');

/**
 * A small resolved task for runner tests: /workspace/input.txt holds "hello", the one check wants
 * out.txt to say so, and the solution copies it.
 */
export function helloResolvedTask(id: string, overrides: Partial<ResolvedTask> = {}): ResolvedTask {
  return {
    id,
    source: { kind: 'clawtask', path: `/nowhere/${id}.clawtask` },
    baseDir: '/nowhere',
    intent: 'Write hello into out.txt.',
    metadata: {},
    root: '/workspace',
    files: [{ path: '/workspace/input.txt', content: Buffer.from('hello\n') }],
    setup: [],
    env: {},
    network: 'none',
    resources: {},
    agent: {},
    verifier: {
      timeoutMs: 30_000,
      passThreshold: 1,
      checks: [{ id: 'out', file_matches: { path: 'out.txt', pattern: '^hello\\n$' } }] as ResolvedTask['verifier']['checks'],
      rubric: [],
      weights: { code: 1, rubric: 0 },
    },
    solution: { script: 'cp input.txt out.txt\necho done', origin: 'inline' },
    ...overrides,
  };
}

/**
 * `tmp()` makes a new temporary directory named `clawgym-<prefix>-*`; every one is removed when
 * the test file ends. Call at the top level of a test file.
 */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  after(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = fs.mkdtempSync(join(os.tmpdir(), `clawgym-${prefix}-`));
    made.push(d);
    return d;
  };
}

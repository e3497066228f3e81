import { join } from 'node:path';
/** The repository root (tests run from out/client/test). */
export const repoRoot = join(__dirname, '..', '..', '..');
export const fixturesDir = join(repoRoot, 'test-fixtures');
/** `UPDATE_SNAPSHOTS=1 node scripts/test.mjs …` rewrites snapshots instead of comparing. */
export const updateSnapshots = process.env.UPDATE_SNAPSHOTS === '1';

import { join } from 'node:path';
/** The repository root (tests run from out/core/test). */
export const repoRoot = join(__dirname, '..', '..', '..');
export const fixturesDir = join(repoRoot, 'test-fixtures');

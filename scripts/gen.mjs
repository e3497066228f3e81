// Writes the artefacts derived from the zod model (core/src/model/schema.ts). Run after `npm run compile`.
// `node scripts/gen.mjs --check` exits 1 when a committed artefact drifted (the tests do the same).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { derivedArtefacts } = require(join(root, 'out/core/src/model/artefacts.js'));
const check = process.argv.includes('--check');
let drift = 0;
for (const { path, content } of derivedArtefacts()) {
  const abs = join(root, path);
  let old = '';
  try { old = readFileSync(abs, 'utf8'); } catch { /* new */ }
  if (old === content) continue;
  if (check) { console.error(`drift: ${path} is out of date; run npm run gen`); drift++; continue; }
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  console.log(`wrote ${path}`);
}
process.exit(drift ? 1 : 0);

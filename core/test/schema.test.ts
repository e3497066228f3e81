import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { derivedArtefacts } from '../src/model/artefacts';
import { Task, CHECK_KIND_NAMES, taskJsonSchema } from '../src/model/schema';
import { repoRoot } from './util';

test('committed derived artefacts match the zod model (run `npm run gen` after changing it)', () => {
  for (const a of derivedArtefacts()) {
    const committed = readFileSync(join(repoRoot, a.path), 'utf8');
    assert.equal(committed, a.content, `${a.path} drifted from core/src/model/schema.ts`);
  }
});

test('every property in the JSON Schema has a description (hover shows it)', () => {
  const missing: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const props = o.properties as Record<string, Record<string, unknown>> | undefined;
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        const hasDesc = typeof v.description === 'string' || (Array.isArray(v.anyOf) && v.anyOf.every((b) => typeof (b as Record<string, unknown>).description === 'string'));
        if (!hasDesc) missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
    }
    for (const key of ['anyOf', 'oneOf', 'items', 'additionalProperties', 'prefixItems']) {
      const c = o[key];
      if (Array.isArray(c)) c.forEach((x, i) => walk(x, `${path}.${key}[${i}]`));
      else if (c && typeof c === 'object') walk(c, `${path}.${key}`);
    }
  };
  walk(taskJsonSchema(), '$');
  assert.deepEqual(missing, []);
});

test('x- keys are allowed by the JSON Schema on closed objects', () => {
  const s = taskJsonSchema() as { patternProperties?: Record<string, unknown> };
  assert.ok(s.patternProperties && '^x-' in s.patternProperties);
});

test('the zod model accepts the spec example shape and rejects unknown keys', () => {
  const ok = Task.safeParse({
    version: 1,
    id: 't1',
    intent: 'do it',
    verifier: { checks: [{ id: 'a', file_exists: 'out.txt' }, { id: 'b', command: 'true', exit_code: 0 }] },
  });
  assert.ok(ok.success, JSON.stringify(ok.error?.issues));
  const bad = Task.safeParse({ version: 1, id: 't1', intent: 'x', verifier: {}, bogus: 1 });
  assert.ok(!bad.success);
  assert.ok(bad.error.issues.some((i) => i.code === 'unrecognized_keys'));
  assert.equal(CHECK_KIND_NAMES.length, 8);
});

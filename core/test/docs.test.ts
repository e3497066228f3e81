/**
 * The task-author docs stay in step with the code: every field of the model is documented, every
 * diagnostic code is explained, and the examples in the docs are tasks the validator accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataEntryJsonSchema } from '../src/clawgym/schema';
import { createTaskDocument } from '../src/language/documents';
import { validateTask } from '../src/language/diagnostics';
import { memoryFileSystem } from '../src/language/fsHost';
import { DIAGNOSTIC_CODES } from '../src/language/types';
import { taskJsonSchema } from '../src/model/schema';
import { parseTask } from '../src/syntax';
import { repoRoot } from './util';

const formatDoc = readFileSync(join(repoRoot, 'docs', 'clawtask-format.md'), 'utf8');
const diagnosticsDoc = readFileSync(join(repoRoot, 'docs', 'diagnostics.md'), 'utf8');

/** Every property name in a JSON Schema, at any depth (properties, anyOf, items, records, $defs, …). */
function propertyNames(schema: unknown): Set<string> {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.properties && typeof o.properties === 'object') for (const k of Object.keys(o.properties)) names.add(k);
    for (const v of Object.values(o)) walk(v);
  };
  walk(schema);
  return names;
}

test('the property walk sees nested fields (guards against a vacuous test)', () => {
  const names = propertyNames(taskJsonSchema());
  for (const n of ['version', 'workspace', 'cpus', 'file_matches', 'flags', 'between', 'stdout_matches', 'criterion', 'scores', 'rubric', 'script']) {
    assert.ok(names.has(n), n);
  }
  assert.ok(names.size > 50, `only ${names.size} names`);
});

test('docs/clawtask-format.md mentions every field of the .clawtask model as `name`', () => {
  const missing = [...propertyNames(taskJsonSchema())].filter((n) => !formatDoc.includes('`' + n + '`')).sort();
  assert.deepEqual(missing, [], `document these fields in docs/clawtask-format.md: ${missing.join(', ')}`);
});

test('docs/clawtask-format.md documents every data_entry.json key', () => {
  const missing = [...propertyNames(dataEntryJsonSchema())].filter((n) => !formatDoc.includes('`' + n + '`'));
  assert.deepEqual(missing, []);
});

test('docs/diagnostics.md explains every diagnostic code', () => {
  const missing = Object.keys(DIAGNOSTIC_CODES).filter((c) => !diagnosticsDoc.includes('`' + c + '`'));
  assert.deepEqual(missing, [], `add these codes to docs/diagnostics.md: ${missing.join(', ')}`);
});

test('docs/diagnostics.md lists no code that does not exist', () => {
  const rows = [...diagnosticsDoc.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!);
  assert.ok(rows.length >= Object.keys(DIAGNOSTIC_CODES).length);
  const stale = rows.filter((c) => !(c in DIAGNOSTIC_CODES));
  assert.deepEqual(stale, []);
});

/** The fenced ```yaml blocks of a markdown text, with the line each starts on. */
function yamlBlocks(md: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const re = /^```yaml\n([\s\S]*?)^```$/gm;
  for (const m of md.matchAll(re)) out.push({ line: md.slice(0, m.index).split('\n').length, text: m[1]! });
  return out;
}

test('every YAML example in docs/clawtask-format.md is valid YAML', () => {
  const blocks = yamlBlocks(formatDoc);
  assert.ok(blocks.length >= 15, `${blocks.length} blocks`);
  for (const b of blocks) {
    const errors = parseTask(b.text).syntaxErrors.map((e) => e.message);
    assert.deepEqual(errors, [], `the example at docs/clawtask-format.md:${b.line}`);
  }
});

test('every complete task in docs/clawtask-format.md passes validation', () => {
  const tasks = yamlBlocks(formatDoc).filter((b) => b.text.startsWith('version: 1\n'));
  assert.ok(tasks.length >= 3, `${tasks.length} complete examples`);
  // The files the examples reference, as if they sat next to the task file.
  const fs = memoryFileSystem(['/docs/files/checkins.jsonl', '/docs/solution/solve.sh', '/docs/input_files/input/transactions.csv', '/docs/reward/reward.sh', '/docs/reward/check.py']);
  for (const b of tasks) {
    const doc = createTaskDocument('/docs/example.clawtask', 1, b.text);
    const errors = validateTask(doc, fs).filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`);
    assert.deepEqual(errors, [], `the example at docs/clawtask-format.md:${b.line}`);
  }
});

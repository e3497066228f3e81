import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { complete } from '../src/language/completion';
import { createTaskDocument } from '../src/language/documents';
import { memoryFileSystem, nodeFileSystem } from '../src/language/fsHost';
import { keyOptions, missingRequired, schemaAt, schemaDisplayPath, typeLabel } from '../src/language/schemaNav';
import type { CompletionItem, FileSystemHost, TaskDocument } from '../src/language/types';
import { CHECK_KIND_NAMES, taskJsonSchema } from '../src/model/schema';
import { lookupPath, parseTask } from '../src/syntax';
import { fixturesDir } from './util';

const CARET = '<|>';
const dir = join(fixturesDir, 'completion');

interface Expectation {
  description: string;
  /** A folder under test-fixtures/completion that plays the task file's folder (real disk). */
  dir?: string;
  present?: string[];
  absent?: string[];
  /** No labels beyond `present`. */
  exactly?: boolean;
  empty?: boolean;
  /** label -> the text its replace span covers. */
  replace?: Record<string, string>;
  /** label -> the exact insertText. */
  insert?: Record<string, string>;
  /** The first labels in sort order. */
  first?: string[];
  /** label -> a path that exists after inserting the item (placeholders take their defaults). */
  lands?: Record<string, (string | number)[]>;
}

interface Case {
  name: string;
  text: string;
  offset: number;
  doc: TaskDocument;
  fs: FileSystemHost;
  exp: Expectation;
}

function loadCase(name: string): Case {
  const raw = readFileSync(join(dir, `${name}.clawtask`), 'utf8');
  const offset = raw.indexOf(CARET);
  assert.ok(offset >= 0, `${name}: no caret`);
  const text = raw.slice(0, offset) + raw.slice(offset + CARET.length);
  const exp = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Expectation;
  const taskDir = exp.dir ? join(dir, exp.dir) : undefined;
  const doc = taskDir ? createTaskDocument(join(taskDir, 'task.clawtask'), 1, text) : createTaskDocument('untitled:task.clawtask', 1, text, '/virtual');
  const fs = taskDir ? nodeFileSystem : memoryFileSystem([]);
  return { name, text, offset, doc, fs, exp };
}

/** What a client inserts for a snippet when the author accepts every placeholder's default. */
function expandSnippet(s: string): string {
  return s
    .replace(/\$\{\d+\|((?:\\.|[^|\\])*?)(?:,(?:\\.|[^|\\])*)*\|\}/g, '$1')
    .replace(/\$\{\d+:((?:\\.|[^}\\])*)\}/g, '$1')
    .replace(/\$\{\d+\}|\$\d+/g, '')
    .replace(/\\([$}\\,|])/g, '$1');
}

function apply(c: Case, item: CompletionItem): string {
  const text = item.isSnippet ? expandSnippet(item.insertText) : item.insertText;
  return c.text.slice(0, item.replace.start) + text + c.text.slice(item.replace.end);
}

function byLabel(items: CompletionItem[], label: string, name: string): CompletionItem {
  const it = items.find((i) => i.label === label);
  assert.ok(it, `${name}: no item ${JSON.stringify(label)} in ${JSON.stringify(items.map((i) => i.label))}`);
  return it;
}

const names = readdirSync(dir)
  .filter((f) => f.endsWith('.clawtask'))
  .map((f) => f.slice(0, -'.clawtask'.length))
  .sort();

test('there are caret-marked completion fixtures', () => {
  assert.ok(names.length >= 40, `only ${names.length} fixtures`);
});

for (const name of names) {
  const c = loadCase(name);
  test(`completion fixture ${name}: ${c.exp.description}`, () => {
    const items = complete(c.doc, c.offset, c.fs);
    const labels = items.map((i) => i.label);
    const { exp } = c;
    if (exp.empty) assert.deepEqual(labels, [], `${name}: expected nothing`);
    for (const l of exp.present ?? []) assert.ok(labels.includes(l), `${name}: missing ${JSON.stringify(l)} in ${JSON.stringify(labels)}`);
    for (const l of exp.absent ?? []) assert.ok(!labels.includes(l), `${name}: unexpected ${JSON.stringify(l)}`);
    if (exp.exactly) assert.deepEqual([...labels].sort(), [...(exp.present ?? [])].sort());
    assert.equal(new Set(labels).size, labels.length, `${name}: duplicate labels`);
    for (const [label, covered] of Object.entries(exp.replace ?? {})) {
      const it = byLabel(items, label, name);
      assert.equal(c.text.slice(it.replace.start, it.replace.end), covered, `${name}: replace span of ${label}`);
    }
    for (const [label, text] of Object.entries(exp.insert ?? {})) assert.equal(byLabel(items, label, name).insertText, text, `${name}: insertText of ${label}`);
    if (exp.first) {
      const sorted = [...items].sort((a, b) => (a.sortText ?? a.label).localeCompare(b.sortText ?? b.label)).map((i) => i.label);
      assert.deepEqual(sorted.slice(0, exp.first.length), exp.first, `${name}: sort order`);
    }
    for (const [label, path] of Object.entries(exp.lands ?? {})) {
      const after = parseTask(apply(c, byLabel(items, label, name)));
      assert.deepEqual(after.syntaxErrors.map((e) => e.message), [], `${name}: ${label} breaks the YAML`);
      assert.equal(lookupPath(after, path).depth, path.length, `${name}: ${label} does not land at ${path.join('.')}`);
    }
    for (const it of items) {
      assert.ok(it.replace.start <= c.offset && c.offset <= it.replace.end, `${name}: ${it.label}'s replace span misses the caret`);
    }
    // Snippets insert valid YAML: a clean document stays clean whatever item is accepted.
    if (parseTask(c.text).syntaxErrors.length === 0) {
      for (const it of items) {
        const after = parseTask(apply(c, it));
        assert.deepEqual(after.syntaxErrors.map((e) => e.message), [], `${name}: accepting ${JSON.stringify(it.label)} gives invalid YAML:\n${apply(c, it)}`);
      }
    }
  });
}

test('key documentation is the schema description, not a copy', () => {
  const c = loadCase('top-level-empty-document');
  const props = (taskJsonSchema().properties ?? {}) as Record<string, { description?: string }>;
  const items = complete(c.doc, c.offset, c.fs);
  assert.ok(items.length >= 10);
  for (const it of items) {
    assert.equal(it.documentation, props[it.label]?.description, it.label);
    assert.ok(it.detail && it.detail.length > 0, `${it.label} has a detail`);
  }
});

test('required keys sort before optional ones', () => {
  const c = loadCase('check-file-matches-keys');
  const items = complete(c.doc, c.offset, c.fs);
  const pattern = byLabel(items, 'pattern', c.name);
  const flags = byLabel(items, 'flags', c.name);
  assert.ok(pattern.sortText! < flags.sortText!);
});

test('a new check id does not clash with existing ids', () => {
  const text = 'verifier:\n  checks:\n    - id: json-1\n      json: { path: a, query: b }\n    - \n';
  const doc = createTaskDocument('untitled:x', 1, text);
  const items = complete(doc, text.length - 1, memoryFileSystem([]));
  assert.match(byLabel(items, 'json', 'ids').insertText, /^id: \$\{1:json-2\}/);
});

test('paths come from the in-memory host too (segment by segment)', () => {
  const text = 'workspace:\n  files:\n    a.txt: { from: data/ }\n';
  const doc = createTaskDocument('/task/t.clawtask', 1, text);
  const fs = memoryFileSystem(['/task/data/x.txt', '/task/data/sub/y.txt', '/task/t.clawtask']);
  const items = complete(doc, text.indexOf('data/') + 'data/'.length, fs);
  assert.deepEqual(items.map((i) => i.label).sort(), ['sub/', 'x.txt']);
  assert.equal(items.find((i) => i.label === 'sub/')!.retrigger, true);
});

test('a cancelled request gives nothing, and nothing throws', () => {
  const c = loadCase('check-new-item');
  assert.deepEqual(complete(c.doc, c.offset, c.fs, { isCancellationRequested: true }), []);
  const throwing: FileSystemHost = {
    stat: () => {
      throw new Error('disk on fire');
    },
    readDir: () => {
      throw new Error('disk on fire');
    },
  };
  const d = loadCase('disk-from-top');
  assert.deepEqual(complete(d.doc, d.offset, throwing), []);
  for (const off of [-5, 0, c.text.length, c.text.length + 10]) assert.ok(Array.isArray(complete(c.doc, off, c.fs)));
});

test('completion answers at every offset of every fixture without throwing', () => {
  for (const name of names) {
    const c = loadCase(name);
    for (let off = 0; off <= c.text.length; off++) assert.ok(Array.isArray(complete(c.doc, off, c.fs)));
  }
});

// --- schema navigation -------------------------------------------------------------------

test('schemaAt: a check item is a union whose variants are the check kinds', () => {
  const check = schemaAt(['verifier', 'checks', 0]);
  assert.ok(check?.variants);
  assert.deepEqual(check.variants.map((v) => v.discriminator), CHECK_KIND_NAMES);
  assert.deepEqual(Object.keys(check.properties ?? {}), ['id', 'weight', 'description', 'timeout']);
});

test('keyOptions: common keys + kinds, then the chosen kind and its extras', () => {
  const check = schemaAt(['verifier', 'checks', 0])!;
  assert.deepEqual(
    keyOptions(check).map((o) => o.name),
    ['id', 'weight', 'description', 'timeout', ...CHECK_KIND_NAMES],
  );
  const command = keyOptions(check, ['id', 'command']).map((o) => o.name);
  assert.ok(command.includes('exit_code') && command.includes('stdout_matches'));
  assert.ok(!command.includes('json'));
  assert.deepEqual(missingRequired(check, ['weight']), ['id']);
  assert.deepEqual(missingRequired(schemaAt(['verifier', 'checks', 2, 'file_matches'])!, ['path']), ['pattern']);
});

test('schemaAt resolves through records, variants and arrays', () => {
  assert.equal(schemaAt(['workspace', 'files', 'input/a.txt', 'from'])?.format, 'task-path');
  assert.equal(schemaAt(['verifier', 'checks', 4, 'json', 'type'])?.enum?.length, 7);
  assert.equal(schemaAt(['verifier', 'rubric', 0, 'file'])?.format, 'workspace-path');
  assert.equal(schemaAt(['nope']), undefined);
  assert.equal(schemaAt(['workspace', 'x-tool']), undefined);
  assert.equal(schemaDisplayPath(['workspace', 'files', 'input/a.txt', 'from']), 'workspace.files.*.from');
  assert.equal(schemaDisplayPath(['verifier', 'checks', 3, 'file_matches', 'pattern']), 'verifier.checks[].file_matches.pattern');
  assert.equal(typeLabel(schemaAt(['difficulty'])!), 'easy | medium | hard');
  assert.equal(typeLabel(schemaAt(['verifier', 'checks'])!), 'check[]');
});

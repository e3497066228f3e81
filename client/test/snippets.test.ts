/**
 * Every snippet in snippets/clawtask.json, expanded with its default placeholder values at the place
 * it is meant for, must be valid YAML and valid against the model; the full task must also pass the
 * language service's validation with no diagnostic at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandSnippet, snippetDefinitions, type SnippetDefinition } from '../../core/src/model/snippets';
import { CHECK_KIND_NAMES, CHECK_VARIANTS, Task } from '../../core/src/model/schema';
import { parseTask } from '../../core/src/syntax';
import { createTaskDocument, memoryFileSystem, validateTask } from '../../core/src/language';
import { repoRoot } from './util';

const committed = JSON.parse(readFileSync(join(repoRoot, 'snippets', 'clawtask.json'), 'utf8')) as Record<string, SnippetDefinition>;
const VARIABLES = { TM_FILENAME_BASE: 'my task (draft)' };

/** The snippet inserted on a line indented by `indent`: VS Code indents every line after the first. */
function insertAt(snippet: SnippetDefinition, indent: string): string {
  const text = expandSnippet(snippet.body.join('\n'), VARIABLES);
  return indent + text.split('\n').map((l, i) => (i === 0 || l === '' ? l : indent + l)).join('\n');
}

function parseClean(text: string): unknown {
  const parsed = parseTask(text);
  assert.deepEqual(parsed.syntaxErrors, [], `YAML errors in:\n${text}`);
  return parsed.value;
}

function assertValidTask(text: string): void {
  const value = parseClean(text);
  const r = Task.safeParse(value);
  assert.ok(r.success, `not a valid task:\n${text}\n${JSON.stringify(r.error?.issues, null, 2)}`);
}

const TASK_HEAD = 'version: 1\nid: host\nintent: Write output/result.txt.\n';

test('the committed snippets are the ones the model derives', () => {
  assert.deepEqual(committed, snippetDefinitions());
});

test('there is a snippet for a full task, each check kind, a rubric item and workspace files', () => {
  const prefixes = Object.values(committed).flatMap((s) => s.prefix);
  for (const p of ['task', 'rubric', 'file-inline', 'file-from', ...CHECK_KIND_NAMES.map((k) => `check-${k}`)]) {
    assert.ok(prefixes.includes(p), `no snippet with prefix ${p}`);
  }
  for (const s of Object.values(committed)) {
    assert.ok(s.description.length > 0);
    assert.ok(!s.body.some((l) => l.includes('\t')), 'YAML forbids tabs for indentation');
  }
});

test('the full task snippet expands to a task that validates with no diagnostics', () => {
  const text = insertAt(committed['Task']!, '');
  assert.match(text, /^id: my-task-draft-$/m, 'the id placeholder should be the file name made into an id');
  assertValidTask(text);
  const doc = createTaskDocument('file:///work/my-task.clawtask', 1, text);
  assert.deepEqual(validateTask(doc, memoryFileSystem([])), []);
});

for (const kind of CHECK_KIND_NAMES) {
  test(`check snippet ${kind} expands to a valid check under verifier.checks`, () => {
    const snippet = committed[`Check: ${kind}`];
    assert.ok(snippet);
    for (const indent of ['    ', '  ']) {
      const text = `${TASK_HEAD}verifier:\n  checks:\n${insertAt(snippet, indent)}\n`;
      assertValidTask(text);
      const checks = ((parseTask(text).value as { verifier: { checks: unknown[] } }).verifier.checks);
      assert.equal(checks.length, 1);
      // Exactly this kind, and every key the kind requires.
      assert.ok(CHECK_VARIANTS[kind].safeParse(checks[0]).success);
      assert.ok(kind in (checks[0] as object));
    }
  });
}

test('rubric snippet expands to a valid rubric item', () => {
  const text = `${TASK_HEAD}verifier:\n  checks:\n    - id: c\n      file_exists: output/report.md\n  rubric:\n${insertAt(committed['Rubric item']!, '    ')}\n`;
  assertValidTask(text);
});

test('workspace file snippets expand to valid workspace.files entries', () => {
  for (const name of ['Workspace file (inline)', 'Workspace file (from disk)']) {
    const text = `${TASK_HEAD}workspace:\n  files:\n${insertAt(committed[name]!, '    ')}\nverifier:\n  checks:\n    - id: c\n      file_exists: out.txt\n`;
    assertValidTask(text);
  }
});

test('expandSnippet handles placeholders, choices, variables, transforms and escapes', () => {
  assert.equal(expandSnippet('a ${1:one} ${2|x,y|} $0'), 'a one x ');
  assert.equal(expandSnippet('${1:${TM_FILENAME_BASE}}', { TM_FILENAME_BASE: 'f' }), 'f');
  assert.equal(expandSnippet('${1:${UNKNOWN}}'), '');
  assert.equal(expandSnippet('${TM_FILENAME_BASE/[^a-z]+/-/g}', { TM_FILENAME_BASE: 'a b!c' }), 'a-b-c');
  assert.equal(expandSnippet('cost \\$5 \\} ${1:a\\}b}'), 'cost $5 } a}b');
  assert.equal(expandSnippet('${1:outer ${2:inner}}'), 'outer inner');
});

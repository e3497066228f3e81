/**
 * language-configuration.json: every regex compiles (VS Code uses JavaScript regexes here) and the
 * Enter/indent/folding/word rules do what an author expects on typical lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './util';

interface OnEnterRule {
  beforeText: string;
  action: { indent: string; appendText?: string };
}
interface LanguageConfiguration {
  comments: { lineComment: string };
  brackets: [string, string][];
  autoClosingPairs: { open: string; close: string }[];
  surroundingPairs: [string, string][];
  folding: { markers: { start: string; end: string } };
  indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
  onEnterRules: OnEnterRule[];
  wordPattern: string;
}

const config = JSON.parse(readFileSync(join(repoRoot, 'language-configuration.json'), 'utf8')) as LanguageConfiguration;

/** What VS Code does on Enter after `line`: the first matching rule's action, or undefined. */
function onEnter(line: string): { indent: string; appendText?: string } | undefined {
  return config.onEnterRules.find((r) => new RegExp(r.beforeText).test(line))?.action;
}

test('comments, brackets and pairs', () => {
  assert.equal(config.comments.lineComment, '#');
  assert.deepEqual(config.brackets, [['{', '}'], ['[', ']']]);
  const opens = config.autoClosingPairs.map((p) => p.open + p.close);
  for (const p of ['{}', '[]', '""', "''"]) assert.ok(opens.includes(p), `no auto-closing pair ${p}`);
  const surround = config.surroundingPairs.map((p) => p.join(''));
  for (const p of ['{}', '[]', '""', "''"]) assert.ok(surround.includes(p), `no surrounding pair ${p}`);
});

test('Enter indents after a key with no value, a `- key:` and a block scalar header', () => {
  assert.deepEqual(onEnter('verifier:'), { indent: 'indent' });
  assert.deepEqual(onEnter('  checks:   # the checks'), { indent: 'indent' });
  assert.deepEqual(onEnter('intent: |'), { indent: 'indent' });
  assert.deepEqual(onEnter('      python: |-'), { indent: 'indent' });
  // `- key:` opens a mapping under the key, which sits two columns right of the dash.
  assert.deepEqual(onEnter('    - file_matches:'), { indent: 'indent', appendText: '  ' });
  assert.deepEqual(onEnter('- |'), { indent: 'indent' });
  // After `- id: x` the next key of the same item lines up with `id`.
  assert.deepEqual(onEnter('    - id: metrics-csv'), { indent: 'none', appendText: '  ' });
});

test('Enter keeps the indentation after a complete line, a comment or a URL', () => {
  assert.equal(onEnter('title: Find patterns'), undefined);
  assert.equal(onEnter('# a comment:'), undefined);
  assert.equal(onEnter('  url: http://example.com'), undefined);
  assert.equal(onEnter('  - mkdir -p output'), undefined);
  assert.equal(onEnter("  pattern: 'a: b'"), undefined);
});

test('indentation rules', () => {
  const inc = new RegExp(config.indentationRules.increaseIndentPattern);
  const dec = new RegExp(config.indentationRules.decreaseIndentPattern);
  for (const l of ['verifier:', '  - json:', 'intent: >-', 'env: {', 'skills: [']) assert.ok(inc.test(l), l);
  for (const l of ['title: x', '# note:', 'skills: [a, b]', 'env: { TZ: UTC }']) assert.ok(!inc.test(l), l);
  for (const l of ['}', '  ]', '  },']) assert.ok(dec.test(l), l);
  assert.ok(!dec.test('  a: }'));
});

test('folding markers', () => {
  const start = new RegExp(config.folding.markers.start);
  const end = new RegExp(config.folding.markers.end);
  assert.ok(start.test('  # region checks') && start.test('#region'));
  assert.ok(end.test('  # endregion') && !start.test('# endregion'));
  assert.ok(!start.test('# regional note'));
});

test('words include `_`, `-` and `.` inside keys, ids and file names', () => {
  const word = new RegExp(config.wordPattern, 'g');
  const words = (s: string): string[] => s.match(word) ?? [];
  assert.deepEqual(words('    - file_exists: output/daily_metrics.csv'), ['file_exists', 'output', 'daily_metrics.csv']);
  assert.deepEqual(words('id: pcs-symptom-trends'), ['id', 'pcs-symptom-trends']);
  assert.deepEqual(words('pass_threshold: 0.75'), ['pass_threshold', '0.75']);
});

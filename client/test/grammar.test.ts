/**
 * Grammar snapshot tests: every `test-fixtures/grammar/*.clawtask` is tokenized with the committed
 * grammar (vscode-textmate + oniguruma, as VS Code does) and compared to its `.tokens` snapshot: one
 * line per token with the line number, the token text and its scopes (`source.clawtask` omitted).
 * `UPDATE_SNAPSHOTS=1` rewrites the snapshots; review the diff by eye.
 *
 * Embedded Python and shell use small stub grammars (test-fixtures/grammar/stubs/), standing in for
 * VS Code's built-in ones, so the snapshots show that embedded code reaches its grammar.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';
import { repoRoot, fixturesDir, updateSnapshots } from './util';

const grammarDir = join(fixturesDir, 'grammar');
const grammarFiles: Record<string, string> = {
  'source.clawtask': join(repoRoot, 'syntaxes', 'clawtask.tmLanguage.json'),
  'source.python': join(grammarDir, 'stubs', 'python.tmLanguage.json'),
  'source.shell': join(grammarDir, 'stubs', 'shell.tmLanguage.json'),
};

let grammar: textmate.IGrammar;

before(async () => {
  const wasm = readFileSync(join(repoRoot, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName: string) => {
      const file = grammarFiles[scopeName];
      if (!file) return null;
      return textmate.parseRawGrammar(readFileSync(file, 'utf8'), file);
    },
  });
  const g = await registry.loadGrammar('source.clawtask');
  if (!g) throw new Error('grammar source.clawtask did not load');
  grammar = g;
});

interface Token {
  line: number;
  text: string;
  scopes: string[];
}

/** Tokenizes like VS Code: lines split on any line break, the break itself never reaches the grammar. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let state = textmate.INITIAL;
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((lineText, i) => {
    const r = grammar.tokenizeLine(lineText, state);
    for (const t of r.tokens) {
      out.push({ line: i + 1, text: lineText.slice(t.startIndex, t.endIndex), scopes: t.scopes.slice(1) });
    }
    state = r.ruleStack;
  });
  return out;
}

function snapshot(name: string, tokens: Token[]): string {
  const rows = tokens
    // Whitespace that only carries region (meta.*) scopes adds noise, not information.
    .filter((t) => t.text.trim() !== '' || t.scopes.some((s) => !s.startsWith('meta.')))
    .map((t) => `${t.line} ${JSON.stringify(t.text)} ${t.scopes.join(' ')}`.trimEnd());
  return `# ${name}: line, token text, scopes (source.clawtask omitted)\n${rows.join('\n')}\n`;
}

const fixtures = readdirSync(grammarDir).filter((f) => f.endsWith('.clawtask')).sort();

test('there are grammar fixtures', () => {
  assert.ok(fixtures.length >= 5, `only ${fixtures.length} fixtures in ${grammarDir}`);
});

for (const name of fixtures) {
  test(`grammar snapshot: ${name}`, () => {
    const text = readFileSync(join(grammarDir, name), 'utf8');
    const actual = snapshot(name, tokenize(text));
    const snapFile = join(grammarDir, name.replace(/\.clawtask$/, '.tokens'));
    if (updateSnapshots || !existsSync(snapFile)) {
      writeFileSync(snapFile, actual);
      if (!updateSnapshots) assert.fail(`wrote missing snapshot ${snapFile}; review it and rerun`);
      return;
    }
    assert.equal(actual, readFileSync(snapFile, 'utf8'), `${name}: tokens changed (UPDATE_SNAPSHOTS=1 to accept)`);
  });
}

/** The scopes of the first token on `line` (1-based) whose text is `text`. */
function scopesOf(tokens: Token[], line: number, text: string): string[] {
  const t = tokens.find((x) => x.line === line && x.text === text);
  assert.ok(t, `no token ${JSON.stringify(text)} on line ${line}: ${JSON.stringify(tokens.filter((x) => x.line === line))}`);
  return t.scopes;
}

function lineNumber(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `no line contains ${needle}`);
  return i + 1;
}

test('CRLF files tokenize exactly like LF files (no \\r in any token)', () => {
  const text = readFileSync(join(grammarDir, 'crlf.clawtask'), 'utf8');
  assert.ok(text.includes('\r\n'), 'crlf.clawtask lost its CRLF line endings (check git attributes)');
  const crlf = tokenize(text);
  assert.deepEqual(crlf, tokenize(text.replace(/\r\n/g, '\n')));
  assert.ok(!crlf.some((t) => t.text.includes('\r')));
});

test('task keys, check kinds and ids get task-aware scopes', () => {
  const text = ['version: 1', 'id: my-task', 'intent: do it', 'verifier:', '  checks:', '    - id: out-exists', '      file_exists: out.txt', '    - { id: flow-check, json: { path: a.json, query: x } }', 'metadata:', '  json: 1', ''].join('\n');
  const tokens = tokenize(text);
  assert.ok(scopesOf(tokens, 1, 'version').includes('entity.name.tag.clawtask.key.task'));
  assert.ok(scopesOf(tokens, 2, 'my-task').includes('entity.name.function.id.clawtask'));
  assert.ok(scopesOf(tokens, 6, 'out-exists').includes('entity.name.function.id.clawtask'));
  assert.ok(scopesOf(tokens, 7, 'file_exists').includes('support.function.check-kind.clawtask'));
  assert.ok(scopesOf(tokens, 8, 'json').includes('support.function.check-kind.clawtask'));
  assert.ok(scopesOf(tokens, 8, 'flow-check').includes('entity.name.function.id.clawtask'));
  // Outside `verifier:` a key named like a check kind is just a key.
  assert.deepEqual(scopesOf(tokens, 10, 'json'), ['entity.name.tag.yaml']);
});

test('embedded python ends at the next check even with an unterminated string', () => {
  const text = ['verifier:', '  checks:', '    - id: p', '      python: |', '        def grade(ws):', '            return """unterminated', '    - id: after', '      file_exists: x', 'solution:', '  script: echo "open', 'title: t', ''].join('\n');
  const tokens = tokenize(text);
  assert.ok(scopesOf(tokens, 4, 'python').includes('support.function.check-kind.clawtask'));
  assert.ok(scopesOf(tokens, 5, 'def').includes('meta.embedded.block.python'));
  assert.ok(scopesOf(tokens, 5, 'def').includes('keyword.control.python'), 'the python grammar did not run');
  assert.ok(scopesOf(tokens, 7, 'after').includes('entity.name.function.id.clawtask'));
  assert.ok(!scopesOf(tokens, 7, 'after').some((s) => s.includes('embedded')));
  assert.ok(scopesOf(tokens, 10, 'echo').includes('meta.embedded.line.shell'));
  assert.deepEqual(scopesOf(tokens, lineNumber(text, 'title: t'), 'title'), ['entity.name.tag.clawtask.key.task']);
});

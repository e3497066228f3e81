import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hover } from '../src/language/hover';
import { createTaskDocument } from '../src/language/documents';
import { CHECK_KINDS } from '../src/model/schema';
import { schemaAt } from '../src/language/schemaNav';
import type { Hover } from '../src/language/types';

const TEXT = `version: 1
id: demo
difficulty: medium
metadata:
  source: clawgym
x-tool: { a: 1 }
intent: |
  Summarise input/data.csv.
workspace:
  files:
    input/data.csv: { from: files/data.csv }
  network: model-only
verifier:
  checks:
    - id: header
      file_matches: { path: out.csv, pattern: '^date' }
    - id: score
      json:
        path: out.json
        query: score
        type: number
      x-note: hand-written
`;

const doc = createTaskDocument('untitled:hover.clawtask', 1, TEXT);

/** Hover in the middle of the n-th occurrence of `word`. */
function at(word: string, nth = 0): (Hover & { covered: string }) | null {
  let off = -1;
  for (let k = 0; k <= nth; k++) {
    off = TEXT.indexOf(word, off + 1);
    assert.ok(off >= 0, `no ${word} #${nth}`);
  }
  const h = hover(doc, off + Math.floor(word.length / 2));
  return h ? { ...h, covered: TEXT.slice(h.span.start, h.span.end) } : null;
}

test('a key shows its path, type and the schema description', () => {
  const h = at('pattern');
  assert.ok(h);
  assert.equal(h.covered, 'pattern');
  assert.match(h.markdown, /`verifier\.checks\[\]\.file_matches\.pattern`/);
  assert.match(h.markdown, /`string`/);
  assert.match(h.markdown, /required/);
  assert.ok(h.markdown.includes(schemaAt(['verifier', 'checks', 0, 'file_matches', 'pattern'])!.description!));
});

test('top-level and nested keys, with examples where the schema has them', () => {
  const id = at('id');
  assert.ok(id);
  assert.match(id.markdown, /^`id` · `string` · required/);
  assert.match(id.markdown, /Example: `pcs-symptom-trends`/);
  const network = at('network');
  assert.ok(network);
  assert.match(network.markdown, /`workspace\.network` · `none \| model-only \| open`/);
  assert.doesNotMatch(network.markdown, /required/);
  const from = at('from');
  assert.ok(from);
  assert.match(from.markdown, /`workspace\.files\.\*\.from`/);
});

test('a check kind key shows the kind description', () => {
  const h = at('file_matches');
  assert.ok(h);
  assert.equal(h.covered, 'file_matches');
  assert.match(h.markdown, /Check kind `file_matches`/);
  assert.ok(h.markdown.includes(CHECK_KINDS.file_matches.value.description!));
  const json = at('json');
  assert.ok(json);
  assert.match(json.markdown, /Check kind `json`/);
});

test('enum values show the value and the enum description', () => {
  const h = at('model-only');
  assert.ok(h);
  assert.equal(h.covered, 'model-only');
  assert.match(h.markdown, /^`model-only`: one of `none`, `model-only`, `open`/);
  assert.match(h.markdown, /Network access inside the sandbox/);
  const t = at('number');
  assert.ok(t);
  assert.match(t.markdown, /`verifier\.checks\[\]\.json\.type`/);
  assert.ok(at('medium'));
});

test('x- keys and metadata content are kept as is', () => {
  for (const w of ['x-tool', 'x-note', 'source', 'clawgym']) {
    const h = at(w);
    assert.ok(h, w);
    assert.match(h.markdown, /kept as is/i, w);
  }
  const meta = at('metadata');
  assert.ok(meta);
  assert.match(meta.markdown, /Free-form data/);
});

test('nothing elsewhere: free text values, block text, whitespace', () => {
  assert.equal(at('demo'), null);
  assert.equal(at('Summarise'), null);
  assert.equal(at('out.csv'), null);
  assert.equal(hover(doc, TEXT.indexOf('\n\n') >= 0 ? TEXT.indexOf('\n\n') : TEXT.length), null);
  assert.equal(hover(doc, -1), null);
  assert.equal(hover(doc, TEXT.length + 100), null);
});

test('unknown keys have no hover; a broken document still hovers what parses', () => {
  const broken = createTaskDocument('untitled:b', 1, 'verifier:\n  timeot: 2m\n  checks: [\nworkspace:\n  image: x\n');
  assert.equal(hover(broken, broken.parsed.text.indexOf('timeot') + 2), null);
  const v = hover(broken, 2);
  assert.ok(v);
  assert.match(v.markdown, /How success is checked/);
});

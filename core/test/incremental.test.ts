import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseTask, type ParsedTask } from '../src/syntax';
import { incrementalStats, reparseTask } from '../src/syntax/incremental';
import { fixturesDir } from './util';

/** Everything a feature can read from a parse: errors, the plain value and every node's range. */
function snapshot(p: ParsedTask): unknown {
  const nodes: unknown[] = [];
  const walk = (n: unknown, path: string): void => {
    if (n == null) return;
    const r = (n as { range?: number[] }).range;
    nodes.push([path, r ? [...r] : null]);
    if (isMap(n)) n.items.forEach((pair, i) => {
      walk(pair.key, `${path}.${i}k`);
      walk(pair.value, `${path}.${i}v`);
    });
    else if (isSeq(n)) n.items.forEach((it, i) => walk(it, `${path}[${i}]`));
  };
  walk(p.doc.contents, '$');
  return { errors: p.syntaxErrors, value: JSON.stringify(p.value), nodes, lines: p.lines.lineCount, docRange: p.doc.range };
}

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'x', ' ', ':', '-', '\n', '#', "'", '"', '[', ']', '{', '}', '|', '1', 'é', '🦀', '\t', '  '];
const LINES = ['      weight: 2\n', '    - id: new-check\n      file_exists: out.txt\n', '  # a comment\n', '\n', 'title: t\n', '      - x\n'];

function randomEdit(text: string, r: () => number): string {
  const pos = Math.floor(r() * (text.length + 1));
  const op = r();
  if (op < 0.45) return text.slice(0, pos) + CHARS[Math.floor(r() * CHARS.length)] + text.slice(pos);
  if (op < 0.75) return text.slice(0, pos) + text.slice(pos + 1 + Math.floor(r() * 3));
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  if (op < 0.9) return text.slice(0, lineStart) + LINES[Math.floor(r() * LINES.length)] + text.slice(lineStart);
  const lineEnd = text.indexOf('\n', pos);
  return text.slice(0, lineStart) + (lineEnd < 0 ? '' : text.slice(lineEnd + 1));
}

function sources(): [string, string][] {
  const out: [string, string][] = [];
  for (const dir of ['valid', 'invalid']) {
    for (const f of readdirSync(join(fixturesDir, dir)).filter((n) => n.endsWith('.clawtask')).sort()) {
      out.push([`${dir}/${f}`, readFileSync(join(fixturesDir, dir, f), 'utf8')]);
    }
  }
  return out;
}

test('incremental re-parse equals a full parse after every edit of random edit chains', () => {
  let cleanEdits = 0;
  let cleanFast = 0;
  let edits = 0;
  for (const [name, text0] of sources()) {
    for (let chain = 0; chain < 12; chain++) {
      const r = rng(name.length * 7919 + chain);
      let text = text0;
      let prev = parseTask(text);
      for (let step = 0; step < 25; step++) {
        text = randomEdit(text, r);
        const prevText = prev.text;
        const fastBefore = incrementalStats.incremental;
        const prevClean = prev.syntaxErrors.length === 0;
        const inc = reparseTask(prev, text);
        const full = parseTask(text);
        assert.deepEqual(snapshot(inc), snapshot(full), `${name} chain ${chain} step ${step}: ${JSON.stringify(prevText)} -> ${JSON.stringify(text)}`);
        if (prevClean && full.syntaxErrors.length === 0) {
          cleanEdits++;
          if (incrementalStats.incremental > fastBefore) cleanFast++;
        }
        prev = inc;
        edits++;
      }
    }
  }
  // The fast path must really be taken, or this test proves nothing about it: most edits between two
  // valid versions stay inside one item (the others touch indentation or cross items).
  assert.ok(edits > 5000);
  assert.ok(cleanFast > cleanEdits * 0.5, `only ${cleanFast} of ${cleanEdits} valid-to-valid edits were incremental`);
});

test('typing a value character by character stays on the fast path and exact', () => {
  for (const [name, base0] of sources().filter(([n]) => n.startsWith('valid/'))) {
    const eol = base0.includes('\r\n') ? '\r\n' : '\n';
    const at = base0.indexOf('- id:');
    if (at < 0) continue;
    // The author added `description: ` under a check's first line (a completion) and types its value.
    // (While a key is half-typed the YAML is invalid, and an invalid version is re-parsed whole.)
    const lineEnd = base0.indexOf(eol, at);
    const indent = ' '.repeat(at - base0.lastIndexOf('\n', at) - 1 + 2);
    const base = base0.slice(0, lineEnd) + eol + `${indent}description: ` + base0.slice(lineEnd);
    const insertAt = lineEnd + eol.length + indent.length + 'description: '.length;
    const typed = 'the report exists, with three bullets';
    let prev = parseTask(base);
    let fast = 0;
    for (let i = 1; i <= typed.length; i++) {
      const text = base.slice(0, insertAt) + typed.slice(0, i) + base.slice(insertAt);
      const before = incrementalStats.incremental;
      const inc = reparseTask(prev, text);
      assert.deepEqual(snapshot(inc), snapshot(parseTask(text)), `${name} after typing ${JSON.stringify(typed.slice(0, i))}`);
      if (incrementalStats.incremental > before) fast++;
      else if (process.env.DEBUG_INCREMENTAL) console.log(name, JSON.stringify(typed.slice(0, i)), prev.syntaxErrors.length);
      prev = inc;
    }
    assert.ok(fast >= typed.length * 0.8, `${name}: only ${fast} of ${typed.length} keystrokes were incremental`);
  }
});

test('documents with anchors, several documents or errors fall back to a full parse', () => {
  for (const text of ['a: &x 1\nb: *x\n', '---\na: 1\n---\nb: 2\n', 'a: [\nb: 1\n']) {
    const prev = parseTask(text);
    const next = text.replace('1', '2');
    const before = incrementalStats.full;
    assert.deepEqual(snapshot(reparseTask(prev, next)), snapshot(parseTask(next)));
    assert.equal(incrementalStats.full, before + 1);
  }
});

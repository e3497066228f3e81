/**
 * Host-side checks: `file_exists`, `file_absent`, `file_matches`, `file_equals`, `json`, `csv`,
 * evaluated in TypeScript on the workspace snapshot copied out right after the agent ended. The
 * matching semantics are the diagnostics engine's (`language/diagnostics/evaluate.ts`), so a check
 * the editor says "already passes" passes here too.
 *
 * The snapshot is plain data: symlinks are resolved inside it only (a link that leaves the
 * workspace, or a loop, is a `path-escape` error), and no host path is ever read, except the
 * task's own `file_equals.from` fixture under the task's folder.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  compileGlob,
  compileRegex,
  csvConditionHolds,
  isGlob,
  jsonConditionHolds,
  normalizeRelPath,
  parseCsv,
  queryJson,
  textEquals,
} from '../language/diagnostics/evaluate';
import { testBounded } from '../regex';
import type { CopyOutResult, SandboxEntry } from '../sandbox/types';
import { parseYaml } from '../syntax';
import { field, type HostKind } from './checks';
import type { CheckModel } from '../run/types';
import type { VerifierError } from './types';
import { MAX_SOURCE_FILE_BYTES, readInputText } from '../input';

/** What one check found: a score, a short message, and an error when it could not be graded. */
export interface Verdict {
  score: number;
  message: string;
  error?: VerifierError;
}

const MAX_SYMLINK_HOPS = 40;

// ---------------------------------------------------------------------------------------------
// The snapshot as a tree

type Node = SandboxEntry | { type: 'directory'; path: string; implied: true };

export class SnapshotTree {
  private readonly nodes = new Map<string, Node>();
  private readonly root: string;

  constructor(root: string, copy: CopyOutResult) {
    this.root = root.replace(/\/+$/, '') || '/';
    for (const e of copy.entries) {
      const p = normalizeRelPath(e.path);
      if (p === '') continue;
      this.nodes.set(p, e);
    }
    // folders implied by deeper entries exist even when the archive did not list them
    for (const p of [...this.nodes.keys()]) {
      let slash = p.lastIndexOf('/');
      while (slash > 0) {
        const dir = p.slice(0, slash);
        if (this.nodes.has(dir)) break;
        this.nodes.set(dir, { type: 'directory', path: dir, implied: true });
        slash = dir.lastIndexOf('/');
      }
    }
  }

  /** Every path in the snapshot (files, folders, symlinks), unresolved. */
  paths(): IterableIterator<string> {
    return this.nodes.keys();
  }

  /**
   * Follow `rel` through the snapshot, resolving symlinks segment by segment. Absolute link
   * targets count only when they point into the workspace root.
   */
  resolve(rel: string): { path: string; node?: Node } | { escape: string } {
    const pending = rel.split('/').filter((s) => s !== '' && s !== '.');
    const done: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const seg = pending.shift()!;
      if (seg === '..') {
        if (done.length === 0) return { escape: `${rel} leaves the workspace` };
        done.pop();
        continue;
      }
      const here = [...done, seg].join('/');
      const node = this.nodes.get(here);
      if (node?.type !== 'symlink') {
        done.push(seg);
        continue;
      }
      if (++hops > MAX_SYMLINK_HOPS) return { escape: `symlink loop at ${here}: it never reaches a file inside the workspace` };
      const target = node.linkTarget ?? '';
      if (target.startsWith('/')) {
        const inRoot = this.root === '/' ? target : target === this.root ? '/' : target.startsWith(this.root + '/') ? target.slice(this.root.length) : undefined;
        if (inRoot === undefined) return { escape: `symlink escapes the workspace: ${here} -> ${target}` };
        done.length = 0;
        pending.unshift(...inRoot.split('/').filter((s) => s !== '' && s !== '.'));
      } else {
        // relative to the folder holding the link; `..` above the root is an escape
        const parts = target.split('/').filter((s) => s !== '' && s !== '.');
        let depth = done.length;
        for (const p of parts) {
          depth += p === '..' ? -1 : 1;
          if (depth < 0) return { escape: `symlink escapes the workspace: ${here} -> ${target}` };
        }
        pending.unshift(...parts);
      }
    }
    const p = done.join('/');
    return { path: p, node: p === '' ? { type: 'directory', path: '', implied: true } : this.nodes.get(p) };
  }
}

// ---------------------------------------------------------------------------------------------
// Paths named by checks

/** A workspace path from a check, normalised; an error when it is absolute or leaves the root. */
export function checkPathError(p: string): VerifierError | undefined {
  if (typeof p !== 'string' || p.trim() === '') return { kind: 'invalid-check', message: 'the check names no path' };
  if (/^([A-Za-z]:)?[\\/]/.test(p) || p.startsWith('~/')) {
    return { kind: 'path-escape', message: `${p} is absolute: check paths are relative to the workspace root` };
  }
  const n = normalizeRelPath(p);
  if (n === '..' || n.startsWith('../')) return { kind: 'path-escape', message: `${p} leaves the workspace through ..` };
  return undefined;
}

function fail(message: string): Verdict {
  return { score: 0, message };
}
function pass(message: string): Verdict {
  return { score: 1, message };
}
function error(kind: VerifierError['kind'], message: string): Verdict {
  return { score: 0, message, error: { kind, message } };
}

/** Paths a glob matches (folders included), or the single path itself. */
function expand(tree: SnapshotTree, pattern: string): string[] | Verdict {
  if (!isGlob(pattern)) return [normalizeRelPath(pattern)];
  const re = compileGlob(pattern);
  if (!re) return error('invalid-check', `${pattern} is not a valid glob`);
  const out: string[] = [];
  for (const p of tree.paths()) if (re.test(p)) out.push(p);
  return out.sort();
}

type Found = { kind: 'file'; entry: SandboxEntry; path: string } | { kind: 'directory'; path: string } | { kind: 'missing'; why: string } | { kind: 'escape'; why: string };

function lookup(tree: SnapshotTree, p: string): Found {
  const r = tree.resolve(p);
  if ('escape' in r) return { kind: 'escape', why: r.escape };
  const node = r.node;
  const via = r.path !== p ? ` (via a symlink to ${r.path || '.'})` : '';
  if (!node) return { kind: 'missing', why: `${p} does not exist${via}` };
  if (node.type === 'directory') return { kind: 'directory', path: r.path };
  if (node.type === 'file') return { kind: 'file', entry: node as SandboxEntry, path: r.path };
  return { kind: 'missing', why: `${p} is not a regular file${via}` };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function show(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'undefined' : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

// ---------------------------------------------------------------------------------------------
// The checks

export interface HostCheckEnv {
  tree: SnapshotTree;
  /** The task's folder on the host (`file_equals.from` is relative to it). */
  baseDir: string;
}

export async function evaluateHostCheck(kind: HostKind, check: CheckModel, env: HostCheckEnv): Promise<Verdict> {
  switch (kind) {
    case 'file_exists':
      return existence(env.tree, field(check, 'file_exists'), true);
    case 'file_absent':
      return existence(env.tree, field(check, 'file_absent'), false);
    case 'file_matches': {
      const f = field(check, 'file_matches');
      const r = compileRegex(f.pattern, f.flags ?? '');
      if ('error' in r) return error('invalid-check', `invalid regular expression /${f.pattern}/: ${r.error}`);
      // linear-time engine: the agent's text cannot make this take longer than its length allows
      return eachFile(env.tree, f.path, (text, p) => {
        const found = testBounded(r.re, text);
        if (typeof found === 'string') return error('invalid-check', `/${f.pattern}/ could not be matched against ${p}: ${found}`);
        return found ? pass(`/${f.pattern}/ found in ${p}`) : fail(`/${f.pattern}/${f.flags ?? ''} not found in ${p} (${plural(Buffer.byteLength(text), 'byte')})`);
      });
    }
    case 'file_equals': {
      const f = field(check, 'file_equals');
      let expected: string;
      let source: string;
      if (typeof f.text === 'string') {
        expected = f.text;
        source = 'the expected text';
      } else if (typeof f.from === 'string') {
        const read = await readFixture(env.baseDir, f.from);
        if ('error' in read) return error('invalid-check', read.error);
        expected = read.text;
        source = f.from;
      } else return error('invalid-check', 'file_equals needs `text` or `from`');
      return eachFile(env.tree, f.path, (text, p) => (textEquals(text, expected) ? pass(`${p} equals ${source}`) : fail(`${p} differs from ${source}: ${firstDifference(text, expected)}`)));
    }
    case 'json': {
      const f = field(check, 'json');
      return eachFile(env.tree, f.path, (text, p) => jsonVerdict(text, p, f));
    }
    case 'csv': {
      const f = field(check, 'csv');
      return eachFile(env.tree, f.path, (text, p) => csvVerdict(text, p, f));
    }
  }
}

function existence(tree: SnapshotTree, pattern: string, wantExists: boolean): Verdict {
  const bad = checkPathError(pattern);
  if (bad) return { score: 0, message: bad.message, error: bad };
  const paths = expand(tree, pattern);
  if (!Array.isArray(paths)) return paths;
  const found: string[] = [];
  const missing: string[] = [];
  let escape: string | undefined;
  for (const p of paths) {
    const f = lookup(tree, p);
    if (f.kind === 'file' || f.kind === 'directory') found.push(p);
    else if (f.kind === 'escape') escape ??= f.why;
    else missing.push(f.why);
  }
  // a link out of the workspace cannot be graded either way: say so rather than guess
  if (escape && found.length === 0) return error('path-escape', escape);
  const more = found.length > 1 ? ` (+${found.length - 1} more)` : '';
  if (wantExists) {
    if (found.length > 0) return pass(isGlob(pattern) ? `${pattern} matches ${found[0]}${more}` : `${pattern} exists`);
    return fail(isGlob(pattern) ? `no file matches ${pattern}` : (missing[0] ?? `${pattern} does not exist`));
  }
  if (found.length > 0) return fail(isGlob(pattern) ? `${pattern} matches ${found[0]}${more}` : `${pattern} exists`);
  return pass(isGlob(pattern) ? `no file matches ${pattern}` : `${pattern} is absent`);
}

/**
 * Run a content condition on the file at `pattern`; with a glob, on every file it matches (at
 * least one must match, all must pass).
 */
function eachFile(tree: SnapshotTree, pattern: string, test: (text: string, path: string) => Verdict): Verdict {
  const bad = checkPathError(pattern);
  if (bad) return { score: 0, message: bad.message, error: bad };
  const paths = expand(tree, pattern);
  if (!Array.isArray(paths)) return paths;
  const glob = isGlob(pattern);
  const decoder = new TextDecoder('utf-8');
  let last: Verdict | undefined;
  let files = 0;
  for (const p of paths) {
    const f = lookup(tree, p);
    if (f.kind === 'escape') return error('path-escape', f.why);
    if (f.kind === 'directory') {
      if (glob) continue;
      return fail(`${p} is a directory, not a file`);
    }
    if (f.kind === 'missing') {
      if (glob) continue;
      return fail(f.why);
    }
    if (f.entry.content === undefined) return error('too-large', `${p} is too large to read (${plural(f.entry.size, 'byte')}, over the snapshot's per-file cap)`);
    files++;
    last = test(decoder.decode(f.entry.content), p);
    if (last.score < 1 || last.error) return last;
  }
  if (files === 0) return fail(`no file matches ${pattern}`);
  if (glob && files > 1 && last) return { ...last, message: `all ${files} files matching ${pattern} pass (${last.message})` };
  return last!;
}

async function readFixture(baseDir: string, from: string): Promise<{ text: string } | { error: string }> {
  if (path.isAbsolute(from) || normalizeRelPath(from).startsWith('../') || normalizeRelPath(from) === '..') {
    return { error: `file_equals.from ${from} must be a path inside the task's folder` };
  }
  try {
    const base = await fsp.realpath(baseDir);
    const real = await fsp.realpath(path.join(base, from));
    if (real !== base && !real.startsWith(base + path.sep)) return { error: `file_equals.from ${from} is a symlink that leaves the task's folder` };
    // A regular file under the source cap, valid UTF-8 (a FIFO must not hang the verifier).
    const got = readInputText(real, { maxBytes: MAX_SOURCE_FILE_BYTES, label: `file_equals.from ${from}` });
    return got.ok ? { text: got.text } : { error: got.message };
  } catch (e) {
    return { error: `cannot read file_equals.from ${from}: ${(e as Error).message}` };
  }
}

function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const b = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      if (i >= a.length) return `line ${i + 1} is missing (expected ${show(b[i])})`;
      if (i >= b.length) return `unexpected line ${i + 1} ${show(a[i])}`;
      return `line ${i + 1} is ${show(a[i])}, expected ${show(b[i])}`;
    }
  }
  return 'different line endings';
}

function jsonVerdict(text: string, p: string, f: { query: string; equals?: unknown; type?: string; between?: [number, number] }): Verdict {
  const yaml = /\.ya?ml$/i.test(p);
  let doc: unknown;
  let jsonText = text;
  if (yaml) {
    const d = parseYaml(text);
    if (d.errors.length > 0) return fail(`${p} is not valid YAML: ${d.errors[0]!.message.split('\n')[0]}`);
    doc = d.toJS();
    // the condition itself is evaluate.ts's, which takes JSON text
    jsonText = JSON.stringify(doc ?? null);
  } else {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      return fail(`${p} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const q = queryJson(doc, f.query);
  const at = f.query.trim() === '' ? 'the document' : `${f.query}`;
  if (!q.found) return fail(`${p}: nothing at ${at}`);
  const holds = jsonConditionHolds(jsonText, { query: f.query, equals: f.equals, type: f.type, between: f.between });
  // no condition: the value only has to be there
  if (holds === undefined || holds) return pass(`${p}: ${at} is ${show(q.value)}`);
  const want: string[] = [];
  if (f.equals !== undefined) want.push(`equal to ${show(f.equals)}`);
  if (f.type !== undefined) want.push(`of type ${f.type}`);
  if (f.between !== undefined) want.push(`between ${f.between[0]} and ${f.between[1]}`);
  return fail(`${p}: ${at} is ${show(q.value)}, expected a value ${want.join(', ')}`);
}

function csvVerdict(text: string, p: string, f: { columns?: string[]; rows?: number; where?: Record<string, string | number | boolean> }): Verdict {
  if (csvConditionHolds(text, f)) {
    const rows = parseCsv(text).length - 1;
    return pass(`${p}: ${plural(rows, 'data row')}${f.where ? `, a row matches ${show(f.where)}` : ''}`);
  }
  const rows = parseCsv(text);
  const header = rows[0];
  if (!header) return fail(`${p} is empty: no header row`);
  const headerText = header.map((h) => h.trim()).join(',');
  if (f.columns && !csvConditionHolds(text, { columns: f.columns })) return fail(`${p}: the header is ${show(headerText)}, expected ${show(f.columns.join(','))}`);
  if (f.rows !== undefined && rows.length - 1 !== f.rows) return fail(`${p} has ${plural(rows.length - 1, 'data row')}, expected ${f.rows}`);
  if (f.where) {
    const missing = Object.keys(f.where).filter((k) => !header.some((h) => h.trim() === k));
    if (missing.length > 0) return fail(`${p} has no column ${missing.map((m) => show(m)).join(', ')} (header: ${show(headerText)})`);
    return fail(`${p}: no row matches ${show(f.where)} (${plural(rows.length - 1, 'data row')})`);
  }
  return fail(`${p} is not the expected CSV`);
}

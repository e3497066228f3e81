/**
 * Semantic passes: what a task means beyond its shape. Ids, paths, files on disk, regexes, checks
 * that prove nothing, and fields that need exactly one of two alternatives.
 *
 * Every pass reads the plain (x-stripped) value defensively: the schema pass has already reported
 * wrong types, so here a value of an unexpected type is simply skipped.
 */
import * as nodePath from 'node:path';
import { CHECK_KIND_NAMES, type CheckKind } from '../../model/schema';
import { backtrackingRisk, type BacktrackingRisk, type BoundedRegex } from '../../regex';
import type { NodePath, Span } from '../../syntax';
import type { FileSystemHost } from '../types';
import { asString, type Collector, isPlainObject, list, quote } from './context';
import { compileGlob, compileRegex, csvConditionHolds, globToRegexSource, isGlob, jsonConditionHolds, normalizeRelPath, PathSet, textEquals, textMatches } from './evaluate';

/** A check as the semantic passes see it: its index, kind and mapping. */
export interface CheckInfo {
  index: number;
  path: NodePath;
  kind: CheckKind;
  item: Record<string, unknown>;
}

/** Checks with exactly one kind key (the others were reported by the schema pass). */
export function collectChecks(value: Record<string, unknown>): CheckInfo[] {
  const verifier = value.verifier;
  if (!isPlainObject(verifier) || !Array.isArray(verifier.checks)) return [];
  const out: CheckInfo[] = [];
  (verifier.checks as unknown[]).forEach((item, index) => {
    if (!isPlainObject(item)) return;
    const kinds = Object.keys(item).filter((k): k is CheckKind => (CHECK_KIND_NAMES as string[]).includes(k));
    if (kinds.length === 1) out.push({ index, path: ['verifier', 'checks', index], kind: kinds[0]!, item });
  });
  return out;
}

/** The workspace path a check looks at, with the document path of that value. */
export function checkTarget(ch: CheckInfo): { target: string; path: NodePath } | undefined {
  const v = ch.item[ch.kind];
  if (ch.kind === 'file_exists' || ch.kind === 'file_absent') {
    return typeof v === 'string' ? { target: v, path: [...ch.path, ch.kind] } : undefined;
  }
  if (ch.kind === 'command' || ch.kind === 'python') return undefined;
  if (isPlainObject(v) && typeof v.path === 'string') return { target: v.path, path: [...ch.path, ch.kind, 'path'] };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Duplicate ids

export function checkDuplicateIds(c: Collector, value: Record<string, unknown>): void {
  const verifier = value.verifier;
  if (!isPlainObject(verifier)) return;
  const seen = new Map<string, NodePath>();
  const visit = (items: unknown, section: 'checks' | 'rubric'): void => {
    if (!Array.isArray(items)) return;
    items.forEach((item, i) => {
      if (!isPlainObject(item) || typeof item.id !== 'string') return;
      const path: NodePath = ['verifier', section, i, 'id'];
      const first = seen.get(item.id);
      if (!first) {
        seen.set(item.id, path);
        return;
      }
      const firstLine = c.lineOf(c.valueSpan(first).start) + 1;
      const what = first[1] === 'checks' ? 'check' : 'rubric item';
      c.add(c.valueSpan(path), 'error', 'duplicate-id', `id ${quote(item.id)} is already used by the ${what} on line ${firstLine}; ids must be unique in the file`, { path });
    });
  };
  visit(verifier.checks, 'checks');
  visit(verifier.rubric, 'rubric');
}

// ---------------------------------------------------------------------------------------------
// Paths

export type PathKind = 'workspace' | 'task';

function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('~/');
}

/**
 * Report an absolute or escaping path. Returns whether the path is usable (relative and inside
 * its root). `at` says whether the span is the key (files keys) or the value.
 */
export function checkPath(c: Collector, p: string, kind: PathKind, path: NodePath, at: 'key' | 'value', root?: string): boolean {
  // spans are looked up only when there is something to report (most paths are fine)
  const span = (): Span => (at === 'key' ? c.keySpan(path) : c.valueSpan(path));
  const rootName = kind === 'workspace' ? '`workspace.root`' : "the task file's folder";
  if (isAbsolutePath(p)) {
    let rel = p;
    if (kind === 'workspace' && root && root !== '/' && (p === root || p.startsWith(root.replace(/\/+$/, '') + '/'))) rel = p.slice(root.replace(/\/+$/, '').length);
    rel = rel.replace(/^([A-Za-z]:)?[\\/]+/, '').replace(/^~\//, '');
    const suggestion = rel !== '' && !normalizeRelPath(rel).startsWith('..') ? rel : undefined;
    c.add(
      span(),
      'error',
      'path-absolute',
      `${quote(p)} is absolute: paths here are relative to ${rootName}${suggestion ? `; did you mean ${quote(suggestion)}?` : ''}`,
      suggestion ? { path, suggestion } : { path },
    );
    return false;
  }
  const norm = normalizeRelPath(p);
  if (norm === '..' || norm.startsWith('../')) {
    c.add(span(), 'error', 'path-escape', `${quote(p)} leaves ${rootName} through \`..\``, { path });
    return false;
  }
  if (kind === 'workspace' && p.includes('\\')) {
    const suggestion = p.replace(/\\/g, '/');
    c.add(span(), 'warning', 'invalid-value', `${quote(p)} uses backslashes: workspace paths use \`/\`; did you mean ${quote(suggestion)}?`, { path, suggestion });
  }
  return true;
}

/** A task-file path (`from` etc.) that must exist on disk as a file or a folder. */
interface FromRef {
  value: string;
  path: NodePath;
  want: 'file' | 'dir';
}

export interface PathPassResult {
  /** from_dir resolved on disk, when it is a usable folder. */
  fromDir?: string;
  /** Where from_dir's content goes, relative to the workspace root (`''`: the root itself). */
  fromDirTo?: string;
}

/** Both forms of `workspace.from_dir` (`PATH` or `{ path, to }`), with the document path of each part. */
export function fromDirParts(ws: Record<string, unknown> | undefined): { path?: { value: string; at: NodePath }; to?: { value: string; at: NodePath } } | undefined {
  const v = ws?.from_dir;
  if (typeof v === 'string') return { path: { value: v, at: ['workspace', 'from_dir'] } };
  if (!isPlainObject(v)) return undefined;
  return {
    ...(typeof v.path === 'string' ? { path: { value: v.path, at: ['workspace', 'from_dir', 'path'] } } : {}),
    ...(typeof v.to === 'string' ? { to: { value: v.to, at: ['workspace', 'from_dir', 'to'] } } : {}),
  };
}

export function checkPaths(c: Collector, value: Record<string, unknown>, checks: CheckInfo[], fs: FileSystemHost, dir: string | undefined): PathPassResult {
  const result: PathPassResult = {};
  const ws = isPlainObject(value.workspace) ? value.workspace : undefined;
  const root = asString(ws?.root);
  const refs: FromRef[] = [];

  if (ws && isPlainObject(ws.files)) {
    for (const [key, entry] of Object.entries(ws.files)) {
      checkPath(c, key, 'workspace', ['workspace', 'files', key], 'key', root);
      if (isPlainObject(entry) && typeof entry.from === 'string') refs.push({ value: entry.from, path: ['workspace', 'files', key, 'from'], want: 'file' });
    }
  }
  const fromDir = fromDirParts(ws);
  if (fromDir?.path) refs.push({ value: fromDir.path.value, path: fromDir.path.at, want: 'dir' });
  // An unusable `to` (absolute, escaping) was reported; the folder's files then land nowhere known.
  const toUsable = !fromDir?.to || fromDir.to.value === '' || checkPath(c, fromDir.to.value, 'workspace', fromDir.to.at, 'value', root);
  const fromDirTo = fromDir?.to && toUsable ? normalizeRelPath(fromDir.to.value) : '';

  for (const ch of checks) {
    const t = checkTarget(ch);
    if (t) checkPath(c, t.target, 'workspace', t.path, 'value', root);
    const v = ch.item[ch.kind];
    if (ch.kind === 'file_equals' && isPlainObject(v) && typeof v.from === 'string') refs.push({ value: v.from, path: [...ch.path, 'file_equals', 'from'], want: 'file' });
  }

  const verifier = isPlainObject(value.verifier) ? value.verifier : undefined;
  if (verifier && Array.isArray(verifier.rubric)) {
    (verifier.rubric as unknown[]).forEach((item, i) => {
      if (isPlainObject(item) && typeof item.file === 'string') checkPath(c, item.file, 'workspace', ['verifier', 'rubric', i, 'file'], 'value', root);
    });
  }
  if (verifier && typeof verifier.reward_script === 'string') refs.push({ value: verifier.reward_script, path: ['verifier', 'reward_script'], want: 'file' });
  if (isPlainObject(value.solution) && typeof value.solution.from === 'string') refs.push({ value: value.solution.from, path: ['solution', 'from'], want: 'file' });

  for (const ref of refs) {
    if (ref.value === '') continue; // reported by the schema pass
    if (!checkPath(c, ref.value, 'task', ref.path, 'value')) continue;
    if (dir === undefined) continue;
    const abs = nodePath.join(dir, ref.value);
    const st = fs.stat(abs);
    const span = (): Span => c.valueSpan(ref.path);
    if (!st) {
      c.add(span(), 'error', 'from-missing', `${quote(ref.value)} does not exist (looked for ${ref.want === 'dir' ? 'a folder' : 'a file'} next to the task file)`, { path: ref.path });
    } else if (ref.want === 'dir' && !st.isDirectory) {
      c.add(span(), 'error', 'from-missing', `${quote(ref.value)} is a file, but \`from_dir\` needs a folder`, { path: ref.path });
    } else if (ref.want === 'file' && !st.isFile && !st.isDirectory) {
      c.add(span(), 'error', 'special-file', `${quote(ref.value)} is not a regular file (a FIFO, socket or device), but a file is needed here`, { path: ref.path });
    } else if (ref.want === 'file' && !st.isFile) {
      c.add(span(), 'error', 'from-missing', `${quote(ref.value)} is a folder, but a file is needed here`, { path: ref.path });
    } else if (ref.want === 'dir' && ref.path[1] === 'from_dir' && toUsable) {
      result.fromDir = abs;
      result.fromDirTo = fromDirTo;
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Regexes

export function checkRegexes(c: Collector, checks: CheckInfo[]): void {
  for (const ch of checks) {
    const v = ch.item[ch.kind];
    let pattern: string | undefined;
    let flags = '';
    let path: NodePath | undefined;
    if (ch.kind === 'file_matches' && isPlainObject(v) && typeof v.pattern === 'string') {
      pattern = v.pattern;
      // invalid flags were reported by the schema pass; compile with the valid ones
      flags = typeof v.flags === 'string' ? [...new Set(v.flags.replace(/[^imsu]/g, ''))].join('') : '';
      path = [...ch.path, 'file_matches', 'pattern'];
    } else if (ch.kind === 'command' && typeof ch.item.stdout_matches === 'string') {
      pattern = ch.item.stdout_matches;
      path = [...ch.path, 'stdout_matches'];
    }
    if (pattern !== undefined && path !== undefined) {
      const r = compileRegex(pattern, flags);
      if ('error' in r) c.add(c.valueSpan(path), 'error', 'invalid-regex', `invalid regular expression ${quote(pattern)}: ${r.error}`, { path });
      else warnBacktracking(c, path, `regular expression ${quote(pattern)}`, backtrackingRisk(pattern, flags));
    }
    // a glob becomes a regex in the check.py the converter writes (Python's `re` backtracks)
    const t = checkTarget(ch);
    if (t && isGlob(t.target)) {
      const source = globToRegexSource(t.target);
      if (source !== undefined) warnBacktracking(c, t.path, `glob ${quote(t.target)}`, backtrackingRisk(source));
    }
  }
}

/**
 * `regex-backtracking`: ClawGym matches every pattern in linear time, but the same pattern in
 * Python's `re` (the converter's check.py) or a JavaScript RegExp can freeze on a text that almost
 * matches. The analysis is static and cached per pattern (regex/backtracking.ts), so it costs
 * microseconds per keystroke once a pattern was seen.
 */
function warnBacktracking(c: Collector, path: NodePath, what: string, risk: BacktrackingRisk | undefined): void {
  if (!risk) return;
  c.add(c.valueSpan(path), 'warning', 'regex-backtracking', `${what} can backtrack catastrophically: ${risk.message}. ClawGym's own matching is linear, but check.py exports and other tools are not`, { path });
}

// ---------------------------------------------------------------------------------------------
// Checks that pass before the agent starts

const MAX_WALK_ENTRIES = 5000;
const MAX_WALK_DEPTH = 12;

/** Files and folders under a folder on disk, relative to it (bounded). */
export function listTree(fs: FileSystemHost, dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string, depth: number): void => {
    if (depth > MAX_WALK_DEPTH) return;
    for (const e of fs.readDir(abs)) {
      if (out.length >= MAX_WALK_ENTRIES) return;
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory) walk(nodePath.join(abs, e.name), r, depth + 1);
    }
  };
  walk(dir, '', 0);
  return out;
}

export function checkPassesUntouched(c: Collector, value: Record<string, unknown>, checks: CheckInfo[], fs: FileSystemHost, fromDir: string | undefined, fromDirTo = ''): void {
  const ws = isPlainObject(value.workspace) ? value.workspace : undefined;
  const inline = new Map<string, string>();
  const listed = new PathSet([]);
  if (ws && isPlainObject(ws.files)) {
    for (const [key, entry] of Object.entries(ws.files)) {
      listed.add(key);
      if (typeof entry === 'string') inline.set(normalizeRelPath(key), entry);
    }
  }
  let fromDirFiles: PathSet | undefined;
  // With `{ path, to }` the folder's tree lands under `to/` (which then exists itself).
  const under = (paths: string[]): string[] => (fromDirTo === '' ? paths : [fromDirTo, ...paths.map((p) => `${fromDirTo}/${p}`)]);
  const diskFiles = (): PathSet => (fromDirFiles ??= new PathSet(fromDir ? under(listTree(fs, fromDir)) : []));

  for (const ch of checks) {
    const v = ch.item[ch.kind];
    const id = typeof ch.item.id === 'string' ? ` ${quote(ch.item.id)}` : '';
    if (ch.kind === 'file_exists') {
      if (typeof v !== 'string' || v === '') continue;
      const hit = listed.match(v);
      const where = hit !== undefined ? `\`workspace.files\` lists ${quote(hit)}` : undefined;
      const diskHit = hit === undefined && fromDir ? diskFiles().match(v) : undefined;
      const reason = where ?? (diskHit !== undefined ? `\`from_dir\` provides ${quote(diskHit)}` : undefined);
      if (reason) {
        c.add(c.valueSpan([...ch.path, 'file_exists']), 'warning', 'check-passes-untouched', `check${id} already passes before the agent starts: ${reason}`, { path: [...ch.path, 'file_exists'] });
      }
      continue;
    }
    if (!isPlainObject(v) || typeof v.path !== 'string' || isGlob(v.path)) continue;
    const content = inline.get(normalizeRelPath(v.path));
    if (content === undefined) continue;
    let holds: boolean | undefined;
    if (ch.kind === 'file_matches' && typeof v.pattern === 'string') {
      holds = textMatches(content, v.pattern, typeof v.flags === 'string' && /^[imsu]*$/.test(v.flags) ? v.flags : '');
    } else if (ch.kind === 'file_equals' && typeof v.text === 'string' && v.from === undefined) {
      holds = textEquals(content, v.text);
    } else if (ch.kind === 'json' && typeof v.query === 'string' && /\.json$/i.test(v.path)) {
      holds = jsonConditionHolds(content, {
        query: v.query,
        equals: v.equals,
        type: typeof v.type === 'string' ? v.type : undefined,
        between: Array.isArray(v.between) && v.between.length === 2 && v.between.every((n) => typeof n === 'number') ? (v.between as [number, number]) : undefined,
      });
    } else if (ch.kind === 'csv') {
      holds = csvConditionHolds(content, {
        columns: Array.isArray(v.columns) && v.columns.every((x) => typeof x === 'string') ? (v.columns as string[]) : undefined,
        rows: typeof v.rows === 'number' ? v.rows : undefined,
        where: isPlainObject(v.where) ? (v.where as Record<string, string | number | boolean>) : undefined,
      });
    }
    if (holds === true) {
      const p = [...ch.path, ch.kind];
      c.add(c.keySpan(p), 'warning', 'check-passes-untouched', `check${id} already passes on the inline content of ${quote(v.path)} in \`workspace.files\`, so it proves nothing`, { path: p });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Verifier-level rules

export function checkNoChecks(c: Collector, value: Record<string, unknown>): void {
  const v = value.verifier;
  if (!isPlainObject(v)) return;
  const empty = (x: unknown): boolean => x === undefined || x === null || (Array.isArray(x) && x.length === 0);
  if (empty(v.checks) && (v.reward_script === undefined || v.reward_script === null) && empty(v.rubric)) {
    c.add(c.keySpan(['verifier']), 'error', 'no-checks', 'the task has no checks, no `reward_script` and no `rubric`: nothing can verify it', { path: ['verifier'] });
  }
}

export function checkRubricFiles(c: Collector, value: Record<string, unknown>, checks: CheckInfo[]): void {
  const v = value.verifier;
  if (!isPlainObject(v) || !Array.isArray(v.rubric)) return;
  const intent = asString(value.intent) ?? '';
  const targets: string[] = [];
  const globs: BoundedRegex[] = [];
  const texts: string[] = [intent];
  for (const ch of checks) {
    const t = checkTarget(ch);
    if (t) {
      targets.push(normalizeRelPath(t.target));
      const re = isGlob(t.target) ? compileGlob(t.target) : undefined;
      if (re) globs.push(re);
    }
    const k = ch.item[ch.kind];
    if ((ch.kind === 'command' || ch.kind === 'python') && typeof k === 'string') texts.push(k);
  }
  (v.rubric as unknown[]).forEach((item, i) => {
    if (!isPlainObject(item) || typeof item.file !== 'string' || item.file === '') return;
    const file = item.file;
    const norm = normalizeRelPath(file);
    const byCheck = targets.includes(norm) || globs.some((re) => re.test(norm));
    const byText = texts.some((t) => t.includes(file) || t.includes(norm));
    if (!byCheck && !byText) {
      const path: NodePath = ['verifier', 'rubric', i, 'file'];
      c.add(c.valueSpan(path), 'warning', 'rubric-file-unmentioned', `rubric file ${quote(file)} is not checked by any check nor mentioned in the intent: the agent may not know to write it`, { path });
    }
  });
}

export function checkAlternatives(c: Collector, value: Record<string, unknown>, checks: CheckInfo[]): void {
  const sol = value.solution;
  if (isPlainObject(sol)) {
    const has = (k: string): boolean => sol[k] !== undefined && sol[k] !== null;
    if (has('script') === has('from')) {
      c.add(
        c.keySpan(['solution']),
        'error',
        'solution-conflict',
        has('script') ? '`solution` has both `script` and `from`: give exactly one' : '`solution` needs one of `script` (inline) or `from` (a file)',
        { path: ['solution'], ...(has('script') ? {} : { missing: ['script'] }) },
      );
    }
  }
  for (const ch of checks) {
    const v = ch.item[ch.kind];
    if (!isPlainObject(v)) continue;
    const p = [...ch.path, ch.kind];
    const has = (k: string): boolean => v[k] !== undefined;
    if (ch.kind === 'file_equals' && has('text') === has('from')) {
      c.add(
        c.keySpan(p),
        'error',
        'solution-conflict',
        has('text') ? '`file_equals` has both `text` and `from`: give exactly one' : '`file_equals` needs one of `text` (inline) or `from` (a fixture file)',
        { path: p },
      );
    } else if (ch.kind === 'json' && !has('equals') && !has('type') && !has('between')) {
      c.add(c.keySpan(p), 'error', 'solution-conflict', `\`json\` needs a condition: one of ${list(['equals', 'type', 'between'])}`, { path: p, missing: ['equals'] });
    }
  }
}

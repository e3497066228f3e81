/**
 * Pure evaluators for check conditions: the query and matching semantics the verifier applies to a
 * workspace file. The diagnostics engine runs them on inline `workspace.files` content to find
 * checks that already pass before the agent does anything; the real verifier reuses them.
 *
 * Nothing here touches the disk or throws on bad input: a condition that cannot be evaluated
 * (bad regex, unparsable JSON, malformed query) yields `undefined` ("unknown"), never `true`.
 * Regexes and globs run on the linear-time engine (`../../regex`): no pattern and no text, the
 * agent's included, can make a match take more than time linear in the text.
 */
import { compileBoundedRegex, testBounded, type BoundedRegex } from '../../regex';

// ---------------------------------------------------------------------------------------------
// Paths and globs

/** Normalise a workspace path the POSIX way: `./a//b/../c` -> `a/c`; keeps leading `..`. */
export function normalizeRelPath(p: string): string {
  // fast path: already normal (no `.` segments, backslashes, doubled or edge slashes)
  if (!/(^|\/)\.|\\|\/\/|^\/|\/$/.test(p)) return p;
  const out: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

/** Whether a path contains glob syntax (`*`, `?`, `[...]`, `{a,b}`). */
export function isGlob(p: string): boolean {
  return /[*?[{]/.test(p);
}

/**
 * A glob as an anchored regex source (JavaScript syntax, which Python's `re` reads the same way):
 * `**` spans folders, `*` and `?` stay within one segment, `[abc]` is a class and `{a,b}` an
 * alternation. Returns undefined for a malformed glob.
 */
export function globToRegexSource(glob: string): string | undefined {
  let re = '';
  let braces = 0;
  const g = normalizeRelPath(glob);
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') {
      if (g[i + 1] === '*') {
        // `**/` matches zero or more folders; a trailing `**` matches everything below.
        if (g[i + 2] === '/') {
          re += '(?:[^/]*/)*';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = g.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        let body = g.slice(i + 1, close).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body}]`;
        i = close;
      }
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return braces === 0 ? `^${re}$` : undefined;
}

/**
 * A glob compiled for matching paths, on the linear-time engine: `*a*a*a*a*b` against a long
 * name takes time linear in the name (a backtracking regex would take n^5). Undefined when the
 * glob is malformed. Compiled patterns are cached (bounded.ts).
 */
export function compileGlob(glob: string): BoundedRegex | undefined {
  const source = globToRegexSource(glob);
  if (source === undefined) return undefined;
  const r = compileBoundedRegex(source);
  return 're' in r ? r.re : undefined;
}

/**
 * A set of workspace files, normalised once, answering "does this path or glob match anything?".
 * Folders implied by the files exist too (`file_exists: input` passes when `input/a.txt` exists).
 */
export class PathSet {
  /** normalised path (files and their parent folders) -> the path as written */
  private readonly entries = new Map<string, string>();
  constructor(paths: Iterable<string>) {
    for (const p of paths) this.add(p);
  }

  add(p: string): void {
    let n = normalizeRelPath(p);
    while (n !== '' && !this.entries.has(n)) {
      this.entries.set(n, p);
      const slash = n.lastIndexOf('/');
      n = slash < 0 ? '' : n.slice(0, slash);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The first written path that `pattern` (a path or glob) matches, if any. */
  match(pattern: string): string | undefined {
    if (!isGlob(pattern)) return this.entries.get(normalizeRelPath(pattern));
    const re = compileGlob(pattern);
    if (!re) return undefined;
    for (const [n, written] of this.entries) if (re.test(n)) return written;
    return undefined;
  }
}

/** Whether `pattern` (a path or glob) matches one of `files` (or a folder holding one). */
export function pathMatchesAny(pattern: string, files: Iterable<string>): string | undefined {
  return new PathSet(files).match(pattern);
}

// ---------------------------------------------------------------------------------------------
// Text conditions

/**
 * Compile a user regex (JavaScript syntax) for bounded matching; returns why it cannot be used:
 * V8's reason when it is not JavaScript ("Unterminated group"), or the linear engine's when it
 * needs a feature that engine lacks (lookaround, backreferences, a count over 1000).
 */
export function compileRegex(pattern: string, flags = ''): { re: BoundedRegex } | { error: string } {
  return compileBoundedRegex(pattern, flags);
}

/** `file_matches`: whether the regex matches somewhere in the text; undefined if it does not compile. */
export function textMatches(text: string, pattern: string, flags = ''): boolean | undefined {
  const r = compileRegex(pattern, flags);
  if (!('re' in r)) return undefined;
  const found = testBounded(r.re, text);
  return typeof found === 'boolean' ? found : undefined;
}

function stripOneTrailingNewline(s: string): string {
  if (s.endsWith('\r\n')) return s.slice(0, -2);
  if (s.endsWith('\n')) return s.slice(0, -1);
  return s;
}

/** `file_equals`: equal text, tolerating one trailing newline on either side. */
export function textEquals(actual: string, expected: string): boolean {
  return stripOneTrailingNewline(actual) === stripOneTrailingNewline(expected);
}

// ---------------------------------------------------------------------------------------------
// JSON queries

export type QuerySegment = string | number;

/**
 * Parse a dotted/indexed query: `a.b[0].c`, `["key.with.dots"]`, `items[-1]` (from the end).
 * The empty query is the whole document. Returns undefined when malformed.
 */
export function parseQuery(query: string): QuerySegment[] | undefined {
  const segs: QuerySegment[] = [];
  let i = 0;
  const q = query.trim();
  if (q === '' || q === '.' || q === '$') return segs;
  if (q.startsWith('$.')) i = 2;
  else if (q.startsWith('$[')) i = 1;
  else if (q.startsWith('.')) i = 1;
  while (i < q.length) {
    const c = q[i]!;
    if (c === '[') {
      const close = q.indexOf(']', i);
      if (close < 0) return undefined;
      const inner = q.slice(i + 1, close).trim();
      const quoted = /^(["'])(.*)\1$/s.exec(inner);
      if (quoted) segs.push(quoted[2]!);
      else if (/^-?\d+$/.test(inner)) segs.push(Number(inner));
      else return undefined;
      i = close + 1;
      if (q[i] === '.') {
        i++;
        if (i >= q.length) return undefined;
      }
    } else {
      let j = i;
      while (j < q.length && q[j] !== '.' && q[j] !== '[') j++;
      const name = q.slice(i, j);
      if (name === '') return undefined;
      segs.push(name);
      i = j;
      if (q[i] === '.') {
        i++;
        if (i >= q.length) return undefined;
      }
    }
  }
  return segs;
}

/** Resolve a query in a JSON value: `{ found: false }` when a segment is absent. */
export function queryJson(value: unknown, query: string): { found: true; value: unknown } | { found: false } {
  const segs = parseQuery(query);
  if (!segs) return { found: false };
  let cur: unknown = value;
  for (const s of segs) {
    if (Array.isArray(cur)) {
      const idx = typeof s === 'number' ? s : /^\d+$/.test(s) ? Number(s) : NaN;
      const k = idx < 0 ? cur.length + idx : idx;
      if (!Number.isInteger(k) || k < 0 || k >= cur.length) return { found: false };
      cur = cur[k];
    } else if (cur !== null && typeof cur === 'object') {
      const key = String(s);
      if (!Object.prototype.hasOwnProperty.call(cur, key)) return { found: false };
      cur = (cur as Record<string, unknown>)[key];
    } else return { found: false };
  }
  return { found: true, value: cur };
}

/** The JSON type name of a value, as the `type` condition uses it (`integer` also counts as `number`). */
export function jsonTypeOf(v: unknown): 'string' | 'number' | 'boolean' | 'array' | 'object' | 'null' | undefined {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    default:
      return undefined;
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]));
}

export interface JsonCondition {
  query: string;
  equals?: unknown;
  type?: string;
  between?: [number, number];
}

/**
 * `json`: whether the value at `query` satisfies every given condition. `undefined` when the
 * document is not JSON or no condition is given (nothing to decide).
 */
export function jsonConditionHolds(text: string, cond: JsonCondition): boolean | undefined {
  if (cond.equals === undefined && cond.type === undefined && cond.between === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = queryJson(doc, cond.query);
  if (!r.found) return false;
  const v = r.value;
  if (cond.equals !== undefined && !deepEqual(v, cond.equals)) return false;
  if (cond.type !== undefined) {
    const t = jsonTypeOf(v);
    const ok = cond.type === 'integer' ? typeof v === 'number' && Number.isInteger(v) : t === cond.type;
    if (!ok) return false;
  }
  if (cond.between !== undefined) {
    const [lo, hi] = cond.between;
    if (typeof v !== 'number' || !(v >= lo && v <= hi)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// CSV

/** Parse CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF). Ignores a final empty line. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (i < t.length) {
    const c = t[i]!;
    if (quoted) {
      if (c === '"') {
        if (t[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && t[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
    i++;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  // blank lines are not rows
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

export interface CsvCondition {
  columns?: string[];
  rows?: number;
  where?: Record<string, string | number | boolean>;
}

function cellEquals(cell: string, want: string | number | boolean): boolean {
  if (typeof want === 'number') {
    const n = Number(cell.trim());
    return cell.trim() !== '' && n === want;
  }
  if (typeof want === 'boolean') return cell.trim().toLowerCase() === String(want);
  return cell === want;
}

/** `csv`: whether every given condition holds (no condition: the file is a CSV with a header). */
export function csvConditionHolds(text: string, cond: CsvCondition): boolean {
  const rows = parseCsv(text);
  const header = rows[0];
  if (!header) return false;
  const data = rows.slice(1);
  if (cond.columns !== undefined) {
    if (header.length !== cond.columns.length || header.some((h, i) => h.trim() !== cond.columns![i])) return false;
  }
  if (cond.rows !== undefined && data.length !== cond.rows) return false;
  if (cond.where !== undefined) {
    const want = Object.entries(cond.where);
    const idx = want.map(([k]) => header.findIndex((h) => h.trim() === k));
    if (idx.some((i) => i < 0)) return false;
    if (!data.some((r) => want.every(([, v], j) => cellEquals(r[idx[j]!] ?? '', v)))) return false;
  }
  return true;
}

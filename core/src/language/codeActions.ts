/**
 * Quick fixes for the diagnostics validateTask reports (see the contracts in `types.ts`).
 *
 * Values inserted for missing fields are derived from the zod model: the field's type decides the
 * placeholder (`1` for the version literal, `""` for text, `{}` or a minimal mapping for objects),
 * so a change to the schema changes the fixes with it. Ids are the exception that needs a name:
 * a task id comes from the file name, a check id from its kind and path, always unique.
 */
import { z } from 'zod';
import { CHECK_KIND_NAMES, isExtensionKey, Task } from '../model/schema';
import { isMap, isScalar, isSeq, lookupPath, nodeAtOffset, type NodePath, type ParsedTask } from '../syntax';
import {
  deleteEntry,
  findPair,
  formatKey,
  formatScalar,
  insertIntoMapping,
  map,
  renderFlow,
  scalar,
  seq,
  setEmptyValue,
  type YamlValue,
} from './edits';
import type { CodeAction, Diagnostic, Span, TaskDocument, TextEdit } from './types';

export function codeActions(doc: TaskDocument, span: Span, diagnostics: Diagnostic[]): CodeAction[] {
  try {
    const out: CodeAction[] = [];
    const ids = new IdPool(doc.parsed);
    for (const d of diagnostics) {
      if (!overlaps(d.span, span)) continue;
      try {
        out.push(...fixesFor(doc, d, ids));
      } catch {
        // One broken fix must not hide the others.
      }
    }
    // A diagnostic from an older version of the text may point past its end: drop such fixes.
    const len = doc.parsed.text.length;
    return out.filter((a) => a.edits.every((e) => 0 <= e.span.start && e.span.start <= e.span.end && e.span.end <= len));
  } catch {
    return [];
  }
}

/** Touching counts: a caret at the end of a squiggle still offers its fixes. */
function overlaps(a: Span, b: Span): boolean {
  return a.start <= b.end && b.start <= a.end;
}

function fixesFor(doc: TaskDocument, d: Diagnostic, ids: IdPool): CodeAction[] {
  const parsed = doc.parsed;
  const text = parsed.text;
  const fix = (title: string, edits: TextEdit[] | undefined, isPreferred?: boolean): CodeAction[] =>
    edits && edits.length > 0 ? [{ title, kind: 'quickfix', diagnostics: [d], edits, ...(isPreferred ? { isPreferred } : {}) }] : [];
  const suggestion = d.data?.suggestion;

  switch (d.code) {
    case 'unknown-key': {
      const out: CodeAction[] = [];
      const key = text.slice(d.span.start, d.span.end);
      const entry = entryAt(parsed, d);
      if (suggestion !== undefined && suggestion !== key) {
        // Renaming onto an existing key would only trade this error for a duplicate key.
        const taken = entry?.map.items.some((p) => isScalar(p.key) && p.key.value === suggestion);
        if (!taken) out.push(...fix(`Change to \`${suggestion}\``, [{ span: d.span, newText: formatKey(suggestion) }], true));
      }
      if (entry) {
        const del = deleteEntry(parsed, entry.map, entry.pair);
        out.push(...fix(`Remove \`${key}\``, del ? [del] : undefined));
        // Data meant for a tool can stay under an `x-` key, which the format reserves for that.
        const ext = `x-${key}`;
        const free = !entry.map.items.some((p) => isScalar(p.key) && p.key.value === ext);
        if (key !== '' && !isExtensionKey(key) && free && /^[A-Za-z0-9_.-]+$/.test(key)) {
          out.push(...fix(`Rename to \`${ext}\` (keep as tool data)`, [{ span: d.span, newText: ext }]));
        }
      }
      return out;
    }
    case 'invalid-value':
      return suggestion === undefined ? [] : fix(`Change to \`${suggestion}\``, [{ span: d.span, newText: formatScalar(suggestion) }], true);
    case 'path-absolute':
      return suggestion === undefined || suggestion === '' ? [] : fix(`Make relative: \`${suggestion}\``, [{ span: d.span, newText: formatScalar(suggestion) }], true);
    case 'missing-field':
      return missingFieldFix(doc, d, ids, fix);
    case 'duplicate-id': {
      const current = scalarValueAt(parsed, d.span.start) ?? stripQuotes(text.slice(d.span.start, d.span.end));
      if (current === '') return [];
      const renamed = ids.next(current);
      return fix(`Rename to \`${renamed}\``, [{ span: d.span, newText: formatScalar(renamed) }], true);
    }
    case 'no-checks':
      return addCheckFix(parsed, ids, fix);
    default:
      return [];
  }
}

type Fix = (title: string, edits: TextEdit[] | undefined, isPreferred?: boolean) => CodeAction[];

/** The mapping entry a key diagnostic is about: by data.path, else by the offset. */
function entryAt(parsed: ParsedTask, d: Diagnostic): ReturnType<typeof findPair> {
  const byPath = d.data?.path ? findPair(parsed, d.data.path) : undefined;
  if (byPath && (byPath.pair.key as { range?: number[] } | null)?.range?.[0] === d.span.start) return byPath;
  const at = nodeAtOffset(parsed, d.span.start);
  return at.where === 'key' ? findPair(parsed, at.path) : byPath;
}

// ---------------------------------------------------------------------------------------------
// Missing fields

function missingFieldFix(doc: TaskDocument, d: Diagnostic, ids: IdPool, fix: Fix): CodeAction[] {
  const parsed = doc.parsed;
  const path = d.data?.path ?? [];
  const missing = (d.data?.missing ?? []).filter((m) => typeof m === 'string' && m !== '');
  if (missing.length === 0) return [];
  const parentSchema = schemaAtPath(Task, path, parsed.value);
  const object = parentSchema && objectOf(parentSchema, valueAtPath(parsed.value, path), missing);
  if (!object) return [];
  const ctx: PlaceholderContext = { doc, path, ids, value: valueAtPath(parsed.value, path) };
  const entries: [string, YamlValue][] = [];
  for (const name of missing) {
    const field = object.shape[name] as z.ZodType | undefined;
    if (!field) continue;
    entries.push([name, placeholder(field, name, ctx, 0)]);
  }
  if (entries.length === 0) return [];
  const edits = insertIntoMapping(parsed, path, entries);
  const isCheck = isCheckPath(path);
  if (isCheck && entries.length === 1 && entries[0]![0] === 'id') {
    const id = entries[0]![1].kind === 'scalar' ? String(entries[0]![1].value) : '';
    return fix(`Add check id \`${id}\``, edits, true);
  }
  const names = entries.map(([k]) => `\`${k}\``).join(', ');
  return fix(`Add missing field${entries.length > 1 ? 's' : ''} ${names}`, edits, true);
}

function isCheckPath(path: NodePath): boolean {
  return path.length === 3 && path[0] === 'verifier' && path[1] === 'checks' && typeof path[2] === 'number';
}

interface PlaceholderContext {
  doc: TaskDocument;
  /** The path of the mapping receiving the field. */
  path: NodePath;
  ids: IdPool;
  /** That mapping's current value. */
  value: unknown;
}

/** A value of the field's type that parses, derived from its zod schema. */
function placeholder(schema: z.ZodType, name: string, ctx: PlaceholderContext, depth: number): YamlValue {
  const s = unwrap(schema);
  const def = s.def as unknown as Record<string, unknown> & { type: string };
  if (name === 'id' && def.type === 'string') return scalar(newId(ctx));
  switch (def.type) {
    case 'literal':
      return scalar(literalValue((def.values as unknown[])[0]));
    case 'enum':
      return scalar(Object.values(def.entries as Record<string, string | number>)[0] ?? '');
    case 'string':
      return scalar('');
    case 'number':
      return scalar(minimumOf(def));
    case 'boolean':
      return scalar(false);
    case 'array':
      return seq([]);
    case 'tuple':
      return seq((def.items as z.ZodType[]).map((t) => placeholder(t, '', ctx, depth + 1)));
    case 'record':
      return map([]);
    case 'object': {
      if (depth > 3) return map([]);
      const shape = (s as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
      const inner = { ...ctx, path: [...ctx.path, name], value: undefined };
      return map(
        Object.entries(shape)
          .filter(([, f]) => !isOptional(f))
          .map(([k, f]) => [k, placeholder(f, k, inner, depth + 1)]),
      );
    }
    case 'union': {
      const first = (def.options as z.ZodType[])[0];
      return first ? placeholder(first, name, ctx, depth + 1) : scalar(null);
    }
    default:
      return scalar(null);
  }
}

function literalValue(v: unknown): string | number | boolean | null {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
}

/** The smallest value a number schema allows (0 when unconstrained). */
function minimumOf(def: Record<string, unknown>): number {
  let min = 0;
  for (const c of (def.checks as { _zod?: { def?: Record<string, unknown> } }[] | undefined) ?? []) {
    const cd = c._zod?.def;
    if (cd?.check === 'greater_than' && typeof cd.value === 'number') min = cd.inclusive ? cd.value : cd.value + 1;
  }
  return min;
}

function isOptional(schema: z.ZodType): boolean {
  const t = (schema.def as { type: string }).type;
  return t === 'optional' || t === 'default' || t === 'prefault';
}

/** Strip wrappers that do not change what a value looks like. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const def = s.def as unknown as { type: string; innerType?: z.ZodType; in?: z.ZodType; getter?: () => z.ZodType };
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable' || def.type === 'readonly' || def.type === 'catch' || def.type === 'nonoptional') && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else if (def.type === 'lazy' && def.getter) s = def.getter();
    else break;
  }
  return s;
}

/** The schema of the value at `path`, choosing union members by what the document holds. */
function schemaAtPath(root: z.ZodType, path: NodePath, value: unknown): z.ZodType | undefined {
  let s: z.ZodType | undefined = root;
  let v = value;
  for (const seg of path) {
    if (!s) return undefined;
    s = unwrap(s);
    if ((s.def as { type: string }).type === 'union') s = pickUnionMember(s, v);
    if (!s) return undefined;
    const def = s.def as unknown as { type: string; element?: z.ZodType; valueType?: z.ZodType };
    if (def.type === 'object') s = ((s as unknown as z.ZodObject).shape as Record<string, z.ZodType>)[String(seg)];
    else if (def.type === 'array' && typeof seg === 'number') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return undefined;
    v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[seg] : undefined;
  }
  return s;
}

/** The object schema to add `wanted` fields to, resolving a union (e.g. a check) by the value's keys. */
function objectOf(schema: z.ZodType, value: unknown, wanted: string[]): z.ZodObject | undefined {
  let s: z.ZodType | undefined = unwrap(schema);
  if ((s.def as { type: string }).type === 'union') s = pickUnionMember(s, value, wanted);
  if (!s) return undefined;
  s = unwrap(s);
  return (s.def as { type: string }).type === 'object' ? (s as unknown as z.ZodObject) : undefined;
}

/**
 * The object member of a union that has the `wanted` fields and knows most of the value's keys
 * (e.g. the check variant of the check's kind).
 */
function pickUnionMember(union: z.ZodType, value: unknown, wanted: string[] = []): z.ZodType | undefined {
  const options = (union.def as unknown as { options: z.ZodType[] }).options;
  const keys = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  let best: z.ZodType | undefined;
  let bestScore = -1;
  for (const o of options) {
    const u = unwrap(o);
    if ((u.def as { type: string }).type !== 'object') continue;
    const shape = (u as unknown as z.ZodObject).shape as Record<string, unknown>;
    const score = wanted.filter((k) => k in shape).length * 1000 + keys.filter((k) => k in shape).length;
    if (score > bestScore) {
      best = u;
      bestScore = score;
    }
  }
  return best ?? options[0];
}

function valueAtPath(value: unknown, path: NodePath): unknown {
  let v = value;
  for (const seg of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Ids

/** The ids used in the document (task, checks, rubric); hands out unused ones. */
class IdPool {
  private readonly used = new Set<string>();
  constructor(parsed: ParsedTask) {
    const v = parsed.value as Record<string, unknown> | null;
    if (!v || typeof v !== 'object') return;
    if (v.id != null) this.used.add(String(v.id));
    const verifier = v.verifier as Record<string, unknown> | null | undefined;
    for (const list of [verifier?.checks, verifier?.rubric]) {
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        const id = (item as Record<string, unknown> | null)?.id;
        if (id != null) this.used.add(String(id));
      }
    }
  }

  /** `base` when free, else `base-2`, `base-3`, … (and remember it). */
  next(base: string, alwaysSuffix = true): string {
    let id = base;
    if (alwaysSuffix || this.used.has(id)) {
      for (let n = 2; this.used.has((id = `${base}-${n}`)); n++);
    }
    this.used.add(id);
    return id;
  }
}

/** A slug valid as an id: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export function slugify(s: string, max = 60): string {
  const slug = s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, max).replace(/-+$/, '');
}

/** A fresh id for the mapping at ctx.path: task id from the file name, check id from kind and path. */
function newId(ctx: PlaceholderContext): string {
  const p = ctx.path;
  if (p.length === 0) {
    // The task id is the file's id, not a check's: unique by nature.
    return taskIdFromUri(ctx.doc.uri);
  }
  let base = 'item';
  const v = ctx.value as Record<string, unknown> | null | undefined;
  if (isCheckPath(p)) {
    const kind = CHECK_KIND_NAMES.find((k) => v && typeof v === 'object' && k in v);
    if (kind) {
      const target = v![kind];
      // What the check looks at: the path for file kinds, the command line for `command`;
      // python source makes a poor id, so a python check is just `python`.
      const path = typeof target === 'string' ? target : (target as Record<string, unknown> | null)?.path;
      let subject = '';
      if (kind === 'command') subject = typeof target === 'string' ? target : '';
      else if (kind !== 'python') subject = typeof path === 'string' ? path : '';
      base = [kind.replace(/_/g, '-'), slugify(subject, 40)].filter(Boolean).join('-');
    } else base = 'check';
  } else if (p[0] === 'verifier' && p[1] === 'rubric') {
    const file = v?.file;
    base = ['rubric', typeof file === 'string' ? slugify(file, 40) : ''].filter(Boolean).join('-');
  }
  return ctx.ids.next(base, false);
}

/** `file:///tasks/pcs_trends.clawtask` -> `pcs_trends`; `Sleep%20Study.clawtask` -> `sleep-study`. */
export function taskIdFromUri(uri: string): string {
  let name = uri;
  try {
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^[a-z]:[\\/]/i.test(uri)) name = decodeURIComponent(new URL(uri).pathname || uri);
  } catch {
    // not a URL: treat as a path
  }
  name = name.split(/[\\/]/).pop() ?? '';
  name = name.replace(/\.[^.]*$/, '');
  // Keep the name as written when it already is a valid id (ClawGym ids match their file names).
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name)) return name;
  return slugify(name) || 'task';
}

function scalarValueAt(parsed: ParsedTask, offset: number): string | undefined {
  const at = nodeAtOffset(parsed, offset);
  return isScalar(at.node) && at.node.value != null ? String(at.node.value) : undefined;
}

function stripQuotes(s: string): string {
  const t = s.trim();
  return /^(["']).*\1$/.test(t) ? t.slice(1, -1) : t;
}

// ---------------------------------------------------------------------------------------------
// Adding a check

const SKELETON_PATH = 'output/result.txt';

/** `verifier.checks` with one `file_exists` check, wherever the verifier is (or is not yet). */
function addCheckFix(parsed: ParsedTask, ids: IdPool, fix: Fix): CodeAction[] {
  const check = (): YamlValue =>
    map([
      ['id', scalar(ids.next(`file-exists-${slugify(SKELETON_PATH)}`, false))],
      ['file_exists', scalar(SKELETON_PATH)],
    ]);
  const title = 'Add a check';
  const fixPreferred = (t: string, edits: TextEdit[] | undefined): CodeAction[] => fix(t, edits, true);
  const verifier = lookupPath(parsed, ['verifier']);
  const hasVerifier = verifier.depth === 1;
  if (!hasVerifier) return fixPreferred(title, insertIntoMapping(parsed, [], [['verifier', map([['checks', seq([check()])]])]]));
  const checks = lookupPath(parsed, ['verifier', 'checks']);
  if (checks.depth === 2) {
    const node = checks.node;
    if (isSeq(node) && node.items.length === 0 && node.flow && node.range) {
      // `checks: []` -> `checks: [ { id: …, file_exists: … } ]` in place: valid in block and flow parents.
      return fixPreferred(title, [{ span: { start: node.range[0], end: node.range[1] }, newText: renderFlow(seq([check()])) }]);
    }
    if (node == null || (isScalar(node) && node.value === null)) {
      return fixPreferred(title, setEmptyValue(parsed, ['verifier', 'checks'], seq([check()])));
    }
    return [];
  }
  if (isMap(verifier.node) || verifier.node == null || (isScalar(verifier.node) && verifier.node.value === null)) {
    return fixPreferred(title, insertIntoMapping(parsed, ['verifier'], [['checks', seq([check()])]]));
  }
  return [];
}

/**
 * Completion for `.clawtask` files.
 *
 * While the author types, the document is often not valid YAML, so the context (which mapping
 * the caret is in, which keys it already has, whether the caret is on a key or a value) comes from
 * the raw lines and their indentation: a scan up from the caret finds the ancestor keys and list
 * items, a scan down finds the sibling keys written after the caret. Only lines at or above the
 * level being looked for are parsed, so the cost is a cheap indentation test per line (a 5,000-line
 * task completes in well under a millisecond of scanning). Facts about the rest of the task
 * (`workspace.files`, other checks' ids and paths, the intent) come from the parsed tree.
 * What may be written comes from the schema (`schemaNav.ts`), never from lists kept here.
 *
 * Multi-line snippets carry ABSOLUTE indentation on every line after the first (the caret's line
 * is already indented), so the client must insert them as is (LSP `InsertTextMode.asIs`).
 */
import * as nodePath from 'node:path';
import { isExtensionKey, CHECK_KIND_NAMES } from '../model/schema';
import { isMap, isScalar, lookupPath, type NodePath, type ParsedTask } from '../syntax';
import { keyOptions, schemaAt, typeLabel, variantFor, type KeyOption, type SchemaInfo } from './schemaNav';
import type { Cancellation, CompletionItem, FileSystemHost, Span, TaskDocument } from './types';

// ---------------------------------------------------------------------------------------------
// Lines

/** One structural token on a line: a `- ` list item or a `key:`. */
interface Entry {
  col: number;
  kind: 'item' | 'key';
  key?: string;
  /** The key (or `- `) introduces a block scalar (`|`, `>-`, …) continued on the next lines. */
  block: boolean;
  /** A value follows on the same line (so nothing can nest under it). */
  hasValue: boolean;
}

/** A key: quoted, or plain up to the first `:` followed by a blank. */
const KEY_SRC = `("(?:[^"\\\\]|\\\\.)*"|'(?:[^']|'')*'|[^\\s#'"{}\\[\\],][^#]*?)`;
const KEY_AT_START = new RegExp(`^${KEY_SRC}[ \\t]*:(?=[ \\t]|$)`);
const BLOCK_HEADER = /^[|>][-+0-9]*[ \t]*(#.*)?$/;

function unquote(key: string): string {
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    try {
      return JSON.parse(key) as string;
    } catch {
      return key.slice(1, -1);
    }
  }
  if (key.length >= 2 && key.startsWith("'") && key.endsWith("'")) return key.slice(1, -1).replace(/''/g, "'");
  return key.trimEnd();
}

/** Leading spaces (YAML indents with spaces only; a tab-indented line is broken and skipped). */
function indentOf(text: string): number {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) === 32) i++;
  return i;
}

/** {@link indentOf} on a line of `text` without slicing it out. */
function rawIndent(text: string, start: number, end: number): number {
  let i = start;
  while (i < end && text.charCodeAt(i) === 32) i++;
  return i - start;
}

/**
 * The structural entries of a line; `null` for blank and comment lines and for lines that hold only
 * text (block scalar content, continuation lines), which never open a mapping.
 */
function lineEntries(text: string): Entry[] | null {
  let i = indentOf(text);
  if (i >= text.length || text[i] === '#' || text[i] === '\t') return null;
  if (text.startsWith('---', i) || text.startsWith('...', i)) return null;
  const out: Entry[] = [];
  while (text[i] === '-' && (i + 1 === text.length || text[i + 1] === ' ' || text[i + 1] === '\t')) {
    const col = i;
    i++;
    while (text[i] === ' ' || text[i] === '\t') i++;
    const rest = text.slice(i);
    // `- value` holds a scalar; `- key: …` and `- - …` open a node that continues below.
    out.push({ col, kind: 'item', block: BLOCK_HEADER.test(rest), hasValue: rest.length > 0 && !rest.startsWith('#') && !rest.startsWith('-') });
  }
  const m = KEY_AT_START.exec(text.slice(i));
  if (m) {
    const rest = text.slice(i + m[0].length).trim();
    if (out.length > 0) out[out.length - 1]!.hasValue = false;
    out.push({ col: i, kind: 'key', key: unquote(m[1]!), block: BLOCK_HEADER.test(rest), hasValue: rest.length > 0 && !rest.startsWith('#') });
  }
  return out.length > 0 ? out : null;
}

interface Upward {
  /** Ancestor keys and item indices, outermost first. */
  path: NodePath;
  /** Keys at the caret's level written above it in the same mapping. */
  siblings: Set<string>;
  /** The caret is inside a block scalar (or under a key that already has an inline value). */
  dead: boolean;
}

/**
 * Scan up from `lineNo` for the ancestors of a node at column `level`. When `itemCol` is given,
 * the caret's line itself opens a list item at that column (its index is counted here).
 */
function scanUp(parsed: ParsedTask, lineNo: number, level: number, itemCol?: number): Upward {
  const { lines, text: all } = parsed;
  type Seg = string | { count: number };
  const rev: Seg[] = [];
  const siblings = new Set<string>();
  let lvl = level;
  let collecting = itemCol === undefined;
  let pendingItem: { col: number; seg: { count: number } } | undefined;
  if (itemCol !== undefined) {
    const seg = { count: 0 };
    rev.push(seg);
    pendingItem = { col: itemCol, seg };
    lvl = itemCol;
  }
  for (let l = lineNo - 1; l >= 0; l--) {
    if (lvl === 0 && !pendingItem && !collecting) break;
    // Deeper lines are skipped before their text is even sliced out (no allocation).
    const start = lines.lineStart(l);
    const end = lines.lineEnd(l);
    const ind = rawIndent(all, start, end);
    if (ind > lvl || ind === end - start) continue; // deeper, or blank
    const entries = lineEntries(all.slice(start, end));
    if (!entries) continue;
    for (let e = entries.length - 1; e >= 0; e--) {
      const ent = entries[e]!;
      if (ent.col > lvl) continue;
      if (ent.col === lvl) {
        if (ent.kind === 'item' && pendingItem && pendingItem.col === lvl) {
          pendingItem.seg.count++;
          continue;
        }
        // `key:` with its list items at the same column (`checks:\n- id: a`) is their parent.
        const isSeqParent = ent.kind === 'key' && pendingItem !== undefined && pendingItem.col === lvl && !ent.hasValue;
        if (!isSeqParent) {
          if (collecting && ent.kind === 'key') siblings.add(ent.key!);
          continue;
        }
      }
      // An ancestor.
      if (ent.block || ent.hasValue) return { path: [], siblings, dead: true };
      collecting = false;
      pendingItem = undefined;
      if (ent.kind === 'key') rev.push(ent.key!);
      else {
        const seg = { count: 0 };
        rev.push(seg);
        pendingItem = { col: ent.col, seg };
      }
      lvl = ent.col;
    }
  }
  const path = rev.reverse().map((s) => (typeof s === 'string' ? s : s.count));
  return { path, siblings, dead: false };
}

/** Keys at column `level` written below `lineNo` in the same mapping. */
function scanDown(parsed: ParsedTask, lineNo: number, level: number, into: Set<string>): void {
  const { lines, text: all } = parsed;
  for (let l = lineNo + 1; l < lines.lineCount; l++) {
    const start = lines.lineStart(l);
    const end = lines.lineEnd(l);
    const ind = rawIndent(all, start, end);
    if (ind === end - start || ind > level) continue;
    const text = all.slice(start, end);
    if (text[ind] === '#' || text[ind] === '\t') continue;
    const entries = lineEntries(text);
    if (!entries) {
      if (ind < level) return;
      continue;
    }
    if (entries[0]!.col < level) return;
    for (const ent of entries) if (ent.col === level && ent.kind === 'key') into.add(ent.key!);
  }
}

// ---------------------------------------------------------------------------------------------
// Context at the caret

interface KeyContext {
  kind: 'key';
  path: NodePath;
  /** Column where the key starts (children go two columns deeper). */
  col: number;
  present: Set<string>;
  replace: Span;
  /** A `:` already follows the word: insert the bare name. */
  hasColon: boolean;
  /** The caret's line opened a new list item (`- `) for this mapping. */
  freshItem: boolean;
  /** Inside a one-line `{ … }`: no multi-line snippets. */
  flow: boolean;
}

interface ValueContext {
  kind: 'value';
  path: NodePath;
  /** The value typed so far, up to the caret (without an opening quote). */
  typed: string;
  /** Offset where the typed value starts. */
  start: number;
  /** End of the token the caret is in. */
  end: number;
}

type Context = KeyContext | ValueContext;

const WORD_END = /^[^\s:#'"{}[\],]*/;
const VALUE_END = /^[^\s'"#,\]}]*/;

function analyze(doc: TaskDocument, offset: number): Context | undefined {
  const { lines } = doc.parsed;
  const pos = lines.positionAt(offset);
  const lineStart = lines.lineStart(pos.line);
  const text = lines.lineText(pos.line);
  const before = text.slice(0, pos.character);
  const after = text.slice(pos.character);
  if (/(^|\s)#/.test(before.replace(/"[^"]*"|'[^']*'/g, '""'))) return undefined; // in a comment

  // Leading `- ` markers open list items on this line.
  const dashCols: number[] = [];
  let i = indentOf(before);
  while (before[i] === '-' && (before[i + 1] === ' ' || before[i + 1] === '\t')) {
    dashCols.push(i);
    i++;
    while (before[i] === ' ' || before[i] === '\t') i++;
  }
  const rest = before.slice(i);
  const base = (level: number): Upward => scanUp(doc.parsed, pos.line, dashCols.length > 0 ? dashCols[0]! : level, dashCols.length > 0 ? dashCols[0] : undefined);
  const withItems = (up: Upward): NodePath => [...up.path, ...dashCols.slice(1).map(() => 0)];

  const flow = flowContext(rest, i, after, lineStart);
  if (flow === null) return undefined;
  if (flow) {
    const up = base(i);
    if (up.dead) return undefined;
    const ownerPath = [...withItems(up), ...(flow.owner !== undefined ? [flow.owner] : [])];
    if (flow.kind === 'value') return { kind: 'value', path: [...ownerPath, flow.key], typed: flow.typed, start: flow.start, end: flow.end };
    return { kind: 'key', path: ownerPath, col: 0, present: flow.present, replace: flow.replace, hasColon: flow.hasColon, freshItem: false, flow: true };
  }

  const kv = KEY_AT_START.exec(rest);
  if (kv) {
    // `key: value|`
    const up = base(i);
    if (up.dead) return undefined;
    let vStart = i + kv[0].length;
    while (before[vStart] === ' ' || before[vStart] === '\t') vStart++;
    if (vStart > before.length) return undefined;
    if (vStart === before.length && before.length === i + kv[0].length) return undefined; // `key:|` (no blank yet)
    let typed = before.slice(vStart);
    if (typed.startsWith('"') || typed.startsWith("'")) {
      typed = typed.slice(1);
      vStart++;
    }
    if (/^[|>[{&*!]/.test(typed)) return undefined;
    const end = offset + (VALUE_END.exec(after)?.[0].length ?? 0);
    return { kind: 'value', path: [...withItems(up), unquote(kv[1]!)], typed, start: lineStart + vStart, end };
  }

  if (!/^[^\s:#'"{}[\],]*$/.test(rest)) return undefined;
  // A (possibly empty) word where a key, a list item or a value on its own line may go.
  const col = i;
  const up = base(col);
  if (up.dead) return undefined;
  const present = new Set(dashCols.length > 0 ? [] : up.siblings);
  scanDown(doc.parsed, pos.line, col, present);
  const tail = WORD_END.exec(after)?.[0] ?? '';
  const hasColon = /^[ \t]*:/.test(after.slice(tail.length));
  return {
    kind: 'key',
    path: withItems(up),
    col,
    present,
    replace: { start: lineStart + col, end: offset + tail.length },
    hasColon,
    freshItem: dashCols.length > 0,
    flow: false,
  };
}

interface FlowKey {
  kind: 'key';
  owner?: string;
  present: Set<string>;
  replace: Span;
  hasColon: boolean;
}
interface FlowValue {
  kind: 'value';
  owner?: string;
  key: string;
  typed: string;
  start: number;
  end: number;
}

/**
 * `key: { a: 1, b|` on one line. Returns undefined when the caret is not inside braces, null when
 * it is somewhere completion has nothing to say (nested or quoted flow content).
 */
function flowContext(rest: string, restCol: number, after: string, lineStart: number): FlowKey | FlowValue | undefined | null {
  const brace = rest.indexOf('{');
  if (brace < 0) return undefined;
  const head = rest.slice(0, brace);
  const headKey = KEY_AT_START.exec(head);
  if (!(head.trim() === '' || (headKey && head.slice(headKey[0].length).trim() === ''))) {
    return head.includes('"') || head.includes("'") ? undefined : null;
  }
  const inner = rest.slice(brace + 1);
  if (/[{}[\]]/.test(inner)) return null;
  const closing = after.indexOf('}');
  const whole = inner + (closing >= 0 ? after.slice(0, closing) : after);
  const segStart = inner.lastIndexOf(',') + 1;
  const seg = inner.slice(segStart);
  const owner = headKey ? unquote(headKey[1]!) : undefined;
  const segCol = restCol + brace + 1 + segStart;
  const m = /^([ \t]*)([^\s:'"#,]+)[ \t]*:[ \t]*(["']?)(.*)$/.exec(seg);
  if (m) {
    const typedCol = segCol + seg.length - m[4]!.length;
    const end = lineStart + restCol + rest.length + (VALUE_END.exec(after)?.[0].length ?? 0);
    return { kind: 'value', owner, key: m[2]!, typed: m[4]!, start: lineStart + typedCol, end };
  }
  const w = /^([ \t]*)([^\s:'"#,]*)$/.exec(seg);
  if (!w) return null;
  const present = new Set<string>();
  for (const km of whole.matchAll(/(?:^|,)\s*([^\s:'"#,]+)\s*:/g)) present.add(km[1]!);
  const tail = WORD_END.exec(after)?.[0] ?? '';
  const wordCol = segCol + w[1]!.length;
  present.delete(w[2]! + tail);
  return {
    kind: 'key',
    owner,
    present,
    replace: { start: lineStart + wordCol, end: lineStart + restCol + rest.length + tail.length },
    hasColon: /^[ \t]*:/.test(after.slice(tail.length)),
  };
}

// ---------------------------------------------------------------------------------------------
// Snippets

/** String fields whose values are naturally multi-line: inserted as `key: |` blocks. */
const BLOCK_FIELDS = new Set(['intent', 'python', 'script']);

function esc(text: string): string {
  return text.replace(/[$}\\]/g, '\\$&');
}
function escChoice(text: string): string {
  return text.replace(/[$}\\,|]/g, '\\$&');
}

function scalarText(v: unknown): string {
  if (typeof v === 'string') return /^[\w./@+-][\w./@:+ -]*$/.test(v) && !/: /.test(v) && !/^(true|false|null|~|[\d.+-]+)$/i.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

type Shape = 'object' | 'record' | 'array' | 'scalar';

function shapeOf(s: SchemaInfo): Shape {
  const t = s.types;
  if (s.variants || (s.properties && !t.includes('string'))) return 'object';
  if (t.includes('array')) return 'array';
  if (t.includes('object') && !t.includes('string') && !t.includes('number')) return s.properties ? 'object' : 'record';
  return 'scalar';
}

interface SnippetState {
  n: number;
}

/**
 * `name: …` for a key at column `col`, with required children (recursively) as placeholders.
 * `flow` keeps everything on one line.
 */
function keySnippet(name: string, s: SchemaInfo, col: number, st: SnippetState, flow: boolean): string {
  const ind = ' '.repeat(col + 2);
  if (s.enum) {
    if (s.enum.length === 1) return `${name}: ${esc(scalarText(s.enum[0]))}`;
    return `${name}: \${${st.n++}|${s.enum.map((v) => escChoice(scalarText(v))).join(',')}|}`;
  }
  const shape = shapeOf(s);
  if (flow) {
    if (shape === 'object' || shape === 'record') return `${name}: { \${${st.n++}} }`;
    if (shape === 'array') return `${name}: [\${${st.n++}}]`;
  }
  if (shape === 'object') {
    const req = (s.required ?? []).filter((k) => s.properties?.[k]);
    if (req.length === 0) return `${name}:\n${ind}\${${st.n++}}`;
    return `${name}:\n` + req.map((k) => ind + keySnippet(k, s.properties![k]!, col + 2, st, false)).join('\n');
  }
  if (shape === 'record') return `${name}:\n${ind}\${${st.n++}}`;
  if (shape === 'array') {
    const item = s.items;
    if (item && shapeOf(item) === 'object' && !item.variants) {
      const req = (item.required ?? []).filter((k) => item.properties?.[k]);
      if (req.length > 0) {
        const lines = req.map((k, j) => (j === 0 ? '' : ' '.repeat(col + 4)) + keySnippet(k, item.properties![k]!, col + 4, st, false));
        return `${name}:\n${ind}- ${lines.join('\n')}`;
      }
    }
    return `${name}:\n${ind}- \${${st.n++}}`;
  }
  if (s.types.length === 1 && s.types[0] === 'boolean') return `${name}: \${${st.n++}|true,false|}`;
  if (BLOCK_FIELDS.has(name)) return `${name}: |\n${ind}\${${st.n++}}`;
  const example = s.examples?.find((e) => typeof e === 'string' || typeof e === 'number');
  const numeric = s.types.length > 0 && s.types.every((t) => t === 'number' || t === 'integer');
  const hint = example !== undefined ? scalarText(example) : s.format ? 'path' : numeric ? '1' : name;
  return `${name}: \${${st.n++}:${esc(hint)}}`;
}

/** Whether inserting `name: ` and re-triggering completion offers good values (paths, enums). */
function valueCompletes(s: SchemaInfo): boolean {
  return !!s.format || !!s.enum || (s.examples?.length ?? 0) > 0 || s.types.includes('boolean');
}

// ---------------------------------------------------------------------------------------------
// Items

function docOf(s: SchemaInfo): string | undefined {
  return s.description;
}

function keyItems(ctx: KeyContext, info: SchemaInfo, parsed: ParsedTask): CompletionItem[] {
  const out: CompletionItem[] = [];
  const options = keyOptions(info, ctx.present);
  const variantChosen = !!variantFor(info, ctx.present);
  const isCheck = !!info.variants;
  options.forEach((opt: KeyOption, idx) => {
    if (ctx.present.has(opt.name) || isExtensionKey(opt.name)) return;
    const group = opt.required ? 0 : opt.discriminator ? 1 : 2;
    const sortText = `${group}${String(idx).padStart(3, '0')}`;
    const base = {
      label: opt.name,
      replace: ctx.replace,
      detail: opt.discriminator ? `check kind: ${typeLabel(opt.schema)}` : typeLabel(opt.schema),
      documentation: docOf(opt.schema) ?? '',
      sortText,
      filterText: opt.name,
    };
    if (ctx.hasColon) {
      out.push({ ...base, kind: 'property', insertText: opt.name });
      return;
    }
    if (opt.discriminator && isCheck && !variantChosen && !ctx.present.has('id')) {
      out.push({ ...base, kind: 'snippet', isSnippet: true, insertText: kindSnippet(ctx, opt, parsed) });
      return;
    }
    const shape = shapeOf(opt.schema);
    if (!ctx.flow && shape === 'scalar' && !opt.schema.enum && !BLOCK_FIELDS.has(opt.name) && valueCompletes(opt.schema) && !opt.schema.types.includes('boolean')) {
      // Values of this key complete on their own (paths, examples): insert the key and ask again.
      out.push({ ...base, kind: 'property', insertText: `${opt.name}: `, retrigger: true });
      return;
    }
    if (!ctx.flow && shape === 'array' && opt.schema.items?.variants) {
      // `checks:` → a fresh `- ` item, and completion again offers the check kinds.
      out.push({ ...base, kind: 'property', insertText: `${opt.name}:\n${' '.repeat(ctx.col + 2)}- `, retrigger: true });
      return;
    }
    const text = keySnippet(opt.name, opt.schema, ctx.col, { n: 1 }, ctx.flow);
    out.push({ ...base, kind: 'property', isSnippet: true, insertText: text });
  });
  return out;
}

/** A check kind: with `id: …` first when the item has none yet. */
function kindSnippet(ctx: KeyContext, opt: KeyOption, parsed: ParsedTask): string {
  const st = { n: 1 };
  let head = '';
  if (!ctx.present.has('id')) {
    const id = uniqueCheckId(parsed, opt.name);
    head = ctx.flow ? `id: \${${st.n++}:${esc(id)}}, ` : `id: \${${st.n++}:${esc(id)}}\n${' '.repeat(ctx.col)}`;
  }
  return head + keySnippet(opt.name, opt.schema, ctx.col, st, ctx.flow);
}

/** Check ids in use, per parsed tree (a completion request offers a dozen kinds). */
const checkIdsMemo = new WeakMap<ParsedTask, Set<string>>();

function uniqueCheckId(parsed: ParsedTask, kind: string): string {
  let ids = checkIdsMemo.get(parsed);
  if (!ids) {
    ids = new Set<string>();
    const checks = get(parsed.value, 'verifier', 'checks');
    if (Array.isArray(checks)) for (const c of checks) if (typeof get(c, 'id') === 'string') ids.add(get(c, 'id') as string);
    checkIdsMemo.set(parsed, ids);
  }
  const stem = kind.replace(/_/g, '-');
  for (let n = 1; ; n++) if (!ids.has(`${stem}-${n}`)) return `${stem}-${n}`;
}

/** Under an array key on a fresh line: `- ` items (one per check kind for checks). */
function arrayItems(ctx: KeyContext, info: SchemaInfo, parsed: ParsedTask): CompletionItem[] {
  const item = info.items;
  if (!item || ctx.hasColon || ctx.flow) return [];
  const itemCtx: KeyContext = { ...ctx, col: ctx.col + 2, present: new Set(), freshItem: true };
  if (item.variants) {
    return keyOptions(item)
      .filter((o) => o.discriminator)
      .map((o, idx) => ({
        label: `- ${o.name}`,
        kind: 'snippet' as const,
        isSnippet: true,
        insertText: `- ${kindSnippet(itemCtx, o, parsed)}`,
        replace: ctx.replace,
        detail: `new check: ${typeLabel(o.schema)}`,
        documentation: docOf(o.schema) ?? '',
        sortText: `1${String(idx).padStart(3, '0')}`,
      }));
  }
  if (shapeOf(item) === 'object') {
    const req = (item.required ?? []).filter((k) => item.properties?.[k]);
    const st = { n: 1 };
    const lines = req.map((k, j) => (j === 0 ? '' : ' '.repeat(ctx.col + 2)) + keySnippet(k, item.properties![k]!, ctx.col + 2, st, false));
    return [
      {
        label: `- ${req.join(', ') || 'item'}`,
        kind: 'snippet',
        isSnippet: true,
        insertText: `- ${lines.join('\n') || '$1'}`,
        replace: ctx.replace,
        detail: `new item: ${typeLabel(item)}`,
        documentation: docOf(item) ?? '',
        sortText: '1000',
      },
    ];
  }
  return [];
}

function valueItems(ctx: ValueContext, info: SchemaInfo, doc: TaskDocument, fs: FileSystemHost, token: Cancellation): CompletionItem[] {
  const replace: Span = { start: ctx.start, end: Math.max(ctx.end, ctx.start) };
  const out: CompletionItem[] = [];
  const described = info.description ?? '';
  if (info.enum) {
    info.enum.forEach((v, idx) => {
      // The label is the value; the inserted text is quoted where YAML would read it otherwise.
      const label = typeof v === 'string' ? v : JSON.stringify(v);
      out.push({ label, kind: 'enum', insertText: scalarText(v), replace, detail: typeLabel(info), documentation: described, sortText: `0${String(idx).padStart(3, '0')}`, filterText: label });
    });
    return out;
  }
  if (info.types.includes('boolean')) {
    for (const v of ['true', 'false']) out.push({ label: v, kind: 'keyword', insertText: v, replace, detail: 'boolean', documentation: described });
  }
  if (ctx.path.length === 1 && ctx.path[0] === 'id') {
    // A task's id is its file (or ClawGym folder) name by convention.
    const stem = nodePath.basename(doc.uri).replace(/\.clawtask$/, '');
    const folder = doc.dir ? nodePath.basename(doc.dir) : '';
    for (const cand of [stem, folder]) {
      if (cand && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(cand) && !out.some((o) => o.label === cand)) {
        out.push({ label: cand, kind: 'value', insertText: cand, replace, detail: 'from the file name', documentation: described, sortText: `1${cand}` });
      }
    }
  }
  if (info.format === 'workspace-path') out.push(...workspacePaths(doc, replace, fs, token, ctx.path));
  else if (info.format === 'task-path') out.push(...diskPaths(ctx, doc, fs, isFromDirPath(ctx.path)));
  for (const ex of info.examples ?? []) {
    if (typeof ex !== 'string' && typeof ex !== 'number') continue;
    const text = scalarText(ex);
    if (out.some((o) => o.label === text || o.label === `${text}/`)) continue;
    out.push({ label: text, kind: 'value', insertText: text, replace, detail: 'example', documentation: described, sortText: `5${text}` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Paths

const MAX_DIR_ENTRIES = 2000;
const MAX_DIR_DEPTH = 8;

function get(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** `workspace.from_dir` (string form) or `workspace.from_dir.path`: values that must be folders. */
function isFromDirPath(path: NodePath): boolean {
  const n = path.length;
  return (n === 2 && path[1] === 'from_dir') || (n === 3 && path[1] === 'from_dir' && path[2] === 'path');
}

function isSafeRelative(p: string): boolean {
  return p !== '' && !p.startsWith('/') && !p.split('/').includes('..');
}

let pathKindsMemo: Set<string> | undefined;
/** Check kinds whose value is itself a workspace path (`file_exists: PATH`). */
function pathKinds(): Set<string> {
  pathKindsMemo ??= new Set(CHECK_KIND_NAMES.filter((k) => schemaAt(['verifier', 'checks', 0, k])?.format === 'workspace-path'));
  return pathKindsMemo;
}

/**
 * Paths inside the workspace: `workspace.files` keys, the `from_dir` folder's tree on disk, paths
 * other checks and the rubric already use, and paths the intent mentions (the outputs it asks for).
 * Folders are offered too, with a trailing `/`.
 */
function workspacePaths(doc: TaskDocument, replace: Span, fs: FileSystemHost, token: Cancellation, selfPath: NodePath): CompletionItem[] {
  const found = new Map<string, string>(); // path -> where it comes from
  const add = (p: string, source: string): void => {
    const clean = p.replace(/^\.\//, '');
    if (!isSafeRelative(clean) || found.has(clean)) return;
    found.set(clean, source);
  };
  // workspace.files keys, from the tree (they survive a broken value next to them).
  const files = lookupPath(doc.parsed, ['workspace', 'files']);
  if (files.depth === 2 && isMap(files.node)) {
    for (const pair of files.node.items) if (isScalar(pair.key) && typeof pair.key.value === 'string') add(pair.key.value, 'workspace.files');
  }
  // from_dir on disk: `PATH` lands in the root, `{ path, to }` under `to/`.
  const fromDirValue = get(doc.parsed.value, 'workspace', 'from_dir');
  const fromDir = typeof fromDirValue === 'string' ? fromDirValue : get(fromDirValue, 'path');
  const toValue = typeof fromDirValue === 'string' ? undefined : get(fromDirValue, 'to');
  const to = typeof toValue === 'string' ? toValue.replace(/^\.\/|\/+$/g, '') : '';
  if (typeof fromDir === 'string' && doc.dir && isSafeRelative(fromDir) && (to === '' || to === '.' || isSafeRelative(to))) {
    const rootDir = nodePath.join(doc.dir, fromDir);
    const prefix = to === '' || to === '.' ? '' : `${to}/`;
    const source = `from_dir (${fromDir})`;
    if (prefix) add(prefix, source);
    let budget = MAX_DIR_ENTRIES;
    const walk = (abs: string, rel: string, depth: number): void => {
      if (depth > MAX_DIR_DEPTH || budget <= 0 || token.isCancellationRequested) return;
      for (const e of fs.readDir(abs)) {
        if (budget-- <= 0) return;
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) {
          add(`${prefix}${r}/`, source);
          walk(nodePath.join(abs, e.name), r, depth + 1);
        } else add(`${prefix}${r}`, source);
      }
    };
    walk(rootDir, '', 0);
  }
  // Paths other checks and rubric items use (the outputs the task is about).
  const value = doc.parsed.value;
  const checks = get(value, 'verifier', 'checks');
  const selfIndex = selfPath[0] === 'verifier' && selfPath[1] === 'checks' ? selfPath[2] : undefined;
  if (Array.isArray(checks)) {
    checks.forEach((c, i) => {
      if (i === selfIndex) return;
      if (!c || typeof c !== 'object') return;
      for (const kind of CHECK_KIND_NAMES) {
        const v = (c as Record<string, unknown>)[kind];
        if (v === undefined) continue;
        const p = typeof v === 'string' ? (pathKinds().has(kind) ? v : undefined) : get(v, 'path');
        const id = get(c, 'id');
        if (typeof p === 'string') add(p, `used by check \`${typeof id === 'string' ? id : i}\``);
      }
    });
  }
  const rubric = get(value, 'verifier', 'rubric');
  if (Array.isArray(rubric)) for (const r of rubric) if (typeof get(r, 'file') === 'string') add(get(r, 'file') as string, 'used by the rubric');
  const intent = get(value, 'intent');
  if (typeof intent === 'string') {
    for (const m of intent.slice(0, 20_000).matchAll(/(?:^|[\s`'"(<])((?:[\w.-]+\/)+[\w.-]*)/g)) {
      const p = m[1]!.replace(/[.]+$/, '');
      if (/[A-Za-z]/.test(p) && !/^https?:|^www\./.test(p)) add(p, 'mentioned in the intent');
    }
  }
  // Every folder of a known path is a path too.
  for (const p of [...found.keys()]) {
    const parts = p.split('/').filter(Boolean);
    for (let k = 1; k < parts.length; k++) add(`${parts.slice(0, k).join('/')}/`, found.get(p)!);
  }
  const out: CompletionItem[] = [];
  for (const [p, source] of found) {
    const folder = p.endsWith('/');
    out.push({
      label: p,
      kind: folder ? 'folder' : 'file',
      insertText: p,
      replace,
      detail: source,
      sortText: `${source.startsWith('workspace') || source.startsWith('from_dir') ? 1 : 2}${p}`,
      ...(folder ? { retrigger: true } : {}),
    });
  }
  return out;
}

/** Paths on disk relative to the task file, one segment at a time (`files/` lists inside files/). */
function diskPaths(ctx: ValueContext, doc: TaskDocument, fs: FileSystemHost, foldersOnly: boolean): CompletionItem[] {
  if (!doc.dir) return [];
  const slash = ctx.typed.lastIndexOf('/');
  const dirPart = slash >= 0 ? ctx.typed.slice(0, slash + 1) : '';
  const segment = ctx.typed.slice(slash + 1);
  if (dirPart.startsWith('/') || dirPart.split('/').includes('..')) return [];
  const replace: Span = { start: ctx.start + dirPart.length, end: Math.max(ctx.end, ctx.start + dirPart.length) };
  const self = nodePath.basename(doc.uri);
  const out: CompletionItem[] = [];
  const dirAbs = nodePath.join(doc.dir, dirPart).replace(/(.)[\\/]+$/, '$1');
  for (const e of fs.readDir(dirAbs)) {
    if (e.name.startsWith('.') && !segment.startsWith('.')) continue;
    if (!e.isDirectory && (foldersOnly || (dirPart === '' && e.name === self))) continue;
    const name = e.isDirectory ? `${e.name}/` : e.name;
    out.push({
      label: name,
      kind: e.isDirectory ? 'folder' : 'file',
      insertText: name,
      replace,
      detail: `${dirPart}${name}`,
      sortText: `${e.isDirectory ? 0 : 1}${e.name}`,
      filterText: name,
      ...(e.isDirectory ? { retrigger: true } : {}),
    });
    if (out.length >= MAX_DIR_ENTRIES) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Entry point

function outsideSchema(path: NodePath): boolean {
  return path[0] === 'metadata' || path.some((s) => typeof s === 'string' && isExtensionKey(s));
}

/**
 * Completion items at `offset`. Never throws: an unexpected failure gives no items.
 */
export function complete(doc: TaskDocument, offset: number, fs: FileSystemHost, token?: Cancellation): CompletionItem[] {
  try {
    const ctx = analyze(doc, offset);
    if (!ctx || token?.isCancellationRequested) return [];
    if (outsideSchema(ctx.path)) return [];
    const info = schemaAt(ctx.path);
    if (!info) return [];
    const never: Cancellation = token ?? { isCancellationRequested: false };
    if (ctx.kind === 'value') return valueItems(ctx, info, doc, fs, never);
    const shape = shapeOf(info);
    if (shape === 'object' || (info.properties && !ctx.freshItem)) return keyItems(ctx, info, doc.parsed);
    if (shape === 'array' && !ctx.freshItem) return arrayItems(ctx, info, doc.parsed);
    if (shape === 'scalar' && !ctx.flow) {
      // A value on its own line under `key:` (or a list item of scalars).
      const start = ctx.replace.start;
      return valueItems({ kind: 'value', path: ctx.path, typed: doc.parsed.text.slice(start, offset), start, end: ctx.replace.end }, info, doc, fs, never);
    }
    return [];
  } catch {
    return [];
  }
}

/**
 * Document structure: the outline (document symbols) and folding ranges.
 *
 * The outline is a task's outline, not a YAML dump: workspace files are listed by path, checks and
 * rubric items by their `id` with their kind as detail, the intent by its first line. Unknown or
 * free-form sections fall back to a generic key/value outline. Both features work on whatever
 * tree the tolerant parser produced, so a half-typed document still has an outline.
 */
import { CHECK_KIND_NAMES } from '../model/schema';
import { isMap, isScalar, isSeq, type Pair, type ParsedTask, type Span, type YamlNode } from '../syntax';
import { contentEnd, pairEnd } from './edits';
import type { DocumentSymbol, FoldingRange, SymbolKind, TaskDocument } from './types';

const MAX_DETAIL = 80;
/** Generic sections (metadata, env, …) are outlined this deep; deeper levels are noise. */
const MAX_GENERIC_DEPTH = 4;

export function documentSymbols(doc: TaskDocument): DocumentSymbol[] {
  try {
    const root = doc.parsed.doc.contents;
    if (!isMap(root)) return [];
    const out: DocumentSymbol[] = [];
    for (const pair of root.items) {
      const sym = topLevelSymbol(doc.parsed, pair);
      if (sym) out.push(sym);
    }
    return out;
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Outline

function topLevelSymbol(parsed: ParsedTask, pair: Pair<unknown, unknown>): DocumentSymbol | undefined {
  const key = keyName(pair);
  if (key === undefined) return undefined;
  const value = pair.value;
  switch (key) {
    case 'intent': {
      const sym = pairSymbol(parsed, pair, key, 'string');
      if (sym && isScalar(value)) sym.detail = firstLine(value.value);
      return sym;
    }
    case 'workspace':
      return sectionSymbol(parsed, pair, key, (k, p) => (k === 'files' ? filesSymbol(parsed, p) : genericPairSymbol(parsed, p, 1)));
    case 'verifier':
      return sectionSymbol(parsed, pair, key, (k, p) => {
        if (k === 'checks') return listSymbol(parsed, p, 'checks', checkSymbol);
        if (k === 'rubric') return listSymbol(parsed, p, 'rubric', rubricSymbol);
        return genericPairSymbol(parsed, p, 1);
      });
    default:
      return genericPairSymbol(parsed, pair, 0);
  }
}

/** A mapping section whose children are outlined by `child`. */
function sectionSymbol(
  parsed: ParsedTask,
  pair: Pair<unknown, unknown>,
  name: string,
  child: (key: string, pair: Pair<unknown, unknown>) => DocumentSymbol | undefined,
): DocumentSymbol | undefined {
  const sym = pairSymbol(parsed, pair, name, 'object');
  if (!sym) return undefined;
  if (isMap(pair.value)) {
    for (const p of pair.value.items) {
      const k = keyName(p);
      const c = k === undefined ? undefined : child(k, p);
      if (c) sym.children.push(c);
    }
  } else {
    sym.kind = kindOf(pair.value);
    sym.detail = scalarDetail(pair.value);
  }
  return sym;
}

/** `files:` lists each workspace file by its path, with where its content comes from. */
function filesSymbol(parsed: ParsedTask, pair: Pair<unknown, unknown>): DocumentSymbol | undefined {
  return sectionSymbol(parsed, pair, 'files', (path, p) => {
    const sym = pairSymbol(parsed, p, path, 'file');
    if (!sym) return undefined;
    const v = p.value;
    if (isMap(v)) {
      const from = v.items.find((q) => keyName(q) === 'from');
      sym.detail = from && isScalar(from.value) ? `from ${String(from.value.value)}` : undefined;
    } else if (isScalar(v) && typeof v.value === 'string') {
      const lines = v.value.replace(/\n$/, '').split('\n').length;
      sym.detail = v.value === '' ? 'empty' : lines > 1 ? `inline, ${lines} lines` : 'inline';
    }
    return sym;
  });
}

/** `checks:` / `rubric:`: a list whose items are outlined by `item`. */
function listSymbol(
  parsed: ParsedTask,
  pair: Pair<unknown, unknown>,
  name: string,
  item: (parsed: ParsedTask, node: unknown, index: number) => DocumentSymbol | undefined,
): DocumentSymbol | undefined {
  const sym = pairSymbol(parsed, pair, name, 'array');
  if (!sym) return undefined;
  if (isSeq(pair.value)) {
    pair.value.items.forEach((node, i) => {
      const c = item(parsed, node, i);
      if (c) sym.children.push(c);
    });
    sym.detail = `${pair.value.items.length}`;
  }
  return sym;
}

/** A check: named by its `id`, its kind as detail. */
function checkSymbol(parsed: ParsedTask, node: unknown, index: number): DocumentSymbol | undefined {
  const sym = idItemSymbol(parsed, node, index, 'check');
  if (!sym || !isMap(node)) return sym;
  const kinds = node.items.map(keyName).filter((k): k is string => k !== undefined && (CHECK_KIND_NAMES as string[]).includes(k));
  sym.detail = kinds.length > 0 ? kinds.join(', ') : 'no check kind';
  return sym;
}

/** A rubric item: named by its `id`, its file (or "final reply") as detail. */
function rubricSymbol(parsed: ParsedTask, node: unknown, index: number): DocumentSymbol | undefined {
  const sym = idItemSymbol(parsed, node, index, 'event');
  if (!sym || !isMap(node)) return sym;
  const file = node.items.find((p) => keyName(p) === 'file');
  sym.detail = file && isScalar(file.value) && file.value.value != null ? `rubric: ${String(file.value.value)}` : 'rubric: final reply';
  return sym;
}

/** A list item named by its `id` (selection: the id value), or `#n` when it has none yet. */
function idItemSymbol(parsed: ParsedTask, node: unknown, index: number, kind: SymbolKind): DocumentSymbol | undefined {
  const span = nodeContentSpan(parsed, node);
  if (!span) return undefined;
  let name = `#${index + 1}`;
  let selectionSpan = firstLineSpan(parsed, span);
  if (isMap(node)) {
    const id = node.items.find((p) => keyName(p) === 'id');
    const idNode = id?.value as YamlNode | null | undefined;
    if (id && isScalar(idNode) && idNode.value != null && String(idNode.value) !== '' && idNode.range) {
      name = String(idNode.value);
      selectionSpan = { start: idNode.range[0], end: idNode.range[1] };
    } else {
      const firstKey = node.items[0]?.key as YamlNode | null | undefined;
      if (firstKey?.range) selectionSpan = { start: firstKey.range[0], end: firstKey.range[1] };
    }
  }
  return { name, kind, span, selectionSpan, children: [] };
}

/** Any entry: mappings become objects with children, lists arrays, scalars show their value. */
function genericPairSymbol(parsed: ParsedTask, pair: Pair<unknown, unknown>, depth: number): DocumentSymbol | undefined {
  const key = keyName(pair);
  if (key === undefined) return undefined;
  const v = pair.value;
  const sym = pairSymbol(parsed, pair, key, kindOf(v));
  if (!sym) return undefined;
  sym.detail = scalarDetail(v);
  if (depth < MAX_GENERIC_DEPTH) sym.children = genericChildren(parsed, v, depth + 1);
  return sym;
}

function genericChildren(parsed: ParsedTask, v: unknown, depth: number): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  if (isMap(v)) {
    for (const p of v.items) {
      const c = genericPairSymbol(parsed, p, depth);
      if (c) out.push(c);
    }
  } else if (isSeq(v) && v.items.some((i) => isMap(i) || isSeq(i))) {
    // Lists of scalars (`skills: [a, b]`) stay one symbol; lists of records get an entry each.
    v.items.forEach((item, i) => {
      const span = nodeContentSpan(parsed, item);
      if (!span) return;
      out.push({
        name: `[${i}]`,
        kind: kindOf(item),
        detail: scalarDetail(item),
        span,
        selectionSpan: firstLineSpan(parsed, span),
        children: depth < MAX_GENERIC_DEPTH ? genericChildren(parsed, item, depth + 1) : [],
      });
    });
  }
  return out;
}

/** A symbol for `key: value`: span from the key through the value, selection on the key. */
function pairSymbol(parsed: ParsedTask, pair: Pair<unknown, unknown>, name: string, kind: SymbolKind): DocumentSymbol | undefined {
  const key = pair.key as YamlNode | null;
  if (!key?.range) return undefined;
  const selectionSpan = { start: key.range[0], end: key.range[1] };
  const span = { start: key.range[0], end: Math.max(pairEnd(parsed.text, pair), key.range[1]) };
  return { name: name === '' ? '""' : name, kind, span, selectionSpan, children: [] };
}

function keyName(pair: Pair<unknown, unknown> | undefined): string | undefined {
  if (!pair || !isScalar(pair.key)) return undefined;
  const v = pair.key.value;
  return v == null ? undefined : String(v);
}

function kindOf(v: unknown): SymbolKind {
  if (isMap(v)) return 'object';
  if (isSeq(v)) return 'array';
  if (isScalar(v)) {
    if (typeof v.value === 'number') return 'number';
    if (typeof v.value === 'boolean') return 'boolean';
    if (typeof v.value === 'string') return 'string';
  }
  return 'key';
}

function scalarDetail(v: unknown): string | undefined {
  if (isScalar(v) && v.value != null) return firstLine(v.value);
  if (isSeq(v) && v.flow && v.items.every(isScalar)) return truncate(v.items.map((i) => String((i as { value: unknown }).value)).join(', '));
  return undefined;
}

function firstLine(v: unknown): string | undefined {
  if (v == null) return undefined;
  const s = String(v);
  const line = s.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return truncate(line.trim());
}

function truncate(s: string): string {
  return s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL - 1)}…` : s;
}

function nodeContentSpan(parsed: ParsedTask, node: unknown): Span | undefined {
  const r = (node as YamlNode | null)?.range;
  if (!r) return undefined;
  return { start: r[0], end: Math.max(contentEnd(parsed.text, r[0], r[1]), r[0]) };
}

function firstLineSpan(parsed: ParsedTask, span: Span): Span {
  const line = parsed.lines.positionAt(span.start).line;
  return { start: span.start, end: Math.max(span.start, Math.min(span.end, parsed.lines.lineEnd(line))) };
}

// ---------------------------------------------------------------------------------------------
// Folding

const REGION_START = /^\s*#\s*region\b/i;
const REGION_END = /^\s*#\s*endregion\b/i;

/**
 * Folding ranges: multi-line entries and list items (key line to the last non-blank line of the
 * value, block scalars included), runs of comment lines, and `# region` / `# endregion` pairs.
 * Zero-based inclusive lines, sorted, at most one range per start line (the outermost).
 */
export function foldingRanges(doc: TaskDocument): FoldingRange[] {
  try {
    const parsed = doc.parsed;
    const lines = parsed.lines;
    const text = parsed.text;
    const byStart = new Map<number, FoldingRange>();
    const add = (r: FoldingRange): void => {
      if (r.endLine <= r.startLine) return;
      const prev = byStart.get(r.startLine);
      if (!prev || r.endLine > prev.endLine) byStart.set(r.startLine, r);
    };
    /** Lines inside multi-line scalars, where `#` is content, not a comment. */
    const scalarLines: [number, number][] = [];
    const lineOf = (offset: number): number => lines.positionAt(offset).line;
    const lastLine = (start: number, end: number): number => lineOf(Math.max(contentEnd(text, start, end) - 1, start));

    const walk = (node: unknown, depth: number): void => {
      if (depth > 200) return;
      if (isMap(node)) {
        for (const pair of node.items) {
          const k = (pair.key as YamlNode | null)?.range;
          const v = (pair.value as YamlNode | null)?.range;
          const start = k?.[0] ?? v?.[0];
          if (start !== undefined) add({ startLine: lineOf(start), endLine: lineOf(Math.max(pairEnd(text, pair) - 1, start)) });
          walk(pair.value, depth + 1);
        }
      } else if (isSeq(node)) {
        for (const item of node.items) {
          const r = (item as YamlNode | null)?.range;
          if (r) add({ startLine: lineOf(r[0]), endLine: lastLine(r[0], r[1]) });
          walk(item, depth + 1);
        }
      } else if (isScalar(node) && node.range) {
        const [s, e] = node.range;
        const first = lineOf(s);
        const last = lastLine(s, e);
        if (last > first) scalarLines.push([first + 1, last]);
      }
    };
    walk(parsed.doc.contents, 0);

    // Comments and regions: a line scan, skipping lines that belong to multi-line scalars.
    scalarLines.sort((a, b) => a[0] - b[0]);
    let si = 0;
    const regionStack: number[] = [];
    let runStart = -1;
    let runEnd = -1;
    const flushRun = (): void => {
      if (runStart >= 0 && runEnd > runStart) add({ startLine: runStart, endLine: runEnd, kind: 'comment' });
      runStart = runEnd = -1;
    };
    for (let line = 0; line < lines.lineCount; line++) {
      while (si < scalarLines.length && scalarLines[si]![1] < line) si++;
      const inScalar = si < scalarLines.length && scalarLines[si]![0] <= line && line <= scalarLines[si]![1];
      const t = inScalar ? '' : lines.lineText(line);
      const isComment = /^\s*#/.test(t);
      if (isComment && REGION_START.test(t)) {
        flushRun();
        regionStack.push(line);
      } else if (isComment && REGION_END.test(t)) {
        flushRun();
        const start = regionStack.pop();
        if (start !== undefined) add({ startLine: start, endLine: line, kind: 'region' });
      } else if (isComment) {
        if (runStart < 0) runStart = line;
        runEnd = line;
      } else {
        flushRun();
      }
    }
    flushRun();
    return [...byStart.values()].sort((a, b) => a.startLine - b.startLine);
  } catch {
    return [];
  }
}

/**
 * Shared state of one validation run and small helpers: how values are named in messages, how
 * paths become spans, and where diagnostics are collected.
 */
import { firstLineOf, isMap, lookupPath, nodeSpan, rootNode, spanForPath, type NodePath, type ParsedTask, type Span } from '../../syntax';
import type { Diagnostic, DiagnosticCode, DiagnosticData, Severity } from '../types';

export class Collector {
  readonly out: Diagnostic[] = [];
  constructor(readonly parsed: ParsedTask) {}

  add(span: Span, severity: Severity, code: DiagnosticCode, message: string, data?: DiagnosticData): void {
    const d: Diagnostic = { span, severity, code, message };
    if (data) d.data = data;
    this.out.push(d);
  }

  /** Span of the value at `path` (a block value is clipped to its first line). */
  valueSpan(path: NodePath): Span {
    return firstLineOf(this.parsed, spanForPath(this.parsed, path, 'value'));
  }

  /** Span of the key of the entry at `path` (the value when the entry is a sequence item). */
  keySpan(path: NodePath): Span {
    if (typeof path[path.length - 1] === 'number') return this.itemAnchor(path);
    return spanForPath(this.parsed, path, 'key');
  }

  /**
   * Where to report about a whole mapping at `path`: its entry's key, the first key of a list item,
   * or the first line of the document for the top level.
   */
  itemAnchor(path: NodePath): Span {
    if (path.length === 0) {
      const root = rootNode(this.parsed);
      const s = nodeSpan(root) ?? { start: 0, end: this.parsed.text.length };
      return firstLineOf(this.parsed, s);
    }
    if (typeof path[path.length - 1] === 'string') return spanForPath(this.parsed, path, 'key');
    const { node, depth } = lookupPath(this.parsed, path);
    if (depth === path.length && isMap(node) && node.items.length > 0) {
      const k = nodeSpan(node.items[0]!.key as Parameters<typeof nodeSpan>[0]);
      if (k) return k;
    }
    return this.valueSpan(path);
  }

  /** Zero-based line of an offset (for messages that point at another place). */
  lineOf(offset: number): number {
    return this.parsed.lines.positionAt(offset).line;
  }
}

/** Navigate plain data along a path; undefined when absent. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg];
    else if (isPlainObject(cur) && typeof seg !== 'symbol') cur = cur[String(seg)];
    else return undefined;
  }
  return cur;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** How a value reads in YAML terms: "a mapping", "a list", "an empty value", … */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(v) ? 'an integer' : 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a mapping';
    default:
      return typeof v;
  }
}

/** A zod `expected` type in YAML terms. */
export function describeExpected(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'a boolean (true or false)';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'array':
    case 'tuple':
    case 'set':
      return 'a list';
    case 'null':
      return 'an empty value';
    default:
      return expected;
  }
}

/** How a path is named in messages: the last key, or `key[i]` for list items. */
export function pathName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'the task';
  const last = path[path.length - 1]!;
  if (typeof last === 'number') {
    let i = path.length - 1;
    let idx = '';
    while (i >= 0 && typeof path[i] === 'number') {
      idx = `[${String(path[i])}]` + idx;
      i--;
    }
    return i >= 0 ? `\`${String(path[i])}${idx}\`` : `item ${idx}`;
  }
  return `\`${String(last)}\``;
}

/** A value quoted for a message, shortened. */
export function quote(v: unknown): string {
  let s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  s = s.replace(/\r?\n|\r/g, '⏎');
  if (s.length > 60) s = s.slice(0, 57) + '…';
  return '`' + s.replace(/`/g, "'") + '`';
}

export function list(names: readonly string[]): string {
  return names.map((n) => `\`${n}\``).join(', ');
}

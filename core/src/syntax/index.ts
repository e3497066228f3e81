/**
 * The only module that knows about the `yaml` package. Everything above it works with
 * {@link ParsedTask}, {@link SyntaxNode} paths and UTF-16 offsets.
 *
 * Offsets are indices into the JavaScript string, i.e. UTF-16 code units, which is exactly what
 * LSP positions count by default; {@link LineIndex} converts them to line/character pairs.
 */
import {
  type Alias,
  Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  Scalar,
  type Node as YamlNode,
  type Pair,
  YAMLMap,
  YAMLSeq,
  visit,
} from 'yaml';

export { isMap, isScalar, isSeq, isPair, Scalar, YAMLMap, YAMLSeq };
export type { YamlNode, Pair, Document };

/** A half-open range of UTF-16 offsets `[start, end)`. */
export interface Span {
  start: number;
  end: number;
}

/** A zero-based line and a UTF-16 character offset in that line (LSP's `Position`). */
export interface LineCol {
  line: number;
  character: number;
}

export type PathSegment = string | number;
export type NodePath = PathSegment[];

export interface YamlProblem {
  span: Span;
  message: string;
  /** The yaml package's error code, e.g. `BAD_INDENT`, `DUPLICATE_KEY`. */
  yamlCode: string;
  severity: 'error' | 'warning';
}

/**
 * Line starts of a text. Recognises `\n`, `\r\n` and `\r` as line breaks, as LSP does.
 */
export class LineIndex {
  private readonly starts: number[];
  constructor(private readonly text: string) {
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 /* \r */) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      } else if (c === 10 /* \n */) {
        starts.push(i + 1);
      }
    }
    this.starts = starts;
  }

  get lineCount(): number {
    return this.starts.length;
  }

  lineStart(line: number): number {
    return this.starts[Math.max(0, Math.min(line, this.starts.length - 1))]!;
  }

  /** The end of a line's content, before its line break. */
  lineEnd(line: number): number {
    if (line + 1 >= this.starts.length) return this.text.length;
    let end = this.starts[line + 1]!;
    if (end > 0 && this.text.charCodeAt(end - 1) === 10) end--;
    if (end > 0 && this.text.charCodeAt(end - 1) === 13) end--;
    return end;
  }

  lineText(line: number): string {
    return this.text.slice(this.lineStart(line), this.lineEnd(line));
  }

  positionAt(offset: number): LineCol {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.starts[lo]! };
  }

  offsetAt(pos: LineCol): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.starts.length) return this.text.length;
    const start = this.starts[pos.line]!;
    return Math.min(start + Math.max(0, pos.character), this.lineEnd(pos.line));
  }
}

export interface ParsedTask {
  readonly text: string;
  readonly lines: LineIndex;
  /** The yaml document; use the helpers below rather than reaching into it. */
  readonly doc: Document.Parsed;
  readonly syntaxErrors: YamlProblem[];
  /** The document as plain data (tolerant: broken parts become null/partial values). */
  readonly value: unknown;
}

/** Options shared by full and incremental parses (they must agree, or the trees would differ). */
export const YAML_OPTIONS = { prettyErrors: false, uniqueKeys: true, strict: true, logLevel: 'error' } as const;

/**
 * YAML 1.2 (and LSP) treat a lone CR as a line break; the yaml package does not. Replacing it by
 * LF keeps every offset, so spans still index the original text.
 */
export function normalizeLineBreaks(text: string): string {
  return text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
}

/** The yaml document of a text, parsed with the project's options. */
export function parseYaml(text: string): Document.Parsed {
  return parseDocument(normalizeLineBreaks(text), YAML_OPTIONS);
}

/** Parse a `.clawtask` text. Never throws: broken input gives a partial tree and syntax errors. */
export function parseTask(text: string): ParsedTask {
  return toParsedTask(text, parseYaml(text));
}

/** Wrap a yaml document parsed from `text` (errors converted, plain value computed). */
export function toParsedTask(text: string, doc: Document.Parsed): ParsedTask {
  const syntaxErrors: YamlProblem[] = [];
  for (const [list, severity] of [
    [doc.errors, 'error'],
    [doc.warnings, 'warning'],
  ] as const) {
    for (const e of list) {
      const [start, end] = e.pos;
      syntaxErrors.push({
        span: { start, end: Math.max(end, start) },
        message: e.message.split('\n')[0]!,
        yamlCode: e.code,
        severity,
      });
    }
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    value = null;
    const problem = aliasProblem(doc, e);
    if (problem) syntaxErrors.push(problem);
  }
  return { text, lines: new LineIndex(text), doc, syntaxErrors, value };
}

/** How many alias expansions a document may need (the yaml package's guard against "billion laughs"). */
export const MAX_ALIAS_COUNT = 100;

/**
 * Why converting the document to plain data failed, at the alias being expanded then: the alias
 * limit, or an alias the parser did not already report. Found by converting again with every alias
 * node's toJSON instrumented (a stack, so the innermost alias in progress is the culprit).
 */
function aliasProblem(doc: Document.Parsed, error: unknown): YamlProblem | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const limit = /Excessive alias count/.test(message);
  if (!limit && doc.errors.length > 0) return undefined; // already reported by the parser
  const stack: Alias[] = [];
  const patched: Alias[] = [];
  visit(doc, {
    Alias(_key, node) {
      const original = node.toJSON;
      node.toJSON = function (this: Alias, ...args: Parameters<Alias['toJSON']>) {
        stack.push(node);
        const result = original.apply(this, args);
        stack.pop();
        return result;
      };
      patched.push(node);
    },
  });
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    // expected: the same failure, now with the alias on top of the stack
  } finally {
    for (const node of patched) delete (node as { toJSON?: unknown }).toJSON;
  }
  const at = stack[stack.length - 1]?.range;
  const span = at ? { start: at[0], end: Math.max(at[1], at[0]) } : { start: 0, end: 0 };
  return {
    span,
    message: limit
      ? `the alias limit was exceeded: the aliases expand to more than ${MAX_ALIAS_COUNT} copies of their anchors (a "billion laughs" document); use fewer nested aliases`
      : `cannot expand this alias: ${message}`,
    yamlCode: limit ? 'ALIAS_LIMIT' : 'ALIAS_ERROR',
    severity: 'error',
  };
}

/** The span a node covers (value part, without trailing comments/whitespace). */
export function nodeSpan(node: YamlNode | null | undefined): Span | undefined {
  const r = node?.range;
  if (!r) return undefined;
  return { start: r[0], end: r[1] };
}

export function rootNode(parsed: ParsedTask): YamlNode | null {
  return (parsed.doc.contents as YamlNode | null) ?? null;
}

function childPair(map: YAMLMap, key: PathSegment): Pair<unknown, unknown> | undefined {
  for (const item of map.items) {
    const k = isScalar(item.key) ? item.key.value : item.key;
    if (k === key || (typeof key === 'number' && k === String(key))) return item;
  }
  return undefined;
}

export interface PathLookup {
  /** The deepest node reached along the path. */
  node: YamlNode | null;
  /** The key node of the last segment, when the path ends at a map entry. */
  keyNode: YamlNode | null;
  /** How many segments were resolved (equals path.length when the full path exists). */
  depth: number;
}

/** Resolve a path of keys and indices to the deepest existing node. */
export function lookupPath(parsed: ParsedTask, path: NodePath): PathLookup {
  let node = rootNode(parsed);
  let keyNode: YamlNode | null = null;
  let depth = 0;
  for (const seg of path) {
    if (node && isAlias(node)) node = (node.resolve(parsed.doc) as YamlNode | undefined) ?? null;
    if (isMap(node)) {
      const pair = childPair(node, seg);
      if (!pair) break;
      keyNode = (pair.key as YamlNode | null) ?? null;
      node = (pair.value as YamlNode | null) ?? null;
      depth++;
      if (!node) {
        // `key:` with no value: the key is as deep as we can go.
        break;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) break;
      keyNode = null;
      node = item;
      depth++;
    } else {
      break;
    }
  }
  return { node, keyNode, depth };
}

/**
 * The best span to report a problem at `path`:
 * - `at: 'key'` prefers the key of the last segment (unknown keys, duplicate ids);
 * - `at: 'value'` prefers the value (type errors), falling back to the key when the value is empty.
 * A path that only partly exists reports at the deepest existing key.
 */
export function spanForPath(parsed: ParsedTask, path: NodePath, at: 'key' | 'value' = 'value'): Span {
  const { node, keyNode, depth } = lookupPath(parsed, path);
  const full = depth === path.length;
  if (at === 'key' && keyNode && full) return nodeSpan(keyNode)!;
  if (full && node && node.range) {
    const s = nodeSpan(node)!;
    if (s.end > s.start) return s;
  }
  if (keyNode?.range) return nodeSpan(keyNode)!;
  if (node?.range) {
    const s = nodeSpan(node)!;
    // A whole map: point at its first line only, not at the whole block.
    return firstLineOf(parsed, s);
  }
  return firstLineOf(parsed, { start: 0, end: parsed.text.length });
}

/** Clip a span to the first line it starts on (never empty where the line has text). */
export function firstLineOf(parsed: ParsedTask, span: Span): Span {
  const { line } = parsed.lines.positionAt(span.start);
  const end = Math.min(span.end, parsed.lines.lineEnd(line));
  return { start: span.start, end: Math.max(end, span.start) };
}

/** Visit every node under `node` (pre-order): collections, then their keys and values / items. */
export function forEachNode(node: unknown, visit: (node: YamlNode) => void): void {
  if (node == null || typeof node !== 'object') return;
  if (isScalar(node) || isMap(node) || isSeq(node) || isAlias(node)) visit(node as YamlNode);
  if (isMap(node)) {
    for (const pair of node.items) {
      forEachNode(pair.key, visit);
      forEachNode(pair.value, visit);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) forEachNode(item, visit);
  }
}

/** Walk every map pair in the document (depth first) with its path. */
export function forEachPair(
  parsed: ParsedTask,
  visit: (pair: Pair<unknown, unknown>, path: NodePath, parentPath: NodePath) => void,
): void {
  const walk = (node: unknown, path: NodePath): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? pair.key.value : undefined;
        const seg = typeof k === 'string' || typeof k === 'number' ? k : String(k);
        const childPath = [...path, seg];
        visit(pair, childPath, path);
        walk(pair.value, childPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(parsed.doc.contents, []);
}

export interface NodeAtOffset {
  /** Path of the innermost map entry or sequence item containing the offset. */
  path: NodePath;
  /** Whether the offset is on a key, on a value, or in whitespace where a new key could go. */
  where: 'key' | 'value' | 'empty';
  node: YamlNode | null;
  pair?: Pair<unknown, unknown>;
}

/** Find the innermost node at an offset. Returns `path: []` at the top level. */
export function nodeAtOffset(parsed: ParsedTask, offset: number): NodeAtOffset {
  let best: NodeAtOffset = { path: [], where: 'empty', node: rootNode(parsed) };
  const within = (n: unknown): boolean => {
    const r = (n as YamlNode | null)?.range;
    return !!r && r[0] <= offset && offset <= r[1];
  };
  const walk = (node: unknown, path: NodePath): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? pair.key.value : undefined;
        const seg = typeof k === 'number' ? k : String(k);
        if (within(pair.key)) {
          best = { path: [...path, seg], where: 'key', node: pair.key as YamlNode, pair };
          return;
        }
        if (within(pair.value)) {
          best = { path: [...path, seg], where: 'value', node: pair.value as YamlNode, pair };
          walk(pair.value, [...path, seg]);
          return;
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        if (within(item)) {
          best = { path: [...path, i], where: 'value', node: item as YamlNode };
          walk(item, [...path, i]);
        }
      });
    }
  };
  walk(parsed.doc.contents, []);
  return best;
}

/** A key's text as written (for maps keyed by scalars). */
export function keyText(pair: Pair<unknown, unknown>): string | undefined {
  if (isScalar(pair.key)) return String(pair.key.value);
  return undefined;
}

/**
 * YAML text of plain data, for tools that write task files (the ClawGym importer). A `Map` keeps
 * its key order (a JS object puts integer-like keys such as `"0"`, `"1"` first); long lines are
 * never folded. Strings at paths where `literal(path)` is true are written as block scalars (`|`)
 * when YAML can hold them exactly, else double-quoted (CRLF line breaks, whitespace-only text):
 * either way the text parses back, with {@link parseYaml}, to the same string.
 */
export function stringifyYaml(value: unknown, literal?: (path: NodePath) => boolean): string {
  const convert = (v: unknown, path: NodePath): unknown => {
    if (typeof v === 'string' && literal?.(path)) return literalScalar(v);
    if (Array.isArray(v)) return v.map((x, i) => convert(x, [...path, i]));
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, convert(x, [...path, String(k)])]));
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return new Map(Object.entries(v).map(([k, x]) => [k, convert(x, [...path, k])]));
    }
    return v;
  };
  return new Document(convert(value, [])).toString({ lineWidth: 0, minContentWidth: 0 });
}

function literalScalar(text: string): Scalar {
  const s = new Scalar(text);
  s.type = Scalar.BLOCK_LITERAL;
  // The yaml package already falls back to quotes for some texts; check the rest by parsing back,
  // nested as a mapping value (a top-level block scalar reads differently with leading spaces).
  const back = parseYaml(new Document(new Map([['k', s]])).toString({ lineWidth: 0 })).toJS() as { k?: unknown } | null;
  if (back?.k !== text) s.type = Scalar.QUOTE_DOUBLE;
  return s;
}

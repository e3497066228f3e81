/**
 * YAML-aware text insertion for quick fixes: where a new entry goes, at which column, with which
 * line ending, and how a value is written so that the result parses to what was meant.
 *
 * Everything here works on the original text plus the syntax tree's offsets; nothing re-serialises
 * the document (that would lose comments and formatting).
 */
import {
  isMap,
  isScalar,
  isSeq,
  lookupPath,
  type NodePath,
  type Pair,
  type ParsedTask,
  type YamlNode,
  YAMLMap,
} from '../syntax';
import type { TextEdit } from './types';

// ---------------------------------------------------------------------------------------------
// Values to write

/** A value to insert, written as block or flow YAML depending on where it goes. */
export type YamlValue =
  | { kind: 'scalar'; value: string | number | boolean | null }
  | { kind: 'map'; entries: [string, YamlValue][] }
  | { kind: 'seq'; items: YamlValue[] };

export const scalar = (value: string | number | boolean | null): YamlValue => ({ kind: 'scalar', value });
export const map = (entries: [string, YamlValue][]): YamlValue => ({ kind: 'map', entries });
export const seq = (items: YamlValue[]): YamlValue => ({ kind: 'seq', items });

/** Plain scalars that YAML (1.1 or 1.2) would read as something other than a string. */
const NOT_A_STRING = /^(?:~|null|true|false|yes|no|on|off|y|n|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|[-+]?\.(?:inf|nan)|0x[\da-f]+|0o[0-7]+)$/i;

/**
 * A scalar as YAML text. Strings stay plain when that is unambiguous in both block and flow
 * context (letters, digits, `_ . / -`, not starting with `-`), else double-quoted (JSON string
 * syntax is valid YAML double-quoted syntax).
 */
export function formatScalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value !== 'string') return String(value);
  if (/^[A-Za-z0-9_./][A-Za-z0-9_./-]*$/.test(value) && !NOT_A_STRING.test(value)) return value;
  return JSON.stringify(value);
}

/** A mapping key as YAML text (same rules as values). */
export const formatKey = (key: string): string => formatScalar(key);

/** A value in flow style, on one line: `{ a: 1, b: [] }`. */
export function renderFlow(v: YamlValue): string {
  switch (v.kind) {
    case 'scalar':
      return formatScalar(v.value);
    case 'map':
      return v.entries.length === 0 ? '{}' : `{ ${v.entries.map(([k, x]) => `${formatKey(k)}: ${renderFlow(x)}`).join(', ')} }`;
    case 'seq':
      return v.items.length === 0 ? '[]' : `[ ${v.items.map(renderFlow).join(', ')} ]`;
  }
}

/** How the document indents: the step for nested mappings and where `-` goes under its key. */
export interface IndentStyle {
  /** Columns a nested mapping is indented by (2 unless the document says otherwise). */
  unit: number;
  /** Columns a block sequence's `-` is indented from its key (0 or `unit`). */
  seq: number;
}

/**
 * Block lines (without line breaks) for `key: value` entries whose keys start at column `col`.
 * Empty collections are written in flow style (`{}` / `[]`).
 */
export function renderEntries(entries: [string, YamlValue][], col: number, style: IndentStyle): string[] {
  const lines: string[] = [];
  const pad = ' '.repeat(col);
  for (const [k, v] of entries) {
    const head = `${pad}${formatKey(k)}:`;
    if (v.kind === 'map' && v.entries.length > 0) {
      lines.push(head, ...renderEntries(v.entries, col + style.unit, style));
    } else if (v.kind === 'seq' && v.items.length > 0) {
      lines.push(head, ...renderItems(v.items, col + style.seq, style));
    } else {
      lines.push(`${head} ${renderFlow(v)}`);
    }
  }
  return lines;
}

/** Block sequence lines whose `-` is at column `col`. */
export function renderItems(items: YamlValue[], col: number, style: IndentStyle): string[] {
  const lines: string[] = [];
  const dash = `${' '.repeat(col)}- `;
  for (const item of items) {
    if (item.kind === 'map' && item.entries.length > 0) {
      // The first entry shares the `- ` line; the rest align with it.
      const inner = renderEntries(item.entries, col + 2, style);
      lines.push(dash + inner[0]!.slice(col + 2), ...inner.slice(1));
    } else {
      lines.push(dash + renderFlow(item));
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Reading the document's layout

/** The document's line break: CRLF when its first line break is one, else LF. */
export function lineEnding(text: string): '\n' | '\r\n' {
  const i = text.indexOf('\n');
  return i > 0 && text.charCodeAt(i - 1) === 13 ? '\r\n' : '\n';
}

export function column(parsed: ParsedTask, offset: number): number {
  return parsed.lines.positionAt(offset).character;
}

/** The document's indentation, from the first nested block mapping and block sequence found. */
export function indentStyle(parsed: ParsedTask): IndentStyle {
  let unit: number | undefined;
  let seqIndent: number | undefined;
  const visit = (node: unknown, depth: number): void => {
    if ((unit !== undefined && seqIndent !== undefined) || depth > 8) return;
    if (isMap(node)) {
      if (node.flow) return;
      for (const pair of node.items) {
        const k = pair.key as YamlNode | null;
        const v = pair.value as YamlNode | null;
        if (k?.range && v?.range) {
          const kc = column(parsed, k.range[0]);
          const vc = column(parsed, v.range[0]);
          const sameLine = parsed.lines.positionAt(k.range[0]).line === parsed.lines.positionAt(v.range[0]).line;
          if (!sameLine && isMap(v) && !v.flow && unit === undefined && vc > kc) unit = vc - kc;
          if (!sameLine && isSeq(v) && !v.flow && seqIndent === undefined && vc >= kc) seqIndent = vc - kc;
        }
        visit(v, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item, depth + 1);
    }
  };
  visit(parsed.doc.contents, 0);
  const u = unit ?? 2;
  return { unit: u, seq: seqIndent ?? u };
}

const isWhitespace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/** The offset just after the last non-whitespace character in `[start, end)` (or `start`). */
export function contentEnd(text: string, start: number, end: number): number {
  let e = Math.min(end, text.length);
  while (e > start && isWhitespace(text.charCodeAt(e - 1))) e--;
  return e;
}

/** The end of a pair's text (value, or key when the value is empty), without trailing whitespace. */
export function pairEnd(text: string, pair: Pair<unknown, unknown>): number {
  const k = (pair.key as YamlNode | null)?.range;
  const v = (pair.value as YamlNode | null)?.range;
  const start = k?.[0] ?? v?.[0] ?? 0;
  const end = Math.max(k?.[1] ?? 0, v?.[1] ?? 0);
  return contentEnd(text, start, end);
}

/** Is this the `null` of an empty value (`key:`), or an explicit `~`/`null`? */
export function isNullNode(node: unknown): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

// ---------------------------------------------------------------------------------------------
// Inserting entries into a mapping

/**
 * Edits that add `entries` to the mapping at `path` (after its last entry, at its keys' column).
 *
 * Handles block mappings (top level, nested, inside `- ` items), flow mappings (`{ a: 1 }`), an
 * empty value (`key:` or `key: ~`, which becomes a nested block) and an empty document. Returns
 * undefined where the path does not lead to a mapping or an empty value.
 */
export function insertIntoMapping(parsed: ParsedTask, path: NodePath, entries: [string, YamlValue][]): TextEdit[] | undefined {
  if (entries.length === 0) return undefined;
  const text = parsed.text;
  const eol = lineEnding(text);
  const style = indentStyle(parsed);
  const found = lookupPath(parsed, path);
  if (found.depth !== path.length) return undefined;
  const node = found.node;

  if (isMap(node)) {
    const m = node as YAMLMap;
    if (m.flow) return insertIntoFlowMap(parsed, m, entries);
    const first = m.items.find((p) => (p.key as YamlNode | null)?.range);
    if (!first) return undefined;
    const col = column(parsed, (first.key as YamlNode).range![0]);
    const last = m.items[m.items.length - 1]!;
    const at = parsed.lines.lineEnd(parsed.lines.positionAt(Math.max(pairEnd(text, last) - 1, 0)).line);
    const lines = renderEntries(entries, col, style);
    return [{ span: { start: at, end: at }, newText: lines.map((l) => eol + l).join('') }];
  }

  if (path.length === 0) {
    // An empty document (or one holding only comments): append at column 0.
    if (!isNullNode(node)) return undefined;
    const lines = renderEntries(entries, 0, style);
    const end = text.length;
    const needsBreak = end > 0 && !/[\r\n]$/.test(text);
    return [{ span: { start: end, end }, newText: (needsBreak ? eol : '') + lines.map((l) => l + eol).join('') }];
  }

  if (isNullNode(node)) return setEmptyValue(parsed, path, map(entries));
  return undefined;
}

/**
 * Edits giving `key:` (or `key: ~`) at `path` the value `value`: a nested block (mapping entries
 * at the key's column plus the indent unit, list items at the sequence indent), or flow text when
 * the key sits in a flow collection. Undefined where the path does not end at an empty value.
 */
export function setEmptyValue(parsed: ParsedTask, path: NodePath, value: YamlValue): TextEdit[] | undefined {
  if (path.length === 0) return undefined;
  const text = parsed.text;
  const found = lookupPath(parsed, path);
  const node = found.node;
  if (found.depth !== path.length || !isNullNode(node) || !found.keyNode?.range) return undefined;
  const parent = lookupPath(parsed, path.slice(0, -1)).node;
  const keyRange = found.keyNode.range;
  const valueRange = (node as YamlNode | null)?.range;
  const hasValueText = !!valueRange && valueRange[1] > valueRange[0];
  if ((isMap(parent) || isSeq(parent)) && parent.flow) {
    // Keep the `:` (it lies between key and value); write the value in place of the empty one.
    const colon = text.indexOf(':', keyRange[1]);
    if (colon < 0) return undefined;
    const start = colon + 1;
    const end = hasValueText ? valueRange[1] : start;
    return [{ span: { start, end: Math.max(end, start) }, newText: ` ${renderFlow(value)}` }];
  }
  const style = indentStyle(parsed);
  const eol = lineEnding(text);
  const keyCol = column(parsed, keyRange[0]);
  const line = parsed.lines.positionAt(keyRange[0]).line;
  const at = parsed.lines.lineEnd(line);
  const edits: TextEdit[] = [];
  if (hasValueText) {
    if (parsed.lines.positionAt(valueRange[0]).line !== line) return undefined;
    // Drop an explicit `~`/`null`: a key cannot have both a scalar and a nested block.
    edits.push({ span: { start: valueRange[0], end: contentEnd(text, valueRange[0], valueRange[1]) }, newText: '' });
  }
  let lines: string[];
  if (value.kind === 'map' && value.entries.length > 0) lines = renderEntries(value.entries, keyCol + style.unit, style);
  else if (value.kind === 'seq' && value.items.length > 0) lines = renderItems(value.items, keyCol + style.seq, style);
  else {
    // A scalar or an empty collection goes on the key's line.
    const colon = text.indexOf(':', keyRange[1]);
    if (colon < 0 || colon > at) return undefined;
    return [...edits, { span: { start: colon + 1, end: colon + 1 }, newText: ` ${renderFlow(value)}` }];
  }
  edits.push({ span: { start: at, end: at }, newText: lines.map((l) => eol + l).join('') });
  return edits;
}

/** `{ a: 1 }` + entries -> `{ a: 1, b: 2 }`; `{}` -> `{ b: 2 }`. */
function insertIntoFlowMap(parsed: ParsedTask, m: YAMLMap, entries: [string, YamlValue][]): TextEdit[] | undefined {
  const text = parsed.text;
  const range = m.range;
  if (!range) return undefined;
  const close = contentEnd(text, range[0], range[1]) - 1;
  if (text[close] !== '}') return undefined; // unterminated: leave it to the user
  const body = map(entries);
  const inner = renderFlow(body).slice(2, -2); // without `{ ` and ` }`
  if (m.items.length === 0) {
    return [{ span: { start: range[0], end: close + 1 }, newText: `{ ${inner} }` }];
  }
  const last = m.items[m.items.length - 1]!;
  const at = pairEnd(text, last);
  // A trailing comma (`{ a: 1, }`) already separates.
  const after = text.slice(at, close).trim();
  return [{ span: { start: at, end: at }, newText: after.startsWith(',') ? ` ${inner},` : `, ${inner}` }];
}

// ---------------------------------------------------------------------------------------------
// Deleting an entry

/**
 * An edit deleting `pair` (key, value and nested lines) from `m`, or undefined where that cannot be
 * done without restructuring (e.g. the only key of a `- ` item, or a key sharing its line).
 */
export function deleteEntry(parsed: ParsedTask, m: YAMLMap, pair: Pair<unknown, unknown>): TextEdit | undefined {
  const text = parsed.text;
  const key = pair.key as YamlNode | null;
  if (!key?.range) return undefined;
  const index = m.items.indexOf(pair);
  if (index < 0) return undefined;
  const start = key.range[0];
  const end = pairEnd(text, pair);
  if (m.flow) {
    const prev = m.items[index - 1];
    const next = m.items[index + 1];
    if (prev) return { span: { start: pairEnd(text, prev), end }, newText: '' }; // `, key: v`
    const nextKey = (next?.key as YamlNode | null)?.range;
    if (nextKey) return { span: { start, end: nextKey[0] }, newText: '' }; // `key: v, `
    return { span: { start, end }, newText: '' };
  }
  const lines = parsed.lines;
  const keyLine = lines.positionAt(start).line;
  const before = text.slice(lines.lineStart(keyLine), start);
  const lastLine = lines.positionAt(Math.max(end - 1, start)).line;
  // Only a comment may follow the value on its last line.
  const rest = text.slice(end, lines.lineEnd(lastLine)).trim();
  if (rest !== '' && !rest.startsWith('#')) return undefined;
  if (/^\s*$/.test(before)) {
    // The entry owns its lines: delete them whole, line breaks included.
    const stop = lastLine + 1 < lines.lineCount ? lines.lineStart(lastLine + 1) : text.length;
    let from = lines.lineStart(keyLine);
    // At the end of the file, take the preceding line break instead so no blank line remains.
    if (stop === text.length && from > 0 && !/[\r\n]$/.test(text)) from = contentEnd(text, 0, from);
    return { span: { start: from, end: stop }, newText: '' };
  }
  if (/^\s*-\s+$/.test(before)) {
    // First key of a `- ` item: the next key moves up onto the `- ` line.
    const nextKey = (m.items[index + 1]?.key as YamlNode | null)?.range;
    if (!nextKey) return undefined;
    return { span: { start, end: nextKey[0] }, newText: '' };
  }
  return undefined;
}

/** The mapping holding the entry at `path` and the entry itself. */
export function findPair(parsed: ParsedTask, path: NodePath): { map: YAMLMap; pair: Pair<unknown, unknown> } | undefined {
  if (path.length === 0) return undefined;
  const parent = lookupPath(parsed, path.slice(0, -1));
  if (parent.depth !== path.length - 1 || !isMap(parent.node)) return undefined;
  const last = path[path.length - 1];
  const pair = parent.node.items.find((p) => isScalar(p.key) && (p.key.value === last || String(p.key.value) === String(last)));
  return pair ? { map: parent.node, pair } : undefined;
}

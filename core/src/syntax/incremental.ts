/**
 * Incremental re-parsing: after an edit, re-parse only the block-collection item the edit falls in
 * and splice it into the previous tree, instead of re-parsing the whole document.
 *
 * Why: the `yaml` package parses about 3 MB/s here (12 ms for a 1,000-line task), which alone
 * would miss the re-validation budget (10 ms p95 at 1,000 lines, 50 ms at 5,000). An edit inside a
 * check re-parses that check's few lines.
 *
 * Correctness rule: the result must be exactly what a full parse of the new text gives (values,
 * ranges, errors); `core/test/incremental.test.ts` checks that on thousands of random edits. Every
 * case this module is not sure of falls back to a full parse: a previous tree with errors, anchors,
 * aliases, tags or several documents; an edit touching an item's indentation or crossing into a
 * sibling; a fragment that parses with errors, into another shape, at another indentation, or with
 * a duplicate key.
 *
 * The previous tree is reused and mutated: after `reparseTask(prev, text)`, `prev` must no longer be
 * used (the document cache only keeps the newest version, so nothing else holds it).
 */
import { isAlias, isMap, isScalar, isSeq, type Node as YamlNode, type Pair, parseDocument, YAMLMap, YAMLSeq } from 'yaml';
import { forEachNode, keyText, normalizeLineBreaks, parseTask, toParsedTask, YAML_OPTIONS, type ParsedTask } from './index';

/** Statistics for tests and benchmarks: how often the fast path was taken. */
export const incrementalStats = { incremental: 0, full: 0 };

/** Parse `text`, reusing `prev` (the parse of an earlier version of the same document) when safe. */
export function reparseTask(prev: ParsedTask | undefined, text: string): ParsedTask {
  if (prev && prev.text === text) return prev;
  if (prev) {
    try {
      const result = tryIncremental(prev, text);
      if (result) {
        incrementalStats.incremental++;
        return result;
      }
    } catch {
      // fall through to a full parse; a bug here must never cost correctness
    }
  }
  incrementalStats.full++;
  return parseTask(text);
}

type Collection = YAMLMap<unknown, unknown> | YAMLSeq<unknown>;
type Item = Pair<unknown, unknown> | YamlNode | null;

interface Candidate {
  /** The collection holding the item, and its ancestors from the root (outermost first). */
  coll: Collection;
  ancestors: Collection[];
  /** Whether the path from each ancestor (outermost first) down to the item runs through last children. */
  lastFrom: boolean[];
  index: number;
  /** Offset of the start of the item's first line, and of its key / `-` on that line. */
  lineStart: number;
  col: number;
  /** Where the item's text ends in the old text: the next sibling's line start, or the parent's end. */
  end: number;
}

const simpleDocs = new WeakSet<object>();

function isBlock(node: unknown): node is Collection {
  return (isMap(node) || isSeq(node)) && !(node as Collection).flow;
}

/** True when the tree has no alias, anchor, tag or complex key: the cases a fragment can't be spliced for. */
function isSimpleTree(node: unknown): boolean {
  if (node == null) return true;
  if (isAlias(node)) return false;
  const n = node as YamlNode & { anchor?: string; tag?: string };
  if (n.anchor || n.tag) return false;
  // Complex keys (`{ a: 1 }: x`, `? [a]`) have range rules of their own: leave them to the full parser.
  // So do empty keys (`}:` parses as one), whose empty value's range depends on what follows.
  if (isMap(node)) {
    return node.items.every((p) => isScalar(p.key) && p.key.value != null && p.key.value !== '' && isSimpleTree(p.value));
  }
  if (isSeq(node)) return node.items.every(isSimpleTree);
  return true;
}

function itemStart(coll: Collection, item: unknown): number | undefined {
  if (isMap(coll)) return ((item as Pair<unknown, unknown>).key as YamlNode | null)?.range?.[0];
  return (item as YamlNode | null)?.range?.[0];
}

/** The node whose range ends an item: a pair's value (or its key when the value is empty). */
function itemTail(coll: Collection, item: unknown): YamlNode | null {
  if (isMap(coll)) {
    const p = item as Pair<unknown, unknown>;
    return ((p.value as YamlNode | null)?.range ? p.value : p.key) as YamlNode | null;
  }
  return item as YamlNode | null;
}

/** The item's line prefix must be indentation (maps) or indentation and `- ` (sequences). */
function prefixOk(coll: Collection, prefix: string): number | undefined {
  const m = isMap(coll) ? /^( *)$/.exec(prefix) : /^( *)- +$/.exec(prefix);
  return m ? m[1]!.length : undefined;
}

/** Candidate items containing the changed old range [from, to), outermost first. */
function candidates(prev: ParsedTask, from: number, to: number): Candidate[] {
  const out: Candidate[] = [];
  const text = prev.text;
  const lineStartOf = (offset: number): number => prev.lines.lineStart(prev.lines.positionAt(offset).line);
  const walk = (coll: Collection, collEnd: number, ancestors: Collection[], lastPath: boolean[]): void => {
    const items = coll.items as unknown[];
    const starts: (number | undefined)[] = items.map((it) => itemStart(coll, it));
    for (let i = 0; i < items.length; i++) {
      const s = starts[i];
      if (s === undefined) return;
      const lineStart = lineStartOf(s);
      const nextStart = i + 1 < items.length ? starts[i + 1] : undefined;
      if (i + 1 < items.length && nextStart === undefined) return;
      const end = nextStart !== undefined ? lineStartOf(nextStart) : collEnd;
      if (from < lineStart || from >= end + (end === text.length ? 1 : 0)) continue;
      const col = prefixOk(coll, text.slice(lineStart, s));
      // The edit must leave the item's indentation alone and stay before the next sibling.
      const inside = col !== undefined && from >= lineStart + col && (to < end || end === text.length);
      const isLast = i === items.length - 1;
      // lastFrom[k]: every step from chain[k] down to this item goes through a last child.
      const path = [...lastPath, isLast];
      const lastFrom = path.map((_, k) => path.slice(k).every(Boolean));
      if (inside) out.push({ coll, ancestors, lastFrom, index: i, lineStart, col, end });
      const child = isMap(coll) ? (items[i] as Pair<unknown, unknown>).value : items[i];
      if (isBlock(child)) walk(child, end, [...ancestors, coll], path);
      return;
    }
  };
  const root = prev.doc.contents;
  if (isBlock(root)) walk(root, text.length, [], []);
  return out;
}

function shiftTree(node: unknown, apply: (r: number) => number): void {
  forEachNode(node, (n) => {
    const r = n.range;
    if (!r) return;
    r[0] = apply(r[0]);
    r[1] = apply(r[1]);
    r[2] = apply(r[2]);
  });
}

function tryIncremental(prev: ParsedTask, text: string): ParsedTask | undefined {
  const doc = prev.doc;
  // A tree built from broken YAML has no reliable item boundaries: re-parse it whole.
  if (prev.syntaxErrors.length > 0 || !isBlock(doc.contents)) return undefined;
  if (!simpleDocs.has(doc)) {
    // Directives, several documents or explicit document markers: leave them to the full parser.
    if (/^(---|\.\.\.|%)/m.test(prev.text) || !isSimpleTree(doc.contents)) return undefined;
    simpleDocs.add(doc);
  }
  const old = prev.text;
  // The changed region: old[from, oldTo) became text[from, newTo).
  const max = Math.min(old.length, text.length);
  let from = 0;
  while (from < max && old.charCodeAt(from) === text.charCodeAt(from)) from++;
  let suffix = 0;
  while (suffix < max - from && old.charCodeAt(old.length - 1 - suffix) === text.charCodeAt(text.length - 1 - suffix)) suffix++;
  const oldTo = old.length - suffix;
  const delta = text.length - old.length;

  const cands = candidates(prev, from, oldTo);
  // Innermost first; an outer item is tried when the inner fragment does not splice cleanly.
  for (let k = cands.length - 1, tries = 0; k >= 0 && tries < 3; k--, tries++) {
    const c = cands[k]!;
    const newEnd = c.end + delta;
    if (newEnd < from) continue;
    const fragment = normalizeLineBreaks(text.slice(c.lineStart, newEnd));
    const fdoc = parseDocument(fragment, YAML_OPTIONS);
    if (fdoc.errors.length || fdoc.warnings.length) continue;
    const fc = fdoc.contents;
    if (!isBlock(fc) || isMap(fc) !== isMap(c.coll) || fc.items.length === 0 || !isSimpleTree(fc)) continue;
    const firstStart = itemStart(fc, fc.items[0]);
    if (firstStart === undefined || prefixOk(fc, fragment.slice(0, firstStart)) !== c.col) continue;
    if (isMap(fc)) {
      // Keys must stay unique among the siblings the fragment did not replace.
      const keys = new Set<string>();
      const siblings = (c.coll as YAMLMap<unknown, unknown>).items;
      let dup = false;
      siblings.forEach((p, i) => {
        if (i === c.index) return;
        const key = keyText(p);
        if (key !== undefined) keys.add(key);
      });
      for (const p of fc.items) {
        const key = keyText(p);
        if (key === undefined || keys.has(key)) dup = true;
        else keys.add(key);
      }
      if (dup) continue;
    }
    // Ancestors whose end falls inside the old item take the new last item's end (the replaced
    // item was their last one); anything after the old item shifts by delta. At the end of the text
    // an end equal to the old length is also the item's (trailing blank lines are in no range).
    const atEof = c.end === old.length;
    const inZone = (r: number): boolean => r >= c.lineStart && (r < c.end || (atEof && r === c.end));
    const chain = [...c.ancestors, c.coll];
    let unexplained = false;
    chain.forEach((a, k) => {
      const r = a.range;
      // An end inside the old item is only explained when the item is this collection's last
      // descendant; it is re-derived below from the new last item.
      if (!r || ((inZone(r[1]) || inZone(r[2])) && !c.lastFrom[k])) unexplained = true;
    });
    const docRange = doc.range;
    const contentsEnd = (doc.contents as Collection).range?.[2];
    if (!docRange || contentsEnd === undefined) return undefined;
    // At the end of the text, the document's own range (trailing comments and blank lines) is the
    // fragment document's, which ends at the same place.
    if (atEof && (docRange[1] !== contentsEnd || !fdoc.range)) unexplained = true;
    if (unexplained) continue;

    // Commit: from here on the previous tree is mutated.
    shiftTree(fc, (r) => r + c.lineStart);
    const newItems = fc.items as Item[];
    const newTail = itemTail(c.coll, newItems[newItems.length - 1]);
    const ancestorEnds = chain.map((a) => [...a.range!] as [number, number, number]);
    shiftTree(doc.contents, (r) => (inZone(r) || r < c.end ? r : r + delta));
    (c.coll.items as Item[]).splice(c.index, 1, ...newItems);
    // Re-derive ancestor ends that pointed into the old item, innermost first: a block
    // collection's value end is its last child's node end.
    let tail: YamlNode | null = newTail;
    for (let i = chain.length - 1; i >= 0; i--) {
      const a = chain[i]!;
      const before = ancestorEnds[i]!;
      const tailEnd = tail?.range?.[2];
      if (tailEnd === undefined) return undefined;
      if (inZone(before[1])) a.range![1] = tailEnd;
      if (inZone(before[2])) a.range![2] = Math.max(a.range![1], tailEnd);
      tail = a;
    }
    if (atEof) {
      docRange[1] = fdoc.range![1] + c.lineStart;
      docRange[2] = fdoc.range![2] + c.lineStart;
    } else {
      docRange[1] = docRange[1] >= c.end ? docRange[1] + delta : docRange[1];
      docRange[2] = docRange[2] >= c.end ? docRange[2] + delta : docRange[2];
    }
    return toParsedTask(text, doc);
  }
  return undefined;
}

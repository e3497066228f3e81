/**
 * Sets of code points as sorted, disjoint, non-adjacent `[lo, hi]` ranges: what a JavaScript
 * character class, escape (`\d`, `\s`, `\w`) or `.` stands for. The bounded matcher writes them out
 * as RE2 classes; the backtracking analysis intersects them.
 */

export type Range = readonly [number, number];
export type CharSet = readonly Range[];

export const MAX_CODE_POINT = 0x10ffff;

export const ALL: CharSet = [[0, MAX_CODE_POINT]];
export const NONE: CharSet = [];
export const DIGIT: CharSet = [[0x30, 0x39]];
export const WORD: CharSet = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
/** JavaScript's `\s`: WhiteSpace and LineTerminator (ECMA-262), wider than RE2's `\s`. */
export const SPACE: CharSet = normalize([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
/** What `.` does not match without the `s` flag. */
export const LINE_TERMINATORS: CharSet = normalize([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]);

/** Sort and merge overlapping or adjacent ranges. */
export function normalize(ranges: Iterable<Range>): CharSet {
  const sorted = [...ranges].filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function union(...sets: CharSet[]): CharSet {
  return normalize(sets.flat());
}

export function complement(set: CharSet): CharSet {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** Whether two sets share a code point (both normalised). */
export function intersects(a: CharSet, b: CharSet): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [alo, ahi] = a[i]!;
    const [blo, bhi] = b[j]!;
    if (ahi < blo) i++;
    else if (bhi < alo) j++;
    else return true;
  }
  return false;
}

/** Add the other case of ASCII letters (what `i` does to the sets the analysis compares). */
export function foldAsciiCase(set: CharSet): CharSet {
  const extra: Range[] = [];
  for (const [lo, hi] of set) {
    const a = Math.max(lo, 0x41);
    const b = Math.min(hi, 0x5a);
    if (a <= b) extra.push([a + 0x20, b + 0x20]);
    const c = Math.max(lo, 0x61);
    const d = Math.min(hi, 0x7a);
    if (c <= d) extra.push([c - 0x20, d - 0x20]);
  }
  return extra.length ? union(set, extra) : set;
}

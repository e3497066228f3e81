/**
 * Does a pattern backtrack catastrophically? ClawGym itself matches every pattern in linear time
 * (bounded.ts), but a task's pattern also runs elsewhere: the converter writes it into `check.py`
 * for Python's backtracking `re`, and authors paste it into other tools. `clawgym validate` and the
 * editor warn (`regex-backtracking`) when some input makes a backtracking engine take time
 * exponential in the input's length: `^(a+)+$`, `(a|a)*$`, `(\w+\s?)*$`.
 *
 * The test is the classic one on the pattern's position automaton (Glushkov's, with the number of
 * ways each transition can be taken, as a backtracking matcher counts them): the time is
 * exponential when some state has two different loops reading the same word (Weber and Seidl's EDA
 * criterion), found in the automaton's product with itself. It is static and deterministic: no
 * timing, no fuzzing, the same verdict on every machine. It gives up (no warning) past a work
 * budget. Polynomial cases are reported from degree 3: chains of simple loops that can share a
 * text (`[^/]*a[^/]*a[^/]*a[^/]*b`, what a glob like `*a*a*a*b` becomes), counting the extra
 * factor an unanchored search adds; quadratic patterns (`[a-z]+[0-9]+`, unanchored) are too
 * common to warn about.
 *
 * Counted repetitions are approximated by at most three copies (`x{2,50}` as `x{2,3}`): the
 * exponential cases are loops, which the approximation keeps.
 */
import { RegExpParser, type AST } from '@eslint-community/regexpp';
import { ALL, complement, DIGIT, foldAsciiCase, intersects, LINE_TERMINATORS, SPACE, union, WORD, type CharSet } from './charset';

export interface BacktrackingRisk {
  /** Exponential (`^(a+)+$`), or polynomial of degree 3 or more (`*a*a*a*b`, `\d+\d+x` unanchored). */
  kind: 'exponential' | 'polynomial';
  /** For `polynomial`: the time grows like n^degree on a text of n characters. */
  degree?: number;
  /** The repetition that can match the same text in more than one way, as written. */
  repetition: string;
  /** A one-line explanation for diagnostics. */
  message: string;
}

const MAX_POSITIONS = 400;
const MAX_PAIR_EDGES = 400_000;
const MAX_COPIES = 3;

class GiveUp extends Error {}

/** Saturating count: only "none", "one way" and "more than one way" matter. */
type Count = 0 | 1 | 2;
const add = (a: number, b: number): Count => Math.min(2, a + b) as Count;
const mul = (a: number, b: number): Count => Math.min(2, a * b) as Count;

interface Frag {
  first: Map<number, Count>;
  last: Map<number, Count>;
  /** Positions after which the rest of the fragment can match empty without an assertion. */
  cleanLast: Set<number>;
  /** Ways to match the empty string. */
  empty: Count;
  /** Whether an empty match needs no assertion. */
  cleanEmpty: boolean;
}

class Automaton {
  readonly sets: CharSet[] = [];
  readonly nodes: AST.Node[] = [];
  readonly follow: Map<number, Count>[] = [];
  constructor(private readonly fold: boolean) {}

  position(set: CharSet, node: AST.Node): Frag {
    if (this.sets.length >= MAX_POSITIONS) throw new GiveUp();
    const p = this.sets.length;
    this.sets.push(this.fold ? foldAsciiCase(set) : set);
    this.nodes.push(node);
    this.follow.push(new Map());
    return { first: new Map([[p, 1]]), last: new Map([[p, 1]]), cleanLast: new Set([p]), empty: 0, cleanEmpty: false };
  }

  link(from: Map<number, Count>, to: Map<number, Count>): void {
    for (const [p, a] of from) {
      const f = this.follow[p]!;
      for (const [q, b] of to) f.set(q, add(f.get(q) ?? 0, mul(a, b)));
    }
  }
}

const EMPTY: Frag = { first: new Map(), last: new Map(), cleanLast: new Set(), empty: 1, cleanEmpty: true };
const ASSERTION: Frag = { first: new Map(), last: new Map(), cleanLast: new Set(), empty: 1, cleanEmpty: false };

function sum(a: Map<number, Count>, b: Map<number, Count>, times: number = 1): Map<number, Count> {
  const out = new Map(a);
  for (const [p, n] of b) out.set(p, add(out.get(p) ?? 0, mul(n, times)));
  return out;
}

function concat(m: Automaton, a: Frag, b: Frag): Frag {
  m.link(a.last, b.first);
  return {
    first: a.empty ? sum(a.first, b.first, a.empty) : a.first,
    last: b.empty ? sum(b.last, a.last, b.empty) : b.last,
    cleanLast: b.cleanEmpty ? new Set([...b.cleanLast, ...a.cleanLast]) : b.cleanLast,
    empty: mul(a.empty, b.empty),
    cleanEmpty: a.cleanEmpty && b.cleanEmpty,
  };
}

function alternation(frags: Frag[]): Frag {
  return frags.reduce((x, y) => ({
    first: sum(x.first, y.first),
    last: sum(x.last, y.last),
    cleanLast: new Set([...x.cleanLast, ...y.cleanLast]),
    empty: add(x.empty, y.empty),
    cleanEmpty: x.cleanEmpty || y.cleanEmpty,
  }));
}

function escapeSet(node: AST.EscapeCharacterSet): CharSet {
  const base = node.kind === 'digit' ? DIGIT : node.kind === 'space' ? SPACE : WORD;
  return node.negate ? complement(base) : base;
}

function classSet(node: AST.CharacterClass): CharSet {
  const parts: CharSet[] = [];
  for (const el of node.elements) {
    if (el.type === 'Character') parts.push([[el.value, el.value]]);
    else if (el.type === 'CharacterClassRange') parts.push([[el.min.value, el.max.value]]);
    else if (el.type === 'CharacterSet' && el.kind !== 'property') parts.push(escapeSet(el as AST.EscapeCharacterSet));
    // a property (`\p{L}`) or a set operation: assume it may match anything
    else parts.push(ALL);
  }
  const set = union(...parts);
  return node.negate ? complement(set) : set;
}

interface Ctx {
  dotAll: boolean;
}

function build(m: Automaton, node: AST.Node, ctx: Ctx): Frag {
  switch (node.type) {
    case 'Character':
      return m.position([[node.value, node.value]], node);
    case 'CharacterClass':
      return m.position(classSet(node), node);
    case 'ExpressionCharacterClass':
      return m.position(ALL, node);
    case 'CharacterSet':
      if (node.kind === 'any') return m.position(ctx.dotAll ? ALL : complement(LINE_TERMINATORS), node);
      if (node.kind === 'property') return m.position(ALL, node);
      return m.position(escapeSet(node), node);
    case 'Alternative':
      return node.elements.reduce<Frag>((acc, el) => concat(m, acc, build(m, el, ctx)), EMPTY);
    case 'Group':
    case 'CapturingGroup': {
      const dotAll = node.type === 'Group' && node.modifiers ? (node.modifiers.add.dotAll ? true : node.modifiers.remove?.dotAll ? false : ctx.dotAll) : ctx.dotAll;
      return alternation(node.alternatives.map((a) => build(m, a, { dotAll })));
    }
    case 'Quantifier':
      return quantifier(m, node, ctx);
    case 'Assertion':
      if (node.kind === 'lookahead' || node.kind === 'lookbehind') throw new GiveUp();
      return ASSERTION;
    case 'Backreference':
      throw new GiveUp();
    default:
      throw new GiveUp();
  }
}

/** `x*`: a loop back from every last position to every first one, as many ways as each has. */
function star(m: Automaton, x: Frag, min: 0 | 1): Frag {
  m.link(x.last, x.first);
  // an iteration that matches empty is cut by the engine: zero iterations is the one empty way
  return { ...x, empty: min === 0 ? 1 : x.empty, cleanEmpty: min === 0 ? true : x.cleanEmpty };
}

/** `x{0,k}` as `(x(x(...)?)?)?`: one way per count, as a counting loop takes it. */
function upTo(m: Automaton, node: AST.QuantifiableElement, ctx: Ctx, k: number): Frag {
  if (k === 0) return EMPTY;
  const x = build(m, node, ctx);
  const rest = upTo(m, node, ctx, k - 1);
  const seq = concat(m, x, rest);
  return alternation([seq, EMPTY]);
}

function quantifier(m: Automaton, node: AST.Quantifier, ctx: Ctx): Frag {
  const min = Math.min(node.min, MAX_COPIES);
  let out: Frag = EMPTY;
  if (node.max === Infinity) {
    for (let i = 0; i < min - 1; i++) out = concat(m, out, build(m, node.element, ctx));
    return concat(m, out, star(m, build(m, node.element, ctx), min === 0 ? 0 : 1));
  }
  for (let i = 0; i < min; i++) out = concat(m, out, build(m, node.element, ctx));
  const extra = Math.min(node.max - node.min, MAX_COPIES);
  return extra > 0 ? concat(m, out, upTo(m, node.element, ctx, extra)) : out;
}

/** Tarjan's strongly connected components over `n` nodes; returns each node's component id. */
function components(n: number, succ: (v: number) => Iterable<number>): Int32Array {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  let next = 0;
  let ncomp = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    // iterative DFS: a frame is a node and its successor iterator
    const frames: [number, Iterator<number>][] = [];
    const enter = (v: number): void => {
      index[v] = low[v] = next++;
      stack.push(v);
      onStack[v] = 1;
      frames.push([v, succ(v)[Symbol.iterator]()]);
    };
    enter(root);
    while (frames.length) {
      const [v, it] = frames[frames.length - 1]!;
      const r = it.next();
      if (!r.done) {
        const w = r.value;
        if (index[w] === -1) enter(w);
        else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      frames.pop();
      if (frames.length) {
        const u = frames[frames.length - 1]![0];
        low[u] = Math.min(low[u]!, low[v]!);
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp[w] = ncomp;
        } while (w !== v);
        ncomp++;
      }
    }
  }
  return comp;
}

/** A position in the loop with two ways around it, or undefined. */
function exponentialPosition(m: Automaton, accepting: Set<number>): number | undefined {
  const n = m.sets.length;
  const comp = components(n, (v) => m.follow[v]!.keys());
  // group positions by component; only loops inside one component matter
  const members = new Map<number, number[]>();
  for (let v = 0; v < n; v++) {
    const list = members.get(comp[v]!) ?? [];
    list.push(v);
    members.set(comp[v]!, list);
  }
  let work = 0;
  for (const states of members.values()) {
    const c = comp[states[0]!]!;
    // a single position without a self-loop is no loop
    if (states.length === 1 && !m.follow[states[0]!]!.has(states[0]!)) continue;
    // a loop whose every state can end the match there does not backtrack: the match succeeds
    if (states.every((s) => accepting.has(s))) continue;
    const local = new Map(states.map((s, i) => [s, i]));
    const k = states.length;
    const id = (p: number, q: number): number => local.get(p)! * k + local.get(q)!;
    const succ = (v: number): number[] => {
      const p = states[Math.floor(v / k)]!;
      const q = states[v % k]!;
      const out: number[] = [];
      for (const p2 of m.follow[p]!.keys()) {
        if (comp[p2] !== c) continue;
        for (const q2 of m.follow[q]!.keys()) {
          if (comp[q2] !== c) continue;
          if (++work > MAX_PAIR_EDGES) throw new GiveUp();
          if (intersects(m.sets[p2]!, m.sets[q2]!)) out.push(id(p2, q2));
        }
      }
      return out;
    };
    const pairComp = components(k * k, succ);
    for (const p of states) {
      const diag = id(p, p);
      const pc = pairComp[diag]!;
      // two different ways on the same word: through a pair of different states ...
      for (let i = 0; i < k * k; i++) if (pairComp[i] === pc && Math.floor(i / k) !== i % k) return p;
      // ... or along a transition that can be taken two ways (`(a+)+`)
      for (const [q, ways] of m.follow[p]!) if (ways > 1 && comp[q] === c && pairComp[id(q, q)] === pc) return p;
    }
  }
  return undefined;
}

/**
 * The longest chain of simple loops (`x*` on one position) that can share a text: `\d+\d+` has
 * two (a backtracking engine tries every split of a run of digits, n^2 ways), the glob
 * `*a*a*a*b` as a regex (`[^/]*a[^/]*a[^/]*a[^/]*b`) four. Each link needs a character that both
 * loops and every position between them can read. Returns the chain's loops, outermost first.
 */
function loopChain(m: Automaton): number[] {
  const n = m.sets.length;
  const loops = [...Array(n).keys()].filter((p) => m.follow[p]!.has(p));
  const isLoop = new Set(loops);
  // overlap[p] = loops q reachable from p along positions sharing a character with both
  const next = new Map<number, number[]>();
  let work = 0;
  for (const p of loops) {
    const out: number[] = [];
    const seen = new Set<number>([p]);
    const queue: [number, CharSet][] = [[p, m.sets[p]!]];
    while (queue.length) {
      const [r, common] = queue.shift()!;
      for (const q of m.follow[r]!.keys()) {
        if (seen.has(q)) continue;
        if (++work > MAX_PAIR_EDGES) throw new GiveUp();
        const shared = intersection(common, m.sets[q]!);
        if (shared.length === 0) continue;
        seen.add(q);
        if (isLoop.has(q)) out.push(q);
        else queue.push([q, shared]);
      }
    }
    next.set(p, out);
  }
  // the longest path in this graph (it is acyclic: loops in one chain are in different components,
  // and a cycle would be the exponential case, found first); memoised depth-first search
  const best = new Map<number, number[]>();
  const visiting = new Set<number>();
  const chain = (p: number): number[] => {
    const b = best.get(p);
    if (b) return b;
    if (visiting.has(p)) return [p];
    visiting.add(p);
    let longest: number[] = [];
    for (const q of next.get(p) ?? []) {
      const c = chain(q);
      if (c.length > longest.length) longest = c;
    }
    visiting.delete(p);
    const out = [p, ...longest];
    best.set(p, out);
    return out;
  };
  let longest: number[] = [];
  for (const p of loops) {
    const c = chain(p);
    if (c.length > longest.length) longest = c;
  }
  return longest;
}

function intersection(a: CharSet, b: CharSet): CharSet {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i]![0], b[j]![0]);
    const hi = Math.min(a[i]![1], b[j]![1]);
    if (lo <= hi) out.push([lo, hi]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

/** The outermost unbounded repetition around a node, as written. */
function repetitionAround(node: AST.Node): string {
  let found: AST.Node | undefined;
  for (let n: AST.Node | null = node; n; n = n.parent) if (n.type === 'Quantifier' && n.max === Infinity) found = n;
  return (found ?? node).raw;
}

const CACHE_LIMIT = 500;
const cache = new Map<string, BacktrackingRisk | null>();

/**
 * Whether a backtracking engine (JavaScript's, Python's) can take exponential time on this pattern.
 * Undefined when it cannot, when the pattern does not parse, or when the analysis gives up.
 */
export function backtrackingRisk(pattern: string, flags = ''): BacktrackingRisk | undefined {
  const key = `${flags}/${pattern}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  let out: BacktrackingRisk | null = null;
  try {
    const ast = new RegExpParser({ ecmaVersion: 2025 }).parsePattern(pattern, 0, pattern.length, { unicode: flags.includes('u') });
    const m = new Automaton(flags.includes('i'));
    const root = alternation(ast.alternatives.map((a) => build(m, a, { dotAll: flags.includes('s') })));
    const p = exponentialPosition(m, root.cleanLast);
    if (p !== undefined) {
      const repetition = repetitionAround(m.nodes[p]!);
      out = {
        kind: 'exponential',
        repetition,
        message: `the repetition \`${repetition}\` can match the same text in more than one way, so a backtracking engine (Python's \`re\`, JavaScript's RegExp) can take time exponential in the length of a text that almost matches`,
      };
    } else {
      const chain = loopChain(m);
      // an unanchored search tries every start: one more factor of n
      const anchored = !flags.includes('m') && ast.alternatives.every((a) => a.elements[0]?.type === 'Assertion' && a.elements[0].kind === 'start');
      const degree = chain.length + (anchored ? 0 : 1);
      if (chain.length >= 2 && degree >= 3) {
        const each = chain.map((q) => repetitionAround(m.nodes[q]!));
        const unique = [...new Set(each)];
        const shown = unique.length === 1 ? `\`${unique[0]}\` (${each.length} of them)` : unique.map((r) => `\`${r}\``).join(', ');
        out = {
          kind: 'polynomial',
          degree,
          repetition: unique.join(', '),
          message: `the repetitions ${shown} can share the same text, so a backtracking engine (Python's \`re\`, JavaScript's RegExp) can take time growing like n^${degree} on a text of n characters that almost matches`,
        };
      }
    }
  } catch {
    out = null;
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, out);
  return out ?? undefined;
}

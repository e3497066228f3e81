/**
 * Regular expressions that run in bounded time. A check's pattern is written in JavaScript syntax
 * (what `new RegExp(pattern, flags)` accepts), but it is matched by RE2JS, a linear-time engine
 * (no backtracking): the time to test a text grows with the text's length times the pattern's
 * size, whatever the two contain. `^(a+)+$` against a million `a`s and a `!` takes milliseconds,
 * where V8's backtracking engine would not finish before the heat death of the universe.
 *
 * The pattern is parsed with regexpp (the ECMAScript grammar, Annex B included) and written out
 * in RE2 syntax with JavaScript's meaning: `\s` is JavaScript's whitespace set, `.` stops at every
 * JavaScript line terminator, a multiline `$` also matches before a `\r\n`. Features a linear
 * engine cannot have (lookahead, lookbehind, backreferences) and repetition counts over 1000 are
 * refused with a message saying so: an error for that pattern, never a silent different meaning.
 * The remaining differences (documented in docs/clawtask-format.md, "Regular expressions"): the
 * text is matched as code points even without `u`; `i` folds case by Unicode's simple folding.
 *
 * Only `test` is offered: checks ask "is there a match?", never for captures.
 */
import { RegExpParser, type AST } from '@eslint-community/regexpp';
import { RE2JS } from 're2js';
import { ALL, complement, DIGIT, LINE_TERMINATORS, SPACE, union, WORD, type CharSet } from './charset';

/** A compiled pattern: `test` runs in time linear in the text. */
export interface BoundedRegex {
  /** The pattern as written (JavaScript syntax). */
  readonly source: string;
  readonly flags: string;
  /** Whether the pattern matches somewhere in `text`. Never backtracks (see `testBounded` for errors). */
  test(text: string): boolean;
  /** `/source/flags`, as a RegExp prints. */
  toString(): string;
}

export type CompiledRegex = { re: BoundedRegex } | { error: string };

/**
 * `re.test(text)`, or why the engine could not answer (it has no backtracking to run away, but a
 * bug or an exhausted heap must fail that one check, not the run).
 */
export function testBounded(re: BoundedRegex, text: string): boolean | string {
  try {
    return re.test(text);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** The flags a check may give (`g`, `y`, `d` and `v` change nothing `test` needs, or are refused). */
const FLAGS = /^[imsu]*$/;

/** RE2's limit on `{n,m}`. */
export const MAX_REPEAT = 1000;

const UNSUPPORTED = 'checks match in linear time (RE2), which has no lookaround or backreferences';

/** Why a pattern cannot be translated: the message reaches diagnostics and verifier errors. */
class Unsupported extends Error {}

// ---------------------------------------------------------------------------------------------
// Unicode properties RE2 knows under the same meaning

const GENERAL_CATEGORIES: Record<string, string> = {
  Letter: 'L',
  Cased_Letter: 'LC',
  Uppercase_Letter: 'Lu',
  Lowercase_Letter: 'Ll',
  Titlecase_Letter: 'Lt',
  Modifier_Letter: 'Lm',
  Other_Letter: 'Lo',
  Mark: 'M',
  Combining_Mark: 'M',
  Nonspacing_Mark: 'Mn',
  Spacing_Mark: 'Mc',
  Enclosing_Mark: 'Me',
  Number: 'N',
  Decimal_Number: 'Nd',
  digit: 'Nd',
  Letter_Number: 'Nl',
  Other_Number: 'No',
  Punctuation: 'P',
  punct: 'P',
  Connector_Punctuation: 'Pc',
  Dash_Punctuation: 'Pd',
  Open_Punctuation: 'Ps',
  Close_Punctuation: 'Pe',
  Initial_Punctuation: 'Pi',
  Final_Punctuation: 'Pf',
  Other_Punctuation: 'Po',
  Symbol: 'S',
  Math_Symbol: 'Sm',
  Currency_Symbol: 'Sc',
  Modifier_Symbol: 'Sk',
  Other_Symbol: 'So',
  Separator: 'Z',
  Space_Separator: 'Zs',
  Line_Separator: 'Zl',
  Paragraph_Separator: 'Zp',
  Other: 'C',
  Control: 'Cc',
  cntrl: 'Cc',
  Format: 'Cf',
  Surrogate: 'Cs',
  Private_Use: 'Co',
  Unassigned: 'Cn',
};
const SHORT_CATEGORIES = new Set(Object.values(GENERAL_CATEGORIES).filter((c) => c !== 'LC'));

function knownToRe2(source: string): boolean {
  try {
    RE2JS.compile(source);
    return true;
  } catch {
    return false;
  }
}

/** `\p{...}` as RE2 writes it (inside or outside a class), or an Unsupported error. */
function property(node: AST.UnicodePropertyCharacterSet): string {
  const p = node.negate ? 'P' : 'p';
  const { key, value } = node;
  if (value === null) {
    // a lone name: a general category (`L`, `Letter`) or a binary property (`ASCII`, `Any`)
    const gc = SHORT_CATEGORIES.has(key) ? key : GENERAL_CATEGORIES[key];
    if (gc) return `\\${p}{${gc}}`;
    if (key === 'Any') return node.negate ? '[^\\x{0}-\\x{10FFFF}]' : '[\\x{0}-\\x{10FFFF}]';
    if (key === 'ASCII') return node.negate ? '[^\\x{0}-\\x{7F}]' : '[\\x{0}-\\x{7F}]';
  } else if (key === 'General_Category' || key === 'gc') {
    const gc = SHORT_CATEGORIES.has(value) ? value : GENERAL_CATEGORIES[value];
    if (gc) return `\\${p}{${gc}}`;
  } else if ((key === 'Script' || key === 'sc') && /^[A-Za-z_]+$/.test(value) && knownToRe2(`\\p{${value}}`)) {
    // RE2 knows scripts by their long names (`Greek`, `Han`, `Old_Italic`), not the four-letter codes
    return `\\${p}{${value}}`;
  }
  throw new Unsupported(`\`${node.raw}\` is not supported: use a general category (\`\\p{L}\`, \`\\p{Nd}\`) or a script's full name (\`\\p{Script=Greek}\`)`);
}

// ---------------------------------------------------------------------------------------------
// JavaScript AST -> RE2 syntax

interface Mode {
  dotAll: boolean;
  multiline: boolean;
}

function hex(cp: number): string {
  return `\\x{${cp.toString(16).toUpperCase()}}`;
}

function literal(cp: number): string {
  return /[A-Za-z0-9]/.test(String.fromCodePoint(cp)) ? String.fromCodePoint(cp) : hex(cp);
}

function ranges(set: CharSet): string {
  return set.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('');
}

/**
 * A set as an RE2 class. A negated set stays written as `[^...]`: with `i`, RE2 then folds case
 * before negating, as JavaScript does (`/[^a]/i` does not match `A`).
 */
function classOf(set: CharSet, negate = false): string {
  if (set.length === 0) return negate ? `[${ranges(ALL)}]` : `[^${ranges(ALL)}]`;
  return `[${negate ? '^' : ''}${ranges(set)}]`;
}

function escapeBase(node: AST.EscapeCharacterSet): CharSet {
  return node.kind === 'digit' ? DIGIT : node.kind === 'space' ? SPACE : WORD;
}

/** An escape's set inside a class, where a negated one has to be its complement. */
function escapeSet(node: AST.EscapeCharacterSet): CharSet {
  return node.negate ? complement(escapeBase(node)) : escapeBase(node);
}

/** Code points of an alternative's characters, with surrogate pairs joined (the text is matched as code points). */
function joinSurrogates<T extends { type: string }>(items: readonly T[]): (T | { type: 'Pair'; value: number })[] {
  const out: (T | { type: 'Pair'; value: number })[] = [];
  for (let i = 0; i < items.length; i++) {
    const a = items[i] as unknown as AST.Character;
    const b = items[i + 1] as unknown as AST.Character | undefined;
    if (a.type === 'Character' && b?.type === 'Character' && a.value >= 0xd800 && a.value <= 0xdbff && b.value >= 0xdc00 && b.value <= 0xdfff) {
      out.push({ type: 'Pair', value: 0x10000 + ((a.value - 0xd800) << 10) + (b.value - 0xdc00) });
      i++;
    } else out.push(items[i]!);
  }
  return out;
}

function characterClass(node: AST.CharacterClass): string {
  if (node.unicodeSets) throw new Unsupported('the `v` flag is not supported');
  const sets: CharSet[] = [];
  const props: string[] = [];
  for (const el of joinSurrogates(node.elements)) {
    if (el.type === 'Pair' || el.type === 'Character') sets.push([[el.value, el.value]]);
    else if (el.type === 'CharacterClassRange') sets.push([[el.min.value, el.max.value]]);
    else if (el.type === 'CharacterSet' && el.kind === 'property') props.push(property(el as AST.UnicodePropertyCharacterSet));
    else if (el.type === 'CharacterSet') sets.push(escapeSet(el as AST.EscapeCharacterSet));
    else throw new Unsupported(`\`${(el as AST.Node).raw}\` is not supported in a class`);
  }
  const set = union(...sets);
  if (props.length === 0) return classOf(set, node.negate);
  // a property written as a class (`\p{ASCII}` -> `[...]`) cannot nest in RE2's brackets
  if (props.some((p) => p.startsWith('['))) throw new Unsupported(`\`${node.raw}\`: \`\\p{ASCII}\` and \`\\p{Any}\` are not supported inside a class`);
  return `[${node.negate ? '^' : ''}${ranges(set)}${props.join('')}]`;
}

function alternatives(alts: AST.Alternative[], mode: Mode): string {
  return alts.map((a) => alternative(a, mode)).join('|');
}

function alternative(alt: AST.Alternative, mode: Mode): string {
  return joinSurrogates(alt.elements)
    .map((el) => (el.type === 'Pair' ? literal(el.value) : element(el as AST.Element, mode)))
    .join('');
}

function element(node: AST.Element, mode: Mode): string {
  switch (node.type) {
    case 'Character':
      return literal(node.value);
    case 'CharacterClass':
      return characterClass(node);
    case 'CharacterSet':
      if (node.kind === 'any') return mode.dotAll ? classOf(ALL) : classOf(LINE_TERMINATORS, true);
      if (node.kind === 'property') return property(node);
      return classOf(escapeBase(node), node.negate);
    case 'ExpressionCharacterClass':
      throw new Unsupported('the `v` flag is not supported');
    case 'Group': {
      if (!node.modifiers) return `(?:${alternatives(node.alternatives, mode)})`;
      // `(?i-m:...)` (ES2025): `s` and `m` change how `.` and the anchors are written out
      const { add, remove } = node.modifiers;
      const inner: Mode = {
        dotAll: add.dotAll ? true : remove?.dotAll ? false : mode.dotAll,
        multiline: add.multiline ? true : remove?.multiline ? false : mode.multiline,
      };
      const i = add.ignoreCase ? 'i' : remove?.ignoreCase ? '-i' : '';
      const body = alternatives(node.alternatives, inner);
      return i ? `(?${i}:${body})` : `(?:${body})`;
    }
    case 'CapturingGroup':
      // nothing reads captures: a plain group is the same match, and cheaper
      return `(?:${alternatives(node.alternatives, mode)})`;
    case 'Quantifier': {
      if (node.min > MAX_REPEAT || (node.max !== Infinity && node.max > MAX_REPEAT)) {
        throw new Unsupported(`\`${node.raw}\`: repetition counts over ${MAX_REPEAT} are not supported`);
      }
      const inner = `(?:${element(node.element, mode)})`;
      const q =
        node.min === 0 && node.max === Infinity ? '*' : node.min === 1 && node.max === Infinity ? '+' : node.min === 0 && node.max === 1 ? '?' : node.max === Infinity ? `{${node.min},}` : node.min === node.max ? `{${node.min}}` : `{${node.min},${node.max}}`;
      return `${inner}${q}${node.greedy ? '' : '?'}`;
    }
    case 'Assertion':
      switch (node.kind) {
        case 'start':
          return mode.multiline ? '(?m:^)' : '\\A';
        case 'end':
          // JavaScript ends a line before `\r` too: let a multiline `$` take the `\r` of a `\r\n`
          return mode.multiline ? '(?:\\r?(?m:$))' : '\\z';
        case 'word':
          return node.negate ? '\\B' : '\\b';
        case 'lookahead':
          throw new Unsupported(`lookahead \`${node.raw}\` is not supported: ${UNSUPPORTED}`);
        case 'lookbehind':
          throw new Unsupported(`lookbehind \`${node.raw}\` is not supported: ${UNSUPPORTED}`);
      }
      break;
    case 'Backreference':
      throw new Unsupported(`the backreference \`${node.raw}\` is not supported: ${UNSUPPORTED}`);
  }
  throw new Unsupported(`\`${(node as AST.Node).raw}\` is not supported`);
}

/** The pattern in RE2 syntax with JavaScript's meaning, or why it has none. */
export function toRe2(pattern: string, flags = ''): { source: string; caseInsensitive: boolean } | { error: string } {
  if (!FLAGS.test(flags)) return { error: `unsupported flags \`${flags}\` (use any of i, m, s, u)` };
  let ast: AST.Pattern;
  try {
    ast = new RegExpParser({ ecmaVersion: 2025 }).parsePattern(pattern, 0, pattern.length, { unicode: flags.includes('u') });
  } catch (e) {
    return { error: (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') };
  }
  try {
    const body = alternatives(ast.alternatives, { dotAll: flags.includes('s'), multiline: flags.includes('m') });
    return { source: body === '' ? '(?:)' : body, caseInsensitive: flags.includes('i') };
  } catch (e) {
    if (e instanceof Unsupported) return { error: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Compiling, with a cache (diagnostics recompile the same patterns on every keystroke)

const CACHE_LIMIT = 500;
const cache = new Map<string, CompiledRegex>();

/** V8's own reason a pattern is not JavaScript: "Invalid regular expression: /(a/: Unterminated group" -> "Unterminated group". */
function jsSyntaxError(pattern: string, flags: string): string | undefined {
  try {
    // compiling is linear in the pattern and runs nothing; only executing backtracks
    new RegExp(pattern, flags);
    return undefined;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /^Invalid regular expression: \/.*\/[a-z]*: (.*)$/s.exec(msg);
    return m ? m[1]! : msg;
  }
}

class Re2Regex implements BoundedRegex {
  constructor(
    readonly source: string,
    readonly flags: string,
    private readonly re: RE2JS,
  ) {}
  test(text: string): boolean {
    return this.re.test(text);
  }
  toString(): string {
    return `/${this.source}/${this.flags}`;
  }
}

/**
 * Compile a JavaScript-syntax pattern for bounded matching. Errors: not JavaScript (V8's message),
 * or a feature the linear engine lacks (lookaround, backreferences, a count over 1000).
 */
export function compileBoundedRegex(pattern: string, flags = ''): CompiledRegex {
  const key = `${flags}/${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let out: CompiledRegex;
  const syntax = FLAGS.test(flags) ? jsSyntaxError(pattern, flags) : `unsupported flags \`${flags}\` (use any of i, m, s, u)`;
  if (syntax !== undefined) out = { error: syntax };
  else {
    const t = toRe2(pattern, flags);
    if ('error' in t) out = t;
    else {
      try {
        out = { re: new Re2Regex(pattern, flags, RE2JS.compile(t.source, t.caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0)) };
      } catch (e) {
        // RE2's own limits: a program too large, repetitions nested past 1000 in all
        const why = (e as Error).message.replace(/^error parsing regexp: /, '');
        out = { error: `too large for the linear-time engine: ${why}` };
      }
    }
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, out);
  return out;
}

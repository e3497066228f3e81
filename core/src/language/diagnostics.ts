/**
 * Diagnostics for `.clawtask` files: YAML syntax, the schema (with human messages and exact
 * spans), and what a task means (ids, paths, files on disk, regexes, checks that prove nothing).
 *
 * The passes live in `diagnostics/`:
 * - `schemaPass.ts`: zod issues -> diagnostics, checks dispatched by their kind key;
 * - `semantic.ts`: the rules the schema cannot express;
 * - `evaluate.ts`: pure condition evaluators, shared with the verifier.
 *
 * Never throws: a bug in a pass costs that pass's diagnostics, not the editor's.
 */
import { forEachNode, forEachPair, isMap, isScalar, isSeq, nodeSpan, rootNode, firstLineOf, type Span, type YamlNode } from '../syntax';
import { isExtensionKey } from '../model/schema';
import type { Cancellation, Diagnostic, FileSystemHost, TaskDocument } from './types';
import { Collector, isPlainObject } from './diagnostics/context';
import { validateChecks, validateSchema } from './diagnostics/schemaPass';
import {
  checkAlternatives,
  checkDuplicateIds,
  checkNoChecks,
  checkPassesUntouched,
  checkPaths,
  checkRegexes,
  checkRubricFiles,
  collectChecks,
} from './diagnostics/semantic';

/**
 * Mappings whose keys are data, not format keys: `x-` keys there are kept (a file may well be
 * called `x-data.csv`). `*` matches any key or index.
 */
const DATA_MAPS: readonly (readonly string[])[] = [
  ['metadata'],
  ['workspace', 'files'],
  ['workspace', 'env'],
  ['verifier', 'checks', '*', 'json', 'equals'],
  ['verifier', 'checks', '*', 'csv', 'where'],
  ['verifier', 'rubric', '*', 'scores'],
];

function isDataMap(path: readonly (string | number)[]): boolean {
  return DATA_MAPS.some((p) => p.length === path.length && p.every((seg, i) => seg === '*' || seg === path[i]));
}

/** A copy of the document value without `x-` keys (except inside data maps, kept whole). */
export function stripExtensionKeys(v: unknown, path: (string | number)[] = []): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x, i) => (x !== null && typeof x === 'object' ? stripExtensionKeys(x, [...path, i]) : x));
  if (!isPlainObject(v)) return v;
  if (isDataMap(path)) {
    // keys are data; values may still be format objects (file entries)
    if (path.length === 2 && path[1] === 'files') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = stripExtensionKeys(x, [...path, k]);
      return out;
    }
    return v;
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!isExtensionKey(k)) out[k] = x !== null && typeof x === 'object' ? stripExtensionKeys(x, [...path, k]) : x;
  }
  return out;
}

/** Widen an empty span to one character where there is one, so editors show something. */
function visible(span: Span, text: string): Span {
  if (span.end > span.start) return span;
  const c = text.charCodeAt(span.start);
  if (span.start < text.length && c !== 10 && c !== 13) return { start: span.start, end: span.start + 1 };
  return span;
}

function syntaxDiagnostics(doc: TaskDocument): Diagnostic[] {
  const { parsed } = doc;
  const out: Diagnostic[] = [];
  let keySpans: Map<number, Span> | undefined;
  const errorLines = new Set<number>();
  for (const e of parsed.syntaxErrors) {
    if (e.yamlCode === 'DUPLICATE_KEY') {
      // yaml points at the key's first character; underline the whole key
      if (!keySpans) {
        keySpans = new Map();
        const m = keySpans;
        forEachPair(parsed, (pair) => {
          const s = nodeSpan(pair.key as YamlNode | null);
          if (s) m.set(s.start, s);
        });
      }
      const key = keySpans.get(e.span.start);
      const name = key ? parsed.text.slice(key.start, key.end) : undefined;
      out.push({
        span: key ?? visible(e.span, parsed.text),
        severity: 'error',
        code: 'duplicate-key',
        message: name ? `duplicate key \`${name}\`: a key may appear only once in a mapping` : e.message,
      });
      continue;
    }
    // yaml often reports one mistake several times on the same line; the first says it best
    const line = parsed.lines.positionAt(e.span.start).line;
    if (errorLines.has(line)) continue;
    errorLines.add(line);
    const flow = /end with a ([\]}])/.exec(e.message);
    const open = flow ? unclosedFlowAt(doc, e.span.start) : undefined;
    if (open !== undefined) {
      // yaml reports where the collection should have ended (the next line); the mistake is the
      // opening bracket that was never closed
      const [o, c] = flow![1] === ']' ? ['[', ']'] : ['{', '}'];
      out.push({ span: { start: open, end: open + 1 }, severity: 'error', code: 'yaml-syntax', message: `\`${o}\` is never closed: add \`${c}\` at the end of the value (a flow collection must stay inside its block)` });
      continue;
    }
    const quote = /^Missing closing (["'])quote/.exec(e.message);
    const qStart = quote ? unclosedQuoteAt(doc, e.span.start, quote[1]!) : undefined;
    if (qStart !== undefined) {
      // yaml reports the end of the file; the mistake is the quote that opened the string
      const span = { start: qStart, end: parsed.lines.lineEnd(parsed.lines.positionAt(qStart).line) };
      out.push({ span, severity: 'error', code: 'yaml-syntax', message: `this string is never closed: add the closing \`${quote![1]}\` (everything after it was read as part of the string)` });
      continue;
    }
    out.push({ span: visible(e.span, parsed.text), severity: e.severity, code: 'yaml-syntax', message: e.message });
  }
  return out;
}

/** The opening quote of the last quoted scalar that starts before `offset` and runs up to it. */
function unclosedQuoteAt(doc: TaskDocument, offset: number, q: string): number | undefined {
  const text = doc.parsed.text;
  let best: number | undefined;
  forEachNode(doc.parsed.doc.contents, (node) => {
    if (!isScalar(node)) return;
    const r = node.range;
    if (r && r[0] < offset && r[1] >= offset - 1 && text[r[0]] === q && (best === undefined || r[0] > best)) best = r[0];
  });
  return best;
}

/** The start of the innermost flow collection that ends (unclosed) right before `offset`. */
function unclosedFlowAt(doc: TaskDocument, offset: number): number | undefined {
  const text = doc.parsed.text;
  let best: number | undefined;
  forEachNode(doc.parsed.doc.contents, (node) => {
    if (!isMap(node) && !isSeq(node)) return;
    const r = node.range;
    if (node.flow && r && r[0] < offset && r[1] <= offset && text.slice(r[1], offset).trim() === '' && text[r[0]] === (isMap(node) ? '{' : '[')) {
      if (best === undefined || r[0] > best) best = r[0];
    }
  });
  return best;
}

/**
 * Regions a syntax error makes unreliable: from the line before the error to the end of its
 * line. Semantic diagnostics there are most likely consequences of the error, not news.
 */
function taintedRegions(doc: TaskDocument): Span[] {
  const { parsed } = doc;
  const regions: Span[] = [];
  for (const e of parsed.syntaxErrors) {
    if (e.severity !== 'error' || e.yamlCode === 'DUPLICATE_KEY') continue;
    const a = parsed.lines.positionAt(e.span.start).line;
    const b = parsed.lines.positionAt(e.span.end).line;
    regions.push({ start: parsed.lines.lineStart(Math.max(0, a - 1)), end: parsed.lines.lineEnd(b) });
  }
  return regions;
}

/** Codes that say "something is absent": with broken YAML, the absent part is usually just unparsable. */
const ABSENCE_CODES = new Set(['missing-field', 'no-checks', 'check-kind-missing', 'not-a-mapping', 'rubric-file-unmentioned']);

export function validateTask(doc: TaskDocument, fs: FileSystemHost, token?: Cancellation): Diagnostic[] {
  const cancelled = (): boolean => token?.isCancellationRequested === true;
  try {
    if (cancelled()) return [];
    const { parsed } = doc;
    const syntax = syntaxDiagnostics(doc);
    const tainted = taintedRegions(doc);
    const c = new Collector(parsed);

    const raw = parsed.value;
    if (!isPlainObject(raw)) {
      if (tainted.length === 0) {
        const root = rootNode(parsed);
        const s = nodeSpan(root);
        const what = raw === null || raw === undefined ? (parsed.text.trim() === '' ? 'the file is empty' : 'the document has no content') : Array.isArray(raw) ? 'the document is a list' : 'the document is a single value';
        const span = s && s.end > s.start ? firstLineOf(parsed, s) : { start: 0, end: parsed.lines.lineEnd(0) };
        c.add(span, 'error', 'not-a-mapping', `${what}: a task is a mapping with \`version\`, \`id\`, \`intent\` and \`verifier\``, { path: [], missing: ['version', 'id', 'intent', 'verifier'] });
      }
      return finish([...syntax, ...c.out], [], parsed.text);
    }
    const value = stripExtensionKeys(raw) as Record<string, unknown>;

    const passes: (() => void)[] = [
      () => validateSchema(c, value),
      () => validateChecks(c, value),
    ];
    const checks = collectChecks(value);
    let fromDir: string | undefined;
    let fromDirTo: string | undefined;
    passes.push(
      () => checkDuplicateIds(c, value),
      () => {
        ({ fromDir, fromDirTo } = checkPaths(c, value, checks, fs, doc.dir));
      },
      () => checkRegexes(c, checks),
      () => checkPassesUntouched(c, value, checks, fs, fromDir, fromDirTo),
      () => checkNoChecks(c, value),
      () => checkRubricFiles(c, value, checks),
      () => checkAlternatives(c, value, checks),
    );
    for (const pass of passes) {
      if (cancelled()) return [];
      try {
        pass();
      } catch {
        // a bug in one pass must not hide the others' diagnostics
      }
    }
    if (cancelled()) return [];
    return finish(syntax, c.out, parsed.text, tainted);
  } catch {
    return [];
  }
}

function finish(syntax: Diagnostic[], semantic: Diagnostic[], text: string, tainted: Span[] = []): Diagnostic[] {
  let kept = semantic;
  if (tainted.length > 0) {
    kept = semantic.filter((d) => !ABSENCE_CODES.has(d.code) && !tainted.some((t) => d.span.start <= t.end && d.span.end >= t.start));
  }
  const all = [...syntax, ...kept].map((d) => ({ ...d, span: visible(d.span, text) }));
  all.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  return all;
}


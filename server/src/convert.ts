/**
 * The boundary between core's plain data (UTF-16 offsets, string kinds) and LSP types.
 *
 * Pure functions, no connection state: the server calls them, the tests call them directly. Core
 * offsets are JavaScript string indices, i.e. UTF-16 code units, which is what LSP positions count
 * with `positionEncoding: utf-16`; the {@link LineIndex} of the parsed document turns one into the
 * other, so a span always converts against the exact text it was computed on.
 */
import type * as core from '../../core/src/language';
import type { LineIndex } from '../../core/src/syntax';
import { DIAGNOSTIC_CODES } from '../../core/src/language/types';
import {
  CodeActionKind,
  CompletionItemKind,
  DiagnosticSeverity,
  DiagnosticTag,
  FoldingRangeKind,
  InsertTextFormat,
  InsertTextMode,
  MarkupKind,
  SymbolKind,
  type CodeAction,
  type CodeLens,
  type CompletionItem,
  type Diagnostic,
  type DocumentSymbol,
  type FoldingRange,
  type Hover,
  type Position,
  type Range,
  type SymbolInformation,
  type TextEdit,
} from 'vscode-languageserver/node';

/** The `source` of every diagnostic this server publishes. */
export const DIAGNOSTIC_SOURCE = 'clawgym';

// ---------------------------------------------------------------------------------------------
// Positions

export function spanToRange(lines: LineIndex, span: core.Span): Range {
  const start = lines.positionAt(span.start);
  // An inverted span (never expected from core) collapses to its start rather than failing.
  const end = span.end > span.start ? lines.positionAt(span.end) : start;
  return { start, end };
}

/**
 * The offset of an LSP position, or undefined when the position is garbage (negative, fractional,
 * or on a line the document does not have). A character past the end of its line means the end of
 * the line, as the LSP specification says.
 */
export function positionToOffset(lines: LineIndex, pos: Position | undefined | null): number | undefined {
  if (!pos || !isNonNegativeInt(pos.line) || !isNonNegativeInt(pos.character)) return undefined;
  if (pos.line >= lines.lineCount) return undefined;
  return lines.offsetAt(pos);
}

export function rangeToSpan(lines: LineIndex, range: Range | undefined | null): core.Span | undefined {
  if (!range) return undefined;
  const start = positionToOffset(lines, range.start);
  const end = positionToOffset(lines, range.end);
  if (start === undefined || end === undefined) return undefined;
  return start <= end ? { start, end } : { start: end, end: start };
}

function isNonNegativeInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}

/** Caches conversions of equal spans (completion items mostly share one replace span). */
class RangeMemo {
  private readonly memo = new Map<string, Range>();
  constructor(private readonly lines: LineIndex) {}
  get(span: core.Span): Range {
    const key = `${span.start}:${span.end}`;
    let r = this.memo.get(key);
    if (!r) {
      r = spanToRange(this.lines, span);
      this.memo.set(key, r);
    }
    return r;
  }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

const SEVERITY_TO_LSP: Record<core.Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

const SEVERITY_FROM_LSP = new Map(Object.entries(SEVERITY_TO_LSP).map(([k, v]) => [v, k as core.Severity]));

const TAG_TO_LSP: Record<'unnecessary' | 'deprecated', DiagnosticTag> = {
  unnecessary: DiagnosticTag.Unnecessary,
  deprecated: DiagnosticTag.Deprecated,
};
const TAG_FROM_LSP = new Map(Object.entries(TAG_TO_LSP).map(([k, v]) => [v, k as 'unnecessary' | 'deprecated']));

export function toLspDiagnostic(lines: LineIndex, d: core.Diagnostic): Diagnostic {
  const out: Diagnostic = {
    range: spanToRange(lines, d.span),
    severity: SEVERITY_TO_LSP[d.severity] ?? DiagnosticSeverity.Error,
    code: d.code,
    source: DIAGNOSTIC_SOURCE,
    message: d.message,
  };
  // `data` travels to the client and back in codeAction requests: quick fixes read it there.
  if (d.data !== undefined) out.data = d.data;
  if (d.tags && d.tags.length > 0) out.tags = d.tags.map((t) => TAG_TO_LSP[t]).filter((t) => t !== undefined);
  return out;
}

function isDiagnosticCode(code: unknown): code is core.DiagnosticCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(DIAGNOSTIC_CODES, code);
}

/**
 * A diagnostic the client sends back (in a codeAction context) as the core diagnostic it came from,
 * or undefined when it is not ours or cannot be mapped onto this version of the document.
 */
export function fromLspDiagnostic(lines: LineIndex, d: Diagnostic): core.Diagnostic | undefined {
  if (!d || typeof d !== 'object') return undefined;
  if (d.source !== undefined && d.source !== DIAGNOSTIC_SOURCE) return undefined;
  if (!isDiagnosticCode(d.code)) return undefined;
  const span = rangeToSpan(lines, d.range);
  if (!span) return undefined;
  const out: core.Diagnostic = {
    span,
    severity: (d.severity !== undefined ? SEVERITY_FROM_LSP.get(d.severity) : undefined) ?? 'error',
    code: d.code,
    message: typeof d.message === 'string' ? d.message : '',
  };
  if (d.data !== undefined && d.data !== null && typeof d.data === 'object') out.data = d.data as core.DiagnosticData;
  const tags = (d.tags ?? []).flatMap((t) => {
    const tag = TAG_FROM_LSP.get(t);
    return tag ? [tag] : [];
  });
  if (tags.length > 0) out.tags = tags;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Completion

const COMPLETION_KIND: Record<core.CompletionKind, CompletionItemKind> = {
  property: CompletionItemKind.Property,
  value: CompletionItemKind.Value,
  enum: CompletionItemKind.EnumMember,
  snippet: CompletionItemKind.Snippet,
  file: CompletionItemKind.File,
  folder: CompletionItemKind.Folder,
  keyword: CompletionItemKind.Keyword,
};

export interface CompletionOptions {
  /** The client accepts `InsertReplaceEdit` (insert = up to the cursor, replace = the whole word). */
  insertReplace: boolean;
  /** The client accepts snippet syntax; otherwise snippets are flattened to plain text. */
  snippets: boolean;
  /** The client renders markdown documentation. */
  markdown: boolean;
}

export const TRIGGER_SUGGEST = { title: 'Re-trigger completions', command: 'editor.action.triggerSuggest' };

export function toLspCompletionItems(
  lines: LineIndex,
  offset: number,
  items: core.CompletionItem[],
  opts: CompletionOptions,
): CompletionItem[] {
  const ranges = new RangeMemo(lines);
  return items.map((item) => {
    const replace = ranges.get(item.replace);
    const snippet = item.isSnippet === true && opts.snippets;
    const newText = item.isSnippet === true && !opts.snippets ? snippetToPlainText(item.insertText) : item.insertText;
    const out: CompletionItem = {
      label: item.label,
      kind: COMPLETION_KIND[item.kind] ?? CompletionItemKind.Text,
      insertTextFormat: snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
    };
    // core's multi-line snippets carry absolute indentation: the client must not re-indent them.
    if (newText.includes('\n')) out.insertTextMode = InsertTextMode.asIs;
    if (opts.insertReplace && item.replace.start <= offset && offset <= item.replace.end) {
      out.textEdit = { newText, insert: ranges.get({ start: item.replace.start, end: offset }), replace };
    } else {
      out.textEdit = { newText, range: replace };
    }
    if (item.detail !== undefined) out.detail = item.detail;
    if (item.documentation !== undefined) {
      out.documentation = opts.markdown ? { kind: MarkupKind.Markdown, value: item.documentation } : item.documentation;
    }
    if (item.sortText !== undefined) out.sortText = item.sortText;
    if (item.filterText !== undefined) out.filterText = item.filterText;
    if (item.additionalEdits && item.additionalEdits.length > 0) {
      out.additionalTextEdits = item.additionalEdits.map((e) => toLspTextEdit(lines, e));
    }
    if (item.retrigger === true) out.command = TRIGGER_SUGGEST;
    return out;
  });
}

/** `${1:name}` -> `name`, `$1`/`$0` -> ``, `\$` -> `$`: what a client without snippet support should insert. */
export function snippetToPlainText(snippet: string): string {
  let out = '';
  let i = 0;
  const s = snippet;
  const readPlaceholder = (): string => {
    // at `${`: parse `${N}`, `${N:default}` or `${N|a,b|}` with nesting
    i += 2;
    while (i < s.length && /[0-9]/.test(s[i]!)) i++;
    let text = '';
    if (s[i] === ':') {
      i++;
      while (i < s.length && s[i] !== '}') {
        if (s[i] === '\\' && i + 1 < s.length) {
          text += s[i + 1];
          i += 2;
        } else if (s[i] === '$' && s[i + 1] === '{') {
          text += readPlaceholder();
        } else if (s[i] === '$' && /[0-9]/.test(s[i + 1] ?? '')) {
          i++;
          while (i < s.length && /[0-9]/.test(s[i]!)) i++;
        } else {
          text += s[i];
          i++;
        }
      }
    } else if (s[i] === '|') {
      const end = s.indexOf('|', i + 1);
      text = s.slice(i + 1, end < 0 ? s.length : end).split(',')[0] ?? '';
      i = end < 0 ? s.length : end + 1;
    }
    while (i < s.length && s[i] !== '}') i++;
    i++; // the closing brace
    return text;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length && '$}\\'.includes(s[i + 1]!)) {
      out += s[i + 1];
      i += 2;
    } else if (c === '$' && s[i + 1] === '{') {
      out += readPlaceholder();
    } else if (c === '$' && /[0-9]/.test(s[i + 1] ?? '')) {
      i++;
      while (i < s.length && /[0-9]/.test(s[i]!)) i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

export function toLspTextEdit(lines: LineIndex, e: core.TextEdit): TextEdit {
  return { range: spanToRange(lines, e.span), newText: e.newText };
}

// ---------------------------------------------------------------------------------------------
// Hover, symbols, folding, code actions, code lenses

export function toLspHover(lines: LineIndex, h: core.Hover, markdown: boolean): Hover {
  return {
    contents: markdown ? { kind: MarkupKind.Markdown, value: h.markdown } : { kind: MarkupKind.PlainText, value: h.markdown },
    range: spanToRange(lines, h.span),
  };
}

const SYMBOL_KIND: Record<core.SymbolKind, SymbolKind> = {
  object: SymbolKind.Object,
  array: SymbolKind.Array,
  string: SymbolKind.String,
  number: SymbolKind.Number,
  boolean: SymbolKind.Boolean,
  key: SymbolKind.Key,
  check: SymbolKind.Function,
  file: SymbolKind.File,
  event: SymbolKind.Event,
};

function contains(outer: Range, inner: Range): boolean {
  const before = (a: Position, b: Position): boolean => a.line < b.line || (a.line === b.line && a.character <= b.character);
  return before(outer.start, inner.start) && before(inner.end, outer.end);
}

/** Hierarchical symbols. Guards what VS Code rejects: empty names and a selection outside the range. */
export function toLspDocumentSymbols(lines: LineIndex, symbols: core.DocumentSymbol[]): DocumentSymbol[] {
  return symbols.map((s) => {
    const range = spanToRange(lines, s.span);
    let selectionRange = spanToRange(lines, s.selectionSpan);
    if (!contains(range, selectionRange)) selectionRange = { start: range.start, end: range.start };
    const out: DocumentSymbol = {
      name: s.name.trim() === '' ? '""' : s.name,
      kind: SYMBOL_KIND[s.kind] ?? SymbolKind.Key,
      range,
      selectionRange,
      children: toLspDocumentSymbols(lines, s.children ?? []),
    };
    if (s.detail !== undefined) out.detail = s.detail;
    return out;
  });
}

/** For clients without hierarchical symbol support: a flat list with container names. */
export function flattenSymbols(uri: string, symbols: DocumentSymbol[], container?: string): SymbolInformation[] {
  const out: SymbolInformation[] = [];
  for (const s of symbols) {
    const info: SymbolInformation = { name: s.name, kind: s.kind, location: { uri, range: s.range } };
    if (container !== undefined) info.containerName = container;
    out.push(info, ...flattenSymbols(uri, s.children ?? [], s.name));
  }
  return out;
}

export function toLspFoldingRanges(ranges: core.FoldingRange[], lineCount: number): FoldingRange[] {
  const out: FoldingRange[] = [];
  for (const r of ranges) {
    if (!(r.startLine >= 0 && r.endLine > r.startLine && r.endLine < lineCount)) continue;
    const f: FoldingRange = { startLine: r.startLine, endLine: r.endLine };
    if (r.kind === 'comment') f.kind = FoldingRangeKind.Comment;
    else if (r.kind === 'region') f.kind = FoldingRangeKind.Region;
    out.push(f);
  }
  return out;
}

const ACTION_KIND: Record<core.CodeAction['kind'], string> = {
  quickfix: CodeActionKind.QuickFix,
  refactor: CodeActionKind.Refactor,
  source: CodeActionKind.Source,
};

/**
 * `lspFor` maps a core diagnostic back to the LSP diagnostic the client sent, so the client can
 * associate the fix with the squiggle it already shows; unknown ones are converted afresh.
 */
export function toLspCodeAction(
  lines: LineIndex,
  uri: string,
  version: number | null,
  a: core.CodeAction,
  lspFor: (d: core.Diagnostic) => Diagnostic | undefined,
  documentChanges: boolean,
): CodeAction {
  const edits = a.edits.map((e) => toLspTextEdit(lines, e));
  const out: CodeAction = {
    title: a.title,
    kind: ACTION_KIND[a.kind] ?? CodeActionKind.QuickFix,
    edit: documentChanges
      ? { documentChanges: [{ textDocument: { uri, version }, edits }] }
      : { changes: { [uri]: edits } },
  };
  if (a.diagnostics.length > 0) out.diagnostics = a.diagnostics.map((d) => lspFor(d) ?? toLspDiagnostic(lines, d));
  if (a.isPreferred === true) out.isPreferred = true;
  return out;
}

export function toLspCodeLens(lines: LineIndex, l: core.CodeLens): CodeLens {
  return { range: spanToRange(lines, l.span), command: { title: l.title, command: l.command, arguments: l.args } };
}

/** Whether a code action kind passes the client's `only` filter (a kind matches its sub-kinds). */
export function kindAllowed(kind: string, only: string[] | undefined): boolean {
  if (!only || only.length === 0) return true;
  return only.some((o) => kind === o || kind.startsWith(`${o}.`));
}

/**
 * Turning diagnostics into what the CLI prints: `file:line:col severity code message` lines, a
 * JSON array, and the summary line. Pure functions (no I/O).
 *
 * Lines and columns are 1-based; columns count UTF-16 code units (JavaScript string indices, as
 * LSP and VS Code do), so a column after an emoji is one more than the number of characters.
 */
import * as nodePath from 'node:path';
import type { FileDiagnostics } from '../../core/src/clawgym';
import type { DiagnosticCode, Severity } from '../../core/src/language/types';
import { LineIndex } from '../../core/src/syntax';

/** One diagnostic with its file and 1-based positions: the shape of `--json` output. */
export interface LocatedDiagnostic {
  /** Relative to the working directory (`/` separators), or absolute when outside it. */
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: DiagnosticCode;
  message: string;
}

/** The path as printed: relative to `cwd` when inside it, with `/` separators. */
export function displayPath(file: string, cwd: string): string {
  const rel = nodePath.relative(cwd, file);
  if (rel === '') return '.';
  const outside = rel === '..' || rel.startsWith('..' + nodePath.sep) || nodePath.isAbsolute(rel);
  if (outside) return file.split(nodePath.sep).join('/');
  return rel.split(nodePath.sep).join('/');
}

/** Resolve spans to 1-based line/column pairs. Reports without text sit at 1:1. */
export function locate(reports: readonly FileDiagnostics[], cwd: string): LocatedDiagnostic[] {
  const out: LocatedDiagnostic[] = [];
  for (const r of reports) {
    const file = displayPath(r.file, cwd);
    const index = r.text !== undefined ? new LineIndex(r.text) : undefined;
    for (const d of r.diagnostics) {
      const start = index ? index.positionAt(d.span.start) : { line: 0, character: 0 };
      const end = index ? index.positionAt(Math.max(d.span.end, d.span.start)) : start;
      out.push({
        file,
        line: start.line + 1,
        column: start.character + 1,
        endLine: end.line + 1,
        endColumn: end.character + 1,
        severity: d.severity,
        code: d.code,
        // One diagnostic, one line: a stray line break must not split the output.
        message: d.message.replace(/\s*[\r\n]+\s*/g, ' '),
      });
    }
  }
  return out;
}

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2, hint: 3 };

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** By file (code-unit order), then position, then severity and code: stable across machines. */
export function sortDiagnostics(list: LocatedDiagnostic[]): LocatedDiagnostic[] {
  return list.sort(
    (a, b) =>
      cmp(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      cmp(a.code, b.code) ||
      cmp(a.message, b.message),
  );
}

const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
} as const;

const SEVERITY_COLOR: Record<Severity, string> = { error: ANSI.red, warning: ANSI.yellow, info: ANSI.cyan, hint: ANSI.dim };

/** `file:line:col severity code message`, optionally with ANSI colors. */
export function formatLine(d: LocatedDiagnostic, color = false): string {
  if (!color) return `${d.file}:${d.line}:${d.column} ${d.severity} ${d.code} ${d.message}`;
  return (
    `${ANSI.bold}${d.file}:${d.line}:${d.column}${ANSI.reset} ` +
    `${SEVERITY_COLOR[d.severity]}${d.severity}${ANSI.reset} ${ANSI.dim}${d.code}${ANSI.reset} ${d.message}`
  );
}

/** The `--json` document: an array with a fixed key order. */
export function formatJson(list: readonly LocatedDiagnostic[]): string {
  const rows = list.map((d) => ({
    file: d.file,
    line: d.line,
    column: d.column,
    endLine: d.endLine,
    endColumn: d.endColumn,
    severity: d.severity,
    code: d.code,
    message: d.message,
  }));
  return JSON.stringify(rows, null, 2);
}

export interface Counts {
  files: number;
  errors: number;
  warnings: number;
}

export function countDiagnostics(files: number, list: readonly LocatedDiagnostic[]): Counts {
  let errors = 0;
  let warnings = 0;
  for (const d of list) {
    if (d.severity === 'error') errors++;
    else if (d.severity === 'warning') warnings++;
  }
  return { files, errors, warnings };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `3 files checked: 1 error, 2 warnings`. */
export function formatSummary(c: Counts): string {
  return `${plural(c.files, 'file')} checked: ${plural(c.errors, 'error')}, ${plural(c.warnings, 'warning')}`;
}

/**
 * Colors only for a terminal, and never when NO_COLOR is set to a non-empty value
 * (https://no-color.org). FORCE_COLOR (non-empty, not `0`) forces them, e.g. in CI logs.
 */
export function useColor(isTTY: boolean, env: Readonly<Record<string, string | undefined>>, flag?: boolean): boolean {
  if (flag !== undefined) return flag;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return isTTY;
}

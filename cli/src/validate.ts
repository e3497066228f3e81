/**
 * `clawgym validate`: find tasks, validate each with the core engine, print, pick the exit code.
 */
import * as fs from 'node:fs';
import { findTasks, readClawGymTask, type FileDiagnostics, type TaskEntry } from '../../core/src/clawgym';
import { cachedFileSystem, createTaskDocument, nodeFileSystem, validateTask, type FileSystemHost } from '../../core/src/language';
import type { ValidateOptions } from './args';
import { countDiagnostics, formatJson, formatLine, formatSummary, locate, sortDiagnostics, useColor, type LocatedDiagnostic } from './report';

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;

/** Where the command writes; injected so tests can run it in-process. */
export interface Io {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdoutIsTTY: boolean;
}

/** Validate one `.clawtask` file. */
export function validateClawtaskFile(path: string, host: FileSystemHost): FileDiagnostics {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    return { file: path, diagnostics: [{ span: { start: 0, end: 0 }, severity: 'error', code: 'missing-file', message: `cannot read the file: ${reason}` }] };
  }
  // Editors drop a byte-order mark from the text; do the same so columns agree with them.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const doc = createTaskDocument(path, 0, text);
  return { file: path, text, diagnostics: validateTask(doc, host) };
}

/** Validate one task found by {@link findTasks}. */
export function validateEntry(entry: TaskEntry, host: FileSystemHost): FileDiagnostics[] {
  return entry.kind === 'clawtask' ? [validateClawtaskFile(entry.path, host)] : readClawGymTask(entry.path).reports;
}

/** Run `clawgym validate`; returns the exit code. */
export function runValidate(paths: readonly string[], options: ValidateOptions, io: Io): number {
  const found = findTasks(paths, io.cwd);
  if (found.missing.length) {
    for (const m of found.missing) io.stderr(`clawgym: path not found: ${m}\n`);
    return EXIT_USAGE;
  }
  if (found.tasks.length === 0) {
    io.stderr(`clawgym: no .clawtask files or ClawGym task directories found in ${paths.join(', ')}\n`);
    return EXIT_USAGE;
  }

  // One stat cache for the whole run: tasks in one folder share their parents' lookups.
  const host = cachedFileSystem(nodeFileSystem, 60_000);
  let all: LocatedDiagnostic[] = [];
  let internalErrors = 0;
  for (const entry of found.tasks) {
    try {
      all.push(...locate(validateEntry(entry, host), io.cwd));
    } catch (e) {
      // Validation must never throw; if it does, say so and keep going with the other tasks.
      internalErrors++;
      io.stderr(`clawgym: internal error while validating ${entry.path}: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    }
  }
  const counts = countDiagnostics(found.tasks.length, all);
  counts.errors += internalErrors;

  if (options.quiet) all = all.filter((d) => d.severity === 'error');
  sortDiagnostics(all);
  if (options.json) {
    io.stdout(formatJson(all) + '\n');
  } else {
    const color = useColor(io.stdoutIsTTY, io.env, options.color);
    let out = '';
    for (const d of all) out += formatLine(d, color) + '\n';
    if (out) io.stdout(out);
  }
  io.stderr(formatSummary(counts) + '\n');

  if (counts.errors > 0) return EXIT_PROBLEMS;
  if (options.strict && counts.warnings > 0) return EXIT_PROBLEMS;
  return EXIT_OK;
}

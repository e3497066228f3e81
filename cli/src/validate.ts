/**
 * `clawgym validate`: find tasks, validate each with the core engine, print, pick the exit code.
 */
import { findTasks, type FileDiagnostics, type TaskEntry } from '../../core/src/clawgym';
import { cachedFileSystem, nodeFileSystem, type FileSystemHost } from '../../core/src/language';
import { loadTask } from '../../core/src/run/load';
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

/**
 * Validate one task found by {@link findTasks}: the diagnostics plus every problem with the files
 * it names that `clawgym run` would refuse (symlinks that leave the folder, FIFOs, devices, files
 * over their caps), checked as the loader checks them but without reading the files copied in.
 */
export function validateEntry(entry: TaskEntry, host: FileSystemHost): FileDiagnostics[] {
  return loadTask(entry, { host, contents: false }).reports;
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

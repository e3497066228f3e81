/**
 * Expanding command-line paths into tasks: `.clawtask` files and ClawGym task directories.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { DATA_ENTRY_FILE, isClawGymTaskDir } from './task';

export const CLAWTASK_EXTENSION = '.clawtask';

export type TaskEntry =
  | { kind: 'clawtask'; /** Absolute path of the file. */ path: string }
  | { kind: 'clawgym'; /** Absolute path of the task directory. */ path: string };

export interface FoundTasks {
  /** In discovery order: arguments in the order given, each folder expanded in sorted name order. */
  tasks: TaskEntry[];
  /** Arguments that do not exist, as given. */
  missing: string[];
}

export interface FindOptions {
  /**
   * For running: a ClawGym task directory that also holds `.clawtask` files (what `clawgym import`
   * writes) yields only those, not the directory as well, so the task runs once. Validation lists both.
   */
  onePerTask?: boolean;
}

/** Names compared by code unit, not locale: the same order on every machine. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Expand paths into tasks:
 * - a file is a `.clawtask` task (whatever its extension: it was named explicitly), except a
 *   `data_entry.json`, which stands for its ClawGym task directory;
 * - a ClawGym task directory (see {@link isClawGymTaskDir}) is one task, plus any `.clawtask`
 *   files directly inside it;
 * - any other directory is searched recursively for `.clawtask` files and ClawGym task
 *   directories, in sorted order, skipping `node_modules` and dot-directories. Symlinked
 *   directories are not followed (no cycles).
 * Relative paths resolve against `cwd`. A task reached twice is listed once.
 */
export function findTasks(paths: readonly string[], cwd: string = process.cwd(), options: FindOptions = {}): FoundTasks {
  const tasks: TaskEntry[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  const add = (kind: TaskEntry['kind'], path: string): void => {
    const key = `${kind}:${path}`;
    if (seen.has(key)) return;
    seen.add(key);
    tasks.push({ kind, path });
  };

  const clawtasksIn = (dir: string, entries: fs.Dirent[]): void => {
    for (const e of entries) {
      if (!e.name.endsWith(CLAWTASK_EXTENSION)) continue;
      const p = nodePath.join(dir, e.name);
      if (e.isFile() || (e.isSymbolicLink() && isFile(p))) add('clawtask', p);
    }
  };

  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => byName(a.name, b.name));
    } catch {
      return;
    }
    if (isClawGymTaskDir(dir)) {
      // An imported task holds its original data_entry.json beside the .clawtask: one task, not two.
      const hasClawtask = entries.some((e) => e.name.endsWith(CLAWTASK_EXTENSION));
      if (!(options.onePerTask && hasClawtask)) add('clawgym', dir);
      clawtasksIn(dir, entries);
      return;
    }
    for (const e of entries) {
      const p = nodePath.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name.startsWith('.') || e.name === 'node_modules' || depth >= 64) continue;
        walk(p, depth + 1);
      } else if (e.name.endsWith(CLAWTASK_EXTENSION) && (e.isFile() || (e.isSymbolicLink() && isFile(p)))) {
        add('clawtask', p);
      }
    }
  };

  for (const arg of paths) {
    const abs = nodePath.resolve(cwd, arg);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      missing.push(arg);
      continue;
    }
    if (st.isDirectory()) walk(abs, 0);
    else if (nodePath.basename(abs) === DATA_ENTRY_FILE) add('clawgym', nodePath.dirname(abs));
    else add('clawtask', abs);
  }
  return { tasks, missing };
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

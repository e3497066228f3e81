import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { FileSystemHost } from './types';

/** The real disk, read synchronously (stat is microseconds; validation stays one pass). */
export const nodeFileSystem: FileSystemHost = {
  stat(path) {
    try {
      const s = fs.statSync(path);
      return { isFile: s.isFile(), isDirectory: s.isDirectory() };
    } catch {
      return undefined;
    }
  },
  readDir(path) {
    try {
      return fs.readdirSync(path, { withFileTypes: true }).map((d) => ({ name: d.name, isDirectory: d.isDirectory() }));
    } catch {
      return [];
    }
  },
};

/**
 * An in-memory tree for tests: keys are absolute paths of files (content ignored); folders are
 * implied by their files, or listed with a trailing `/`.
 */
export function memoryFileSystem(paths: string[]): FileSystemHost {
  const files = new Set<string>();
  const dirs = new Set<string>(['/']);
  for (const p of paths) {
    const isDir = p.endsWith('/');
    const clean = nodePath.posix.normalize(isDir ? p.slice(0, -1) : p);
    if (isDir) dirs.add(clean);
    else files.add(clean);
    let d = nodePath.posix.dirname(clean);
    while (!dirs.has(d)) {
      dirs.add(d);
      d = nodePath.posix.dirname(d);
    }
  }
  return {
    stat(path) {
      const p = nodePath.posix.normalize(path);
      if (files.has(p)) return { isFile: true, isDirectory: false };
      if (dirs.has(p)) return { isFile: false, isDirectory: true };
      return undefined;
    },
    readDir(path) {
      const p = nodePath.posix.normalize(path);
      const out: { name: string; isDirectory: boolean }[] = [];
      for (const f of files) if (nodePath.posix.dirname(f) === p) out.push({ name: nodePath.posix.basename(f), isDirectory: false });
      for (const d of dirs) if (d !== p && nodePath.posix.dirname(d) === p) out.push({ name: nodePath.posix.basename(d), isDirectory: true });
      return out.sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}

/** Wraps a host with a short-lived memo so one validation pass stats each path once. */
export function cachedFileSystem(host: FileSystemHost, ttlMs = 1000): FileSystemHost {
  const stats = new Map<string, { at: number; v: ReturnType<FileSystemHost['stat']> }>();
  const dirs = new Map<string, { at: number; v: ReturnType<FileSystemHost['readDir']> }>();
  return {
    stat(path) {
      const now = Date.now();
      const hit = stats.get(path);
      if (hit && now - hit.at < ttlMs) return hit.v;
      const v = host.stat(path);
      stats.set(path, { at: now, v });
      if (stats.size > 10_000) stats.clear();
      return v;
    },
    readDir(path) {
      const now = Date.now();
      const hit = dirs.get(path);
      if (hit && now - hit.at < ttlMs) return hit.v;
      const v = host.readDir(path);
      dirs.set(path, { at: now, v });
      if (dirs.size > 1_000) dirs.clear();
      return v;
    },
  };
}

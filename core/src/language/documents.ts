/**
 * Parse once per (uri, version): every feature asks the cache, so a burst of requests after one
 * keystroke (diagnostics, symbols, folding, code lens) shares one parse. The cache is an object the
 * host creates and injects, never a module singleton.
 */
import * as nodePath from 'node:path';
import { parseTask, type ParsedTask } from '../syntax';
import { reparseTask } from '../syntax/incremental';
import type { TaskDocument } from './types';

export function createTaskDocument(uri: string, version: number, text: string, dir?: string, parsed?: ParsedTask): TaskDocument {
  return { uri, version, parsed: parsed ?? parseTask(text), dir: dir ?? dirFromUri(uri) };
}

/** The directory of a `file:` URI or an absolute path; undefined for untitled/virtual documents. */
export function dirFromUri(uri: string): string | undefined {
  if (uri.startsWith('file://')) {
    try {
      return nodePath.dirname(decodeURIComponent(new URL(uri).pathname));
    } catch {
      return undefined;
    }
  }
  if (nodePath.isAbsolute(uri)) return nodePath.dirname(uri);
  return undefined;
}

export class TaskDocumentCache {
  private readonly docs = new Map<string, TaskDocument>();
  /** How many parses the cache has done (for tests and benchmarks). */
  parses = 0;

  /**
   * The parsed document for this exact (uri, version); parses only when the version changed, and
   * then re-parses incrementally from the previous version (see syntax/incremental.ts), whose tree
   * it reuses: the previous TaskDocument must not be used afterwards.
   */
  get(uri: string, version: number, text: () => string): TaskDocument {
    const hit = this.docs.get(uri);
    if (hit && hit.version === version) return hit;
    this.parses++;
    const t = text();
    const doc = createTaskDocument(uri, version, t, undefined, reparseTask(hit?.parsed, t));
    this.docs.set(uri, doc);
    return doc;
  }

  delete(uri: string): void {
    this.docs.delete(uri);
  }

  get size(): number {
    return this.docs.size;
  }
}

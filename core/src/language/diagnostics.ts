// PLACEHOLDER — owned by the diagnostics helper; replaced before landing.
import type { Cancellation, Diagnostic, FileSystemHost, TaskDocument } from './types';
export function validateTask(_doc: TaskDocument, _fs: FileSystemHost, _token?: Cancellation): Diagnostic[] {
  return [];
}

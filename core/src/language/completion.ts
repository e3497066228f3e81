// PLACEHOLDER — owned by the completion helper; replaced before landing.
import type { Cancellation, CompletionItem, FileSystemHost, TaskDocument } from './types';
export function complete(_doc: TaskDocument, _offset: number, _fs: FileSystemHost, _token?: Cancellation): CompletionItem[] {
  return [];
}

// PLACEHOLDER — owned by the structure helper; replaced before landing.
import type { CodeLens, TaskDocument } from './types';
export function codeLenses(_doc: TaskDocument): CodeLens[] {
  return [];
}

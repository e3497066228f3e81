// PLACEHOLDER — owned by the completion helper; replaced before landing.
import type { Hover, TaskDocument } from './types';
export function hover(_doc: TaskDocument, _offset: number): Hover | null {
  return null;
}

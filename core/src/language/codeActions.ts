// PLACEHOLDER — owned by the structure helper; replaced before landing.
import type { CodeAction, Diagnostic, Span, TaskDocument } from './types';
export function codeActions(_doc: TaskDocument, _span: Span, _diagnostics: Diagnostic[]): CodeAction[] {
  return [];
}

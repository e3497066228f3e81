/**
 * Hover documentation, straight from the schema's descriptions (see `schemaNav.ts`).
 */
import { isExtensionKey } from '../model/schema';
import { isMap, isScalar, lookupPath, nodeAtOffset, nodeSpan, type NodePath } from '../syntax';
import { schemaAt, schemaDisplayPath, typeLabel, variantFor, type SchemaInfo } from './schemaNav';
import type { Hover, TaskDocument } from './types';

const KEPT_AS_IS = 'Kept as is for tools: the format does not check what is written here.';

function code(text: string): string {
  const ticks = text.includes('`') ? '``' : '`';
  return `${ticks}${text}${ticks}`;
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The keys the mapping at `path` holds, to pick a check's variant. */
function keysAt(doc: TaskDocument, path: NodePath): string[] {
  const { node, depth } = lookupPath(doc.parsed, path);
  if (depth !== path.length || !isMap(node)) return [];
  return node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')).filter(Boolean);
}

function details(info: SchemaInfo): string[] {
  const out: string[] = [];
  if (info.description) out.push(info.description);
  if (info.default !== undefined) out.push(`Default: ${code(show(info.default))}`);
  if (info.examples && info.examples.length > 0) out.push(`Example${info.examples.length > 1 ? 's' : ''}: ${info.examples.map((e) => code(show(e))).join(', ')}`);
  return out;
}

function keyHover(doc: TaskDocument, path: NodePath): string | undefined {
  const info = schemaAt(path);
  if (!info) return undefined;
  const parentPath = path.slice(0, -1);
  const parent = schemaAt(parentPath);
  const name = path[path.length - 1];
  const variant = parent ? variantFor(parent, keysAt(doc, parentPath)) : undefined;
  const isKind = typeof name === 'string' && !!parent?.variants?.some((v) => v.discriminator === name);
  const required = typeof name === 'string' && !!(variant?.schema ?? parent)?.required?.includes(name);
  const head = `${code(schemaDisplayPath(path))} · ${code(typeLabel(info))}${required && !isKind ? ' · required' : ''}`;
  if (isKind) {
    const kind = parent!.variants!.find((v) => v.discriminator === name)!;
    const lines = [`**Check kind ${code(name)}** · ${code(typeLabel(info))}`, ...details(info)];
    if (kind.schema.description && kind.schema.description !== info.description) lines.push(kind.schema.description);
    return lines.join('\n\n');
  }
  return [head, ...details(info)].join('\n\n');
}

function valueHover(path: NodePath, value: unknown): string | undefined {
  const info = schemaAt(path);
  if (!info?.enum || !info.enum.some((v) => v === value)) return undefined;
  const lines = [`${code(show(value))}: one of ${info.enum.map((v) => code(show(v))).join(', ')} (${code(schemaDisplayPath(path))})`];
  if (info.description) lines.push(info.description);
  return lines.join('\n\n');
}

/** Hover at `offset`: documentation of the key, or of an enum value. Never throws. */
export function hover(doc: TaskDocument, offset: number): Hover | null {
  try {
    const at = nodeAtOffset(doc.parsed, offset);
    if (!at.node || at.path.length === 0 || at.where === 'empty') return null;
    const span = nodeSpan(at.node);
    if (!span) return null;
    // Only a scalar under the caret: a hover over a whole block would cover the screen.
    if (!isScalar(at.node)) return null;
    const path = at.path;
    const free = path[0] === 'metadata' && (path.length > 1 || at.where === 'value');
    const ext = path.some((s) => typeof s === 'string' && isExtensionKey(s));
    if (free || ext) {
      const name = at.where === 'key' ? code(String(path[path.length - 1])) : 'This value';
      return { span, markdown: `${name}: ${KEPT_AS_IS}` };
    }
    const markdown = at.where === 'key' ? keyHover(doc, path) : valueHover(path, at.node.value);
    return markdown ? { span, markdown } : null;
  } catch {
    return null;
  }
}

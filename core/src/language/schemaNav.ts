/**
 * Schema navigation: "what does the format say about the node at this path?"
 *
 * Derived from the JSON Schema that {@link taskJsonSchema} generates from the zod model, compiled
 * once (lazily) into a small tree of {@link SchemaInfo}. Completion, hover and code actions read
 * descriptions, required fields, enums and examples from here, so the zod model stays the single
 * source of truth: nothing in this module restates what a key means.
 *
 * Unions are normalised:
 * - a union of scalar/array/object shapes (`Duration`, a `files` entry, `setup`) becomes one node
 *   whose `types` lists every alternative, with the object branch's properties and the array
 *   branch's items;
 * - a union of several object shapes (a check: one strict object per check kind) becomes a node
 *   with `variants`. Its own `properties` are the keys common to every variant (`id`, `weight`, …);
 *   each variant is told apart by its discriminator, the one required key no other variant has
 *   (the check kind).
 */
import { isExtensionKey, taskJsonSchema } from '../model/schema';
import type { NodePath } from '../syntax';

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';
export type EnumValue = string | number | boolean | null;

export interface SchemaInfo {
  /** The JSON types the value may have; empty means anything. */
  readonly types: readonly JsonType[];
  readonly description?: string;
  readonly title?: string;
  readonly examples?: readonly unknown[];
  readonly default?: unknown;
  /** Allowed values (a `const` is a one-value enum). */
  readonly enum?: readonly EnumValue[];
  /** `workspace-path` (relative to workspace.root) or `task-path` (relative to the task file). */
  readonly format?: string;
  readonly pattern?: string;
  /** Named keys of a mapping, in schema order. */
  readonly properties?: Readonly<Record<string, SchemaInfo>>;
  readonly required?: readonly string[];
  /** Schema of free-form keys (a record such as `workspace.files` or `env`). */
  readonly additionalProperties?: SchemaInfo;
  /** Whether unknown (non `x-`) keys are an error. */
  readonly closed?: boolean;
  /** Items of an array. */
  readonly items?: SchemaInfo;
  /** Alternative object shapes (check kinds), see the module comment. */
  readonly variants?: readonly SchemaVariant[];
}

export interface SchemaVariant {
  /** The key that selects this variant (for checks: the kind, e.g. `file_matches`). */
  readonly discriminator: string;
  readonly schema: SchemaInfo;
}

/** A key that may be written in a mapping, as completion offers it. */
export interface KeyOption {
  readonly name: string;
  readonly schema: SchemaInfo;
  readonly required: boolean;
  /** The key selects a variant (a check kind). */
  readonly discriminator: boolean;
}

type Json = Record<string, unknown>;

const EMPTY: SchemaInfo = { types: [] };

let root: SchemaInfo | undefined;

/** The compiled schema of a whole task (computed on first use). */
export function rootSchema(): SchemaInfo {
  if (!root) {
    const raw = taskJsonSchema();
    root = compile(raw, raw);
  }
  return root;
}

function asObj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function deref(node: Json, rootRaw: Json): Json {
  const ref = node.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return node;
  let cur: unknown = rootRaw;
  for (const seg of ref.slice(2).split('/')) cur = asObj(cur)?.[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  const target = asObj(cur);
  // Sibling keywords of `$ref` (description, examples) win over the target's.
  return target ? { ...target, ...node, $ref: undefined } : node;
}

function typesOf(node: Json): JsonType[] {
  const t = node.type;
  if (typeof t === 'string') return [t as JsonType];
  if (Array.isArray(t)) return t.filter((x): x is JsonType => typeof x === 'string');
  return [];
}

function compile(rawNode: unknown, rootRaw: Json): SchemaInfo {
  const node0 = asObj(rawNode);
  if (!node0) return EMPTY;
  const node = deref(node0, rootRaw);
  const branches = (Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined)?.map((b) => compile(b, rootRaw));
  const own = compileOne(node, rootRaw);
  if (!branches || branches.length === 0) return own;

  const objects = branches.filter((b) => b.types.includes('object') && b.properties);
  if (objects.length > 1) return withVariants(own, branches, objects);

  // One node for a union of differently typed shapes: merge what each branch says.
  const merged: Mutable<SchemaInfo> = { ...own, types: unique([...own.types, ...branches.flatMap((b) => b.types)]) };
  for (const b of branches) {
    merged.properties ??= b.properties;
    merged.required ??= b.required;
    merged.closed ??= b.closed;
    merged.additionalProperties ??= b.additionalProperties;
    merged.items ??= b.items;
    merged.pattern ??= b.pattern;
    merged.format ??= b.format;
    merged.enum ??= b.enum;
    merged.examples ??= b.examples;
  }
  if (merged.description === undefined) {
    const texts = branches.map((b) => b.description).filter((d): d is string => !!d);
    if (texts.length > 0) merged.description = texts.join(' Or: ');
  }
  return merged;
}

function withVariants(own: SchemaInfo, branches: SchemaInfo[], objects: SchemaInfo[]): SchemaInfo {
  const keySets = objects.map((o) => Object.keys(o.properties ?? {}));
  const common = keySets[0]!.filter((k) => keySets.every((ks) => ks.includes(k)));
  const properties: Record<string, SchemaInfo> = {};
  for (const k of common) properties[k] = objects[0]!.properties![k]!;
  const required = (objects[0]!.required ?? []).filter((k) => common.includes(k) && objects.every((o) => o.required?.includes(k)));
  const variants: SchemaVariant[] = [];
  for (const o of objects) {
    const discriminator = (o.required ?? []).find((k) => !common.includes(k));
    if (discriminator) variants.push({ discriminator, schema: o });
  }
  return {
    ...own,
    types: unique([...own.types, ...branches.flatMap((b) => b.types)]),
    properties,
    required,
    closed: objects.every((o) => o.closed === true),
    variants,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function compileOne(node: Json, rootRaw: Json): SchemaInfo {
  const out: Mutable<SchemaInfo> = { types: typesOf(node) };
  if (typeof node.description === 'string') out.description = node.description;
  if (typeof node.title === 'string') out.title = node.title;
  if (Array.isArray(node.examples)) out.examples = node.examples;
  if ('default' in node) out.default = node.default;
  if ('const' in node) out.enum = [node.const as EnumValue];
  else if (Array.isArray(node.enum)) out.enum = node.enum as EnumValue[];
  if (typeof node.format === 'string') out.format = node.format;
  if (typeof node.pattern === 'string') out.pattern = node.pattern;
  if (out.types.length === 0 && out.enum) out.types = unique(out.enum.map((v) => (v === null ? 'null' : (typeof v as JsonType))));

  const props = asObj(node.properties);
  const propertyNames = asObj(node.propertyNames);
  const extra = node.additionalProperties;
  if (props) {
    const compiled: Record<string, SchemaInfo> = {};
    for (const [k, v] of Object.entries(props)) compiled[k] = compile(v, rootRaw);
    out.properties = compiled;
  }
  if (Array.isArray(node.required)) out.required = node.required.filter((k): k is string => typeof k === 'string');
  if (extra === false) out.closed = true;
  else if (asObj(extra)) {
    const value = compile(extra, rootRaw);
    // A record with a fixed set of key names (rubric `scores`) behaves like named properties.
    if (propertyNames && Array.isArray(propertyNames.enum) && !props) {
      const compiled: Record<string, SchemaInfo> = {};
      for (const k of propertyNames.enum) if (typeof k === 'string') compiled[k] = value;
      out.properties = compiled;
      out.closed = true;
    } else {
      out.additionalProperties = value;
    }
  }
  if (asObj(node.items)) out.items = compile(node.items, rootRaw);
  else if (Array.isArray(node.prefixItems) && node.prefixItems.length > 0) out.items = compile(node.prefixItems[0], rootRaw);
  return out;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/** The schema of a child key of `info`, looking through variants and record values. */
export function propertySchema(info: SchemaInfo, key: string): SchemaInfo | undefined {
  const direct = info.properties?.[key];
  if (direct) return direct;
  if (info.variants) {
    for (const v of info.variants) {
      const p = v.schema.properties?.[key];
      if (p) return p;
    }
  }
  if (isExtensionKey(key)) return undefined;
  return info.additionalProperties;
}

/** The schema at a node path (keys and indices), or undefined where the format says nothing. */
export function schemaAt(path: NodePath, from: SchemaInfo = rootSchema()): SchemaInfo | undefined {
  let cur: SchemaInfo | undefined = from;
  for (const seg of path) {
    if (!cur) return undefined;
    if (typeof seg === 'number') cur = cur.items;
    else cur = propertySchema(cur, seg);
  }
  return cur;
}

/** The variant a mapping is, given the keys it already has (undefined: not decided yet). */
export function variantFor(info: SchemaInfo, presentKeys: Iterable<string>): SchemaVariant | undefined {
  if (!info.variants) return undefined;
  for (const k of presentKeys) {
    const v = info.variants.find((x) => x.discriminator === k);
    if (v) return v;
  }
  return undefined;
}

/**
 * The keys a mapping may hold, given the keys it already has: every property when the shape is
 * fixed; for variants, the common keys plus every discriminator until one is present, then that
 * variant's own keys. Keys already present are included (callers filter), in schema order.
 */
export function keyOptions(info: SchemaInfo, presentKeys: Iterable<string> = []): KeyOption[] {
  const out: KeyOption[] = [];
  const seen = new Set<string>();
  const push = (name: string, schema: SchemaInfo, required: boolean, discriminator: boolean): void => {
    if (seen.has(name)) return;
    seen.add(name);
    out.push({ name, schema, required, discriminator });
  };
  const variant = variantFor(info, presentKeys);
  const shape = variant?.schema ?? info;
  for (const [name, schema] of Object.entries(shape.properties ?? {})) {
    const disc = !!info.variants?.some((v) => v.discriminator === name);
    push(name, schema, shape.required?.includes(name) ?? false, disc);
  }
  if (!variant && info.variants) {
    for (const v of info.variants) push(v.discriminator, v.schema.properties?.[v.discriminator] ?? EMPTY, false, true);
  }
  return out;
}

/** Required keys of a mapping that are not present yet (for "add missing field" and snippets). */
export function missingRequired(info: SchemaInfo, presentKeys: Iterable<string>): string[] {
  const present = new Set(presentKeys);
  const variant = variantFor(info, present);
  const required = (variant?.schema ?? info).required ?? [];
  return required.filter((k) => !present.has(k));
}

/** `verifier.checks[].file_matches.pattern`: a path as the docs name it (indices become `[]`). */
export function displayPath(path: NodePath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += '[]';
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/**
 * A path whose record keys are replaced by `*` (so `workspace.files.input/a.txt.from` reads
 * `workspace.files.*.from`). Needs the schema to know which keys are free-form.
 */
export function schemaDisplayPath(path: NodePath): string {
  const segs: NodePath = [];
  let cur: SchemaInfo | undefined = rootSchema();
  for (const seg of path) {
    if (typeof seg === 'number') {
      segs.push(seg);
      cur = cur?.items;
      continue;
    }
    const named = cur?.properties?.[seg] ?? cur?.variants?.find((v) => v.schema.properties?.[seg])?.schema.properties?.[seg];
    segs.push(named || !cur?.additionalProperties ? seg : '*');
    cur = cur ? propertySchema(cur, seg) : undefined;
  }
  return displayPath(segs);
}

/** A short type for completion details and hover: `string`, `1`, `easy | medium | hard`, `check[]`. */
export function typeLabel(info: SchemaInfo): string {
  if (info.enum) return info.enum.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' | ');
  if (info.format === 'workspace-path') return 'workspace path';
  if (info.format === 'task-path') return 'path (from the task file)';
  if (info.variants) return 'check';
  const parts = info.types.map((t) => {
    if (t === 'array') return info.items ? `${typeLabel(info.items)}[]`.replace(/^(.* .*)\[\]$/, '($1)[]') : 'array';
    if (t === 'object') return info.properties && !info.additionalProperties ? 'mapping' : 'map';
    return t;
  });
  return parts.length > 0 ? parts.join(' | ') : 'any';
}

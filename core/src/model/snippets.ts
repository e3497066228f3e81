/**
 * Editor snippets derived from the zod model (`snippets/clawtask.json`, a derived artefact).
 *
 * What comes from the model: which snippets exist (one per check kind in {@link CHECK_KIND_NAMES}),
 * which keys each one writes (every required key of the schema at that level, in schema order), enum
 * choices (`${n|easy,medium,hard|}`), literals (`version: 1`) and descriptions. What is chosen here:
 * the sample values of the placeholders, and a few optional keys worth offering (e.g. `exit_code`).
 * `client/test/snippets.test.ts` expands every snippet and validates the result with the model.
 *
 * Bodies are indented with spaces (YAML forbids tabs); VS Code adds the insertion line's indentation
 * to every line after the first.
 */
import { z } from 'zod';
import {
  CHECK_KIND_NAMES,
  CHECK_KINDS,
  CHECK_VARIANTS,
  RubricItem,
  Task,
  type CheckKind,
} from './schema';

export interface SnippetDefinition {
  prefix: string | string[];
  description: string;
  body: string[];
}

/** Sample values for placeholders, by key name. Anything else falls back to the key's type. */
const SAMPLES: Record<string, string | number> = {
  path: 'output/result.txt',
  pattern: '^expected',
  query: 'result',
  text: 'expected content',
  columns: '[name, value]',
  rows: 1,
  criterion: 'The report answers the question with evidence from the input files.',
  file: 'output/report.md',
  exit_code: 0,
  file_exists: 'output/result.txt',
  file_absent: 'output/*.tmp',
  command: 'test -s output/result.txt',
};

/**
 * Optional keys a snippet still writes because a check is not useful without one of them
 * (e.g. `file_equals` needs `text` or `from`, `json` needs a condition).
 */
const RECOMMENDED: Partial<Record<CheckKind, readonly string[]>> = {
  file_equals: ['text'],
  json: ['type'],
  command: ['exit_code'],
};

/** Escapes text for a snippet body (`$`, `}` and `\` are special). */
export function escapeSnippetText(text: string): string {
  return text.replace(/[\\$}]/g, (c) => '\\' + c);
}

/** Tab stops, numbered in the order they are created. */
class TabStops {
  private n = 0;
  placeholder(value: string): string {
    return `\${${++this.n}:${escapeSnippetText(value)}}`;
  }
  choice(values: readonly string[]): string {
    return `\${${++this.n}|${values.map((v) => v.replace(/[\\,|$}]/g, (c) => '\\' + c)).join(',')}|}`;
  }
  /** A raw tab stop body (already snippet syntax), e.g. one holding a variable. */
  raw(body: string): string {
    return `\${${++this.n}:${body}}`;
  }
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) {
      s = s.unwrap() as z.ZodType;
      continue;
    }
    return s;
  }
}

/** Required = the schema does not accept a missing value. */
export function isRequired(schema: z.ZodType): boolean {
  return !schema.safeParse(undefined).success;
}

/** The keys of a strict object that are required, in schema order. */
export function requiredKeys(object: z.ZodObject): string[] {
  return Object.entries(object.shape)
    .filter(([, v]) => isRequired(v as z.ZodType))
    .map(([k]) => k);
}

/** A flow-style placeholder for a scalar-ish schema; undefined when the schema needs a block. */
function scalarPlaceholder(key: string, schema: z.ZodType, stops: TabStops): string | undefined {
  const s = unwrap(schema);
  if (s instanceof z.ZodLiteral) return String(s.value);
  if (s instanceof z.ZodEnum) return stops.choice(s.options.map(String));
  const sample = SAMPLES[key];
  if (s instanceof z.ZodNumber) return stops.placeholder(String(typeof sample === 'number' ? sample : 1));
  if (s instanceof z.ZodBoolean) return stops.choice(['true', 'false']);
  if (s instanceof z.ZodArray) return stops.placeholder(typeof sample === 'string' ? sample : '[]');
  if (s instanceof z.ZodString || s instanceof z.ZodUnion) {
    const examples = (schema.meta()?.examples ?? s.meta()?.examples) as unknown[] | undefined;
    const example = Array.isArray(examples) && typeof examples[0] === 'string' ? examples[0] : undefined;
    return stops.placeholder(String(sample ?? example ?? key.replace(/_/g, '-')));
  }
  return undefined;
}

/** `key: value` lines for the required (and listed optional) keys of an object schema. */
function objectLines(object: z.ZodObject, stops: TabStops, indent: string, extra: readonly string[] = []): string[] {
  const keys = Object.keys(object.shape).filter((k) => isRequired(object.shape[k] as z.ZodType) || extra.includes(k));
  const lines: string[] = [];
  for (const key of keys) {
    const field = object.shape[key] as z.ZodType;
    const inner = unwrap(field);
    if (inner instanceof z.ZodObject) {
      lines.push(`${indent}${key}:`, ...objectLines(inner, stops, indent + '  '));
      continue;
    }
    const value = scalarPlaceholder(key, field, stops);
    if (value === undefined) throw new Error(`snippets: no placeholder for \`${key}\``);
    lines.push(`${indent}${key}: ${value}`);
  }
  return lines;
}

/** A check as a sequence item: `- id: …` then the kind key with its required fields. */
function checkSnippet(kind: CheckKind): SnippetDefinition {
  const stops = new TabStops();
  const variant = CHECK_VARIANTS[kind];
  // Required common keys first (`id`), then the kind key, then its extras.
  const common = requiredKeys(variant).filter((k) => k !== kind && !(k in CHECK_KINDS[kind].extras));
  const lines: string[] = [];
  for (const key of common) {
    const value = key === 'id' ? stops.placeholder(`${kind.replace(/_/g, '-')}-check`) : scalarPlaceholder(key, variant.shape[key] as z.ZodType, stops);
    lines.push(`${lines.length === 0 ? '- ' : '  '}${key}: ${value}`);
  }
  const kindSchema = unwrap(variant.shape[kind] as z.ZodType);
  const recommended = RECOMMENDED[kind] ?? [];
  if (kind === 'python') {
    lines.push('  python: |', '    def grade(ws):', `        ${stops.placeholder('return 1.0')}`);
  } else if (kindSchema instanceof z.ZodObject) {
    lines.push(`  ${kind}:`, ...objectLines(kindSchema, stops, '    ', recommended));
  } else {
    lines.push(`  ${kind}: ${scalarPlaceholder(kind, kindSchema, stops)}`);
  }
  const extras = CHECK_KINDS[kind].extras as Record<string, z.ZodType>;
  for (const [key, schema] of Object.entries(extras)) {
    if (isRequired(schema) || recommended.includes(key)) lines.push(`  ${key}: ${scalarPlaceholder(key, schema, stops)}`);
  }
  return {
    prefix: `check-${kind}`,
    description: `A check that passes when ${CHECK_KINDS[kind].summary}.`,
    body: [...lines, '$0'],
  };
}

function rubricSnippet(): SnippetDefinition {
  const stops = new TabStops();
  const lines: string[] = [];
  const shape = RubricItem.shape as Record<string, z.ZodType>;
  for (const key of Object.keys(shape)) {
    const field = shape[key]!;
    // `file` is optional in the model (omit it to judge the reply) but is the usual case.
    if (!isRequired(field) && key !== 'file') continue;
    const value = key === 'id' ? stops.placeholder('rubric-item') : scalarPlaceholder(key, field, stops);
    lines.push(`${lines.length === 0 ? '- ' : '  '}${key}: ${value}`);
  }
  return { prefix: 'rubric', description: 'An LLM-judged rubric item: a criterion scored 0, 0.25, 0.5, 0.75 or 1.', body: [...lines, '$0'] };
}

/** The whole task: every required top-level key, plus a workspace file and one check. */
function taskSnippet(): SnippetDefinition {
  const stops = new TabStops();
  const shape = Task.shape;
  const lines: string[] = [];
  for (const key of Object.keys(shape)) {
    const field = shape[key as keyof typeof shape] as z.ZodType;
    switch (key) {
      case 'id':
        // The file name, made into a valid id.
        lines.push(`id: ${stops.raw('${TM_FILENAME_BASE/[^A-Za-z0-9._-]+/-/g}')}`);
        break;
      case 'title':
        lines.push(`title: ${stops.placeholder('Summarize the notes')}`);
        break;
      case 'difficulty':
        lines.push(`difficulty: ${scalarPlaceholder(key, field, stops)}`);
        break;
      case 'intent':
        lines.push('intent: |', `  ${stops.placeholder('Read input/notes.md and write a short summary to output/summary.md.')}`);
        break;
      case 'workspace':
        lines.push('workspace:', '  files:', `    ${stops.placeholder('input/notes.md')}: |`, `      ${stops.placeholder('Notes the agent starts from.')}`);
        break;
      case 'verifier':
        lines.push('verifier:', '  checks:', `    - id: ${stops.placeholder('summary-exists')}`, `      file_exists: ${stops.placeholder('output/summary.md')}`);
        break;
      default:
        if (isRequired(field)) {
          const value = scalarPlaceholder(key, field, stops);
          if (value === undefined) throw new Error(`snippets: the task snippet does not know how to write \`${key}\``);
          lines.push(`${key}: ${value}`);
        }
    }
  }
  return { prefix: ['task', 'clawtask'], description: 'A complete task: intent, a workspace file and a check.', body: [...lines, '$0'] };
}

/** The snippets file: a full task, each check kind, a rubric item and workspace file entries. */
export function snippetDefinitions(): Record<string, SnippetDefinition> {
  const out: Record<string, SnippetDefinition> = {};
  out['Task'] = taskSnippet();
  for (const kind of CHECK_KIND_NAMES) out[`Check: ${kind}`] = checkSnippet(kind);
  out['Rubric item'] = rubricSnippet();
  out['Workspace file (inline)'] = {
    prefix: 'file-inline',
    description: 'A workspace file with inline content (under `workspace.files`).',
    body: ['${1:input/notes.md}: |', '  ${2:content}', '$0'],
  };
  out['Workspace file (from disk)'] = {
    prefix: 'file-from',
    description: 'A workspace file copied from disk, relative to the .clawtask file (under `workspace.files`).',
    body: ['${1:input/data.csv}: { from: ${2:files/data.csv} }', '$0'],
  };
  return out;
}

/** The committed `snippets/clawtask.json`. */
export function snippetsFileContent(): string {
  return JSON.stringify(snippetDefinitions(), null, 2) + '\n';
}

// ---------------------------------------------------------------------------------------------
// Expansion (tests, and any host that wants a snippet's default text)

/**
 * Expands a snippet body the way an editor would when every placeholder keeps its default: tab stops
 * become their default text, choices their first value, variables the given value (transforms are
 * applied). Unknown variables expand to their default or to the empty string.
 */
export function expandSnippet(body: string, variables: Record<string, string> = {}): string {
  let i = 0;
  const parse = (stopAtBrace: boolean): string => {
    let out = '';
    while (i < body.length) {
      const c = body[i]!;
      if (c === '\\' && i + 1 < body.length && '$}\\,|'.includes(body[i + 1]!)) {
        out += body[i + 1];
        i += 2;
      } else if (stopAtBrace && c === '}') {
        return out;
      } else if (c === '$') {
        out += parseDollar();
      } else {
        out += c;
        i++;
      }
    }
    return out;
  };
  const parseDollar = (): string => {
    i++; // $
    const simple = /^(\d+|[A-Za-z_][A-Za-z0-9_]*)/.exec(body.slice(i));
    if (simple) {
      i += simple[0].length;
      return /^\d/.test(simple[0]) ? '' : (variables[simple[0]] ?? '');
    }
    if (body[i] !== '{') return '$';
    i++; // {
    const name = /^(\d+|[A-Za-z_][A-Za-z0-9_]*)/.exec(body.slice(i));
    if (!name) throw new Error(`bad snippet syntax at ${i}: ${body}`);
    i += name[0].length;
    const isStop = /^\d/.test(name[0]);
    let value = isStop ? '' : (variables[name[0]] ?? '');
    const next = body[i];
    if (next === '}') {
      i++;
      return value;
    }
    if (next === ':') {
      i++;
      const def = parse(true);
      i++; // }
      return isStop || !(name[0] in variables) ? def : value;
    }
    if (next === '|' && isStop) {
      const end = body.indexOf('|}', i + 1);
      const first = body.slice(i + 1, end).split(/(?<!\\),/)[0]!.replace(/\\(.)/g, '$1');
      i = end + 2;
      return first;
    }
    if (next === '/' && !isStop) {
      // ${VAR/regex/format/flags}: the format here is literal text (no capture references).
      const parts: string[] = [];
      let cur = '';
      i++;
      while (i < body.length && parts.length < 3) {
        const ch = body[i]!;
        if (ch === '\\' && i + 1 < body.length) {
          cur += ch + body[i + 1];
          i += 2;
        } else if ((ch === '/' && parts.length < 2) || (ch === '}' && parts.length === 2)) {
          parts.push(cur);
          cur = '';
          i++;
        } else {
          cur += ch;
          i++;
        }
      }
      const [re, format, flags] = parts as [string, string, string];
      value = value.replace(new RegExp(re, flags), format.replace(/\\(.)/g, '$1'));
      return value;
    }
    throw new Error(`bad snippet syntax at ${i}: ${body}`);
  };
  return parse(false);
}

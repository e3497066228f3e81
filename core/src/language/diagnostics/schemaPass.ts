/**
 * Schema pass: runs the zod model on the document and turns its issues into diagnostics with
 * precise spans and human messages. Checks are dispatched by their kind key here too, so that an
 * error in a check is reported against the one variant the author meant, not against a union of
 * eight.
 */
import { z } from 'zod';
import { CHECK_KIND_NAMES, CHECK_VARIANTS, Duration, Size, Task, type CheckKind } from '../../model/schema';
import type { NodePath } from '../../syntax';
import { didYouMean } from '../suggest';
import {
  type Collector,
  describeExpected,
  describeValue,
  isPlainObject,
  list,
  pathName,
  quote,
  valueAt,
} from './context';

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;

const CHECKS_PATH = ['verifier', 'checks'] as const;

/** Keys every check may have besides its kind key and the kind's extras. */
const COMMON_CHECK_KEYS = ['id', 'weight', 'description', 'timeout'];
const ALL_CHECK_EXTRAS = [...new Set(CHECK_KIND_NAMES.flatMap((k) => Object.keys(CHECK_VARIANTS[k].shape)))];

// ---------------------------------------------------------------------------------------------
// Walking the schema (for allowed keys and for recognising durations and sizes)

function unwrap(s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; cur && i < 10; i++) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable || cur instanceof z.ZodDefault) cur = cur.unwrap() as Schema;
    else break;
  }
  return cur;
}

/** The schema at a path below `root`, choosing the union branch that can hold the next segment. */
export function schemaAt(root: Schema, path: readonly PropertyKey[]): Schema | undefined {
  let cur = unwrap(root);
  for (const seg of path) {
    if (!cur) return undefined;
    if (cur instanceof z.ZodUnion) {
      const options = cur.options as readonly Schema[];
      const want = typeof seg === 'number' ? z.ZodArray : z.ZodObject;
      cur = unwrap(options.map(unwrap).find((o) => o instanceof want || (typeof seg !== 'number' && o instanceof z.ZodRecord)));
      if (!cur) return undefined;
    }
    if (cur instanceof z.ZodObject) cur = unwrap((cur.shape as Record<string, Schema>)[String(seg)]);
    else if (cur instanceof z.ZodArray) cur = unwrap(cur.element as Schema);
    else if (cur instanceof z.ZodRecord) cur = unwrap(cur.valueType as Schema);
    else if (cur instanceof z.ZodTuple) cur = unwrap((cur.def.items as readonly Schema[])[Number(seg)]);
    else return undefined;
  }
  return cur;
}

function allowedKeys(root: Schema, path: readonly PropertyKey[]): string[] {
  const s = schemaAt(root, path);
  if (s instanceof z.ZodObject) return Object.keys(s.shape);
  if (s instanceof z.ZodRecord) {
    const k = unwrap(s.keyType as Schema);
    return k instanceof z.ZodEnum ? (k.options as readonly (string | number)[]).map(String) : [];
  }
  if (s instanceof z.ZodUnion) {
    const obj = (s.options as readonly Schema[]).map(unwrap).find((o) => o instanceof z.ZodObject);
    if (obj instanceof z.ZodObject) return Object.keys(obj.shape);
  }
  return [];
}

type Special = 'duration' | 'size' | undefined;
function specialAt(root: Schema, path: readonly PropertyKey[]): Special {
  const s = schemaAt(root, path);
  if (s === Duration) return 'duration';
  if (s === Size) return 'size';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Issue -> diagnostic

interface IssueContext {
  c: Collector;
  /** The (x-stripped) document value. */
  value: unknown;
  /** The schema the issues were produced against, and where it sits in the document. */
  schema: Schema;
  base: NodePath;
  /** Missing required fields, grouped by parent path. */
  missing: Map<string, { parent: NodePath; names: string[] }>;
}

function toPath(p: readonly PropertyKey[]): NodePath {
  return p.filter((s): s is string | number => typeof s !== 'symbol');
}

function reportSpecial(ic: IssueContext, kind: 'duration' | 'size', path: NodePath): void {
  const v = valueAt(ic.value, path);
  const got = typeof v === 'string' ? quote(v) : describeValue(v);
  if (kind === 'duration') {
    const neg = typeof v === 'number' && v < 0;
    ic.c.add(
      ic.c.valueSpan(path),
      'error',
      'invalid-duration',
      neg
        ? `${pathName(path)} must not be negative`
        : `${pathName(path)} must be a duration like 30s, 15m or 1h (or a number of seconds), got ${got}`,
      { path },
    );
  } else {
    const neg = typeof v === 'number' && v < 0;
    ic.c.add(
      ic.c.valueSpan(path),
      'error',
      'invalid-size',
      neg ? `${pathName(path)} must not be negative` : `${pathName(path)} must be a size like 512m or 2g (or a number of bytes), got ${got}`,
      { path },
    );
  }
}

/** Whether a union branch failed because the input has the wrong shape altogether. */
function isTypeMismatch(errors: readonly Issue[]): boolean {
  return errors.some((e) => e.path.length === 0 && (e.code === 'invalid_type' || e.code === 'invalid_value'));
}

function expectedOf(errors: readonly Issue[]): string[] {
  const out: string[] = [];
  for (const e of errors) {
    if (e.path.length !== 0) continue;
    if (e.code === 'invalid_type') out.push(describeExpected(e.expected));
    else if (e.code === 'invalid_union') for (const b of e.errors) out.push(...expectedOf(b));
  }
  return out;
}

/** "a, b or c" */
function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function formatMessage(path: NodePath, issue: Extract<Issue, { code: 'invalid_format' }>, v: unknown): string {
  const name = pathName(path);
  const key = path[path.length - 1];
  if (key === 'id') return `${quote(v)} is not a valid id: use letters, digits, \`.\`, \`_\` and \`-\`, starting with a letter or digit`;
  if (key === 'mode') return `${name} must be an octal mode like 644 or 0755, got ${quote(v)}`;
  if (key === 'flags') return `${name} may only contain the regex flags i, m, s and u, got ${quote(v)}`;
  if (key === 'root') return `${name} must be an absolute path inside the sandbox, e.g. /workspace`;
  return `${name} is malformed: ${issue.message}`;
}

function reportIssue(ic: IssueContext, issue: Issue, prefix: NodePath): void {
  const rel = [...prefix, ...toPath(issue.path)];
  const path = [...ic.base, ...rel];
  const v = valueAt(ic.value, path);
  const special = specialAt(ic.schema, rel);
  const c = ic.c;

  // A required key that is absent: zod says "expected X, got undefined"; group per parent.
  const parent = path.slice(0, -1);
  const last = path[path.length - 1];
  if (
    v === undefined &&
    typeof last === 'string' &&
    (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union') &&
    isPlainObject(valueAt(ic.value, parent))
  ) {
    const k = JSON.stringify(parent);
    const entry = ic.missing.get(k) ?? { parent, names: [] };
    entry.names.push(last);
    ic.missing.set(k, entry);
    return;
  }

  switch (issue.code) {
    case 'invalid_type': {
      if (special) return reportSpecial(ic, special, path);
      if (last === 'mode' && typeof v === 'number') {
        // `mode: 755` is a YAML number; the octal digits must be quoted
        const suggestion = `"${String(v).padStart(3, '0')}"`;
        c.add(c.valueSpan(path), 'error', 'invalid-type', `${pathName(path)} must be a quoted octal string like ${suggestion}, got a number`, { path, suggestion });
        return;
      }
      c.add(c.valueSpan(path), 'error', 'invalid-type', `${pathName(path)} must be ${describeExpected(issue.expected)}, got ${describeValue(v)}`, { path });
      return;
    }
    case 'invalid_union': {
      if (special) return reportSpecial(ic, special, path);
      const branches = issue.errors.filter((b) => !isTypeMismatch(b));
      if (branches.length > 0) {
        for (const e of branches[0]!) reportIssue(ic, e, rel);
        return;
      }
      const expected = [...new Set(issue.errors.flatMap(expectedOf))];
      const what = expected.length > 0 ? orList(expected) : 'another kind of value';
      c.add(c.valueSpan(path), 'error', 'invalid-type', `${pathName(path)} must be ${what}, got ${describeValue(v)}`, { path });
      return;
    }
    case 'unrecognized_keys': {
      const allowed = allowedKeys(ic.schema, rel);
      const present = isPlainObject(v) ? Object.keys(v) : [];
      const free = allowed.filter((a) => !present.includes(a));
      for (const key of issue.keys) {
        const suggestion = didYouMean(key, free);
        const where = whereName(path);
        const msg = suggestion
          ? `unknown key \`${key}\` in ${where}; did you mean \`${suggestion}\`?`
          : schemaAt(ic.schema, rel) instanceof z.ZodObject
            ? `unknown key \`${key}\` in ${where} (allowed: ${list(allowed)}; prefix tool data with \`x-\`)`
            : `unknown key \`${key}\` in ${where} (allowed: ${list(allowed)})`;
        const keyPath = [...path, key];
        c.add(c.keySpan(keyPath), 'error', 'unknown-key', msg, suggestion ? { path: keyPath, suggestion } : { path: keyPath });
      }
      return;
    }
    case 'invalid_value': {
      if (path.length === 1 && path[0] === 'version' && typeof v === 'number') {
        c.add(c.valueSpan(path), 'error', 'unsupported-version', `format version ${v} is not supported: this tool understands version 1`, { path, suggestion: '1' });
        return;
      }
      const values = issue.values.map((x) => String(x));
      const suggestion = typeof v === 'string' ? didYouMean(v, values) : undefined;
      const msg =
        values.length === 1
          ? `${pathName(path)} must be ${quote(issue.values[0])}, got ${typeof v === 'string' || typeof v === 'number' ? quote(v) : describeValue(v)}`
          : `${pathName(path)} must be one of ${list(values)}, got ${typeof v === 'string' ? quote(v) : describeValue(v)}${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`;
      c.add(c.valueSpan(path), 'error', 'invalid-value', msg, suggestion ? { path, suggestion } : { path });
      return;
    }
    case 'invalid_format': {
      if (special) return reportSpecial(ic, special, path);
      c.add(c.valueSpan(path), 'error', 'invalid-value', formatMessage(path, issue, v), { path });
      return;
    }
    case 'too_small':
    case 'too_big': {
      if (special) return reportSpecial(ic, special, path);
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      let msg: string;
      if (issue.origin === 'string' && issue.code === 'too_small') msg = `${pathName(path)} must not be empty`;
      else if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        const rel = issue.code === 'too_small' ? (issue.inclusive ? 'at least' : 'greater than') : issue.inclusive ? 'at most' : 'less than';
        msg = `${pathName(path)} must be ${rel} ${String(bound)}, got ${quote(v)}`;
      } else msg = `${pathName(path)} must have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} items`;
      c.add(c.valueSpan(path), 'error', 'invalid-value', msg, { path });
      return;
    }
    case 'invalid_key': {
      // A record key its key schema rejects (the issue's path ends at the key).
      const allowed = allowedKeys(ic.schema, rel.slice(0, -1));
      const keyName = String(path[path.length - 1]);
      const suggestion = allowed.length > 0 ? didYouMean(keyName, allowed) : undefined;
      c.add(
        c.keySpan(path),
        'error',
        'invalid-value',
        allowed.length > 0 ? `key ${quote(keyName)} is not allowed here: use one of ${list(allowed)}` : `key ${quote(keyName)} is not allowed here`,
        suggestion ? { path, suggestion } : { path },
      );
      return;
    }
    default:
      c.add(c.valueSpan(path), 'error', 'invalid-value', `${pathName(path)}: ${issue.message}`, { path });
  }
}

/** How a mapping is named as a place: "the task", "this check", "`workspace`". */
function whereName(path: NodePath): string {
  if (path.length === 0) return 'the task';
  const last = path[path.length - 1];
  const prev = path[path.length - 2];
  if (typeof last === 'number' && prev === 'checks') return 'this check';
  if (typeof last === 'number' && prev === 'rubric') return 'this rubric item';
  return pathName(path);
}

function flushMissing(ic: IssueContext): void {
  for (const { parent, names } of ic.missing.values()) {
    const where = whereName(parent);
    const msg = `${where} is missing required ${names.length === 1 ? 'field' : 'fields'} ${list(names)}`;
    ic.c.add(ic.c.itemAnchor(parent), 'error', 'missing-field', msg, { path: parent, missing: names });
  }
  ic.missing.clear();
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Validate the whole task (checks are validated separately by {@link validateChecks}). */
export function validateSchema(c: Collector, value: Record<string, unknown>): void {
  // Replace checks by an empty list so the union of eight variants does not run (and report) on them.
  const verifier = value.verifier;
  const forTask = isPlainObject(verifier) && Array.isArray(verifier.checks) ? { ...value, verifier: { ...verifier, checks: [] } } : value;
  const r = Task.safeParse(forTask);
  if (r.success) return;
  const ic: IssueContext = { c, value, schema: Task, base: [], missing: new Map() };
  for (const issue of r.error.issues) reportIssue(ic, issue, []);
  flushMissing(ic);
}

/** The kind keys of a check mapping, in the order written. */
export function checkKinds(item: Record<string, unknown>): CheckKind[] {
  return Object.keys(item).filter((k): k is CheckKind => (CHECK_KIND_NAMES as string[]).includes(k));
}

/** Validate each check against the variant its kind key selects. */
export function validateChecks(c: Collector, value: Record<string, unknown>): void {
  const verifier = value.verifier;
  if (!isPlainObject(verifier) || !Array.isArray(verifier.checks)) return;
  const checks = verifier.checks as unknown[];
  for (let i = 0; i < checks.length; i++) {
    const item = checks[i];
    const path: NodePath = [...CHECKS_PATH, i];
    if (!isPlainObject(item)) {
      c.add(
        c.valueSpan(path),
        'error',
        'invalid-type',
        `a check must be a mapping with an \`id\` and one kind key (e.g. \`file_exists\`), got ${describeValue(item)}`,
        { path },
      );
      continue;
    }
    const kinds = checkKinds(item);
    if (kinds.length === 0) {
      // A key close to a kind name is a typo of it: say so on that key.
      let typo = false;
      for (const key of Object.keys(item)) {
        if (COMMON_CHECK_KEYS.includes(key) || ALL_CHECK_EXTRAS.includes(key)) continue;
        const suggestion = didYouMean(key, CHECK_KIND_NAMES);
        if (suggestion) {
          typo = true;
          const keyPath = [...path, key];
          c.add(c.keySpan(keyPath), 'error', 'unknown-key', `unknown key \`${key}\` in this check; did you mean the check kind \`${suggestion}\`?`, { path: keyPath, suggestion });
        }
      }
      if (!typo) {
        c.add(c.itemAnchor(path), 'error', 'check-kind-missing', `this check has no kind: add one of ${list(CHECK_KIND_NAMES)}`, { path });
      }
      continue;
    }
    if (kinds.length > 1) {
      c.add(c.itemAnchor(path), 'error', 'check-kind-multiple', `this check has several kinds (${list(kinds)}): a check has exactly one; split it into ${kinds.length} checks`, { path });
      continue;
    }
    const variant = CHECK_VARIANTS[kinds[0]!];
    const r = variant.safeParse(item);
    if (r.success) continue;
    const ic: IssueContext = { c, value, schema: variant, base: path, missing: new Map() };
    for (const issue of r.error.issues) reportIssue(ic, issue, []);
    flushMissing(ic);
  }
}

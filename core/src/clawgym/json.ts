/**
 * A small strict JSON reader (RFC 8259) that keeps the source span of every key and value.
 *
 * `JSON.parse` only says *that* a file is broken (Node 20's messages carry a position for some
 * errors and not for others) and forgets where each value was. Diagnostics on `data_entry.json`
 * must point at the exact key or value, so this reader builds a tree with UTF-16 offsets, the same
 * unit as {@link Span} everywhere else. It is linear in the text and never throws.
 */
import type { Span } from '../syntax';

export interface JsonProperty {
  key: string;
  /** The key's span, quotes included. */
  keySpan: Span;
  value: JsonNode;
}

export type JsonNode =
  | { type: 'object'; span: Span; properties: JsonProperty[] }
  | { type: 'array'; span: Span; items: JsonNode[] }
  | { type: 'string'; span: Span; value: string }
  | { type: 'number'; span: Span; value: number }
  | { type: 'boolean'; span: Span; value: boolean }
  | { type: 'null'; span: Span; value: null };

export interface JsonSyntaxError {
  span: Span;
  message: string;
}

export interface JsonParseResult {
  /** The tree; undefined when the text is not valid JSON. */
  root?: JsonNode;
  error?: JsonSyntaxError;
}

/** Deep nesting guard: a hostile file must not overflow the stack. */
const MAX_DEPTH = 512;

class JsonError extends Error {
  constructor(
    readonly span: Span,
    message: string,
  ) {
    super(message);
  }
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parse strict JSON. On error, returns the first error with a one-character span where it was found. */
export function parseJson(text: string): JsonParseResult {
  let pos = 0;
  const len = text.length;

  const describe = (at: number): string => {
    if (at >= len) return 'end of file';
    const ch = text[at]!;
    if (ch === '\n' || ch === '\r') return 'a line break';
    return `\`${ch}\``;
  };
  const fail = (message: string, at = pos): never => {
    throw new JsonError({ start: Math.min(at, len), end: Math.min(at + 1, len) }, message);
  };
  const skipWs = (): void => {
    while (pos < len) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };

  const parseString = (): { value: string; span: Span } => {
    const start = pos;
    pos++; // opening quote
    let out = '';
    let chunkStart = pos;
    while (true) {
      if (pos >= len) fail('unterminated string', start);
      const c = text.charCodeAt(pos);
      if (c === 0x22 /* " */) {
        out += text.slice(chunkStart, pos);
        pos++;
        return { value: out, span: { start, end: pos } };
      }
      if (c < 0x20) fail('control character in a string (escape it, e.g. `\\n`)');
      if (c === 0x5c /* \ */) {
        out += text.slice(chunkStart, pos);
        const esc = text[pos + 1];
        switch (esc) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = text.slice(pos + 2, pos + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid `\\u` escape: expected four hex digits');
            out += String.fromCharCode(parseInt(hex, 16));
            pos += 4;
            break;
          }
          default:
            fail(`invalid escape \`\\${esc ?? ''}\` in a string`);
        }
        pos += 2;
        chunkStart = pos;
        continue;
      }
      pos++;
    }
  };

  const parseValue = (depth: number): JsonNode => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    skipWs();
    if (pos >= len) fail('unexpected end of file: expected a value');
    const start = pos;
    const ch = text[pos]!;
    if (ch === '{') {
      pos++;
      const properties: JsonProperty[] = [];
      skipWs();
      if (text[pos] === '}') {
        pos++;
        return { type: 'object', span: { start, end: pos }, properties };
      }
      while (true) {
        skipWs();
        if (text[pos] !== '"') {
          fail(text[pos] === '}' ? 'trailing comma before `}`' : `expected a property name in double quotes, found ${describe(pos)}`);
        }
        const key = parseString();
        skipWs();
        if (text[pos] !== ':') fail(`expected \`:\` after the property name, found ${describe(pos)}`);
        pos++;
        const value = parseValue(depth + 1);
        properties.push({ key: key.value, keySpan: key.span, value });
        skipWs();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return { type: 'object', span: { start, end: pos }, properties };
        }
        if (text[pos] === '"') fail('missing `,` before this property');
        fail(`expected \`,\` or \`}\` after a property, found ${describe(pos)}`);
      }
    }
    if (ch === '[') {
      pos++;
      const items: JsonNode[] = [];
      skipWs();
      if (text[pos] === ']') {
        pos++;
        return { type: 'array', span: { start, end: pos }, items };
      }
      while (true) {
        skipWs();
        if (text[pos] === ']') fail('trailing comma before `]`');
        items.push(parseValue(depth + 1));
        skipWs();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return { type: 'array', span: { start, end: pos }, items };
        }
        fail(`expected \`,\` or \`]\` after an array item, found ${describe(pos)}`);
      }
    }
    if (ch === '"') {
      const s = parseString();
      return { type: 'string', span: s.span, value: s.value };
    }
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        const span = { start, end: pos };
        return value === null ? { type: 'null', span, value } : { type: 'boolean', span, value };
      }
    }
    NUMBER_RE.lastIndex = pos;
    const m = NUMBER_RE.exec(text);
    if (m && m[0] !== '-') {
      pos += m[0].length;
      return { type: 'number', span: { start, end: pos }, value: Number(m[0]) };
    }
    if (ch === "'") return fail('strings must use double quotes');
    if (ch === '/') return fail('comments are not allowed in JSON');
    return fail(`unexpected ${describe(pos)}: expected a value`);
  };

  try {
    if (text.charCodeAt(0) === 0xfeff) fail('the file starts with a byte-order mark (save it as UTF-8 without BOM)', 0);
    const root = parseValue(0);
    skipWs();
    if (pos < len) fail(`unexpected ${describe(pos)} after the end of the JSON value`);
    return { root };
  } catch (e) {
    if (e instanceof JsonError) return { error: { span: e.span, message: e.message } };
    // Only a bug can land here; report it instead of throwing.
    return { error: { span: { start: 0, end: 0 }, message: `cannot parse JSON: ${String(e)}` } };
  }
}

/** The plain value of a node, as `JSON.parse` would give it (the last of duplicate keys wins). */
export function jsonValue(node: JsonNode): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const p of node.properties) {
        // defineProperty, so a `__proto__` key is data, as with JSON.parse
        Object.defineProperty(out, p.key, { value: jsonValue(p.value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'array':
      return node.items.map(jsonValue);
    default:
      return node.value;
  }
}

/** The last property with this key (JSON.parse semantics), if the node is an object. */
export function jsonProperty(node: JsonNode | undefined, key: string): JsonProperty | undefined {
  if (!node || node.type !== 'object') return undefined;
  for (let i = node.properties.length - 1; i >= 0; i--) if (node.properties[i]!.key === key) return node.properties[i];
  return undefined;
}

/** A human name for a node's type, as used in messages ("expected a string, found a number"). */
export function jsonTypeName(node: JsonNode): string {
  switch (node.type) {
    case 'object': return 'an object';
    case 'array': return 'an array';
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'boolean': return 'a boolean';
    case 'null': return 'null';
  }
}

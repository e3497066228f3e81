/**
 * The one redaction facility: a {@link Redactor} knows a run's secrets (the model key, credentials
 * inside the base URL, credential headers) and replaces each of them, and the forms they travel
 * in (URL-encoded, JSON-escaped, base64, `user:password` as HTTP Basic sends it), with
 * `[redacted]`. It is applied where text leaves the tool (the console, the run folder, the event
 * stream, logs, error messages) and where text comes in from a server (model replies, API
 * errors, the proxy's upstream responses), so a server that echoes the key leaks it nowhere.
 *
 * Streams are redacted with {@link TextRedactStream} (text) and {@link ByteRedactStream} (bytes):
 * they hold back the end of a chunk that could be the start of a secret, so a key split across
 * two chunks is caught too.
 *
 * Secrets shorter than {@link MIN_SECRET_LENGTH} characters are ignored: placeholder keys
 * (`EMPTY`, `ollama`, `no-key`) would otherwise be cut out of every text that holds the word.
 */

export const REDACTED = '[redacted]';
/** Shorter values are not treated as secrets (placeholders such as `EMPTY`, `none`, `ollama`). */
export const MIN_SECRET_LENGTH = 8;

/** Query parameters and header names whose values are credentials. */
const CREDENTIAL_NAME = /(^|[-_])(key|api[-_]?key|token|secret|password|passwd|pwd|auth|authorization|signature|sig|credential|session)([-_]|$)|^(authorization|cookie|x-api-key|api-key|proxy-authorization)$/i;

/** The forms one secret can travel in. */
function variants(secret: string): string[] {
  const out = new Set<string>([secret]);
  out.add(encodeURIComponent(secret));
  const json = JSON.stringify(secret).slice(1, -1);
  out.add(json);
  out.add(Buffer.from(secret, 'utf8').toString('base64'));
  out.add(Buffer.from(secret, 'utf8').toString('base64url'));
  return [...out].filter((v) => v.length >= MIN_SECRET_LENGTH);
}

export interface SecretSources {
  apiKey?: string;
  /** A base URL: its user name/password and credential-like query values are secrets. */
  baseUrl?: string;
  /** Extra request headers: the values of credential-like ones are secrets. */
  headers?: Record<string, string>;
}

/** The secrets inside a URL: `user:password@`, `?api_key=…` (decoded and as written). */
export function urlSecrets(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const out: string[] = [];
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (u.password) {
    out.push(u.password, decode(u.password));
    // What HTTP Basic authentication sends.
    out.push(Buffer.from(`${decode(u.username)}:${decode(u.password)}`).toString('base64'));
  }
  if (u.username && u.username.length >= MIN_SECRET_LENGTH && !u.password) out.push(u.username, decode(u.username));
  for (const [name, value] of u.searchParams) if (CREDENTIAL_NAME.test(name)) out.push(value);
  // The raw query text too (searchParams decodes `+` and `%XX`).
  for (const part of u.search.replace(/^\?/, '').split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0 && CREDENTIAL_NAME.test(decode(part.slice(0, eq)))) out.push(part.slice(eq + 1));
  }
  return out;
}

/** A URL fit to print: credentials in the user info and the query replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (!u.username && !u.password && ![...u.searchParams.keys()].some((k) => CREDENTIAL_NAME.test(k))) return url;
  const params = u.search
    .replace(/^\?/, '')
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) return part;
      let name = part.slice(0, eq);
      try {
        name = decodeURIComponent(name);
      } catch {
        // as written
      }
      return CREDENTIAL_NAME.test(name) ? `${part.slice(0, eq)}=${REDACTED}` : part;
    });
  const auth = u.password ? `${u.username}:${REDACTED}@` : u.username ? `${REDACTED}@` : '';
  return `${u.protocol}//${auth}${u.host}${u.pathname}${params.length ? `?${params.join('&')}` : ''}${u.hash}`;
}

/** The secrets a model configuration holds. */
export function secretsOf(sources: SecretSources): string[] {
  const out: string[] = [];
  if (sources.apiKey) out.push(sources.apiKey);
  if (sources.baseUrl) out.push(...urlSecrets(sources.baseUrl));
  for (const [name, value] of Object.entries(sources.headers ?? {})) {
    if (!CREDENTIAL_NAME.test(name)) continue;
    out.push(value);
    const bearer = /^(Bearer|Basic|Token)\s+(.+)$/i.exec(value.trim());
    if (bearer) out.push(bearer[2]!);
  }
  return out;
}

export class Redactor {
  /** Longest first, so a secret that contains another is replaced whole. */
  private secrets: string[] = [];
  private byteSecrets: Buffer[] = [];

  constructor(secrets: Iterable<string | undefined> = []) {
    this.add(...secrets);
  }

  /** A redactor for a model configuration's secrets. */
  static for(sources: SecretSources): Redactor {
    return new Redactor(secretsOf(sources));
  }

  /** Several redactors' secrets in one. */
  static merge(...redactors: (Redactor | undefined)[]): Redactor {
    const r = new Redactor();
    r.setForms(redactors.flatMap((x) => x?.secrets ?? []));
    return r;
  }

  add(...secrets: (string | undefined)[]): this {
    const more = secrets.filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH).flatMap(variants);
    this.setForms([...this.secrets, ...more]);
    return this;
  }

  private setForms(forms: readonly string[]): void {
    this.secrets = [...new Set(forms)].filter((v) => !REDACTED.includes(v)).sort((a, b) => b.length - a.length);
    this.byteSecrets = this.secrets.map((s) => Buffer.from(s, 'utf8'));
  }

  /** Whether there is anything to redact at all. */
  get empty(): boolean {
    return this.secrets.length === 0;
  }

  /** The longest secret form, in UTF-16 units (how much a stream must hold back). */
  get longest(): number {
    return this.secrets[0]?.length ?? 0;
  }

  /** The secrets and their forms, longest first (for stream redactors). */
  get forms(): readonly string[] {
    return this.secrets;
  }

  get byteForms(): readonly Buffer[] {
    return this.byteSecrets;
  }

  /** Whether the text holds a secret. */
  has(text: string): boolean {
    return this.secrets.some((s) => text.includes(s));
  }

  redact(text: string): string {
    if (!this.secrets.length || !text) return text;
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  }

  /** A deep copy with every string (object keys too) redacted; the same value when nothing matched. */
  value<T>(value: T): T {
    if (!this.secrets.length) return value;
    return this.walk(value, new Map()) as T;
  }

  private walk(v: unknown, seen: Map<object, unknown>): unknown {
    if (typeof v === 'string') return this.redact(v);
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Uint8Array) {
      const text = Buffer.from(v).toString('utf8');
      return this.has(text) ? Buffer.from(this.redact(text), 'utf8') : v;
    }
    if (v instanceof Date) return v;
    const done = seen.get(v);
    if (done !== undefined) return done;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      let changed = false;
      for (const x of v) {
        const y = this.walk(x, seen);
        if (y !== x) changed = true;
        out.push(y);
      }
      return changed ? out : v;
    }
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    let changed = false;
    for (const [k, x] of Object.entries(v)) {
      const key = this.redact(k);
      const y = this.walk(x, seen);
      if (y !== x || key !== k) changed = true;
      out[key] = y;
    }
    return changed ? out : v;
  }

  /** An error's message (and cause chain) redacted, as an Error of the same message. */
  error(e: unknown): unknown {
    if (!this.secrets.length) return e;
    if (!(e instanceof Error)) return typeof e === 'string' ? this.redact(e) : this.value(e);
    const text = `${e.message}\n${e.stack ?? ''}`;
    if (!this.has(text)) return e;
    const clean = new Error(this.redact(e.message));
    clean.name = e.name;
    clean.stack = this.redact(e.stack ?? '');
    return clean;
  }

  /** A message for an error, redacted. */
  message(e: unknown): string {
    return this.redact(e instanceof Error ? e.message : String(e));
  }

  textStream(): TextRedactStream {
    return new TextRedactStream(this);
  }

  byteStream(): ByteRedactStream {
    return new ByteRedactStream(this);
  }
}

/** How many trailing units of `buf` could begin one of the secrets (to be held back). */
function heldBack<T extends string | Buffer>(buf: T, forms: readonly T[], startsWith: (hay: T, at: number, needle: T, len: number) => boolean): number {
  let keep = 0;
  for (const f of forms) {
    const max = Math.min(f.length - 1, buf.length);
    for (let n = max; n > keep; n--) {
      if (startsWith(buf, buf.length - n, f, n)) {
        keep = n;
        break;
      }
    }
  }
  return keep;
}

/**
 * Text arriving in pieces, redacted: `push` returns what is safe to pass on now, `end` the rest.
 * A secret split across pieces is replaced whole.
 */
export class TextRedactStream {
  private pending = '';
  constructor(private readonly redactor: Redactor) {}

  push(text: string): string {
    if (this.redactor.empty) return text;
    const all = this.redactor.redact(this.pending + text);
    const keep = heldBack(all, this.redactor.forms, (hay, at, needle, len) => hay.startsWith(needle.slice(0, len), at));
    this.pending = all.slice(all.length - keep);
    return all.slice(0, all.length - keep);
  }

  end(): string {
    const rest = this.redactor.redact(this.pending);
    this.pending = '';
    return rest;
  }
}

function replaceBytes(buf: Buffer, forms: readonly Buffer[]): Buffer {
  let out = buf;
  const marker = Buffer.from(REDACTED);
  for (const f of forms) {
    let at = out.indexOf(f);
    if (at < 0) continue;
    const parts: Buffer[] = [];
    let from = 0;
    while (at >= 0) {
      parts.push(out.subarray(from, at), marker);
      from = at + f.length;
      at = out.indexOf(f, from);
    }
    parts.push(out.subarray(from));
    out = Buffer.concat(parts);
  }
  return out;
}

/** {@link TextRedactStream} for bytes (the proxy relays bytes, and a key may be split anywhere). */
export class ByteRedactStream {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly redactor: Redactor) {}

  push(chunk: Uint8Array): Buffer {
    const forms = this.redactor.byteForms;
    if (!forms.length) return Buffer.from(chunk);
    const all = replaceBytes(this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk), forms);
    const keep = heldBack(all, forms, (hay, at, needle, len) => hay.compare(needle, 0, len, at, at + len) === 0);
    this.pending = Buffer.from(all.subarray(all.length - keep));
    return all.subarray(0, all.length - keep);
  }

  end(): Buffer {
    const rest = replaceBytes(this.pending, this.redactor.byteForms);
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

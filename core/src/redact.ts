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
 * two chunks is caught too. {@link LaneRedactStream} does the same for text of several fields
 * arriving interleaved (the proxy's SSE deltas: content, reasoning, tool-call arguments, choices).
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

/**
 * How many trailing units of `buf` could begin one of the secrets (to be held back). Only the
 * positions holding a form's first unit are compared (this runs on every streamed token).
 */
function heldBackText(buf: string, forms: readonly string[]): number {
  let keep = 0;
  for (const f of forms) {
    const first = f.charCodeAt(0);
    for (let n = Math.min(f.length - 1, buf.length); n > keep; n--) {
      const at = buf.length - n;
      if (buf.charCodeAt(at) === first && f.startsWith(buf.slice(at))) {
        keep = n;
        break;
      }
    }
  }
  return keep;
}

function heldBackBytes(buf: Buffer, forms: readonly Buffer[]): number {
  let keep = 0;
  for (const f of forms) {
    const first = f[0];
    for (let n = Math.min(f.length - 1, buf.length); n > keep; n--) {
      const at = buf.length - n;
      if (buf[at] === first && buf.compare(f, 0, n, at, buf.length) === 0) {
        keep = n;
        break;
      }
    }
  }
  return keep;
}

/** How many trailing characters of `text` could be the start of one of the redactor's secrets. */
export function secretPrefixLength(redactor: Redactor, text: string): number {
  return heldBackText(text, redactor.forms);
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
    const keep = heldBackText(all, this.redactor.forms);
    this.pending = all.slice(all.length - keep);
    return all.slice(0, all.length - keep);
  }

  end(): string {
    const rest = this.redactor.redact(this.pending);
    this.pending = '';
    return rest;
  }
}

/** A piece of text and the lane (field, choice, tool call…) it belongs to. */
export interface LanePiece {
  lane: string;
  text: string;
}

/**
 * Text of several lanes arriving interleaved (a streamed reply's content, reasoning and tool-call
 * arguments, several choices), redacted in arrival order: a secret that starts in one lane and
 * ends in another is replaced whole (`[redacted]` goes to the lane where it started, the rest of
 * it is dropped), and the end of what arrived that could begin a secret waits, whatever its lanes,
 * for the next piece. `push` returns the pieces safe to pass on now, in order; `end` the rest.
 * Each lane's own concatenation is the job of a {@link TextRedactStream} per lane after this one.
 */
export class LaneRedactStream {
  private held: LanePiece[] = [];
  constructor(private readonly redactor: Redactor) {}

  push(lane: string, text: string): LanePiece[] {
    if (!text) return [];
    if (this.redactor.empty) return [{ lane, text }];
    if (!this.held.length && !this.redactor.has(text)) {
      // The common case: nothing waiting, so only the end of this piece may have to.
      const keep = heldBackText(text, this.redactor.forms);
      if (!keep) return [{ lane, text }];
      this.held = [{ lane, text: text.slice(text.length - keep) }];
      return keep < text.length ? [{ lane, text: text.slice(0, text.length - keep) }] : [];
    }
    this.held.push({ lane, text });
    return this.settle(false);
  }

  end(): LanePiece[] {
    return this.held.length ? this.settle(true) : [];
  }

  private settle(final: boolean): LanePiece[] {
    let pieces = this.held;
    const all = pieces.map((p) => p.text).join('');
    const spans = secretSpans(all, this.redactor.forms);
    if (spans.length) pieces = cutSpans(pieces, all, spans);
    const text = spans.length ? pieces.map((p) => p.text).join('') : all;
    let cut = text.length - (final ? 0 : heldBackText(text, this.redactor.forms));
    const out: LanePiece[] = [];
    this.held = [];
    for (const p of pieces) {
      if (cut >= p.text.length) {
        const last = out[out.length - 1];
        if (last?.lane === p.lane) last.text += p.text;
        else if (p.text) out.push({ ...p });
      } else if (cut > 0) {
        out.push({ lane: p.lane, text: p.text.slice(0, cut) });
        this.held.push({ lane: p.lane, text: p.text.slice(cut) });
      } else if (p.text) this.held.push(p);
      cut -= p.text.length;
    }
    return out;
  }
}

/** Where the secrets are in `text` (longest forms first, not overlapping), in order. */
function secretSpans(text: string, forms: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  for (const f of forms) {
    for (let at = text.indexOf(f); at >= 0; at = text.indexOf(f, at + 1)) {
      const end = at + f.length;
      if (spans.some(([a, b]) => at < b && end > a)) continue;
      spans.push([at, end]);
      at = end - 1;
    }
  }
  return spans.sort((x, y) => x[0] - y[0]);
}

/** The pieces with each span's text removed and `[redacted]` put where the span starts. */
function cutSpans(pieces: LanePiece[], all: string, spans: [number, number][]): LanePiece[] {
  const out: LanePiece[] = [];
  let start = 0;
  for (const p of pieces) {
    const end = start + p.text.length;
    let text = '';
    let pos = start;
    for (const [a, b] of spans) {
      if (b <= pos || a >= end) continue;
      if (a >= pos) text += all.slice(pos, a) + REDACTED;
      pos = Math.min(b, end);
    }
    text += all.slice(pos, end);
    out.push({ lane: p.lane, text });
    start = end;
  }
  return out;
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
    const keep = heldBackBytes(all, forms);
    this.pending = Buffer.from(all.subarray(all.length - keep));
    return all.subarray(0, all.length - keep);
  }

  end(): Buffer {
    const rest = replaceBytes(this.pending, this.redactor.byteForms);
    this.pending = Buffer.alloc(0);
    return rest;
  }
}

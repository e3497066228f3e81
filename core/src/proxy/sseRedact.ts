/**
 * Redaction of an SSE stream event by event, for the model proxy (modelProxy.ts).
 *
 * Byte-level scrubbing catches a key cut across two network chunks, but not one spread over
 * several events: an upstream that streams `{"delta":{"content":"sk-ab"}}` then
 * `{"delta":{"content":"cdef…"}}` would hand the agent both halves. So `text/event-stream`
 * responses are read line by line, and in each `data:` line that is a chat-completion chunk (its
 * JSON is always on one line) the text deltas a client concatenates are rewritten through
 * streaming redactors that hold back any end that could be the start of a secret:
 *
 * - the text fields of each choice's `delta` — `content`, `reasoning_content`, `reasoning`,
 *   `refusal`, `audio.transcript`, `function_call.arguments`, and `tool_calls[].function.arguments`
 *   per tool-call index — one lane per choice index, field and tool call, first all together in
 *   arrival order ({@link LaneRedactStream}: a key that starts in one lane and ends in another, or
 *   in another choice, is caught) and then each lane on its own ({@link TextRedactStream}: a key
 *   spread over any number of a lane's events, whatever came in between, is caught);
 * - `logprobs.content` and `logprobs.refusal` (whose tokens spell the same text): token entries
 *   are held back whole, and entries that together hold a secret become one `[redacted]` entry.
 *
 * What is held back goes out with the next event (added to its delta, or as a choice or tool-call
 * entry of its own), at the latest with the chunk that ends its choice (`finish_reason`), or in a
 * chunk of our own just before `data: [DONE]` or the end of the stream. Ordinary text is delayed
 * by at most a secret's length, and an event where nothing changed is passed on byte for byte.
 * Identifiers (`id`, `name`, `type`, `role`) are not streamed text: they are left whole, and like
 * every other line (not JSON, not a chat-completion chunk, `event:`, comments) are left to the
 * byte-level scrubber the proxy runs on everything this returns. Nothing waits for an event's
 * blank line. A line over {@link SSE_MAX_LINE_CHARS}, and a stream whose lines end with bare
 * CRs, are passed on as they come (byte-level scrubbing only), so memory stays bounded.
 */
import { LaneRedactStream, secretPrefixLength, type Redactor, type TextRedactStream } from '../redact';

/** A line longer than this is passed on unparsed, as it streams. */
export const SSE_MAX_LINE_CHARS = 8 * 1024 * 1024;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);

/** Where a lane's text lives in a chunk's choice. */
type Lane = { choice: number; kind: 'field'; field: string } | { choice: number; kind: 'sub'; parent: 'audio' | 'function_call'; field: string } | { choice: number; kind: 'tool'; tool: number };

/** Delta fields that are streamed text (each chunk carries the next piece). */
const TEXT_FIELDS = ['reasoning_content', 'reasoning', 'content', 'refusal'] as const;
const SUB_FIELDS = [
  ['audio', 'transcript'],
  ['function_call', 'arguments'],
] as const;
const LOGPROB_FIELDS = ['content', 'refusal'] as const;

/** Token entries of `logprobs.content` held back whole; a secret spread over entries becomes one entry. */
class TokenLane {
  private held: unknown[] = [];
  constructor(private readonly redactor: Redactor) {}

  push(entries: readonly unknown[]): unknown[] {
    const all = this.held.length ? [...this.held, ...entries] : [...entries];
    this.held = [];
    return this.settle(all, false);
  }

  end(): unknown[] {
    const all = this.held;
    this.held = [];
    return all.length ? this.settle(all, true) : [];
  }

  get idle(): boolean {
    return this.held.length === 0;
  }

  private settle(all: unknown[], final: boolean): unknown[] {
    const token = (e: unknown): string => (isObj(e) && typeof e.token === 'string' ? e.token : '');
    let text = all.map(token).join('');
    if (this.redactor.has(text)) {
      text = this.redactor.redact(text);
      const logprobs = all.map((e) => (isObj(e) && typeof e.logprob === 'number' ? e.logprob : 0));
      all = [{ token: text, logprob: Math.min(...logprobs), bytes: [...Buffer.from(text, 'utf8')], top_logprobs: [] }];
    }
    let cut = text.length - (final ? 0 : secretPrefixLength(this.redactor, text));
    const out: unknown[] = [];
    for (const e of all) {
      const t = token(e);
      if (t.length <= cut) out.push(e);
      else this.held.push(e);
      cut -= t.length;
      if (cut < 0) cut = -1; // once one entry waits, all after it wait too
    }
    return out;
  }
}

/** A chat-completion chunk's text, laned and redacted across events. */
class ChunkRedactor {
  private readonly lanes = new Map<string, Lane>();
  private readonly streams = new Map<string, TextRedactStream>();
  private readonly tokens = new Map<string, TokenLane>();
  private readonly order: LaneRedactStream;
  /** The last chunk: its envelope (id, model, created…) is that of a chunk of our own. */
  private last: Obj = {};

  constructor(private readonly redactor: Redactor) {
    this.order = new LaneRedactStream(redactor);
  }

  /** The chunk with its text redacted, or undefined when it goes out exactly as it came. */
  rewrite(chunk: Obj, choices: unknown[]): Obj | undefined {
    this.last = chunk;
    const out = new Map<string, string>();
    const given = new Map<string, string>();
    const logprobsOut = new Map<string, unknown[]>();
    let changed = false;
    const feed = (key: string, lane: Lane, text: string): void => {
      given.set(key, (given.get(key) ?? '') + text);
      this.lanes.set(key, lane);
      this.release(this.order.push(key, text), out);
    };
    const finished: number[] = [];
    choices.forEach((c, position) => {
      if (!isObj(c)) return;
      const choice = typeof c.index === 'number' ? c.index : position;
      const delta = isObj(c.delta) ? c.delta : undefined;
      if (delta) {
        for (const field of TEXT_FIELDS) if (typeof delta[field] === 'string') feed(`${choice}:${field}`, { choice, kind: 'field', field }, delta[field]);
        for (const [parent, field] of SUB_FIELDS) {
          const sub = delta[parent];
          if (isObj(sub) && typeof sub[field] === 'string') feed(`${choice}:${parent}.${field}`, { choice, kind: 'sub', parent, field }, sub[field]);
        }
        if (Array.isArray(delta.tool_calls)) {
          delta.tool_calls.forEach((tc, j) => {
            if (!isObj(tc) || !isObj(tc.function) || typeof tc.function.arguments !== 'string') return;
            const tool = typeof tc.index === 'number' ? tc.index : j;
            feed(`${choice}:tool:${tool}`, { choice, kind: 'tool', tool }, tc.function.arguments);
          });
        }
      }
      if (isObj(c.logprobs)) {
        for (const field of LOGPROB_FIELDS) {
          const entries = c.logprobs[field];
          if (!Array.isArray(entries)) continue;
          const key = `${choice}:${field}`;
          const lane = this.tokenLane(key);
          const wasIdle = lane.idle;
          const released = lane.push(entries);
          if (!wasIdle || !lane.idle || released.length !== entries.length || released.some((e, i) => e !== entries[i])) changed = true;
          logprobsOut.set(key, released);
        }
      }
      if (c.finish_reason != null) finished.push(choice);
    });
    if (finished.length) {
      // The end of a choice: everything it holds goes out with this chunk.
      this.release(this.order.end(), out);
      for (const choice of finished) if (this.flushChoice(choice, out, logprobsOut)) changed = true;
    }
    // A lane of this chunk whose text is all held goes out empty; one not in it only with text.
    for (const key of given.keys()) if (!out.has(key)) out.set(key, '');
    for (const [key, text] of out) {
      if (!given.has(key) && !text) out.delete(key);
      else if (given.get(key) !== text) changed = true;
    }
    if (!changed) return undefined;
    return this.build(chunk, choices, out, logprobsOut);
  }

  /** Everything still held, as a chunk of our own (undefined when nothing is). */
  flush(): Obj | undefined {
    const out = new Map<string, string>();
    const logprobsOut = new Map<string, unknown[]>();
    this.release(this.order.end(), out);
    for (const [key, text] of out) if (!text) out.delete(key);
    const choices = new Set([...this.streams.keys(), ...this.tokens.keys()].map((k) => Number(k.split(':')[0])));
    for (const choice of choices) this.flushChoice(choice, out, logprobsOut);
    if (![...out.values()].some(Boolean) && ![...logprobsOut.values()].some((e) => e.length)) return undefined;
    return this.build(envelopeOf(this.last), [], out, logprobsOut);
  }

  private tokenLane(key: string): TokenLane {
    let lane = this.tokens.get(key);
    if (!lane) this.tokens.set(key, (lane = new TokenLane(this.redactor)));
    return lane;
  }

  private stream(key: string): TextRedactStream {
    let s = this.streams.get(key);
    if (!s) this.streams.set(key, (s = this.redactor.textStream()));
    return s;
  }

  private release(pieces: { lane: string; text: string }[], out: Map<string, string>): void {
    for (const p of pieces) out.set(p.lane, (out.get(p.lane) ?? '') + this.stream(p.lane).push(p.text));
  }

  /** Ends a choice's lanes; whether logprobs entries were still held. */
  private flushChoice(choice: number, out: Map<string, string>, logprobsOut: Map<string, unknown[]>): boolean {
    const prefix = `${choice}:`;
    let entries = false;
    for (const [key, s] of this.streams) {
      if (!key.startsWith(prefix)) continue;
      const rest = s.end();
      if (rest) out.set(key, (out.get(key) ?? '') + rest);
      this.streams.delete(key);
    }
    for (const [key, lane] of this.tokens) {
      if (!key.startsWith(prefix)) continue;
      const rest = lane.end();
      if (rest.length) {
        logprobsOut.set(key, [...(logprobsOut.get(key) ?? []), ...rest]);
        entries = true;
      }
      this.tokens.delete(key);
    }
    return entries;
  }

  /** A copy of the chunk with each lane's text and each logprobs list set as redacted. */
  private build(chunk: Obj, choices: unknown[], out: Map<string, string>, logprobsOut: Map<string, unknown[]>): Obj {
    const copy = choices.map((c) => (isObj(c) ? { ...c, ...(isObj(c.delta) ? { delta: { ...c.delta } } : {}) } : c));
    const choiceOf = (index: number): Obj => {
      let at = copy.findIndex((c, i) => isObj(c) && (typeof c.index === 'number' ? c.index : i) === index);
      if (at < 0) {
        // Held text of a choice this chunk does not carry: an entry of its own, in index order.
        const entry = { index, delta: {}, finish_reason: null };
        at = copy.findIndex((c) => isObj(c) && typeof c.index === 'number' && c.index > index);
        if (at < 0) at = copy.length;
        copy.splice(at, 0, entry);
      }
      const c = copy[at] as Obj;
      if (!isObj(c.delta)) c.delta = {};
      return c;
    };
    for (const [key, text] of out) {
      const lane = this.lanes.get(key);
      if (!lane) continue;
      const delta = choiceOf(lane.choice).delta as Obj;
      if (lane.kind === 'field') delta[lane.field] = text;
      else if (lane.kind === 'sub') {
        const sub = delta[lane.parent];
        delta[lane.parent] = { ...(isObj(sub) ? sub : {}), [lane.field]: text };
      } else {
        const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls.map((tc) => (isObj(tc) ? { ...tc } : tc)) : [];
        let at = calls.findIndex((tc, j) => isObj(tc) && (typeof tc.index === 'number' ? tc.index : j) === lane.tool);
        if (at < 0) {
          at = calls.findIndex((tc) => isObj(tc) && typeof tc.index === 'number' && tc.index > lane.tool);
          if (at < 0) at = calls.length;
          calls.splice(at, 0, { index: lane.tool, function: {} });
        }
        const tc = calls[at] as Obj;
        tc.function = { ...(isObj(tc.function) ? tc.function : {}), arguments: text };
        delta.tool_calls = calls;
      }
    }
    for (const [key, entries] of logprobsOut) {
      const [index, field] = key.split(':') as [string, string];
      const c = choiceOf(Number(index));
      c.logprobs = { ...(isObj(c.logprobs) ? c.logprobs : {}), [field]: entries };
    }
    return { ...chunk, choices: copy };
  }
}

function envelopeOf(chunk: Obj): Obj {
  const out: Obj = {};
  for (const k of ['id', 'object', 'created', 'model', 'system_fingerprint', 'service_tier']) if (chunk[k] !== undefined) out[k] = chunk[k];
  out.object ??= 'chat.completion.chunk';
  return out;
}

/**
 * An SSE stream (as text) redacted line by line: `push` returns what may go on now, `end` the
 * rest. Every `data:` line that is a chat-completion chunk (a chunk's JSON is always on one line)
 * is rewritten; other lines go on as they came, as soon as they are complete, so nothing waits
 * for an event's blank line (servers that end events with a single newline stream as before).
 * Run the byte-level scrubber on what comes out as well (ids, models, other events).
 */
export class SseRedactStream {
  /** The current line, not yet complete. */
  private buffer = '';
  /** The current line was too long and is being passed on as it comes. */
  private raw = false;
  /** Line ends are bare CRs: not parsed at all (byte-level scrubbing only). */
  private bare = false;
  /** What went out last ended an event (a blank line), or nothing went out yet. */
  private boundary = true;
  private readonly chunks: ChunkRedactor;

  constructor(
    private readonly redactor: Redactor,
    private readonly maxLineChars = SSE_MAX_LINE_CHARS,
  ) {
    this.chunks = new ChunkRedactor(redactor);
  }

  push(text: string): string {
    if (this.redactor.empty || this.bare || !text) return text;
    let out = '';
    let from = 0;
    let nl: number;
    // The buffer holds no line end: only the new text is searched.
    let scan = this.buffer.length;
    const buf = this.buffer + text;
    while ((nl = buf.indexOf('\n', scan)) >= 0) {
      scan = nl + 1;
      const line = buf.slice(from, nl + 1);
      from = nl + 1;
      if (this.raw) {
        this.raw = false;
        out += line;
        this.boundary = false;
      } else out += this.line(line);
    }
    this.buffer = buf.slice(from);
    const cr = this.buffer.indexOf('\r');
    if (cr >= 0 && cr < this.buffer.length - 1) {
      // A CR not followed by LF: the stream ends its lines with bare CRs; pass it on as it is.
      this.bare = true;
      out += this.buffer;
      this.buffer = '';
    } else if (this.raw || this.buffer.length > this.maxLineChars) {
      this.raw = true;
      out += this.buffer;
      this.boundary = false;
      this.buffer = '';
    }
    return out;
  }

  end(): string {
    const rest = this.buffer;
    this.buffer = '';
    if (this.bare) return rest;
    // A last line without its line end: a chunk is still rewritten, anything else goes on as it
    // came, after what was held.
    const rewritten = rest && !this.raw ? this.rewrite(rest) : undefined;
    if (rewritten !== undefined) return this.emit(`${rewritten}\n\n`) + this.held();
    return this.held() + rest;
  }

  /** Text going out, whole lines (or a piece of a line too long to keep): notes where it ends. */
  private emit(text: string): string {
    if (text) this.boundary = text === '\n' || text === '\r\n' || text.endsWith('\n\n') || text.endsWith('\r\n\r\n');
    return text;
  }

  /** A complete line, as it goes out. */
  private line(line: string): string {
    if (!line.startsWith('data:')) return this.emit(line);
    const body = line.endsWith('\r\n') ? line.slice(0, -2) : line.slice(0, -1);
    if (body.slice(5).trim() === '[DONE]') return this.held() + this.emit(line);
    const rewritten = this.rewrite(body);
    return this.emit(rewritten === undefined ? line : rewritten + line.slice(body.length));
  }

  /** A `data:` line (without its line end) rewritten, or undefined when it goes on as it came. */
  private rewrite(line: string): string | undefined {
    if (!line.startsWith('data:')) return undefined;
    const data = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    // Only a JSON object can be a chat-completion chunk.
    if (!data.trimStart().startsWith('{')) return undefined;
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return undefined;
    }
    if (!isObj(chunk) || !Array.isArray(chunk.choices)) return undefined;
    const rewritten = this.chunks.rewrite(chunk, chunk.choices);
    return rewritten ? `data: ${JSON.stringify(rewritten)}` : undefined;
  }

  /** What the lanes still hold, as an event of our own (ending any event still open first). */
  private held(): string {
    const chunk = this.chunks.flush();
    if (!chunk) return '';
    const out = `${this.boundary ? '' : '\n'}data: ${JSON.stringify(chunk)}\n\n`;
    this.boundary = true;
    return out;
  }
}

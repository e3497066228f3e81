/**
 * `npm run bench:proxy-sse`: what the model proxy's event-level SSE redaction costs per streamed
 * event, against the byte-level scrubbing alone (what the proxy did before) measured in the same
 * run, in process (no network: the figures are the CPU added on the hot path of every token).
 *
 * - **bytes only**: `ByteRedactStream.push` on each event's bytes.
 * - **events + bytes**: what the proxy now does for `text/event-stream`: UTF-8 decode,
 *   `SseRedactStream.push` (parse the event, redact the deltas through the lane and per-lane
 *   streams, re-serialize when something was held back), encode, then the byte scrubber.
 *
 * Streams: ordinary content tokens (a fifth of them end in `s` or `c`, which could start the key
 * or its base64 form, and so wait one event), tool-call arguments in small pieces, and a
 * placeholder key (nothing to redact: the proxy does not parse events then). Each network chunk is
 * one event. Prints p50/p95 per event over batches, and the added cost. Options: `--events N`
 * (20000 per batch), `--batches N` (15).
 */
import { performance } from 'node:perf_hooks';
import { SseRedactStream } from '../core/src/proxy/sseRedact';
import { Redactor } from '../core/src/redact';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const EVENTS = Number(arg('events', '20000'));
const BATCHES = Number(arg('batches', '15'));

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const event = (delta: Record<string, unknown>): Buffer =>
  Buffer.from(`data: ${JSON.stringify({ id: 'chatcmpl-bench-0123456789', object: 'chat.completion.chunk', created: 1730000000, model: 'qwen3-coder-30b', system_fingerprint: 'fp_1', choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] })}\n\n`);

const WORDS = 'The function reads the config file and returns a map of settings; then we check each value against the schema and report errors with their line numbers'.split(' ');
const contentEvents = Array.from({ length: 256 }, (_, i) => event({ content: ` ${WORDS[i % WORDS.length]}` }));
const args = JSON.stringify({ path: 'src/settings.py', content: 'def load(path):\n    with open(path) as f:\n        return dict(line.split("=", 1) for line in f if line.strip())\n' });
const toolEvents = Array.from({ length: Math.ceil(args.length / 6) }, (_, i) => event({ tool_calls: [{ index: 0, function: { arguments: args.slice(i * 6, i * 6 + 6) } }] }));

const KEY = 'sk-proj-8f3c2a1b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a';
const cases = [
  { label: 'content tokens', events: contentEvents, redactor: Redactor.for({ apiKey: KEY, baseUrl: 'https://api.example.com/v1' }) },
  { label: 'tool-call arguments', events: toolEvents, redactor: Redactor.for({ apiKey: KEY }) },
  { label: 'placeholder key', events: contentEvents, redactor: Redactor.for({ apiKey: 'EMPTY' }) },
];

function bytesOnly(redactor: Redactor, events: Buffer[]): number {
  const scrubber = redactor.byteStream();
  let n = 0;
  const t = performance.now();
  for (let i = 0; i < EVENTS; i++) n += scrubber.push(events[i % events.length]!).length;
  n += scrubber.end().length;
  if (n < 0) throw new Error('unreachable');
  return ((performance.now() - t) * 1e6) / EVENTS;
}

function eventsAndBytes(redactor: Redactor, events: Buffer[]): number {
  // As the proxy does: with nothing to redact, events are not parsed at all.
  if (redactor.empty) return bytesOnly(redactor, events);
  const scrubber = redactor.byteStream();
  const decoder = new TextDecoder('utf-8');
  const sse = new SseRedactStream(redactor);
  let n = 0;
  const t = performance.now();
  for (let i = 0; i < EVENTS; i++) n += scrubber.push(Buffer.from(sse.push(decoder.decode(events[i % events.length]!, { stream: true })), 'utf8')).length;
  n += scrubber.push(Buffer.from(sse.end(), 'utf8')).length + scrubber.end().length;
  if (n < 0) throw new Error('unreachable');
  return ((performance.now() - t) * 1e6) / EVENTS;
}

/** How many events went out rewritten (something was held back or released). */
function rewritten(redactor: Redactor, events: Buffer[]): number {
  const sse = new SseRedactStream(redactor);
  let changed = 0;
  for (const e of events) if (sse.push(e.toString('utf8')) !== e.toString('utf8')) changed++;
  return changed / events.length;
}

console.log(`proxy SSE redaction, ${BATCHES} batches of ${EVENTS} events (ns per event; event ~${contentEvents[0]!.length} bytes)`);
for (const c of cases) {
  const base: number[] = [];
  const full: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    base.push(bytesOnly(c.redactor, c.events));
    full.push(eventsAndBytes(c.redactor, c.events));
  }
  // The first batches warm the JIT up.
  base.splice(0, 3);
  full.splice(0, 3);
  const b50 = pct(base, 50);
  const f50 = pct(full, 50);
  console.log(
    `${c.label.padEnd(22)} bytes only p50 ${b50.toFixed(0).padStart(6)} p95 ${pct(base, 95).toFixed(0).padStart(6)} | events+bytes p50 ${f50.toFixed(0).padStart(6)} p95 ${pct(full, 95).toFixed(0).padStart(6)} | added p50 ${(f50 - b50).toFixed(0).padStart(6)} ns (x${(f50 / b50).toFixed(1)}) | rewritten ${(rewritten(c.redactor, c.events) * 100).toFixed(0)}% of events`,
  );
}

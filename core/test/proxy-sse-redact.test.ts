/**
 * The proxy's event-level SSE redaction (sseRedact.ts): a key spread over several chat-completion
 * events — two, one character per event, across two choices, across content and a tool call,
 * inside a tool call's arguments, in logprobs — reaches the client nowhere, held-back text is
 * released with the next event or at the end of its choice or stream, and an ordinary stream
 * arrives with the same text (events where nothing was held back byte for byte). Through the
 * proxy too (a local upstream): what the client gets and what is recorded agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LaneRedactStream, Redactor } from '../src/redact';
import { SseRedactStream } from '../src/proxy/sseRedact';
import { startModelProxy, type ProxyExchange } from '../src/proxy/modelProxy';

const KEY = 'sk-proxy-0123456789abcdef0123456789abcdef';
const r = Redactor.for({ apiKey: KEY });

type Delta = Record<string, unknown>;
type Choice = { index?: number; delta?: Delta; finish_reason?: string | null; logprobs?: unknown };
const event = (choices: Choice[], extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: choices.map((c) => ({ index: 0, finish_reason: null, ...c })), ...extra })}\n\n`;
const content = (text: string, finish: string | null = null, index = 0): string => event([{ index, delta: { content: text }, finish_reason: finish }]);
const DONE = 'data: [DONE]\n\n';

/** Runs events through the redactor, each event as one network chunk (or cut into `pieces`). */
function run(events: string[], cut?: (all: string) => string[]): string {
  const s = new SseRedactStream(r);
  const input = cut ? cut(events.join('')) : events;
  return input.map((x) => s.push(x)).join('') + s.end();
}

interface Received {
  /** Per choice: each text field (and `tool:N` for a tool call's arguments) as a client concatenates it. */
  text: Map<string, string>;
  /** Every text piece in the order it came, all lanes together. */
  order: string;
  events: string[];
  finish: Map<number, string>;
}

/** What an OpenAI-style client makes of an SSE stream. */
function receive(sse: string): Received {
  const text = new Map<string, string>();
  const finish = new Map<number, string>();
  const events = sse.split('\n\n').filter(Boolean);
  let order = '';
  const add = (key: string, t: unknown) => {
    if (typeof t !== 'string') return;
    text.set(key, (text.get(key) ?? '') + t);
    order += t;
  };
  for (const e of events) {
    const data = e.replace(/^data: /, '');
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { choices: Choice[] };
    for (const c of chunk.choices) {
      const i = c.index ?? 0;
      const d = c.delta ?? {};
      for (const f of ['reasoning_content', 'reasoning', 'content', 'refusal']) add(`${i}:${f}`, d[f]);
      for (const tc of (d.tool_calls as { index: number; function?: { arguments?: string } }[] | undefined) ?? []) add(`${i}:tool:${tc.index}`, tc.function?.arguments);
      const lp = (c.logprobs as { content?: { token: string }[] } | undefined)?.content;
      for (const entry of lp ?? []) text.set(`${i}:logprobs`, (text.get(`${i}:logprobs`) ?? '') + entry.token);
      if (c.finish_reason) finish.set(i, c.finish_reason);
    }
  }
  return { text, order, events, finish };
}

function assertNoKey(sse: string): void {
  const got = receive(sse);
  assert.ok(!sse.includes(KEY), 'the key is in the stream');
  for (const [lane, t] of got.text) assert.ok(!t.includes(KEY) && !t.includes(KEY.slice(0, 12)) && !t.includes(KEY.slice(-12)), `${lane} holds the key or a piece of it: ${t}`);
  assert.ok(!got.order.includes(KEY), 'the text in arrival order holds the key');
}

test('a key split across two content events is replaced whole', () => {
  const out = run([content('your key is sk-proxy-0123'), content('456789abcdef0123456789abcdef. Bye'), content('', 'stop'), DONE]);
  assertNoKey(out);
  assert.equal(receive(out).text.get('0:content'), 'your key is [redacted]. Bye');
  assert.match(out, /data: \[DONE\]\n\n$/);
});

test('a key spread over many events, one character per event for a stretch, is replaced whole', () => {
  const pieces = ['the key: sk-pro', ...KEY.slice(6, 20).split(''), KEY.slice(20, 30), ...KEY.slice(30).split(''), ' (that was it)'];
  assert.equal(pieces.join(''), `the key: ${KEY} (that was it)`);
  const out = run([...pieces.map((p) => content(p)), content('', 'stop'), DONE]);
  assertNoKey(out);
  const got = receive(out);
  assert.equal(got.text.get('0:content'), 'the key: [redacted] (that was it)');
  assert.equal(got.events.length, pieces.length + 2, 'one event out for each event in');
});

test('a key across a content delta and the next choice, or across content and a tool call, is caught in arrival order', () => {
  // Choice 0 starts it, choice 1 (next event) ends it.
  let out = run([content(`A: ${KEY.slice(0, 15)}`, null, 0), content(`${KEY.slice(15)} B`, null, 1), content('', 'stop', 0), content('', 'stop', 1), DONE]);
  assertNoKey(out);
  let got = receive(out);
  assert.equal(got.text.get('0:content'), 'A: [redacted]');
  assert.equal(got.text.get('1:content'), ' B');
  // Content starts it, the tool call's arguments end it.
  out = run([
    content(`calling with ${KEY.slice(0, 20)}`),
    event([{ delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'exec', arguments: '' } }] } }]),
    event([{ delta: { tool_calls: [{ index: 0, function: { arguments: `${KEY.slice(20)}"}` } }] } }]),
    event([{ delta: {}, finish_reason: 'tool_calls' }]),
    DONE,
  ]);
  assertNoKey(out);
  got = receive(out);
  assert.equal(got.text.get('0:content'), 'calling with [redacted]');
  assert.equal(got.text.get('0:tool:0'), '"}');
  assert.match(out, /"id":"call_1","type":"function","function":\{"name":"exec","arguments":""\}/, 'the tool call keeps its id, type and name');
});

test('a key inside tool-call arguments split across events (two calls interleaved) is replaced, per call', () => {
  const args0 = JSON.stringify({ command: `curl -H "Authorization: Bearer ${KEY}" x` });
  const args1 = JSON.stringify({ path: 'a.txt', content: `k=${KEY}` });
  const evs = [event([{ delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'c0', type: 'function', function: { name: 'exec', arguments: '' } }] } }])];
  for (let i = 0; i < args0.length; i += 7) evs.push(event([{ delta: { tool_calls: [{ index: 0, function: { arguments: args0.slice(i, i + 7) } }] } }]));
  evs.push(event([{ delta: { tool_calls: [{ index: 1, id: 'c1', type: 'function', function: { name: 'write', arguments: args1.slice(0, 20) } }] } }]));
  for (let i = 20; i < args1.length; i += 3) evs.push(event([{ delta: { tool_calls: [{ index: 1, function: { arguments: args1.slice(i, i + 3) } }] } }]));
  evs.push(event([{ delta: {}, finish_reason: 'tool_calls' }]), DONE);
  const out = run(evs);
  assertNoKey(out);
  const got = receive(out);
  assert.deepEqual(JSON.parse(got.text.get('0:tool:0')!), { command: 'curl -H "Authorization: Bearer [redacted]" x' });
  assert.deepEqual(JSON.parse(got.text.get('0:tool:1')!), { path: 'a.txt', content: 'k=[redacted]' });
  // Call 0's arguments are all out before call 1 starts (clients that append to the last call).
  const lines = out.split('\n\n');
  const start1 = lines.findIndex((l) => l.includes('"id":"c1"'));
  assert.ok(!lines.slice(start1 + 1).some((l) => l.includes('"index":0,"function"')), 'arguments of call 0 after call 1 began');
});

test('held-back text goes out with the next event, at finish_reason, before [DONE], or at the end of a stream without one', () => {
  // "…is sk" could be the key's start: held, and out with the next event once it is not.
  let out = run([content('this is sk'), content('y blue'), content('', 'stop'), DONE]);
  let got = receive(out);
  assert.equal(got.text.get('0:content'), 'this is sky blue');
  assert.equal(JSON.parse(out.split('\n\n')[0]!.slice(6)).choices[0].delta.content, 'this is ', 'the end that could start the key waited');
  // At the chunk that ends the choice.
  out = run([content('ends with sk-pro'), content('', 'stop'), DONE]);
  got = receive(out);
  assert.equal(got.text.get('0:content'), 'ends with sk-pro');
  assert.match(out.split("\n\n")[1]!, /"finish_reason":"stop","delta":\{"content":"sk-pro"\}/);
  // No finish_reason: a chunk of our own before [DONE].
  out = run([content('ends with sk-pro'), DONE]);
  assert.equal(receive(out).text.get('0:content'), 'ends with sk-pro');
  assert.match(out, /"content":"sk-pro"[^\n]*\n\ndata: \[DONE\]\n\n$/);
  // No [DONE] either, and the last event not ended by a blank line.
  out = run([content('ends with sk-pro'), content(' and sk-p').trimEnd()]);
  assert.equal(receive(out).text.get('0:content'), 'ends with sk-pro and sk-p');
});

test('an ordinary stream arrives with the same text; events where nothing waited arrive byte for byte', () => {
  const words = 'Sure, this is what the tools said: several files exist, and this script is scheduled. Let me check the logs and exec it.'.split(/(?<= )/);
  const evs = [event([{ delta: { role: 'assistant', content: '' } }]), ...words.map((w) => content(w)), event([{ delta: { reasoning_content: 'thinks' } }]), content('', 'stop'), event([], { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }), DONE];
  const out = run(evs);
  const got = receive(out);
  assert.equal(got.text.get('0:content'), words.join(''));
  assert.equal(got.text.get('0:reasoning_content'), 'thinks');
  assert.equal(got.events.length, evs.length);
  const outEvents = out.split(/(?<=\n\n)/);
  const same = outEvents.filter((e, i) => e === evs[i]).length;
  // Only words ending in a key form's first character (s, c for base64 "c2st…") wait; most go as they came.
  assert.ok(same >= evs.length - words.filter((w) => /[sc]\s*$/.test(w)).length - 2, `${same} of ${evs.length} events unchanged`);
  assert.equal(outEvents[0], evs[0], 'the role chunk is untouched');
  assert.equal(outEvents.at(-2), evs.at(-2), 'the usage chunk is untouched');
  // With no secret at all (placeholder key), the stream is not touched.
  const none = new SseRedactStream(Redactor.for({ apiKey: 'EMPTY' }));
  assert.equal(evs.map((e) => none.push(e)).join('') + none.end(), evs.join(''));
});

test('random event and network splits: each lane is exactly the redacted text; no key in any lane or in arrival order', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let round = 0; round < 200; round++) {
    const lanes = { content: `a ${KEY} b s${KEY}${KEY} sk-proxy c`, reasoning_content: `think ${KEY.slice(0, 11)}…no ${KEY}` };
    const pos = { content: 0, reasoning_content: 0 };
    const evs: string[] = [];
    while (pos.content < lanes.content.length || pos.reasoning_content < lanes.reasoning_content.length) {
      const field = rand(2) ? 'content' : 'reasoning_content';
      const n = 1 + rand(9);
      if (pos[field] >= lanes[field].length) continue;
      evs.push(event([{ delta: { [field]: lanes[field].slice(pos[field], pos[field] + n) } }]));
      pos[field] += n;
    }
    evs.push(rand(2) ? content('', 'stop') : DONE);
    const all = evs.join('');
    const out = run(evs, (s) => {
      const cuts: string[] = [];
      for (let i = 0; i < s.length; ) {
        const n = 1 + rand(300);
        cuts.push(s.slice(i, i + n));
        i += n;
      }
      return cuts;
    });
    assert.ok(!all.includes(KEY), 'the key is spread over events');
    assertNoKey(out);
    const got = receive(out);
    assert.equal(got.text.get('0:content'), r.redact(lanes.content), `round ${round}`);
    assert.equal(got.text.get('0:reasoning_content'), r.redact(lanes.reasoning_content), `round ${round}`);
  }
});

test('logprobs tokens spelling the key over several events become one [redacted] entry; others pass', () => {
  const tokens = ['key ', 'sk-', 'proxy-', KEY.slice(9, 25), KEY.slice(25), ' ok'];
  const evs = tokens.map((t) => event([{ delta: { content: t }, logprobs: { content: [{ token: t, logprob: -0.5, bytes: [...Buffer.from(t)], top_logprobs: [] }] } }]));
  evs.push(content('', 'stop'), DONE);
  const out = run(evs);
  assertNoKey(out);
  const got = receive(out);
  assert.equal(got.text.get('0:content'), 'key [redacted] ok');
  assert.equal(got.text.get('0:logprobs'), 'key [redacted] ok');
  assert.ok(!out.includes(JSON.stringify([...Buffer.from(KEY.slice(9, 25))]).slice(1, -1)), 'the bytes of a piece of the key');
});

test('nothing waits for an event to end: a line goes on when it is complete; events ended by one newline, or bare CRs, stream as before', () => {
  const s = new SseRedactStream(r);
  const first = content('hello there');
  assert.equal(s.push(first.slice(0, -1)), first.slice(0, -1), 'the data line went on before the blank line came');
  assert.equal(s.push('\n'), '\n');
  // A sloppy server: one newline between events, the key spread over them.
  const sloppy = [content('a sk-proxy-0123').slice(0, -1), content('456789abcdef0123456789abcdef b').slice(0, -1), content('', 'stop').slice(0, -1), 'data: [DONE]\n'];
  const t = new SseRedactStream(r);
  const outs = sloppy.map((e) => t.push(e));
  assert.ok(outs[0]!.startsWith('data: ') && outs[0]!.endsWith('\n'), 'each line went on at once');
  const joined = outs.join('') + t.end();
  assert.ok(!joined.includes(KEY.slice(0, 12)));
  const text = joined
    .split('\n')
    .filter((l) => l.startsWith('data: {'))
    .map((l) => (JSON.parse(l.slice(6)) as { choices: Choice[] }).choices[0]?.delta?.content ?? '')
    .join('');
  assert.equal(text, 'a [redacted] b');
  // CRLF line ends are kept; bare CRs are not parsed (byte-level scrubbing only).
  const crlf = new SseRedactStream(r);
  const crlfOut = crlf.push(content('this is sk').replace(/\n/g, '\r\n')) + crlf.push(content('y', 'stop').replace(/\n/g, '\r\n')) + crlf.end();
  assert.match(crlfOut, /^data: \{[^\r\n]*"content":"this is "[^\r\n]*\}\r\n\r\ndata: \{[^\r\n]*"content":"sky"[^\r\n]*\}\r\n\r\n$/);
  const bare = new SseRedactStream(r);
  const cr = content('x').replace(/\n/g, '\r') + content('y').replace(/\n/g, '\r');
  assert.equal(bare.push(cr) + bare.end(), cr);
});

test('events that are not chat-completion chunks, and a line over the size cap, go on as they came', () => {
  const other = [': keep-alive\n\n', 'event: ping\ndata: not json\n\n', 'data: {"type":"response.output_text.delta","delta":"hi"}\n\n', 'data: {"error":{"message":"boom"}}\n\n'];
  const s = new SseRedactStream(r);
  assert.equal(other.map((e) => s.push(e)).join('') + s.end(), other.join(''));
  // Its end would wait, were it parsed.
  const big = content(`${'x'.repeat(5000)} sk-pro`);
  assert.notEqual(run([big]).split('\n\n')[0], big.split('\n\n')[0]);
  const capped = new SseRedactStream(r, 1000);
  let out = '';
  for (let i = 0; i < big.length; i += 700) out += capped.push(big.slice(i, i + 700));
  assert.equal(out + capped.end(), big);
});

test('the lane stream: a secret across lanes goes to the lane where it began; lanes keep their order', () => {
  const s = new LaneRedactStream(r);
  const first = s.push('a', 'x sk-proxy-0123');
  assert.deepEqual(first, [{ lane: 'a', text: 'x ' }], 'only what could start the key waits');
  assert.deepEqual(s.push('b', '456789abcdef'), []);
  const out = [...first, ...s.push('a', '0123456789abcdef y'), ...s.push('b', ' z'), ...s.end()];
  const lane = (l: string) => out.filter((p) => p.lane === l).map((p) => p.text).join('');
  assert.equal(lane('a'), 'x [redacted] y');
  assert.equal(lane('b'), ' z');
  assert.deepEqual(out.map((p) => p.lane), ['a', 'a', 'b'], 'in arrival order');
});

test('through the proxy: the key spread over events reaches the client nowhere, and the recording is what the client got', async () => {
  const upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const evs = [event([{ delta: { role: 'assistant', content: '' } }]), content('echo: '), ...KEY.match(/.{1,4}/g)!.map((p) => content(p)), content(' done'), content('', 'stop'), DONE];
      // Cut at odd places too: the network split inside events.
      const all = evs.join('');
      let i = 0;
      const next = (): void => {
        if (i >= all.length) {
          res.end();
          return;
        }
        res.write(all.slice(i, (i += 37)));
        setImmediate(next);
      };
      next();
    });
  });
  await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
  const recorded: ProxyExchange[] = [];
  const token = `clawgym-test-token-${'cd34'.repeat(6)}`;
  const proxy = await startModelProxy({ upstream: { baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, apiKey: KEY }, listen: { host: '127.0.0.1', port: 0 }, token, record: (e) => recorded.push(e) });
  try {
    const got = await fetch(`${proxy.url}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
    const text = await got.text();
    assertNoKey(text);
    assert.equal(receive(text).text.get('0:content'), 'echo: [redacted] done');
    assert.equal(recorded.length, 1);
    const rec = recorded[0]!.response as { choices: { message: { content: string }; finish_reason: string }[] };
    assert.equal(rec.choices[0]!.message.content, 'echo: [redacted] done', 'the recording is what the client got');
    assert.equal(rec.choices[0]!.finish_reason, 'stop');
  } finally {
    await proxy.close();
    await new Promise<void>((done) => upstream.close(() => done()));
  }
});

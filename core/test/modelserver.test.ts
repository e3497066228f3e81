/**
 * The scripted model server, driven over HTTP on 127.0.0.1 by the real `openai` client: replies
 * (JSON and streamed), /v1/models, usage, task selection, stateless reply indexing, every fault
 * (recovered by the client's own retries where a real endpoint's would be), logprobs and token
 * ids, error bodies, and the script validator's messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import {
  EXHAUSTED_CONTENT,
  isLoopbackHost,
  loadModelScript,
  ModelScriptError,
  parseModelScript,
  pseudoTokens,
  startModelServer,
  TASK_HEADER,
  validateModelScript,
  type ModelServer,
  type RawModelScript,
} from '../src/modelserver';

const SCRIPT: RawModelScript = {
  model: 'scripted',
  models: ['scripted-b'],
  tasks: {
    'list-files': {
      replies: [
        { content: 'Let me look around first.', reasoning: 'The user wants a listing.', tool_calls: [{ name: 'exec', arguments: { command: 'ls -la', cwd: '/workspace' } }] },
        { tool_calls: [{ id: 'call_fixed', name: 'read', arguments: { path: 'notes.md' } }, { name: 'exec', arguments: '{"command": "wc -l notes.md"}' }] },
        { content: 'Done: there are three files.', usage: { prompt_tokens: 100, completion_tokens: 7 } },
      ],
    },
    summarise: { match: '^Summari[sz]e', replies: [{ content: 'A summary.' }] },
    report: { replies: [{ content: 'report reply' }] },
    'report-2': { replies: [{ content: 'report-2 reply' }] },
  },
  default: { replies: [{ content: 'default reply' }] },
};

let server: ModelServer;
const logs: string[] = [];

before(async () => {
  server = await startModelServer({ script: SCRIPT, log: (line) => logs.push(line) });
});
after(async () => {
  await server.close();
});

function client(opts: { maxRetries?: number; timeout?: number; apiKey?: string } = {}, url = server.url): OpenAI {
  return new OpenAI({ baseURL: url, apiKey: opts.apiKey ?? 'test-key', maxRetries: opts.maxRetries ?? 0, ...(opts.timeout ? { timeout: opts.timeout } : {}) });
}

const task = (id: string) => ({ headers: { [TASK_HEADER]: id } });
const user = (content: string): ChatCompletionMessageParam => ({ role: 'user', content });

/** A conversation with `n` assistant turns so far (each a tool call answered by a tool message). */
function conversation(n: number, first = 'list the files'): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [{ role: 'system', content: 'You are an agent.' }, user(first)];
  for (let i = 0; i < n; i++) {
    out.push({ role: 'assistant', content: null, tool_calls: [{ id: `c${i}`, type: 'function', function: { name: 'exec', arguments: '{}' } }] });
    out.push({ role: 'tool', tool_call_id: `c${i}`, content: 'ok' });
  }
  return out;
}

/** Accumulate a stream the way an agent does. */
async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let content = '';
  let reasoning = '';
  let role: string | undefined;
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  const calls: { id?: string; name: string; arguments: string; argumentChunks: number }[] = [];
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    const delta = choice.delta as typeof choice.delta & { reasoning_content?: string };
    if (delta.role) role = delta.role;
    if (delta.content) content += delta.content;
    if (delta.reasoning_content) reasoning += delta.reasoning_content;
    for (const tc of delta.tool_calls ?? []) {
      const c = (calls[tc.index] ??= { name: '', arguments: '', argumentChunks: 0 });
      if (tc.id) c.id = tc.id;
      if (tc.function?.name) c.name += tc.function.name;
      if (tc.function?.arguments) {
        c.arguments += tc.function.arguments;
        c.argumentChunks++;
      }
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  return { content, reasoning, role, finish, usage, calls, chunks };
}

describe('replies', () => {
  test('non-streaming: an OpenAI-shaped chat.completion with content, reasoning and tool calls', async () => {
    const r = await client().chat.completions.create({ model: 'scripted', messages: conversation(0) }, task('list-files'));
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(typeof r.created, 'number');
    assert.equal(r.model, 'scripted');
    assert.equal(r.choices.length, 1);
    const c = r.choices[0]!;
    assert.equal(c.index, 0);
    assert.equal(c.finish_reason, 'tool_calls');
    assert.equal(c.logprobs, null);
    assert.equal(c.message.role, 'assistant');
    assert.equal(c.message.content, 'Let me look around first.');
    assert.equal((c.message as unknown as { reasoning_content: string }).reasoning_content, 'The user wants a listing.');
    assert.equal(c.message.tool_calls?.length, 1);
    const call = c.message.tool_calls![0]!;
    assert.equal(call.type, 'function');
    assert.match(call.id, /^call_\w+$/);
    assert.ok(call.type === 'function');
    assert.equal(call.function.name, 'exec');
    assert.deepEqual(JSON.parse(call.function.arguments), { command: 'ls -la', cwd: '/workspace' });
    assert.ok(r.usage);
    assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  });

  test('generated tool-call ids are stable across requests (retries see the same ids)', async () => {
    const a = await client().chat.completions.create({ model: 'scripted', messages: conversation(0) }, task('list-files'));
    const b = await client().chat.completions.create({ model: 'scripted', messages: conversation(0) }, task('list-files'));
    assert.equal(a.choices[0]!.message.tool_calls![0]!.id, b.choices[0]!.message.tool_calls![0]!.id);
  });

  test('streaming: role first, content in chunks, tool-call arguments reassemble, finish, usage, [DONE]', async () => {
    const stream = await client().chat.completions.create({ model: 'scripted', messages: conversation(0), stream: true, stream_options: { include_usage: true } }, task('list-files'));
    const s = await collect(stream);
    assert.equal(s.role, 'assistant');
    assert.equal(s.chunks[0]!.choices[0]!.delta.role, 'assistant', 'the role comes first');
    assert.equal(s.content, 'Let me look around first.');
    assert.ok(s.chunks.filter((c) => c.choices[0]?.delta.content).length >= 2, 'content in more than one chunk');
    assert.equal(s.reasoning, 'The user wants a listing.');
    assert.equal(s.calls.length, 1);
    assert.equal(s.calls[0]!.name, 'exec');
    assert.ok(s.calls[0]!.argumentChunks >= 2, `arguments in ${s.calls[0]!.argumentChunks} chunks`);
    assert.deepEqual(JSON.parse(s.calls[0]!.arguments), { command: 'ls -la', cwd: '/workspace' });
    assert.equal(s.finish, 'tool_calls');
    assert.ok(s.usage && s.usage.total_tokens === s.usage.prompt_tokens + s.usage.completion_tokens && s.usage.completion_tokens > 0);
    const last = s.chunks[s.chunks.length - 1]!;
    assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
    for (const c of s.chunks) assert.equal(c.object, 'chat.completion.chunk');
  });

  test('streaming without include_usage sends no usage chunk', async () => {
    const s = await collect(await client().chat.completions.create({ model: 'scripted', messages: [user('x')], stream: true }, task('report')));
    assert.equal(s.content, 'report reply');
    assert.equal(s.usage, undefined);
    assert.equal(s.finish, 'stop');
  });

  test('the raw SSE stream ends with data: [DONE]', async () => {
    const r = await fetch(`${server.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', [TASK_HEADER]: 'report' }, body: JSON.stringify({ model: 'm', messages: [user('x')], stream: true }) });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await r.text();
    assert.ok(text.endsWith('data: [DONE]\n\n'), text.slice(-40));
  });

  test('several tool calls stream with their own indexes; a given id is kept; a raw string is sent as is', async () => {
    const s = await collect(await client().chat.completions.create({ model: 'scripted', messages: conversation(1), stream: true }, task('list-files')));
    assert.deepEqual(
      s.calls.map((c) => [c.id?.startsWith('call_'), c.name, c.arguments]),
      [
        [true, 'read', '{"path":"notes.md"}'],
        [true, 'exec', '{"command": "wc -l notes.md"}'],
      ],
    );
    assert.equal(s.calls[0]!.id, 'call_fixed');
  });

  test('usage can be overridden per reply', async () => {
    const r = await client().chat.completions.create({ model: 'scripted', messages: conversation(2) }, task('list-files'));
    assert.deepEqual(r.usage, { prompt_tokens: 100, completion_tokens: 7, total_tokens: 107 });
  });

  test('usage is estimated as ceil(chars / 4)', async () => {
    const r = await client().chat.completions.create({ model: 'scripted', messages: [user('12345678')] }, task('report'));
    assert.equal(r.usage?.prompt_tokens, 2);
    assert.equal(r.usage?.completion_tokens, Math.ceil('report reply'.length / 4));
  });

  test('/v1/models lists the script\'s models; retrieve answers a known one and 404s an unknown one', async () => {
    const list = await client().models.list();
    assert.deepEqual(list.data.map((m) => m.id), ['scripted', 'scripted-b']);
    assert.equal(list.data[0]!.object, 'model');
    const one = await client().models.retrieve('scripted-b');
    assert.equal(one.id, 'scripted-b');
    await assert.rejects(client().models.retrieve('gpt-9'), (e: unknown) => e instanceof OpenAI.NotFoundError);
  });
});

describe('task selection and reply indexing', () => {
  test('by header, then match, then an id in the first user message (longest first), then default', async () => {
    const ask = async (messages: ChatCompletionMessageParam[], header?: string) => {
      const before = server.requests.length;
      const r = await client().chat.completions.create({ model: 'scripted', messages }, header ? task(header) : undefined);
      const rec = server.requests[before]!;
      return [r.choices[0]!.message.content, rec.task, rec.selectedBy];
    };
    assert.deepEqual(await ask([user('Summarise report-2')], 'report'), ['report reply', 'report', 'header']);
    assert.deepEqual(await ask([{ role: 'system', content: 'report' }, user('Summarize the notes for report-2')]), ['A summary.', 'summarise', 'match']);
    assert.deepEqual(await ask([user('Please do task report-2 now')]), ['report-2 reply', 'report-2', 'id']);
    assert.deepEqual(await ask([user('Please do task report now')]), ['report reply', 'report', 'id']);
    assert.deepEqual(await ask([user('something else')]), ['default reply', 'default', 'default']);
    assert.deepEqual(await ask([user('list-files')], 'no-such-task'), ['default reply', 'default', 'default'], 'an unknown header falls back to default');
  });

  test('without a default, an unmatched request gets a 404 naming the script\'s tasks', async () => {
    const s = await startModelServer({ script: { tasks: { alpha: { replies: [{ content: 'a' }] }, beta: { replies: [{ content: 'b' }] } } } });
    try {
      await assert.rejects(client({}, s.url).chat.completions.create({ model: 'x', messages: [user('hello')] }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.NotFoundError, String(e));
        assert.match(e.message, /no scripted task/);
        assert.match(e.message, /alpha, beta/);
        return true;
      });
      await assert.rejects(client({}, s.url).chat.completions.create({ model: 'x', messages: [user('hello')] }, task('gamma')), /`gamma`.*alpha, beta/s);
      assert.equal(s.requests[0]!.task, null);
      assert.equal(s.requests[0]!.status, 404);
    } finally {
      await s.close();
    }
  });

  test('reply N answers the request holding N assistant messages (stateless, any order)', async () => {
    const c = client();
    const r2 = await c.chat.completions.create({ model: 'scripted', messages: conversation(2) }, task('list-files'));
    assert.equal(r2.choices[0]!.message.content, 'Done: there are three files.');
    assert.equal(r2.choices[0]!.finish_reason, 'stop');
    const r1 = await c.chat.completions.create({ model: 'scripted', messages: conversation(1) }, task('list-files'));
    assert.equal(r1.choices[0]!.message.tool_calls?.length, 2);
    const again = await c.chat.completions.create({ model: 'scripted', messages: conversation(2) }, task('list-files'));
    assert.equal(again.choices[0]!.message.content, 'Done: there are three files.');
    assert.equal(server.requests[server.requests.length - 1]!.replyIndex, 2);
  });

  test(`past the last reply: "${EXHAUSTED_CONTENT}" with finish_reason stop, streamed or not`, async () => {
    const r = await client().chat.completions.create({ model: 'scripted', messages: conversation(3) }, task('list-files'));
    assert.equal(r.choices[0]!.message.content, EXHAUSTED_CONTENT);
    assert.equal(r.choices[0]!.finish_reason, 'stop');
    assert.equal(r.choices[0]!.message.tool_calls, undefined);
    assert.equal(server.requests[server.requests.length - 1]!.exhausted, true);
    const s = await collect(await client().chat.completions.create({ model: 'scripted', messages: conversation(5), stream: true }, task('list-files')));
    assert.equal(s.content, EXHAUSTED_CONTENT);
    assert.equal(s.finish, 'stop');
  });

  test('requests are recorded without headers; the API key appears in no record and no log line', async () => {
    const before = server.requests.length;
    await client({ apiKey: 'sk-very-secret-key' }).chat.completions.create({ model: 'scripted-b', messages: [user('hi')], tools: [{ type: 'function', function: { name: 'exec', parameters: { type: 'object' } } }] }, task('report'));
    const rec = server.requests[before]!;
    assert.equal(rec.model, 'scripted-b');
    assert.equal(rec.stream, false);
    assert.equal(rec.task, 'report');
    assert.deepEqual(rec.messages, [{ role: 'user', content: 'hi' }]);
    assert.equal((rec.tools as { function: { name: string } }[])[0]!.function.name, 'exec');
    assert.equal(JSON.stringify(server.requests).includes('sk-very-secret'), false);
    assert.equal(logs.join('\n').includes('sk-very-secret'), false);
    assert.ok(!('headers' in rec));
    assert.match(logs[logs.length - 1]!, /task=report via=header reply=0\/1 -> 200/);
  });
});

describe('faults', () => {
  let s: ModelServer;
  before(async () => {
    s = await startModelServer({
      script: {
        tasks: {
          'rate-limited': { replies: [{ content: 'finally', fault: { kind: 429, times: 2, retry_after_s: 0 } }] },
          'server-error': { replies: [{ content: 'recovered', fault: { kind: '500', times: 1, retry_after_s: 0 } }] },
          'no-retry': { replies: [{ content: 'x', fault: { kind: 429, times: 5, retry_after_s: 0 } }] },
          slow: { replies: [{ content: 'slowly', fault: { kind: 'slow', delay_ms: 4000 } }] },
          'slow-fail': { replies: [{ content: 'slowly', fault: { kind: 'slow', delay_ms: 1500 } }] },
          malformed: { replies: [{ tool_calls: [{ name: 'exec', arguments: { command: 'ls' } }, { name: 'read', arguments: { path: 'a.txt' } }], fault: { kind: 'malformed-args' } }] },
          'malformed-stream': { replies: [{ tool_calls: [{ name: 'exec', arguments: { command: 'ls' } }], fault: { kind: 'malformed-args' } }] },
          truncate: { replies: [{ content: 'a long reply that will never arrive whole', tool_calls: [{ name: 'exec', arguments: { command: 'ls' } }], fault: { kind: 'truncate' } }] },
          'truncate-json': { replies: [{ content: 'cut', fault: { kind: 'truncate' } }] },
        },
      },
    });
  });
  after(async () => {
    await s.close();
  });
  const count = (id: string) => s.requests.filter((r) => r.task === id).length;

  test('429 twice, with retry-after: the client\'s own retries get the reply on the third request', async () => {
    const r = await client({ maxRetries: 2 }, s.url).chat.completions.create({ model: 'm', messages: [user('go')] }, task('rate-limited'));
    assert.equal(r.choices[0]!.message.content, 'finally');
    assert.equal(count('rate-limited'), 3);
    assert.deepEqual(s.requests.filter((x) => x.task === 'rate-limited').map((x) => [x.status, x.fault ?? null]), [
      [429, '429'],
      [429, '429'],
      [200, null],
    ]);
  });

  test('429 without retries: a RateLimitError with an OpenAI error body and a retry-after header', async () => {
    const raw = await fetch(`${s.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', [TASK_HEADER]: 'no-retry' }, body: JSON.stringify({ messages: [user('go')] }) });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get('retry-after'), '0');
    const body = (await raw.json()) as { error: { message: string; type: string; code: string } };
    assert.equal(body.error.code, 'rate_limit_exceeded');
    await assert.rejects(client({}, s.url).chat.completions.create({ model: 'm', messages: [user('go')] }, task('no-retry')), (e: unknown) => e instanceof OpenAI.RateLimitError);
  });

  test('500 once: recovered by one retry', async () => {
    const r = await client({ maxRetries: 1 }, s.url).chat.completions.create({ model: 'm', messages: [user('go')], stream: true }, task('server-error'));
    assert.equal((await collect(r)).content, 'recovered');
    assert.equal(count('server-error'), 2);
    assert.equal(s.requests.find((x) => x.task === 'server-error')!.status, 500);
  });

  test('slow: a client timeout fires, and its retry gets the (now fast) reply', async () => {
    const t0 = Date.now();
    const r = await client({ maxRetries: 1, timeout: 300 }, s.url).chat.completions.create({ model: 'm', messages: [user('go')] }, task('slow'));
    assert.equal(r.choices[0]!.message.content, 'slowly');
    assert.equal(count('slow'), 2);
    assert.ok(Date.now() - t0 < 3500, 'did not wait for the slow reply');
  });

  test('slow without retries: APIConnectionTimeoutError', async () => {
    await assert.rejects(client({ maxRetries: 0, timeout: 200 }, s.url).chat.completions.create({ model: 'm', messages: [user('go')] }, task('slow-fail')), (e: unknown) => e instanceof OpenAI.APIConnectionTimeoutError);
  });

  test('malformed-args: invalid JSON arguments the first time, valid ones after', async () => {
    const c = client({}, s.url);
    const bad = await c.chat.completions.create({ model: 'm', messages: [user('go')] }, task('malformed'));
    const badCalls = bad.choices[0]!.message.tool_calls!;
    assert.equal(badCalls.length, 2);
    for (const call of badCalls) {
      assert.ok(call.type === 'function');
      assert.throws(() => JSON.parse(call.function.arguments), SyntaxError, call.function.arguments);
    }
    assert.equal(s.requests[s.requests.length - 1]!.fault, 'malformed-args');
    const good = await c.chat.completions.create({ model: 'm', messages: [user('go')] }, task('malformed'));
    const goodCalls = good.choices[0]!.message.tool_calls!.map((x) => (x.type === 'function' ? JSON.parse(x.function.arguments) : null));
    assert.deepEqual(goodCalls, [{ command: 'ls' }, { path: 'a.txt' }]);
  });

  test('malformed-args in a stream: the reassembled arguments do not parse', async () => {
    const first = await collect(await client({}, s.url).chat.completions.create({ model: 'm', messages: [user('go')], stream: true }, task('malformed-stream')));
    assert.throws(() => JSON.parse(first.calls[0]!.arguments));
    const second = await collect(await client({}, s.url).chat.completions.create({ model: 'm', messages: [user('go')], stream: true }, task('malformed-stream')));
    assert.deepEqual(JSON.parse(second.calls[0]!.arguments), { command: 'ls' });
  });

  test('truncate: the stream breaks off without [DONE] and iterating it throws; the next request is whole', async () => {
    const stream = await client({}, s.url).chat.completions.create({ model: 'm', messages: [user('go')], stream: true }, task('truncate'));
    let seen = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of stream) seen++;
      })(),
    );
    assert.ok(seen >= 1, 'part of the stream arrived');
    const whole = await collect(await client({}, s.url).chat.completions.create({ model: 'm', messages: [user('go')], stream: true }, task('truncate')));
    assert.equal(whole.content, 'a long reply that will never arrive whole');
    assert.equal(whole.finish, 'tool_calls');
  });

  test('truncate without streaming: the body is cut mid-JSON and the call fails', async () => {
    await assert.rejects(client({}, s.url).chat.completions.create({ model: 'm', messages: [user('go')] }, task('truncate-json')));
    const r = await client({}, s.url).chat.completions.create({ model: 'm', messages: [user('go')] }, task('truncate-json'));
    assert.equal(r.choices[0]!.message.content, 'cut');
  });
});

describe('logprobs and token ids', () => {
  test('logprobs: true gives one entry per pseudo-token of the content', async () => {
    const r = await client().chat.completions.create({ model: 'scripted', messages: [user('x')], logprobs: true }, task('report-2'));
    const entries = r.choices[0]!.logprobs!.content!;
    assert.deepEqual(entries.map((e) => e.token).join(''), 'report-2 reply');
    assert.deepEqual(entries.map((e) => e.token), pseudoTokens('report-2 reply'));
    for (const e of entries) {
      assert.ok(e.logprob <= 0);
      assert.deepEqual(e.bytes, [...Buffer.from(e.token)]);
      assert.deepEqual(e.top_logprobs, []);
    }
  });

  test('return_token_ids: choices[].token_ids and prompt_token_ids, deterministic, also streamed', async () => {
    const body = { model: 'scripted', messages: [user('count the words here')], logprobs: true, return_token_ids: true } as OpenAI.ChatCompletionCreateParamsNonStreaming;
    const a = (await client().chat.completions.create(body, task('report-2'))) as unknown as { prompt_token_ids: number[]; choices: { token_ids: number[]; logprobs: { content: unknown[] } }[] };
    const b = (await client().chat.completions.create(body, task('report-2'))) as unknown as typeof a;
    assert.equal(a.choices[0]!.token_ids.length, a.choices[0]!.logprobs.content.length);
    assert.ok(a.choices[0]!.token_ids.every((n) => Number.isInteger(n) && n >= 0));
    assert.deepEqual(a.choices[0]!.token_ids, b.choices[0]!.token_ids);
    assert.equal(a.prompt_token_ids.length, pseudoTokens('count the words here').length);
    const stream = await client().chat.completions.create({ ...body, stream: true }, task('report-2'));
    const ids: number[] = [];
    let promptIds: number[] | undefined;
    let logprobCount = 0;
    for await (const chunk of stream) {
      const c = chunk as unknown as { prompt_token_ids?: number[]; choices: { token_ids?: number[]; logprobs: { content: unknown[] } | null }[] };
      promptIds ??= c.prompt_token_ids;
      ids.push(...(c.choices[0]?.token_ids ?? []));
      logprobCount += c.choices[0]?.logprobs?.content.length ?? 0;
    }
    assert.deepEqual(ids, a.choices[0]!.token_ids);
    assert.deepEqual(promptIds, a.prompt_token_ids);
    assert.equal(logprobCount, ids.length);
  });

  test('without the flags: logprobs null, no token ids', async () => {
    const r = (await client().chat.completions.create({ model: 'scripted', messages: [user('x')] }, task('report'))) as unknown as Record<string, unknown> & { choices: Record<string, unknown>[] };
    assert.equal(r.choices[0]!.logprobs, null);
    assert.ok(!('token_ids' in r.choices[0]!));
    assert.ok(!('prompt_token_ids' in r));
  });
});

describe('HTTP errors', () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) => fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const errorOf = async (r: Response) => ((await r.json()) as { error: { message: string; type: string; param: string | null; code: string | null } }).error;

  test('bad JSON: 400 with an OpenAI error body', async () => {
    const r = await post('/chat/completions', '{"messages": [');
    assert.equal(r.status, 400);
    const e = await errorOf(r);
    assert.equal(e.type, 'invalid_request_error');
    assert.match(e.message, /not valid JSON/);
  });

  test('missing or empty messages: 400 naming the parameter', async () => {
    for (const body of ['{"model": "m"}', '{"messages": []}', '{"messages": ["hi"]}', '[1]']) {
      const r = await post('/chat/completions', body);
      assert.equal(r.status, 400, body);
      const e = await errorOf(r);
      if (body !== '[1]') assert.equal(e.param, 'messages', body);
    }
  });

  test('unknown path: 404; wrong method: 405', async () => {
    const r = await post('/completions', '{}');
    assert.equal(r.status, 404);
    assert.match((await errorOf(r)).message, /Unknown request URL/);
    const g = await fetch(`${server.url}/chat/completions`);
    assert.equal(g.status, 405);
    assert.equal(g.headers.get('allow'), 'POST');
  });

  test('a body over 32 MiB: 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${server.url}/chat/completions`);
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(33 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('{"messages": [');
    });
    assert.equal(status, 413);
  });

  test('a streamed body that grows past 32 MiB: 413', async () => {
    const big = Buffer.alloc(33 * 1024 * 1024, 0x20);
    const r = await post('/chat/completions', `{"messages": [], "pad": "${big.toString()}"}`).catch((e: unknown) => e);
    // Node's fetch may report the early answer as a failed upload; either way nothing was accepted.
    if (r instanceof Response) assert.equal(r.status, 413);
    else assert.ok(r instanceof Error);
  });
});

describe('the server', () => {
  test('refuses a host that is not loopback', async () => {
    for (const host of ['0.0.0.0', '192.168.1.10', '::', 'example.com']) {
      await assert.rejects(startModelServer({ script: SCRIPT, host }), /loopback interface only/, host);
    }
    assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('127.1.2.3') && isLoopbackHost('::1') && isLoopbackHost('localhost') && isLoopbackHost('[::1]'));
    assert.ok(!isLoopbackHost('128.0.0.1') && !isLoopbackHost('0.0.0.0'));
  });

  test('record: false keeps no requests but still logs them', async () => {
    const lines: string[] = [];
    const s = await startModelServer({ script: SCRIPT, record: false, log: (line, r) => r && lines.push(line) });
    try {
      await client({}, s.url).chat.completions.create({ model: 'm', messages: [user('x')] });
      assert.deepEqual(s.requests, []);
      assert.equal(lines.length, 1);
    } finally {
      await s.close();
    }
  });

  test('the url is http://127.0.0.1:PORT/v1; close() stops it even with a slow reply pending', async () => {
    const s = await startModelServer({ script: { default: { replies: [{ content: 'late', delay_ms: 60_000 }] } } });
    assert.equal(s.url, `http://127.0.0.1:${s.port}/v1`);
    const pending = client({}, s.url).chat.completions.create({ model: 'm', messages: [user('x')] }).catch((e: unknown) => e);
    const deadline = Date.now() + 10_000;
    while (s.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.requests.length, 1);
    const t0 = Date.now();
    await s.close();
    assert.ok(Date.now() - t0 < 2000);
    assert.ok((await pending) instanceof Error);
    await assert.rejects(fetch(`${s.url}/models`));
  });
});

describe('the script format', () => {
  const tmp = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-modelscript-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const p = join(tmp, name);
    fs.writeFileSync(p, text);
    return p;
  };

  test('YAML and JSON files load to the same script', () => {
    const yaml = loadModelScript(
      write(
        'a.yaml',
        `model: scripted
tasks:
  t1:
    match: "^Do"
    replies:
      - content: hi
        tool_calls:
          - name: exec
            arguments: { command: ls }
      - content: bye
        fault: { kind: 429, times: 2 }
`,
      ),
    );
    const json = loadModelScript(write('a.json', JSON.stringify({ model: 'scripted', tasks: { t1: { match: '^Do', replies: [{ content: 'hi', tool_calls: [{ name: 'exec', arguments: { command: 'ls' } }] }, { content: 'bye', fault: { kind: 429, times: 2 } }] } } })));
    assert.deepEqual({ ...yaml, source: '' }, { ...json, source: '' });
    const t = yaml.tasks[0]!;
    assert.equal(t.id, 't1');
    assert.equal(t.match?.source, '^Do');
    assert.deepEqual(t.replies[0]!.toolCalls, [{ name: 'exec', arguments: '{"command":"ls"}' }]);
    assert.equal(t.replies[0]!.finishReason, 'tool_calls');
    assert.equal(t.replies[1]!.finishReason, 'stop');
    assert.deepEqual(t.replies[1]!.fault, { kind: '429', times: 2, delayMs: 2000, retryAfterS: 1 });
  });

  test('every problem is reported with the file and the path of the bad value', () => {
    const p = write(
      'bad.yaml',
      `modle: x
tasks:
  t1:
    match: "(unclosed"
    replies:
      - content: 3
        tool_calls:
          - arguments: [1, 2]
        fault: { kind: 503 }
        finish_reason: done
  t2:
    replies: []
`,
    );
    assert.throws(
      () => loadModelScript(p),
      (e: unknown) => {
        assert.ok(e instanceof ModelScriptError);
        assert.ok(e.message.startsWith(`${p}: `), e.message);
        const expected = [
          /^modle: unknown key; did you mean `model`\?/,
          /^tasks\.t1\.match: not a valid regular expression/,
          /^tasks\.t1\.replies\[0\]\.content: must be a string, not number 3/,
          /^tasks\.t1\.replies\[0\]\.tool_calls\[0\]\.name: missing/,
          /^tasks\.t1\.replies\[0\]\.tool_calls\[0\]\.arguments: must be a mapping \(sent as JSON\) or a string/,
          /^tasks\.t1\.replies\[0\]\.finish_reason: must be one of stop, tool_calls, length, not "done"/,
          /^tasks\.t1\.replies\[0\]\.fault\.kind: must be one of 429, 500, slow, malformed-args, truncate, not number 503/,
          /^tasks\.t2\.replies: needs at least one reply/,
        ];
        for (const re of expected) assert.ok(e.problems.some((x) => re.test(x)), `${re} in\n${e.message}`);
        return true;
      },
    );
  });

  test('broken YAML and JSON, a missing file, an empty script: clear messages', () => {
    assert.throws(() => loadModelScript(write('broken.yaml', 'tasks:\n  a: [\n')), (e: unknown) => e instanceof ModelScriptError && /broken\.yaml: line \d+, column \d+: /.test(e.message));
    assert.throws(() => loadModelScript(write('broken.json', '{"tasks": ')), /broken\.json: not valid JSON/);
    assert.throws(() => loadModelScript(join(tmp, 'nope.yaml')), /nope\.yaml: cannot read the script: no such file/);
    assert.throws(() => parseModelScript('model: x\n', 'empty.yaml'), /empty\.yaml: the script has neither `tasks` nor `default`/);
    assert.throws(() => validateModelScript([1]), /<inline script>: a script must be a mapping/);
    assert.throws(() => validateModelScript({ tasks: { a: { replies: [{ tool_calls: [] , fault: { kind: 'malformed-args' } }] } } }), /`malformed-args` needs a reply with tool calls/);
    assert.throws(() => validateModelScript({ tasks: { a: { replies: [{ content: 'x', fault: { kind: '429', delay_ms: 5 } }] } } }), /only a `slow` fault waits/);
  });

  test('the example in docs/cli.md is a valid script', () => {
    const doc = fs.readFileSync(join(__dirname, '..', '..', '..', 'docs', 'cli.md'), 'utf8');
    const block = /### The script\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block, 'a yaml block under "### The script"');
    const script = parseModelScript(block, 'docs/cli.md');
    assert.deepEqual(script.tasks.map((t) => t.replies.length), [3]);
    assert.equal(script.tasks[0]!.replies[1]!.toolCalls[0]!.arguments, '{"command": "ls');
  });

  test('the example in test-fixtures/model-scripts/README.md is a valid script', () => {
    const readme = fs.readFileSync(join(__dirname, '..', '..', '..', 'test-fixtures', 'model-scripts', 'README.md'), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'a yaml block');
    const script = parseModelScript(block, 'README.md');
    assert.ok(script.tasks.length >= 1);
  });
});

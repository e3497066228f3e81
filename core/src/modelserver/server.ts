/**
 * A scripted OpenAI-compatible model server on the loopback interface: `/v1/chat/completions`
 * (JSON and SSE streaming) and `/v1/models`, answering from a {@link ModelScript} and injecting the
 * faults the script asks for. Clients (the `openai` package, the built-in agent) talk to it
 * exactly as they talk to a real endpoint: only the base URL differs.
 *
 * Stateless by design: reply N answers the request that holds N assistant messages, so retries
 * and parallel trials get the same answers. The only state is how often each (task, reply) was
 * requested, which decides when a fault stops firing.
 *
 * Node's standard library only. The Authorization header is never read, logged or recorded.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { isIPv4 } from 'node:net';
import { testBounded } from '../regex';
import { validateModelScript, type FaultKind, type FinishReason, type ModelScript, type RawModelScript, type ScriptedReply, type ScriptedTask } from './script';

/** The request header that names the task a request belongs to. */
export const TASK_HEADER = 'x-clawgym-task';
/** Bodies above this size are refused with 413. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** What a request past a task's last reply gets (finish_reason `stop`), so agent loops end. */
export const EXHAUSTED_CONTENT = '(script exhausted)';

export interface ModelServerOptions {
  /** A validated script (see loadModelScript) or the same data as a plain object. */
  script: ModelScript | RawModelScript;
  /** A loopback address only (127.0.0.0/8, ::1, localhost); default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Called once per answered request with a one-line summary (and the record, for chat requests). */
  log?: (line: string, request?: RecordedRequest) => void;
  /** Keep every chat request in `requests` (default true; a long-running server may not want to). */
  record?: boolean;
}

/** One `POST /v1/chat/completions` as the server saw it (headers are never kept). */
export interface RecordedRequest {
  model?: string;
  stream: boolean;
  /** The task the request was answered for, or null when none matched. */
  task: string | null;
  /** How the task was picked. */
  selectedBy: 'header' | 'match' | 'id' | 'default' | null;
  /** The number of assistant messages in the request: the reply it got. */
  replyIndex: number;
  /** True when the reply index was past the task's last reply. */
  exhausted: boolean;
  /** The fault that fired on this request, if any. */
  fault?: FaultKind;
  /** The HTTP status answered (200 also for a truncated reply). */
  status: number;
  messages: unknown[];
  tools?: unknown[];
  /** The whole request body. */
  body: Record<string, unknown>;
}

export interface ModelServer {
  /** The base URL for OpenAI clients, e.g. `http://127.0.0.1:41234/v1`. */
  url: string;
  port: number;
  host: string;
  /** Every chat request so far, in arrival order (empty with `record: false`). */
  requests: RecordedRequest[];
  /** Stop listening and drop open connections (pending slow replies are abandoned). */
  close(): Promise<void>;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIPv4(v4) && v4.startsWith('127.');
}

// ---- pseudo-tokens ----

/** Splits text into word-like pieces whose concatenation is the text (a stand-in for a tokenizer). */
export function pseudoTokens(text: string): string[] {
  return text.match(/\s?\p{L}+|\s?\p{N}{1,3}|\s?[^\s\p{L}\p{N}]|\s+/gu) ?? [];
}

function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A deterministic pseudo token id (0..99,999) for a piece of text. */
export function pseudoTokenId(token: string): number {
  return fnv1a(token) % 100_000;
}

function logprobEntry(token: string): { token: string; logprob: number; bytes: number[]; top_logprobs: [] } {
  return { token, logprob: -(fnv1a(token, 0x9e3779b9) % 2000) / 1000, bytes: [...Buffer.from(token, 'utf8')], top_logprobs: [] };
}

// ---- request helpers ----

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The text of a message's content: a string, or the text parts of a list. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
  return '';
}

function promptText(messages: Obj[], tools: unknown): string {
  let text = '';
  for (const m of messages) {
    text += contentText(m.content);
    if (Array.isArray(m.tool_calls)) {
      for (const c of m.tool_calls) {
        const f = isObject(c) && isObject(c.function) ? c.function : {};
        text += `${typeof f.name === 'string' ? f.name : ''}${typeof f.arguments === 'string' ? f.arguments : ''}`;
      }
    }
  }
  if (Array.isArray(tools) && tools.length) text += JSON.stringify(tools);
  return text;
}

function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** The first part of some JSON text, guaranteed not to parse. */
export function malformJson(text: string): string {
  const cut = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
  try {
    JSON.parse(cut);
  } catch {
    return cut;
  }
  return `{"${cut}`;
}

/** Splits a string into `parts` nearly equal pieces (fewer when it is shorter). */
function split(text: string, parts: number): string[] {
  if (text.length <= 1) return [text];
  const n = Math.min(parts, text.length);
  const size = Math.ceil(text.length / n);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function groups<T>(items: T[], parts: number): T[][] {
  if (!items.length) return [];
  const size = Math.ceil(items.length / Math.min(parts, items.length));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface Selection {
  task?: ScriptedTask;
  by: RecordedRequest['selectedBy'];
}

function selectTask(script: ModelScript, header: string | undefined, messages: Obj[]): Selection {
  if (header !== undefined) {
    const t = script.tasks.find((x) => x.id === header);
    if (t) return { task: t, by: 'header' };
    return script.default ? { task: script.default, by: 'default' } : { by: null };
  }
  const firstUser = messages.find((m) => m.role === 'user');
  const text = firstUser ? contentText(firstUser.content) : '';
  // linear-time engine (regex/bounded.ts): a request's text cannot stall the server
  for (const t of script.tasks) if (t.match && testBounded(t.match, text) === true) return { task: t, by: 'match' };
  // The longest id wins, so `report-2` is not taken for `report`.
  const byId = script.tasks.filter((t) => text.includes(t.id)).sort((a, b) => b.id.length - a.id.length)[0];
  if (byId) return { task: byId, by: 'id' };
  return script.default ? { task: script.default, by: 'default' } : { by: null };
}

function errorBody(message: string, type: string, code: string | null, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

// ---- the server ----

export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const script = validateModelScript(options.script);
  const requestedHost = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(requestedHost)) {
    throw new Error(`the model server listens on the loopback interface only (127.0.0.1, ::1, localhost), not \`${requestedHost}\``);
  }
  const bindHost = requestedHost.toLowerCase() === 'localhost' ? '127.0.0.1' : requestedHost.replace(/^\[(.*)\]$/, '$1');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port number: ${port}`);

  const requests: RecordedRequest[] = [];
  const served = new Map<string, number>();
  const stopping = new AbortController();
  const log = options.log ?? (() => undefined);
  const created = (): number => Math.floor(Date.now() / 1000);

  const send = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };

  /** Resolves true after `ms`, false when the client went away or the server is closing. */
  const sleep = (ms: number, res: http.ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve(!res.destroyed);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        res.off('close', gone);
        stopping.signal.removeEventListener('abort', gone);
        resolve(ok);
      };
      const gone = (): void => done(false);
      const timer = setTimeout(() => done(!res.destroyed), ms);
      res.on('close', gone);
      stopping.signal.addEventListener('abort', gone);
    });

  const readBody = (req: http.IncomingMessage): Promise<Buffer | 'too-large'> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length']);
      if (declared > MAX_BODY_BYTES) {
        req.resume();
        return resolve('too-large');
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        if (over) return;
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          over = true;
          chunks.length = 0;
          return resolve('too-large');
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (!over) resolve(Buffer.concat(chunks));
      });
      req.on('error', reject);
    });

  const chat = async (req: http.IncomingMessage, res: http.ServerResponse, started: number): Promise<void> => {
    const raw = await readBody(req);
    if (raw === 'too-large') {
      send(res, 413, errorBody(`the request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`, 'invalid_request_error', 'request_too_large'), { connection: 'close' });
      log(`POST /v1/chat/completions -> 413 body too large`);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      send(res, 400, errorBody(`the request body is not valid JSON: ${(e as Error).message}`, 'invalid_request_error', 'invalid_json'));
      log(`POST /v1/chat/completions -> 400 bad JSON`);
      return;
    }
    if (!isObject(body)) {
      send(res, 400, errorBody('the request body must be a JSON object', 'invalid_request_error', 'invalid_request'));
      log(`POST /v1/chat/completions -> 400 not an object`);
      return;
    }
    const messages = body.messages;
    if (!Array.isArray(messages) || !messages.length || !messages.every((m) => isObject(m) && typeof m.role === 'string')) {
      const what = messages === undefined ? "Missing required parameter: 'messages'." : "'messages' must be a non-empty array of objects with a 'role'.";
      send(res, 400, errorBody(what, 'invalid_request_error', messages === undefined ? 'missing_required_parameter' : 'invalid_value', 'messages'));
      log(`POST /v1/chat/completions -> 400 bad messages`);
      return;
    }
    const msgs = messages as Obj[];
    const stream = body.stream === true;
    const header = req.headers[TASK_HEADER];
    const taskHeader = Array.isArray(header) ? header[0] : header;
    const { task, by } = selectTask(script, taskHeader, msgs);
    const replyIndex = msgs.filter((m) => m.role === 'assistant').length;
    const record: RecordedRequest = {
      ...(typeof body.model === 'string' ? { model: body.model } : {}),
      stream,
      task: task?.id ?? null,
      selectedBy: by,
      replyIndex,
      exhausted: false,
      status: 0,
      messages: msgs,
      ...(Array.isArray(body.tools) ? { tools: body.tools } : {}),
      body,
    };
    if (options.record !== false) requests.push(record);
    const finish = (status: number, note = ''): void => {
      record.status = status;
      const fault = record.fault ? ` fault=${record.fault}` : '';
      const total = task ? `/${task.replies.length}` : '';
      log(`POST /v1/chat/completions task=${record.task ?? '-'}${by ? ` via=${by}` : ''} reply=${replyIndex}${total}${record.exhausted ? ' (exhausted)' : ''}${stream ? ' stream' : ''}${fault} -> ${status}${note} (${Date.now() - started} ms)`, record);
    };

    if (!task) {
      const ids = script.tasks.map((t) => t.id);
      const have = ids.length ? `the script has tasks ${ids.join(', ')}` : 'the script has no tasks';
      const why = taskHeader !== undefined ? `no scripted task \`${taskHeader}\` (from the ${TASK_HEADER} header) and no \`default\`` : `no scripted task for this request: no ${TASK_HEADER} header, no \`match\` or task id in the first user message, and no \`default\``;
      send(res, 404, errorBody(`${why}; ${have}`, 'invalid_request_error', 'task_not_found'));
      finish(404);
      return;
    }

    const scripted: ScriptedReply | undefined = task.replies[replyIndex];
    const reply: ScriptedReply = scripted ?? { content: EXHAUSTED_CONTENT, toolCalls: [], finishReason: 'stop', delayMs: 0 };
    record.exhausted = !scripted;
    let fault: FaultKind | undefined;
    if (reply.fault) {
      const key = `${task.id}\u0000${replyIndex}`;
      const n = (served.get(key) ?? 0) + 1;
      served.set(key, n);
      if (n <= reply.fault.times) fault = reply.fault.kind;
    }
    if (fault) record.fault = fault;

    const wait = reply.delayMs + (fault === 'slow' ? reply.fault!.delayMs : 0);
    if (!(await sleep(wait, res))) {
      finish(499, ' client gone');
      return;
    }
    if (fault === '429' || fault === '500') {
      const retryAfter = String(reply.fault!.retryAfterS);
      if (fault === '429') send(res, 429, errorBody('Rate limit reached (scripted fault).', 'requests', 'rate_limit_exceeded'), { 'retry-after': retryAfter });
      else send(res, 500, errorBody('The server had an error while processing your request (scripted fault).', 'server_error', null), { 'retry-after': retryAfter });
      finish(Number(fault));
      return;
    }

    // The reply itself.
    const model = typeof body.model === 'string' && body.model ? body.model : script.models[0]!;
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const toolCalls = reply.toolCalls.map((c, i) => ({
      id: c.id ?? `call_${[0, 1, 2].map((s) => fnv1a(`${task.id}:${replyIndex}:${i}`, 0x811c9dc5 + s).toString(16).padStart(8, '0')).join('')}`,
      type: 'function' as const,
      function: { name: c.name, arguments: fault === 'malformed-args' ? malformJson(c.arguments) : c.arguments },
    }));
    const content = reply.content;
    const completionChars = (content ?? '').length + (reply.reasoning ?? '').length + toolCalls.reduce((n, c) => n + c.function.name.length + c.function.arguments.length, 0);
    const promptTokens = reply.usage?.promptTokens ?? estimateTokens(promptText(msgs, body.tools).length);
    const completionTokens = reply.usage?.completionTokens ?? estimateTokens(completionChars);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const wantLogprobs = body.logprobs === true;
    const wantIds = body.return_token_ids === true;
    const tokens = pseudoTokens(content ?? '');
    const promptIds = wantIds ? pseudoTokens(msgs.map((m) => contentText(m.content)).join('')).map(pseudoTokenId) : undefined;
    const finishReason: FinishReason = reply.finishReason;

    if (!stream) {
      const message: Obj = { role: 'assistant', content: content ?? null, refusal: null, annotations: [] };
      if (toolCalls.length) message.tool_calls = toolCalls;
      if (reply.reasoning !== undefined) message.reasoning_content = reply.reasoning;
      const choice: Obj = { index: 0, message, logprobs: wantLogprobs ? { content: tokens.map(logprobEntry), refusal: null } : null, finish_reason: finishReason };
      if (wantIds) choice.token_ids = tokens.map(pseudoTokenId);
      const completion: Obj = { id, object: 'chat.completion', created: created(), model, choices: [choice], usage, system_fingerprint: 'clawgym-scripted' };
      if (promptIds) completion.prompt_token_ids = promptIds;
      const text = JSON.stringify(completion);
      if (fault === 'truncate') {
        // Promise the whole body, send half of it, hang up.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
        finish(200, ' truncated');
        return;
      }
      send(res, 200, text);
      finish(200);
      return;
    }

    // Streaming: the chunks OpenAI sends, in its order.
    const ts = created();
    const chunk = (delta: Obj, extra: Obj = {}, finish_reason: FinishReason | null = null): Obj => ({
      id,
      object: 'chat.completion.chunk',
      created: ts,
      model,
      system_fingerprint: 'clawgym-scripted',
      choices: [{ index: 0, delta, logprobs: null, finish_reason, ...extra }],
    });
    const chunks: Obj[] = [];
    const first = chunk({ role: 'assistant', content: '', refusal: null });
    if (promptIds) first.prompt_token_ids = promptIds;
    chunks.push(first);
    if (reply.reasoning) for (const part of split(reply.reasoning, 3)) chunks.push(chunk({ reasoning_content: part }));
    for (const g of groups(tokens, 4)) {
      const extra: Obj = {};
      if (wantLogprobs) extra.logprobs = { content: g.map(logprobEntry), refusal: null };
      if (wantIds) extra.token_ids = g.map(pseudoTokenId);
      chunks.push(chunk({ content: g.join('') }, extra));
    }
    toolCalls.forEach((c, index) => {
      chunks.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }));
      for (const part of split(c.function.arguments, 3)) chunks.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
    });
    chunks.push(chunk({}, {}, finishReason));
    const streamOptions = body.stream_options;
    if (isObject(streamOptions) && streamOptions.include_usage === true) {
      chunks.push({ id, object: 'chat.completion.chunk', created: ts, model, system_fingerprint: 'clawgym-scripted', choices: [], usage });
    }
    if (res.destroyed) return finish(499, ' client gone');
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const events = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`);
    if (fault === 'truncate') {
      // Half the events, then half of the next one, then the connection drops: no [DONE].
      const keep = Math.max(1, Math.floor(events.length / 2));
      const next = events[keep] ?? events[events.length - 1]!;
      res.write(events.slice(0, keep).join('') + next.slice(0, Math.floor(next.length / 2)), () => res.socket?.destroy());
      finish(200, ' truncated');
      return;
    }
    for (const e of events) {
      if (res.destroyed) return finish(499, ' client gone');
      res.write(e);
    }
    res.end('data: [DONE]\n\n');
    finish(200);
  };

  const models = (res: http.ServerResponse, id?: string): void => {
    const entry = (m: string): Obj => ({ id: m, object: 'model', created: 0, owned_by: 'clawgym' });
    if (id === undefined) {
      send(res, 200, JSON.stringify({ object: 'list', data: script.models.map(entry) }));
      log(`GET /v1/models -> 200`);
    } else if (script.models.includes(id)) {
      send(res, 200, JSON.stringify(entry(id)));
      log(`GET /v1/models/${id} -> 200`);
    } else {
      send(res, 404, errorBody(`The model \`${id}\` does not exist; the script lists ${script.models.join(', ')}`, 'invalid_request_error', 'model_not_found', 'model'));
      log(`GET /v1/models/${id} -> 404`);
    }
  };

  const server = http.createServer((req, res) => {
    const started = Date.now();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    const wrongMethod = (allowed: string): void => {
      req.resume();
      send(res, 405, errorBody(`${method} is not allowed on ${path}; use ${allowed}`, 'invalid_request_error', 'method_not_allowed'), { allow: allowed });
      log(`${method} ${path} -> 405`);
    };
    const handle = async (): Promise<void> => {
      if (path === '/v1/chat/completions') return method === 'POST' ? chat(req, res, started) : wrongMethod('POST');
      if (path === '/v1/models') return method === 'GET' ? models(res) : wrongMethod('GET');
      if (path.startsWith('/v1/models/')) return method === 'GET' ? models(res, decodeURIComponent(path.slice('/v1/models/'.length))) : wrongMethod('GET');
      req.resume();
      send(res, 404, errorBody(`Unknown request URL: ${method} ${path}. This scripted server answers GET /v1/models and POST /v1/chat/completions.`, 'invalid_request_error', 'unknown_url'));
      log(`${method} ${path} -> 404`);
    };
    handle().catch((e: unknown) => {
      send(res, 500, errorBody(`internal error in the scripted model server: ${e instanceof Error ? e.message : String(e)}`, 'server_error', null));
      log(`${method} ${path} -> 500 internal error`);
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new Error(`cannot listen on ${bindHost}:${port}: ${e.message}`));
    server.once('error', onError);
    server.listen(port, bindHost, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${actualPort}/v1`,
    port: actualPort,
    host: bindHost,
    requests,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        stopping.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

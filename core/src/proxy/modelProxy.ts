/**
 * A credential-injecting, recording model proxy for black-box agents.
 *
 * An agent installed in the sandbox (OpenClaw, a coding CLI, any command) is given a per-trial
 * random token as its "API key" and a base URL that leads here. The proxy accepts only requests
 * carrying that token (`Authorization: Bearer <token>` or `x-api-key: <token>`), drops every
 * credential header the agent sent, adds the real key (`Authorization: Bearer <apiKey>`) and
 * forwards `/v1/*` to the upstream endpoint. So the real key never enters the sandbox, and every
 * model exchange is recorded (request body, response body — streams reassembled into one
 * `chat.completion` — status, times; never a header), which gives black-box runs full
 * trajectories (`chatExchangesToTrajectory`).
 *
 * It listens on a unix socket (the Docker backend bind-mounts its directory into the container,
 * where a small forwarder turns it back into a loopback TCP port: see forwarder.ts) or on a
 * loopback TCP port. Upstream errors are passed back as they are; a connection failure is a 502
 * in OpenAI's error shape. Nothing here logs.
 *
 * An upstream may echo the key (a 401 repeating the key it was shown): everything that comes back
 * — returned headers, bodies, SSE streams (a key split across chunks too), our error messages —
 * is scrubbed of the key, the URL's credentials and credential headers ({@link Redactor}) before
 * the agent in the sandbox sees it, and so is every recording. In a stream, chat-completion
 * chunks are also rewritten line by line ({@link SseRedactStream}), so a key spread over
 * several deltas (of one field, or of several fields or choices) is caught too; the recording is
 * reassembled from exactly what the agent was sent.
 */
import { timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '../modelserver/server';
import { Redactor } from '../redact';
import { SseRedactStream } from './sseRedact';

/** Request bodies above this are refused with 413. */
export const PROXY_MAX_REQUEST_BYTES = 32 * 1024 * 1024;
/** Response bytes kept for the recording (the agent still gets everything). */
export const PROXY_MAX_RECORDED_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface ModelProxyUpstream {
  /** e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`; `/v1/x` is forwarded to `<baseUrl>/x`. */
  baseUrl: string;
  /** The real key; sent as `Authorization: Bearer <apiKey>`, never recorded. */
  apiKey?: string;
  /** Extra headers for the upstream (tenant routing, …); never recorded. */
  headers?: Record<string, string>;
}

/** One model call as the proxy saw it. Headers are never kept. */
export interface ProxyExchange {
  method: string;
  /** The path the agent asked for, e.g. `/v1/chat/completions`. */
  path: string;
  /** HTTP status given to the agent (502 when the upstream could not be reached). */
  status: number;
  /** The request body parsed as JSON (null when empty or not JSON; the text then is in `requestText`). */
  request: unknown;
  requestText?: string;
  /**
   * The response body as JSON; a streamed chat completion is reassembled into one
   * `chat.completion` (content, reasoning, tool calls, finish reason, usage).
   */
  response: unknown;
  /** The raw response text when it was not JSON (cut at the recording cap). */
  responseText?: string;
  stream: boolean;
  /** The response was over the recording cap: `response` may be partial. */
  truncated?: boolean;
  /** Why the exchange failed on our side (upstream unreachable, the agent went away…). */
  error?: string;
  startedAt: string;
  finishedAt: string;
}

export interface ModelProxyOptions {
  upstream: ModelProxyUpstream;
  listen: { socketPath: string } | { host: string; port: number };
  /** The per-trial token the agent uses as its API key. */
  token: string;
  /** Called once per finished exchange. */
  record: (exchange: ProxyExchange) => void;
  /** Closes the proxy when it fires. */
  signal?: AbortSignal;
}

export interface ModelProxy {
  /** `http://127.0.0.1:PORT/v1` for TCP; for a socket, `http://localhost/v1` (to be used through the socket). */
  url: string;
  socketPath?: string;
  port?: number;
  /** Stop listening and drop open connections (removes the socket file). */
  close(): Promise<void>;
}

/** Headers passed through to the upstream (everything else, credentials first, is dropped). */
const FORWARDED_HEADERS = ['content-type', 'accept', 'user-agent', 'x-clawgym-task', 'openai-beta', 'anthropic-version', 'anthropic-beta'];
/** Response headers passed back to the agent. */
const RETURNED_HEADERS = ['content-type', 'retry-after', 'x-request-id', 'cache-control', 'openai-processing-ms'];

function sameSecret(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(token, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token the request presents, from `Authorization: Bearer …` or `x-api-key`/`api-key`. */
function presentedToken(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  for (const h of ['x-api-key', 'api-key']) {
    const v = req.headers[h];
    if (typeof v === 'string' && v) return v.trim();
  }
  return undefined;
}

function sendError(res: http.ServerResponse, status: number, message: string, type: string, code: string | null = null): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { message, type, param: null, code } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);

/**
 * Reassembles `chat.completion.chunk` SSE events into one `chat.completion` (first choice:
 * role, content, reasoning_content, tool calls merged by index; finish reason; usage; token ids).
 */
export class ChatStreamAssembler {
  private buffer = '';
  private id: string | undefined;
  private model: string | undefined;
  private created: number | undefined;
  private content = '';
  private reasoning = '';
  private sawContent = false;
  private finish: unknown = null;
  private usage: unknown;
  private readonly calls: { id?: string; type?: string; name: string; arguments: string }[] = [];
  private readonly tokenIds: number[] = [];
  private events = 0;
  /** An `error` object a stream sent (OpenAI-style mid-stream failure). */
  private error: unknown;

  push(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (!line.startsWith('data:')) return;
    const data = line.slice(5).trim();
    if (data === '' || data === '[DONE]') return;
    const ev = parseJson(data);
    if (!isObj(ev)) return;
    this.events++;
    if (ev.error !== undefined) this.error = ev.error;
    if (typeof ev.id === 'string') this.id ??= ev.id;
    if (typeof ev.model === 'string') this.model ??= ev.model;
    if (typeof ev.created === 'number') this.created ??= ev.created;
    if (isObj(ev.usage)) this.usage = ev.usage;
    const choice = Array.isArray(ev.choices) ? ev.choices.find((c) => isObj(c) && (c.index ?? 0) === 0) : undefined;
    if (!isObj(choice)) return;
    if (choice.finish_reason != null) this.finish = choice.finish_reason;
    if (Array.isArray(choice.token_ids)) for (const t of choice.token_ids) if (typeof t === 'number') this.tokenIds.push(t);
    const delta = isObj(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string') {
      this.content += delta.content;
      this.sawContent = true;
    }
    const r = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : typeof delta.reasoning === 'string' ? delta.reasoning : undefined;
    if (r) this.reasoning += r;
    if (Array.isArray(delta.tool_calls)) {
      for (const tc of delta.tool_calls) {
        if (!isObj(tc)) continue;
        const index = typeof tc.index === 'number' ? tc.index : this.calls.length;
        const call = (this.calls[index] ??= { name: '', arguments: '' });
        if (typeof tc.id === 'string' && tc.id) call.id = tc.id;
        if (typeof tc.type === 'string') call.type = tc.type;
        const f = isObj(tc.function) ? tc.function : {};
        if (typeof f.name === 'string') call.name += f.name;
        if (typeof f.arguments === 'string') call.arguments += f.arguments;
      }
    }
  }

  /** The reassembled completion, or undefined when the stream held no chunk at all. */
  result(): unknown {
    if (this.buffer) this.push('\n');
    if (this.events === 0) return undefined;
    if (this.error !== undefined && !this.sawContent && !this.calls.length) return { error: this.error };
    const message: Obj = { role: 'assistant', content: this.sawContent || !this.calls.length ? this.content : null };
    if (this.reasoning) message.reasoning_content = this.reasoning;
    const calls = this.calls.filter(Boolean);
    if (calls.length) message.tool_calls = calls.map((c, i) => ({ id: c.id ?? `call_${i + 1}`, type: c.type ?? 'function', function: { name: c.name, arguments: c.arguments } }));
    const choice: Obj = { index: 0, message, finish_reason: this.finish };
    if (this.tokenIds.length) choice.token_ids = this.tokenIds;
    const out: Obj = { id: this.id ?? null, object: 'chat.completion', created: this.created ?? null, model: this.model ?? null, choices: [choice] };
    if (this.usage !== undefined) out.usage = this.usage;
    if (this.error !== undefined) out.error = this.error;
    return out;
  }
}

export async function startModelProxy(options: ModelProxyOptions): Promise<ModelProxy> {
  const { upstream, token, record } = options;
  if (!token || token.length < 16) throw new Error('startModelProxy: the token must be a random string of at least 16 characters');
  const base = new URL(upstream.baseUrl.replace(/\/+$/, ''));
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`startModelProxy: the upstream must be http(s), not ${base.protocol}`);
  // The key, the URL's credentials, credential headers, and other header values that look like
  // keys. Placeholder keys (`EMPTY`, `ollama`) are too short to count (MIN_SECRET_LENGTH).
  const redactor = Redactor.for({ ...(upstream.apiKey ? { apiKey: upstream.apiKey } : {}), baseUrl: upstream.baseUrl, ...(upstream.headers ? { headers: upstream.headers } : {}) }).add(
    ...Object.values(upstream.headers ?? {}).filter((v) => v.length >= 20),
  );
  if ('host' in options.listen && !isLoopbackHost(options.listen.host)) throw new Error(`startModelProxy: listen on a loopback address only, not ${options.listen.host}`);
  const client = base.protocol === 'https:' ? https : http;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => sendError(res, 500, `proxy error: ${redactor.message(e)}`, 'server_error'));
  });
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // long model calls and streams

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const startedAt = new Date().toISOString();
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    if (!sameSecret(presentedToken(req), token)) {
      req.resume();
      sendError(res, 401, 'invalid API key for the ClawGym model proxy', 'invalid_request_error', 'invalid_api_key');
      return;
    }
    if (!(url.pathname === '/v1' || url.pathname.startsWith('/v1/'))) {
      req.resume();
      sendError(res, 404, `the ClawGym model proxy forwards /v1/* only, not ${url.pathname}`, 'invalid_request_error', 'not_found');
      return;
    }
    // Read the whole request body (capped).
    const parts: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > PROXY_MAX_REQUEST_BYTES) {
        tooLarge = true;
        continue;
      }
      parts.push(chunk);
    }
    if (tooLarge) {
      sendError(res, 413, `request body over ${PROXY_MAX_REQUEST_BYTES} bytes`, 'invalid_request_error', 'request_too_large');
      return;
    }
    const body = Buffer.concat(parts);
    const requestText = body.toString('utf8');
    const requestJson = body.length ? parseJson(requestText) : undefined;
    const wantsStream = isObj(requestJson) && requestJson.stream === true;

    const headers: Record<string, string> = {};
    for (const h of FORWARDED_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    for (const [k, v] of Object.entries(upstream.headers ?? {})) headers[k.toLowerCase()] = v;
    if (upstream.apiKey) headers.authorization = `Bearer ${upstream.apiKey}`;
    if (body.length) headers['content-length'] = String(body.length);

    const target = new URL(base.href);
    target.pathname = `${base.pathname.replace(/\/+$/, '')}${url.pathname.slice(3)}`;
    target.search = url.search;

    const exchange: ProxyExchange = {
      method,
      path: url.pathname,
      status: 0,
      request: requestJson ?? null,
      ...(requestJson === undefined && body.length ? { requestText: requestText.slice(0, 64 * 1024) } : {}),
      response: null,
      stream: wantsStream,
      startedAt,
      finishedAt: startedAt,
    };
    const finish = (extra: Partial<ProxyExchange>) => {
      Object.assign(exchange, extra, { finishedAt: new Date().toISOString() });
      try {
        record(redactor.value(exchange));
      } catch {
        // A recorder's failure must not break the agent's call.
      }
    };

    await new Promise<void>((resolve) => {
      const upstreamReq = client.request(target, { method, headers }, (up) => {
        const status = up.statusCode ?? 502;
        const out: Record<string, string> = {};
        for (const h of RETURNED_HEADERS) {
          const v = up.headers[h];
          if (typeof v === 'string') out[h] = redactor.redact(v);
        }
        const isSse = /text\/event-stream/i.test(up.headers['content-type'] ?? '');
        res.writeHead(status, out);
        const assembler = isSse ? new ChatStreamAssembler() : undefined;
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let truncated = false;
        const decoder = new TextDecoder('utf-8');
        // Scrubbed as it streams: the end of a chunk that may begin a secret waits for the next one.
        const scrubber = redactor.byteStream();
        // An event stream is also redacted event by event (a key spread over several deltas).
        const events = isSse && !redactor.empty ? { decoder: new TextDecoder('utf-8'), stream: new SseRedactStream(redactor) } : undefined;
        const scrub = (chunk: Buffer): Buffer => (events ? scrubber.push(Buffer.from(events.stream.push(events.decoder.decode(chunk, { stream: true })), 'utf8')) : scrubber.push(chunk));
        const scrubEnd = (): Buffer => {
          if (!events) return scrubber.end();
          const rest = scrubber.push(Buffer.from(events.stream.push(events.decoder.decode()) + events.stream.end(), 'utf8'));
          return Buffer.concat([rest, scrubber.end()]);
        };
        const pass = (chunk: Buffer) => {
          if (!chunk.length) return;
          res.write(chunk);
          if (keptBytes + chunk.length <= PROXY_MAX_RECORDED_RESPONSE_BYTES) {
            keptBytes += chunk.length;
            if (assembler) assembler.push(decoder.decode(chunk, { stream: true }));
            else kept.push(chunk);
          } else truncated = true;
        };
        up.on('data', (chunk: Buffer) => pass(scrub(chunk)));
        up.on('end', () => {
          pass(scrubEnd());
          res.end();
          const text = Buffer.concat(kept).toString('utf8');
          const response = assembler ? assembler.result() : parseJson(text);
          finish({
            status,
            stream: isSse || wantsStream,
            response: response ?? null,
            ...(response === undefined && text ? { responseText: text.slice(0, 64 * 1024) } : {}),
            ...(truncated ? { truncated: true } : {}),
          });
          resolve();
        });
        up.on('error', (e) => {
          res.destroy();
          finish({ status, response: assembler?.result() ?? null, error: `the upstream response broke off: ${redactor.message(e)}` });
          resolve();
        });
      });
      upstreamReq.on('error', (e) => {
        const message = redactor.redact(`the ClawGym model proxy could not reach the model endpoint ${base.origin}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        sendError(res, 502, message, 'server_error', 'upstream_unreachable');
        finish({ status: 502, error: message });
        resolve();
      });
      // The agent went away: stop the upstream call too.
      res.on('close', () => {
        if (!res.writableFinished) upstreamReq.destroy(new Error('the client closed the connection'));
      });
      upstreamReq.end(body);
    });
  }

  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  let proxy: ModelProxy;
  if ('socketPath' in options.listen) {
    const socketPath = options.listen.socketPath;
    await fs.rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The container's processes may run as any user; the token is what guards the socket.
    await fs.chmod(socketPath, 0o666);
    proxy = { url: 'http://localhost/v1', socketPath, close };
  } else {
    const { host, port } = options.listen;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    proxy = { url: `http://${h}:${addr.port}/v1`, port: addr.port, close };
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      options.signal?.removeEventListener('abort', onAbort);
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }).then(async () => {
      if ('socketPath' in options.listen) await fs.rm(options.listen.socketPath, { force: true }).catch(() => undefined);
    });
    return closing;
  }
  const onAbort = () => void close();
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  return proxy;
}

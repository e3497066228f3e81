/**
 * Hostile OpenAI-compatible servers for the hostile suite, on 127.0.0.1 (Node's http only):
 *
 * - `echo`: repeats the credentials it is shown (the bearer token, and any `echo` strings it is
 *   given, e.g. a URL password) everywhere a server can: a response header, a JSON body, SSE
 *   chunks with the key split across two writes (so it arrives in two chunks) and across two
 *   content deltas, a tool call's arguments, and a 401 whose message repeats the key. With
 *   `spread`, the stream also spreads the key over many events: one character per event for a
 *   stretch, started in choice 0 and ended in choice 1, and the tool call's arguments in
 *   5-character pieces.
 * - `endless`: a chat completion stream that never ends (content chunks as fast as the client
 *   reads them), to prove the reader stops at its cap.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface HostileServer {
  url: string;
  /** Bearer tokens the server was shown. */
  seenKeys: string[];
  /** Requests per path. */
  requests: string[];
  /** Bytes written in endless streams, all told. */
  streamedBytes: number;
  close(): Promise<void>;
}

function bearer(req: http.IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  return /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? auth;
}

async function body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const sse = (obj: unknown): string => `data: ${JSON.stringify(obj)}\n\n`;
const chunk = (delta: Record<string, unknown>, finish: string | null = null, index = 0) => ({
  id: 'chatcmpl-hostile',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'hostile',
  choices: [{ index, delta, finish_reason: finish }],
});

export async function startHostileServer(mode: 'echo' | 'endless', options: {
    echo?: string[];
    /** Also split the key across two content deltas (default true). */
    splitDeltas?: boolean;
    /** Also spread the key over many events (per character, across choices, in tool-call arguments). */
    spread?: boolean;
  } = {},): Promise<HostileServer> {
  const state = { seenKeys: [] as string[], requests: [] as string[], streamedBytes: 0 };
  const server = http.createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      state.requests.push(`${req.method} ${path}`);
      const key = bearer(req);
      state.seenKeys.push(key);
      const secrets = [key, ...(options.echo ?? [])].join(' and ');
      const b = await body(req);
      const assistantTurns = Array.isArray(b.messages) ? b.messages.filter((m) => (m as { role?: string }).role === 'assistant').length : 0;
      const unauthorized = () => {
        res.writeHead(401, { 'content-type': 'application/json', 'x-request-id': `req-${key}` });
        res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${secrets}. You can find your API key at https://example.invalid/keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
      };
      if (path.endsWith('/models')) return unauthorized();
      if (!path.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      if (mode === 'endless') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(sse(chunk({ role: 'assistant', content: '' })));
        const piece = sse(chunk({ content: 'all work and no play makes jack a dull boy. '.repeat(20) }));
        let open = true;
        res.on('close', () => (open = false));
        const pump = (): void => {
          while (open) {
            state.streamedBytes += piece.length;
            if (!res.write(piece)) {
              res.once('drain', pump);
              return;
            }
          }
        };
        pump();
        return;
      }
      // echo: the second call is refused with a 401 that repeats the key.
      if (assistantTurns >= 1) return unauthorized();
      const headers = { 'x-request-id': `req-${key}` };
      const command = `echo "${secrets}" > leaked.txt; echo done`;
      if (b.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json', ...headers });
        res.end(
          JSON.stringify({
            id: 'chatcmpl-hostile',
            object: 'chat.completion',
            created: 1,
            model: 'hostile',
            choices: [{ index: 0, message: { role: 'assistant', content: `your key is ${secrets}`, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'exec', arguments: JSON.stringify({ command }) } }] }, finish_reason: 'tool_calls' }],
            usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', ...headers });
      // One event whose key is cut in two writes: it reaches the client in two chunks.
      const whole = sse(chunk({ role: 'assistant', content: `your key is ${secrets}. ` }));
      const at = whole.indexOf(key) + Math.floor(key.length / 2);
      res.write(whole.slice(0, at));
      await new Promise((r) => setTimeout(r, 60));
      res.write(whole.slice(at));
      await new Promise((r) => setTimeout(r, 20));
      if (options.splitDeltas !== false) {
        // The key again, split across two content deltas.
        const half = Math.floor(key.length / 2);
        res.write(sse(chunk({ content: `and again ${key.slice(0, half)}` })));
        await new Promise((r) => setTimeout(r, 20));
        res.write(sse(chunk({ content: `${key.slice(half)} done.` })));
      }
      if (options.spread) {
        // One character per event for a stretch.
        res.write(sse(chunk({ content: ` spread ${key.slice(0, 6)}` })));
        for (const ch of key.slice(6, 16)) res.write(sse(chunk({ content: ch })));
        res.write(sse(chunk({ content: `${key.slice(16)} over.` })));
        // Started in choice 0, ended in choice 1 (the next event).
        res.write(sse(chunk({ content: ` cross ${key.slice(0, 20)}` })));
        res.write(sse(chunk({ content: `${key.slice(20)} choice.` }, null, 1)));
        res.write(sse(chunk({}, 'stop', 1)));
      }
      res.write(sse(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'exec', arguments: '' } }] })));
      const args = JSON.stringify({ command });
      const step = options.spread ? 5 : args.length;
      for (let i = 0; i < args.length; i += step) res.write(sse(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(i, i + step) } }] })));
      res.write(sse(chunk({}, 'tool_calls')));
      res.write(sse({ id: 'chatcmpl-hostile', object: 'chat.completion.chunk', created: 1, model: 'hostile', choices: [], usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 } }));
      res.end('data: [DONE]\n\n');
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get seenKeys() {
      return state.seenKeys;
    },
    get requests() {
      return state.requests;
    },
    get streamedBytes() {
      return state.streamedBytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Every file under a folder, as text, with its path. */
export function readTree(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out.push({ path: p, text: fs.readFileSync(p, 'utf8') });
    }
  };
  walk(dir);
  return out;
}

/**
 * The built-in agent: a tool-calling loop over any OpenAI-compatible chat-completions endpoint
 * (OpenAI, vLLM, SGLang, Ollama, the scripted server of core/src/modelserver), reached with the
 * `openai` package, with its tools (tools.ts) executed in the trial's sandbox.
 *
 * One step = one model call, then every tool call of its reply executed in order, each answered
 * with a `tool` message. The loop ends when the model calls `finish` (or answers without a tool
 * call), or at a limit: steps, wall time, tokens, cost, malformed tool calls. The remaining budget
 * is told to the model after every step. Model calls are streamed and retried with exponential
 * backoff (and the server's Retry-After) on 429, 5xx, time-outs, dropped connections and streams
 * cut short. Every step goes into an ATIF trajectory as it happens.
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import { Redactor, redactUrl } from '../redact';
import { SandboxError } from '../sandbox/types';
import { formatMs, startTrajectory, type Agent, type AgentContext, type AgentOutcome, type AgentStatus } from '../run/agents';
import { cutMarker, DEFAULT_CAPS, type Truncation } from '../run/limits';
import type { AtifStepMetrics } from '../trajectory/atif';
import { cutMiddle, TOOL_DEFINITIONS, ToolBox } from './tools';

export interface ModelConfig {
  /** e.g. `https://api.openai.com/v1`, `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  model: string;
  /** Sent as the bearer token; never written anywhere. */
  apiKey: string;
  temperature?: number;
  /** Per reply (`max_tokens`). */
  maxTokens?: number;
  /** Extra request headers (the scripted server reads `x-clawgym-task`). */
  headers?: Record<string, string>;
  /** USD per million tokens, for the cost limit and the trajectory's cost (servers that report `usage.cost` win). */
  pricing?: { inputPerMTok: number; outputPerMTok: number };
  /** Ask for logprobs and (vLLM) token ids, kept in the trajectory for training exports. */
  logprobs?: boolean;
}

export interface BuiltinAgentLimits {
  /** Model calls (default 50). */
  maxSteps?: number;
  /** Prompt + completion tokens over the run. */
  maxTotalTokens?: number;
  maxCostUsd?: number;
  /** Malformed tool calls (bad JSON, unknown tool, wrong arguments) before the run is stopped (default 8). */
  maxMalformed?: number;
  /** Retries of one model call (default 5). */
  maxRetries?: number;
  /** One model call's time limit (default 10 min). */
  requestTimeoutMs?: number;
  /** Backoff base (default 500 ms; doubled each retry, with jitter, at most 30 s). */
  retryBaseMs?: number;
  /** Bytes of one reply (content, reasoning, tool-call arguments): the stream is stopped there. */
  maxReplyBytes?: number;
  /** Tokens of one reply: the stream is stopped there. */
  maxReplyTokens?: number;
  /** Characters of one observation (default 12,000). */
  maxObservationChars?: number;
  /** Bytes of text the trajectory keeps (default 32 MiB). */
  maxTrajectoryBytes?: number;
}

export interface BuiltinAgentOptions extends BuiltinAgentLimits {
  model: ModelConfig;
  systemPrompt?: string;
  /** Stream replies (default true). */
  stream?: boolean;
  /** Send the task id in `x-clawgym-task` (for the scripted model server; default false). */
  sendTaskHeader?: boolean;
  /** More secrets to keep out of everything the agent records (the model's key and URL credentials always are). */
  redactor?: Redactor;
}

export const DEFAULT_MAX_STEPS = 50;
export const DEFAULT_MAX_MALFORMED = 8;
export const DEFAULT_MAX_RETRIES = 5;

export const DEFAULT_SYSTEM_PROMPT = `You are an autonomous agent working in a Linux sandbox on a user's files. The user's workspace is the current folder ({root}).
Work step by step with the tools: inspect the files, do the work, check your result. Use relative paths inside the workspace. Commands have no network and no stdin.
When the task is done, call finish with a short final answer for the user. Do not ask questions: nobody will answer them.`;

interface StreamedReply {
  /** The reply went over a cap and was cut there (the request aborted). */
  cut?: { limit: number; unit: 'bytes' | 'tokens' };
  content: string;
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string | null;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null; cost?: number };
  logprobs: number[];
  tokenIds: number[];
  promptTokenIds?: number[];
  model?: string;
}

/** Errors worth another try: rate limits, server errors, time-outs, connections and streams that broke. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof OpenAI.APIConnectionError) return true; // includes APIConnectionTimeoutError
  if (e instanceof OpenAI.APIError) {
    const s = e.status;
    if (s === undefined) return true; // an error in the middle of a stream
    return s === 408 || s === 409 || s === 429 || s >= 500;
  }
  return e instanceof StreamCut;
}

class StreamCut extends Error {}

/** A response body over the transport cap (a backstop under the reply caps; see {@link cappedFetch}). */
class ResponseTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the model server's response went over ${limit} bytes; it was not read further`);
  }
}

function tooLarge(e: unknown): ResponseTooLarge | undefined {
  for (let x = e, i = 0; x && i < 5; x = (x as { cause?: unknown }).cause, i++) if (x instanceof ResponseTooLarge) return x;
  return undefined;
}

/**
 * `fetch` whose response bodies end in an error past `maxBytes`: a whole (unstreamed) reply or
 * an error body is never buffered without bound, nor is one endless SSE line.
 */
export function cappedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!res.body || res.status === 204 || res.status === 304) return res;
    const reader = res.body.getReader();
    let seen = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        seen += value.byteLength;
        if (seen > maxBytes) {
          void reader.cancel().catch(() => undefined);
          controller.error(new ResponseTooLarge(maxBytes));
          return;
        }
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function retryAfterMs(e: unknown): number | undefined {
  const headers = (e as { headers?: Headers | Record<string, string> }).headers;
  const raw = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
  if (!raw) return undefined;
  const s = Number(raw);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** What went wrong, in words, with the run's secrets redacted (servers echo keys in error messages). */
function describeError(e: unknown, redactor: Redactor): string {
  if (e instanceof OpenAI.APIError) return redactor.redact(`${e.status ?? 'stream'} ${e.message}`.trim());
  return redactor.message(e);
}

/** The first bytes of a text that fit `room`, in whole characters. */
function headBytes(text: string, room: number): string {
  if (room <= 0) return '';
  let out = Buffer.from(text, 'utf8').subarray(0, room).toString('utf8');
  if (out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return out;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

interface Limits {
  maxMalformed: number;
  maxRetries: number;
  requestTimeoutMs: number;
  retryBaseMs: number;
  replyBytes: number;
  replyTokens: number;
}

export function createBuiltinAgent(options: BuiltinAgentOptions): Agent {
  const limits: Limits = {
    maxMalformed: options.maxMalformed ?? DEFAULT_MAX_MALFORMED,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    requestTimeoutMs: options.requestTimeoutMs ?? 10 * 60_000,
    retryBaseMs: options.retryBaseMs ?? 500,
    replyBytes: options.maxReplyBytes ?? DEFAULT_CAPS.replyBytes,
    replyTokens: options.maxReplyTokens ?? DEFAULT_CAPS.replyTokens,
  };
  return {
    name: 'builtin',
    run: (ctx) => runBuiltin(ctx, options, limits),
  };
}

/** The transport cap under the reply cap: SSE framing costs ~50 bytes a token, logprobs more. */
function responseCap(replyBytes: number): number {
  return Math.min(256 * 1024 * 1024, Math.max(1024 * 1024, 64 * replyBytes));
}

async function runBuiltin(ctx: AgentContext, options: BuiltinAgentOptions, limits: Limits): Promise<AgentOutcome> {
  const { task, sandbox } = ctx;
  const cfg = options.model;
  // The key and URL credentials, kept out of everything recorded: replies, errors, logs, trajectory.
  const redactor = Redactor.merge(Redactor.for({ apiKey: cfg.apiKey, baseUrl: cfg.baseUrl, ...(cfg.headers ? { headers: cfg.headers } : {}) }), options.redactor);
  const truncated: Truncation[] = [];
  // The run's limit (flag, setting) over the task's `agent.max_steps` over the default.
  const maxSteps = options.maxSteps ?? task.agent.maxSteps ?? DEFAULT_MAX_STEPS;
  const started = Date.now();
  const deadline = started + ctx.timeoutMs;
  // One signal for everything the run starts: the caller's cancel and the wall-time limit.
  const wall = new AbortController();
  const wallTimer = setTimeout(() => wall.abort(new Error('wall time')), ctx.timeoutMs);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, wall.signal]) : wall.signal;
  // A query in the base URL (`?api-version=`, `?api_key=`) goes on every request: the client
  // would otherwise append paths after it.
  const base = new URL(cfg.baseUrl);
  const defaultQuery = Object.fromEntries(base.searchParams);
  base.search = '';
  const client = new OpenAI({
    baseURL: base.toString().replace(/\/+$/, ''),
    ...(Object.keys(defaultQuery).length ? { defaultQuery } : {}),
    apiKey: cfg.apiKey,
    maxRetries: 0, // ours: a stream cut short must be retried whole too
    timeout: limits.requestTimeoutMs,
    fetch: cappedFetch(responseCap(limits.replyBytes)),
    defaultHeaders: { ...cfg.headers, ...(options.sendTaskHeader ? { 'x-clawgym-task': task.id } : {}) },
  });
  const tools = new ToolBox({
    sandbox,
    root: task.root,
    ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}),
    observationChars: options.maxObservationChars ?? DEFAULT_CAPS.observationChars,
  });
  const trajectory = startTrajectory(
    ctx,
    {
      name: 'builtin',
      model_name: cfg.model,
      tool_definitions: TOOL_DEFINITIONS,
      extra: { base_url: redactUrl(cfg.baseUrl), temperature: cfg.temperature, max_tokens: cfg.maxTokens },
    },
    options.maxTrajectoryBytes ?? DEFAULT_CAPS.trajectoryBytes,
  );
  // Streamed text goes out redacted; the stream holds back what could be the start of a secret.
  const logStream = redactor.textStream();
  const emit = (text: string): void => {
    if (text) ctx.onOutput?.('stdout', Buffer.from(text));
  };
  const log = (text: string): void => emit(logStream.push(text));
  const flushLog = (): void => emit(logStream.end());

  const system = (options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT).replaceAll('{root}', task.root);
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: system },
    { role: 'user', content: task.intent },
  ];
  trajectory.addSystem(system);
  trajectory.addUser(task.intent);

  const usage = { promptTokens: 0, completionTokens: 0, costUsd: undefined as number | undefined, modelCalls: 0, retries: 0 };
  let steps = 0;
  const timings: NonNullable<AgentOutcome['stepTimings']> = [];
  let malformed = 0;
  let finalMessage = '';
  let status: AgentStatus = 'completed';
  let error: string | undefined;

  const end = (s: AgentStatus, why?: string): void => {
    status = s;
    if (why) error = why;
  };

  try {
    for (;;) {
      // -- limits, before spending anything more
      if (steps >= maxSteps) {
        end('failed', `the step limit (${maxSteps}) was reached before the agent finished`);
        break;
      }
      if (options.maxTotalTokens !== undefined && usage.promptTokens + usage.completionTokens >= options.maxTotalTokens) {
        end('failed', `the token limit (${options.maxTotalTokens}) was reached before the agent finished`);
        break;
      }
      if (options.maxCostUsd !== undefined && (usage.costUsd ?? 0) >= options.maxCostUsd) {
        end('failed', `the cost limit ($${options.maxCostUsd}) was reached before the agent finished`);
        break;
      }
      steps++;
      log(`── step ${steps} ──\n`);
      const stepStart = performance.now();
      const reply = redactReply(await callModel(client, cfg, messages, options.stream ?? true, limits, signal, usage, (delta) => log(delta), redactor), redactor);
      flushLog();
      usage.modelCalls++;
      if (reply.cut) {
        truncated.push({ what: 'reply', limit: reply.cut.limit, unit: reply.cut.unit, step: steps });
        const marker = cutMarker('the reply was', reply.cut.limit, reply.cut.unit);
        reply.content = reply.content ? `${reply.content}\n${marker}` : marker;
        log(`\n${marker}\n`);
        flushLog();
      }
      const modelMs = performance.now() - stepStart;
      const stepCost = costOf(cfg, reply);
      usage.promptTokens += reply.usage?.prompt_tokens ?? 0;
      usage.completionTokens += reply.usage?.completion_tokens ?? 0;
      if (stepCost !== undefined) usage.costUsd = (usage.costUsd ?? 0) + stepCost;
      if (reply.content) log('\n');

      const metrics: AtifStepMetrics = {};
      if (reply.usage?.prompt_tokens !== undefined) metrics.prompt_tokens = reply.usage.prompt_tokens;
      if (reply.usage?.completion_tokens !== undefined) metrics.completion_tokens = reply.usage.completion_tokens;
      const cached = reply.usage?.prompt_tokens_details?.cached_tokens;
      if (cached !== undefined && cached !== null) metrics.cached_tokens = cached;
      if (stepCost !== undefined) metrics.cost_usd = stepCost;
      if (reply.logprobs.length) metrics.logprobs = reply.logprobs;
      if (reply.tokenIds.length) metrics.completion_token_ids = reply.tokenIds;
      if (reply.promptTokenIds?.length) metrics.prompt_token_ids = reply.promptTokenIds;
      const stepId = trajectory.addAgent({
        message: reply.content,
        ...(reply.reasoning ? { reasoning_content: reply.reasoning } : {}),
        model_name: reply.model ?? cfg.model,
        tool_calls: reply.toolCalls.map((c) => ({ tool_call_id: c.id, function_name: c.name, arguments: c.arguments })),
        metrics,
        ...(reply.finishReason || reply.cut
          ? { extra: { ...(reply.finishReason ? { finish_reason: reply.finishReason } : {}), ...(reply.cut ? { truncated: { what: 'reply', limit: reply.cut.limit, unit: reply.cut.unit } } : {}) } }
          : {}),
      });
      const assistant: ChatCompletionMessageParam = {
        role: 'assistant',
        // A reply cut at its cap goes back to the model as its head and tail only: cut replies
        // (an endless stream) must not grow every later request by a whole cap each.
        content: (reply.cut ? cutMiddle(reply.content, tools.observationChars) : reply.content) || null,
        ...(reply.toolCalls.length
          ? { tool_calls: reply.toolCalls.map((c): ChatCompletionMessageToolCall => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
      messages.push(assistant);

      if (reply.toolCalls.length === 0) {
        if (reply.finishReason === 'length' || reply.cut) {
          // Cut off mid-answer: say so and let it go on, rather than take half a reply as final.
          const why = reply.cut ? `at the cap of ${reply.cut.limit} ${reply.cut.unit} per reply` : 'at the token limit';
          const text = `Your reply was cut off ${why}. Continue, and call finish when done.`;
          messages.push({ role: 'user', content: text });
          trajectory.addUser(text);
          continue;
        }
        finalMessage = reply.content;
        break;
      }

      // -- the tool calls, in the order given, each answered
      const toolsStart = performance.now();
      const results: { source_call_id: string; content: string; extra?: Record<string, unknown> }[] = [];
      let finished: string | undefined;
      for (const call of reply.toolCalls) {
        let content: string;
        let extra: Record<string, unknown> | undefined;
        if (reply.cut) {
          // Half a reply's calls are not run: their arguments may be cut too.
          content = `not run: your reply was cut at the cap of ${reply.cut.limit} ${reply.cut.unit}; make it shorter`;
        } else if (finished !== undefined) {
          content = 'not run: finish was called before this call';
        } else {
          let outcome;
          try {
            outcome = await tools.call(call.name, call.arguments, signal);
          } catch (e) {
            if (e instanceof SandboxError && e.kind === 'unavailable') {
              throw new SandboxError('unavailable', `the sandbox's engine failed during step ${steps} (${call.name}); the agent was stopped: ${e.message}`, { cause: e });
            }
            throw e;
          }
          if (outcome.malformed) malformed++;
          if (outcome.finish !== undefined) finished = outcome.finish;
          content = redactor.redact(outcome.content);
          if (outcome.cut !== undefined) {
            truncated.push({ what: 'observation', limit: tools.observationChars, unit: 'characters', step: steps, dropped: outcome.cut });
            extra = { truncated: { what: 'observation', limit: tools.observationChars, unit: 'characters', dropped: outcome.cut } };
          }
          if (outcome.exec === undefined && call.name !== 'exec') log(`[${call.name}] ${content.split('\n')[0]}\n`);
          flushLog();
        }
        results.push({ source_call_id: call.id, content, ...(extra ? { extra } : {}) });
      }
      if (finished === undefined && results.length) {
        // The budget, after every step, on the last result (the model reads it before it answers).
        const last = results[results.length - 1]!;
        last.content += `\n\n${budgetLine(maxSteps - steps, deadline - Date.now(), options, usage)}`;
      }
      for (const r of results) messages.push({ role: 'tool', tool_call_id: r.source_call_id, content: r.content });
      trajectory.addObservation(stepId, results);
      timings.push({ modelMs, toolsMs: performance.now() - toolsStart, totalMs: performance.now() - stepStart });
      if (finished !== undefined) {
        finalMessage = finished;
        break;
      }
      if (malformed >= limits.maxMalformed) {
        end('failed', `the model made ${malformed} malformed tool calls (bad JSON, unknown tools or wrong arguments); stopped at the limit of ${limits.maxMalformed}`);
        break;
      }
    }
  } catch (e) {
    if (wall.signal.aborted && !ctx.signal?.aborted) {
      end('timeout', `the agent did not finish within ${formatMs(ctx.timeoutMs)}`);
    } else if (ctx.signal?.aborted || (e instanceof SandboxError && e.kind === 'cancelled')) {
      end('cancelled', 'cancelled');
    } else if (e instanceof SandboxError) {
      // The engine is gone or froze: an infrastructure error for the trial (runTrial records it as
      // `error` with this cause), not a result of the agent's to grade.
      throw new SandboxError(e.kind, redactor.redact(e.message), { cause: e.cause });
    } else {
      const big = tooLarge(e);
      if (big) truncated.push({ what: 'reply', limit: big.limit, unit: 'bytes', step: steps });
      end('failed', `the model call failed: ${describeError(e, redactor)}`);
    }
  } finally {
    clearTimeout(wallTimer);
    flushLog();
  }
  if (trajectory.truncated) truncated.push({ what: 'trajectory', limit: options.maxTrajectoryBytes ?? DEFAULT_CAPS.trajectoryBytes, unit: 'bytes' });
  trajectory.setNote(
    `builtin agent: ${steps} step${steps === 1 ? '' : 's'}, ${usage.modelCalls} model call${usage.modelCalls === 1 ? '' : 's'}, ${usage.retries} retr${usage.retries === 1 ? 'y' : 'ies'}, ${malformed} malformed tool call${malformed === 1 ? '' : 's'}; ended ${status}${error ? `: ${error}` : ''}`,
  );
  return {
    status,
    finalMessage,
    // The ClawGym payload's transcript: the conversation as chat messages, system prompt included.
    transcript: messages.map((m) => ({ ...m })),
    steps,
    ...(error ? { error } : {}),
    trajectory: trajectory.finish(),
    usage,
    stepTimings: timings,
    ...(truncated.length ? { truncated } : {}),
  };
}

/** A reply with the run's secrets redacted before anything sees it (a server may echo the key). */
function redactReply(reply: StreamedReply, redactor: Redactor): StreamedReply {
  if (redactor.empty) return reply;
  return {
    ...reply,
    content: redactor.redact(reply.content),
    reasoning: redactor.redact(reply.reasoning),
    toolCalls: reply.toolCalls.map((c) => ({ id: redactor.redact(c.id), name: redactor.redact(c.name), arguments: redactor.redact(c.arguments) })),
  };
}

function budgetLine(stepsLeft: number, msLeft: number, options: BuiltinAgentOptions, usage: { promptTokens: number; completionTokens: number; costUsd?: number }): string {
  const parts = [`${stepsLeft} step${stepsLeft === 1 ? '' : 's'} left`, `${formatMs(Math.max(0, Math.round(msLeft / 1000) * 1000))} left`];
  if (options.maxTotalTokens !== undefined) parts.push(`${Math.max(0, options.maxTotalTokens - usage.promptTokens - usage.completionTokens)} tokens left`);
  if (options.maxCostUsd !== undefined) parts.push(`$${Math.max(0, options.maxCostUsd - (usage.costUsd ?? 0)).toFixed(4)} left`);
  return `[budget: ${parts.join(' · ')}]`;
}

function costOf(cfg: ModelConfig, reply: StreamedReply): number | undefined {
  if (typeof reply.usage?.cost === 'number') return reply.usage.cost;
  if (!cfg.pricing || !reply.usage) return undefined;
  return ((reply.usage.prompt_tokens ?? 0) * cfg.pricing.inputPerMTok + (reply.usage.completion_tokens ?? 0) * cfg.pricing.outputPerMTok) / 1e6;
}

/** One model call with retries; the reply reassembled from the stream (or taken whole). */
async function callModel(
  client: OpenAI,
  cfg: ModelConfig,
  messages: ChatCompletionMessageParam[],
  stream: boolean,
  limits: Limits,
  signal: AbortSignal,
  usage: { retries: number },
  onDelta: (text: string) => void,
  redactor: Redactor,
): Promise<StreamedReply> {
  const body = {
    model: cfg.model,
    messages,
    tools: TOOL_DEFINITIONS,
    tool_choice: 'auto' as const,
    parallel_tool_calls: true,
    ...(cfg.temperature !== undefined ? { temperature: cfg.temperature } : {}),
    ...(cfg.maxTokens !== undefined ? { max_tokens: cfg.maxTokens } : {}),
    ...(cfg.logprobs ? { logprobs: true, return_token_ids: true } : {}),
  };
  for (let attempt = 0; ; attempt++) {
    // A signal of its own per call, linked to the run's: the client's listeners go with it
    // instead of piling up on the run's signal over hundreds of steps.
    const call = new AbortController();
    const onAbort = (): void => call.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) call.abort(signal.reason);
    try {
      return stream ? await streamed(client, body, call, onDelta, limits) : capWhole(await whole(client, body, call.signal), limits);
    } catch (e) {
      if (signal.aborted) throw e;
      if (tooLarge(e) || !isRetryable(e) || attempt >= limits.maxRetries) throw e;
      usage.retries++;
      const backoff = Math.min(30_000, limits.retryBaseMs * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      const wait = Math.min(60_000, Math.max(backoff, retryAfterMs(e) ?? 0));
      onDelta(`\n[model call failed (${describeError(e, redactor)}); retry ${attempt + 1} of ${limits.maxRetries} in ${formatMs(Math.round(wait))}]\n`);
      await sleep(wait, signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

type Body = Record<string, unknown> & { model: string; messages: ChatCompletionMessageParam[] };

interface LooseChoice {
  message?: { content?: string | null; tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[]; reasoning_content?: string | null };
  delta?: { content?: string | null; reasoning_content?: string | null; tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] };
  finish_reason?: string | null;
  logprobs?: { content?: { logprob: number }[] | null } | null;
  token_ids?: number[];
}

/** A whole reply over the byte cap, cut like a stream would have been. */
function capWhole(reply: StreamedReply, limits: Limits): StreamedReply {
  const size = Buffer.byteLength(reply.content) + Buffer.byteLength(reply.reasoning) + reply.toolCalls.reduce((n, c) => n + Buffer.byteLength(c.arguments), 0);
  if (size <= limits.replyBytes) return reply;
  const content = headBytes(reply.content, limits.replyBytes);
  const reasoning = headBytes(reply.reasoning, limits.replyBytes - Buffer.byteLength(content));
  return { ...reply, content, reasoning, cut: { limit: limits.replyBytes, unit: 'bytes' } };
}

async function whole(client: OpenAI, body: Body, signal: AbortSignal): Promise<StreamedReply> {
  const r = (await client.chat.completions.create({ ...body, stream: false } as never, { signal })) as unknown as {
    model?: string;
    choices: LooseChoice[];
    usage?: StreamedReply['usage'];
    prompt_token_ids?: number[];
  };
  const choice = r.choices?.[0];
  if (!choice?.message) throw new StreamCut('the reply has no message');
  const m = choice.message;
  return {
    content: m.content ?? '',
    reasoning: m.reasoning_content ?? '',
    toolCalls: (m.tool_calls ?? []).map((c, i) => ({ id: c.id || `call_${i}`, name: c.function?.name ?? '', arguments: c.function?.arguments ?? '' })),
    finishReason: choice.finish_reason ?? null,
    ...(r.usage ? { usage: r.usage } : {}),
    logprobs: (choice.logprobs?.content ?? []).map((t) => t.logprob),
    tokenIds: choice.token_ids ?? [],
    ...(r.prompt_token_ids ? { promptTokenIds: r.prompt_token_ids } : {}),
    ...(r.model ? { model: r.model } : {}),
  };
}

/** The stream read into one reply, stopped (the request aborted) at the reply caps. */
async function streamed(client: OpenAI, body: Body, call: AbortController, onDelta: (text: string) => void, limits: Limits): Promise<StreamedReply> {
  const signal = call.signal;
  const s = (await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as never, { signal })) as unknown as AsyncIterable<{
    model?: string;
    choices?: LooseChoice[];
    usage?: StreamedReply['usage'] | null;
    prompt_token_ids?: number[];
  }>;
  const reply: StreamedReply = { content: '', reasoning: '', toolCalls: [], finishReason: null, logprobs: [], tokenIds: [] };
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let chunks = 0;
  let bytes = 0;
  let tokens = 0;
  try {
    await readStream();
  } catch (e) {
    const big = tooLarge(e);
    if (big && !signal.aborted) {
      // The transport cap (raw bytes) fired before the reply caps: the reply is cut there.
      reply.cut = { limit: limits.replyBytes, unit: 'bytes' };
    } else if (signal.aborted || e instanceof OpenAI.APIError) throw e;
    else
    // The connection dropped mid-reply (undici says "terminated"): the whole call is retried.
      throw new StreamCut(`the reply stream broke after ${chunks} chunk${chunks === 1 ? '' : 's'}: ${(e as Error).message}`);
  }
  if (reply.cut) {
    // Stop the server: the rest is not wanted.
    call.abort(new Error('the reply went over its cap'));
    reply.finishReason ??= 'length';
  }
  // A stream that ended without a finish reason was cut (the SDK ends quietly on a closed socket).
  if (reply.finishReason === null) throw new StreamCut(`the reply stream ended early (after ${chunks} chunk${chunks === 1 ? '' : 's'})`);
  reply.toolCalls = [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([i, c]) => ({ ...c, id: c.id || `call_${i}` }));
  return reply;

  async function readStream(): Promise<void> {
    for await (const chunk of s) {
      chunks++;
      if (chunk.model) reply.model = chunk.model;
      if (chunk.usage) reply.usage = chunk.usage;
      if (chunk.prompt_token_ids) reply.promptTokenIds = chunk.prompt_token_ids;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const d = choice.delta;
      let text = 0;
      if (d?.content) {
        const room = limits.replyBytes - bytes;
        const part = Buffer.byteLength(d.content) > room ? headBytes(d.content, room) : d.content;
        reply.content += part;
        text += Buffer.byteLength(part);
        onDelta(part);
        if (part !== d.content) reply.cut = { limit: limits.replyBytes, unit: 'bytes' };
      }
      if (d?.reasoning_content && !reply.cut) {
        const room = limits.replyBytes - bytes - text;
        const part = Buffer.byteLength(d.reasoning_content) > room ? headBytes(d.reasoning_content, room) : d.reasoning_content;
        reply.reasoning += part;
        text += Buffer.byteLength(part);
        if (part !== d.reasoning_content) reply.cut = { limit: limits.replyBytes, unit: 'bytes' };
      }
      for (const tc of d?.tool_calls ?? []) {
        const c = calls.get(tc.index) ?? { id: '', name: '', arguments: '' };
        if (tc.id) c.id = tc.id;
        if (tc.function?.name) c.name += tc.function.name;
        if (tc.function?.arguments) {
          c.arguments += tc.function.arguments;
          text += Buffer.byteLength(tc.function.arguments) + (tc.function.name?.length ?? 0);
        }
        calls.set(tc.index, c);
      }
      bytes += text;
      const given = choice.logprobs?.content?.length ?? choice.token_ids?.length ?? 0;
      // Servers stream about one token a chunk; ids or logprobs, when sent, count exactly.
      tokens += given || (text > 0 ? 1 : 0);
      if (reply.logprobs.length < limits.replyTokens) for (const t of choice.logprobs?.content ?? []) reply.logprobs.push(t.logprob);
      if (choice.token_ids && reply.tokenIds.length < limits.replyTokens) reply.tokenIds.push(...choice.token_ids);
      if (choice.finish_reason) reply.finishReason = choice.finish_reason;
      if (!reply.cut && bytes > limits.replyBytes) reply.cut = { limit: limits.replyBytes, unit: 'bytes' };
      if (!reply.cut && tokens > limits.replyTokens) reply.cut = { limit: limits.replyTokens, unit: 'tokens' };
      if (reply.cut) {
        return;
      }
    }
  }
}

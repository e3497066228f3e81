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
import { SandboxError } from '../sandbox/types';
import { formatMs, startTrajectory, type Agent, type AgentContext, type AgentOutcome, type AgentStatus } from '../run/agents';
import type { AtifStepMetrics } from '../trajectory/atif';
import { TOOL_DEFINITIONS, ToolBox } from './tools';

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
}

export interface BuiltinAgentOptions extends BuiltinAgentLimits {
  model: ModelConfig;
  systemPrompt?: string;
  /** Stream replies (default true). */
  stream?: boolean;
  /** Send the task id in `x-clawgym-task` (for the scripted model server; default false). */
  sendTaskHeader?: boolean;
}

export const DEFAULT_MAX_STEPS = 50;
export const DEFAULT_MAX_MALFORMED = 8;
export const DEFAULT_MAX_RETRIES = 5;

export const DEFAULT_SYSTEM_PROMPT = `You are an autonomous agent working in a Linux sandbox on a user's files. The user's workspace is the current folder ({root}).
Work step by step with the tools: inspect the files, do the work, check your result. Use relative paths inside the workspace. Commands have no network and no stdin.
When the task is done, call finish with a short final answer for the user. Do not ask questions: nobody will answer them.`;

interface StreamedReply {
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

function retryAfterMs(e: unknown): number | undefined {
  const headers = (e as { headers?: Headers | Record<string, string> }).headers;
  const raw = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
  if (!raw) return undefined;
  const s = Number(raw);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function describeError(e: unknown): string {
  if (e instanceof OpenAI.APIError) return `${e.status ?? 'stream'} ${e.message}`.trim();
  return e instanceof Error ? e.message : String(e);
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

export function createBuiltinAgent(options: BuiltinAgentOptions): Agent {
  const limits = {
    maxMalformed: options.maxMalformed ?? DEFAULT_MAX_MALFORMED,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    requestTimeoutMs: options.requestTimeoutMs ?? 10 * 60_000,
    retryBaseMs: options.retryBaseMs ?? 500,
  };
  return {
    name: 'builtin',
    run: (ctx) => runBuiltin(ctx, options, limits),
  };
}

async function runBuiltin(
  ctx: AgentContext,
  options: BuiltinAgentOptions,
  limits: { maxMalformed: number; maxRetries: number; requestTimeoutMs: number; retryBaseMs: number },
): Promise<AgentOutcome> {
  const { task, sandbox } = ctx;
  const cfg = options.model;
  // The run's limit (flag, setting) over the task's `agent.max_steps` over the default.
  const maxSteps = options.maxSteps ?? task.agent.maxSteps ?? DEFAULT_MAX_STEPS;
  const started = Date.now();
  const deadline = started + ctx.timeoutMs;
  // One signal for everything the run starts: the caller's cancel and the wall-time limit.
  const wall = new AbortController();
  const wallTimer = setTimeout(() => wall.abort(new Error('wall time')), ctx.timeoutMs);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, wall.signal]) : wall.signal;
  const client = new OpenAI({
    baseURL: cfg.baseUrl,
    apiKey: cfg.apiKey,
    maxRetries: 0, // ours: a stream cut short must be retried whole too
    timeout: limits.requestTimeoutMs,
    defaultHeaders: { ...cfg.headers, ...(options.sendTaskHeader ? { 'x-clawgym-task': task.id } : {}) },
  });
  const tools = new ToolBox({ sandbox, root: task.root, ...(ctx.onOutput ? { onOutput: ctx.onOutput } : {}) });
  const trajectory = startTrajectory(ctx, {
    name: 'builtin',
    model_name: cfg.model,
    tool_definitions: TOOL_DEFINITIONS,
    extra: { base_url: cfg.baseUrl, temperature: cfg.temperature, max_tokens: cfg.maxTokens },
  });
  const log = (text: string): void => ctx.onOutput?.('stdout', Buffer.from(text));

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
      const reply = await callModel(client, cfg, messages, options.stream ?? true, limits, signal, usage, (delta) => log(delta));
      usage.modelCalls++;
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
        ...(reply.finishReason ? { extra: { finish_reason: reply.finishReason } } : {}),
      });
      const assistant: ChatCompletionMessageParam = {
        role: 'assistant',
        content: reply.content || null,
        ...(reply.toolCalls.length
          ? { tool_calls: reply.toolCalls.map((c): ChatCompletionMessageToolCall => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
      messages.push(assistant);

      if (reply.toolCalls.length === 0) {
        if (reply.finishReason === 'length') {
          // Cut off mid-answer: say so and let it go on, rather than take half a reply as final.
          messages.push({ role: 'user', content: 'Your reply was cut off at the token limit. Continue, and call finish when done.' });
          trajectory.addUser('Your reply was cut off at the token limit. Continue, and call finish when done.');
          continue;
        }
        finalMessage = reply.content;
        break;
      }

      // -- the tool calls, in the order given, each answered
      const toolsStart = performance.now();
      const results: { source_call_id: string; content: string }[] = [];
      let finished: string | undefined;
      for (const call of reply.toolCalls) {
        let content: string;
        if (finished !== undefined) {
          content = 'not run: finish was called before this call';
        } else {
          const outcome = await tools.call(call.name, call.arguments, signal);
          if (outcome.malformed) malformed++;
          if (outcome.finish !== undefined) finished = outcome.finish;
          content = outcome.content;
          if (outcome.exec === undefined && call.name !== 'exec') log(`[${call.name}] ${content.split('\n')[0]}\n`);
        }
        results.push({ source_call_id: call.id, content });
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
    } else {
      end('failed', `the model call failed: ${describeError(e)}`);
    }
  } finally {
    clearTimeout(wallTimer);
  }
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
  limits: { maxRetries: number; retryBaseMs: number },
  signal: AbortSignal,
  usage: { retries: number },
  onDelta: (text: string) => void,
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
      return stream ? await streamed(client, body, call.signal, onDelta) : await whole(client, body, call.signal);
    } catch (e) {
      if (signal.aborted) throw e;
      if (!isRetryable(e) || attempt >= limits.maxRetries) throw e;
      usage.retries++;
      const backoff = Math.min(30_000, limits.retryBaseMs * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      const wait = Math.min(60_000, Math.max(backoff, retryAfterMs(e) ?? 0));
      onDelta(`\n[model call failed (${describeError(e)}); retry ${attempt + 1} of ${limits.maxRetries} in ${formatMs(Math.round(wait))}]\n`);
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

async function streamed(client: OpenAI, body: Body, signal: AbortSignal, onDelta: (text: string) => void): Promise<StreamedReply> {
  const s = (await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as never, { signal })) as unknown as AsyncIterable<{
    model?: string;
    choices?: LooseChoice[];
    usage?: StreamedReply['usage'] | null;
    prompt_token_ids?: number[];
  }>;
  const reply: StreamedReply = { content: '', reasoning: '', toolCalls: [], finishReason: null, logprobs: [], tokenIds: [] };
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let chunks = 0;
  try {
    await readStream();
  } catch (e) {
    if (signal.aborted || e instanceof OpenAI.APIError) throw e;
    // The connection dropped mid-reply (undici says "terminated"): the whole call is retried.
    throw new StreamCut(`the reply stream broke after ${chunks} chunk${chunks === 1 ? '' : 's'}: ${(e as Error).message}`);
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
      if (d?.content) {
        reply.content += d.content;
        onDelta(d.content);
      }
      if (d?.reasoning_content) reply.reasoning += d.reasoning_content;
      for (const tc of d?.tool_calls ?? []) {
        const c = calls.get(tc.index) ?? { id: '', name: '', arguments: '' };
        if (tc.id) c.id = tc.id;
        if (tc.function?.name) c.name += tc.function.name;
        if (tc.function?.arguments) c.arguments += tc.function.arguments;
        calls.set(tc.index, c);
      }
      for (const t of choice.logprobs?.content ?? []) reply.logprobs.push(t.logprob);
      if (choice.token_ids) reply.tokenIds.push(...choice.token_ids);
      if (choice.finish_reason) reply.finishReason = choice.finish_reason;
    }
  }
}

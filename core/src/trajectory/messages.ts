/**
 * Conversions between ATIF trajectories and OpenAI chat-completions messages: trajectories to
 * chat messages (what training exports write), and recorded chat-completions exchanges (what a
 * recording proxy in front of a black-box agent sees) to a trajectory.
 */
import {
  TrajectoryBuilder,
  type AtifContent,
  type AtifStep,
  type AtifStepMetrics,
  type AtifStoredToolCall,
  type AtifToolCall,
  type ToolDefinition,
  type Trajectory,
} from './atif';

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/** A chat message with the trajectory step it came from (exports use the step's metrics and flags). */
export interface ChatTurn {
  message: ChatMessage;
  step: AtifStep;
}

/** ATIF content as plain text: text parts joined, images as `[image: path]`. */
export function contentText(content: AtifContent | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' ? p.text : `[image: ${p.source.path}]`)).join('\n');
}

/** The arguments string a chat API carries: the raw text when the builder kept one, else JSON. */
export function toolCallArguments(call: AtifStoredToolCall): string {
  const raw = call.extra?.raw_arguments;
  return typeof raw === 'string' ? raw : JSON.stringify(call.arguments ?? {});
}

/**
 * The trajectory as chat turns, in step order: a system step gives a system message, a user step
 * a user message, an agent step an assistant message (`content` null when the step had tool
 * calls and no text) followed by one `tool` message per observation result that names its call
 * (`source_call_id`), in the order recorded. Observation results without a call id (feedback not
 * tied to a tool call, or a system step's observation) become user messages.
 */
export function trajectoryToChatTurns(t: Trajectory): ChatTurn[] {
  const turns: ChatTurn[] = [];
  for (const step of t.steps) {
    const text = contentText(step.message);
    if (step.source === 'system') turns.push({ step, message: { role: 'system', content: text } });
    else if (step.source === 'user') turns.push({ step, message: { role: 'user', content: text } });
    else {
      const calls = step.tool_calls ?? [];
      const message: ChatMessage = { role: 'assistant', content: text === '' && calls.length ? null : text };
      if (calls.length) {
        message.tool_calls = calls.map((c) => ({ id: c.tool_call_id, type: 'function', function: { name: c.function_name, arguments: toolCallArguments(c) } }));
      }
      turns.push({ step, message });
    }
    for (const r of step.observation?.results ?? []) {
      const content = contentText(r.content);
      turns.push({ step, message: r.source_call_id ? { role: 'tool', tool_call_id: r.source_call_id, content } : { role: 'user', content } });
    }
  }
  return turns;
}

/** The trajectory as OpenAI chat messages plus its tool definitions (see {@link trajectoryToChatTurns}). */
export function trajectoryToChatMessages(t: Trajectory): { messages: ChatMessage[]; tools: ToolDefinition[] } {
  return { messages: trajectoryToChatTurns(t).map((x) => x.message), tools: t.agent.tool_definitions ?? [] };
}

// ---------------------------------------------------------------------------------------------
// Recorded exchanges -> trajectory
// ---------------------------------------------------------------------------------------------

/** One recorded chat-completions call: the request body and the response body, as JSON. */
export interface ChatExchange {
  request: unknown;
  response: unknown;
  /** ISO 8601; the agent step's timestamp when given. */
  finishedAt?: string;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const numbers = (x: unknown): number[] | undefined => (Array.isArray(x) && x.length && x.every((v) => typeof v === 'number') ? (x as number[]) : undefined);

/** Chat message content (string or an array of parts) as text. */
function chatText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (isObj(p) ? (typeof p.text === 'string' ? p.text : p.type === 'image_url' ? '[image]' : '') : ''))
      .filter((s) => s !== '')
      .join('\n');
  }
  return '';
}

function responseChoice(response: unknown): Obj | undefined {
  if (!isObj(response) || !Array.isArray(response.choices)) return undefined;
  const c = response.choices[0];
  return isObj(c) && isObj(c.message) ? c : undefined;
}

function requestMessages(request: unknown): Obj[] | undefined {
  return isObj(request) && Array.isArray(request.messages) ? request.messages.filter(isObj) : undefined;
}

function chatToolCalls(message: Obj): AtifToolCall[] {
  if (!Array.isArray(message.tool_calls)) return [];
  return message.tool_calls.filter(isObj).map((c, i) => {
    const f = isObj(c.function) ? c.function : {};
    return {
      tool_call_id: typeof c.id === 'string' && c.id ? c.id : `call_${i + 1}`,
      function_name: typeof f.name === 'string' ? f.name : '',
      arguments: typeof f.arguments === 'string' ? f.arguments : isObj(f.arguments) ? f.arguments : '',
    };
  });
}

/** The same assistant message: same text and the same tool calls (ids and names). */
function sameAssistant(a: Obj, b: Obj): boolean {
  const ids = (m: Obj) => chatToolCalls(m).map((c) => `${c.tool_call_id}:${c.function_name}`).join(',');
  return chatText(a.content) === chatText(b.content) && ids(a) === ids(b);
}

/** A response's usage, logprobs and token ids as ATIF step metrics. */
export function responseMetrics(response: unknown): AtifStepMetrics {
  const m: AtifStepMetrics = {};
  if (!isObj(response)) return m;
  const usage = isObj(response.usage) ? response.usage : {};
  const details = isObj(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const set = <K extends keyof AtifStepMetrics>(k: K, v: AtifStepMetrics[K] | undefined) => {
    if (v !== undefined) m[k] = v;
  };
  set('prompt_tokens', num(usage.prompt_tokens));
  set('completion_tokens', num(usage.completion_tokens));
  set('cached_tokens', num(details.cached_tokens));
  set('cost_usd', num(usage.cost)); // OpenRouter reports the call's cost here
  const choice = responseChoice(response) ?? {};
  const lp = isObj(choice.logprobs) && Array.isArray(choice.logprobs.content) ? choice.logprobs.content.filter(isObj) : [];
  if (lp.length && lp.every((t) => typeof t.logprob === 'number')) m.logprobs = lp.map((t) => t.logprob as number);
  // vLLM: `return_token_ids` puts them on the choice and the prompt's on the response;
  // `return_tokens_as_token_ids` spells each logprobs token as "token_id:N".
  const fromTokens = lp.length && lp.every((t) => typeof t.token === 'string' && /^token_id:\d+$/.test(t.token)) ? lp.map((t) => Number((t.token as string).slice(9))) : undefined;
  set('completion_token_ids', numbers(choice.token_ids) ?? numbers(choice.completion_token_ids) ?? fromTokens);
  set('prompt_token_ids', numbers(response.prompt_token_ids) ?? numbers(choice.prompt_token_ids));
  return m;
}

export interface ChatExchangesInit {
  sessionId: string;
  agent: { name: string; version: string; model_name?: string; extra?: Record<string, unknown> };
  /** The clock for steps no exchange dates (default: now). */
  now?: () => Date;
  /** The trajectory's cap in bytes of text (TrajectoryBuilderInit.maxBytes). */
  maxBytes?: number;
}

/**
 * Rebuild a trajectory from the chat-completions calls a proxy recorded, in the order they were
 * made. Chat agents resend the whole conversation each call, so:
 *
 * 1. Exchanges whose response has no `choices[0].message` (errors) are dropped.
 * 2. The conversation is the last exchange's request `messages` plus its response's message.
 * 3. Each conversation message becomes a step: `system`/`developer` a system step, `user` a user
 *    step, `assistant` an agent step (text, `reasoning_content`/`reasoning`, tool calls with
 *    their arguments parsed), and `tool` messages append to the latest agent step's observation
 *    (`source_call_id` = the message's `tool_call_id`).
 * 4. The assistant message at conversation index i was produced by the exchange whose request
 *    had i messages and whose response equals it (same text and tool calls; the latest such
 *    exchange wins, so retries count once). That exchange gives the step's model name, metrics
 *    (usage, cached tokens, cost, logprobs, token ids), `llm_call_count: 1` and timestamp.
 *    Assistant messages no exchange produced (history the agent seeded) have no metrics.
 * 5. The last request's `tools` become `agent.tool_definitions`; its `model` the default model.
 * 6. Exchanges that produced no message of the final conversation (retries, context the agent
 *    dropped or summarized) are counted, with their token usage, in `extra.unmatched_exchanges`;
 *    final_metrics covers the steps only.
 */
export function chatExchangesToTrajectory(exchanges: readonly ChatExchange[], init: ChatExchangesInit): Trajectory {
  const good = exchanges.filter((e) => responseChoice(e.response) && requestMessages(e.request));
  const last = good[good.length - 1];
  const lastRequest = last && isObj(last.request) ? last.request : {};
  const tools = Array.isArray(lastRequest.tools)
    ? (lastRequest.tools.filter((t) => isObj(t) && t.type === 'function' && isObj(t.function) && typeof t.function.name === 'string') as unknown as ToolDefinition[])
    : [];
  let clock: Date | undefined;
  const fallback = init.now ?? (() => new Date());
  const builder = new TrajectoryBuilder({
    sessionId: init.sessionId,
    agent: {
      ...init.agent,
      model_name: init.agent.model_name ?? (typeof lastRequest.model === 'string' ? lastRequest.model : undefined),
      ...(tools.length ? { tool_definitions: tools } : {}),
    },
    now: () => clock ?? fallback(),
    ...(init.maxBytes !== undefined ? { maxBytes: init.maxBytes } : {}),
  });
  if (!last) {
    const t = builder.toJSON();
    t.notes = exchanges.length ? `none of the ${exchanges.length} recorded exchanges has a response message` : 'no exchanges were recorded';
    return t;
  }

  const conversation = [...requestMessages(last.request)!, responseChoice(last.response)!.message as Obj];
  const used = new Set<ChatExchange>();
  const producer = (index: number): ChatExchange | undefined => {
    for (let k = good.length - 1; k >= 0; k--) {
      const e = good[k]!;
      if (requestMessages(e.request)!.length === index && sameAssistant(responseChoice(e.response)!.message as Obj, conversation[index]!)) return e;
    }
    return undefined;
  };

  let lastAgent: number | undefined;
  conversation.forEach((m, index) => {
    const role = m.role;
    const text = chatText(m.content);
    clock = undefined;
    if (role === 'system' || role === 'developer') builder.addSystem(text);
    else if (role === 'user') builder.addUser(text);
    else if (role === 'assistant') {
      const ex = producer(index);
      if (ex) used.add(ex);
      const response = ex && isObj(ex.response) ? ex.response : undefined;
      if (ex?.finishedAt && !Number.isNaN(Date.parse(ex.finishedAt))) clock = new Date(ex.finishedAt);
      const reasoning = typeof m.reasoning_content === 'string' ? m.reasoning_content : typeof m.reasoning === 'string' ? m.reasoning : undefined;
      const calls = chatToolCalls(m);
      lastAgent = builder.addAgent({
        message: text,
        ...(reasoning ? { reasoning_content: reasoning } : {}),
        ...(typeof response?.model === 'string' ? { model_name: response.model } : {}),
        ...(calls.length ? { tool_calls: calls } : {}),
        ...(ex ? { metrics: responseMetrics(ex.response) } : {}),
      });
    } else if (role === 'tool' || role === 'function') {
      const callId = typeof m.tool_call_id === 'string' ? m.tool_call_id : undefined;
      if (lastAgent === undefined) builder.addUser(text);
      else builder.addObservation(lastAgent, [{ ...(callId ? { source_call_id: callId } : {}), content: text }]);
    }
  });

  const t = builder.toJSON();
  // Steps an exchange produced represent exactly one inference.
  for (const step of t.steps) if (step.source === 'agent' && step.metrics) step.llm_call_count = 1;
  const unmatched = good.filter((e) => !used.has(e));
  const dropped = exchanges.length - good.length;
  if (unmatched.length || dropped) {
    const usage = unmatched.map((e) => responseMetrics(e.response));
    t.extra = {
      ...t.extra,
      unmatched_exchanges: {
        count: unmatched.length,
        prompt_tokens: usage.reduce((s, u) => s + (u.prompt_tokens ?? 0), 0),
        completion_tokens: usage.reduce((s, u) => s + (u.completion_tokens ?? 0), 0),
        without_response: dropped,
      },
    };
  }
  t.notes = `rebuilt from ${exchanges.length} recorded chat-completions exchange${exchanges.length === 1 ? '' : 's'}`;
  return t;
}

/**
 * The script a scripted model server replays: which replies (text, reasoning, tool calls) answer
 * which task's requests, and which faults to inject. Read from JSON or YAML and validated here by
 * hand (no zod), so every problem is reported with the file and the path of the bad value.
 *
 * The file format (snake_case, as written) is {@link RawModelScript}; the validated form the
 * server uses (camelCase, defaults filled in) is {@link ModelScript}.
 */
import { MAX_TASK_FILE_BYTES, readInputText } from '../input';
import { didYouMean } from '../language/suggest';
import { compileBoundedRegex, type BoundedRegex } from '../regex';
import { LineIndex, parseYaml } from '../syntax';

export const FAULT_KINDS = ['429', '500', 'slow', 'malformed-args', 'truncate'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FINISH_REASONS = ['stop', 'tool_calls', 'length'] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

/** The model name /v1/models lists when the script names none. */
export const DEFAULT_MODEL_NAME = 'scripted';
/** How long a `slow` fault waits when it gives no `delay_ms`. */
export const DEFAULT_SLOW_MS = 2000;
/** The `retry-after` a 429 or 500 fault sends when it gives no `retry_after_s`. */
export const DEFAULT_RETRY_AFTER_S = 1;

// ---- the file format, as written ----

export interface RawToolCall {
  id?: string;
  name: string;
  /** An object (sent JSON-serialised) or a raw string (sent as is, e.g. malformed JSON). */
  arguments?: Record<string, unknown> | string;
}

export interface RawFault {
  kind: FaultKind | 429 | 500;
  times?: number;
  delay_ms?: number;
  retry_after_s?: number;
}

export interface RawReply {
  content?: string;
  reasoning?: string;
  tool_calls?: RawToolCall[];
  finish_reason?: FinishReason;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  delay_ms?: number;
  fault?: RawFault;
}

export interface RawTask {
  match?: string;
  replies: RawReply[];
}

export interface RawModelScript {
  model?: string;
  models?: string[];
  tasks?: Record<string, RawTask>;
  default?: { replies: RawReply[] };
}

// ---- the validated form ----

export interface ScriptedToolCall {
  /** Absent in the script: the server derives a stable id from the task, reply and position. */
  id?: string;
  name: string;
  /** Sent exactly as is. */
  arguments: string;
}

export interface ScriptedFault {
  kind: FaultKind;
  /** The first `times` requests for this reply get the fault; later ones the real reply. */
  times: number;
  /** `slow`: how long to wait before answering. */
  delayMs: number;
  /** `429`/`500`: the `retry-after` header, in seconds. */
  retryAfterS: number;
}

export interface ScriptedReply {
  content?: string;
  reasoning?: string;
  toolCalls: ScriptedToolCall[];
  finishReason: FinishReason;
  usage?: { promptTokens?: number; completionTokens?: number };
  delayMs: number;
  fault?: ScriptedFault;
}

export interface ScriptedTask {
  /** The task id (the key under `tasks:`), or `default`. */
  id: string;
  /** Tested on the first user message in linear time (regex/bounded.ts), whatever it says. */
  match?: BoundedRegex;
  replies: ScriptedReply[];
}

export interface ModelScript {
  /** Where the script came from (a file path, or `<inline script>`), for messages. */
  source: string;
  /** The names /v1/models lists; the first is the default model of a reply. */
  models: string[];
  /** In script order (the order `match` regexes are tried in). */
  tasks: ScriptedTask[];
  default?: ScriptedTask;
}

/** A script that cannot be used; the message names the file and every problem, one per line. */
export class ModelScriptError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(problems.length === 1 ? `${source}: ${problems[0]}` : `${source}: ${problems.length} problems:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ModelScriptError';
  }
}

const validated = new WeakSet<object>();

/** True for the result of {@link validateModelScript} (the server validates anything else). */
export function isModelScript(value: unknown): value is ModelScript {
  return typeof value === 'object' && value !== null && validated.has(value);
}

/** Read and validate a script file: `.json` is parsed as JSON, anything else as YAML. */
export function loadModelScript(path: string): ModelScript {
  // A regular file under the task-file cap, valid UTF-8: a FIFO or /dev/zero must not hang or fill memory.
  const read = readInputText(path, { maxBytes: MAX_TASK_FILE_BYTES, label: 'it' });
  if (!read.ok) throw new ModelScriptError(path, [`cannot read the script: ${read.kind === 'missing' ? 'no such file' : read.message}`]);
  return parseModelScript(read.text, path, path.toLowerCase().endsWith('.json') ? 'json' : 'yaml');
}

/** Parse and validate a script's text. `source` names it in error messages. */
export function parseModelScript(text: string, source: string, format: 'json' | 'yaml' = 'yaml'): ModelScript {
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new ModelScriptError(source, [`not valid JSON: ${(e as Error).message}`]);
    }
  } else {
    const doc = parseYaml(text);
    if (doc.errors.length) {
      const lines = new LineIndex(text);
      throw new ModelScriptError(
        source,
        doc.errors.map((e) => {
          const at = lines.positionAt(e.pos[0]);
          return `line ${at.line + 1}, column ${at.character + 1}: ${e.message.split('\n')[0]}`;
        }),
      );
    }
    value = doc.toJS({ maxAliasCount: 100 });
  }
  return validateModelScript(value, source);
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return `${typeof v} ${String(v)}`;
}

const KEYS = {
  top: ['model', 'models', 'tasks', 'default'],
  task: ['match', 'replies'],
  default: ['replies'],
  reply: ['content', 'reasoning', 'tool_calls', 'finish_reason', 'usage', 'delay_ms', 'fault'],
  toolCall: ['id', 'name', 'arguments'],
  usage: ['prompt_tokens', 'completion_tokens'],
  fault: ['kind', 'times', 'delay_ms', 'retry_after_s'],
} as const;

/** Validate plain data (a parsed script file, or an object written in a test). */
export function validateModelScript(value: unknown, source = '<inline script>'): ModelScript {
  if (isModelScript(value)) return value;
  const problems: string[] = [];
  const bad = (path: string, what: string): void => void problems.push(path ? `${path}: ${what}` : what);
  const unknownKeys = (o: Obj, path: string, known: readonly string[]): void => {
    for (const k of Object.keys(o)) {
      if (known.includes(k)) continue;
      const s = didYouMean(k, known);
      bad(path ? `${path}.${k}` : k, `unknown key${s ? `; did you mean \`${s}\`?` : ''} (known: ${known.join(', ')})`);
    }
  };
  const nonNegative = (v: unknown, path: string, integer: boolean): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
      bad(path, `must be a ${integer ? 'whole number' : 'number'} of 0 or more, not ${describe(v)}`);
      return undefined;
    }
    return v;
  };
  const optString = (v: unknown, path: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      bad(path, `must be a string, not ${describe(v)}`);
      return undefined;
    }
    return v;
  };

  const toolCall = (v: unknown, path: string): ScriptedToolCall | undefined => {
    if (!isObject(v)) return void bad(path, `a tool call must be a mapping with \`name\` and \`arguments\`, not ${describe(v)}`);
    unknownKeys(v, path, KEYS.toolCall);
    const name = v.name;
    if (typeof name !== 'string' || name === '') bad(`${path}.name`, name === undefined ? 'missing: a tool call needs the name of the tool' : `must be a non-empty string, not ${describe(name)}`);
    const id = optString(v.id, `${path}.id`);
    let args = '{}';
    if (typeof v.arguments === 'string') args = v.arguments;
    else if (isObject(v.arguments)) args = JSON.stringify(v.arguments);
    else if (v.arguments !== undefined) bad(`${path}.arguments`, `must be a mapping (sent as JSON) or a string (sent as is), not ${describe(v.arguments)}`);
    if (typeof name !== 'string') return undefined;
    return { ...(id !== undefined ? { id } : {}), name, arguments: args };
  };

  const fault = (v: unknown, path: string): ScriptedFault | undefined => {
    if (!isObject(v)) return void bad(path, `must be a mapping like { kind: 429, times: 1 }, not ${describe(v)}`);
    unknownKeys(v, path, KEYS.fault);
    const kind = typeof v.kind === 'number' ? String(v.kind) : v.kind;
    if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
      bad(`${path}.kind`, v.kind === undefined ? `missing: one of ${FAULT_KINDS.join(', ')}` : `must be one of ${FAULT_KINDS.join(', ')}, not ${describe(v.kind)}`);
      return undefined;
    }
    const times = nonNegative(v.times, `${path}.times`, true);
    const delayMs = nonNegative(v.delay_ms, `${path}.delay_ms`, true);
    const retryAfterS = nonNegative(v.retry_after_s, `${path}.retry_after_s`, false);
    if (v.delay_ms !== undefined && kind !== 'slow') bad(`${path}.delay_ms`, `only a \`slow\` fault waits; use the reply's own \`delay_ms\` to delay every answer`);
    if (v.retry_after_s !== undefined && kind !== '429' && kind !== '500') bad(`${path}.retry_after_s`, 'only 429 and 500 faults send retry-after');
    return { kind: kind as FaultKind, times: times ?? 1, delayMs: delayMs ?? DEFAULT_SLOW_MS, retryAfterS: retryAfterS ?? DEFAULT_RETRY_AFTER_S };
  };

  const reply = (v: unknown, path: string): ScriptedReply | undefined => {
    if (!isObject(v)) return void bad(path, `a reply must be a mapping (content, tool_calls, …), not ${describe(v)}`);
    unknownKeys(v, path, KEYS.reply);
    const content = optString(v.content, `${path}.content`);
    const reasoning = optString(v.reasoning, `${path}.reasoning`);
    const toolCalls: ScriptedToolCall[] = [];
    if (v.tool_calls !== undefined) {
      if (!Array.isArray(v.tool_calls)) bad(`${path}.tool_calls`, `must be a list of tool calls, not ${describe(v.tool_calls)}`);
      else
        v.tool_calls.forEach((c, i) => {
          const t = toolCall(c, `${path}.tool_calls[${i}]`);
          if (t) toolCalls.push(t);
        });
    }
    if (content === undefined && reasoning === undefined && v.tool_calls === undefined) bad(path, 'a reply needs `content`, `tool_calls` or `reasoning`');
    let finishReason: FinishReason = toolCalls.length ? 'tool_calls' : 'stop';
    if (v.finish_reason !== undefined) {
      if (typeof v.finish_reason !== 'string' || !(FINISH_REASONS as readonly string[]).includes(v.finish_reason)) bad(`${path}.finish_reason`, `must be one of ${FINISH_REASONS.join(', ')}, not ${describe(v.finish_reason)}`);
      else finishReason = v.finish_reason as FinishReason;
    }
    let usage: ScriptedReply['usage'];
    if (v.usage !== undefined) {
      if (!isObject(v.usage)) bad(`${path}.usage`, `must be a mapping like { prompt_tokens: 10, completion_tokens: 5 }, not ${describe(v.usage)}`);
      else {
        unknownKeys(v.usage, `${path}.usage`, KEYS.usage);
        const p = nonNegative(v.usage.prompt_tokens, `${path}.usage.prompt_tokens`, true);
        const c = nonNegative(v.usage.completion_tokens, `${path}.usage.completion_tokens`, true);
        usage = { ...(p !== undefined ? { promptTokens: p } : {}), ...(c !== undefined ? { completionTokens: c } : {}) };
      }
    }
    const delayMs = nonNegative(v.delay_ms, `${path}.delay_ms`, true) ?? 0;
    const f = v.fault === undefined ? undefined : fault(v.fault, `${path}.fault`);
    if (f?.kind === 'malformed-args' && !(Array.isArray(v.tool_calls) && v.tool_calls.length)) bad(`${path}.fault`, '`malformed-args` needs a reply with tool calls');
    return {
      ...(content !== undefined ? { content } : {}),
      ...(reasoning !== undefined ? { reasoning } : {}),
      toolCalls,
      finishReason,
      ...(usage ? { usage } : {}),
      delayMs,
      ...(f ? { fault: f } : {}),
    };
  };

  const replies = (v: unknown, path: string): ScriptedReply[] => {
    if (!Array.isArray(v)) {
      bad(path, v === undefined ? 'missing: a list of replies' : `must be a list of replies, not ${describe(v)}`);
      return [];
    }
    if (!v.length) bad(path, 'needs at least one reply');
    const out: ScriptedReply[] = [];
    v.forEach((r, i) => {
      const x = reply(r, `${path}[${i}]`);
      if (x) out.push(x);
    });
    return out;
  };

  if (!isObject(value)) throw new ModelScriptError(source, [`a script must be a mapping with \`tasks\` (and/or \`default\`), not ${describe(value)}`]);
  unknownKeys(value, '', KEYS.top);

  const models: string[] = [];
  const model = optString(value.model, 'model');
  if (model !== undefined) models.push(model);
  if (value.models !== undefined) {
    if (!Array.isArray(value.models) || value.models.some((m) => typeof m !== 'string' || m === '')) bad('models', `must be a list of model names, not ${describe(value.models)}`);
    else for (const m of value.models as string[]) if (!models.includes(m)) models.push(m);
  }
  if (!models.length) models.push(DEFAULT_MODEL_NAME);

  const tasks: ScriptedTask[] = [];
  if (value.tasks !== undefined) {
    if (!isObject(value.tasks)) bad('tasks', `must be a mapping from task id to { match?, replies }, not ${describe(value.tasks)}`);
    else
      for (const [id, t] of Object.entries(value.tasks)) {
        const path = `tasks.${id}`;
        if (!isObject(t)) {
          bad(path, `must be a mapping with \`replies\`, not ${describe(t)}`);
          continue;
        }
        unknownKeys(t, path, KEYS.task);
        let match: BoundedRegex | undefined;
        const m = optString(t.match, `${path}.match`);
        if (m !== undefined) {
          const r = compileBoundedRegex(m);
          if ('re' in r) match = r.re;
          else bad(`${path}.match`, `not a valid regular expression: ${r.error}`);
        }
        tasks.push({ id, ...(match ? { match } : {}), replies: replies(t.replies, `${path}.replies`) });
      }
  }
  let dflt: ScriptedTask | undefined;
  if (value.default !== undefined) {
    if (!isObject(value.default)) bad('default', `must be a mapping with \`replies\`, not ${describe(value.default)}`);
    else {
      unknownKeys(value.default, 'default', KEYS.default);
      dflt = { id: 'default', replies: replies(value.default.replies, 'default.replies') };
    }
  }
  if (value.tasks === undefined && value.default === undefined) bad('', 'the script has neither `tasks` nor `default`: nothing to reply with');
  if (problems.length) throw new ModelScriptError(source, problems);
  const script: ModelScript = { source, models, tasks, ...(dflt ? { default: dflt } : {}) };
  validated.add(script);
  return script;
}

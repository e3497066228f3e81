/**
 * ATIF (Agent Trajectory Interchange Format) v1.7: the types, a validator and a builder.
 *
 * The field names and rules follow Harbor's RFC 0001 "Agent Trajectory Interchange Format (ATIF)
 * Specification", changelog v1.7 (harbor-framework/harbor, `rfcs/0001-trajectory-format.md`,
 * April 2026). What we write is documented in docs/trajectories.md.
 *
 * The builder is how a run records what its agent did: one step per system prompt, user message
 * and LLM turn, observations appended to the agent step whose tool calls produced them. Every
 * added step and observation is also handed to `onEvent` synchronously, which is the JSON-lines
 * stream live views and the benchmark read while the run goes on.
 */
import { z } from 'zod';

export const ATIF_SCHEMA_VERSION = 'ATIF-v1.7';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** Multimodal content (v1.6+): text, or an image stored beside the trajectory and referenced by path. */
export type AtifContentPart =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { media_type: 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp'; path: string } };

export type AtifContent = string | AtifContentPart[];

/** What the builder's callers pass: `arguments` may be the raw JSON string a model produced. */
export interface AtifToolCall {
  tool_call_id: string;
  function_name: string;
  arguments: Record<string, unknown> | string;
}

/** A tool call as stored: ATIF requires `arguments` to be a JSON object (v1.7 adds `extra`). */
export interface AtifStoredToolCall {
  tool_call_id: string;
  function_name: string;
  arguments: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

export interface AtifStepMetrics {
  prompt_tokens?: number;
  completion_tokens?: number;
  cached_tokens?: number;
  cost_usd?: number;
  logprobs?: number[];
  completion_token_ids?: number[];
  prompt_token_ids?: number[];
}

/** Metrics as stored (the spec's MetricsSchema also has `extra`). */
export interface AtifMetrics extends AtifStepMetrics {
  extra?: Record<string, unknown>;
}

/** OpenAI tool schema, as ATIF's tool_definitions holds it. */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export interface AtifSubagentTrajectoryRef {
  trajectory_id?: string;
  trajectory_path?: string | null;
  session_id?: string;
  extra?: Record<string, unknown>;
}

export interface AtifObservationResult {
  source_call_id?: string;
  content?: AtifContent;
  subagent_trajectory_ref?: AtifSubagentTrajectoryRef[];
  extra?: Record<string, unknown>;
}

export interface AtifObservation {
  results: AtifObservationResult[];
}

export interface AtifStep {
  /** 1, 2, 3… in order. */
  step_id: number;
  /** ISO 8601. */
  timestamp?: string;
  source: 'system' | 'user' | 'agent';
  /** Agent steps only. */
  model_name?: string;
  /** Agent steps only. */
  reasoning_effort?: string | number;
  /** Required; may be empty. */
  message: AtifContent;
  /** Agent steps only. */
  reasoning_content?: string;
  /** Agent steps only. */
  tool_calls?: AtifStoredToolCall[];
  observation?: AtifObservation;
  /** Agent steps only. */
  metrics?: AtifMetrics;
  llm_call_count?: number;
  is_copied_context?: boolean;
  extra?: Record<string, unknown>;
}

export interface AtifAgent {
  name: string;
  version: string;
  model_name?: string;
  tool_definitions?: ToolDefinition[];
  extra?: Record<string, unknown>;
}

export interface AtifFinalMetrics {
  total_prompt_tokens?: number;
  total_completion_tokens?: number;
  total_cached_tokens?: number;
  total_cost_usd?: number;
  total_steps?: number;
  extra?: Record<string, unknown>;
}

export interface Trajectory {
  schema_version: string;
  session_id?: string;
  trajectory_id?: string;
  agent: AtifAgent;
  steps: AtifStep[];
  notes?: string;
  final_metrics?: AtifFinalMetrics;
  continued_trajectory_ref?: string;
  extra?: Record<string, unknown>;
  subagent_trajectories?: Trajectory[];
}

/** The live stream: one event per added step, per appended observation, and the final metrics. */
export type TrajectoryEvent =
  | { type: 'step'; step: AtifStep }
  | { type: 'observation'; step_id: number; results: AtifObservationResult[] }
  | { type: 'final'; final_metrics: AtifFinalMetrics };

// ---------------------------------------------------------------------------------------------
// Schema (zod) and validator
// ---------------------------------------------------------------------------------------------

const record = z.record(z.string(), z.unknown());
const count = z.number().int().nonnegative();
const contentPart = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: z.string() }),
  z.strictObject({
    type: z.literal('image'),
    source: z.strictObject({ media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp']), path: z.string().min(1) }),
  }),
]);
const content = z.union([z.string(), z.array(contentPart)]);

const toolCallSchema = z.strictObject({
  tool_call_id: z.string().min(1),
  function_name: z.string().min(1),
  arguments: record,
  extra: record.optional(),
});

const metricsSchema = z.strictObject({
  prompt_tokens: count.optional(),
  completion_tokens: count.optional(),
  cached_tokens: count.optional(),
  cost_usd: z.number().nonnegative().optional(),
  prompt_token_ids: z.array(z.number().int()).optional(),
  completion_token_ids: z.array(z.number().int()).optional(),
  logprobs: z.array(z.number()).optional(),
  extra: record.optional(),
});

const subagentRefSchema = z.strictObject({
  trajectory_id: z.string().min(1).optional(),
  trajectory_path: z.string().min(1).nullable().optional(),
  session_id: z.string().optional(),
  extra: record.optional(),
});

const observationSchema = z.strictObject({
  results: z.array(
    z.strictObject({
      source_call_id: z.string().min(1).nullable().optional(),
      content: content.nullable().optional(),
      subagent_trajectory_ref: z.array(subagentRefSchema).nullable().optional(),
      extra: record.optional(),
    }),
  ),
});

const stepSchema = z.strictObject({
  step_id: z.number().int().positive(),
  timestamp: z.string().optional(),
  source: z.enum(['system', 'user', 'agent']),
  model_name: z.string().optional(),
  reasoning_effort: z.union([z.string(), z.number()]).optional(),
  message: content,
  reasoning_content: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  observation: observationSchema.optional(),
  metrics: metricsSchema.optional(),
  llm_call_count: count.nullable().optional(),
  is_copied_context: z.boolean().nullable().optional(),
  extra: record.optional(),
});

const toolDefinitionSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1), description: z.string().optional(), parameters: record.optional() }),
});

/** The structural schema of a trajectory. Cross-field rules are checked by {@link validateTrajectory}. */
export const trajectorySchema: z.ZodType<unknown> = z.strictObject({
  schema_version: z.string().regex(/^ATIF-v\d+\.\d+$/, 'must look like "ATIF-v1.7"'),
  session_id: z.string().min(1).optional(),
  trajectory_id: z.string().min(1).optional(),
  agent: z.strictObject({
    name: z.string().min(1),
    version: z.string().min(1),
    model_name: z.string().optional(),
    tool_definitions: z.array(toolDefinitionSchema).optional(),
    extra: record.optional(),
  }),
  steps: z.array(stepSchema),
  notes: z.string().optional(),
  final_metrics: z
    .strictObject({
      total_prompt_tokens: count.optional(),
      total_completion_tokens: count.optional(),
      total_cached_tokens: count.optional(),
      total_cost_usd: z.number().nonnegative().optional(),
      total_steps: count.optional(),
      extra: record.optional(),
    })
    .optional(),
  continued_trajectory_ref: z.string().optional(),
  extra: record.optional(),
  // Embedded subagents are whole trajectories; validateTrajectory checks each one recursively.
  subagent_trajectories: z.array(z.unknown()).optional(),
});

/** `steps[2].tool_calls[0].arguments` from a zod path. */
function formatPath(path: readonly PropertyKey[], prefix: string): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const AGENT_ONLY = ['model_name', 'reasoning_effort', 'reasoning_content', 'tool_calls', 'metrics'] as const;

function validateAt(x: unknown, prefix: string, embedded: boolean): string[] {
  const parsed = trajectorySchema.safeParse(x);
  if (!parsed.success) return parsed.error.issues.map((i) => `${formatPath(i.path, prefix)}: ${i.message}`);
  const t = parsed.data as Trajectory;
  const at = (rest: string) => (prefix ? `${prefix}.${rest}` : rest);
  const errors: string[] = [];
  if (embedded && !t.trajectory_id) errors.push(`${at('trajectory_id')}: required on an embedded subagent trajectory`);
  t.steps.forEach((step, i) => {
    const where = at(`steps[${i}]`);
    if (step.step_id !== i + 1) errors.push(`${where}.step_id: expected ${i + 1} (step ids count 1, 2, 3… in order), got ${step.step_id}`);
    if (step.timestamp !== undefined && (!ISO_8601.test(step.timestamp) || Number.isNaN(Date.parse(step.timestamp)))) {
      errors.push(`${where}.timestamp: not an ISO 8601 date-time: ${JSON.stringify(step.timestamp)}`);
    }
    if (step.source !== 'agent') {
      for (const f of AGENT_ONLY) if (step[f] !== undefined) errors.push(`${where}.${f}: only agent steps may have it (this step's source is "${step.source}")`);
    }
    if (step.llm_call_count === 0 && step.source === 'agent') {
      if (step.metrics !== undefined) errors.push(`${where}.metrics: must be absent when llm_call_count is 0 (a deterministic, non-LLM step)`);
      if (step.reasoning_content !== undefined) errors.push(`${where}.reasoning_content: must be absent when llm_call_count is 0`);
    }
    const ids = new Set<string>();
    step.tool_calls?.forEach((c, j) => {
      if (ids.has(c.tool_call_id)) errors.push(`${where}.tool_calls[${j}].tool_call_id: duplicate id ${JSON.stringify(c.tool_call_id)} in this step`);
      ids.add(c.tool_call_id);
    });
    step.observation?.results.forEach((r, j) => {
      if (r.source_call_id != null && !ids.has(r.source_call_id)) {
        errors.push(`${where}.observation.results[${j}].source_call_id: ${JSON.stringify(r.source_call_id)} matches no tool_call_id of this step`);
      }
      r.subagent_trajectory_ref?.forEach((ref, k) => {
        if (!ref.trajectory_id && !ref.trajectory_path) {
          errors.push(`${where}.observation.results[${j}].subagent_trajectory_ref[${k}]: needs trajectory_id or trajectory_path (session_id alone does not resolve)`);
        }
      });
    });
  });
  const seen = new Set<string>();
  (t.subagent_trajectories ?? []).forEach((sub, i) => {
    const where = at(`subagent_trajectories[${i}]`);
    errors.push(...validateAt(sub, where, true));
    const id = (sub as { trajectory_id?: unknown } | null)?.trajectory_id;
    if (typeof id === 'string') {
      if (seen.has(id)) errors.push(`${where}.trajectory_id: duplicate ${JSON.stringify(id)} among subagent_trajectories`);
      seen.add(id);
    }
  });
  return errors;
}

/**
 * Validate a parsed trajectory.json: the structure (required fields, types, no unknown keys) and
 * the spec's cross-field rules (sequential step ids, agent-only fields, ISO 8601 timestamps,
 * observation results pointing at this step's tool calls, subagent refs that resolve). Returns
 * one message per problem, each starting with the field's path; empty when valid.
 */
export function validateTrajectory(x: unknown): string[] {
  return validateAt(x, '', false);
}

// ---------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------

function defined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

/**
 * A tool call as ATIF stores it. A string `arguments` (what chat APIs return) is parsed; when it
 * is not a JSON object, `arguments` is `{}` and the raw text is kept in `extra.raw_arguments`
 * (conversions back to chat messages use it).
 */
export function normalizeToolCall(call: AtifToolCall & { extra?: Record<string, unknown> }): AtifStoredToolCall {
  let args: Record<string, unknown> = {};
  let extra = call.extra;
  if (typeof call.arguments === 'string') {
    let value: unknown;
    try {
      value = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch {
      value = undefined;
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) args = value as Record<string, unknown>;
    else extra = { ...extra, raw_arguments: call.arguments };
  } else {
    args = call.arguments;
  }
  return defined({ tool_call_id: call.tool_call_id, function_name: call.function_name, arguments: args, extra });
}

/** Sum the steps' metrics; a total appears only when at least one step reported that figure. */
export function computeFinalMetrics(steps: readonly AtifStep[]): AtifFinalMetrics {
  const sum = (pick: (m: AtifMetrics) => number | undefined): number | undefined => {
    let total: number | undefined;
    for (const s of steps) {
      const v = s.metrics ? pick(s.metrics) : undefined;
      if (typeof v === 'number') total = (total ?? 0) + v;
    }
    return total;
  };
  const cost = sum((m) => m.cost_usd);
  return defined({
    total_prompt_tokens: sum((m) => m.prompt_tokens),
    total_completion_tokens: sum((m) => m.completion_tokens),
    total_cached_tokens: sum((m) => m.cached_tokens),
    // Rounded to 1e-9 USD so float sums do not print as 0.30000000000000004.
    total_cost_usd: cost === undefined ? undefined : Math.round(cost * 1e9) / 1e9,
    total_steps: steps.length,
  });
}

export interface TrajectoryBuilderInit {
  sessionId: string;
  agent: { name: string; version: string; model_name?: string; tool_definitions?: ToolDefinition[]; extra?: Record<string, unknown> };
  /** Called synchronously for each added step and observation (and by {@link TrajectoryBuilder.finish}). */
  onEvent?: (e: TrajectoryEvent) => void;
  /** The clock for step timestamps (tests inject one). */
  now?: () => Date;
  /**
   * Bytes of text (messages, reasoning, tool-call arguments, observations; token arrays at 8 bytes
   * a number) the trajectory keeps. Past it, text is cut with a marker and the step records
   * `extra.trajectory_cap` (the trajectory's too); steps themselves are still added. Default: no cap.
   */
  maxBytes?: number;
}

/** What the trajectory cap cut in one step. */
export interface AtifTruncation {
  fields: string[];
  limit_bytes: number;
}

/** The marker put where the trajectory cap cut a text. */
export function trajectoryCutMarker(limit: number, dropped: number): string {
  return `[… ${dropped} bytes cut here: the trajectory is over its cap of ${limit} bytes …]`;
}

/** The first bytes of a text that fit `room` (whole characters), or the text when it fits. */
function headBytes(text: string, room: number): string {
  if (Buffer.byteLength(text) <= room) return text;
  let out = Buffer.from(text, 'utf8').subarray(0, Math.max(0, room)).toString('utf8');
  // A character cut in half decodes to U+FFFD at the end: drop it.
  if (out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return out;
}

/** The last bytes of a text that fit `room` (whole characters). */
function tailBytes(text: string, room: number): string {
  if (room <= 0) return '';
  const buf = Buffer.from(text, 'utf8');
  let out = buf.subarray(Math.max(0, buf.length - room)).toString('utf8');
  if (out.startsWith('\uFFFD')) out = out.slice(1);
  return out;
}

/** Rough JSON overhead of a step and of an observation result, counted against the cap. */
const STEP_OVERHEAD = 256;
const RESULT_OVERHEAD = 64;

export class TrajectoryBuilder {
  private readonly steps: AtifStep[] = [];
  private notes: string | undefined;
  private readonly now: () => Date;
  /** Bytes left under `maxBytes` (Infinity without a cap). */
  private room: number;
  /** Steps the cap cut something in. */
  private readonly cutSteps: number[] = [];

  constructor(private readonly init: TrajectoryBuilderInit) {
    this.now = init.now ?? (() => new Date());
    this.room = init.maxBytes ?? Infinity;
  }

  /** Whether the cap cut anything so far. */
  get truncated(): boolean {
    return this.cutSteps.length > 0;
  }

  /** A text under the cap: whole when it fits, else its head and a marker. */
  private take(text: string, cut: string[], field: string): string {
    if (this.room === Infinity) return text;
    const size = Buffer.byteLength(text);
    if (size <= this.room) {
      this.room -= size;
      return text;
    }
    // The head and the tail kept (where a reply's own cut marker is), the middle cut.
    const marker = trajectoryCutMarker(this.init.maxBytes!, size);
    const room = Math.max(0, this.room - Buffer.byteLength(marker));
    const head = headBytes(text, Math.ceil(room / 2));
    const tail = tailBytes(text, Math.floor(room / 2));
    const kept = Buffer.byteLength(head) + Buffer.byteLength(tail);
    this.room = Math.max(0, this.room - kept);
    cut.push(field);
    return `${head}${trajectoryCutMarker(this.init.maxBytes!, size - kept)}${tail}`;
  }

  private takeContent(content: AtifContent, cut: string[], field: string): AtifContent {
    if (typeof content === 'string') return this.take(content, cut, field);
    return content.map((p, i) => (p.type === 'text' ? { ...p, text: this.take(p.text, cut, `${field}[${i}]`) } : p));
  }

  /** The step with its texts under the cap (a copy when something was cut). */
  private capStep(step: Omit<AtifStep, 'step_id' | 'timestamp'>): Omit<AtifStep, 'step_id' | 'timestamp'> {
    if (this.room === Infinity) return step;
    this.room = Math.max(0, this.room - STEP_OVERHEAD);
    const cut: string[] = [];
    const out = { ...step, message: this.takeContent(step.message, cut, 'message') };
    if (step.reasoning_content !== undefined) out.reasoning_content = this.take(step.reasoning_content, cut, 'reasoning_content');
    if (step.tool_calls) {
      out.tool_calls = step.tool_calls.map((c, i) => {
        const text = JSON.stringify(c.arguments) + (typeof c.extra?.raw_arguments === 'string' ? c.extra.raw_arguments : '');
        const size = Buffer.byteLength(text) + c.tool_call_id.length + c.function_name.length;
        if (size <= this.room) {
          this.room -= size;
          return c;
        }
        cut.push(`tool_calls[${i}].arguments`);
        const raw = typeof c.extra?.raw_arguments === 'string' ? c.extra.raw_arguments : JSON.stringify(c.arguments);
        const kept = this.take(raw, [], '');
        return { ...c, arguments: {}, extra: { ...c.extra, raw_arguments: kept } };
      });
    }
    if (step.metrics) {
      const m = { ...step.metrics };
      for (const k of ['logprobs', 'completion_token_ids', 'prompt_token_ids'] as const) {
        const arr = m[k];
        if (!arr) continue;
        const size = arr.length * 8;
        if (size <= this.room) this.room -= size;
        else {
          delete m[k];
          cut.push(`metrics.${k}`);
        }
      }
      out.metrics = m;
    }
    if (cut.length) out.extra = { ...out.extra, trajectory_cap: { fields: cut, limit_bytes: this.init.maxBytes! } satisfies AtifTruncation };
    return out;
  }

  private push(raw: Omit<AtifStep, 'step_id' | 'timestamp'>): number {
    const step = this.capStep(raw);
    const full: AtifStep = { step_id: this.steps.length + 1, timestamp: this.now().toISOString(), ...step };
    if (step.extra?.trajectory_cap) this.cutSteps.push(full.step_id);
    this.steps.push(full);
    // A copy: observations appended later arrive as their own events, not by mutating this one.
    this.init.onEvent?.({ type: 'step', step: structuredClone(full) });
    return full.step_id;
  }

  addSystem(message: string): number {
    return this.push({ source: 'system', message });
  }

  addUser(message: string): number {
    return this.push({ source: 'user', message });
  }

  addAgent(step: {
    message: string;
    reasoning_content?: string;
    model_name?: string;
    tool_calls?: AtifToolCall[];
    metrics?: AtifStepMetrics;
    extra?: Record<string, unknown>;
  }): number {
    const metrics = step.metrics ? defined({ ...step.metrics }) : undefined;
    return this.push(
      defined({
        source: 'agent' as const,
        model_name: step.model_name,
        message: step.message,
        reasoning_content: step.reasoning_content,
        tool_calls: step.tool_calls?.length ? step.tool_calls.map(normalizeToolCall) : undefined,
        metrics: metrics && Object.keys(metrics).length ? metrics : undefined,
        extra: step.extra,
      }),
    );
  }

  /** Append results to a step's observation (an agent step's, usually; system steps may have one too). */
  addObservation(stepId: number, results: { source_call_id?: string; content: string; extra?: Record<string, unknown> }[]): void {
    const step = this.steps[stepId - 1];
    if (!step) throw new RangeError(`no step ${stepId} (the trajectory has ${this.steps.length})`);
    if (step.source === 'user') throw new RangeError(`step ${stepId} is a user step; observations belong to agent or system steps`);
    const added = results.map((r) => {
      const cut: string[] = [];
      if (this.room !== Infinity) this.room = Math.max(0, this.room - RESULT_OVERHEAD);
      const content = this.take(r.content, cut, 'content');
      const extra = cut.length ? { ...r.extra, trajectory_cap: { fields: cut, limit_bytes: this.init.maxBytes! } satisfies AtifTruncation } : r.extra;
      if (cut.length && !this.cutSteps.includes(stepId)) this.cutSteps.push(stepId);
      return defined({ source_call_id: r.source_call_id, content, extra });
    });
    (step.observation ??= { results: [] }).results.push(...added);
    this.init.onEvent?.({ type: 'observation', step_id: stepId, results: structuredClone(added) });
  }

  setNote(note: string): void {
    this.notes = note;
  }

  /** The trajectory so far, with final_metrics computed from the steps. Emits nothing. */
  toJSON(): Trajectory {
    const a = this.init.agent;
    return defined({
      schema_version: ATIF_SCHEMA_VERSION,
      session_id: this.init.sessionId,
      agent: defined({ name: a.name, version: a.version, model_name: a.model_name, tool_definitions: a.tool_definitions, extra: a.extra }),
      steps: structuredClone(this.steps),
      notes: this.notes,
      final_metrics: computeFinalMetrics(this.steps),
      extra: this.cutSteps.length ? { trajectory_cap: { limit_bytes: this.init.maxBytes!, steps: [...this.cutSteps] } } : undefined,
    });
  }

  /** {@link toJSON}, after emitting the `final` event: call it once, when the agent is done. */
  finish(): Trajectory {
    const t = this.toJSON();
    this.init.onEvent?.({ type: 'final', final_metrics: structuredClone(t.final_metrics ?? {}) });
    return t;
  }
}

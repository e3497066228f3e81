/**
 * Training data from runs: trial folders' `trajectory.json` as supervised fine-tuning JSONL,
 * in OpenAI's chat fine-tuning format (messages with tool calls, plus the tool schemas) or the
 * ShareGPT-with-tools convention LLaMA-Factory reads. Filters: reward threshold, task ids or
 * globs, solved only. The formats are documented with examples in docs/trajectories.md.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { compileBoundedRegex } from '../regex';
import { validateTrajectory, type AtifStep, type ToolDefinition, type Trajectory } from '../trajectory/atif';
import { trajectoryToChatTurns, type ChatMessage, type ChatTurn } from '../trajectory/messages';

export type SftFormat = 'openai' | 'sharegpt';
export const SFT_FORMATS: readonly SftFormat[] = ['openai', 'sharegpt'];

export interface SftExportOptions {
  /** Run folders, trial folders, or folders holding run folders. */
  runs: string[];
  /** The JSONL file to write (replaced atomically). */
  out: string;
  format: SftFormat;
  /** Keep trials with `reward >= minReward`. */
  minReward?: number;
  /** Keep trials of these tasks: ids, or globs with `*` and `?`. */
  tasks?: string[];
  /** Keep solved trials only. */
  onlySolved?: boolean;
  /** Keep token ids and logprobs the model server returned, under the `clawgym` key of each assistant turn. */
  includeTokens?: boolean;
}

export interface SftExportResult {
  written: number;
  skipped: { path: string; reason: string }[];
}

/** The extra key under which `includeTokens` keeps per-turn token data. */
export const TOKENS_KEY = 'clawgym';

interface TrialInfo {
  taskId: string;
  reward: number;
  solved: boolean;
  status: string;
}

function readJson(path: string): unknown {
  return JSON.parse(fs.readFileSync(path, 'utf8')) as unknown;
}

function isTrialResult(x: unknown): x is TrialInfo {
  const r = x as Partial<TrialInfo> | null;
  return !!r && typeof r.taskId === 'string' && typeof r.reward === 'number' && typeof r.status === 'string';
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hasTrialResult(dir: string): boolean {
  try {
    return isTrialResult(readJson(nodePath.join(dir, 'result.json')));
  } catch {
    return false;
  }
}

/**
 * Trial folders under the given paths, sorted and without duplicates: a trial folder is one
 * whose result.json is a TrialResult (taskId, reward, status); a run folder's are under
 * `trials/`; any other folder is searched (to a depth of 4, skipping dot-folders and node_modules).
 */
export function findTrialFolders(paths: readonly string[]): { trials: string[]; missing: string[] } {
  const found = new Set<string>();
  const missing: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (hasTrialResult(dir)) {
      found.add(dir);
      return;
    }
    if (depth <= 0) return;
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const child = nodePath.join(dir, name);
      if (isDir(child)) walk(child, depth - 1);
    }
  };
  for (const p of paths) {
    const abs = nodePath.resolve(p);
    if (!isDir(abs)) missing.push(p);
    else walk(abs, 4);
  }
  return { trials: [...found].sort(), missing };
}

/**
 * A task id matcher from ids and globs (`*` any run of characters, `?` one character), on the
 * linear-time engine: `*a*a*a*a*b` costs time linear in the id, not a power of it.
 */
export function taskMatcher(patterns: readonly string[]): (id: string) => boolean {
  const tests = patterns.map((p): ((id: string) => boolean) => {
    const r = compileBoundedRegex(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^]*').replace(/\?/g, '[^]')}$`);
    return 're' in r ? (id) => r.re.test(id) : (id) => id === p;
  });
  return (id) => tests.some((t) => t(id));
}

/** Steps SFT must not train on: copied context (ATIF `is_copied_context`) and non-LLM dispatch (`llm_call_count: 0`). */
function notForTraining(step: AtifStep): boolean {
  return step.is_copied_context === true || (step.source === 'agent' && step.llm_call_count === 0);
}

function tokenData(step: AtifStep): Record<string, number[]> | undefined {
  const m = step.metrics;
  if (!m) return undefined;
  const out: Record<string, number[]> = {};
  if (m.completion_token_ids?.length) out.token_ids = m.completion_token_ids;
  if (m.logprobs?.length) out.logprobs = m.logprobs;
  if (m.prompt_token_ids?.length) out.prompt_token_ids = m.prompt_token_ids;
  return Object.keys(out).length ? out : undefined;
}

/** Drop what follows the last assistant turn: a training example ends with what the model said. */
function endAtLastAssistant(turns: ChatTurn[]): ChatTurn[] {
  let last = -1;
  turns.forEach((t, i) => {
    if (t.message.role === 'assistant') last = i;
  });
  return turns.slice(0, last + 1);
}

/**
 * One OpenAI chat fine-tuning example: `{messages, tools?, parallel_tool_calls?}`. Assistant
 * turns from steps SFT must not learn from keep their place as context with `weight: 0`.
 */
export function toOpenAiExample(t: Trajectory, includeTokens: boolean): Record<string, unknown> | string {
  const turns = endAtLastAssistant(trajectoryToChatTurns(t));
  if (!turns.some((x) => x.message.role === 'assistant' && !notForTraining(x.step))) return 'no assistant message to train on';
  const messages = turns.map(({ message, step }) => {
    if (message.role !== 'assistant') return message;
    const out: Record<string, unknown> = { ...message };
    if (notForTraining(step)) out.weight = 0;
    const tokens = includeTokens ? tokenData(step) : undefined;
    if (tokens) out[TOKENS_KEY] = tokens;
    return out;
  });
  const example: Record<string, unknown> = { messages };
  const tools = t.agent.tool_definitions ?? [];
  if (tools.length) example.tools = tools;
  if (turns.some((x) => x.message.role === 'assistant' && (x.message.tool_calls?.length ?? 0) > 1)) example.parallel_tool_calls = true;
  return example;
}

interface ShareGptTurn {
  from: 'system' | 'human' | 'gpt' | 'function_call' | 'observation';
  value: string;
  [TOKENS_KEY]?: Record<string, number[]>;
}

const ODD = new Set(['human', 'observation']);

function parseArgs(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/**
 * One ShareGPT example as LLaMA-Factory reads it: `{conversations, tools}`. Its converter wants
 * an optional leading `system` turn, then human/observation turns at odd positions and
 * gpt/function_call turns at even ones, ending on an even one; `function_call`'s value is
 * `{"name", "arguments"}` as JSON, or a JSON list of them for parallel calls, and `tools` is a
 * JSON string of the functions' schemas. So: parallel results are one `observation` (a JSON list
 * of the contents when there are several), text an assistant wrote beside its tool calls is not
 * kept (the function_call slot holds the calls only), later system messages become human turns,
 * consecutive turns of the same side are merged, and steps SFT must not learn from are left out.
 */
export function toShareGptExample(t: Trajectory, includeTokens: boolean): Record<string, unknown> | string {
  const turns: ShareGptTurn[] = [];
  let pendingResults: string[] = [];
  const flush = () => {
    if (!pendingResults.length) return;
    turns.push({ from: 'observation', value: pendingResults.length === 1 ? pendingResults[0]! : JSON.stringify(pendingResults) });
    pendingResults = [];
  };
  for (const { message, step } of trajectoryToChatTurns(t)) {
    if (notForTraining(step)) continue;
    if (message.role === 'tool') {
      pendingResults.push(message.content);
      continue;
    }
    flush();
    const turn = shareGptTurn(message, turns.length === 0);
    const tokens = includeTokens && message.role === 'assistant' ? tokenData(step) : undefined;
    if (tokens) turn[TOKENS_KEY] = tokens;
    turns.push(turn);
  }
  flush();
  const conversations = alternate(turns);
  if (!conversations.some((x) => !ODD.has(x.from) && x.from !== 'system')) return 'no assistant message to train on';
  const tools = (t.agent.tool_definitions ?? []).map((d: ToolDefinition) => d.function);
  return { conversations, tools: JSON.stringify(tools) };
}

function shareGptTurn(message: ChatMessage, first: boolean): ShareGptTurn {
  switch (message.role) {
    case 'system':
      return { from: first ? 'system' : 'human', value: message.content };
    case 'user':
      return { from: 'human', value: message.content };
    case 'assistant': {
      const calls = (message.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: parseArgs(c.function.arguments) }));
      if (!calls.length) return { from: 'gpt', value: message.content ?? '' };
      return { from: 'function_call', value: JSON.stringify(calls.length === 1 ? calls[0] : calls) };
    }
    case 'tool':
      return { from: 'observation', value: message.content };
  }
}

/** Enforce LLaMA-Factory's alternation: merge same-side neighbours, start on a human turn, end on an assistant one. */
function alternate(turns: ShareGptTurn[]): ShareGptTurn[] {
  const system = turns[0]?.from === 'system' ? [turns[0]] : [];
  const out: ShareGptTurn[] = [];
  for (const turn of turns.slice(system.length)) {
    const odd = ODD.has(turn.from);
    if (!out.length && !odd) continue; // an assistant turn with nothing before it has no prompt
    const prev = out[out.length - 1];
    if (!prev || ODD.has(prev.from) !== odd) {
      out.push({ ...turn });
      continue;
    }
    if (odd || (prev.from === 'gpt' && turn.from === 'gpt')) prev.value = `${prev.value}\n\n${turn.value}`;
    else if (turn.from === 'function_call' || prev.from === 'function_call') {
      const calls = (x: ShareGptTurn): unknown[] => {
        if (x.from !== 'function_call') return [];
        const v = JSON.parse(x.value) as unknown;
        return Array.isArray(v) ? v : [v];
      };
      const all = [...calls(prev), ...calls(turn)];
      prev.from = 'function_call';
      prev.value = JSON.stringify(all.length === 1 ? all[0] : all);
    }
    if (turn[TOKENS_KEY]) prev[TOKENS_KEY] = turn[TOKENS_KEY];
  }
  while (out.length && ODD.has(out[out.length - 1]!.from)) out.pop();
  return [...system, ...out];
}

/** The trial's trajectory.json (or, as Harbor lays trials out, agent/trajectory.json). */
function trajectoryPath(trialDir: string): string | undefined {
  for (const rel of ['trajectory.json', nodePath.join('agent', 'trajectory.json')]) {
    const p = nodePath.join(trialDir, rel);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Write the trials' trajectories as SFT JSONL; see {@link SftExportOptions}. */
export function exportSft(options: SftExportOptions): SftExportResult {
  const { trials, missing } = findTrialFolders(options.runs);
  const skipped: SftExportResult['skipped'] = missing.map((p) => ({ path: p, reason: 'not a folder' }));
  const wantTask = options.tasks?.length ? taskMatcher(options.tasks) : undefined;
  const lines: string[] = [];
  for (const dir of trials) {
    const skip = (reason: string) => skipped.push({ path: dir, reason });
    const result = readJson(nodePath.join(dir, 'result.json')) as TrialInfo;
    if (wantTask && !wantTask(result.taskId)) {
      skip(`task ${result.taskId} not selected`);
      continue;
    }
    if (options.minReward !== undefined && !(result.reward >= options.minReward)) {
      skip(`reward ${result.reward} is below ${options.minReward}`);
      continue;
    }
    if (options.onlySolved && result.solved !== true) {
      skip(`not solved (status ${result.status}, reward ${result.reward})`);
      continue;
    }
    const path = trajectoryPath(dir);
    if (!path) {
      skip('no trajectory.json');
      continue;
    }
    let trajectory: unknown;
    try {
      trajectory = readJson(path);
    } catch (e) {
      skip(`trajectory.json is not JSON: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const errors = validateTrajectory(trajectory);
    if (errors.length) {
      skip(`trajectory.json is not valid ATIF: ${errors.slice(0, 3).join('; ')}${errors.length > 3 ? ` (and ${errors.length - 3} more)` : ''}`);
      continue;
    }
    const t = trajectory as Trajectory;
    const example = options.format === 'openai' ? toOpenAiExample(t, !!options.includeTokens) : toShareGptExample(t, !!options.includeTokens);
    if (typeof example === 'string') {
      skip(example);
      continue;
    }
    lines.push(JSON.stringify(example));
  }
  const out = nodePath.resolve(options.out);
  fs.mkdirSync(nodePath.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, lines.map((l) => `${l}\n`).join(''));
  fs.renameSync(tmp, out);
  return { written: lines.length, skipped };
}

/**
 * argv -> a parsed command, or a usage error. No I/O here, so every case is unit-testable.
 */
import { parseArgs } from 'node:util';
import { didYouMean } from '../../core/src/language/suggest';
import { parseDuration, parseSize } from '../../core/src/run/load';
import { BACKEND_CHOICES, type BackendChoice } from '../../core/src/sandbox/select';
import { isLoopbackHost } from '../../core/src/modelserver/server';
import { usesModel, type RunOptions } from './run';

/** The model-driven agents' model and limits (the built-in agent's, and the black-box agents' model). */
const MODEL_FLAGS = {
  model: { type: 'string', short: 'm' },
  'base-url': { type: 'string' },
  'api-key-env': { type: 'string' },
  'model-script': { type: 'string' },
  temperature: { type: 'string' },
  'max-tokens': { type: 'string' },
  'max-steps': { type: 'string' },
  'max-total-tokens': { type: 'string' },
  'max-cost': { type: 'string' },
  price: { type: 'string' },
  logprobs: { type: 'boolean' },
  'no-stream': { type: 'boolean' },
  // per-trial caps of what the model and the tools send back (run/limits.ts)
  'max-reply-bytes': { type: 'string' },
  'max-reply-tokens': { type: 'string' },
  'max-observation': { type: 'string' },
  'max-trajectory-bytes': { type: 'string' },
} as const;

/** The flags that only mean something to model-driven agents. */
const MODEL_FLAG_NAMES = Object.keys(MODEL_FLAGS) as (keyof typeof MODEL_FLAGS)[];

const RUN_FLAGS = {
  agent: { type: 'string', short: 'a' },
  backend: { type: 'string' },
  image: { type: 'string' },
  concurrency: { type: 'string', short: 'j' },
  attempts: { type: 'string', short: 'k' },
  'runs-dir': { type: 'string' },
  'no-save': { type: 'boolean' },
  'fresh-grading': { type: 'boolean' },
  timeout: { type: 'string' },
  cpus: { type: 'string' },
  memory: { type: 'string' },
  pids: { type: 'string' },
  json: { type: 'boolean' },
  'max-event-bytes': { type: 'string' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...MODEL_FLAGS,
  // the replay agent's recording
  trajectory: { type: 'string' },
} as const;

const CONVERT_FLAGS = {
  out: { type: 'string', short: 'o' },
  overwrite: { type: 'boolean' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `export sft`: trial trajectories to fine-tuning JSONL. */
const SFT_FLAGS = {
  out: { type: 'string', short: 'o' },
  format: { type: 'string' },
  'min-reward': { type: 'string' },
  task: { type: 'string', multiple: true },
  solved: { type: 'boolean' },
  tokens: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ExportSftCommand {
  kind: 'export-sft';
  runs: string[];
  out: string;
  format: 'openai' | 'sharegpt';
  minReward?: number;
  tasks: string[];
  onlySolved: boolean;
  includeTokens: boolean;
}

/** `clawgym export sft <runs...> --out FILE [--format openai|sharegpt] [--min-reward X] [--task ID]... [--solved] [--tokens]` */
function parseExportSft(args: readonly string[]): ParseResult {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: SFT_FLAGS, strict: true, allowPositionals: true });
  } catch (e) {
    return usageError(e, Object.keys(SFT_FLAGS), 'export');
  }
  const v = parsed.values;
  if (v.help) return { ok: true, command: { kind: 'help', topic: 'export' } };
  const fail = (message: string): ParseResult => ({ ok: false, message, helpTopic: 'export' });
  if (!parsed.positionals.length) return fail('`export sft` needs run folders (or trial folders, or folders of runs)');
  if (!v.out) return fail('`export sft` needs `--out <file.jsonl>`');
  const format = v.format ?? 'openai';
  if (format !== 'openai' && format !== 'sharegpt') return fail(`unknown \`export sft\` format \`${format}\`; use \`openai\` or \`sharegpt\``);
  let minReward: number | undefined;
  if (v['min-reward'] !== undefined) {
    minReward = Number(v['min-reward']);
    if (v['min-reward'].trim() === '' || !Number.isFinite(minReward)) return fail(`\`--min-reward\` needs a number, not \`${v['min-reward']}\``);
  }
  const command: ExportSftCommand = { kind: 'export-sft', runs: parsed.positionals, out: v.out, format, tasks: v.task ?? [], onlySolved: !!v.solved, includeTokens: !!v.tokens };
  if (minReward !== undefined) command.minReward = minReward;
  return { ok: true, command };
}

const IMAGE_FLAGS = {
  tag: { type: 'string' },
  agent: { type: 'string' },
  method: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const MODEL_SERVE_FLAGS = {
  script: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const GC_FLAGS = {
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const;

function positiveNumber(value: string, name: string): number | string {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return `\`--${name}\` needs a positive number, not \`${value}\``;
  return n;
}

/** The built-in agent's flags; undefined when none was given, a message when one is wrong. */
function parseModelFlags(v: Partial<Record<keyof typeof MODEL_FLAGS, string | boolean>>): NonNullable<RunOptions['model']> | undefined | string {
  if (!MODEL_FLAG_NAMES.some((f) => v[f] !== undefined)) return undefined;
  const m: NonNullable<RunOptions['model']> = { flags: {}, limits: {} };
  if (typeof v.model === 'string') m.flags.model = v.model;
  if (typeof v['base-url'] === 'string') m.flags.baseUrl = v['base-url'];
  if (typeof v['api-key-env'] === 'string') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v['api-key-env'])) return `\`--api-key-env\` takes the name of an environment variable (the key itself is never a flag), not \`${v['api-key-env']}\``;
    m.flags.apiKeyEnv = v['api-key-env'];
  }
  if (typeof v['model-script'] === 'string') {
    if (v.model !== undefined || v['base-url'] !== undefined) return '`--model-script` starts the bundled scripted model server: it cannot go with `--model` or `--base-url`';
    m.script = v['model-script'];
  }
  if (typeof v.temperature === 'string') {
    const t = Number(v.temperature);
    if (!Number.isFinite(t) || t < 0 || t > 2) return `\`--temperature\` needs a number from 0 to 2, not \`${v.temperature}\``;
    m.flags.temperature = t;
  }
  for (const [flag, key] of [['max-tokens', 'maxTokens'], ['max-steps', 'maxSteps'], ['max-total-tokens', 'maxTotalTokens']] as const) {
    const raw = v[flag];
    if (typeof raw !== 'string') continue;
    const n = positiveInt(raw, flag, 0);
    if (typeof n === 'string') return n;
    if (key === 'maxTokens') m.flags.maxTokens = n;
    else m.limits[key] = n;
  }
  if (typeof v['max-cost'] === 'string') {
    const c = positiveNumber(v['max-cost'], 'max-cost');
    if (typeof c === 'string') return c;
    m.limits.maxCostUsd = c;
  }
  if (typeof v.price === 'string') {
    const parts = v.price.split(',').map(Number);
    if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x) || x < 0)) return `\`--price\` takes USD per million input and output tokens as \`IN,OUT\` (e.g. 0.4,1.6), not \`${v.price}\``;
    m.flags.pricing = { inputPerMTok: parts[0]!, outputPerMTok: parts[1]! };
  }
  if (v.logprobs) m.flags.logprobs = true;
  if (v['no-stream']) m.stream = false;
  for (const [flag, key, min] of [['max-reply-bytes', 'maxReplyBytes', 1024], ['max-trajectory-bytes', 'maxTrajectoryBytes', 64 * 1024]] as const) {
    const raw = v[flag];
    if (typeof raw !== 'string') continue;
    const n = sizeFlag(raw, flag, min);
    if (typeof n === 'string') return n;
    m.limits[key] = n;
  }
  for (const [flag, key, min] of [['max-reply-tokens', 'maxReplyTokens', 16], ['max-observation', 'maxObservationChars', 200]] as const) {
    const raw = v[flag];
    if (typeof raw !== 'string') continue;
    const n = positiveInt(raw, flag, 0);
    if (typeof n === 'string') return n;
    if (n < min) return `\`--${flag}\` needs at least ${min}, not \`${raw}\``;
    m.limits[key] = n;
  }
  return m;
}

/** A size flag (`65536`, `64k`, `16m`) of at least `min` bytes. */
function sizeFlag(raw: string, flag: string, min: number): number | string {
  let n: number;
  try {
    n = parseSize(/^\d+$/.test(raw) ? Number(raw) : raw);
  } catch {
    return `\`--${flag}\` needs a size (e.g. 65536, 64k, 16m), not \`${raw}\``;
  }
  if (!Number.isFinite(n) || n < min) return `\`--${flag}\` needs at least ${min} bytes, not \`${raw}\``;
  return n;
}

/** The default folder run folders go under (relative to the working directory). */
export const DEFAULT_RUNS_DIR = 'runs';

function positiveInt(value: string | undefined, name: string, fallback: number): number | string {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) return `\`--${name}\` needs a whole number of 1 or more, not \`${value}\``;
  return n;
}

export const COMMAND_NAMES = ['validate', 'run', 'check', 'import', 'export', 'image', 'gc', 'model', 'schema', 'help'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const SCHEMA_NAMES = ['clawtask', 'data-entry'] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

export interface ValidateOptions {
  json: boolean;
  quiet: boolean;
  strict: boolean;
  /** `undefined`: decide from the terminal and NO_COLOR. */
  color?: boolean;
}

export type Command =
  | { kind: 'help'; topic?: CommandName }
  | { kind: 'version' }
  | { kind: 'validate'; paths: string[]; options: ValidateOptions }
  | { kind: 'run' | 'check'; paths: string[]; options: RunOptions }
  | { kind: 'import'; paths: string[]; out: string; overwrite: boolean }
  | { kind: 'export'; paths: string[]; out: string; overwrite: boolean; format: 'clawgym' }
  | ExportSftCommand
  | { kind: 'image-build'; tag?: string; method: 'auto' | 'dockerfile' | 'debootstrap'; force: boolean; agent?: 'openclaw' }
  | { kind: 'gc'; all: boolean; dryRun: boolean }
  | { kind: 'model-serve'; script: string; host: string; port: number; json: boolean }
  | { kind: 'schema'; name: SchemaName };

export type ParseResult = { ok: true; command: Command } | { ok: false; message: string; helpTopic?: CommandName };

const VALIDATE_FLAGS = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  strict: { type: 'boolean' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP_ONLY = { help: { type: 'boolean', short: 'h' } } as const;

const GLOBAL_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

function isCommand(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

/** Rewrites node's parseArgs errors into one short sentence with a did-you-mean. */
function usageError(err: unknown, known: readonly string[], topic?: CommandName): ParseResult {
  const raw = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const option = /'([^']+)'/.exec(raw)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const name = option.replace(/^-+/, '');
    const suggestion = didYouMean(name, known);
    const where = topic ? ` for \`${topic}\`` : '';
    return { ok: false, message: `unknown option \`${option}\`${where}${suggestion ? `; did you mean \`--${suggestion}\`?` : ''}`, ...(topic ? { helpTopic: topic } : {}) };
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return { ok: false, message: `option \`${option}\` takes no value`, ...(topic ? { helpTopic: topic } : {}) };
  }
  return { ok: false, message: raw.split('\n')[0]!, ...(topic ? { helpTopic: topic } : {}) };
}

/** Parse the arguments after `clawgym` (i.e. `process.argv.slice(2)`). */
export function parseCommandLine(argv: readonly string[]): ParseResult {
  // The command is the first argument that is not an option; options before it are global.
  const cmdIndex = argv.findIndex((a) => !a.startsWith('-') || a === '-');
  const globalArgs = cmdIndex === -1 ? argv : argv.slice(0, cmdIndex);
  if (globalArgs.includes('--')) return { ok: false, message: 'expected a command before `--`' };
  let globals: { help?: boolean; version?: boolean };
  try {
    globals = parseArgs({ args: [...globalArgs], options: GLOBAL_FLAGS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    return usageError(e, Object.keys(GLOBAL_FLAGS));
  }
  if (cmdIndex === -1) {
    if (globals.version && !globals.help) return { ok: true, command: { kind: 'version' } };
    return { ok: true, command: { kind: 'help' } };
  }
  if (globals.version) return { ok: true, command: { kind: 'version' } };

  const name = argv[cmdIndex]!;
  const rest = argv.slice(cmdIndex + 1);
  if (!isCommand(name)) {
    const suggestion = didYouMean(name, COMMAND_NAMES);
    return { ok: false, message: `unknown command \`${name}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ''}` };
  }
  if (globals.help) return { ok: true, command: { kind: 'help', topic: name } };

  switch (name) {
    case 'help': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: HELP_ONLY, strict: true, allowPositionals: true });
      } catch (e) {
        return usageError(e, Object.keys(HELP_ONLY), 'help');
      }
      const topic = parsed.positionals[0];
      if (topic === undefined) return { ok: true, command: { kind: 'help' } };
      if (parsed.positionals.length > 1) return { ok: false, message: '`help` takes at most one command name', helpTopic: 'help' };
      if (!isCommand(topic)) {
        const suggestion = didYouMean(topic, COMMAND_NAMES);
        return { ok: false, message: `unknown command \`${topic}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ''}` };
      }
      return { ok: true, command: { kind: 'help', topic } };
    }
    case 'schema': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: HELP_ONLY, strict: true, allowPositionals: true });
      } catch (e) {
        return usageError(e, Object.keys(HELP_ONLY), 'schema');
      }
      if (parsed.values.help) return { ok: true, command: { kind: 'help', topic: 'schema' } };
      if (parsed.positionals.length > 1) return { ok: false, message: '`schema` takes at most one schema name', helpTopic: 'schema' };
      const which = parsed.positionals[0] ?? 'clawtask';
      if (!(SCHEMA_NAMES as readonly string[]).includes(which)) {
        return { ok: false, message: `unknown schema \`${which}\`; use one of ${SCHEMA_NAMES.map((s) => `\`${s}\``).join(', ')}`, helpTopic: 'schema' };
      }
      return { ok: true, command: { kind: 'schema', name: which as SchemaName } };
    }
    case 'run':
    case 'check': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: RUN_FLAGS, strict: true, allowPositionals: true });
      } catch (e) {
        return usageError(e, Object.keys(RUN_FLAGS), name);
      }
      const v = parsed.values;
      if (v.help) return { ok: true, command: { kind: 'help', topic: name } };
      const fail = (message: string): ParseResult => ({ ok: false, message, helpTopic: name });
      if (v.color && v['no-color']) return fail('`--color` and `--no-color` contradict each other');
      if (!parsed.positionals.length) return fail(`\`${name}\` needs at least one task: a .clawtask file, a ClawGym task directory, or a folder of them`);
      if (name === 'check' && v.agent) return fail('`check` always runs the oracle and nop agents; `--agent` is for `run`');
      const backend = (v.backend ?? 'auto') as BackendChoice;
      if (!BACKEND_CHOICES.includes(backend)) return fail(`unknown backend \`${v.backend}\`; use one of ${BACKEND_CHOICES.map((b) => `\`${b}\``).join(', ')}`);
      const concurrency = positiveInt(v.concurrency, 'concurrency', 1);
      if (typeof concurrency === 'string') return fail(concurrency);
      const attempts = positiveInt(v.attempts, 'attempts', 1);
      if (typeof attempts === 'string') return fail(attempts);
      if (name === 'check') {
        const stray = MODEL_FLAG_NAMES.find((f) => v[f] !== undefined);
        if (stray) return fail(`\`--${stray}\` is for \`run\` with the built-in agent; \`check\` runs the oracle and nop agents`);
      }
      const options: RunOptions = {
        agent: v.agent ?? 'builtin',
        backend,
        concurrency,
        attempts,
        runsDir: v['no-save'] ? undefined : v['runs-dir'] ?? DEFAULT_RUNS_DIR,
        json: !!v.json,
      };
      if (v['no-save'] && v['runs-dir']) return fail('`--no-save` and `--runs-dir` contradict each other');
      if (v['max-event-bytes'] !== undefined) {
        const n = sizeFlag(v['max-event-bytes'], 'max-event-bytes', 4096);
        if (typeof n === 'string') return fail(n);
        options.maxEventBytes = n;
      }
      if (v.image) options.image = v.image;
      if (v['fresh-grading']) options.freshGrading = true;
      if (v.color) options.color = true;
      if (v['no-color']) options.color = false;
      const resources: NonNullable<RunOptions['resources']> = {};
      try {
        if (v.timeout !== undefined) options.agentTimeoutMs = parseDuration(/^\d+(\.\d+)?$/.test(v.timeout) ? Number(v.timeout) : v.timeout);
        if (v.memory !== undefined) resources.memoryBytes = parseSize(/^\d+$/.test(v.memory) ? Number(v.memory) : v.memory);
      } catch (e) {
        return fail((e as Error).message);
      }
      if (v.cpus !== undefined) {
        const c = Number(v.cpus);
        if (!(c > 0)) return fail(`\`--cpus\` needs a positive number, not \`${v.cpus}\``);
        resources.cpus = c;
      }
      if (v.pids !== undefined) {
        const p = positiveInt(v.pids, 'pids', 0);
        if (typeof p === 'string') return fail(p);
        resources.pids = p;
      }
      if (Object.keys(resources).length) options.resources = resources;
      if (options.agent === 'replay') {
        if (!v.trajectory) return fail('`--agent replay` needs `--trajectory PATH`: a trajectory.json, a trial folder or a run folder');
        options.replay = v.trajectory;
      } else if (v.trajectory) return fail('`--trajectory` is for `--agent replay`');
      const model = parseModelFlags(v);
      if (typeof model === 'string') return fail(model);
      if (model) {
        if (!usesModel(options.agent)) {
          return fail(`the model flags are for model-driven agents (\`--agent builtin\`, the default), not \`${options.agent}\``);
        }
        options.model = model;
      }
      return { ok: true, command: { kind: name, paths: parsed.positionals, options } };
    }
    case 'import':
    case 'export': {
      // `export sft ...` is its own command; `export <tasks> --out D` stays as it was.
      if (name === 'export' && rest[0] === 'sft') return parseExportSft(rest.slice(1));
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: CONVERT_FLAGS, strict: true, allowPositionals: true });
      } catch (e) {
        return usageError(e, Object.keys(CONVERT_FLAGS), name);
      }
      const v = parsed.values;
      if (v.help) return { ok: true, command: { kind: 'help', topic: name } };
      const fail = (message: string): ParseResult => ({ ok: false, message, helpTopic: name });
      if (!parsed.positionals.length) return fail(name === 'import' ? '`import` needs a ClawGym split folder (or task directories)' : '`export` needs .clawtask files or folders of them');
      if (!v.out) return fail(`\`${name}\` needs \`--out <dir>\``);
      if (name === 'import') {
        if (v.format !== undefined && v.format !== 'clawgym') return fail(`\`import\` reads the ClawGym format only, not \`${v.format}\``);
        return { ok: true, command: { kind: 'import', paths: parsed.positionals, out: v.out, overwrite: !!v.overwrite } };
      }
      const format = v.format ?? 'clawgym';
      if (format !== 'clawgym') return fail(`unknown export format \`${format}\`; use \`clawgym\``);
      return { ok: true, command: { kind: 'export', paths: parsed.positionals, out: v.out, overwrite: !!v.overwrite, format } };
    }
    case 'image': {
      const [sub, ...subRest] = rest;
      if (sub === undefined || sub === '--help' || sub === '-h') return { ok: true, command: { kind: 'help', topic: 'image' } };
      if (sub !== 'build') return { ok: false, message: `unknown \`image\` command \`${sub}\`; use \`clawgym image build\``, helpTopic: 'image' };
      let parsed;
      try {
        parsed = parseArgs({ args: subRest, options: IMAGE_FLAGS, strict: true, allowPositionals: false });
      } catch (e) {
        return usageError(e, Object.keys(IMAGE_FLAGS), 'image');
      }
      const v = parsed.values;
      if (v.help) return { ok: true, command: { kind: 'help', topic: 'image' } };
      const method = v.method ?? 'auto';
      if (method !== 'auto' && method !== 'dockerfile' && method !== 'debootstrap') return { ok: false, message: `unknown method \`${method}\`; use auto, dockerfile or debootstrap`, helpTopic: 'image' };
      if (v.agent !== undefined && v.agent !== 'openclaw') return { ok: false, message: `unknown agent image \`${v.agent}\`; use \`--agent openclaw\` (OpenClaw and Qwen Code)`, helpTopic: 'image' };
      if (v.agent && v.method) return { ok: false, message: '`--method` is for the sandbox image; `--agent openclaw` installs from the npm registry', helpTopic: 'image' };
      return { ok: true, command: { kind: 'image-build', tag: v.tag, method, force: !!v.force, ...(v.agent ? { agent: v.agent } : {}) } };
    }
    case 'model': {
      // `clawgym model serve`: the scripted OpenAI-compatible model server.
      const [sub, ...subRest] = rest;
      if (sub === undefined || sub === '--help' || sub === '-h') return { ok: true, command: { kind: 'help', topic: 'model' } };
      if (sub !== 'serve') return { ok: false, message: `unknown \`model\` command \`${sub}\`; use \`clawgym model serve\``, helpTopic: 'model' };
      let parsed;
      try {
        parsed = parseArgs({ args: subRest, options: MODEL_SERVE_FLAGS, strict: true, allowPositionals: false });
      } catch (e) {
        return usageError(e, Object.keys(MODEL_SERVE_FLAGS), 'model');
      }
      const v = parsed.values;
      if (v.help) return { ok: true, command: { kind: 'help', topic: 'model' } };
      const fail = (message: string): ParseResult => ({ ok: false, message, helpTopic: 'model' });
      if (!v.script) return fail('`model serve` needs `--script FILE` (a JSON or YAML model script)');
      const port = v.port === undefined ? 0 : Number(v.port);
      if (!/^\d+$/.test(v.port ?? '0') || port > 65535) return fail(`\`--port\` needs a port number from 0 to 65535 (0: any free port), not \`${v.port}\``);
      const host = v.host ?? '127.0.0.1';
      if (!isLoopbackHost(host)) return fail(`\`--host\` must be a loopback address (127.0.0.1, ::1, localhost), not \`${host}\`: the model server is for this machine only`);
      return { ok: true, command: { kind: 'model-serve', script: v.script, host, port, json: !!v.json } };
    }
    case 'gc': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: GC_FLAGS, strict: true, allowPositionals: false });
      } catch (e) {
        return usageError(e, Object.keys(GC_FLAGS), 'gc');
      }
      if (parsed.values.help) return { ok: true, command: { kind: 'help', topic: 'gc' } };
      return { ok: true, command: { kind: 'gc', all: !!parsed.values.all, dryRun: !!parsed.values['dry-run'] } };
    }
    case 'validate': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: VALIDATE_FLAGS, strict: true, allowPositionals: true });
      } catch (e) {
        return usageError(e, Object.keys(VALIDATE_FLAGS), 'validate');
      }
      const v = parsed.values;
      if (v.help) return { ok: true, command: { kind: 'help', topic: 'validate' } };
      if (v.color && v['no-color']) return { ok: false, message: '`--color` and `--no-color` contradict each other', helpTopic: 'validate' };
      const options: ValidateOptions = { json: !!v.json, quiet: !!v.quiet, strict: !!v.strict };
      if (v.color) options.color = true;
      if (v['no-color']) options.color = false;
      const paths = parsed.positionals.length ? parsed.positionals : ['.'];
      return { ok: true, command: { kind: 'validate', paths, options } };
    }
  }
}

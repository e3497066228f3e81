/**
 * The `.clawtask` format, defined once.
 *
 * Everything else about the format is derived from this file: the committed JSON Schema
 * (`schemas/clawtask.schema.json`), hover documentation, completion items and the required fields
 * that snippets and quick fixes insert. `core/test/schema.test.ts` fails when a derived artefact drifts.
 *
 * Descriptions are written for task authors: they are what hover shows.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Scalars with a grammar of their own

/** `30s`, `15m`, `1h`, `250ms`, or a number of seconds. */
export const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
/** `512m`, `2g`, `1.5GiB`, `100k`, or a number of bytes. */
export const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmgt])?(i?b)?$/i;

export const Duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(DURATION_RE, {
      message: 'Invalid duration: use a number of seconds or a value like 30s, 15m, 1h, 500ms',
    }),
  ])
  .meta({ description: 'A duration: `30s`, `15m`, `1h`, `500ms`, or a number of seconds.', examples: ['30s', '15m', '1h'] });

export const Size = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(SIZE_RE, { message: 'Invalid size: use a number of bytes or a value like 512m, 2g, 1.5GiB' }),
  ])
  .meta({ description: 'A size: `512m`, `2g`, `1.5GiB`, or a number of bytes.', examples: ['512m', '2g'] });

/** A path relative to `workspace.root`. Escapes are reported by the validator with their own codes. */
export const WorkspacePath = z
  .string()
  .min(1)
  .meta({ description: 'A path relative to the workspace root (no leading `/`, no `..`).', format: 'workspace-path' });

/** A path relative to the `.clawtask` file on disk. */
export const TaskFilePath = z
  .string()
  .min(1)
  .meta({ description: 'A path relative to the `.clawtask` file on disk (no leading `/`, no `..`).', format: 'task-path' });

export const TaskId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
    message: 'Invalid id: use letters, digits, `.`, `_` and `-`, starting with a letter or digit',
  })
  .max(200);

// ---------------------------------------------------------------------------------------------
// Workspace

export const FileEntry = z
  .union([
    z.string().meta({ description: 'The file\'s content, inline. `""` makes an empty file.' }),
    z
      .strictObject({
        from: TaskFilePath.meta({
          description: 'Copy the file\'s content from this path, relative to the `.clawtask` file.',
        }),
        mode: z
          .string()
          .regex(/^0?[0-7]{3}$/, { message: 'Invalid mode: use an octal mode like 644 or 0755' })
          .optional()
          .meta({ description: 'Unix permissions in octal, e.g. `755` for a script. Default `644`.' }),
      })
      .meta({ description: 'A file copied from disk.' }),
  ])
  .meta({ description: 'A workspace file: inline text, or `{ from: PATH }` to copy a file from disk.' });

export const Network = z.enum(['none', 'model-only', 'open']).meta({
  description:
    'Network access inside the sandbox. `none` (default): no network at all. `model-only`: only the model endpoint, through the host proxy. `open`: unrestricted.',
});

export const Resources = z
  .strictObject({
    cpus: z.number().positive().optional().meta({ description: 'CPU cores available to the sandbox (fractions allowed).', examples: [1] }),
    memory: Size.optional().meta({ description: 'Memory limit of the sandbox: `512m`, `2g` or bytes.', examples: ['2g'] }),
    pids: z.number().int().positive().optional().meta({ description: 'Maximum number of processes in the sandbox (guards against fork bombs).', examples: [256] }),
  })
  .meta({ description: 'Per-sandbox resource limits. Defaults come from settings.' });

export const Workspace = z
  .strictObject({
    root: z
      .string()
      .regex(/^\//, { message: 'workspace.root must be an absolute path inside the sandbox, e.g. /workspace' })
      .optional()
      .meta({
        description:
          'Where the workspace lives inside the sandbox; the agent starts here. Default `/workspace`. ClawGym tasks use `/root/.openclaw/workspace`.',
        examples: ['/workspace', '/root/.openclaw/workspace'],
      }),
    image: z.string().min(1).optional().meta({
      description: 'The sandbox image. Default comes from the `clawgym.sandbox.image` setting (`clawgym/sandbox:latest`).',
      examples: ['clawgym/sandbox:latest'],
    }),
    files: z.record(z.string(), FileEntry).optional().meta({
      description:
        'The mock workspace: a map from a path relative to the workspace root to the file\'s content (inline text) or `{ from: PATH }` (copied from disk, relative to this file).',
    }),
    from_dir: z
      .union([
        TaskFilePath.meta({ description: 'The folder (relative to this file) whose content is copied into the workspace root.' }),
        z
          .strictObject({
            path: TaskFilePath.meta({ description: 'The folder to copy, relative to this file, e.g. `input_files`.' }),
            to: WorkspacePath.meta({
              description: 'Where the folder\'s content goes, relative to the workspace root, e.g. `input` (ClawGym\'s relative `input_mount_dir`).',
              examples: ['input'],
            }),
          })
          .meta({ description: 'Copy the folder `path` (relative to this file) to `to` under the workspace root.' }),
      ])
      .optional()
      .meta({
        description:
          'Copy a whole folder (relative to this file) into the workspace, byte for byte: empty files and folders, dot-files and file modes included. `from_dir: input_files` copies it to the workspace root; `{ path: input_files, to: input }` copies it to `input/` under the root. Files listed in `files` win over it.',
        examples: ['input_files'],
      }),
    setup: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .meta({ description: 'Shell commands run in the workspace before the agent starts (as root, with the task\'s `env`).', examples: [['mkdir -p output']] }),
    env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional().meta({
      description: 'Environment variables for the setup, the agent\'s commands and the verifier.',
    }),
    network: Network.optional(),
    resources: Resources.optional(),
  })
  .meta({ description: 'The workspace the agent starts in: files, image, setup, environment and limits.' });

// ---------------------------------------------------------------------------------------------
// Agent limits

export const AgentLimits = z
  .strictObject({
    max_steps: z.number().int().positive().optional().meta({ description: 'Maximum number of agent steps (model turns). The run may override it.', examples: [40] }),
    timeout: Duration.optional().meta({ description: 'Wall-clock limit for the agent: `30s`, `15m`, `1h` or seconds.', examples: ['15m'] }),
  })
  .meta({ description: 'Per-task limits for the agent; a run may override them.' });

// ---------------------------------------------------------------------------------------------
// Checks

const JsonType = z.enum(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

/**
 * Check kinds: each entry is the value schema of the kind's key, plus the sibling keys the kind
 * allows next to `id`/`weight`/`description`. The order is the order completion offers them in.
 */
export const CHECK_KINDS = {
  file_exists: {
    value: WorkspacePath.meta({ description: 'Passes when the file exists. A glob (`output/*.csv`) passes when it matches at least one file.' }),
    extras: {},
    summary: 'the file exists (a glob matches at least one file)',
  },
  file_absent: {
    value: WorkspacePath.meta({ description: 'Passes when no file matches the path or glob.' }),
    extras: {},
    summary: 'no file matches',
  },
  file_matches: {
    value: z
      .strictObject({
        path: WorkspacePath,
        pattern: z.string().min(1).meta({ description: 'A regular expression (JavaScript syntax) searched in the file\'s text, in linear time: lookaround and backreferences are not supported.' }),
        flags: z.string().regex(/^[imsu]*$/, { message: 'Invalid flags: use any of i, m, s, u' }).optional().meta({ description: 'Regex flags: `i` (ignore case), `m` (multiline), `s` (dot matches newline), `u` (unicode).' }),
      })
      .meta({ description: 'Passes when the regular expression matches the file\'s text.' }),
    extras: {},
    summary: 'the regex matches the file\'s text',
  },
  file_equals: {
    value: z
      .strictObject({
        path: WorkspacePath,
        text: z.string().optional().meta({ description: 'The expected content, inline.' }),
        from: TaskFilePath.optional().meta({ description: 'A fixture file holding the expected content, relative to this file.' }),
      })
      .meta({ description: 'Passes when the file equals the given text or fixture (a trailing newline is tolerated). Give exactly one of `text` and `from`.' }),
    extras: {},
    summary: 'the file equals the given text or fixture',
  },
  json: {
    value: z
      .strictObject({
        path: WorkspacePath,
        query: z.string().meta({ description: 'A dotted/indexed query into the document, e.g. `results[0].score` or `correlations.sleep_vs_headache`. Empty means the whole document.' }),
        equals: z.unknown().optional().meta({ description: 'The value must equal this (deep equality).' }),
        type: JsonType.optional().meta({ description: 'The value must have this JSON type.' }),
        between: z.tuple([z.number(), z.number()]).optional().meta({ description: 'The value must be a number in `[min, max]`.' }),
      })
      .meta({ description: 'Passes when the JSON (or YAML) value at `query` satisfies the condition (`equals`, `type` or `between`).' }),
    extras: {},
    summary: 'the JSON/YAML value at a query satisfies the condition',
  },
  csv: {
    value: z
      .strictObject({
        path: WorkspacePath,
        columns: z.array(z.string()).optional().meta({ description: 'The header must be exactly these columns, in order.' }),
        rows: z.number().int().nonnegative().optional().meta({ description: 'The number of data rows (header excluded).' }),
        where: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional().meta({ description: 'At least one row has these column values.' }),
      })
      .meta({ description: 'Passes when the CSV has these columns / this many rows / a row matching `where`.' }),
    extras: {},
    summary: 'a CSV has these columns / rows / a matching row',
  },
  command: {
    value: z.string().min(1).meta({ description: 'A shell command run in the workspace after the agent ends. Passes when it exits with `exit_code` (default 0) and, if given, its stdout matches `stdout_matches`.' }),
    extras: {
      exit_code: z.number().int().optional().meta({ description: 'The expected exit code of `command`. Default 0.' }),
      stdout_matches: z.string().optional().meta({ description: 'A regular expression (JavaScript syntax) the command\'s stdout must match, in linear time: lookaround and backreferences are not supported.' }),
    },
    summary: 'a command run after the agent exits as expected',
  },
  python: {
    value: z.string().min(1).meta({ description: 'Python source defining `grade(ws)`, which gets the workspace path and returns a float in [0, 1] or a dict of floats (their mean counts).' }),
    extras: {},
    summary: 'an inline `grade(ws)` returns a score',
  },
} as const;

export type CheckKind = keyof typeof CHECK_KINDS;
export const CHECK_KIND_NAMES = Object.keys(CHECK_KINDS) as CheckKind[];

export const CheckCommon = {
  id: TaskId.meta({ description: 'A stable id, unique in the file. Results, reports and the editor refer to the check by it.' }),
  weight: z.number().nonnegative().optional().meta({ description: 'The check\'s weight in the code score (default 1).' }),
  description: z.string().optional().meta({ description: 'What the check verifies, in words (shown in reports).' }),
  timeout: Duration.optional().meta({ description: 'Time limit for this check (default: the verifier\'s timeout).' }),
};

/** One strict object schema per kind: common keys, the kind key and its extras. */
export const CHECK_VARIANTS = Object.fromEntries(
  CHECK_KIND_NAMES.map((kind) => [
    kind,
    z
      .strictObject({ ...CheckCommon, [kind]: CHECK_KINDS[kind].value, ...CHECK_KINDS[kind].extras })
      .meta({ title: kind, description: `Check: passes when ${CHECK_KINDS[kind].summary}.` }),
  ]),
) as unknown as Record<CheckKind, z.ZodObject>;

export const Check = z
  .union(CHECK_KIND_NAMES.map((k) => CHECK_VARIANTS[k]) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]])
  .meta({ description: 'A deterministic check: an `id` and exactly one check kind (`file_exists`, `file_matches`, `json`, `csv`, `command`, `python`, …).' });

export const RubricItem = z
  .strictObject({
    id: TaskId.meta({ description: 'A stable id, unique in the file.' }),
    file: WorkspacePath.optional().meta({ description: 'The file the judge reads (relative to the workspace root). Omit to judge the final reply.' }),
    criterion: z.string().min(1).meta({ description: 'What the judge looks for, in words. Scored 0, 0.25, 0.5, 0.75 or 1.' }),
    scores: z
      .partialRecord(z.enum(['0', '0.25', '0.5', '0.75', '1']), z.string())
      .optional()
      .meta({ description: 'Optional descriptions of the five score bands (ClawGym rubric rules).' }),
    weight: z.number().nonnegative().optional().meta({ description: 'The item\'s weight in the rubric score (default 1).' }),
  })
  .meta({ description: 'An LLM-judged criterion.' });

export const Verifier = z
  .strictObject({
    timeout: Duration.optional().meta({ description: 'Time limit for the whole verifier: `30s`, `2m` or seconds. Default `2m`.', examples: ['2m'] }),
    pass_threshold: z.number().min(0).max(1).optional().meta({ description: 'A reward at or above this counts as solved. Default `1.0`.', examples: [1] }),
    checks: z.array(Check).optional().meta({ description: 'Deterministic checks, each with a stable `id`. The code score is their weighted mean.' }),
    reward_script: TaskFilePath.optional().meta({
      description:
        'A ClawGym-compatible reward script (relative to this file), e.g. `reward/reward.sh`. Its whole folder is copied to `<root>/reward` after the agent ends; the last line of its stdout is the reward. It counts as one weighted check.',
      examples: ['reward/reward.sh'],
    }),
    reward_weight: z.number().nonnegative().optional().meta({ description: 'The weight of the reward script among the checks (default 1).' }),
    rubric: z.array(RubricItem).optional().meta({ description: 'LLM-judged criteria, each scored 0/0.25/0.5/0.75/1. With a rubric, reward = `weights.code × code + weights.rubric × rubric`.' }),
    weights: z
      .strictObject({
        code: z.number().min(0).max(1).meta({ description: 'Weight of the code score.' }),
        rubric: z.number().min(0).max(1).meta({ description: 'Weight of the rubric score.' }),
      })
      .optional()
      .meta({ description: 'The hybrid blend of code and rubric scores. Default `{ code: 0.7, rubric: 0.3 }` with a rubric, code only without.' }),
  })
  .meta({ description: 'How success is checked: deterministic checks, a ClawGym reward script and/or an LLM rubric.' });

export const Solution = z
  .strictObject({
    script: z.string().min(1).optional().meta({ description: 'A shell script run in the workspace by the oracle agent.' }),
    from: TaskFilePath.optional().meta({ description: 'A script file (relative to this file) run by the oracle agent, e.g. `solution/solve.sh`.' }),
  })
  .meta({ description: 'The reference solution, run by the `oracle` agent. Give exactly one of `script` and `from`. It must score 1.' });

// ---------------------------------------------------------------------------------------------
// The task

export const TASK_FORMAT_VERSION = 1;

export const Task = z
  .strictObject({
    version: z.literal(TASK_FORMAT_VERSION).meta({ description: 'The format version. Always `1`.' }),
    id: TaskId.meta({ description: 'The task\'s id (ClawGym `task_id`): letters, digits, `.`, `_`, `-`.', examples: ['pcs-symptom-trends'] }),
    title: z.string().optional().meta({ description: 'A one-line title shown in lists and reports.' }),
    persona: z.string().optional().meta({ description: 'Who is asking: the persona the task was written for (used by synthesis and reports).' }),
    category: z.string().optional().meta({ description: 'Free text, `macro/sub` by convention, e.g. `analysis/personal-health`.', examples: ['analysis/personal-health'] }),
    skills: z.array(z.string()).optional().meta({ description: 'Skills the task exercises, e.g. `[csv, python-cli]`.' }),
    difficulty: z.enum(['easy', 'medium', 'hard']).optional().meta({ description: 'How hard the task is: `easy`, `medium` or `hard`.' }),
    metadata: z.record(z.string(), z.unknown()).optional().meta({ description: 'Free-form data kept as is (imports put the ClawGym authors\' metadata here). Not validated.' }),
    intent: z.string().min(1).meta({ description: 'The user\'s message, given to the agent verbatim (ClawGym `user_query`).' }),
    workspace: Workspace.optional(),
    agent: AgentLimits.optional(),
    verifier: Verifier,
    solution: Solution.optional(),
  })
  .meta({ title: 'ClawGym task', description: 'A ClawGym task: what the user asks, the workspace the agent starts in, how success is checked, and a reference solution.' });

export type TaskInput = z.input<typeof Task>;
export type TaskModel = z.output<typeof Task>;

export const DEFAULT_WORKSPACE_ROOT = '/workspace';
export const CLAWGYM_WORKSPACE_ROOT = '/root/.openclaw/workspace';
export const DEFAULT_IMAGE = 'clawgym/sandbox:latest';

/** Keys (at any object level) that are kept for tools and never reported as unknown. */
export function isExtensionKey(key: string): boolean {
  return key.startsWith('x-');
}

/** The JSON Schema derived from {@link Task}: committed as `schemas/clawtask.schema.json`. */
export function taskJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Task, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  allowExtensionKeys(schema);
  return {
    $schema: schema.$schema,
    $id: 'https://clawgym.dev/schemas/clawtask.schema.json',
    ...schema,
  };
}

/** `x-` keys are allowed next to every closed object, as the validator allows them. */
function allowExtensionKeys(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(allowExtensionKeys);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  if (obj.type === 'object' && obj.additionalProperties === false) obj.patternProperties = { '^x-': {} };
  for (const v of Object.values(obj)) allowExtensionKeys(v);
}

/**
 * The extension's settings, defined once (rust-analyzer style).
 *
 * `package.json`'s `contributes.configuration` is derived from this table: `npm run gen` rewrites it
 * and the artefact drift test fails when the manifest and this file disagree. The server and the CLI
 * read settings through {@link resolveSettings}, so a missing or malformed value falls back to its
 * default instead of breaking a feature.
 */
import { z } from 'zod';
import { DEFAULT_IMAGE } from './model/schema';

/** Where VS Code lets a setting be set (the manifest's `scope`). */
export type SettingScope = 'application' | 'machine' | 'machine-overridable' | 'window' | 'resource';

interface SettingSpec {
  /** A zod schema with a `.default()`; its description is what the Settings UI shows. */
  readonly schema: z.ZodDefault;
  readonly description: string;
  readonly scope?: SettingScope;
  /** One description per enum value, in the enum's order (Settings UI shows them). */
  readonly enumDescriptions?: readonly string[];
}

export const SETTINGS = {
  'clawgym.server.path': {
    schema: z.string().default(''),
    description:
      'Path to a language server script (a Node.js module) to run instead of the bundled one. Empty uses the server shipped with the extension. For developing the server.',
    scope: 'machine-overridable',
  },
  'clawgym.trace.server': {
    schema: z.enum(['off', 'messages', 'verbose']).default('off'),
    description: 'Traces the communication between VS Code and the ClawGym language server in the ClawGym output channel.',
    scope: 'window',
    enumDescriptions: ['No tracing.', 'Log the name of every request and notification.', 'Log every message with its parameters and result.'],
  },
  'clawgym.diagnostics.enable': {
    schema: z.boolean().default(true),
    description: 'Report problems in `.clawtask` files (syntax, schema, paths, checks) as you type.',
    scope: 'resource',
  },
  'clawgym.diagnostics.untouchedChecks': {
    schema: z.boolean().default(true),
    description:
      'Warn about checks that already pass on the untouched workspace (for example `file_exists` on a file listed in `workspace.files`): such a check proves nothing about the agent\'s work.',
    scope: 'resource',
  },
  'clawgym.sandbox.image': {
    schema: z.string().min(1).default(DEFAULT_IMAGE),
    description: 'The Docker image a task runs in when it does not name one in `workspace.image`.',
    scope: 'machine-overridable',
  },
  'clawgym.run.backend': {
    schema: z.enum(['auto', 'docker', 'local']).default('auto'),
    description: 'Where the editor\'s Run, Validate and Verify commands run a task\'s sandbox (the CLI\'s `--backend`).',
    scope: 'machine-overridable',
    enumDescriptions: [
      'Docker when the engine and the image are there, else a temporary directory (weaker isolation, with a warning).',
      'Docker only: fail when the engine or the image is missing.',
      'A temporary directory, isolated with bubblewrap when it is installed. Weaker than a container.',
    ],
  },
  'clawgym.run.runsDirectory': {
    schema: z.string().default('runs'),
    description:
      'Where run folders (results, verifier reports, workspace diff, logs) are written. A relative path is relative to the task\'s workspace folder (or to the task\'s own folder outside a workspace).',
    scope: 'resource',
  },
  'clawgym.agent.model': {
    schema: z.string().default(''),
    description:
      'The model the built-in agent uses (the CLI\'s `--model`), e.g. `gpt-4.1-mini` or `Qwen/Qwen3-8B`. Empty: `CLAWGYM_MODEL` from the environment. The API key is stored with **ClawGym: Set API Key** (in VS Code\'s secret storage) or read from `CLAWGYM_API_KEY`/`OPENAI_API_KEY`.',
    scope: 'machine-overridable',
  },
  'clawgym.agent.baseUrl': {
    schema: z.string().default(''),
    description:
      'The OpenAI-compatible endpoint of the model (`--base-url`): OpenAI, vLLM/SGLang (`http://127.0.0.1:8000/v1`), Ollama (`http://127.0.0.1:11434/v1`)... Empty: `CLAWGYM_BASE_URL`, `OPENAI_BASE_URL`, else OpenAI.',
    scope: 'machine-overridable',
  },
  'clawgym.agent.temperature': {
    schema: z.number().min(-1).max(2).default(-1),
    description: 'Sampling temperature of the built-in agent\'s model calls (`--temperature`); -1 leaves it to the model server.',
    scope: 'machine-overridable',
  },
  'clawgym.agent.maxTokens': {
    schema: z.number().int().min(0).default(0),
    description: 'Most tokens per model reply (`--max-tokens`); 0 leaves it to the model server.',
    scope: 'machine-overridable',
  },
  'clawgym.agent.maxSteps': {
    schema: z.number().int().min(1).default(50),
    description: 'Most model calls in one run of the built-in agent (`--max-steps`). Passed only when set here; otherwise the task\'s `agent.max_steps` applies, else 50.',
    scope: 'machine-overridable',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** Resolved settings, keyed by their full name. */
export type Settings = { [K in SettingKey]: z.output<(typeof SETTINGS)[K]['schema']> };

/** The section every key lives under (`workspace/configuration` asks for it). */
export const SETTINGS_SECTION = 'clawgym';

/** Every setting at its default. */
export function defaultSettings(): Settings {
  return resolveSettings(undefined);
}

/**
 * Settings from the object VS Code returns for the `clawgym` section (nested: `{ server: { path } }`),
 * dotted keys relative to it (`{ 'server.path': … }`), or full keys (`{ 'clawgym.server.path': … }`),
 * or a whole configuration with a `clawgym` object. Never throws: a missing or invalid
 * value takes its default.
 */
export function resolveSettings(raw: unknown): Settings {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const spec: SettingSpec = SETTINGS[key];
    const parsed = spec.schema.safeParse(lookup(raw, key));
    out[key] = parsed.success ? parsed.data : spec.schema.parse(undefined);
  }
  return out as Settings;
}

function lookup(raw: unknown, key: string): unknown {
  if (!raw || typeof raw !== 'object') return undefined;
  const obj = raw as Record<string, unknown>;
  if (key in obj) return obj[key];
  const parts = key.split('.');
  // Dotted and relative to the section (`{ 'diagnostics.enable': … }`).
  const relKey = parts.slice(1).join('.');
  if (relKey in obj) return obj[relKey];
  // Nested form, relative to the `clawgym` section or to the root.
  const rel = parts[0] === SETTINGS_SECTION && !(SETTINGS_SECTION in obj) ? parts.slice(1) : parts;
  let node: unknown = obj;
  for (const p of rel) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[p];
  }
  return node;
}

/** One property of `contributes.configuration.properties`. */
export interface ConfigurationProperty {
  type: string;
  default: unknown;
  description: string;
  enum?: unknown[];
  enumDescriptions?: string[];
  scope?: SettingScope;
}

/** `contributes.configuration` for package.json, derived from {@link SETTINGS}. */
export function configurationContribution(): { title: string; properties: Record<string, ConfigurationProperty> } {
  const properties: Record<string, ConfigurationProperty> = {};
  for (const key of SETTING_KEYS) {
    const spec: SettingSpec = SETTINGS[key];
    const json = z.toJSONSchema(spec.schema, { io: 'input' }) as Record<string, unknown>;
    const prop: ConfigurationProperty = { type: String(json.type), default: json.default, description: spec.description };
    if (Array.isArray(json.enum)) {
      prop.enum = json.enum;
      if (spec.enumDescriptions) prop.enumDescriptions = [...spec.enumDescriptions];
    }
    if (spec.scope) prop.scope = spec.scope;
    properties[key] = prop;
  }
  return { title: 'ClawGym', properties };
}

/**
 * package.json text with `contributes.configuration` replaced by the derived one; every other field
 * is kept as is (npm's 2-space JSON layout, trailing newline).
 */
export function packageJsonWithConfiguration(packageJsonText: string): string {
  const pkg = JSON.parse(packageJsonText) as Record<string, unknown>;
  const contributes = (pkg.contributes && typeof pkg.contributes === 'object' ? pkg.contributes : {}) as Record<string, unknown>;
  contributes.configuration = configurationContribution();
  pkg.contributes = contributes;
  return JSON.stringify(pkg, null, 2) + '\n';
}

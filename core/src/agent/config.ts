/**
 * Where the built-in agent's model comes from: flags (the CLI's, which the extension fills from
 * its settings) over environment variables. The API key is only ever read from the environment
 * (never a flag: flags end up in shell history, `ps` and the run's config.json).
 */
import type { ModelConfig } from './builtin';

export interface ModelFlags {
  model?: string;
  baseUrl?: string;
  /** The environment variable holding the key (default CLAWGYM_API_KEY, then OPENAI_API_KEY). */
  apiKeyEnv?: string;
  temperature?: number;
  maxTokens?: number;
  logprobs?: boolean;
  pricing?: { inputPerMTok: number; outputPerMTok: number };
}

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** What to tell a user who asked for a model-driven run without configuring a model. */
export const HOW_TO_SET_A_MODEL = `no model is configured for the built-in agent. Set one with flags or environment variables:
  --model NAME (or CLAWGYM_MODEL)            e.g. gpt-4.1-mini, Qwen/Qwen3-8B
  --base-url URL (or CLAWGYM_BASE_URL, OPENAI_BASE_URL)
                                             any OpenAI-compatible endpoint (default ${DEFAULT_BASE_URL});
                                             vLLM/SGLang: http://127.0.0.1:8000/v1, Ollama: http://127.0.0.1:11434/v1
  the key in CLAWGYM_API_KEY or OPENAI_API_KEY (or the variable named by --api-key-env)
Or try it offline with the bundled scripted model server:
  clawgym run test-fixtures/tasks/roommate-balances --agent builtin --model-script test-fixtures/model-scripts/fixtures.json
In VS Code: the settings clawgym.agent.model and clawgym.agent.baseUrl.`;

export type ResolvedModel = { ok: true; config: ModelConfig; keySource: string } | { ok: false; message: string };

function isLocal(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

export function resolveModelConfig(flags: ModelFlags, env: Record<string, string | undefined>): ResolvedModel {
  const model = flags.model ?? env.CLAWGYM_MODEL;
  if (!model) return { ok: false, message: HOW_TO_SET_A_MODEL };
  const baseUrl = (flags.baseUrl ?? env.CLAWGYM_BASE_URL ?? env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    return { ok: false, message: `the model base URL \`${baseUrl}\` is not an http(s) URL` };
  }
  const names = flags.apiKeyEnv ? [flags.apiKeyEnv] : ['CLAWGYM_API_KEY', 'OPENAI_API_KEY'];
  const found = names.find((n) => env[n]);
  let apiKey = found ? env[found]! : undefined;
  if (!apiKey) {
    // Local servers (vLLM, Ollama, SGLang) usually want no key; the client still sends one.
    if (isLocal(baseUrl)) apiKey = 'no-key';
    else return { ok: false, message: `no API key for ${baseUrl}: set ${names.join(' or ')} in the environment` };
  }
  return {
    ok: true,
    keySource: found ?? 'none (local endpoint)',
    config: {
      baseUrl,
      model,
      apiKey,
      ...(flags.temperature !== undefined ? { temperature: flags.temperature } : {}),
      ...(flags.maxTokens !== undefined ? { maxTokens: flags.maxTokens } : {}),
      ...(flags.logprobs ? { logprobs: true } : {}),
      ...(flags.pricing ? { pricing: flags.pricing } : {}),
    },
  };
}

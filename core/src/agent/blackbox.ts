/**
 * The black-box agents, for the CLI's `--agent` table: `openclaw` (through its gateway),
 * `qwen-code` (Qwen Code's headless mode on OpenAI chat-completions), and `command:<script>`
 * through {@link commandAgent}. All reach the model only through the host-side proxy (command.ts).
 */
import type { Agent } from '../run/agents';
import { createCommandAgent, type BlackBoxModel } from './command';
import { createOpenClawAgent } from './openclaw';
import { OPENCLAW_IMAGE, OPENCLAW_RECIPE } from './openclawImage';

/**
 * Qwen Code, one-shot and auto-approving (`--yolo`), on the OpenAI-compatible endpoint the
 * wrapper exports (`OPENAI_BASE_URL`/`OPENAI_API_KEY`/`OPENAI_MODEL`), the instruction on stdin.
 * Telemetry and update checks off: the sandbox has no network anyway.
 */
export const QWEN_CODE_SCRIPT = `export HOME="\${HOME:-/root}"
exec qwen --auth-type openai --model "$OPENAI_MODEL" --openai-base-url "$OPENAI_BASE_URL" --openai-api-key "$OPENAI_API_KEY" \\
  --yolo --telemetry false --output-format text < "$CLAWGYM_INSTRUCTION_FILE"
`;

export function createQwenCodeAgent(model: BlackBoxModel, options: { image?: string; maxTrajectoryBytes?: number } = {}): Agent {
  return createCommandAgent({
    ...(options.maxTrajectoryBytes !== undefined ? { maxTrajectoryBytes: options.maxTrajectoryBytes } : {}),
    name: 'qwen-code',
    command: QWEN_CODE_SCRIPT,
    model,
    image: options.image ?? OPENCLAW_IMAGE,
    version: OPENCLAW_RECIPE.packages['@qwen-code/qwen-code'],
    env: { QWEN_CODE_DISABLE_UPDATE_CHECK: '1', QWEN_CODE_SUPPRESS_YOLO_WARNING: '1', NO_COLOR: '1', CI: '1' },
  });
}

/** `--agent command:<script>`: any program in the task's image (default the plain sandbox image). */
export function commandAgent(model: BlackBoxModel, script: string, name = 'command', options: { maxTrajectoryBytes?: number } = {}): Agent {
  return createCommandAgent({ name, command: script, model, ...options });
}

/** The named black-box agents for a model endpoint (the real key stays on the host). */
export function blackBoxAgents(model: BlackBoxModel, options: { maxTrajectoryBytes?: number } = {}): Record<string, Agent> {
  return { openclaw: createOpenClawAgent(model, options), 'qwen-code': createQwenCodeAgent(model, options) };
}

export { createCommandAgent, type BlackBoxModel, type CommandAgentOptions } from './command';

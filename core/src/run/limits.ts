/**
 * Per-trial caps on everything that grows with what an agent or a model server sends: the event
 * stream (events.jsonl and `--json`), each observation, each model reply (bytes and tokens) and
 * the trajectory. What went over a cap is cut where it happened, with a marker in the text and a
 * {@link Truncation} in the trial's result (and the trajectory step's `extra.truncated`), so a
 * reader knows the record is incomplete and why. Documented in docs/running.md ("Caps").
 */

/** One place something was cut. */
export interface Truncation {
  what: 'events' | 'reply' | 'observation' | 'trajectory';
  /** The cap that was hit. */
  limit: number;
  unit: 'bytes' | 'tokens' | 'characters';
  /** The agent step it happened in (built-in agent). */
  step?: number;
  /** How much was left out, in `unit` (events: bytes of the events dropped), when known. */
  dropped?: number;
  /** Events dropped (event caps). */
  events?: number;
}

export interface TrialCaps {
  /** Bytes of `output` and `trajectory` events per trial in events.jsonl and the `--json` stream. */
  eventBytes: number;
  /** Characters of one observation (a tool result the model is shown). */
  observationChars: number;
  /** Bytes of one model reply (content, reasoning and tool-call arguments). */
  replyBytes: number;
  /** Tokens of one model reply (the server's token ids or logprobs when sent, else stream chunks). */
  replyTokens: number;
  /** Bytes of text (and token arrays) the trajectory keeps. */
  trajectoryBytes: number;
}

export const DEFAULT_CAPS: TrialCaps = {
  eventBytes: 16 * 1024 * 1024,
  observationChars: 12_000,
  replyBytes: 1024 * 1024,
  replyTokens: 65_536,
  trajectoryBytes: 32 * 1024 * 1024,
};

/** The marker put where text was cut. */
export function cutMarker(what: string, limit: number, unit: string): string {
  return `[… ${what} cut here: over the cap of ${limit} ${unit} …]`;
}

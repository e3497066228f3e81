/**
 * What the verifier reports: one result per check (the reward script counts as one check), the
 * weighted reward, and why anything could not be graded. A *verifier error* (the grader crashed,
 * timed out, printed no number...) is kept apart from a *wrong answer* (the grader ran and said
 * no): both score 0, but only errors carry `error`, and reports count them separately.
 */
import type { CheckKind } from '../model/schema';
import type { CopyOutResult } from '../sandbox/types';

export type VerifierErrorKind =
  /** The grader (command, python check, reward script) failed: exception, non-zero exit, no result. */
  | 'crash'
  /** The check, the reward script or the whole verifier ran out of time. */
  | 'timeout'
  /** The reward script's last stdout line is not a number. */
  | 'not-a-number'
  /** A score is NaN or infinite. */
  | 'non-finite'
  /** A score outside [0, 1], or a value that is no score at all (a string, a nested dict). */
  | 'out-of-range'
  /** The check's path is absolute or leaves the workspace (`..`, a symlink pointing outside). */
  | 'path-escape'
  /** The workspace or a file was too big to read (snapshot or per-file cap). */
  | 'too-large'
  /** Something in the sandbox touched the verifier's own files or directory. */
  | 'tampered'
  /** The sandbox could not run the check (no python3, backend error). */
  | 'unavailable'
  /** The check itself is broken: invalid regex, a `from` fixture that cannot be read, no `grade`. */
  | 'invalid-check'
  /** A bug or an unexpected answer on our side. */
  | 'internal';

export interface VerifierError {
  kind: VerifierErrorKind;
  message: string;
}

export interface CheckResult {
  id: string;
  kind: CheckKind | 'reward_script';
  weight: number;
  /** 0..1; 0 whenever `error` is set. */
  score: number;
  /** score >= 1 - 1e-9 and no error. */
  passed: boolean;
  /** Short: why it failed, or what it saw. */
  message: string;
  durationMs: number;
  error?: VerifierError;
  /** Output tails (commands, python checks, the reward script), capped. */
  output?: { stdout: string; stderr: string };
}

export interface RubricResult {
  id: string;
  /** An LLM judge comes later; until then rubric items are listed, never scored. */
  status: 'not-judged';
}

export interface VerifierResult {
  /** The final reward in [0, 1]. */
  reward: number;
  /** Weighted mean of the check scores. */
  codeScore: number;
  /** Mean rubric score, null while nothing judges the rubric. */
  rubricScore: number | null;
  /** reward >= the task's pass threshold. */
  solved: boolean;
  checks: CheckResult[];
  /** How many checks ended in a verifier error (not a wrong answer). */
  verifierErrors: number;
  rubric: RubricResult[];
  durationMs: number;
  /** The workspace as the agent left it (before any in-sandbox check ran). */
  snapshot?: CopyOutResult;
  /** Why there is no snapshot. */
  snapshotError?: string;
  /** Things a reader should know about how the reward was computed. */
  notes: string[];
  /**
   * Whether the verifier's files (reward folder, python checks, payload) were byte for byte what
   * was written after the last check ran; null when nothing ran in the sandbox.
   */
  filesIntact: boolean | null;
}

export interface VerifierContext {
  /** The agent's last reply (ClawGym payload `final_message`). */
  finalMessage: string;
  /** The agent's transcript (ClawGym payload `transcript`), passed through as JSON. */
  transcript: unknown[];
  signal?: AbortSignal;
  /** Progress lines (snapshot size, each check's verdict, the runner's own progress). */
  onLog?: (line: string) => void;
  /** Caps for the workspace snapshot (defaults: the backend's, 256 MiB total, 16 MiB per file). */
  snapshot?: { maxTotalBytes?: number; maxFileBytes?: number };
}

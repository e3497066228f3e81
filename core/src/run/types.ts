/**
 * A task ready to run: what the runner, the agents and the verifier need, whichever form the
 * task was written in (`.clawtask` file or ClawGym task directory). Loaders live in load.ts.
 */
import type { TaskModel } from '../model/schema';
import type { SandboxFile, SandboxResources } from '../sandbox/types';

export type CheckModel = NonNullable<TaskModel['verifier']['checks']>[number];
export type RubricModel = NonNullable<TaskModel['verifier']['rubric']>[number];

export interface ResolvedTask {
  id: string;
  /** Where the task came from (absolute paths). */
  source: { kind: 'clawtask' | 'clawgym'; path: string };
  /** Directory `from` paths are relative to: the `.clawtask` file's folder or the task directory. */
  baseDir: string;
  intent: string;
  metadata: Record<string, unknown>;
  /** Absolute workspace root inside the sandbox. */
  root: string;
  /** Image named by the task (else the setting's default). */
  image?: string;
  /** The initial workspace, materialized: absolute sandbox paths, byte-exact content. */
  files: SandboxFile[];
  /** Shell commands run in the root before the agent (each with `bash -c`), in order. */
  setup: string[];
  env: Record<string, string>;
  network: 'none' | 'model-only' | 'open';
  resources: SandboxResources;
  agent: { maxSteps?: number; timeoutMs?: number };
  verifier: ResolvedVerifier;
  /** The reference solution's shell script, when the task has one. */
  solution?: { script: string; /** Where it came from, for messages. */ origin: string };
}

export interface ResolvedVerifier {
  /** Whole-verifier time limit (default 120 s). */
  timeoutMs: number;
  /** Reward at or above this counts as solved (default 1). */
  passThreshold: number;
  checks: CheckModel[];
  /** A ClawGym reward script: its folder goes to `<root>/reward` after the agent ends. */
  rewardScript?: {
    /** Absolute host path of the folder holding the script (copied whole). */
    hostDir: string;
    /** The script's path relative to that folder, e.g. `reward.sh`. */
    script: string;
    weight: number;
  };
  rubric: RubricModel[];
  /** Hybrid blend; `{ code: 1, rubric: 0 }` without a rubric. */
  weights: { code: number; rubric: number };
}

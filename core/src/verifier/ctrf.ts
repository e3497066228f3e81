/**
 * A CTRF report (https://ctrf.io) of one verification: every check is a test; a wrong answer is
 * `failed`, a verifier error is `other` (the grader, not the agent, failed), an unjudged rubric
 * item is `skipped`.
 */
import type { ResolvedTask } from '../run/types';
import type { VerifierResult } from './types';

export interface CtrfTest {
  name: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'other';
  duration: number;
  message?: string;
  extra: Record<string, unknown>;
}

export interface CtrfReport {
  results: {
    tool: { name: string; version?: string };
    summary: { tests: number; passed: number; failed: number; skipped: number; pending: number; other: number; start: number; stop: number };
    tests: CtrfTest[];
    environment?: Record<string, unknown>;
    extra?: Record<string, unknown>;
  };
}

export function toCtrf(task: ResolvedTask, result: VerifierResult, info: { start: number; stop: number; toolName?: string; toolVersion?: string }): CtrfReport {
  const tests: CtrfTest[] = result.checks.map((c) => ({
    name: c.id,
    status: c.error ? 'other' : c.passed ? 'passed' : 'failed',
    duration: Math.round(c.durationMs),
    ...(c.message ? { message: c.message } : {}),
    extra: { kind: c.kind, score: c.score, weight: c.weight, ...(c.error ? { error: c.error } : {}) },
  }));
  for (const r of result.rubric) {
    tests.push({ name: r.id, status: 'skipped', duration: 0, message: 'not judged: no judge is configured', extra: { kind: 'rubric', status: r.status } });
  }
  const count = (s: CtrfTest['status']) => tests.filter((t) => t.status === s).length;
  return {
    results: {
      tool: { name: info.toolName ?? 'clawgym', ...(info.toolVersion ? { version: info.toolVersion } : {}) },
      summary: {
        tests: tests.length,
        passed: count('passed'),
        failed: count('failed'),
        skipped: count('skipped'),
        pending: count('pending'),
        other: count('other'),
        start: info.start,
        stop: info.stop,
      },
      tests,
      extra: {
        taskId: task.id,
        reward: result.reward,
        codeScore: result.codeScore,
        rubricScore: result.rubricScore,
        solved: result.solved,
        passThreshold: task.verifier.passThreshold,
        verifierErrors: result.verifierErrors,
        ...(result.notes.length ? { notes: result.notes } : {}),
      },
    },
  };
}

/**
 * The run folder: everything a run produced, on disk, written as it goes so a crash loses at
 * most the trial in flight.
 *
 * ```
 * <runs>/<run id>/
 *   config.json              what was run: agent, backend, image, tasks, limits, versions
 *   events.jsonl             the JSON-lines event stream, as the CLI printed it
 *   result.json              the summary (rewritten after every trial; final at the end)
 *   trials/<trial id>/
 *     config.json            the resolved task (files listed, not inlined) and the trial's settings
 *     result.json            the TrialResult
 *     verifier/report.json   per-check results (score, message, duration, errors)
 *     verifier/ctrf.json     the same as a CTRF report
 *     workspace.diff         unified diff of what the agent changed (text files)
 *     transcript.json        the agent's transcript (the ClawGym payload's `transcript`)
 *     trajectory.json        the agent run as ATIF v1.7 (docs/trajectories.md)
 *     logs/setup.log, logs/agent.log, logs/verifier.log
 * ```
 *
 * Everything goes through the run's {@link Redactor} on its way to disk: no file of a run folder
 * holds the model key or a credential of the base URL, whatever a server echoed.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { Redactor } from '../redact';
import { toCtrf } from '../verifier';
import type { TrialRecord } from './trial';
import type { ResolvedTask } from './types';

/** Write JSON through a temporary file and a rename: a crash never leaves half a file. */
export function writeJsonAtomic(path: string, value: unknown, redactor?: Redactor): void {
  fs.mkdirSync(nodePath.dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(redactor ? redactor.value(value) : value, null, 2) + '\n');
  fs.renameSync(tmp, path);
}

function writeText(path: string, text: string, redactor?: Redactor): void {
  fs.mkdirSync(nodePath.dirname(path), { recursive: true });
  fs.writeFileSync(path, redactor ? redactor.redact(text) : text);
}

/** A task as a run config records it: file contents listed by size and mode, not inlined. */
export function describeTask(task: ResolvedTask): unknown {
  return {
    ...task,
    files: task.files.map((f) => ({ path: f.path, type: f.type ?? 'file', size: f.content.length, mode: f.mode?.toString(8) })),
    solution: task.solution ? { origin: task.solution.origin, bytes: Buffer.byteLength(task.solution.script) } : undefined,
  };
}

/** Write one trial's folder; returns its path. */
/** Write one trial's folder, every file through `redactor`; returns its path. */
export function writeTrialFolder(trialDir: string, task: ResolvedTask, record: TrialRecord, meta: Record<string, unknown>, redactor?: Redactor): string {
  const r = record.result;
  const json = (path: string, value: unknown) => writeJsonAtomic(nodePath.join(trialDir, path), value, redactor);
  const text = (path: string, value: string) => writeText(nodePath.join(trialDir, path), value, redactor);
  json('config.json', { ...meta, trialId: r.trialId, agent: r.agent, task: describeTask(task) });
  if (record.verifierResult) {
    const { snapshot, ...report } = record.verifierResult;
    json(nodePath.join('verifier', 'report.json'), {
      ...report,
      snapshot: snapshot ? { entries: snapshot.entries.length, totalBytes: snapshot.totalBytes, omitted: snapshot.omitted } : undefined,
    });
    const start = Date.parse(r.startedAt) + r.timing.createMs + r.timing.setupMs + r.timing.agentMs;
    json(nodePath.join('verifier', 'ctrf.json'), toCtrf(task, record.verifierResult, { start, stop: start + r.timing.verifyMs, toolName: 'clawgym' }));
  }
  text('workspace.diff', record.unifiedDiff);
  json('transcript.json', record.transcript);
  if (record.trajectory) json('trajectory.json', record.trajectory);
  text(nodePath.join('logs', 'setup.log'), record.logs.setup);
  text(nodePath.join('logs', 'agent.log'), record.logs.agent);
  text(nodePath.join('logs', 'verifier.log'), record.logs.verifier);
  // Last: a trial folder with result.json is complete.
  json('result.json', r);
  return trialDir;
}

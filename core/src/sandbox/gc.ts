/**
 * `clawgym gc`: remove sandbox containers left behind by a process that died before it could
 * dispose them (kill -9, a crash, a machine that lost power). A container is ours when it carries
 * the `dev.clawgym.run` label; its `dev.clawgym.owner` label says which process on which host
 * created it. Containers without the label are never touched.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { LABEL_CREATED, LABEL_OWNER, LABEL_RUN, LABEL_TRIAL } from './docker';
import { SandboxError } from './types';

export interface GcItem {
  name: string;
  id: string;
  run: string;
  trial: string;
  /** `<hostname>:<pid>`, as labelled. */
  owner: string;
  /** ISO time the container was created. */
  created: string;
  /** Why it was (or would be) removed, or why it was kept. */
  reason: string;
}

export interface GcOptions {
  /** Remove every clawgym container, whoever owns it. */
  all?: boolean;
  /** Decide, but remove nothing: `removed` lists what would be removed. */
  dryRun?: boolean;
  /** Only containers of this run id. */
  runId?: string;
  signal?: AbortSignal;
}

export interface GcResult {
  removed: GcItem[];
  kept: GcItem[];
}

/** Whether `pid` names a live process; EPERM means it exists but belongs to someone else. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When the process `pid` started (ms since the epoch), on Linux; undefined elsewhere. A pid that
 * started after the container was created is a reused pid, not the owner.
 */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, clock ticks since boot) counts from after the ")" closing the name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(ticks)) return undefined;
    // USER_HZ is 100 on every Linux configuration Node runs on.
    return Number(btime[1]) * 1000 + ticks * 10;
  } catch {
    return undefined;
  }
}

/** Why the owner counts as gone, or undefined when it may still be running. */
export function ownerGone(owner: string, createdMs: number, host = hostname()): string | undefined {
  const at = owner.lastIndexOf(':');
  const ownerHost = owner.slice(0, at);
  const pid = Number(owner.slice(at + 1));
  if (at <= 0 || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (ownerHost !== host) return undefined;
  if (!pidAlive(pid)) return `owner process ${pid} is gone`;
  const started = processStartMs(pid);
  // One second of slack: the clock ticks are coarse and btime is rounded to a second.
  if (started !== undefined && Number.isFinite(createdMs) && started > createdMs + 1000) {
    return `owner process ${pid} is gone (the pid now belongs to a newer process)`;
  }
  return undefined;
}

function keepReason(owner: string, host: string): string {
  const at = owner.lastIndexOf(':');
  if (!owner || at <= 0) return 'no owner label';
  const ownerHost = owner.slice(0, at);
  if (ownerHost !== host) return `owned by a process on another host (${ownerHost})`;
  return `owner process ${owner.slice(at + 1)} is running`;
}

export async function gcSandboxes(docker: Docker, options: GcOptions = {}): Promise<GcResult> {
  const { signal } = options;
  const host = hostname();
  const label = options.runId !== undefined ? `${LABEL_RUN}=${options.runId}` : LABEL_RUN;
  let containers: Docker.ContainerInfo[];
  try {
    containers = await docker.listContainers({ all: true, filters: { label: [label] }, abortSignal: signal });
  } catch (e) {
    if (signal?.aborted) throw new SandboxError('cancelled', 'gc was cancelled');
    throw new SandboxError('backend', `gc: cannot list containers: ${(e as Error).message}`, { cause: e });
  }
  const removed: GcItem[] = [];
  const kept: GcItem[] = [];
  const toRemove: GcItem[] = [];
  for (const c of containers) {
    const labels = c.Labels ?? {};
    // The list filter already requires the label; re-check so a filter mishap cannot widen it.
    if (!(LABEL_RUN in labels)) continue;
    const created = labels[LABEL_CREATED] ?? new Date(c.Created * 1000).toISOString();
    const item: GcItem = {
      name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
      id: c.Id,
      run: labels[LABEL_RUN] ?? '',
      trial: labels[LABEL_TRIAL] ?? '',
      owner: labels[LABEL_OWNER] ?? '',
      created,
      reason: '',
    };
    const gone = options.all ? 'all clawgym containers were asked for' : ownerGone(item.owner, Date.parse(created), host);
    if (gone) {
      item.reason = gone;
      toRemove.push(item);
    } else {
      item.reason = keepReason(item.owner, host);
      kept.push(item);
    }
  }
  if (options.dryRun) return { removed: toRemove, kept };

  // A few at a time: removal is engine-bound and the engine is shared.
  const queue = [...toRemove];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      if (signal?.aborted) return;
      try {
        await docker.getContainer(item.id).remove({ force: true, v: true });
        removed.push(item);
      } catch (e) {
        const err = e as { statusCode?: number; message: string };
        if (err.statusCode === 404) removed.push(item);
        else kept.push({ ...item, reason: `removal failed: ${err.message}` });
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  if (signal?.aborted) throw new SandboxError('cancelled', 'gc was cancelled');
  return { removed, kept };
}

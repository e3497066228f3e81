/**
 * Pieces every backend's exec shares: keeping a capped copy of an output stream, the part of an
 * ExecResult that comes from the two captures, and finding a host executable.
 */
import { accessSync, constants as fsc } from 'node:fs';
import * as nodePath from 'node:path';
import type { ExecResult } from './types';

/** Collects one output stream, keeping at most `max` bytes (and counting all of them). */
export class Capture {
  bytes = 0;
  private kept: Buffer[] = [];
  private keptBytes = 0;

  constructor(private readonly max: number) {}

  add(data: Buffer): void {
    this.bytes += data.length;
    if (this.keptBytes >= this.max) return;
    const part = data.length <= this.max - this.keptBytes ? data : data.subarray(0, this.max - this.keptBytes);
    // Copy: the demuxer's slices may share memory with buffers node reuses.
    this.kept.push(Buffer.from(part));
    this.keptBytes += part.length;
  }

  get truncated(): boolean {
    return this.bytes > this.keptBytes;
  }

  text(): string {
    return Buffer.concat(this.kept).toString('utf8');
  }
}

/** The fields of an ExecResult that the stdout and stderr captures determine. */
export function captured(out: Capture, err: Capture): Pick<ExecResult, 'stdout' | 'stderr' | 'stdoutBytes' | 'stderrBytes' | 'truncated'> {
  return {
    stdout: out.text(),
    stderr: err.text(),
    stdoutBytes: out.bytes,
    stderrBytes: err.bytes,
    truncated: out.truncated || err.truncated,
  };
}

/** Directories searched after $PATH: where system tools live even when $PATH is minimal. */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The absolute path of an executable on the host, or undefined. */
export function findExecutable(name: string): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SYSTEM_DIRS]) {
    const p = nodePath.join(d, name);
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

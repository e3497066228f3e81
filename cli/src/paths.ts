/**
 * Path options checked before a command starts: a folder option naming a file (or below one), or a
 * file option naming a folder, is a one-sentence usage error instead of a stack trace from deep
 * inside the command.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { describeFileType } from '../../core/src/input';
import type { Command } from './args';

/** The usage problem with the command's path options, if any. */
export function checkPathOptions(cmd: Command, cwd: string): string | undefined {
  switch (cmd.kind) {
    case 'run':
    case 'check':
      return cmd.options.runsDir !== undefined ? folderProblem('--runs-dir', cmd.options.runsDir, cwd) : undefined;
    case 'import':
    case 'export':
      return folderProblem('--out', cmd.out, cwd);
    case 'export-sft':
      return fileProblem('--out', cmd.out, cwd);
    default:
      return undefined;
  }
}

/** A folder the command creates or fills: what exists there must be a folder, and so must its nearest existing parent. */
function folderProblem(flag: string, value: string, cwd: string): string | undefined {
  const abs = nodePath.resolve(cwd, value);
  const st = statOrUndefined(abs);
  if (st) return st.isDirectory() ? undefined : `\`${flag} ${value}\` names ${describeFileType(st)}, not a folder`;
  return parentProblem(flag, value, abs);
}

/** A file the command writes: not a folder, and its parent must be a folder. */
function fileProblem(flag: string, value: string, cwd: string): string | undefined {
  const abs = nodePath.resolve(cwd, value);
  const st = statOrUndefined(abs);
  if (st) return st.isDirectory() ? `\`${flag} ${value}\` names a folder, not a file` : undefined;
  return parentProblem(flag, value, abs);
}

function parentProblem(flag: string, value: string, abs: string): string | undefined {
  for (let dir = nodePath.dirname(abs); ; dir = nodePath.dirname(dir)) {
    const st = statOrUndefined(dir);
    if (st) return st.isDirectory() ? undefined : `\`${flag} ${value}\` cannot be created: \`${dir}\` is ${describeFileType(st)}, not a folder`;
    if (nodePath.dirname(dir) === dir) return undefined;
  }
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

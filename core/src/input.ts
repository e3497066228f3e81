/**
 * Reading the files a user gives the tool (task files, `from`/`from_dir` sources, ClawGym
 * `data_entry.json`, model scripts) without trusting them: the file is opened non-blocking (a FIFO
 * cannot hang the open or the read), checked with fstat to be a regular file under its size cap,
 * and then read to at most cap + 1 bytes (a file that grows while it is read is caught too). Text
 * must be valid UTF-8: the first bad byte is reported with its line and column instead of being
 * replaced silently.
 */
import * as fs from 'node:fs';
import type { Diagnostic, DiagnosticCode } from './language/types';

/** Cap on a task file (`.clawtask`, `data_entry.json`) and a model script: tasks are small text. */
export const MAX_TASK_FILE_BYTES = 4 * 1024 * 1024;
/** Cap on one file a task copies in (`from`, a file under `from_dir` or `input_files/`, a solution). */
export const MAX_SOURCE_FILE_BYTES = 64 * 1024 * 1024;

export type InputProblemKind =
  /** Does not exist (or a dangling link). */
  | 'missing'
  /** A directory, FIFO, socket or device where a regular file is needed. */
  | 'special'
  /** Over the cap. */
  | 'too-large'
  /** Not valid UTF-8 (text only). */
  | 'encoding'
  /** Anything else the system said (permissions, I/O errors). */
  | 'unreadable';

export interface InputProblem {
  kind: InputProblemKind;
  /** One sentence naming the path and what is wrong, e.g. "`x` is a FIFO (named pipe), not a regular file". */
  message: string;
  /** `encoding`: the text decoded with U+FFFD for the bad bytes, so callers can show where it is. */
  lossyText?: string;
  /** `encoding`: UTF-16 offset of the first bad byte in `lossyText`. */
  offset?: number;
}

export type ReadBytesResult = { ok: true; bytes: Buffer; mode: number } | ({ ok: false } & InputProblem);
export type ReadTextResult = { ok: true; text: string; mode: number } | ({ ok: false } & InputProblem);

export interface ReadInputOptions {
  /** The size cap in bytes. */
  maxBytes: number;
  /** How the path is named in messages (default: the path in backquotes). */
  label?: string;
}

/** What kind of file a stat describes, in words. */
export function describeFileType(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Check a stat the way {@link readInputBytes} does (regular file, under the cap): the problem, or
 * undefined. For callers that only look (validation) and read later.
 */
export function checkInputStat(st: fs.Stats, options: ReadInputOptions & { path: string }): InputProblem | undefined {
  const label = options.label ?? `\`${options.path}\``;
  if (!st.isFile()) return { kind: 'special', message: `${label} is ${describeFileType(st)}, not a regular file` };
  if (st.size > options.maxBytes) return { kind: 'too-large', message: tooLargeMessage(label, st.size, options.maxBytes) };
  return undefined;
}

/** Read a regular file under the cap (see the module comment). Never throws. */
export function readInputBytes(path: string, options: ReadInputOptions): ReadBytesResult {
  const label = options.label ?? `\`${path}\``;
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    return { ok: false, ...openProblem(e as NodeJS.ErrnoException, label) };
  }
  try {
    const st = fs.fstatSync(fd);
    const bad = checkInputStat(st, { ...options, path, label });
    if (bad) return { ok: false, ...bad };
    // Read at most cap + 1 bytes whatever the size said: the file may grow meanwhile.
    const limit = options.maxBytes + 1;
    let buf = Buffer.allocUnsafe(Math.min(limit, Math.max(st.size, 0) + 1));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length >= limit) break;
        const bigger = Buffer.allocUnsafe(Math.min(limit, buf.length * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > options.maxBytes) return { ok: false, kind: 'too-large', message: tooLargeMessage(label, n, options.maxBytes, true) };
    return { ok: true, bytes: buf.subarray(0, n), mode: st.mode };
  } catch (e) {
    return { ok: false, kind: 'unreadable', message: `cannot read ${label}: ${(e as Error).message}` };
  } finally {
    fs.closeSync(fd);
  }
}

/** {@link readInputBytes}, then strict UTF-8 (a byte-order mark is kept: callers drop it). Never throws. */
export function readInputText(path: string, options: ReadInputOptions): ReadTextResult {
  const r = readInputBytes(path, options);
  if (!r.ok) return r;
  const text = decodeUtf8(r.bytes, options.label ?? `\`${path}\``);
  return 'problem' in text ? { ok: false, ...text.problem } : { ok: true, text: text.text, mode: r.mode };
}

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Strict UTF-8: the text, or an `encoding` problem locating the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, label: string): { text: string } | { problem: InputProblem } {
  try {
    return { text: strict.decode(bytes) };
  } catch {
    const at = firstInvalidUtf8(bytes);
    const before = lossy.decode(bytes.subarray(0, at));
    const line = before.split('\n').length;
    const column = before.length - (before.lastIndexOf('\n') + 1) + 1;
    const hex = `0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')}`;
    return {
      problem: {
        kind: 'encoding',
        message: `${label} is not valid UTF-8: byte ${hex} at line ${line}, column ${column} (byte offset ${at}); save the file as UTF-8`,
        lossyText: lossy.decode(bytes),
        offset: before.length,
      },
    };
  }
}

/** Byte offset of the first byte that does not belong to a valid UTF-8 sequence (length when none). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [need, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [need, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= b.length) return i; // truncated at the end
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const d = b[i + k]!;
      if ((d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return b.length;
}

function tooLargeMessage(label: string, size: number, max: number, grew = false): string {
  return `${label} is ${grew ? 'more than ' : ''}${size.toLocaleString('en-US')} bytes, ${grew ? 'over' : `${(size - max).toLocaleString('en-US')} bytes over`} the cap of ${max.toLocaleString('en-US')} bytes (${formatMiB(max)})`;
}

function formatMiB(n: number): string {
  return `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;
}

function openProblem(e: NodeJS.ErrnoException, label: string): InputProblem {
  switch (e.code) {
    case 'ENOENT':
      return { kind: 'missing', message: `${label} does not exist (or is a dangling symbolic link)` };
    case 'ENXIO':
      return { kind: 'special', message: `${label} is a socket, not a regular file` };
    case 'EISDIR':
      return { kind: 'special', message: `${label} is a directory, not a regular file` };
    default:
      return { kind: 'unreadable', message: `cannot read ${label}: ${e.message}` };
  }
}

/** The diagnostic code of a problem. */
export function inputProblemCode(kind: InputProblemKind): DiagnosticCode {
  return kind === 'special' ? 'special-file' : kind === 'too-large' ? 'file-too-large' : kind === 'encoding' ? 'invalid-encoding' : 'missing-file';
}

/**
 * A file that could not be read, as its report: an encoding problem at the first bad byte (with
 * the lossy text, so positions can be shown), anything else at the start.
 */
export function inputProblemReport(file: string, p: InputProblem): { file: string; text?: string; diagnostics: Diagnostic[] } {
  const code = inputProblemCode(p.kind);
  if (p.kind === 'encoding' && p.lossyText !== undefined && p.offset !== undefined) {
    return { file, text: p.lossyText, diagnostics: [{ span: { start: p.offset, end: p.offset + 1 }, severity: 'error', code, message: p.message }] };
  }
  return { file, diagnostics: [{ span: { start: 0, end: 0 }, severity: 'error', code, message: p.message }] };
}

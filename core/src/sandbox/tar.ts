/**
 * Tar in and out of a sandbox, in memory. The workspace enters as one tar stream (Docker's
 * putArchive) and leaves as one (getArchive). Reading an archive never touches the host's disk:
 * entries become {@link SandboxEntry} values, names that could escape are refused, symlinks are
 * reported and never followed, and size caps stop the read as soon as they are hit.
 */
import * as tar from 'tar-stream';
import { SandboxError, type CopyOutResult, type SandboxEntry, type SandboxFile } from './types';

export const DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Split an absolute sandbox path into its segments, refusing anything that is not a plain
 * absolute path (`..`, relative, NUL). `.` and repeated slashes are dropped.
 */
export function sandboxPathSegments(path: string, what = 'path'): string[] {
  if (!path.startsWith('/')) {
    throw new SandboxError('path-escape', `${what} ${JSON.stringify(path)} is not absolute`);
  }
  if (path.includes('\0')) throw new SandboxError('path-escape', `${what} ${JSON.stringify(path)} contains NUL`);
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new SandboxError('path-escape', `${what} ${JSON.stringify(path)} contains ".."`);
  }
  return segments;
}

/**
 * A tar archive of `files`, entry names relative to `/` (the absolute path without its leading
 * slash), to be extracted at `/`. Long names use pax headers, so any length is exact.
 *
 * No entries are written for parent directories that are not listed: Docker's extraction creates
 * missing parents itself (root, 0755), while an explicit entry for an existing directory would
 * reset its mode (`/tmp` would lose 1777, `/root` its 0700). List a `directory` file to create
 * one with a given mode.
 */
export async function packFiles(files: readonly SandboxFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const file of files) {
    const segments = sandboxPathSegments(file.path, 'sandbox path');
    if (segments.length === 0) throw new SandboxError('path-escape', `cannot write to the sandbox root "/"`);
    const name = segments.join('/');
    const common = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime };
    if (file.type === 'directory') {
      pack.entry({ ...common, name: `${name}/`, type: 'directory', mode: file.mode ?? 0o755 });
    } else {
      const content = Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength);
      pack.entry({ ...common, name, type: 'file', mode: file.mode ?? 0o644, size: content.byteLength }, content);
    }
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export interface UnpackOptions {
  /** Cap on the file bytes in the archive: over it the read stops with `too-large`. */
  maxTotalBytes?: number;
  /** Files bigger than this are listed without content (the bytes still count toward the total). */
  maxFileBytes?: number;
  /**
   * Drop the first path component of every entry (Docker's getArchive(dir) names entries
   * `<basename of dir>/...`); the entry for the directory itself is then left out.
   */
  stripFirst?: boolean;
  signal?: AbortSignal;
  /** Names the copy in error messages, e.g. `copy-out of /root/workspace`. */
  what?: string;
}

/** The archive name of an entry as a clean relative path, `''` for the stripped root. */
function entryPath(name: string, stripFirst: boolean, what: string): string {
  if (name.startsWith('/') || name.includes('\0')) {
    throw new SandboxError('path-escape', `${what}: the archive holds an absolute name ${JSON.stringify(name)}`);
  }
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new SandboxError('path-escape', `${what}: the archive holds a name with "..": ${JSON.stringify(name)}`);
  }
  return (stripFirst ? segments.slice(1) : segments).join('/');
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

type Source = NodeJS.ReadableStream & { destroy?: (error?: Error) => void };

/**
 * Read a tar stream into entries. Rejects with `path-escape` on an absolute or `..` name, with
 * `too-large` as soon as an entry would take the total over `maxTotalBytes` (the source is
 * destroyed, so the sender stops), with `cancelled` when `signal` fires.
 */
export function unpackEntries(source: NodeJS.ReadableStream, options: UnpackOptions = {}): Promise<CopyOutResult> {
  const maxTotal = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  const maxFile = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const stripFirst = options.stripFirst ?? false;
  const what = options.what ?? 'copy-out';
  const signal = options.signal;

  return new Promise<CopyOutResult>((resolve, reject) => {
    const extract = tar.extract();
    const entries: SandboxEntry[] = [];
    const files = new Map<string, SandboxEntry>();
    const omitted: string[] = [];
    let totalBytes = 0;
    let settled = false;

    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) {
        resolve({ entries, totalBytes, omitted });
        return;
      }
      // Stop the sender (Docker keeps streaming otherwise) and drop what is buffered.
      (source as Source).destroy?.();
      extract.destroy();
      reject(error);
    };
    const onAbort = (): void => finish(new SandboxError('cancelled', `${what} was cancelled`));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    extract.on('entry', (header, stream, next) => {
      // The entry's own stream fails too when the archive is cut short; the extract reports it.
      stream.on('error', () => undefined);
      if (settled) {
        stream.resume();
        return;
      }
      let path: string;
      try {
        path = entryPath(header.name, stripFirst, what);
      } catch (e) {
        finish(e);
        return;
      }
      const mode = (header.mode ?? 0) & 0o7777;
      const skip = (entry?: SandboxEntry): void => {
        if (entry && path !== '') entries.push(entry);
        stream.on('end', () => next());
        stream.resume();
      };
      switch (header.type) {
        case 'file':
        case 'contiguous-file': {
          const size = header.size ?? 0;
          if (totalBytes + size > maxTotal) {
            finish(
              new SandboxError(
                'too-large',
                `${what} is over its ${formatBytes(maxTotal)} cap while reading ${path || header.name} (${size} bytes, ${totalBytes} read before it)`,
              ),
            );
            return;
          }
          totalBytes += size;
          const entry: SandboxEntry = { path, type: 'file', mode, size };
          if (size > maxFile) {
            omitted.push(path);
            files.set(header.name, entry);
            skip(entry);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
          stream.on('end', () => {
            entry.content = new Uint8Array(Buffer.concat(chunks));
            entries.push(entry);
            files.set(header.name, entry);
            next();
          });
          return;
        }
        case 'directory':
          skip({ path, type: 'directory', mode, size: 0 });
          return;
        case 'symlink':
          // Reported as stored; never resolved on the host.
          skip({ path, type: 'symlink', mode, size: 0, linkTarget: header.linkname ?? '' });
          return;
        case 'link': {
          // A hard link to an earlier entry of the same archive: give it that entry's content.
          const target = files.get(header.linkname ?? '');
          if (!target) {
            skip({ path, type: 'other', mode, size: 0 });
            return;
          }
          if (totalBytes + target.size > maxTotal) {
            finish(
              new SandboxError('too-large', `${what} is over its ${formatBytes(maxTotal)} cap while reading ${path} (hard link)`),
            );
            return;
          }
          totalBytes += target.size;
          const entry: SandboxEntry = { path, type: 'file', mode, size: target.size };
          if (target.content) entry.content = target.content;
          else omitted.push(path);
          skip(entry);
          return;
        }
        default:
          skip({ path, type: 'other', mode, size: 0 });
      }
    });
    extract.on('finish', () => finish());
    extract.on('error', (e: Error) =>
      finish(e instanceof SandboxError ? e : new SandboxError('backend', `${what}: unreadable archive: ${e.message}`, { cause: e })),
    );
    source.on('error', (e: Error) => finish(new SandboxError('backend', `${what}: ${e.message}`, { cause: e })));
    source.pipe(extract as unknown as NodeJS.WritableStream);
  });
}

/**
 * The in-memory tar layer of the sandbox: packFiles (what enters a sandbox) and unpackEntries
 * (what leaves it). Round trips through tar-stream and through GNU tar, crafted hostile archives,
 * and the size caps (which must stop the sender, not just discard).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { packFiles, sandboxPathSegments, unpackEntries } from '../src/sandbox/tar';
import { SandboxError, type SandboxFile } from '../src/sandbox/types';
import { assertTrickyRoundTrip, trickyFiles } from './fixtures/tricky-files';

async function craft(entries: { header: Partial<tar.Header> & { name: string }; content?: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.content) pack.entry(e.header, e.content);
    else pack.entry(e.header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function rejectsKind(p: Promise<unknown>, kind: SandboxError['kind'], message?: RegExp): Promise<SandboxError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SandboxError, `expected a SandboxError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  return assert.fail(`expected a SandboxError of kind ${kind}`);
}

describe('packFiles', () => {
  test('round trip through unpackEntries is byte-exact for tricky names, modes and empty dirs', async () => {
    const archive = await packFiles(trickyFiles);
    const out = await unpackEntries(Readable.from([archive]));
    // Without stripFirst, names are relative to "/" and start with "w/".
    const entries = out.entries.map((e) => ({ ...e, path: e.path.replace(/^w\//, '') }));
    // packFiles writes no parent entries: add what an extractor would create.
    entries.push({ path: 'a/b/c', type: 'directory', mode: 0o755, size: 0 });
    assertTrickyRoundTrip(entries);
    assert.equal(out.totalBytes, trickyFiles.reduce((n, f) => n + (f.type === 'directory' ? 0 : f.content.byteLength), 0));
    assert.deepEqual(out.omitted, []);
  });

  test('GNU tar extracts the archive exactly (names, content, modes, empty dirs)', async (t) => {
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('no tar on this machine');
      return;
    }
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-tar-'));
    try {
      execFileSync('tar', ['-x', '-C', dir, '--no-same-owner'], { input: await packFiles(trickyFiles) });
      for (const f of trickyFiles) {
        const p = join(dir, f.path);
        const st = fs.statSync(p);
        if (f.type === 'directory') {
          assert.ok(st.isDirectory(), f.path);
          assert.deepEqual(fs.readdirSync(p), []);
        } else {
          assert.deepEqual(fs.readFileSync(p), Buffer.from(f.content), f.path);
        }
        const expected = f.mode ?? (f.type === 'directory' ? 0o755 : 0o644);
        // GNU tar applies the umask to modes unless it runs as root; compare what it may keep.
        const umask = process.getuid?.() === 0 ? 0 : process.umask();
        assert.equal(st.mode & 0o7777, expected & ~umask, `mode of ${f.path}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses relative paths, "..", NUL and the root itself', async () => {
    const f = (path: string): SandboxFile[] => [{ path, content: Buffer.from('x') }];
    await rejectsKind(packFiles(f('relative/x')), 'path-escape', /not absolute/);
    await rejectsKind(packFiles(f('/w/../../etc/passwd')), 'path-escape', /"\.\."/);
    await rejectsKind(packFiles(f('/w/a\0b')), 'path-escape', /NUL/);
    await rejectsKind(packFiles(f('/')), 'path-escape');
    assert.deepEqual(sandboxPathSegments('//w/./x//y/'), ['w', 'x', 'y']);
  });
});

describe('unpackEntries', () => {
  test('strips the first component (Docker names entries after the copied directory) and drops its own entry', async () => {
    const archive = await craft([
      { header: { name: 'workspace/', type: 'directory', mode: 0o755 } },
      { header: { name: 'workspace/a.txt', mode: 0o644 }, content: Buffer.from('A') },
      { header: { name: 'workspace/sub/', type: 'directory', mode: 0o750 } },
    ]);
    const out = await unpackEntries(Readable.from([archive]), { stripFirst: true });
    assert.deepEqual(
      out.entries.map((e) => [e.path, e.type, e.mode]),
      [
        ['a.txt', 'file', 0o644],
        ['sub', 'directory', 0o750],
      ],
    );
  });

  for (const [label, name] of [
    ['a ".." name', '../evil.txt'],
    ['a ".." inside a name', 'workspace/a/../../../etc/cron.d/x'],
    ['an absolute name', '/etc/passwd'],
  ] as const) {
    test(`refuses ${label} with path-escape`, async () => {
      const archive = await craft([
        { header: { name: 'workspace/ok.txt' }, content: Buffer.from('ok') },
        { header: { name }, content: Buffer.from('pwned') },
      ]);
      await rejectsKind(unpackEntries(Readable.from([archive]), { stripFirst: true }), 'path-escape', /\.\.|absolute/);
    });
  }

  test('symlinks are reported with their target, never followed; hard links get the earlier content', async () => {
    const archive = await craft([
      { header: { name: 'w/leak', type: 'symlink', linkname: '/etc/passwd' } },
      { header: { name: 'w/rootlink', type: 'symlink', linkname: '/' } },
      { header: { name: 'w/up', type: 'symlink', linkname: '../../..' } },
      { header: { name: 'w/orig.txt' }, content: Buffer.from('shared') },
      { header: { name: 'w/hard.txt', type: 'link', linkname: 'w/orig.txt' } },
      { header: { name: 'w/fifo', type: 'fifo' } },
    ]);
    const out = await unpackEntries(Readable.from([archive]), { stripFirst: true });
    const by = new Map(out.entries.map((e) => [e.path, e]));
    assert.deepEqual(by.get('leak'), { path: 'leak', type: 'symlink', mode: by.get('leak')!.mode, size: 0, linkTarget: '/etc/passwd' });
    assert.equal(by.get('rootlink')?.linkTarget, '/');
    assert.equal(by.get('up')?.linkTarget, '../../..');
    assert.equal(by.get('leak')?.content, undefined);
    assert.equal(Buffer.from(by.get('hard.txt')!.content!).toString(), 'shared');
    assert.equal(by.get('fifo')?.type, 'other');
  });

  test('files over the per-file cap are listed without content and counted', async () => {
    const archive = await craft([
      { header: { name: 'w/small' }, content: Buffer.alloc(10, 1) },
      { header: { name: 'w/big' }, content: Buffer.alloc(5000, 2) },
    ]);
    const out = await unpackEntries(Readable.from([archive]), { stripFirst: true, maxFileBytes: 1000 });
    assert.deepEqual(out.omitted, ['big']);
    const big = out.entries.find((e) => e.path === 'big')!;
    assert.equal(big.size, 5000);
    assert.equal(big.content, undefined);
    assert.equal(out.totalBytes, 5010);
  });

  test('the total cap fails fast, names the cap and the path, and destroys the source', async () => {
    // A lazy 64 MiB archive (tar-stream writing as it is read): the read must stop long before it is drained.
    const size = 64 * 1024 * 1024;
    const source = tar.pack();
    source.entry({ name: 'w/first.txt' }, Buffer.from('fine'));
    const sink = source.entry({ name: 'w/huge.bin', size }, () => undefined);
    let produced = 0;
    const pump = (): void => {
      while (produced < size && !sink.destroyed) {
        produced += 65536;
        if (!sink.write(Buffer.alloc(65536))) {
          sink.once('drain', pump);
          return;
        }
      }
      if (!sink.destroyed) sink.end(Buffer.alloc(0));
    };
    pump();
    let closed = false;
    source.on('close', () => (closed = true));
    const e = await rejectsKind(
      unpackEntries(source as unknown as NodeJS.ReadableStream, { stripFirst: true, maxTotalBytes: 1024 * 1024, what: 'copy-out of /w' }),
      'too-large',
      /copy-out of \/w is over its 1 MiB cap while reading huge\.bin/,
    );
    assert.ok(e.message.includes(String(size)), e.message);
    await new Promise((r) => setImmediate(() => r(undefined)));
    assert.ok(closed, 'the source was not destroyed');
    assert.ok(produced < 4 * 1024 * 1024, `${produced} bytes were produced`);
  });

  test('an aborted signal rejects with cancelled', async () => {
    const controller = new AbortController();
    const source = new Readable({ read() {} }); // never ends
    const p = unpackEntries(source, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await rejectsKind(p, 'cancelled');
    assert.ok(source.destroyed);
  });

  test('a truncated archive is an error, not a partial success', async () => {
    const archive = await craft([{ header: { name: 'w/a' }, content: Buffer.alloc(2000, 3) }]);
    await rejectsKind(unpackEntries(Readable.from([archive.subarray(0, 1000)])), 'backend');
  });

  test('reads archives written by GNU tar (long names, symlinks, modes)', async (t) => {
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('no tar on this machine');
      return;
    }
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-tar-'));
    try {
      const ws = join(dir, 'ws');
      const long = 'n'.repeat(180);
      fs.mkdirSync(join(ws, long), { recursive: true });
      fs.writeFileSync(join(ws, long, 'x y.txt'), 'long');
      fs.writeFileSync(join(ws, 'exec.sh'), 'echo', { mode: 0o751 });
      fs.chmodSync(join(ws, 'exec.sh'), 0o751);
      fs.symlinkSync('/etc/shadow', join(ws, 'link'));
      const archive = execFileSync('tar', ['-c', '-C', dir, 'ws']);
      const out = await unpackEntries(Readable.from([archive]), { stripFirst: true });
      const by = new Map(out.entries.map((e) => [e.path, e]));
      assert.equal(Buffer.from(by.get(`${long}/x y.txt`)!.content!).toString(), 'long');
      assert.equal(by.get('exec.sh')?.mode, 0o751);
      assert.equal(by.get('link')?.type, 'symlink');
      assert.equal(by.get('link')?.linkTarget, '/etc/shadow');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

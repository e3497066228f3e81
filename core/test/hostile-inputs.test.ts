/**
 * Hostile inputs (issue 9, point 8): files a careless or malicious task author hands the loader.
 * Each must be refused with a clear error before it is read: a FIFO must not hang, /dev/zero or a
 * huge sparse file must not fill memory, invalid UTF-8 is located, and `validate` (the loader with
 * `contents: false`) reports the same symlink problems `run` refuses. Cases that could block the
 * process run in a child with a timeout, so a regression fails instead of hanging the suite.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { decodeUtf8, firstInvalidUtf8, MAX_SOURCE_FILE_BYTES, MAX_TASK_FILE_BYTES } from '../src/input';
import { validateTask } from '../src/language/diagnostics';
import { createTaskDocument } from '../src/language/documents';
import { nodeFileSystem } from '../src/language/fsHost';
import { loadTask } from '../src/run/load';
import { readClawGymTask } from '../src/clawgym/task';
import { parseTask } from '../src/syntax';
import { tempDirs } from './util';

const CASE = { timeout: 15_000 };
const HEAD = 'version: 1\nid: t\nintent: Do the thing.\n';
const CHECKS = 'verifier:\n  checks:\n    - id: out\n      file_exists: out.txt\n';
const tmp = tempDirs('hostile-inputs');

/**
 * Load a task in a child process (killed after 10 s, at most 256 MB of heap): a loader that opens
 * a FIFO blocking or reads /dev/zero fails the test instead of hanging or exhausting this process.
 */
function loadInChild(path: string, contents = true): { error?: string; codes: string[]; messages: string[]; ms: number } {
  const load = join(__dirname, '..', 'src', 'run', 'load.js');
  const code = `const { loadTask } = require(${JSON.stringify(load)});
    const r = loadTask({ kind: 'clawtask', path: ${JSON.stringify(path)} }, { contents: ${contents} });
    const d = r.reports.flatMap((x) => x.diagnostics);
    process.stdout.write(JSON.stringify({ error: r.error, codes: d.map((x) => x.code), messages: d.map((x) => x.message) }));`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', '-e', code], { encoding: 'utf8', timeout: 10_000 });
  const ms = Date.now() - t0;
  assert.equal(r.signal, null, `the loader was killed (${r.signal}) after ${ms} ms: it hung or grew`);
  assert.equal(r.status, 0, r.stderr);
  return { ...(JSON.parse(r.stdout) as { error?: string; codes: string[]; messages: string[] }), ms };
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

describe('hostile inputs: files that are not what they claim', () => {
  test('a FIFO as the task file is refused at once, never opened for a blocking read', CASE, () => {
    const dir = tmp();
    const fifo = join(dir, 'task.clawtask');
    mkfifo(fifo);
    for (const contents of [true, false]) {
      const r = loadInChild(fifo, contents);
      assert.deepEqual(r.codes, ['special-file']);
      assert.match(r.error ?? '', /task\.clawtask: the file is a FIFO \(named pipe\), not a regular file/);
    }
  });

  test('a FIFO as a `from` source or inside `from_dir` is refused by run and reported by validate', CASE, () => {
    const dir = tmp();
    mkfifo(join(dir, 'pipe'));
    fs.mkdirSync(join(dir, 'in'));
    fs.writeFileSync(join(dir, 'in', 'ok.txt'), 'ok');
    mkfifo(join(dir, 'in', 'pipe2'));
    const fromTask = join(dir, 'from.clawtask');
    fs.writeFileSync(fromTask, HEAD + 'workspace:\n  files:\n    data.txt:\n      from: pipe\n' + CHECKS);
    const dirTask = join(dir, 'dir.clawtask');
    fs.writeFileSync(dirTask, HEAD + 'workspace:\n  from_dir: in\n' + CHECKS);
    for (const contents of [true, false]) {
      const a = loadInChild(fromTask, contents);
      assert.deepEqual(a.codes, ['special-file']);
      assert.match(a.messages[0] ?? '', /`pipe` is not a regular file \(a FIFO/);
      const b = loadInChild(dirTask, contents);
      assert.deepEqual(b.codes, ['special-file']);
      assert.match(b.messages[0] ?? '', /`pipe2` is a FIFO \(named pipe\), not a regular file/);
    }
  });

  test('/dev/zero as the task file is a device, refused without reading a byte', CASE, () => {
    const r = loadInChild('/dev/zero');
    assert.deepEqual(r.codes, ['special-file']);
    assert.match(r.error ?? '', /\/dev\/zero: the file is a character device, not a regular file/);
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  test('a huge sparse task file and a huge sparse `from` source are refused from their size', CASE, () => {
    const dir = tmp();
    const big = join(dir, 'big.clawtask');
    fs.writeFileSync(big, HEAD + CHECKS);
    fs.truncateSync(big, 10 * 1024 ** 3); // 10 GiB, sparse: nothing is written
    const r = loadInChild(big);
    assert.deepEqual(r.codes, ['file-too-large']);
    const over = 10 * 1024 ** 3 - MAX_TASK_FILE_BYTES;
    assert.match(r.error ?? '', new RegExp(`10,737,418,240 bytes, ${over.toLocaleString('en-US')} bytes over the cap of ${MAX_TASK_FILE_BYTES.toLocaleString('en-US')} bytes \\(4 MiB\\)`));

    const data = join(dir, 'data.bin');
    fs.writeFileSync(data, '');
    fs.truncateSync(data, 100 * 1024 ** 3);
    const task = join(dir, 't.clawtask');
    fs.writeFileSync(task, HEAD + 'workspace:\n  files:\n    data.bin:\n      from: data.bin\n' + CHECKS);
    for (const contents of [true, false]) {
      const s = loadInChild(task, contents);
      assert.deepEqual(s.codes, ['file-too-large']);
      assert.match(s.messages[0] ?? '', new RegExp(`over the cap of ${MAX_SOURCE_FILE_BYTES.toLocaleString('en-US')} bytes`));
      assert.ok(s.ms < 5000, `took ${s.ms} ms`);
    }
  });
});

describe('hostile inputs: encodings and YAML', () => {
  test('invalid UTF-8 in a task file is an error at the first bad byte, not replaced silently', CASE, () => {
    const dir = tmp();
    const file = join(dir, 't.clawtask');
    // Line 3 is `intent: caf\xe9 au lait` (Latin-1 é): the bad byte is at column 12.
    fs.writeFileSync(file, Buffer.concat([Buffer.from('version: 1\nid: t\nintent: caf'), Buffer.from([0xe9]), Buffer.from(' au lait\n' + CHECKS)]));
    const r = loadTask({ kind: 'clawtask', path: file });
    assert.equal(r.task, undefined);
    const report = r.reports[0]!;
    const d = report.diagnostics[0]!;
    assert.equal(d.code, 'invalid-encoding');
    assert.match(d.message, /not valid UTF-8: byte 0xe9 at line 3, column 12 \(byte offset 28\)/);
    // The span points at the replacement character in the text the report carries.
    assert.equal(report.text?.[d.span.start], '\uFFFD');
    assert.match(r.error ?? '', /t\.clawtask:3:12: the file is not valid UTF-8/);
  });

  test('invalid UTF-8 in data_entry.json is located too', CASE, () => {
    const dir = tmp();
    fs.mkdirSync(join(dir, 'reward'));
    fs.writeFileSync(join(dir, 'reward', 'reward.sh'), 'echo 1\n');
    fs.writeFileSync(join(dir, 'data_entry.json'), Buffer.concat([Buffer.from('{\n  "task_id": "x",\n  "user_query": "'), Buffer.from([0xc3, 0x28]), Buffer.from('",\n  "metadata": {}\n}\n')]));
    const read = readClawGymTask(dir);
    const bad = read.reports.flatMap((x) => x.diagnostics).find((x) => x.code === 'invalid-encoding');
    assert.ok(bad, JSON.stringify(read.reports));
    assert.match(bad.message, /`data_entry.json` is not valid UTF-8: byte 0xc3 at line 3, column 18/);
  });

  test('the UTF-8 checker finds overlong forms, surrogates, stray continuation bytes and truncated sequences', () => {
    const cases: [number[], number][] = [
      [[0x61, 0x62], 2],
      [[0x61, 0xc0, 0xaf], 1], // overlong '/'
      [[0xed, 0xa0, 0x80], 0], // a surrogate
      [[0x61, 0x80], 1], // a stray continuation byte
      [[0x61, 0xe2, 0x82], 1], // truncated at the end
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
      [[0xe2, 0x82, 0xac, 0xff], 3], // € then a bad byte
    ];
    for (const [bytes, at] of cases) assert.equal(firstInvalidUtf8(Uint8Array.from(bytes)), at, bytes.map((b) => b.toString(16)).join(' '));
    const d = decodeUtf8(Uint8Array.from([0x61, 0x0a, 0xe2, 0x82, 0xac, 0xff]), 'x');
    assert.ok('problem' in d);
    assert.match(d.problem.message, /line 2, column 2 \(byte offset 5\)/);
  });

  test('an alias bomb ("billion laughs") says the alias limit was exceeded, where', () => {
    const text =
      HEAD +
      'x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n' +
      'x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n' +
      'x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n' +
      'x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n' +
      'x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n' +
      CHECKS;
    const parsed = parseTask(text);
    const problem = parsed.syntaxErrors.find((e) => e.yamlCode === 'ALIAS_LIMIT');
    assert.ok(problem, JSON.stringify(parsed.syntaxErrors));
    const diags = validateTask(createTaskDocument('/x/bomb.clawtask', 0, text), nodeFileSystem);
    const d = diags.find((x) => x.code === 'yaml-syntax');
    assert.ok(d, JSON.stringify(diags));
    assert.match(d.message, /the alias limit was exceeded.*billion laughs/);
    assert.ok(!diags.some((x) => /no content/.test(x.message)), 'still says the document has no content');
    // At an alias of the line where the expansion went over the limit.
    const pos = parsed.lines.positionAt(d.span.start);
    assert.equal(text.slice(d.span.start, d.span.end)[0], '*');
    assert.ok(pos.line >= 6 && pos.line <= 7, `line ${pos.line + 1}`);
  });
});

describe('hostile inputs: symlinks validate must report as run refuses them', () => {
  test('validate (contents: false) reports exactly the symlink problems that run refuses', CASE, () => {
    const outside = tmp();
    fs.writeFileSync(join(outside, 'secret.txt'), 'secret');
    const dir = tmp();
    fs.mkdirSync(join(dir, 'in', 'sub'), { recursive: true });
    fs.writeFileSync(join(dir, 'in', 'ok.txt'), 'ok');
    fs.symlinkSync('ok.txt', join(dir, 'in', 'inside-link')); // fine: stays inside
    fs.symlinkSync(join(outside, 'secret.txt'), join(dir, 'in', 'escape-abs'));
    fs.symlinkSync('../../../etc/hostname', join(dir, 'in', 'sub', 'escape-rel'));
    fs.symlinkSync('nope.txt', join(dir, 'in', 'dangling'));
    fs.symlinkSync('..', join(dir, 'in', 'sub', 'loop'));
    fs.symlinkSync(join(outside, 'secret.txt'), join(dir, 'data-link'));
    fs.mkdirSync(join(dir, 'reward'));
    fs.writeFileSync(join(dir, 'reward', 'reward.sh'), 'echo 1\n');
    fs.symlinkSync('/etc/passwd', join(dir, 'reward', 'passwd'));
    const task = join(dir, 't.clawtask');
    fs.writeFileSync(task, HEAD + 'workspace:\n  from_dir: in\n  files:\n    data.txt:\n      from: data-link\n' + 'verifier:\n  reward_script: reward/reward.sh\n');
    const key = (r: ReturnType<typeof loadTask>) =>
      r.reports
        .flatMap((x) => x.diagnostics.map((d) => `${x.file.slice(dir.length)} ${d.code}`))
        .sort();
    const run = loadTask({ kind: 'clawtask', path: task });
    const validate = loadTask({ kind: 'clawtask', path: task }, { contents: false });
    assert.equal(run.task, undefined);
    assert.deepEqual(key(validate), key(run));
    assert.deepEqual(key(run), [
      '/in/dangling from-missing',
      '/in/escape-abs symlink-escape',
      '/in/sub/escape-rel symlink-escape',
      '/in/sub/loop symlink-escape',
      '/reward/passwd symlink-escape',
      '/t.clawtask symlink-escape',
    ]);
  });
});

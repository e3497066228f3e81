/**
 * Hostile inputs at the CLI (issue 9, point 8), through the compiled CLI as a child process with a
 * short timeout and a small heap, so a regression (a FIFO that hangs `validate`, /dev/zero that
 * fills memory) fails the test instead of hanging it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tempDirs } from '../../core/test/util';

const repoRoot = join(__dirname, '..', '..', '..');
const cliJs = join(repoRoot, 'out', 'cli', 'src', 'main.js');
const CASE = { timeout: 20_000 };
const HEAD = 'version: 1\nid: t\nintent: Do the thing.\n';
const CHECKS = 'verifier:\n  checks:\n    - id: out\n      file_exists: out.txt\n';

const tmp = tempDirs('hostile-cli');

function cli(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', cliJs, ...args], { cwd, encoding: 'utf8', timeout: 10_000, env: { ...process.env, NO_COLOR: '1' } });
  const ms = Date.now() - t0;
  assert.equal(r.signal, null, `the CLI was killed (${r.signal}) after ${ms} ms: it hung or grew; stderr: ${r.stderr}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms };
}

describe('hostile inputs: clawgym validate', () => {
  test('a FIFO does not hang validate: an error naming it', CASE, () => {
    const dir = tmp();
    execFileSync('mkfifo', [join(dir, 'pipe.clawtask')]);
    const r = cli(['validate', 'pipe.clawtask'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^pipe\.clawtask:1:1 error special-file the file is a FIFO \(named pipe\), not a regular file$/m);
  });

  test('validate /dev/zero is refused at once, without reading it', CASE, () => {
    const r = cli(['validate', '/dev/zero'], tmp());
    assert.equal(r.status, 1);
    assert.match(r.stdout, /\/dev\/zero:1:1 error special-file the file is a character device, not a regular file/);
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  test('a huge sparse task file is refused from its size', CASE, () => {
    const dir = tmp();
    fs.writeFileSync(join(dir, 'big.clawtask'), HEAD + CHECKS);
    fs.truncateSync(join(dir, 'big.clawtask'), 20 * 1024 ** 3);
    const r = cli(['validate', 'big.clawtask'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /big\.clawtask:1:1 error file-too-large the file is 21,474,836,480 bytes, [\d,]+ bytes over the cap of 4,194,304 bytes \(4 MiB\)/);
  });

  test('invalid UTF-8 is reported at its line and column', CASE, () => {
    const dir = tmp();
    fs.writeFileSync(join(dir, 't.clawtask'), Buffer.concat([Buffer.from('version: 1\nid: t\nintent: caf'), Buffer.from([0xe9]), Buffer.from('\n' + CHECKS)]));
    const r = cli(['validate', 't.clawtask'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^t\.clawtask:3:12 error invalid-encoding the file is not valid UTF-8: byte 0xe9 at line 3, column 12/m);
  });

  test('every symlink run would refuse is reported, one line each', CASE, () => {
    const dir = tmp();
    fs.mkdirSync(join(dir, 'in', 'sub'), { recursive: true });
    fs.writeFileSync(join(dir, 'in', 'ok.txt'), 'ok');
    fs.symlinkSync('/etc/hostname', join(dir, 'in', 'host'));
    fs.symlinkSync('../../t.clawtask', join(dir, 'in', 'sub', 'up'));
    fs.symlinkSync('gone.txt', join(dir, 'in', 'dangling'));
    fs.writeFileSync(join(dir, 't.clawtask'), HEAD + 'workspace:\n  from_dir: in\n' + CHECKS);
    const r = cli(['validate', 't.clawtask'], dir);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^in\/host:1:1 error symlink-escape symbolic link `host` points outside the copied folder/m);
    assert.match(r.stdout, /^in\/sub\/up:1:1 error symlink-escape symbolic link `sub\/up` points outside the copied folder/m);
    assert.match(r.stdout, /^in\/dangling:1:1 error from-missing symbolic link `dangling` is dangling/m);
  });

  test('an alias bomb says the alias limit was exceeded, at the alias', CASE, () => {
    const dir = tmp();
    const lines = [HEAD.trimEnd(), 'x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [k, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd']]) lines.push(`x-${k}: &${k} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    fs.writeFileSync(join(dir, 'bomb.clawtask'), lines.join('\n') + '\n' + CHECKS);
    const r = cli(['validate', 'bomb.clawtask'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^bomb\.clawtask:7:10 error yaml-syntax the alias limit was exceeded/m);
    assert.doesNotMatch(r.stdout, /no content/);
  });
});

describe('hostile inputs: path options', () => {
  test('--runs-dir naming a file is a one-sentence usage error (exit 2), not a stack trace', CASE, () => {
    const dir = tmp();
    fs.writeFileSync(join(dir, 't.clawtask'), HEAD + CHECKS);
    fs.writeFileSync(join(dir, 'afile'), '');
    for (const [flag, expected] of [
      ['afile', /^clawgym: `--runs-dir afile` names a regular file, not a folder$/m],
      ['afile/sub', /^clawgym: `--runs-dir afile\/sub` cannot be created: `.*afile` is a regular file, not a folder$/m],
    ] as const) {
      const r = cli(['run', 't.clawtask', '--agent', 'nop', '--backend', 'local', '--runs-dir', flag], dir);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'a stack trace');
    }
  });

  test('--out of export/import naming a file, and of export sft naming a folder, are usage errors', CASE, () => {
    const dir = tmp();
    fs.writeFileSync(join(dir, 't.clawtask'), HEAD + CHECKS);
    fs.writeFileSync(join(dir, 'afile'), '');
    const e = cli(['export', 't.clawtask', '--out', 'afile'], dir);
    assert.equal(e.status, 2);
    assert.match(e.stderr, /`--out afile` names a regular file, not a folder/);
    const i = cli(['import', dir, '--out', 'afile'], dir);
    assert.equal(i.status, 2);
    const s = cli(['export', 'sft', dir, '--out', dir], dir);
    assert.equal(s.status, 2);
    assert.match(s.stderr, /names a folder, not a file/);
  });
});

/**
 * `clawgym run`'s exit codes tell infrastructure errors apart from failures: 0 every trial passed,
 * 1 a trial failed (the agent tried; the reward decided), 3 a trial ended in `error` (the engine,
 * a setup command, our own code), whatever else happened in the run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { assertDocker, needsDocker } from '../../core/test/docker';
import { EXIT_ERRORS, exitCodeFor } from '../src/run';

const repoRoot = join(__dirname, '..', '..', '..');
const cliJs = join(repoRoot, 'out', 'cli', 'src', 'main.js');

describe('exit codes of run', () => {
  test('errors (3) over failures (1) over success (0); a refused task is a failure', () => {
    assert.equal(EXIT_ERRORS, 3);
    assert.equal(exitCodeFor([{ status: 'passed' }, { status: 'passed' }], 0), 0);
    assert.equal(exitCodeFor([{ status: 'passed' }, { status: 'failed' }], 0), 1);
    assert.equal(exitCodeFor([{ status: 'passed' }], 1), 1);
    assert.equal(exitCodeFor([{ status: 'failed' }, { status: 'error' }], 0), 3);
    assert.equal(exitCodeFor([{ status: 'error' }], 1), 3);
    assert.equal(exitCodeFor([], 0), 1);
  });

  test('on the real engine: a trial whose setup fails is an error, exit 3; a failed check is exit 1', needsDocker(), (t) => {
    assertDocker(t);
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-exit-'));
    const task = (id: string, setup: string) => {
      const file = join(dir, `${id}.clawtask`);
      fs.writeFileSync(file, `version: 1\nid: ${id}\nintent: Nothing.\nworkspace:\n  files:\n    a.txt: "a"\n${setup}verifier:\n  checks:\n    - id: b\n      file_exists: b.txt\n`);
      return file;
    };
    const run = (file: string) => spawnSync(process.execPath, [cliJs, 'run', file, '--agent', 'nop', '--backend', 'docker', '--no-save'], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
    const broken = run(task('broken-setup', '  setup:\n    - exit 7\n'));
    assert.equal(broken.status, 3, broken.stderr);
    assert.match(broken.stdout, /error in setup: setup command exited with code 7/);
    const failed = run(task('fails', ''));
    assert.equal(failed.status, 1, failed.stderr);
  });
});

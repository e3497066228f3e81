import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join, relative } from 'node:path';
import {
  DataEntry,
  findTasks,
  isClawGymTaskDir,
  parseJson,
  jsonValue,
  readClawGymTask,
  validateDataEntry,
  type FileDiagnostics,
} from '../src/clawgym';
import { DIAGNOSTIC_CODES } from '../src/language/types';
import { LineIndex } from '../src/syntax';
import { fixturesDir } from './util';

const execFileAsync = promisify(execFile);
const clawgymDir = join(fixturesDir, 'clawgym');
const validDir = join(clawgymDir, 'valid');
const invalidDir = join(clawgymDir, 'invalid');
const subdirs = (dir: string): string[] => fs.readdirSync(dir).filter((n) => fs.statSync(join(dir, n)).isDirectory()).sort();

/** `relative/file:line:col severity code` for every diagnostic of a task dir, sorted. */
function summarize(taskDir: string, reports: FileDiagnostics[]): string[] {
  const out: string[] = [];
  for (const r of reports) {
    const index = r.text !== undefined ? new LineIndex(r.text) : undefined;
    for (const d of r.diagnostics) {
      const p = index ? index.positionAt(d.span.start) : { line: 0, character: 0 };
      out.push(`${relative(taskDir, r.file) || '.'}:${p.line + 1}:${p.character + 1} ${d.severity} ${d.code}`);
    }
  }
  return out.sort();
}

describe('parseJson', () => {
  const valid = [
    '{}',
    '[]',
    ' {"a": [1, -2.5e3, true, false, null, "x\\ny\\u00e9\\"\\\\\\/"], "b": {"c": {}}} ',
    '"just a string"',
    '0',
    '-0.5',
    '{"__proto__": {"polluted": true}, "k": 1}',
    '{"0.25": "a", "1": "b", "0": "c"}',
    '"\\ud83d\\udcc4 emoji escapes"',
    '{"dup": 1, "dup": 2}',
  ];
  for (const text of valid) {
    test(`reads ${JSON.stringify(text)} exactly as JSON.parse does`, () => {
      const r = parseJson(text);
      assert.equal(r.error, undefined, r.error?.message);
      assert.deepEqual(jsonValue(r.root!), JSON.parse(text));
    });
  }

  const invalid: [string, number, RegExp][] = [
    ['{"a": 1,}', 8, /trailing comma/],
    ['{"a": 1 "b": 2}', 8, /missing `,`/],
    ['[1, 2,]', 6, /trailing comma/],
    ["{'a': 1}", 1, /double quotes/],
    ['{"a": 01}', 7, /after a property/],
    ['{"a": "x\ny"}', 8, /control character/],
    ['{"a": "\\x"}', 7, /invalid escape/],
    ['{"a": tru}', 6, /expected a value/],
    ['{"a": 1} // note', 9, /after the end/],
    ['{"a": ', 6, /end of file/],
    ['{"a": "open', 6, /unterminated string/],
    ['\ufeff{}', 0, /byte-order mark/],
    ['', 0, /end of file/],
    ['-', 0, /expected a value/],
  ];
  for (const [text, offset, message] of invalid) {
    test(`rejects ${JSON.stringify(text)} at offset ${offset}`, () => {
      assert.throws(() => JSON.parse(text), 'JSON.parse must reject it too (or the case is wrong)');
      const r = parseJson(text);
      assert.equal(r.root, undefined);
      assert.ok(r.error, 'an error');
      assert.equal(r.error.span.start, offset, r.error.message);
      assert.match(r.error.message, message);
    });
  }

  test('keeps the span of every key and value', () => {
    const text = '{\n  "task_id": "t",\n  "metadata": {"x": [1, 2]}\n}';
    const root = parseJson(text).root!;
    assert.equal(root.type, 'object');
    if (root.type !== 'object') return;
    const [taskId, metadata] = root.properties;
    assert.equal(text.slice(taskId!.keySpan.start, taskId!.keySpan.end), '"task_id"');
    assert.equal(text.slice(taskId!.value.span.start, taskId!.value.span.end), '"t"');
    assert.equal(text.slice(metadata!.value.span.start, metadata!.value.span.end), '{"x": [1, 2]}');
  });

  test('a deeply nested file is an error, not a stack overflow', () => {
    const r = parseJson('['.repeat(100_000));
    assert.match(r.error!.message, /nesting deeper/);
  });
});

describe('data_entry.json', () => {
  const good = { task_id: 'task_0000', user_query: 'Do it.', metadata: {}, input_mount_dir: '/root/.openclaw/workspace' };

  test('the zod schema accepts the published shape, relative mount dirs and no mount dir', () => {
    assert.ok(DataEntry.safeParse(good).success);
    assert.ok(DataEntry.safeParse({ ...good, input_mount_dir: 'input' }).success);
    const { input_mount_dir: _drop, ...noMount } = good;
    assert.ok(DataEntry.safeParse(noMount).success);
    assert.ok(!DataEntry.safeParse({ ...good, input_mount_dir: 'a/../../b' }).success);
    assert.ok(!DataEntry.safeParse({ ...good, metadata: [] }).success);
    assert.ok(!DataEntry.safeParse({ ...good, metadata: null }).success);
    assert.ok(!DataEntry.safeParse({ ...good, user_query: '' }).success);
  });

  test('a valid entry gives the model and no diagnostics', () => {
    const r = validateDataEntry(JSON.stringify(good), { folderName: 'task_0000', hasInputs: true });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.entry, { taskId: 'task_0000', userQuery: 'Do it.', metadata: {}, inputMountDir: '/root/.openclaw/workspace', extra: {} });
  });

  test('unknown keys are kept in `extra` and warned about, with a did-you-mean for typos', () => {
    const text = JSON.stringify({ ...good, user_querry: 'typo', source: 'import' });
    const r = validateDataEntry(text, { folderName: 'task_0000' });
    assert.deepEqual(r.entry?.extra, { user_querry: 'typo', source: 'import' });
    const codes = r.diagnostics.map((d) => [d.code, d.severity, d.data?.suggestion]);
    assert.deepEqual(codes, [
      ['unknown-key', 'warning', '"user_query"'],
      ['unknown-key', 'warning', undefined],
    ]);
    const d = r.diagnostics[0]!;
    assert.equal(text.slice(d.span.start, d.span.end), '"user_querry"');
  });

  test('missing fields are listed in data.missing, at the opening brace', () => {
    const r = validateDataEntry('  {"task_id": "x"}', { folderName: 'x' });
    assert.equal(r.entry, undefined);
    const d = r.diagnostics.find((x) => x.code === 'missing-field')!;
    assert.deepEqual(d.data?.missing, ['user_query', 'metadata']);
    assert.deepEqual(d.span, { start: 2, end: 3 });
  });

  test('a `task_id` differing from the folder suggests the folder name', () => {
    const r = validateDataEntry(JSON.stringify({ ...good, task_id: 'other' }), { folderName: 'task_0000' });
    assert.equal(r.diagnostics.length, 1);
    assert.equal(r.diagnostics[0]!.code, 'task-id-mismatch');
    assert.equal(r.diagnostics[0]!.severity, 'warning');
    assert.equal(r.diagnostics[0]!.data?.suggestion, '"task_0000"');
    assert.ok(r.entry, 'a mismatch is only a warning: the task is still usable');
  });

  test('every code it emits is a registered diagnostic code', () => {
    const texts = ['{', '[]', '{"task_id": 1}', JSON.stringify({ ...good, x: 1, input_mount_dir: '../a' }), '{"a":1,"a":2}'];
    for (const t of texts) for (const d of validateDataEntry(t, { hasInputs: true }).diagnostics) assert.ok(d.code in DIAGNOSTIC_CODES, d.code);
  });
});

describe('valid ClawGym fixtures', () => {
  const names = subdirs(validDir);
  test('there are at least 4', () => assert.ok(names.length >= 4, names.join(', ')));
  for (const name of names) {
    test(`${name} reads without diagnostics, losslessly`, () => {
      const dir = join(validDir, name);
      assert.ok(isClawGymTaskDir(dir));
      const r = readClawGymTask(dir);
      assert.deepEqual(summarize(dir, r.reports), []);
      const raw = fs.readFileSync(join(dir, 'data_entry.json'), 'utf8');
      const json = JSON.parse(raw) as Record<string, unknown>;
      const task = r.task!;
      assert.equal(task.raw, raw);
      assert.equal(task.taskId, name);
      assert.equal(task.taskId, json.task_id);
      assert.equal(task.userQuery, json.user_query);
      assert.deepEqual(task.metadata, json.metadata);
      assert.equal(task.inputMountDir, json.input_mount_dir);
      assert.equal(task.paths.dir, dir);
      assert.equal(task.paths.rewardScript, join(dir, 'reward', 'reward.sh'));
      assert.equal(task.paths.inputFiles, fs.existsSync(join(dir, 'input_files')) ? join(dir, 'input_files') : undefined);
    });
  }

  test('every reward.sh is byte-identical, as in the published benchmark', () => {
    const scripts = new Set(names.map((n) => fs.readFileSync(join(validDir, n, 'reward', 'reward.sh'), 'utf8')));
    assert.equal(scripts.size, 1);
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  test('with no agent at all (inputs only), every grader gives reward 0', { skip: !python && 'python3 is not installed' }, async () => {
    // Graders run concurrently: each costs a few Python start-ups.
    await Promise.all(
      names.map(async (name) => {
        const dir = join(validDir, name);
        const task = readClawGymTask(dir).task!;
        const ws = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-noop-'));
        try {
          if (task.inputMountDir !== undefined && task.paths.inputFiles) {
            const dest = task.inputMountDir.startsWith('/') ? ws : join(ws, task.inputMountDir);
            fs.cpSync(task.paths.inputFiles, dest, { recursive: true });
          }
          const r = await execFileAsync('bash', [task.paths.rewardScript], { cwd: ws, env: { ...process.env, OPENCLAW_WORKSPACE: ws }, encoding: 'utf8', timeout: 30_000 });
          const last = r.stdout.trim().split('\n').pop()!;
          assert.equal(Number(last), 0, `${name}: no-op reward ${last}`);
        } finally {
          fs.rmSync(ws, { recursive: true, force: true });
        }
      }),
    );
  });
});

describe('invalid ClawGym fixtures', () => {
  /** Expected diagnostics per fixture (path relative to the task dir, 1-based line:col). */
  const expected: Record<string, string[]> = {
    'duplicate-and-typo': ['data_entry.json:4:3 warning unknown-key', 'data_entry.json:6:3 error duplicate-key'],
    'inputs-ignored': ['data_entry.json:1:1 warning inputs-ignored'],
    'invalid-json': ['data_entry.json:4:3 error json-syntax'],
    'long-query': ['data_entry.json:3:17 warning invalid-value'],
    'missing-data-entry': ['.:1:1 error missing-file'],
    'missing-fields': ['data_entry.json:1:1 error missing-field'],
    'missing-reward': ['.:1:1 error missing-file'],
    'mount-dir-escape': ['data_entry.json:5:22 error path-escape'],
    // The emoji before the error is two UTF-16 code units: column 102, not 101.
    'non-ascii-columns': ['data_entry.json:1:102 error invalid-type'],
    'not-an-object': ['data_entry.json:1:1 error not-a-mapping'],
    'symlink-escape-input': ['input_files/input/hostname:1:1 error symlink-escape', 'input_files/input/stolen.json:1:1 error symlink-escape'],
    'symlink-escape-reward': ['reward/check.py:1:1 error symlink-escape'],
    'task-id-mismatch': ['data_entry.json:2:14 warning task-id-mismatch'],
    'wrong-types': [
      'data_entry.json:2:14 error invalid-type',
      'data_entry.json:3:17 error invalid-value',
      'data_entry.json:4:15 error invalid-type',
      'data_entry.json:5:22 error invalid-type',
    ],
  };

  test('every fixture has an expectation, and there are at least 6', () => {
    assert.deepEqual(subdirs(invalidDir), Object.keys(expected).sort());
  });

  test('the symlink fixtures are real symlinks (a checkout without symlinks would make the test vacuous)', () => {
    assert.ok(fs.lstatSync(join(invalidDir, 'symlink-escape-input/input_files/input/stolen.json')).isSymbolicLink());
    assert.ok(fs.lstatSync(join(invalidDir, 'symlink-escape-reward/reward/check.py')).isSymbolicLink());
  });

  for (const [name, want] of Object.entries(expected)) {
    test(`${name}`, () => {
      const dir = join(invalidDir, name);
      assert.ok(isClawGymTaskDir(dir));
      assert.deepEqual(summarize(dir, readClawGymTask(dir).reports), [...want].sort());
    });
  }

  test('a symlink that stays inside the task dir is fine', () => {
    const r = readClawGymTask(join(invalidDir, 'symlink-escape-input'));
    assert.ok(!r.reports.some((x) => x.file.endsWith('people-link.csv')));
  });

  test('diagnostics on data_entry.json span exactly the offending token', () => {
    const dir = join(invalidDir, 'wrong-types');
    const report = readClawGymTask(dir).reports.find((r) => r.text !== undefined)!;
    const texts = report.diagnostics.map((d) => report.text!.slice(d.span.start, d.span.end));
    assert.deepEqual(texts, ['17', '""', '["category", "data-analysis"]', 'true']);
  });
});

describe('findTasks and isClawGymTaskDir', () => {
  let tmp = '';
  const setup = (): string => {
    tmp = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-find-'));
    const w = (p: string, text = ''): void => {
      fs.mkdirSync(join(tmp, p, '..'), { recursive: true });
      fs.writeFileSync(join(tmp, p), text);
    };
    w('b.clawtask');
    w('a.clawtask');
    w('notes.md');
    w('sub/deeper/c.clawtask');
    w('node_modules/pkg/skip.clawtask');
    w('.hidden/skip.clawtask');
    w('gym/task_2/data_entry.json', '{}');
    w('gym/task_1/data_entry.json', '{}');
    w('gym/task_1/input_files/input/inner.clawtask'); // an input file, not a task
    w('gym/task_1/export.clawtask'); // a converted copy next to the folder: validated too
    w('broken/reward/reward.sh'); // no data_entry.json, still a ClawGym dir
    w('clawtask-with-reward/t.clawtask');
    w('clawtask-with-reward/reward/reward.sh');
    return tmp;
  };

  test('expands folders recursively, sorted, skipping node_modules and dot-dirs', () => {
    const root = setup();
    try {
      const found = findTasks(['.'], root);
      assert.deepEqual(found.missing, []);
      assert.deepEqual(
        found.tasks.map((t) => `${t.kind} ${relative(root, t.path)}`),
        [
          'clawtask a.clawtask',
          'clawtask b.clawtask',
          'clawgym broken',
          'clawtask clawtask-with-reward/t.clawtask',
          'clawgym gym/task_1',
          'clawtask gym/task_1/export.clawtask',
          'clawgym gym/task_2',
          'clawtask sub/deeper/c.clawtask',
        ],
      );
      assert.ok(isClawGymTaskDir(join(root, 'broken')));
      assert.ok(!isClawGymTaskDir(join(root, 'clawtask-with-reward')));
      assert.ok(!isClawGymTaskDir(join(root, 'gym')));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('explicit files and dirs: order kept, duplicates dropped, data_entry.json means its folder, missing reported', () => {
    const root = setup();
    try {
      const found = findTasks(['gym/task_2/data_entry.json', 'notes.md', 'nope', 'gym/task_2', 'a.clawtask', 'sub'], root);
      assert.deepEqual(found.missing, ['nope']);
      assert.deepEqual(
        found.tasks.map((t) => `${t.kind} ${relative(root, t.path)}`),
        ['clawgym gym/task_2', 'clawtask notes.md', 'clawtask a.clawtask', 'clawtask sub/deeper/c.clawtask'],
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('finds every fixture under test-fixtures/clawgym', () => {
    const found = findTasks([clawgymDir]);
    const want = [...subdirs(invalidDir).map((n) => join(invalidDir, n)), ...subdirs(validDir).map((n) => join(validDir, n))];
    assert.deepEqual(found.tasks.map((t) => t.path), want);
    assert.ok(found.tasks.every((t) => t.kind === 'clawgym'));
  });
});

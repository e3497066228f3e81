/**
 * End-to-end tests of the compiled CLI (`node out/cli/src/main.js ...`) as a child process:
 * output lines, --json, exit codes, default `.`, mixed files and folders, colors.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

const repoRoot = join(__dirname, '..', '..', '..');
const cliJs = join(repoRoot, 'out', 'cli', 'src', 'main.js');
const fixtures = join(repoRoot, 'test-fixtures');
const gym = 'test-fixtures/clawgym';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** Run the CLI; env is cleaned of color variables unless given. */
function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Run {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NO_COLOR' && k !== 'FORCE_COLOR') env[k] = v;
  const r = spawnSync(process.execPath, [cliJs, ...args], { cwd: opts.cwd ?? repoRoot, env: { ...env, ...opts.env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter((l) => l !== '') };
}

const LINE_RE = /^(?<file>[^\s:]+):(?<line>\d+):(?<col>\d+) (?<severity>error|warning|info|hint) (?<code>[a-z-]+) (?<message>.+)$/;

describe('help and version', () => {
  test('--help lists the commands and exits 0', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const cmd of ['validate', 'schema', 'help']) assert.match(r.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
  });

  test('no arguments prints the help', () => {
    const r = run([]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: clawgym <command>/);
  });

  test('--version prints package.json\'s version', () => {
    const pkg = JSON.parse(fs.readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = run([flag]);
      assert.equal(r.status, 0);
      assert.equal(r.stdout, `${pkg.version}\n`);
    }
  });

  test('help <cmd> and <cmd> --help show the command\'s help, with its exit codes', () => {
    const a = run(['help', 'validate']);
    const b = run(['validate', '--help']);
    assert.equal(a.status, 0);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, /--json/);
    assert.match(a.stdout, /Exit codes:/);
    assert.match(a.stdout, /UTF-16/);
  });
});

describe('usage errors exit 2 with a clear message', () => {
  const cases: [string[], RegExp][] = [
    [['validate', '--jsn', gym], /unknown option `--jsn` for `validate`; did you mean `--json`\?/],
    [['valdiate'], /unknown command `valdiate`; did you mean `validate`\?/],
    [['frobnicate'], /unknown command `frobnicate`/],
    [['--bogus'], /unknown option `--bogus`/],
    [['validate', 'no/such/path.clawtask'], /path not found: no\/such\/path\.clawtask/],
    [['help', 'nope'], /unknown command `nope`/],
    [['schema', 'yaml'], /unknown schema `yaml`/],
    [['validate', '--json=yes', gym], /`--json` takes no value/],
  ];
  for (const [args, message] of cases) {
    test(args.join(' '), () => {
      const r = run(args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  test('a folder with nothing to check is a usage error', () => {
    const empty = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-empty-'));
    try {
      const r = run(['validate'], { cwd: empty });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /no \.clawtask files or ClawGym task directories found in \./);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('validate: ClawGym task directories', () => {
  test('valid fixtures: exit 0, nothing on stdout, summary on stderr', () => {
    const r = run(['validate', `${gym}/valid`]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    const n = fs.readdirSync(join(fixtures, 'clawgym', 'valid')).length;
    assert.equal(r.stderr, `${n} files checked: 0 errors, 0 warnings\n`);
  });

  test('invalid fixtures: exit 1, one well-formed line per diagnostic, sorted by file and position', () => {
    const r = run(['validate', `${gym}/invalid`]);
    assert.equal(r.status, 1);
    assert.ok(r.lines.length >= 14, r.stdout);
    const parsed = r.lines.map((l) => {
      const m = LINE_RE.exec(l);
      assert.ok(m?.groups, `malformed line: ${l}`);
      return m.groups;
    });
    const keys = parsed.map((g) => [g.file!, Number(g.line), Number(g.col)] as const);
    const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1] || a[2] - b[2]));
    assert.deepEqual(keys, sorted);
    // exact lines for a few fixtures
    assert.ok(r.lines.includes(`${gym}/invalid/missing-data-entry:1:1 error missing-file missing \`data_entry.json\`: a ClawGym task directory needs one`));
    assert.ok(r.lines.includes(`${gym}/invalid/wrong-types/data_entry.json:2:14 error invalid-type \`task_id\` must be a string, found a number`));
    assert.ok(r.lines.some((l) => l.startsWith(`${gym}/invalid/non-ascii-columns/data_entry.json:1:102 error invalid-type `)));
    assert.ok(r.lines.some((l) => l.startsWith(`${gym}/invalid/symlink-escape-reward/reward/check.py:1:1 error symlink-escape `)));
    const errors = parsed.filter((g) => g.severity === 'error').length;
    const warnings = parsed.filter((g) => g.severity === 'warning').length;
    const n = fs.readdirSync(join(fixtures, 'clawgym', 'invalid')).length;
    assert.equal(r.stderr, `${n} files checked: ${errors} errors, ${warnings} warnings\n`);
  });

  test('--json prints the same diagnostics as a JSON array with positions and ranges', () => {
    const text = run(['validate', `${gym}/invalid`]);
    const r = run(['validate', '--json', `${gym}/invalid`]);
    assert.equal(r.status, 1);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.equal(rows.length, text.lines.length);
    for (const row of rows) assert.deepEqual(Object.keys(row), ['file', 'line', 'column', 'endLine', 'endColumn', 'severity', 'code', 'message']);
    assert.deepEqual(
      rows.map((d) => `${d.file}:${d.line}:${d.column} ${d.severity} ${d.code} ${d.message}`),
      text.lines,
    );
    const wrong = rows.find((d) => d.file === `${gym}/invalid/wrong-types/data_entry.json` && d.line === 4)!;
    // `["category", "data-analysis"]` starts at column 15 and is 29 code units long
    assert.deepEqual([wrong.column, wrong.endLine, wrong.endColumn], [15, 4, 44]);
  });

  test('--json with nothing to report prints []', () => {
    const r = run(['validate', '--json', `${gym}/valid`]);
    assert.equal(r.status, 0);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  test('warnings alone exit 0; --strict makes them exit 1; --quiet hides them', () => {
    const dir = `${gym}/invalid/task-id-mismatch`;
    const plain = run(['validate', dir]);
    assert.equal(plain.status, 0);
    assert.equal(plain.lines.length, 1);
    assert.match(plain.lines[0]!, / warning task-id-mismatch /);
    assert.equal(plain.stderr, '1 file checked: 0 errors, 1 warning\n');
    assert.equal(run(['validate', '--strict', dir]).status, 1);
    const quiet = run(['validate', '-q', dir]);
    assert.equal(quiet.status, 0);
    assert.equal(quiet.stdout, '');
    assert.equal(run(['validate', '--quiet', '--strict', dir]).status, 1, '--strict still counts hidden warnings');
  });

  test('--quiet keeps the errors', () => {
    const r = run(['validate', '--quiet', `${gym}/invalid`]);
    assert.equal(r.status, 1);
    assert.ok(r.lines.length > 0);
    assert.ok(r.lines.every((l) => / error /.test(l)), r.stdout);
  });

  test('default `.`: paths are relative to the working directory', () => {
    const r = run(['validate'], { cwd: join(fixtures, 'clawgym', 'invalid', 'wrong-types') });
    assert.equal(r.status, 1);
    assert.equal(r.lines[0], 'data_entry.json:2:14 error invalid-type `task_id` must be a string, found a number');
    const dirLevel = run(['validate'], { cwd: join(fixtures, 'clawgym', 'invalid', 'missing-reward') });
    assert.match(dirLevel.lines[0]!, /^\.:1:1 error missing-file /);
    const valid = run(['validate'], { cwd: join(fixtures, 'clawgym', 'valid') });
    assert.equal(valid.status, 0);
  });

  test('paths outside the working directory are printed absolute', () => {
    // A fresh folder as cwd: the checkout itself may live under the temp folder (CI clones there).
    const cwd = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-cwd-'));
    const r = run(['validate', join(fixtures, 'clawgym', 'invalid', 'missing-fields')], { cwd });
    fs.rmSync(cwd, { recursive: true, force: true });
    assert.equal(r.status, 1);
    assert.ok(r.lines[0]!.startsWith(join(fixtures, 'clawgym', 'invalid', 'missing-fields', 'data_entry.json') + ':1:1 '), r.lines[0]);
  });
});

describe('validate: mixed .clawtask files and folders', () => {
  test('files and dirs in one call; folders recursive, node_modules and dot-dirs skipped', () => {
    const tmp = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-mixed-'));
    try {
      const task = 'version: 1\nid: hello\nintent: Say hello in hello.txt.\nverifier:\n  checks:\n    - id: file\n      file_exists: hello.txt\n';
      fs.mkdirSync(join(tmp, 'tasks', 'nested'), { recursive: true });
      fs.mkdirSync(join(tmp, 'tasks', 'node_modules'), { recursive: true });
      fs.mkdirSync(join(tmp, 'tasks', '.cache'), { recursive: true });
      fs.writeFileSync(join(tmp, 'tasks', 'a.clawtask'), task);
      fs.writeFileSync(join(tmp, 'tasks', 'nested', 'b.clawtask'), task.replace('hello', 'bye'));
      fs.writeFileSync(join(tmp, 'tasks', 'node_modules', 'skip.clawtask'), 'not: [valid');
      fs.writeFileSync(join(tmp, 'tasks', '.cache', 'skip.clawtask'), 'not: [valid');
      fs.writeFileSync(join(tmp, 'single.clawtask'), task);
      fs.cpSync(join(fixtures, 'clawgym', 'invalid', 'missing-fields'), join(tmp, 'gym', 'missing-fields'), { recursive: true });
      fs.cpSync(join(fixtures, 'clawgym', 'valid', 'task_0101'), join(tmp, 'gym', 'task_0101'), { recursive: true });

      const r = run(['validate', 'single.clawtask', 'tasks', 'gym/task_0101', 'gym/missing-fields/data_entry.json'], { cwd: tmp });
      assert.equal(r.stderr, '5 files checked: 1 error, 0 warnings\n', 'single + a + b + two task dirs; skipped folders not counted');
      assert.equal(r.status, 1);
      assert.deepEqual(r.lines, ['gym/missing-fields/data_entry.json:1:1 error missing-field missing required fields `user_query`, `metadata`']);

      const all = run(['validate', '--json'], { cwd: tmp });
      assert.equal(all.stderr, '5 files checked: 1 error, 0 warnings\n');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('colors', () => {
  const dir = `${gym}/invalid/wrong-types`;
  const ESC = '\x1b[';
  test('no colors when stdout is not a terminal', () => {
    assert.ok(!run(['validate', dir]).stdout.includes(ESC));
  });
  test('FORCE_COLOR turns them on; NO_COLOR wins over it; --no-color too', () => {
    assert.ok(run(['validate', dir], { env: { FORCE_COLOR: '1' } }).stdout.includes(ESC));
    assert.ok(!run(['validate', dir], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } }).stdout.includes(ESC));
    assert.ok(!run(['validate', '--no-color', dir], { env: { FORCE_COLOR: '1' } }).stdout.includes(ESC));
    assert.ok(run(['validate', '--color', dir]).stdout.includes(ESC));
  });
  test('--json is never colored', () => {
    const r = run(['validate', '--json', dir], { env: { FORCE_COLOR: '1' } });
    assert.ok(!r.stdout.includes(ESC));
    JSON.parse(r.stdout);
  });
});

describe('schema', () => {
  test('prints the committed .clawtask JSON Schema', () => {
    const r = run(['schema']);
    assert.equal(r.status, 0);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(fs.readFileSync(join(repoRoot, 'schemas', 'clawtask.schema.json'), 'utf8')));
  });
  test('prints the data_entry.json schema', () => {
    const r = run(['schema', 'data-entry']);
    assert.equal(r.status, 0);
    const s = JSON.parse(r.stdout) as { properties: Record<string, unknown>; required: string[] };
    assert.deepEqual(Object.keys(s.properties), ['task_id', 'user_query', 'metadata', 'input_mount_dir']);
    assert.deepEqual(s.required, ['task_id', 'user_query', 'metadata']);
  });
});

describe('the shared fixtures (need the diagnostics engine: validateTask)', () => {
  // These pass once core's validateTask is implemented (another helper's work).
  test('`clawgym validate test-fixtures/valid` exits 0', { skip: !fs.existsSync(join(fixtures, 'valid')) && 'test-fixtures/valid does not exist yet' }, () => {
    const r = run(['validate', 'test-fixtures/valid']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
  test('`clawgym validate test-fixtures/invalid` exits 1 with a diagnostic in every file', { skip: !fs.existsSync(join(fixtures, 'invalid')) && 'test-fixtures/invalid does not exist yet' }, () => {
    const r = run(['validate', 'test-fixtures/invalid']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const files = new Set(r.lines.map((l) => LINE_RE.exec(l)?.groups?.file));
    const tasks = fs.readdirSync(join(fixtures, 'invalid')).filter((n) => n.endsWith('.clawtask'));
    for (const t of tasks) assert.ok([...files].some((f) => f?.startsWith(`test-fixtures/invalid/${t}`)), `no diagnostic for ${t}`);
  });
});

/** Unit tests of the CLI's pure parts: argv parsing and diagnostic formatting. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_NAMES, parseCommandLine } from '../src/args';
import { HELP } from '../src/main';
import { countDiagnostics, displayPath, formatLine, formatSummary, locate, sortDiagnostics, useColor, type LocatedDiagnostic } from '../src/report';

describe('parseCommandLine', () => {
  test('validate defaults to `.` and collects flags anywhere after the command', () => {
    assert.deepEqual(parseCommandLine(['validate']), { ok: true, command: { kind: 'validate', paths: ['.'], options: { json: false, quiet: false, strict: false } } });
    assert.deepEqual(parseCommandLine(['validate', 'a', '--json', 'b', '-q', '--strict', '--no-color']), {
      ok: true,
      command: { kind: 'validate', paths: ['a', 'b'], options: { json: true, quiet: true, strict: true, color: false } },
    });
  });
  test('`--` ends the options, so a file may start with a dash', () => {
    const r = parseCommandLine(['validate', '--', '--weird.clawtask']);
    assert.ok(r.ok && r.command.kind === 'validate');
    assert.deepEqual(r.command.paths, ['--weird.clawtask']);
  });
  test('help forms', () => {
    assert.deepEqual(parseCommandLine([]), { ok: true, command: { kind: 'help' } });
    assert.deepEqual(parseCommandLine(['-h']), { ok: true, command: { kind: 'help' } });
    assert.deepEqual(parseCommandLine(['help', 'schema']), { ok: true, command: { kind: 'help', topic: 'schema' } });
    assert.deepEqual(parseCommandLine(['--help', 'validate']), { ok: true, command: { kind: 'help', topic: 'validate' } });
    assert.deepEqual(parseCommandLine(['schema', '-h']), { ok: true, command: { kind: 'help', topic: 'schema' } });
  });
  test('usage errors name the problem', () => {
    const r = parseCommandLine(['validate', '--stict']);
    assert.equal(r.ok, false);
    assert.match((r as { message: string }).message, /unknown option `--stict` for `validate`; did you mean `--strict`\?/);
    assert.match((parseCommandLine(['validate', '--color', '--no-color']) as { message: string }).message, /contradict/);
    assert.match((parseCommandLine(['--json', 'validate']) as { message: string }).message, /unknown option `--json`/);
  });
});

describe('report', () => {
  const d = (file: string, line: number, column: number, severity: LocatedDiagnostic['severity'] = 'error'): LocatedDiagnostic => ({
    file, line, column, endLine: line, endColumn: column + 1, severity, code: 'invalid-type', message: 'm',
  });

  test('locate converts UTF-16 offsets to 1-based line:col and flattens line breaks in messages', () => {
    const text = 'a\r\n📄x: 1\n';
    const offset = text.indexOf('x');
    const [l] = locate([{ file: '/w/t.clawtask', text, diagnostics: [{ span: { start: offset, end: offset + 1 }, severity: 'warning', code: 'unknown-key', message: 'two\nlines' }] }], '/w');
    assert.deepEqual(l, { file: 't.clawtask', line: 2, column: 3, endLine: 2, endColumn: 4, severity: 'warning', code: 'unknown-key', message: 'two lines' });
  });

  test('reports without text are at 1:1', () => {
    const [l] = locate([{ file: '/w/task', diagnostics: [{ span: { start: 0, end: 0 }, severity: 'error', code: 'missing-file', message: 'm' }] }], '/w');
    assert.equal(`${l!.file}:${l!.line}:${l!.column}`, 'task:1:1');
  });

  test('displayPath: relative inside cwd, `.` for cwd itself, absolute outside', () => {
    assert.equal(displayPath('/w/a/b.clawtask', '/w'), 'a/b.clawtask');
    assert.equal(displayPath('/w', '/w'), '.');
    assert.equal(displayPath('/elsewhere/x', '/w'), '/elsewhere/x');
    assert.equal(displayPath('/w/..x/y', '/w'), '..x/y');
  });

  test('sort: file, then line, then column, then severity', () => {
    const list = [d('b', 1, 1), d('a', 10, 1), d('a', 2, 5), d('a', 2, 5, 'warning'), d('a', 2, 1)];
    assert.deepEqual(sortDiagnostics(list).map((x) => `${x.file}:${x.line}:${x.column}:${x.severity}`), ['a:2:1:error', 'a:2:5:error', 'a:2:5:warning', 'a:10:1:error', 'b:1:1:error']);
  });

  test('line format and summary', () => {
    assert.equal(formatLine(d('t.clawtask', 3, 7)), 't.clawtask:3:7 error invalid-type m');
    assert.ok(formatLine(d('t.clawtask', 3, 7), true).includes('\x1b[31merror'));
    assert.equal(formatSummary(countDiagnostics(2, [d('a', 1, 1), d('a', 1, 1, 'warning'), d('a', 1, 1, 'info')])), '2 files checked: 1 error, 1 warning');
    assert.equal(formatSummary({ files: 1, errors: 0, warnings: 3 }), '1 file checked: 0 errors, 3 warnings');
  });

  test('colors: TTY and no NO_COLOR; FORCE_COLOR forces; the flag wins', () => {
    assert.equal(useColor(true, {}), true);
    assert.equal(useColor(false, {}), false);
    assert.equal(useColor(true, { NO_COLOR: '1' }), false);
    assert.equal(useColor(true, { NO_COLOR: '' }), true, 'an empty NO_COLOR does not count (no-color.org)');
    assert.equal(useColor(false, { FORCE_COLOR: '1' }), true);
    assert.equal(useColor(false, { FORCE_COLOR: '0' }), false);
    assert.equal(useColor(true, { NO_COLOR: '1' }, true), true);
  });
});

describe('docs/cli.md', () => {
  const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'cli.md'), 'utf8');
  test('documents every command and option the help lists', () => {
    const helpText = Object.values(HELP).join('\n');
    const options = new Set([...helpText.matchAll(/(?<![\w-])(--?[a-z][a-z-]*)/g)].map((m) => m[1]!));
    assert.ok(options.has('--json') && options.has('--strict') && options.has('-q'), [...options].join(' '));
    const missing = [...options].filter((o) => !doc.includes('`' + o));
    assert.deepEqual(missing, []);
    for (const cmd of COMMAND_NAMES) assert.ok(doc.includes(`clawgym ${cmd}`) || doc.includes(`  ${cmd} `), cmd);
  });
  test('documents the exit codes', () => {
    for (const code of ['0', '1', '2']) assert.match(doc, new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});

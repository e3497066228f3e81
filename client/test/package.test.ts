/**
 * The extension manifest and its packaging: everything package.json points at exists and is in the
 * .vscodeignore allowlist, the contributed commands are the ones the client registers, and (when
 * the .vsix that vsce builds from the current dist/ holds exactly the allowlisted files.
 *
 * The test packages into a temporary file with the same flags as `npm run package` (about 8 s: vsce
 * walks node_modules), then reads the zip's directory itself. It needs `npm run build` first, which
 * `npm test` runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from '../../core/src/language/types';
import { repoRoot } from './util';

interface Manifest {
  main: string;
  activationEvents: string[];
  contributes: {
    languages: { id: string; extensions: string[]; configuration: string }[];
    grammars: { language: string; scopeName: string; path: string; embeddedLanguages: Record<string, string> }[];
    snippets: { language: string; path: string }[];
    commands: { command: string; title: string }[];
  };
}
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Manifest;
const allowlist = readFileSync(join(repoRoot, '.vscodeignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l.startsWith('!'))
  .map((l) => l.slice(1));

/** Whether a path (relative, no `./`) is allowlisted: exactly, or under an allowlisted `dir/**`. */
function allowed(path: string): boolean {
  return allowlist.some((a) => a === path || (a.endsWith('/**') && path.startsWith(a.slice(0, -2))));
}
const rel = (p: string): string => p.replace(/^\.\//, '');

test('.vscodeignore is an allowlist', () => {
  const lines = readFileSync(join(repoRoot, '.vscodeignore'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  assert.equal(lines[0], '**', 'the first rule must ignore everything');
  for (const p of ['dist/client.js', 'dist/server.js', 'dist/cli.js', 'package.json', 'LICENSE', 'README.md']) assert.ok(allowed(p), p);
  for (const p of ['node_modules/yaml/index.js', 'client/src/extension.ts', 'out/core/src/index.js', 'dist/client.js.map', 'test-fixtures/grammar/full.clawtask']) {
    assert.ok(!allowed(p), `${p} must not ship`);
  }
});

test('everything the manifest points at exists and ships', () => {
  const files = [
    pkg.main,
    ...pkg.contributes.languages.map((l) => l.configuration),
    ...pkg.contributes.grammars.map((g) => g.path),
    ...pkg.contributes.snippets.map((s) => s.path),
  ].map(rel);
  for (const f of files) {
    assert.ok(allowed(f), `${f} is not in the .vscodeignore allowlist`);
    if (!f.startsWith('dist/')) assert.ok(existsSync(join(repoRoot, f)), `${f} does not exist`);
  }
  assert.equal(rel(pkg.main), 'dist/client.js');
  assert.ok(existsSync(join(repoRoot, 'LICENSE')));
});

test('the language, grammar and snippets are contributed for clawtask', () => {
  assert.deepEqual(pkg.activationEvents, ['onLanguage:clawtask', 'workspaceContains:**/*.clawtask']);
  const lang = pkg.contributes.languages.find((l) => l.id === 'clawtask');
  assert.ok(lang && lang.extensions.includes('.clawtask'));
  const grammar = pkg.contributes.grammars.find((g) => g.language === 'clawtask');
  assert.equal(grammar?.scopeName, 'source.clawtask');
  const onDisk = JSON.parse(readFileSync(join(repoRoot, rel(grammar.path)), 'utf8')) as { scopeName: string };
  assert.equal(onDisk.scopeName, grammar.scopeName);
  assert.deepEqual(grammar.embeddedLanguages, {
    'meta.embedded.block.python': 'python',
    'meta.embedded.block.shell': 'shellscript',
    'meta.embedded.line.shell': 'shellscript',
  });
  // Every embedded scope the manifest maps is one the grammar produces.
  const grammarText = readFileSync(join(repoRoot, rel(grammar.path)), 'utf8');
  for (const scope of Object.keys(grammar.embeddedLanguages)) assert.ok(grammarText.includes(`"${scope}"`), scope);
  assert.ok(pkg.contributes.snippets.some((s) => s.language === 'clawtask'));
});

test('contributed commands are exactly the ones the client registers, CodeLens targets included', () => {
  const contributed = pkg.contributes.commands.map((c) => c.command).sort();
  const expected = ['clawgym.restartServer', 'clawgym.showLogs', 'clawgym.setApiKey', ...Object.values(COMMANDS)].sort();
  assert.deepEqual(contributed, expected);
  const source = readFileSync(join(repoRoot, 'client', 'src', 'extension.ts'), 'utf8');
  for (const id of expected) assert.ok(source.includes(`'${id}'`), `client/src/extension.ts does not register ${id}`);
  for (const c of pkg.contributes.commands) assert.ok(c.title.length > 0);
});

/** Entry names of a zip file, from its central directory. */
function zipEntries(buf: Buffer): string[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let n = 0; n < count; n++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'bad central directory entry');
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    names.push(buf.toString('utf8', p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}

/** The vsce flags of `npm run package` (read from package.json, so the test packages the same way). */
function vsceArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const m = /vsce (package[^&]*?) -o \S+/.exec(pkg.scripts.package ?? '');
  assert.ok(m, 'the package script runs `vsce package … -o FILE`');
  return m[1]!.trim().split(/\s+/);
}

test('the packaged .vsix holds the bundles and the allowlisted files only', () => {
  assert.ok(existsSync(join(repoRoot, 'dist', 'server.js')), 'run `npm run build` first (npm test does)');
  const dir = mkdtempSync(join(tmpdir(), 'clawgym-vsix-'));
  const vsix = join(dir, 'clawgym.vsix');
  try {
    execFileSync(process.execPath, [join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce'), ...vsceArgs(), '-o', vsix], { cwd: repoRoot, stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    assert.fail(`vsce package failed: ${String(err.stdout ?? '')}${String(err.stderr ?? '')}`);
  }
  const entries = zipEntries(readFileSync(vsix)).filter((e) => e.startsWith('extension/')).map((e) => e.slice('extension/'.length));
  for (const f of ['package.json', 'dist/client.js', 'dist/server.js', 'dist/cli.js', 'syntaxes/clawtask.tmLanguage.json', 'snippets/clawtask.json', 'language-configuration.json']) {
    assert.ok(entries.includes(f), `${f} missing from the .vsix: ${entries.join(', ')}`);
  }
  // vsce renames LICENSE to LICENSE.txt and README.md to readme.md.
  assert.ok(entries.includes('readme.md'), 'the README ships (the extension page shows it)');
  for (const e of entries) assert.ok(allowed(e) || e === 'LICENSE.txt' || e === 'readme.md', `${e} should not be in the .vsix`);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * `clawgym model serve` as a child process (the compiled CLI, `node out/cli/src/main.js`): the
 * listening line, a request through the openai client and its log line, SIGINT and SIGTERM
 * exiting 0, --json, and the usage and script errors.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const repoRoot = join(__dirname, '..', '..', '..');
const cliJs = join(repoRoot, 'out', 'cli', 'src', 'main.js');
const tmp = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-model-serve-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const scriptFile = join(tmp, 'script.yaml');
fs.writeFileSync(
  scriptFile,
  `model: scripted
tasks:
  hello:
    replies:
      - content: "hi there"
        tool_calls:
          - name: exec
            arguments: { command: ls }
      - content: done
  other:
    replies:
      - content: other
`,
);

interface Server {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<number | null>;
}

/** Start the server and wait (with a deadline) for its listening line. */
async function serve(extra: string[] = []): Promise<Server> {
  const child = spawn(process.execPath, [cliJs, 'model', 'serve', '--script', scriptFile, ...extra], { cwd: tmp, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!out.includes('\n')) {
    if (child.exitCode !== null) assert.fail(`the server exited ${child.exitCode}: ${err}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail(`no listening line in time; stderr: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const first = out.split('\n')[0]!;
  const url = extra.includes('--json') ? (JSON.parse(first) as { url: string }).url : /listening on (\S+)/.exec(first)![1]!;
  return { child, url, stderr: () => err, stdout: () => out, exit };
}

async function waitFor(what: () => boolean, label: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!what()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('clawgym model serve', () => {
  test('prints the listening line, answers the openai client, logs the request, exits 0 on SIGINT', async () => {
    const s = await serve();
    try {
      assert.match(s.stdout(), /^model server listening on http:\/\/127\.0\.0\.1:\d+\/v1 \(2 tasks scripted\)\n$/);
      const client = new OpenAI({ baseURL: s.url, apiKey: 'sk-do-not-log-me', maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'scripted', messages: [{ role: 'user', content: 'go' }] }, { headers: { 'x-clawgym-task': 'hello' } });
      assert.equal(r.choices[0]!.message.content, 'hi there');
      assert.equal(r.choices[0]!.message.tool_calls?.length, 1);
      await waitFor(() => s.stderr().includes('task=hello'), 'the request log line');
      assert.match(s.stderr(), /task=hello via=header reply=0\/2 -> 200/);
      assert.ok(!s.stderr().includes('sk-do-not-log-me') && !s.stdout().includes('sk-do-not-log-me'));
      s.child.kill('SIGINT');
      assert.equal(await s.exit, 0);
      assert.match(s.stderr(), /model server stopped on SIGINT after 1 chat request/);
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  test('SIGTERM also exits 0; --json prints JSON lines on stdout', async () => {
    const s = await serve(['--json', '--port', '0']);
    try {
      const listening = JSON.parse(s.stdout().split('\n')[0]!) as { type: string; tasks: string[]; models: string[] };
      assert.equal(listening.type, 'listening');
      assert.deepEqual(listening.tasks, ['hello', 'other']);
      assert.deepEqual(listening.models, ['scripted']);
      const client = new OpenAI({ baseURL: s.url, apiKey: 'k', maxRetries: 0 });
      await client.chat.completions.create({ model: 'scripted', messages: [{ role: 'user', content: 'please do other' }] });
      await waitFor(() => s.stdout().split('\n').length > 2, 'the request event');
      const event = JSON.parse(s.stdout().split('\n')[1]!) as Record<string, unknown>;
      assert.equal(event.type, 'request');
      assert.equal(event.task, 'other');
      assert.equal(event.selectedBy, 'id');
      assert.equal(event.status, 200);
      s.child.kill('SIGTERM');
      assert.equal(await s.exit, 0);
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  const run = (args: string[]) => spawnSync(process.execPath, [cliJs, ...args], { cwd: tmp, encoding: 'utf8', timeout: 30_000 });

  test('usage errors exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['model', 'serve'], /`model serve` needs `--script FILE`/],
      [['model', 'serve', '--script', scriptFile, '--host', '0.0.0.0'], /`--host` must be a loopback address/],
      [['model', 'serve', '--script', scriptFile, '--port', '70000'], /`--port` needs a port number/],
      [['model', 'serve', '--script', scriptFile, '--port', 'abc'], /`--port` needs a port number/],
      [['model', 'serve', '--scrpt', scriptFile], /unknown option `--scrpt` for `model`; did you mean `--script`\?/],
      [['model', 'start'], /unknown `model` command `start`/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /clawgym help model/);
    }
  });

  test('a bad or missing script exits 1 and says what is wrong where', () => {
    fs.writeFileSync(join(tmp, 'bad.yaml'), 'tasks:\n  a:\n    replies:\n      - fault: { kind: 418 }\n');
    const bad = run(['model', 'serve', '--script', 'bad.yaml']);
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /^clawgym: bad\.yaml: /);
    assert.match(bad.stderr, /tasks\.a\.replies\[0\]\.fault\.kind: must be one of 429, 500/);
    const missing = run(['model', 'serve', '--script', 'nope.json']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.json: cannot read the script: no such file/);
  });

  test('help: `model`, `model --help`, `help model`', () => {
    for (const args of [['model'], ['model', '--help'], ['model', 'serve', '--help'], ['help', 'model']]) {
      const r = run(args);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: clawgym model serve --script FILE/);
      assert.match(r.stdout, /Exit codes:/);
    }
  });
});

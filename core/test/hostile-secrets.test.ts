/**
 * Hostile suite, secrets (issue 9, point 4): a server that echoes the credentials it is shown —
 * in a response header, JSON bodies, SSE chunks (the key cut across two network chunks, across
 * two content deltas, one character per event, from one choice into the next, in tool-call
 * arguments streamed in pieces), a tool call's arguments and a 401's message — leaks them nowhere:
 *
 * - through the model proxy, to a black-box agent in a real sandbox on the real engine: what the
 *   agent receives (and what it reassembles from the stream, as a client does) and everything the
 *   run records is scrubbed;
 * - through the built-in agent, end to end through the CLI: no file of the run folder, no line of
 *   stdout or stderr (human or `--json`) holds the key, half of it, or its base64 form;
 * - a key inside `--base-url` (`user:password@`, `?api_key=`) is written nowhere either.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { commandAgent } from '../src/agent/blackbox';
import { Redactor } from '../src/redact';
import { runJob } from '../src/run/job';
import { loadTask } from '../src/run/load';
import type { ResolvedTask } from '../src/run/types';
import { createDockerBackend } from '../src/sandbox/docker';
import { assertDocker, containersOf, needsDocker, TEST_IMAGE } from './docker';
import { readTree, startHostileServer, type HostileServer } from './hostileServer';

const repo = join(__dirname, '..', '..', '..');
const cliJs = join(repo, 'out', 'cli', 'src', 'main.js');
const RUN = `test-hostile-secrets-${process.pid}-${randomBytes(3).toString('hex')}`;

const servers: HostileServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

/** A secret and the pieces of it that must not appear anywhere. */
function secret(prefix: string): { value: string; forms: string[] } {
  const value = `${prefix}${randomBytes(16).toString('hex')}`;
  const half = Math.floor(value.length / 2);
  return { value, forms: [value, value.slice(0, half), value.slice(half), Buffer.from(value).toString('base64')] };
}

function assertNowhere(texts: { path: string; text: string }[], forms: string[]): void {
  for (const { path, text } of texts) for (const f of forms) assert.ok(!text.includes(f), `${path} holds ${f === forms[0] ? 'the key' : `a piece of the key (${f})`}`);
}

/** A task whose check passes when the agent left a leaked.txt holding "[redacted]". */
function writeTask(dir: string, id: string): string {
  const file = join(dir, `${id}.clawtask`);
  fs.writeFileSync(
    file,
    [
      'version: 1',
      `id: ${id}`,
      'intent: Do what the model says.',
      'workspace:',
      '  files:',
      '    notes.txt: "nothing here"',
      'verifier:',
      '  checks:',
      '    - id: scrubbed',
      '      file_matches: { path: leaked.txt, pattern: "\\\\[redacted\\\\]" }',
      '',
    ].join('\n'),
  );
  return file;
}

function task(id: string): ResolvedTask {
  const r = loadTask({ kind: 'clawtask', path: writeTask(fs.mkdtempSync(join(os.tmpdir(), 'clawgym-hostile-task-')), id) });
  if (!r.task) throw new Error(`task refused: ${r.error}`);
  return r.task;
}

function cli(args: string[], env: Record<string, string>, cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliJs, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** What the in-sandbox agent does: call the proxy four ways and keep everything it got back. */
const PROBE = String.raw`python3 - <<'PY'
import json, os, urllib.request, urllib.error
base = os.environ["OPENAI_BASE_URL"]
token = os.environ["OPENAI_API_KEY"]
out = []
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        r = urllib.request.urlopen(req, timeout=30)
        status, headers, data = r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status, headers, data = e.code, dict(e.headers), e.read().decode("utf-8", "replace")
    out.append("== %s %s -> %s\n%s\n%s\n" % (method, path, status, json.dumps(headers), data))
    if body and body.get("stream"):
        out.append(reassemble(data))
def reassemble(data):
    # What a client makes of the stream: each choice's content and each tool call's arguments
    # concatenated, and every text piece in the order it came.
    lanes, order = {}, []
    for line in data.split("\n"):
        if not line.startswith("data: ") or line[6:].strip() == "[DONE]":
            continue
        try:
            ev = json.loads(line[6:])
        except ValueError:
            continue
        for c in ev.get("choices") or []:
            d, i = c.get("delta") or {}, c.get("index", 0)
            pieces = [("%d.content" % i, d.get("content"))]
            pieces += [("%d.tool%d" % (i, tc.get("index", 0)), (tc.get("function") or {}).get("arguments")) for tc in d.get("tool_calls") or []]
            for lane, t in pieces:
                if isinstance(t, str):
                    lanes[lane] = lanes.get(lane, "") + t
                    order.append(t)
    return "reassembled: %s\norder: %s\n" % (json.dumps(lanes, sort_keys=True), json.dumps("".join(order)))
msgs = [{"role": "user", "content": "hi"}]
call("POST", "/chat/completions", {"model": "m", "messages": msgs, "stream": True})
call("POST", "/chat/completions", {"model": "m", "messages": msgs})
call("POST", "/chat/completions", {"model": "m", "messages": msgs + [{"role": "assistant", "content": "x"}]})
call("GET", "/models")
text = "".join(out)
open("seen.txt", "w").write(text)
# What the agent is told by a 401 becomes part of its stdout, as an agent's error would.
print(text)
PY
echo "[redacted] seen" > leaked.txt`;

describe('hostile: secrets', needsDocker(), () => {
  test('proxy: an upstream echoing the key in headers, JSON bodies, SSE chunks (split across chunks, and spread over events, choices and tool-call arguments) and a 401 reaches the sandboxed agent scrubbed, and the run records none of it', async (t) => {
    assertDocker(t);
    const key = secret('sk-proxy-');
    const password = secret('pw-');
    const server = await startHostileServer('echo', { echo: [password.value], spread: true });
    servers.push(server);
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-hostile-proxy-'));
    const baseUrl = server.url.replace('http://', `http://clawgym:${password.value}@`);
    const summary = await runJob({
      tasks: [task('proxy-echo')],
      agent: commandAgent({ baseUrl, apiKey: key.value, model: 'hostile' }, PROBE),
      backend: createDockerBackend(),
      image: TEST_IMAGE,
      runsDir,
      runId: `${RUN}-proxy`,
      meta: { baseUrl },
      // As the CLI does: the run's secrets, for what the run itself writes (config.json records the URL).
      redactor: Redactor.for({ apiKey: key.value, baseUrl }),
    });
    assert.deepEqual(containersOf(`${RUN}-proxy`), [], 'the sandbox was removed');
    const r = summary.results[0]!;
    assert.equal(r.status, 'passed', JSON.stringify(r.error ?? r.agentOutcome));
    // The upstream really was shown the key, and echoed it back four ways.
    assert.ok(server.seenKeys.includes(key.value), 'the proxy sent the real key upstream');
    assert.equal(server.requests.length, 4);
    const files = readTree(summary.runDir!);
    const diff = files.find((f) => f.path.endsWith('workspace.diff'))!.text;
    // What the agent received (seen.txt, in the workspace diff): every echo is there, redacted.
    assert.match(diff, /== POST \/chat\/completions -> 200[^=]*x-request-id[^=]*req-\[redacted\]/, 'the response header was scrubbed');
    assert.match(diff, /your key is \[redacted\] and \[redacted\]/, 'the SSE event cut across two chunks, and the JSON body, were scrubbed');
    assert.match(diff, /-> 401[^=]*Incorrect API key provided: \[redacted\] and \[redacted\]/, 'the 401 message was scrubbed');
    // The stream as a client reassembles it: the key spread over events is replaced whole each time.
    const lanes = JSON.parse(/reassembled: (.*)/.exec(diff)![1]!) as Record<string, string>;
    assert.equal(lanes['0.content'], 'your key is [redacted] and [redacted]. and again [redacted] done. spread [redacted] over. cross [redacted]');
    assert.equal(lanes['1.content'], ' choice.', 'the end of the key in the next choice was dropped');
    assert.deepEqual(JSON.parse(lanes['0.tool0']!), { command: 'echo "[redacted] and [redacted]" > leaked.txt; echo done' }, 'tool-call arguments in pieces');
    assert.match(diff, /order: "your key is \[redacted\] and \[redacted\]\. and again \[redacted\] done\. spread \[redacted\] over\. cross \[redacted\] choice\.\{/);
    assert.ok((diff.match(/\[redacted\]/g) ?? []).length >= 8, 'every echo was seen');
    // Nothing the agent got, nothing the run wrote (trajectory from the recordings included).
    assertNowhere(files, [...key.forms, ...password.forms]);
    const trajectory = files.find((f) => f.path.endsWith('trajectory.json'))!.text;
    assert.match(trajectory, /\[redacted\]/, 'the recorded exchanges are in the trajectory, scrubbed');
  });

  const runBuiltin = async (mode: 'human' | 'json') => {
    const key = secret('sk-builtin-');
    const server = await startHostileServer('echo');
    servers.push(server);
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-hostile-cli-'));
    const file = writeTask(dir, `builtin-echo-${mode}`);
    const runsDir = join(dir, 'runs');
    const r = await cli(
      ['run', file, '--agent', 'builtin', '--model', 'hostile', '--base-url', server.url, '--backend', 'docker', '--runs-dir', runsDir, '--max-steps', '4', ...(mode === 'json' ? ['--json'] : [])],
      { CLAWGYM_API_KEY: key.value },
      dir,
    );
    assert.ok(server.seenKeys.includes(key.value), 'the server was shown the real key');
    assert.ok(server.requests.length >= 2, 'the second call got the 401');
    // The agent ran the tool call with the key redacted out of its arguments (the check wants
    // leaked.txt to say [redacted]), then stopped at the 401: the trial still passes.
    assert.equal(r.status, 0, r.stderr);
    const files = [{ path: 'stdout', text: r.stdout }, { path: 'stderr', text: r.stderr }, ...readTree(runsDir)];
    assert.ok(files.length >= 12, `the run folder was written (${files.map((f) => f.path).join(', ')})`);
    assertNowhere(files, key.forms);
    const result = files.find((f) => f.path.endsWith(join('trials', `builtin-echo-${mode}`, 'result.json')))!.text;
    assert.match(result, /Incorrect API key provided: \[redacted\]/, 'the 401 message is recorded, redacted');
    const log = files.find((f) => f.path.endsWith('agent.log'))!.text;
    assert.match(log, /your key is \[redacted\]\. and again \[redacted\] done\./, 'the streamed text was redacted, the key split across deltas too');
    const printed = mode === 'json' ? r.stdout : r.stdout + r.stderr;
    assert.match(printed, /\[redacted\]/, 'what was printed about the 401 is redacted');
  };

  test('built-in agent through the CLI: a server echoing the key in SSE chunks, tool arguments and a 401 leaks it into no file of the run folder, stdout or stderr', async (t) => {
    assertDocker(t);
    await runBuiltin('human');
  });

  test('built-in agent through the CLI with --json: the event stream and events.jsonl hold no piece of the key', async (t) => {
    assertDocker(t);
    await runBuiltin('json');
  });

  test('a key inside --base-url (user:password@, ?api_key=) is written to no file, stdout or stderr', async (t) => {
    assertDocker(t);
    const password = secret('pw-');
    const queryKey = secret('qk-');
    const key = secret('sk-url-');
    // The server echoes the query key too (it sees it in the request's URL).
    const server = await startHostileServer('echo', { echo: [queryKey.value] });
    servers.push(server);
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-hostile-url-'));
    const file = writeTask(dir, 'url-key');
    const all = [...password.forms, ...queryKey.forms, ...key.forms];

    // The built-in agent sends a base URL's query on every request, and redacts it everywhere.
    const queried = `${server.url}?api_key=${queryKey.value}`;
    let runsDir = join(dir, 'runs-query');
    let r = await cli(['run', file, '--model', 'hostile', '--base-url', queried, '--backend', 'docker', '--runs-dir', runsDir, '--max-steps', '3'], { CLAWGYM_API_KEY: key.value }, dir);
    assert.equal(r.status, 0, r.stderr);
    let files = [{ path: 'stdout', text: r.stdout }, { path: 'stderr', text: r.stderr }, ...readTree(runsDir)];
    assertNowhere(files, all);
    let config = files.find((f) => /runs-query\/[^/]+\/config\.json$/.test(f.path))!.text;
    assert.match(config, /"baseUrl": "http:\/\/127\.0\.0\.1:\d+\/v1\?api_key=\[redacted\]"/, 'config.json records the URL, redacted');

    // Credentials in the user info: the built-in agent cannot send them, and says so without them.
    const withUser = server.url.replace('http://', `http://clawgym:${password.value}@`);
    r = await cli(['run', file, '--model', 'hostile', '--base-url', withUser, '--backend', 'docker', '--runs-dir', join(dir, 'runs-refused')], { CLAWGYM_API_KEY: key.value }, dir);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /cannot send credentials inside the base URL \(http:\/\/clawgym:\[redacted\]@/);
    assertNowhere([{ path: 'stderr', text: r.stderr }, { path: 'stdout', text: r.stdout }], all);

    // A black-box agent (through the proxy, which can): the run records the URL redacted.
    runsDir = join(dir, 'runs-blackbox');
    r = await cli(['run', file, '--agent', 'command:echo "[redacted]" > leaked.txt', '--model', 'hostile', '--base-url', `${withUser}?api_key=${queryKey.value}`, '--backend', 'docker', '--runs-dir', runsDir], { CLAWGYM_API_KEY: key.value }, dir);
    assert.equal(r.status, 0, r.stderr);
    files = [{ path: 'stdout', text: r.stdout }, { path: 'stderr', text: r.stderr }, ...readTree(runsDir)];
    assertNowhere(files, all);
    config = files.find((f) => /runs-blackbox\/[^/]+\/config\.json$/.test(f.path))!.text;
    assert.match(config, /"baseUrl": "http:\/\/clawgym:\[redacted\]@127\.0\.0\.1:\d+\/v1\?api_key=\[redacted\]"/);
  });
});

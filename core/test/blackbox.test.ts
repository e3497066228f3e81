/**
 * Black-box agents: the credential-injecting model proxy on loopback (token check, the real key
 * reaching the upstream and nowhere else, streams recorded), and agents installed in the sandbox
 * run end to end on the real engine through it (a stdlib-Python agent in the plain image; OpenClaw
 * in clawgym/openclaw:latest when that image exists), each leaving no container.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import { createCommandAgent } from '../src/agent/command';
import { blackBoxAgents } from '../src/agent/blackbox';
import { OPENCLAW_IMAGE } from '../src/agent/openclawImage';
import { startModelServer } from '../src/modelserver';
import { startModelProxy, type ProxyExchange } from '../src/proxy/modelProxy';
import { newRunId, runJob } from '../src/run/job';
import type { ResolvedTask } from '../src/run/types';
import Docker from 'dockerode';
import { createDockerBackend } from '../src/sandbox/docker';
import { bubblewrapStatus, createLocalBackend } from '../src/sandbox/local';
import { assertDocker, containersOf, needsDocker, TEST_IMAGE } from './docker';
import { helloResolvedTask } from './util';

const REAL_KEY = `sk-real-${'9f3c'.repeat(8)}`;
const TOKEN = `clawgym-test-token-${'ab12'.repeat(6)}`;

/** An upstream that insists on the real key and echoes a fixed completion. */
async function keyCheckingUpstream(): Promise<{ url: string; seen: { authorization?: string; apiKey?: string; path: string }[]; close(): Promise<void> }> {
  const seen: { authorization?: string; apiKey?: string; path: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ authorization: req.headers.authorization, apiKey: req.headers['x-api-key'] as string | undefined, path: req.url ?? '' });
      if (req.headers.authorization !== `Bearer ${REAL_KEY}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'wrong key', type: 'invalid_request_error' } }));
        return;
      }
      if (req.url === '/v1/teapot') {
        res.writeHead(418, { 'content-type': 'application/json', 'retry-after': '7' });
        res.end(JSON.stringify({ error: { message: 'I am a teapot', type: 'teapot' } }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/v1`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

describe('model proxy', () => {
  test('refuses a wrong or missing token; forwards with the real key, which no recording holds', async () => {
    const upstream = await keyCheckingUpstream();
    const recorded: ProxyExchange[] = [];
    const proxy = await startModelProxy({ upstream: { baseUrl: upstream.url, apiKey: REAL_KEY }, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, record: (e) => recorded.push(e) });
    try {
      const chat = (headers: Record<string, string>) =>
        fetch(`${proxy.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'ping' }] }) });
      for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { 'x-api-key': `${TOKEN}x` }] as Record<string, string>[]) {
        const r = await chat(headers);
        assert.equal(r.status, 401);
        assert.match(((await r.json()) as { error: { message: string } }).error.message, /invalid API key/);
      }
      assert.equal(upstream.seen.length, 0, 'nothing reaches the upstream without the token');

      const ok = await chat({ authorization: `Bearer ${TOKEN}`, 'x-api-key': TOKEN, cookie: 'session=1' });
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content, 'pong');
      const viaApiKey = await chat({ 'x-api-key': TOKEN });
      assert.equal(viaApiKey.status, 200);
      assert.deepEqual(upstream.seen.map((s) => [s.authorization, s.apiKey, s.path]), [
        [`Bearer ${REAL_KEY}`, undefined, '/v1/chat/completions'],
        [`Bearer ${REAL_KEY}`, undefined, '/v1/chat/completions'],
      ]);

      // Upstream errors come back as they are (status, body, retry-after).
      const teapot = await fetch(`${proxy.url}/teapot`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(teapot.status, 418);
      assert.equal(teapot.headers.get('retry-after'), '7');
      assert.equal(((await teapot.json()) as { error: { message: string } }).error.message, 'I am a teapot');
      // Only /v1/* is forwarded.
      assert.equal((await fetch(proxy.url.replace(/\/v1$/, '/admin'), { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);

      assert.equal(recorded.length, 3);
      assert.deepEqual(recorded[0]!.request, { model: 'm', messages: [{ role: 'user', content: 'ping' }] });
      assert.equal(recorded[0]!.status, 200);
      assert.equal(recorded[2]!.status, 418);
      const text = JSON.stringify(recorded);
      assert.ok(!text.includes(REAL_KEY), 'the real key is in a recording');
      assert.ok(!text.includes(TOKEN), 'the token is in a recording');
      assert.ok(!/authorization|cookie/i.test(text), 'a header is in a recording');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  test('streams pass through chunk by chunk and are recorded as one chat.completion; works over a unix socket', async () => {
    const server = await startModelServer({
      script: { tasks: { t: { replies: [{ content: 'Writing the file now.', reasoning: 'easy', tool_calls: [{ name: 'write', arguments: { path: 'a.txt', content: 'x' } }], usage: { prompt_tokens: 11, completion_tokens: 5 } }] } } },
    });
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-proxy-test-'));
    const recorded: ProxyExchange[] = [];
    const proxy = await startModelProxy({ upstream: { baseUrl: server.url, apiKey: REAL_KEY }, listen: { socketPath: join(dir, 'model.sock') }, token: TOKEN, record: (e) => recorded.push(e) });
    try {
      const body = JSON.stringify({ model: 'scripted', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'task t' }] });
      const sse = await new Promise<{ status: number; chunks: string[] }>((resolve, reject) => {
        const req = http.request({ socketPath: proxy.socketPath, path: '/v1/chat/completions', method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-clawgym-task': 't' } }, (res) => {
          const chunks: string[] = [];
          res.setEncoding('utf8');
          res.on('data', (c: string) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, chunks }));
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(sse.status, 200);
      const all = sse.chunks.join('');
      assert.match(all, /data: \[DONE\]/);
      assert.ok(all.split('\n').filter((l) => l.startsWith('data:')).length > 4);
      assert.equal(recorded.length, 1);
      const e = recorded[0]!;
      assert.equal(e.stream, true);
      const response = e.response as { object: string; choices: { message: { content: string; reasoning_content: string; tool_calls: { function: { name: string; arguments: string } }[] }; finish_reason: string }[]; usage: { prompt_tokens: number } };
      assert.equal(response.object, 'chat.completion');
      assert.equal(response.choices[0]!.message.content, 'Writing the file now.');
      assert.equal(response.choices[0]!.message.reasoning_content, 'easy');
      assert.equal(response.choices[0]!.message.tool_calls[0]!.function.name, 'write');
      assert.deepEqual(JSON.parse(response.choices[0]!.message.tool_calls[0]!.function.arguments), { path: 'a.txt', content: 'x' });
      assert.equal(response.choices[0]!.finish_reason, 'tool_calls');
      assert.equal(response.usage.prompt_tokens, 11);
      assert.equal(server.requests.length, 1);
    } finally {
      await proxy.close();
      await server.close();
      assert.ok(!fs.existsSync(join(dir, 'model.sock')), 'the socket is removed on close');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unreachable upstream is a 502 in OpenAI error shape, recorded with the reason', async () => {
    const recorded: ProxyExchange[] = [];
    const proxy = await startModelProxy({ upstream: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: REAL_KEY }, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, record: (e) => recorded.push(e) });
    try {
      const r = await fetch(`${proxy.url}/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(r.status, 502);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /could not reach the model endpoint http:\/\/127\.0\.0\.1:9/);
      assert.equal(recorded[0]!.status, 502);
      assert.ok(!JSON.stringify(recorded).includes(REAL_KEY));
    } finally {
      await proxy.close();
    }
  });
});

/** A stdlib-Python chat agent: calls the model, runs each `exec` tool call, sends the output back. */
const PY_AGENT = String.raw`
import json, os, subprocess, urllib.request
base, key, model = os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"], os.environ["OPENAI_MODEL"]
with open(os.environ["CLAWGYM_INSTRUCTION_FILE"]) as f:
    messages = [{"role": "user", "content": f.read()}]
with open("env.txt", "w") as f:
    f.write("\n".join("%s=%s" % kv for kv in sorted(os.environ.items())))
tools = [{"type": "function", "function": {"name": "exec", "description": "run a shell command", "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}}]
for _ in range(5):
    req = urllib.request.Request(base + "/chat/completions", data=json.dumps({"model": model, "messages": messages, "tools": tools}).encode(), headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    msg = json.load(urllib.request.urlopen(req))["choices"][0]["message"]
    messages.append(msg)
    if not msg.get("tool_calls"):
        print(msg.get("content") or "")
        break
    for call in msg["tool_calls"]:
        cmd = json.loads(call["function"]["arguments"])["command"]
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True)
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": out.stdout + out.stderr})
`;

function task(overrides: Partial<ResolvedTask> = {}): ResolvedTask {
  // No reference solution: these agents do the work.
  return helloResolvedTask('blackbox-test', { solution: undefined, ...overrides });
}

/** Every file under dir (recursively) whose bytes contain needle. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && fs.readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

describe('black-box agents on the real engine', needsDocker(), () => {
  const backend = createDockerBackend();

  test('a command agent reaches the model only through the proxy: reward 1, full trajectory, the real key nowhere', async () => {
    assertDocker();
    const server = await startModelServer({
      script: {
        tasks: {
          'blackbox-test': {
            match: 'out\\.txt',
            replies: [
              { content: 'Copying the input.', tool_calls: [{ name: 'exec', arguments: { command: 'cp input.txt out.txt && cat out.txt' } }] },
              { content: 'Done: out.txt holds hello.' },
            ],
          },
        },
      },
    });
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-runs-'));
    const runId = newRunId();
    const inspected: string[] = [];
    try {
      const agent = createCommandAgent({ name: 'py-agent', command: `python3 - <<'PY'\n${PY_AGENT}\nPY`, model: { baseUrl: server.url, apiKey: REAL_KEY, model: 'scripted' } });
      const job = await runJob({
        tasks: [task()],
        agent,
        backend,
        image: TEST_IMAGE,
        runsDir,
        runId,
        onEvent: (e) => {
          // While the agent works: the container's whole configuration, env included.
          if (e.type === 'phase' && e.phase === 'agent') for (const id of containersOf(runId)) inspected.push(execFileSync('docker', ['inspect', id], { encoding: 'utf8' }));
        },
      });
      const r = job.results[0]!;
      assert.equal(r.status, 'passed', JSON.stringify(r));
      assert.equal(r.reward, 1);
      assert.equal(r.agentOutcome?.finalMessage, 'Done: out.txt holds hello.');
      assert.equal(r.agentOutcome?.usage?.modelCalls, 2);
      assert.equal(server.requests.length, 2);
      const trialDir = join(runsDir, runId, 'trials', 'blackbox-test');
      const trajectory = JSON.parse(fs.readFileSync(join(trialDir, 'trajectory.json'), 'utf8'));
      assert.deepEqual(trajectory.steps.map((s: { source: string }) => s.source), ['user', 'agent', 'agent']);
      assert.equal(trajectory.steps[1].tool_calls[0].function_name, 'exec');
      assert.match(trajectory.steps[1].observation.results[0].content, /hello/);
      assert.equal(trajectory.steps[2].message, 'Done: out.txt holds hello.');
      assert.equal(trajectory.agent.name, 'py-agent');
      // The sandbox's environment (the agent dumped it into the workspace) has the token, not the key.
      assert.match(fs.readFileSync(join(trialDir, 'workspace.diff'), 'utf8'), /OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/v1/);
      assert.ok(inspected.length === 1, 'the container was inspected while the agent ran');
      assert.ok(!inspected[0]!.includes(REAL_KEY), 'the real key is in docker inspect');
      assert.match(inspected[0]!, /\/run\/clawgym/);
      assert.deepEqual(filesContaining(join(runsDir, runId), REAL_KEY), []);
      assert.deepEqual(containersOf(runId), []);
    } finally {
      await server.close();
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
  });

  test('cancelling a run stops the agent and its forwarder, removes the container and the proxy directory', async () => {
    assertDocker();
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('clawgym-proxy-')));
    const agent = createCommandAgent({ name: 'sleeper', command: 'sleep 600', model: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: REAL_KEY, model: 'm' } });
    const controller = new AbortController();
    const runId = newRunId();
    const job = runJob({
      tasks: [task()],
      agent,
      backend,
      image: TEST_IMAGE,
      runId,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'phase' && e.phase === 'agent') setTimeout(() => controller.abort(), 500);
      },
    });
    const started = Date.now();
    const r = (await job).results[0]!;
    assert.equal(r.status, 'cancelled');
    assert.ok(Date.now() - started < 30_000);
    assert.deepEqual(containersOf(runId), []);
    const left = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('clawgym-proxy-') && !before.has(n));
    assert.deepEqual(left, []);
  });

  test('no model call: a trajectory with the user step and a note; a failing command is a failed trial', async () => {
    assertDocker();
    const agent = createCommandAgent({ name: 'silent', command: 'echo thinking; exit 3', model: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: REAL_KEY, model: 'm' } });
    const runId = newRunId();
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-runs-'));
    try {
      const job = await runJob({ tasks: [task()], agent, backend, image: TEST_IMAGE, runsDir, runId });
      const r = job.results[0]!;
      assert.equal(r.status, 'failed');
      assert.equal(r.agentOutcome?.status, 'failed');
      assert.match(r.agentOutcome?.error ?? '', /exited with code 3/);
      const trajectory = JSON.parse(fs.readFileSync(join(runsDir, runId, 'trials', 'blackbox-test', 'trajectory.json'), 'utf8'));
      assert.deepEqual(trajectory.steps.map((s: { source: string }) => s.source), ['user']);
      assert.match(trajectory.notes, /no model call/);
      assert.deepEqual(containersOf(runId), []);
    } finally {
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
  });
});

/** A two-reply script for the stdlib-Python agent: copy input.txt to out.txt, then say so. */
const COPY_SCRIPT = {
  tasks: {
    'blackbox-test': {
      match: 'out\\.txt',
      replies: [{ content: 'Copying.', tool_calls: [{ name: 'exec', arguments: { command: 'cp input.txt out.txt' } }] }, { content: 'Copied.' }],
    },
  },
};

describe('black-box agents on the local backend', () => {
  const bw = bubblewrapStatus();
  for (const mode of [
    { label: 'bubblewrap (socket directory --ro-bind)', bubblewrap: 'require' as const, skip: bw.ok ? undefined : `bubblewrap unusable here: ${bw.problem}` },
    { label: 'unisolated (socket path mapped to the host path)', bubblewrap: 'never' as const, skip: undefined },
  ]) {
    test(mode.label, { skip: mode.skip }, async () => {
      const server = await startModelServer({ script: COPY_SCRIPT });
      try {
        const agent = createCommandAgent({ name: 'py-agent', command: `python3 - <<'PY'\n${PY_AGENT}\nPY`, model: { baseUrl: server.url, apiKey: REAL_KEY, model: 'scripted' } });
        const job = await runJob({ tasks: [task()], agent, backend: createLocalBackend({ bubblewrap: mode.bubblewrap }), image: 'unused' });
        const r = job.results[0]!;
        assert.equal(r.status, 'passed', JSON.stringify(r));
        assert.equal(r.agentOutcome?.finalMessage, 'Copied.');
        assert.equal(server.requests.length, 2);
      } finally {
        await server.close();
      }
    });
  }
});

test('a remote Docker engine is refused for black-box agents, before anything is created', async () => {
  // Nothing listens there and nothing is sent: the refusal comes first.
  const backend = createDockerBackend({ docker: new Docker({ host: '127.0.0.1', port: 9, protocol: 'http' }) });
  const agent = createCommandAgent({ name: 'x', command: 'true', model: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: REAL_KEY, model: 'm' } });
  const job = await runJob({ tasks: [task()], agent, backend, image: TEST_IMAGE });
  const r = job.results[0]!;
  assert.equal(r.status, 'error');
  assert.match(r.error?.message ?? '', /black-box agents need a local engine: the model proxy is reached through a bind-mounted socket/);
});

function imageExists(tag: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', tag], { stdio: 'pipe', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

const openclawSkip = (): { skip?: string } => {
  const base = needsDocker();
  if (base.skip) return base;
  if (!imageExists(OPENCLAW_IMAGE) && process.env.CLAWGYM_REQUIRE_OPENCLAW !== '1') return { skip: `needs the image ${OPENCLAW_IMAGE} (\`clawgym image build --agent openclaw\`, ~1 min from the npm registry)` };
  return {};
};

describe('agents in clawgym/openclaw:latest (OpenClaw through its gateway, Qwen Code)', openclawSkip(), () => {
  const backend = createDockerBackend();
  test('OpenClaw writes the file with its write tool; reward 1; trajectory from the proxy', { timeout: 240_000 }, async () => {
    assertDocker();
    if (!imageExists(OPENCLAW_IMAGE)) throw new Error(`CLAWGYM_REQUIRE_OPENCLAW=1 but ${OPENCLAW_IMAGE} does not exist (\`clawgym image build --agent openclaw\`)`);
    const server = await startModelServer({
      script: {
        tasks: {
          'openclaw-test': {
            match: 'greeting\\.txt',
            replies: [
              { content: 'I will write the file.', tool_calls: [{ name: 'write', arguments: { path: 'greeting.txt', content: 'hello from openclaw\n' } }] },
              { content: 'I wrote greeting.txt.' },
            ],
          },
        },
        default: { replies: [{ content: 'ok' }] },
      },
    });
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-runs-'));
    const runId = newRunId();
    try {
      const agent = blackBoxAgents({ baseUrl: server.url, apiKey: REAL_KEY, model: 'scripted' }).openclaw!;
      const root = '/root/.openclaw/workspace';
      const t = task({
        id: 'openclaw-test',
        intent: 'Create the file greeting.txt containing the line "hello from openclaw".',
        root,
        files: [{ path: `${root}/README.md`, content: Buffer.from('notes\n') }],
        verifier: { ...task().verifier, checks: [{ id: 'greeting', file_matches: { path: 'greeting.txt', pattern: '^hello from openclaw\\n?$' } }] as ResolvedTask['verifier']['checks'] },
      });
      const job = await runJob({ tasks: [t], agent, backend, image: TEST_IMAGE, runsDir, runId, agentTimeoutMs: 200_000 });
      const r = job.results[0]!;
      const log = fs.readFileSync(join(runsDir, runId, 'trials', 'openclaw-test', 'logs', 'agent.log'), 'utf8');
      assert.equal(r.status, 'passed', `${JSON.stringify(r.agentOutcome)}\n${log.slice(-4000)}`);
      assert.equal(r.reward, 1);
      assert.match(r.agentOutcome?.finalMessage ?? '', /I wrote greeting\.txt/);
      const trajectory = JSON.parse(fs.readFileSync(join(runsDir, runId, 'trials', 'openclaw-test', 'trajectory.json'), 'utf8'));
      const agentSteps = trajectory.steps.filter((s: { source: string }) => s.source === 'agent');
      assert.ok(agentSteps.some((s: { tool_calls?: { function_name: string }[] }) => s.tool_calls?.some((c) => c.function_name === 'write')), JSON.stringify(trajectory.steps.map((s: { source: string }) => s.source)));
      assert.deepEqual(filesContaining(join(runsDir, runId), REAL_KEY), []);
      assert.deepEqual(containersOf(runId), []);
    } finally {
      await server.close();
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
  });

  test('Qwen Code (headless, OpenAI chat-completions) writes the file with write_file; reward 1', { timeout: 120_000 }, async () => {
    assertDocker();
    const root = '/root/.openclaw/workspace';
    const server = await startModelServer({
      script: {
        tasks: {
          'qwen-test': {
            match: 'greeting\\.txt',
            replies: [
              { content: 'Writing it.', tool_calls: [{ name: 'write_file', arguments: { file_path: `${root}/greeting.txt`, content: 'hello from qwen\n' } }] },
              { content: 'Wrote greeting.txt.' },
            ],
          },
        },
        default: { replies: [{ content: 'ok' }] },
      },
    });
    const runsDir = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-runs-'));
    const runId = newRunId();
    try {
      const agent = blackBoxAgents({ baseUrl: server.url, apiKey: REAL_KEY, model: 'scripted' })['qwen-code']!;
      const t = task({
        id: 'qwen-test',
        intent: 'Create the file greeting.txt containing the line "hello from qwen".',
        root,
        files: [{ path: `${root}/README.md`, content: Buffer.from('notes\n') }],
        verifier: { ...task().verifier, checks: [{ id: 'greeting', file_matches: { path: 'greeting.txt', pattern: '^hello from qwen\\n?$' } }] as ResolvedTask['verifier']['checks'] },
      });
      const job = await runJob({ tasks: [t], agent, backend, image: TEST_IMAGE, runsDir, runId, agentTimeoutMs: 100_000 });
      const r = job.results[0]!;
      assert.equal(r.status, 'passed', JSON.stringify(r.agentOutcome));
      assert.match(r.agentOutcome?.finalMessage ?? '', /Wrote greeting\.txt/);
      const trajectory = JSON.parse(fs.readFileSync(join(runsDir, runId, 'trials', 'qwen-test', 'trajectory.json'), 'utf8'));
      assert.ok(trajectory.steps.some((s: { tool_calls?: { function_name: string }[] }) => s.tool_calls?.some((c) => c.function_name === 'write_file')));
      assert.deepEqual(filesContaining(join(runsDir, runId), REAL_KEY), []);
      assert.deepEqual(containersOf(runId), []);
    } finally {
      await server.close();
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
  });
});

/**
 * `clawgym export sft` end to end: the bundled CLI (dist/cli.js, built by `npm run build`) as a
 * child process over a temporary runs folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

const repoRoot = join(__dirname, '..', '..', '..');
const cliJs = join(repoRoot, 'dist', 'cli.js');

function writeTrial(dir: string, taskId: string, reward: number, trajectory: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(join(dir, 'result.json'), JSON.stringify({ taskId, trialId: `${taskId}-1`, agent: 'a', status: reward >= 1 ? 'passed' : 'failed', reward, solved: reward >= 1 }));
  if (!trajectory) return;
  fs.writeFileSync(
    join(dir, 'trajectory.json'),
    JSON.stringify({
      schema_version: 'ATIF-v1.7',
      session_id: taskId,
      agent: { name: 'a', version: '1', tool_definitions: [{ type: 'function', function: { name: 'bash', parameters: { type: 'object' } } }] },
      steps: [
        { step_id: 1, source: 'user', message: `Do ${taskId}.` },
        {
          step_id: 2,
          source: 'agent',
          message: '',
          tool_calls: [{ tool_call_id: 'c1', function_name: 'bash', arguments: { command: 'ls' } }],
          observation: { results: [{ source_call_id: 'c1', content: 'x' }] },
          metrics: { prompt_tokens: 5, completion_tokens: 2, completion_token_ids: [4, 2], logprobs: [-1, -0.5] },
        },
        { step_id: 3, source: 'agent', message: 'done' },
      ],
    }),
  );
}

test('clawgym export sft writes JSONL, filters, names skipped trials, and exits by what it wrote', { skip: fs.existsSync(cliJs) ? false : 'dist/cli.js is missing (run `npm run build`)' }, () => {
  const root = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-sft-cli-'));
  try {
    const run = join(root, 'runs', 'r1');
    writeTrial(join(run, 'trials', 'good-1'), 'good', 1, true);
    writeTrial(join(run, 'trials', 'half-1'), 'half', 0.5, true);
    writeTrial(join(run, 'trials', 'bare-1'), 'bare', 1, false);
    const cli = (args: string[]) => spawnSync(process.execPath, [cliJs, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

    const r = cli(['export', 'sft', 'runs', '--out', 'out/train.jsonl', '--min-reward', '1', '--tokens']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /skipped runs\/r1\/trials\/bare-1: no trajectory\.json/);
    assert.match(r.stderr, /wrote 1 example \(openai\) to out\/train\.jsonl; 1 trial filtered out; 1 skipped/);
    const lines = fs.readFileSync(join(root, 'out', 'train.jsonl'), 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 1);
    const example = JSON.parse(lines[0]!) as { messages: Record<string, unknown>[]; tools: unknown[] };
    assert.equal(example.messages[0]!.content, 'Do good.');
    assert.deepEqual(example.messages[1]!.clawgym, { token_ids: [4, 2], logprobs: [-1, -0.5] });
    assert.equal(example.tools.length, 1);

    const s = cli(['export', 'sft', 'runs/r1', '-o', 'sg.jsonl', '--format', 'sharegpt', '--task', 'ha*']);
    assert.equal(s.status, 0, s.stderr);
    const sg = JSON.parse(fs.readFileSync(join(root, 'sg.jsonl'), 'utf8')) as { conversations: { from: string }[]; tools: string };
    assert.deepEqual(sg.conversations.map((c) => c.from), ['human', 'function_call', 'observation', 'gpt']);
    assert.equal(typeof sg.tools, 'string');

    const none = cli(['export', 'sft', 'runs', '--out', 'none.jsonl', '--task', 'nothing']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /wrote 0 examples/);

    const usage = cli(['export', 'sft', 'runs']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /`export sft` needs `--out <file\.jsonl>`/);
    // The existing form still parses as before.
    const old = cli(['export', 'no-such.clawtask']);
    assert.equal(old.status, 2);
    assert.match(old.stderr, /`export` needs `--out <dir>`/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

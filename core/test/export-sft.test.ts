/**
 * `exportSft`: a temporary runs folder with trials of rewards 1, 0.5 and 0 (each with a
 * trajectory.json) and one trial without a trajectory; filters, both formats line by line,
 * tools included, token data kept or dropped, atomic output.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { exportSft, findTrialFolders, taskMatcher } from '../src/export/sft';
import { TrajectoryBuilder, type ToolDefinition, type Trajectory } from '../src/trajectory/atif';

const TOOLS: ToolDefinition[] = [{ type: 'function', function: { name: 'bash', description: 'Run a command', parameters: { type: 'object', properties: { command: { type: 'string' } } } } }];

function trajectory(task: string): Trajectory {
  const b = new TrajectoryBuilder({ sessionId: task, agent: { name: 'clawgym-agent', version: '0.1.0', model_name: 'qwen3', tool_definitions: TOOLS }, now: () => new Date('2026-05-01T10:00:00Z') });
  b.addSystem('You are an agent.');
  b.addUser(`Do ${task}.`);
  const s = b.addAgent({
    message: 'Two commands.',
    tool_calls: [
      { tool_call_id: 'c1', function_name: 'bash', arguments: { command: 'ls' } },
      { tool_call_id: 'c2', function_name: 'bash', arguments: { command: 'pwd' } },
    ],
    metrics: { prompt_tokens: 10, completion_tokens: 4, completion_token_ids: [1, 2, 3, 4], logprobs: [-0.1, -0.2, -0.3, -0.4] },
  });
  b.addObservation(s, [
    { source_call_id: 'c1', content: 'a.txt' },
    { source_call_id: 'c2', content: '/work' },
  ]);
  b.addAgent({ message: `Finished ${task}.`, metrics: { prompt_tokens: 20, completion_tokens: 3 } });
  return b.toJSON();
}

let root: string;
const runDir = () => join(root, 'runs', '2026-05-01T10-00-00-abc');

function trial(id: string, taskId: string, reward: number, withTrajectory: boolean): void {
  const dir = join(runDir(), 'trials', id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(join(dir, 'result.json'), JSON.stringify({ taskId, trialId: id, agent: 'clawgym-agent', status: reward >= 1 ? 'passed' : 'failed', reward, solved: reward >= 1 }));
  if (withTrajectory) fs.writeFileSync(join(dir, 'trajectory.json'), JSON.stringify(trajectory(taskId)));
}

function readLines(path: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(() => {
  root = fs.mkdtempSync(join(os.tmpdir(), 'clawgym-sft-'));
  trial('alpha-1', 'alpha', 1, true);
  trial('beta-1', 'beta', 0.5, true);
  trial('gamma-1', 'gamma', 0, true);
  trial('delta-1', 'delta', 1, false);
  fs.writeFileSync(join(runDir(), 'result.json'), JSON.stringify({ summary: true }));
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('finding trials', () => {
  test('a folder of runs, a run folder and a trial folder all lead to the trials', () => {
    const all = findTrialFolders([join(root, 'runs')]).trials.map((p) => p.split('/').pop());
    assert.deepEqual(all, ['alpha-1', 'beta-1', 'delta-1', 'gamma-1']);
    assert.deepEqual(findTrialFolders([runDir()]).trials.length, 4);
    assert.deepEqual(findTrialFolders([join(runDir(), 'trials', 'beta-1'), runDir()]).trials.length, 4, 'no duplicates');
    assert.deepEqual(findTrialFolders([join(root, 'nope')]).missing, [join(root, 'nope')]);
  });

  test('task globs', () => {
    const m = taskMatcher(['al*', 'g?mma']);
    assert.deepEqual(['alpha', 'beta', 'gamma', 'gxmmax'].filter(m), ['alpha', 'gamma']);
  });
});

describe('exportSft', () => {
  test('openai: one line per kept trial, exactly the chat fine-tuning shape with tools', () => {
    const out = join(root, 'out', 'openai.jsonl');
    const r = exportSft({ runs: [join(root, 'runs')], out, format: 'openai' });
    assert.equal(r.written, 3);
    assert.deepEqual(r.skipped, [{ path: join(runDir(), 'trials', 'delta-1'), reason: 'no trajectory.json' }]);
    const lines = readLines(out);
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[0], {
      messages: [
        { role: 'system', content: 'You are an agent.' },
        { role: 'user', content: 'Do alpha.' },
        {
          role: 'assistant',
          content: 'Two commands.',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'bash', arguments: '{"command":"ls"}' } },
            { id: 'c2', type: 'function', function: { name: 'bash', arguments: '{"command":"pwd"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'a.txt' },
        { role: 'tool', tool_call_id: 'c2', content: '/work' },
        { role: 'assistant', content: 'Finished alpha.' },
      ],
      tools: TOOLS,
      parallel_tool_calls: true,
    });
    assert.deepEqual(lines.map((l) => (l.messages as { content: string }[])[1]!.content), ['Do alpha.', 'Do beta.', 'Do gamma.']);
    assert.ok(!fs.readdirSync(join(root, 'out')).some((n) => n.includes('.tmp-')), 'no temporary file left');
  });

  test('--min-reward, --task and --solved filter, with reasons', () => {
    const out = join(root, 'filtered.jsonl');
    const r = exportSft({ runs: [runDir()], out, format: 'openai', minReward: 0.5 });
    assert.equal(r.written, 2);
    assert.deepEqual(r.skipped.map((s) => s.reason).sort(), ['no trajectory.json', 'reward 0 is below 0.5']);
    const byTask = exportSft({ runs: [runDir()], out, format: 'openai', tasks: ['beta', 'gam*'] });
    assert.equal(byTask.written, 2);
    assert.deepEqual(readLines(out).map((l) => (l.messages as { content: string }[])[1]!.content), ['Do beta.', 'Do gamma.']);
    assert.ok(byTask.skipped.some((s) => s.reason === 'task alpha not selected'));
    const solved = exportSft({ runs: [runDir()], out, format: 'openai', onlySolved: true });
    assert.equal(solved.written, 1);
    assert.ok(solved.skipped.some((s) => /^not solved \(status failed, reward 0\.5\)$/.test(s.reason)));
  });

  test('tokens are kept under the documented key only with includeTokens', () => {
    const out = join(root, 'tokens.jsonl');
    exportSft({ runs: [runDir()], out, format: 'openai', tasks: ['alpha'], includeTokens: true });
    const messages = readLines(out)[0]!.messages as Record<string, unknown>[];
    assert.deepEqual(messages[2]!.clawgym, { token_ids: [1, 2, 3, 4], logprobs: [-0.1, -0.2, -0.3, -0.4] });
    assert.equal(messages[5]!.clawgym, undefined, 'no token data, no key');
    exportSft({ runs: [runDir()], out, format: 'openai', tasks: ['alpha'] });
    assert.ok(!fs.readFileSync(out, 'utf8').includes('clawgym'));
    exportSft({ runs: [runDir()], out, format: 'sharegpt', tasks: ['alpha'], includeTokens: true });
    const conv = readLines(out)[0]!.conversations as Record<string, unknown>[];
    assert.deepEqual(conv[2]!.clawgym, { token_ids: [1, 2, 3, 4], logprobs: [-0.1, -0.2, -0.3, -0.4] });
  });

  test('sharegpt: the LLaMA-Factory tool convention, line by line', () => {
    const out = join(root, 'sharegpt.jsonl');
    const r = exportSft({ runs: [join(root, 'runs')], out, format: 'sharegpt', minReward: 1 });
    assert.equal(r.written, 1);
    const [line] = readLines(out);
    assert.deepEqual(line, {
      conversations: [
        { from: 'system', value: 'You are an agent.' },
        { from: 'human', value: 'Do alpha.' },
        { from: 'function_call', value: '[{"name":"bash","arguments":{"command":"ls"}},{"name":"bash","arguments":{"command":"pwd"}}]' },
        { from: 'observation', value: '["a.txt","/work"]' },
        { from: 'gpt', value: 'Finished alpha.' },
      ],
      tools: JSON.stringify([TOOLS[0]!.function]),
    });
    // LLaMA-Factory's rule: after the system turn, human/observation at odd positions, gpt/function_call at even ones.
    const turns = (line!.conversations as { from: string }[]).slice(1);
    turns.forEach((t, i) => assert.ok((i % 2 === 0 ? ['human', 'observation'] : ['gpt', 'function_call']).includes(t.from), `${i}: ${t.from}`));
    assert.equal(turns.length % 2, 0);
  });

  test('copied context steps are not trained on; broken trajectories are skipped with the validator\'s reason', () => {
    const dir = join(root, 'special', 'trials');
    const copied = trajectory('copied');
    copied.steps[2]!.is_copied_context = true;
    fs.mkdirSync(join(dir, 'c-1'), { recursive: true });
    fs.writeFileSync(join(dir, 'c-1', 'result.json'), JSON.stringify({ taskId: 'copied', reward: 1, status: 'passed', solved: true, agent: 'x' }));
    fs.writeFileSync(join(dir, 'c-1', 'trajectory.json'), JSON.stringify(copied));
    fs.mkdirSync(join(dir, 'b-1'), { recursive: true });
    fs.writeFileSync(join(dir, 'b-1', 'result.json'), JSON.stringify({ taskId: 'broken', reward: 1, status: 'passed', solved: true, agent: 'x' }));
    fs.writeFileSync(join(dir, 'b-1', 'trajectory.json'), JSON.stringify({ schema_version: 'ATIF-v1.7', agent: { name: 'x', version: '1' }, steps: [{ step_id: 2, source: 'user', message: '' }] }));
    const out = join(root, 'special.jsonl');
    const r = exportSft({ runs: [join(root, 'special')], out, format: 'openai' });
    assert.equal(r.written, 1);
    assert.match(r.skipped[0]!.reason, /^trajectory\.json is not valid ATIF: steps\[0\]\.step_id: expected 1/);
    const messages = readLines(out)[0]!.messages as Record<string, unknown>[];
    assert.equal(messages[2]!.weight, 0);
    assert.equal(messages[5]!.weight, undefined);
    exportSft({ runs: [join(root, 'special')], out, format: 'sharegpt' });
    assert.deepEqual((readLines(out)[0]!.conversations as { from: string }[]).map((t) => t.from), ['system', 'human', 'gpt']);
  });
});

/**
 * ATIF trajectories: the builder (step ids, observations, final metrics, the event stream), the
 * validator, and the conversions to and from OpenAI chat messages.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ATIF_SCHEMA_VERSION,
  TrajectoryBuilder,
  validateTrajectory,
  type ToolDefinition,
  type TrajectoryEvent,
} from '../src/trajectory/atif';
import { chatExchangesToTrajectory, trajectoryToChatMessages, type ChatExchange, type ChatMessage } from '../src/trajectory/messages';

const TOOLS: ToolDefinition[] = [
  { type: 'function', function: { name: 'bash', description: 'Run a shell command', parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } } },
  { type: 'function', function: { name: 'read_file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } },
];

function clock(): () => Date {
  let t = Date.parse('2026-05-01T10:00:00Z');
  return () => new Date((t += 1000));
}

function sample(onEvent?: (e: TrajectoryEvent) => void): { builder: TrajectoryBuilder; agentStep: number } {
  const builder = new TrajectoryBuilder({ sessionId: 'run-1/t-1', agent: { name: 'clawgym-agent', version: '0.1.0', model_name: 'qwen3', tool_definitions: TOOLS }, onEvent, now: clock() });
  builder.addSystem('You are a careful agent.');
  builder.addUser('Summarize notes/meeting.md.');
  const agentStep = builder.addAgent({
    message: 'Reading both files.',
    reasoning_content: 'Two reads at once.',
    tool_calls: [
      { tool_call_id: 'c1', function_name: 'read_file', arguments: { path: 'notes/meeting.md' } },
      { tool_call_id: 'c2', function_name: 'bash', arguments: '{"command":"ls notes"}' },
    ],
    metrics: { prompt_tokens: 100, completion_tokens: 20, cached_tokens: 40, cost_usd: 0.1, logprobs: [-0.1, -0.2], completion_token_ids: [7, 8] },
  });
  builder.addObservation(agentStep, [{ source_call_id: 'c1', content: '# Weekly sync' }]);
  builder.addObservation(agentStep, [{ source_call_id: 'c2', content: 'meeting.md' }]);
  builder.addAgent({ message: 'Done: three bullets written.', metrics: { prompt_tokens: 150, completion_tokens: 30, cost_usd: 0.2 } });
  return { builder, agentStep };
}

describe('TrajectoryBuilder', () => {
  test('numbers steps from 1, timestamps them, and appends observations to the agent step', () => {
    const { builder, agentStep } = sample();
    const t = builder.toJSON();
    assert.equal(t.schema_version, ATIF_SCHEMA_VERSION);
    assert.equal(t.schema_version, 'ATIF-v1.7');
    assert.equal(t.session_id, 'run-1/t-1');
    assert.deepEqual(t.steps.map((s) => [s.step_id, s.source]), [[1, 'system'], [2, 'user'], [3, 'agent'], [4, 'agent']]);
    assert.equal(agentStep, 3);
    assert.equal(t.steps[0]!.timestamp, '2026-05-01T10:00:01.000Z');
    assert.deepEqual(t.steps[2]!.observation, { results: [{ source_call_id: 'c1', content: '# Weekly sync' }, { source_call_id: 'c2', content: 'meeting.md' }] });
    // A string argument is parsed into the object ATIF requires.
    assert.deepEqual(t.steps[2]!.tool_calls![1]!.arguments, { command: 'ls notes' });
    assert.equal(t.agent.tool_definitions, TOOLS);
  });

  test('final_metrics sums the steps (totals only for figures some step reported)', () => {
    const t = sample().builder.toJSON();
    assert.deepEqual(t.final_metrics, { total_prompt_tokens: 250, total_completion_tokens: 50, total_cached_tokens: 40, total_cost_usd: 0.3, total_steps: 4 });
    const empty = new TrajectoryBuilder({ sessionId: 's', agent: { name: 'a', version: '1' } });
    empty.addUser('hi');
    assert.deepEqual(empty.toJSON().final_metrics, { total_steps: 1 });
  });

  test('streams every step and observation synchronously, then the final metrics', () => {
    const events: TrajectoryEvent[] = [];
    const { builder } = sample((e) => events.push(e));
    assert.deepEqual(events.map((e) => (e.type === 'step' ? `step ${e.step.step_id}` : e.type === 'observation' ? `obs ${e.step_id}` : 'final')), ['step 1', 'step 2', 'step 3', 'obs 3', 'obs 3', 'step 4']);
    // The streamed step is a snapshot: observations arrive as their own events.
    const step3 = events[2]!;
    assert.ok(step3.type === 'step' && step3.step.observation === undefined);
    const t = builder.finish();
    const last = events[events.length - 1]!;
    assert.deepEqual(last, { type: 'final', final_metrics: t.final_metrics });
    // Replaying the stream gives the trajectory's steps.
    const replay = events.flatMap((e) => (e.type === 'step' ? [structuredClone(e.step)] : []));
    for (const e of events) if (e.type === 'observation') (replay[e.step_id - 1]!.observation ??= { results: [] }).results.push(...e.results);
    assert.deepEqual(replay, t.steps);
    assert.deepEqual(JSON.parse(JSON.stringify(events[0])), events[0], 'events are plain JSON');
  });

  test('an unparseable argument string is kept in extra.raw_arguments', () => {
    const b = new TrajectoryBuilder({ sessionId: 's', agent: { name: 'a', version: '1' } });
    b.addAgent({ message: '', tool_calls: [{ tool_call_id: 'x', function_name: 'bash', arguments: '{"command": "ls' }] });
    const call = b.toJSON().steps[0]!.tool_calls![0]!;
    assert.deepEqual(call.arguments, {});
    assert.deepEqual(call.extra, { raw_arguments: '{"command": "ls' });
    assert.equal(trajectoryToChatMessages(b.toJSON()).messages[0]!.role, 'assistant');
    assert.deepEqual((trajectoryToChatMessages(b.toJSON()).messages[0] as { tool_calls: { function: { arguments: string } }[] }).tool_calls[0]!.function.arguments, '{"command": "ls');
  });

  test('addObservation rejects unknown steps and user steps', () => {
    const { builder } = sample();
    assert.throws(() => builder.addObservation(9, [{ content: 'x' }]), /no step 9/);
    assert.throws(() => builder.addObservation(2, [{ content: 'x' }]), /user step/);
  });

  test('setNote sets notes', () => {
    const { builder } = sample();
    builder.setNote('stopped at the step limit');
    assert.equal(builder.toJSON().notes, 'stopped at the step limit');
  });
});

describe('validateTrajectory', () => {
  test('accepts built trajectories, the RFC example shape, and round-trips through JSON', () => {
    const t = sample().builder.finish();
    assert.deepEqual(validateTrajectory(t), []);
    assert.deepEqual(validateTrajectory(JSON.parse(JSON.stringify(t))), []);
    const rfc = {
      schema_version: 'ATIF-v1.5',
      session_id: '025B810F',
      agent: { name: 'harbor-agent', version: '1.0.0', model_name: 'gemini-2.5-flash', extra: {} },
      notes: 'n',
      extra: {},
      final_metrics: { total_prompt_tokens: 1120, total_steps: 2, extra: {} },
      steps: [
        { step_id: 1, timestamp: '2025-10-11T10:30:00Z', source: 'user', message: 'price?', extra: {} },
        {
          step_id: 2,
          source: 'agent',
          reasoning_effort: 'medium',
          message: [{ type: 'text', text: 'Searching.' }],
          tool_calls: [{ tool_call_id: 'p1', function_name: 'search', arguments: { t: 'GOOGL' } }],
          observation: { results: [{ source_call_id: 'p1', content: '$185', extra: { score: 1 } }, { content: 'note', subagent_trajectory_ref: [{ trajectory_path: 'sub.json' }] }] },
          metrics: { prompt_tokens: 520, extra: { reasoning_tokens: 12 } },
        },
      ],
    };
    assert.deepEqual(validateTrajectory(rfc), []);
  });

  test('rejects broken trajectories with the field path and the reason', () => {
    const t = sample().builder.toJSON() as unknown as Record<string, unknown> & { steps: Record<string, unknown>[] };
    const broken = structuredClone(t);
    delete (broken as Record<string, unknown>).schema_version;
    broken.steps[1]!.step_id = 7;
    broken.steps[1]!.metrics = { prompt_tokens: 3 };
    broken.steps[0]!.timestamp = 'yesterday';
    (broken.steps[2]!.tool_calls as Record<string, unknown>[])[0]!.arguments = 'not an object';
    const errors = validateTrajectory(broken);
    assert.ok(errors.some((e) => e.startsWith('schema_version:')), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('steps[2].tool_calls[0].arguments:')), errors.join('\n'));

    const rules = structuredClone(t);
    rules.steps[1]!.step_id = 7;
    rules.steps[1]!.metrics = { prompt_tokens: 3 };
    rules.steps[0]!.timestamp = 'yesterday';
    ((rules.steps[2]!.observation as { results: Record<string, unknown>[] }).results[0]!).source_call_id = 'nope';
    assert.deepEqual(validateTrajectory(rules), [
      'steps[0].timestamp: not an ISO 8601 date-time: "yesterday"',
      'steps[1].step_id: expected 2 (step ids count 1, 2, 3… in order), got 7',
      'steps[1].metrics: only agent steps may have it (this step\'s source is "user")',
      'steps[2].observation.results[0].source_call_id: "nope" matches no tool_call_id of this step',
    ]);

    assert.deepEqual(validateTrajectory({ ...t, agent: { name: 'a', version: '1' }, stepz: [] }).length, 1);
    assert.match(validateTrajectory({ ...t, stepz: [] })[0]!, /stepz/);
    assert.match(validateTrajectory(null)[0]!, /^\(root\): /);
    assert.match(validateTrajectory({ ...t, steps: [{ step_id: 1, source: 'robot', message: '' }] })[0]!, /^steps\[0\]\.source: /);
  });

  test('embedded subagents need a unique trajectory_id and refs need an id or a path', () => {
    const sub = (id?: string) => ({ schema_version: 'ATIF-v1.7', ...(id ? { trajectory_id: id } : {}), agent: { name: 's', version: '1' }, steps: [{ step_id: 1, source: 'user', message: 'x' }] });
    const parent = {
      schema_version: 'ATIF-v1.7',
      agent: { name: 'p', version: '1' },
      steps: [{ step_id: 1, source: 'system', message: 'compacted', observation: { results: [{ content: 's', subagent_trajectory_ref: [{ session_id: 'only' }] }] } }],
      subagent_trajectories: [sub('a'), sub('a'), sub()],
    };
    assert.deepEqual(validateTrajectory(parent), [
      'steps[0].observation.results[0].subagent_trajectory_ref[0]: needs trajectory_id or trajectory_path (session_id alone does not resolve)',
      'subagent_trajectories[1].trajectory_id: duplicate "a" among subagent_trajectories',
      'subagent_trajectories[2].trajectory_id: required on an embedded subagent trajectory',
    ]);
  });
});

describe('trajectoryToChatMessages', () => {
  test('gives OpenAI messages: parallel tool calls, then one tool message per result in order', () => {
    const { messages, tools } = trajectoryToChatMessages(sample().builder.toJSON());
    assert.equal(tools, TOOLS);
    assert.deepEqual(messages, [
      { role: 'system', content: 'You are a careful agent.' },
      { role: 'user', content: 'Summarize notes/meeting.md.' },
      {
        role: 'assistant',
        content: 'Reading both files.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'read_file', arguments: '{"path":"notes/meeting.md"}' } },
          { id: 'c2', type: 'function', function: { name: 'bash', arguments: '{"command":"ls notes"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: '# Weekly sync' },
      { role: 'tool', tool_call_id: 'c2', content: 'meeting.md' },
      { role: 'assistant', content: 'Done: three bullets written.' },
    ]);
  });

  test('round trip: messages -> exchanges -> trajectory -> the same messages', () => {
    const original = sample().builder.toJSON();
    const { messages, tools } = trajectoryToChatMessages(original);
    // What a proxy would have recorded: one exchange per assistant message.
    const exchanges: ChatExchange[] = [];
    messages.forEach((m, i) => {
      if (m.role === 'assistant') exchanges.push({ request: { model: 'qwen3', messages: messages.slice(0, i), tools }, response: { model: 'qwen3', choices: [{ index: 0, message: m }], usage: { prompt_tokens: i, completion_tokens: 1 } } });
    });
    const rebuilt = chatExchangesToTrajectory(exchanges, { sessionId: 's', agent: { name: 'proxy', version: '1' } });
    assert.deepEqual(validateTrajectory(rebuilt), []);
    assert.deepEqual(trajectoryToChatMessages(rebuilt), { messages, tools });
    assert.deepEqual(rebuilt.steps.map((s) => s.tool_calls?.map((c) => c.arguments)), [undefined, undefined, [{ path: 'notes/meeting.md' }, { command: 'ls notes' }], undefined]);
  });
});

describe('chatExchangesToTrajectory', () => {
  const sys: ChatMessage = { role: 'system', content: 'Be brief.' };
  const user: ChatMessage = { role: 'user', content: 'List the files.' };
  const call = { role: 'assistant', content: null, reasoning_content: 'ls it', tool_calls: [{ id: 'k1', type: 'function', function: { name: 'bash', arguments: '{"command":"ls"}' } }] };
  const result = { role: 'tool', tool_call_id: 'k1', content: 'a.txt\nb.txt' };
  const answer = { role: 'assistant', content: 'a.txt and b.txt' };
  const tools = [TOOLS[0]];
  const exchanges: ChatExchange[] = [
    // A failed call (no choices), then a retry whose answer was different and discarded.
    { request: { model: 'm', messages: [sys, user], tools }, response: { error: { message: 'overloaded' } } },
    { request: { model: 'm', messages: [sys, user], tools }, response: { model: 'm-0501', choices: [{ message: { role: 'assistant', content: 'I cannot.' } }], usage: { prompt_tokens: 10, completion_tokens: 3 } } },
    {
      request: { model: 'm', messages: [sys, user], tools },
      finishedAt: '2026-05-01T12:00:00.000Z',
      response: {
        model: 'm-0501',
        choices: [{ message: call, token_ids: [11, 12], logprobs: { content: [{ token: 'a', logprob: -0.5 }, { token: 'b', logprob: -0.25 }] } }],
        prompt_token_ids: [1, 2, 3],
        usage: { prompt_tokens: 12, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 8 }, cost: 0.001 },
      },
    },
    { request: { model: 'm', messages: [sys, user, call, result], tools }, response: { model: 'm-0501', choices: [{ message: answer }], usage: { prompt_tokens: 20, completion_tokens: 5 } } },
  ];

  test('the last request plus its response is the conversation; each response is an agent step with its usage', () => {
    const t = chatExchangesToTrajectory(exchanges, { sessionId: 'rec-1', agent: { name: 'black-box', version: '2' }, now: clock() });
    assert.deepEqual(validateTrajectory(t), []);
    assert.equal(t.agent.model_name, 'm');
    assert.deepEqual(t.agent.tool_definitions, tools);
    assert.deepEqual(t.steps.map((s) => s.source), ['system', 'user', 'agent', 'agent']);
    const step3 = t.steps[2]!;
    assert.equal(step3.timestamp, '2026-05-01T12:00:00.000Z');
    assert.equal(step3.model_name, 'm-0501');
    assert.equal(step3.reasoning_content, 'ls it');
    assert.equal(step3.message, '');
    assert.equal(step3.llm_call_count, 1);
    assert.deepEqual(step3.tool_calls, [{ tool_call_id: 'k1', function_name: 'bash', arguments: { command: 'ls' } }]);
    assert.deepEqual(step3.observation, { results: [{ source_call_id: 'k1', content: 'a.txt\nb.txt' }] });
    assert.deepEqual(step3.metrics, { prompt_tokens: 12, completion_tokens: 2, cached_tokens: 8, cost_usd: 0.001, logprobs: [-0.5, -0.25], completion_token_ids: [11, 12], prompt_token_ids: [1, 2, 3] });
    assert.deepEqual(t.steps[3]!.metrics, { prompt_tokens: 20, completion_tokens: 5 });
    assert.deepEqual(t.final_metrics, { total_prompt_tokens: 32, total_completion_tokens: 7, total_cached_tokens: 8, total_cost_usd: 0.001, total_steps: 4 });
    // The discarded retry and the failed call are accounted for, not lost silently.
    assert.deepEqual(t.extra, { unmatched_exchanges: { count: 1, prompt_tokens: 10, completion_tokens: 3, without_response: 1 } });
    assert.match(t.notes!, /4 recorded/);
  });

  test('vLLM "token_id:N" logprob tokens give completion token ids', () => {
    const t = chatExchangesToTrajectory(
      [{ request: { messages: [user] }, response: { choices: [{ message: answer, logprobs: { content: [{ token: 'token_id:5', logprob: -1 }, { token: 'token_id:9', logprob: -2 }] } }] } }],
      { sessionId: 's', agent: { name: 'a', version: '1' } },
    );
    assert.deepEqual(t.steps[1]!.metrics, { logprobs: [-1, -2], completion_token_ids: [5, 9] });
  });

  test('no usable exchange gives an empty, valid trajectory with a note', () => {
    const t = chatExchangesToTrajectory([], { sessionId: 's', agent: { name: 'a', version: '1' } });
    assert.deepEqual(t.steps, []);
    assert.deepEqual(validateTrajectory(t), []);
    assert.equal(t.notes, 'no exchanges were recorded');
  });
});

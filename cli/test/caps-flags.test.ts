/** The cap flags of `run` (docs/running.md#caps): parsed into the options, bad values refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../src/args';

test('cap flags: sizes and counts parsed, too small or malformed refused', () => {
  const r = parseCommandLine(['run', 't', '--max-event-bytes', '1m', '--max-reply-bytes', '64k', '--max-reply-tokens', '4096', '--max-observation', '5000', '--max-trajectory-bytes', '2m']);
  assert.ok(r.ok && r.command.kind === 'run');
  const o = r.ok && r.command.kind === 'run' ? r.command.options : undefined;
  assert.equal(o?.maxEventBytes, 1024 * 1024);
  assert.deepEqual(o?.model?.limits, { maxReplyBytes: 64 * 1024, maxReplyTokens: 4096, maxObservationChars: 5000, maxTrajectoryBytes: 2 * 1024 * 1024 });
  for (const [args, re] of [
    [['--max-event-bytes', '10'], /at least 4096 bytes/],
    [['--max-reply-bytes', 'lots'], /needs a size/],
    [['--max-reply-tokens', '0'], /whole number of 1 or more/],
    [['--max-observation', '50'], /at least 200/],
    [['--agent', 'oracle', '--max-reply-bytes', '1m'], /model flags are for model-driven agents/],
  ] as const) {
    const bad = parseCommandLine(['run', 't', ...args]);
    assert.ok(!bad.ok, args.join(' '));
    assert.match(bad.ok ? '' : bad.message, re);
  }
});

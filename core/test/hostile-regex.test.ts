/**
 * Hostile suite, bounded matching: every regex and glob the tool evaluates on the host runs in
 * time linear in the text, whatever the pattern and the text (the agent's) contain. One test per
 * place a pattern is matched: the verifier's host checks and `stdout_matches` (on the real
 * engine), the diagnostics (while typing), the converter's globs, the model server's `match`,
 * `export sft`'s task filters. Then the matcher's own unit tests (JavaScript meaning kept, what
 * RE2 lacks refused) and the backtracking warning's.
 *
 * Timing bounds are generous (a loaded CI machine): the backtracking engine these replace needs
 * hours to years on the same inputs, so a pass cannot be luck.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createTaskDocument, memoryFileSystem, validateTask } from '../src/language';
import { compileGlob, PathSet, textMatches } from '../src/language/diagnostics/evaluate';
import { checkPySpec } from '../src/clawgym/checkPy';
import { taskMatcher } from '../src/export/sft';
import { startModelServer } from '../src/modelserver';
import { backtrackingRisk, compileBoundedRegex, MAX_REPEAT, testBounded, toRe2, type BoundedRegex } from '../src/regex';
import type { ResolvedTask, ResolvedVerifier } from '../src/run/types';
import { createDockerBackend } from '../src/sandbox/docker';
import { runVerifier } from '../src/verifier';
import { assertDocker, needsDocker, TEST_IMAGE } from './docker';
import { fixturesDir } from './util';

/** `a` × n then `!`: `^(a+)+$` needs about 2^n backtracking steps to fail on it. */
const evil = (n: number): string => `${'a'.repeat(n)}!`;
/** The glob from the reports: as a backtracking regex, n^12 on a long name. */
const EVIL_GLOB = 'out/*a*a*a*a*a*a*a*a*a*a*a*b';
/** Far below what any backtracking engine survives on these inputs, far above what RE2 needs. */
const BOUND_MS = 3000;

function ms(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function re(pattern: string, flags = ''): BoundedRegex {
  const r = compileBoundedRegex(pattern, flags);
  assert.ok('re' in r, `${pattern} should compile: ${'error' in r ? r.error : ''}`);
  return r.re;
}

// ---------------------------------------------------------------------------------------------
// Hostile cases, one per place

describe('hostile: catastrophic patterns run in bounded time', () => {
  test('file_matches and stdout_matches semantics: ^(a+)+$ against a million a and a ! answer in milliseconds', () => {
    const text = evil(1_000_000);
    let found: boolean | undefined;
    const t = ms(() => (found = textMatches(text, '^(a+)+$')));
    assert.equal(found, false);
    assert.ok(t < BOUND_MS, `${t} ms`);
    // the same with the other classic shapes
    for (const p of ['^(a|a)*$', '^(a|aa)+$', '^(\\w+\\s?)*$', '(.*a){20}$', '^(a*)*$']) {
      const t2 = ms(() => assert.equal(re(p).test(text), false, p));
      assert.ok(t2 < BOUND_MS, `${p}: ${t2} ms`);
    }
  });

  test('globs: *a*a*a*a*a*a*a*a*a*a*a*b over long names (snapshot, diagnostics, converter) answer at once', () => {
    const names = Array.from({ length: 200 }, (_, i) => `out/${'a'.repeat(200 + i)}`);
    let hit: string | undefined = 'unset';
    const t = ms(() => (hit = new PathSet(names).match(EVIL_GLOB)));
    assert.equal(hit, undefined);
    assert.ok(t < BOUND_MS, `${t} ms`);
    assert.equal(compileGlob(EVIL_GLOB)!.test(`out/${'a'.repeat(5000)}b`), true);
  });

  test('the verifier on the real engine: hostile patterns are graded, an unsupported one is an error of that check alone', needsDocker(), async () => {
    assertDocker();
    const root = '/root/.openclaw/workspace';
    const sb = await createDockerBackend().create({ image: TEST_IMAGE, workdir: root, runId: `hostile-regex-${process.pid}`, trialId: 't1' }, []);
    try {
      // the "agent": 200,000 a and a !, a file with a 240-a name, and the same text on stdout
      const agent = await sb.exec(`head -c 200000 /dev/zero | tr '\\0' a > out.txt && printf '!' >> out.txt && mkdir out && touch "out/$(head -c 240 /dev/zero | tr '\\0' a)"`, { timeoutMs: 30_000 });
      assert.equal(agent.exitCode, 0, agent.stderr);
      const checks = [
        { id: 'file-nested', file_matches: { path: 'out.txt', pattern: '^(a+)+$' } },
        { id: 'stdout-nested', command: 'cat out.txt', stdout_matches: '^(a+)+$' },
        { id: 'glob-overlap', file_exists: EVIL_GLOB },
        { id: 'glob-content', file_matches: { path: EVIL_GLOB, pattern: 'a' } },
        { id: 'lookahead', file_matches: { path: 'out.txt', pattern: 'a(?=!)' } },
        { id: 'backreference', command: 'cat out.txt', stdout_matches: '(a)\\1' },
        { id: 'plain', file_matches: { path: 'out.txt', pattern: 'a+!$' } },
      ];
      const t: ResolvedTask = {
        id: 'hostile-regex',
        source: { kind: 'clawtask', path: join(fixturesDir, 'x.clawtask') },
        baseDir: fixturesDir,
        intent: 'x',
        metadata: {},
        root,
        files: [],
        setup: [],
        env: {},
        network: 'none',
        resources: {},
        agent: {},
        verifier: { timeoutMs: 60_000, passThreshold: 1, checks: checks as ResolvedVerifier['checks'], rubric: [], weights: { code: 1, rubric: 0 } },
      };
      const started = Date.now();
      const r = await runVerifier(t, sb, { finalMessage: 'Done.', transcript: [] });
      const took = Date.now() - started;
      const by = new Map(r.checks.map((c) => [c.id, c]));
      for (const id of ['file-nested', 'stdout-nested', 'glob-overlap', 'glob-content']) {
        assert.equal(by.get(id)?.score, 0, `${id}: ${JSON.stringify(by.get(id))}`);
        assert.equal(by.get(id)?.error, undefined, `${id} is a wrong answer, not an error: ${JSON.stringify(by.get(id))}`);
      }
      for (const [id, what] of [
        ['lookahead', /lookahead `\(\?=!\)` is not supported/],
        ['backreference', /backreference `\\1` is not supported/],
      ] as const) {
        assert.equal(by.get(id)?.error?.kind, 'invalid-check', JSON.stringify(by.get(id)));
        assert.match(by.get(id)!.error!.message, what);
        assert.equal(by.get(id)!.score, 0);
      }
      assert.equal(by.get('plain')?.passed, true, JSON.stringify(by.get('plain')));
      assert.equal(r.verifierErrors, 2);
      // the sandbox round trips dominate; the matching itself is milliseconds
      assert.ok(took < 30_000, `the verifier took ${took} ms`);
    } finally {
      await sb.dispose();
    }
  });

  test('diagnostics while typing: a hostile pattern and inline content never stall a keystroke', () => {
    const base = (pattern: string) =>
      `version: 1\nid: t\nintent: Write out.txt.\nworkspace:\n  files:\n    seed.txt: "${evil(40)}"\nverifier:\n  checks:\n    - id: a\n      file_matches: { path: seed.txt, pattern: '${pattern}' }\n    - id: g\n      file_exists: '${EVIL_GLOB}'\n`;
    const typed = '^(a+)+$';
    let worst = 0;
    let warned = 0;
    // every prefix is a keystroke; the same document again is what the editor re-asks on hover
    for (let round = 0; round < 2; round++) {
      for (let i = 1; i <= typed.length; i++) {
        const doc = createTaskDocument('/task/t.clawtask', round * 100 + i, base(typed.slice(0, i)), '/task');
        const t = ms(() => (warned = validateTask(doc, memoryFileSystem([])).filter((d) => d.code === 'regex-backtracking').length));
        worst = Math.max(worst, t);
      }
    }
    assert.equal(warned, 2, 'the finished pattern and the glob are both warned about');
    assert.ok(worst < 500, `slowest keystroke: ${worst} ms`);
  });

  test('the converter: a glob exported to check.py is checked with the bounded engine, not compiled as a backtracking regex', () => {
    const spec = checkPySpec([{ id: 'g', file_exists: EVIL_GLOB } as never], 60_000, () => '');
    assert.ok('checks' in spec, JSON.stringify(spec));
    assert.equal(spec.checks[0]!.glob, '[^/]*a[^/]*a[^/]*a[^/]*a[^/]*a[^/]*a[^/]*a[^/]*a[^/]*a[^/]*a[^/]*a[^/]*b'.replace(/^/, 'out/'));
  });

  test('the model server: a scripted match of ^(a+)+$ against a hostile first message answers at once', async () => {
    const s = await startModelServer({
      script: { tasks: { hostile: { match: '^(a+)+$', replies: [{ content: 'matched' }] } }, default: { replies: [{ content: 'default' }] } },
    });
    try {
      const started = Date.now();
      const res = await fetch(`${s.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: evil(100_000) }] }),
        signal: AbortSignal.timeout(20_000),
      });
      const body = (await res.json()) as { choices: { message: { content: string } }[] };
      assert.equal(body.choices[0]!.message.content, 'default');
      assert.ok(Date.now() - started < BOUND_MS, `${Date.now() - started} ms`);
      // and the same server still answers a matching request
      const ok = await fetch(`${s.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'aaaa' }] }) });
      assert.equal(((await ok.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content, 'matched');
    } finally {
      await s.close();
    }
  });

  test('the model server refuses a match the linear engine cannot run, with the reason', async () => {
    await assert.rejects(startModelServer({ script: { tasks: { t: { match: '(?<=x)y', replies: [{ content: 'a' }] } } } }), /tasks\.t\.match: not a valid regular expression: lookbehind/);
  });

  test('export sft: a task filter like *a*a*a*a*a*a*a*a*a*a*a*b against a long id', () => {
    const m = taskMatcher(['*a*a*a*a*a*a*a*a*a*a*a*b']);
    let hit = true;
    const t = ms(() => (hit = m('a'.repeat(3000))));
    assert.equal(hit, false);
    assert.ok(t < BOUND_MS, `${t} ms`);
    assert.equal(m('xaaaaaaaaaaab'), true);
    assert.equal(taskMatcher(['task_00?1'])('task_0011'), true);
    assert.equal(taskMatcher(['a.b'])('aXb'), false, 'dots are literal');
  });
});

// ---------------------------------------------------------------------------------------------
// The matcher: JavaScript's meaning on RE2

describe('bounded matcher', () => {
  test('agrees with V8 on ordinary patterns', () => {
    const texts = ['', 'hello world\n', 'Total: 42\r\nnext', 'a\nb', 'tab\there', '\u00a0nbsp', 'x-y_z', 'ÉCOLE école', 'line1\nline2\n', 'é', 'A1b2', '2024-05-02', '[x]', 'foo.bar', 'a/b/c.json'];
    const cases: [string, string][] = [
      ['^hello', ''],
      ['world$', ''],
      ['world$', 'm'],
      ['^line2$', 'm'],
      ['^Total: \\d+$', 'm'],
      ['total:\\s*\\d+', 'i'],
      ['a.b', ''],
      ['a.b', 's'],
      ['\\s', ''],
      ['\\S+\\s\\S+', ''],
      ['^\\w+$', ''],
      ['\\W', ''],
      ['[^a-z]', ''],
      ['[^a-z]', 'i'],
      ['\\bworld\\b', ''],
      ['\\Bor', ''],
      ['é', 'i'],
      ['\\d{4}-\\d{2}-\\d{2}', ''],
      ['\\[x\\]', ''],
      ['foo\\.bar', ''],
      ['^(?:[^/]*/)*[^/]*\\.json$', ''],
      ['(?<year>\\d{4})', ''],
      ['a{2,}', ''],
      ['colou?r|world', ''],
      ['[\\s\\d]', ''],
      ['[\\S]', ''],
      ['[^\\s]', ''],
      ['\\x41\\u0031', ''],
      ['\\p{Lu}', 'u'],
      ['\\p{Script=Latin}+', 'u'],
      ['[\\p{L}\\d]+', 'u'],
      ['', ''],
      ['x*?', ''],
    ];
    for (const [p, f] of cases) {
      const bounded = re(p, f);
      const js = new RegExp(p, f);
      for (const t of texts) assert.equal(bounded.test(t), js.test(t), `/${p}/${f} on ${JSON.stringify(t)}`);
    }
  });

  test('refuses what a linear engine lacks, with the reason, instead of changing the meaning', () => {
    for (const [p, f, why] of [
      ['a(?=b)', '', /lookahead `\(\?=b\)` is not supported: checks match in linear time/],
      ['a(?!b)', '', /lookahead/],
      ['(?<=a)b', '', /lookbehind/],
      ['(?<!a)b', '', /lookbehind/],
      ['(a)\\1', '', /backreference `\\1`/],
      ['(?<x>a)\\k<x>', '', /backreference `\\k<x>`/],
      [`a{${MAX_REPEAT + 1}}`, '', /repetition counts over 1000/],
      ['((a{100}){100}){100}', '', /too large for the linear-time engine/],
      ['\\p{Emoji}', 'u', /`\\p\{Emoji\}` is not supported/],
      ['a', 'g', /unsupported flags `g`/],
      ['a', 'y', /unsupported flags/],
      ['(unclosed', '', /^Unterminated group$/],
      ['[z-a]', '', /Range out of order/],
    ] as const) {
      const r = compileBoundedRegex(p, f);
      assert.ok('error' in r, `${p} should be refused`);
      assert.match(r.error, why, p);
    }
  });

  test('the differences that remain are the documented ones', () => {
    // matched as code points: one emoji is one character even without `u`
    assert.equal(re('^.$').test('\u{1F600}'), true);
    assert.equal(/^.$/.test('\u{1F600}'), false);
    // a multiline `$` before a `\r\n`, as JavaScript has it
    assert.equal(re('^b$', 'm').test('a\r\nb\r\nc'), true);
    // a surrogate pair written in the pattern is one code point
    assert.equal(re('\ud83d\ude00').test('x\u{1F600}'), true);
  });

  test('compiles once per pattern and flags; prints like a RegExp; test never throws through testBounded', () => {
    const a = re('^x+$', 'i');
    assert.equal(re('^x+$', 'i'), a, 'cached');
    assert.notEqual(re('^x+$'), a, 'flags are part of the key');
    assert.equal(String(a), '/^x+$/i');
    assert.equal(a.source, '^x+$');
    assert.equal(testBounded(a, 'XX'), true);
    const broken: BoundedRegex = { source: 'x', flags: '', test: () => { throw new Error('boom'); }, toString: () => '/x/' };
    assert.equal(testBounded(broken, 'x'), 'boom');
  });

  test('writes RE2 syntax with JavaScript meaning', () => {
    assert.deepEqual(toRe2('^a.$'), { source: '\\Aa[^\\x{A}\\x{D}\\x{2028}-\\x{2029}]\\z', caseInsensitive: false });
    assert.deepEqual(toRe2('(x)+', 'i'), { source: '(?:(?:x))+', caseInsensitive: true });
  });

  test('an ordinary match costs microseconds (figures printed, not asserted)', () => {
    const text = 'result: 42 items processed\nDone.\n';
    const b = re('result: \\d+ items');
    const js = /result: \d+ items/;
    const n = 20_000;
    // warm both up first: the JIT, not the engines, would dominate the first calls
    for (let i = 0; i < n; i++) {
      b.test(text);
      js.test(text);
    }
    const tb = ms(() => {
      for (let i = 0; i < n; i++) b.test(text);
    });
    const tj = ms(() => {
      for (let i = 0; i < n; i++) js.test(text);
    });
    const big = `${'x'.repeat(1 << 20)}result: 5 items`;
    const mb = ms(() => b.test(big));
    const mj = ms(() => js.test(big));
    const ev = ms(() => re('^(a+)+$').test(evil(100_000)));
    console.log(
      `per match: bounded ${((tb / n) * 1000).toFixed(2)} us, V8 ${((tj / n) * 1000).toFixed(2)} us; 1 MiB: bounded ${mb.toFixed(1)} ms, V8 ${mj.toFixed(1)} ms; ^(a+)+$ on 100,000 a and !: bounded ${ev.toFixed(1)} ms (V8: exponential, about 2^100000 steps)`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The backtracking warning

describe('backtracking warning', () => {
  test('flags the catastrophic shapes', () => {
    for (const [p, kind] of [
      ['^(a+)+$', 'exponential'],
      ['(a|a)*$', 'exponential'],
      ['(a|aa)+$', 'exponential'],
      ['^(\\w+\\s?)*$', 'exponential'],
      ['^(a*)*$', 'exponential'],
      ['(x+x+)+y', 'exponential'],
      ['^\\s*(\\S+\\s*)*$', 'exponential'],
      ['\\d+\\d+x', 'polynomial'],
      ['^[^/]*a[^/]*a[^/]*a[^/]*b$', 'polynomial'],
    ] as const) {
      assert.equal(backtrackingRisk(p)?.kind, kind, p);
    }
    assert.equal(backtrackingRisk('^(a+)+$')!.repetition, '(a+)+');
    assert.equal(backtrackingRisk('^[^/]*a[^/]*a[^/]*a[^/]*b$')!.degree, 4);
  });

  test('leaves ordinary patterns alone', () => {
    for (const p of ['^# Report', 'total:\\s*\\d+', '^date,headache,dizziness', '^the\\t\\d+', '\\d{4}-\\d{2}-\\d{2}', '^[a-z]+(,[a-z]+)*$', '^\\w+@\\w+\\.com$', 'error|warning', '[a-z]+[0-9]+', '^\\S+\\s+\\S+$', '^(\\s*,)*$', '(a+)+', '^(?:[^,]*,){5}x$', '^out/(?:[^/]*/)*[^/]*\\.csv$', '^[^/]*_[^/]*$']) {
      assert.equal(backtrackingRisk(p), undefined, p);
    }
  });

  test('is deterministic and cheap: well under a millisecond once seen, a few ms the first time', () => {
    const p = '^(?:[a-z0-9._%+-]+)@(?:[a-z0-9-]+\\.)+[a-z]{2,}$';
    const first = ms(() => backtrackingRisk(p));
    const again = ms(() => backtrackingRisk(p));
    assert.equal(backtrackingRisk(p), backtrackingRisk(p));
    assert.ok(first < 200, `${first} ms`);
    assert.ok(again < 1, `${again} ms`);
    // huge patterns give up (no warning) rather than take long
    const huge = '(?:[a-z]?){1000}'.repeat(20);
    assert.ok(ms(() => backtrackingRisk(huge)) < 1000);
  });
});

/**
 * `npm run bench:lsp`: how fast the language server answers while someone types.
 *
 * For generated tasks of 100, 1,000 and 5,000 lines (every check kind, inline files, block
 * scalars, `from` files on a real disk), it drives the REAL server in-process over a stream pair,
 * exactly as the protocol tests do, and measures:
 *   - didChange (a one-character edit) -> the diagnostics for that version, in pull mode (the
 *     `textDocument/diagnostic` answer sent right after the change) and in push mode (the
 *     `publishDiagnostics` for that version; debounce set to 0 so only the work is timed);
 *   - completion latency at a key position inside a check;
 * and, beside each, the baseline measured in the same run: a from-scratch parse + validateTask per
 * edit (what a server without incremental re-parsing does; the yaml package's parse dominates it),
 * and direct core completion calls, so both the incremental gain and the protocol overhead show.
 *
 * Targets (issue 2): a 1,000-line task re-validated in < 10 ms p95, a 5,000-line one in < 50 ms;
 * completion "similarly fast" (the same targets). Prints figures and PASS/FAIL; exits 0 unless
 * `--strict` is given and a target fails. `--iterations N` (default 200), `--sizes 100,1000`, and
 * `--keep` (keep the generated tasks on disk to look at).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CompletionRequest, DocumentDiagnosticReportKind, type CompletionItem, type CompletionList } from 'vscode-languageserver/node';
import * as core from '../core/src/language';
import { snapshotProcessEnv } from '../server/src/processEnv';
import { fileUri, pushOnlyCapabilities, TestClient, vscodeLikeCapabilities } from '../server/test/harness';

// ---------------------------------------------------------------------------------------------
// Arguments

const args = process.argv.slice(2);
const strict = args.includes('--strict');
const argValue = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${name}=`))?.split('=')[1];
};
const ITERATIONS = Math.max(1, Number(argValue('--iterations') ?? 200));
const WARMUP = 30;
const SIZES = (argValue('--sizes') ?? '100,1000,5000').split(',').map(Number).filter((n) => n > 0);
/** p95 targets in ms by size; sizes without one are reported without a verdict. */
const TARGETS: Record<number, number> = { 1000: 10, 5000: 50 };

// ---------------------------------------------------------------------------------------------
// A realistic task of about `lines` lines, and the files its `from` paths name

interface Generated {
  text: string;
  /** Paths (relative to the task file) that must exist on disk. */
  files: string[];
  /** Where the one-character edit goes: inside a description in the middle of the checks. */
  editAt: { line: number; character: number };
  /** Where completion is asked: after `exit_` in a command check in the middle. */
  completeAt: { line: number; character: number };
}

function generateTask(target: number): Generated {
  const out: string[] = [];
  const files: string[] = [];
  const push = (...l: string[]): void => void out.push(...l);
  push(
    'version: 1',
    `id: bench-task-${target}`,
    `title: Quarterly sales clean-up (${target} lines)`,
    "persona: Operations analyst preparing the board's quarterly numbers",
    'category: analysis/finance',
    'skills: [csv, json, python-cli, markdown]',
    'difficulty: hard',
    'metadata: { source: bench, grading_type: hybrid, tags: [sales, cleanup] }',
    '',
    'intent: |',
    '  I exported our quarterly sales into input/. Clean every CSV (dates as ISO 8601, amounts as',
    '  numbers, one region per row), write the cleaned files to output/clean-N.csv, a JSON summary per',
    '  file to output/stats-N.json and a short markdown report per file to output/report-N.md.',
    '  Keep the raw inputs untouched and put nothing else in output/.',
    '',
    'workspace:',
    '  root: /workspace',
    '  image: clawgym/sandbox:latest',
    '  from_dir: input_files',
    '  setup: [ "mkdir -p output", "chmod -R a-w input" ]',
    '  env: { TZ: UTC, LANG: C.UTF-8, REPORT_STYLE: short }',
    '  network: none',
    '  resources: { cpus: 1, memory: 2g, pids: 256 }',
    '  files:',
  );
  files.push('input_files/README.md');
  // ~15% of the lines: workspace files, inline (block scalars) and from disk
  const fileCount = Math.max(2, Math.round((target * 0.15) / 5));
  for (let i = 0; i < fileCount; i++) {
    if (i % 2 === 0) {
      push(`    input/sales-${i}.csv: { from: files/sales-${i}.csv }`);
      files.push(`files/sales-${i}.csv`);
    } else {
      push(`    input/notes-${i}.md: |`, `      # Notes for batch ${i}`, '      Amounts are in EUR; refunds are negative.', `      Region codes: N, S, E, W (batch ${i}).`);
    }
  }
  push('', 'agent:', '  max_steps: 40', '  timeout: 15m', '', 'verifier:', '  timeout: 2m', '  pass_threshold: 0.8', '  checks:');

  const tail = 40; // rubric, weights and solution
  let i = 0;
  let middleDescription = -1;
  let middleExit = -1;
  while (out.length < target - tail || i < 9) {
    const n = i;
    switch (i % 9) {
      case 0:
        // every 50th check looks at an input file: a realistic `check-passes-untouched` warning
        push(`    - id: report-${n}`, `      file_exists: ${n % 50 === 0 ? 'input/notes-1.md' : `output/report-${n}.md`}`);
        break;
      case 1:
        push(`    - id: no-temp-${n}`, `      file_absent: output/tmp-${n}/*.tmp`);
        break;
      case 2:
        push(`    - id: report-header-${n}`, `      file_matches: { path: output/report-${n}.md, pattern: '^# Sales report \\d+$', flags: m }`);
        break;
      case 3:
        push(`    - id: summary-${n}`, '      file_equals:', `        path: output/summary-${n}.txt`, '        text: |', `          total rows: ${n}`, '          status: ok');
        break;
      case 4:
        push(`    - id: expected-${n}`, `      file_equals: { path: output/expected-${n}.json, from: fixtures/expected-${n}.json }`);
        files.push(`fixtures/expected-${n}.json`);
        break;
      case 5:
        push(`    - id: score-${n}`, '      weight: 2', `      json: { path: output/stats-${n}.json, query: "results[0].score", between: [0, 1] }`);
        break;
      case 6:
        push(`    - id: clean-${n}`, '      csv:', `        path: output/clean-${n}.csv`, '        columns: [date, region, amount]', '        rows: 12', '        where: { region: N }');
        break;
      case 7:
        if (middleDescription < 0 && out.length > target / 2) middleDescription = out.length + 1;
        if (middleExit < 0 && out.length > target / 2) middleExit = out.length + 3;
        push(`    - id: cli-help-${n}`, '      description: The report CLI answers --help', '      command: python3 tools/report.py --help', '      exit_code: 0', "      stdout_matches: 'usage: report'");
        break;
      default:
        push(
          `    - id: recomputed-${n}`,
          '      timeout: 30s',
          '      python: |',
          '        import json, pathlib',
          '        def grade(ws):',
          `            data = json.loads(pathlib.Path(ws, "output/stats-${n}.json").read_text())`,
          "            return 1.0 if data['results'][0]['score'] > 0.5 else 0.0",
        );
    }
    i++;
  }
  push('  rubric:');
  for (let r = 0; r < 4; r++) {
    push(`    - id: readable-${r}`, `      file: output/report-${r * 9}.md`, '      criterion: The report states the row count, the total and any rows it had to drop, in plain words.', '      weight: 1');
  }
  push('  weights: { code: 0.7, rubric: 0.3 }', '', 'solution:', '  script: |', '    mkdir -p output');
  while (out.length < target - 1) push(`    python3 tools/report.py --batch ${out.length} --out output`);
  push('');
  if (middleDescription < 0 || middleExit < 0) throw new Error('task too small for the edit/completion positions');
  const descLine = out[middleDescription]!;
  return {
    text: out.join('\n'),
    files,
    editAt: { line: middleDescription, character: descLine.indexOf('The ') + 4 },
    completeAt: { line: middleExit, character: '      exit_'.length },
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics

interface Stats {
  p50: number;
  p95: number;
  max: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { p50: q(0.5), p95: q(0.95), max: s[s.length - 1]! };
}

const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const fmt = (s: Stats): string => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.max)}`;

// ---------------------------------------------------------------------------------------------
// The measurements

interface SizeResult {
  lines: number;
  /** Core's p50 split: parse + validate. */
  split: string;
  diagnostics: number;
  completionItems: number;
  coreValidate: Stats;
  pull: Stats;
  push: Stats;
  coreComplete: Stats;
  completion: Stats;
}

/** Alternately inserts and deletes one character at `at`: every edit is a new version. */
function oneCharEdit(version: number, at: { line: number; character: number }): { range: { start: typeof at; end: typeof at }; text: string } {
  return version % 2 === 1
    ? { range: { start: at, end: at }, text: 'x' }
    : { range: { start: at, end: { line: at.line, character: at.character + 1 } }, text: '' };
}

async function measureSize(size: number, dir: string): Promise<SizeResult> {
  const task = generateTask(size);
  for (const f of task.files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), '{}\n');
  }
  const taskPath = path.join(dir, `task-${size}.clawtask`);
  fs.writeFileSync(taskPath, task.text);
  const uri = fileUri(taskPath);
  const lines = task.text.split('\n').length;
  const total = WARMUP + ITERATIONS;

  // The texts the edits alternate between, for the core-only figures.
  const withEdit = task.text.split('\n');
  const editLine = withEdit[task.editAt.line]!;
  withEdit[task.editAt.line] = editLine.slice(0, task.editAt.character) + 'x' + editLine.slice(task.editAt.character);
  const texts = [task.text, withEdit.join('\n')];
  const coreFs = core.cachedFileSystem(core.nodeFileSystem);
  const stable = core.createTaskDocument(uri, 0, task.text);
  const completeOffset = stable.parsed.lines.offsetAt(task.completeAt);

  const pullClient = await TestClient.start({ capabilities: vscodeLikeCapabilities() });
  const pushClient = await TestClient.start({ capabilities: pushOnlyCapabilities(), initializationOptions: { pushDiagnosticsDelay: 0 } });
  const samples = { coreParseOnly: [] as number[], coreValidateOnly: [] as number[], coreValidate: [] as number[], pull: [] as number[], push: [] as number[], coreComplete: [] as number[], completion: [] as number[] };
  let diagnostics = 0;
  let completionItems = 0;
  try {
    await pullClient.open(uri, task.text, 0);
    let resultId = (await pullClient.pull(uri)).resultId;
    await pushClient.open(uri, task.text, 0);
    await pushClient.waitForPublish(uri, (p) => p.version === 0);
    const validationsBefore = pullClient.server.stats.validations;

    // One round of every measurement per iteration, interleaved, so a load spike on this shared
    // machine hits core and protocol figures alike and their difference stays meaningful.
    for (let k = 1; k <= total; k++) {
      const keep = k > WARMUP;

      // core only: parse + validate the edited text (what the server does per version)
      let t0 = performance.now();
      const doc = core.createTaskDocument(uri, k, texts[k % 2]!);
      const t1 = performance.now();
      diagnostics = core.validateTask(doc, coreFs).length;
      const t2 = performance.now();
      if (keep) {
        samples.coreValidate.push(t2 - t0);
        samples.coreParseOnly.push(t1 - t0);
        samples.coreValidateOnly.push(t2 - t1);
      }

      // pull: didChange, then the diagnostic request; time until its answer
      t0 = performance.now();
      void pullClient.change(uri, k, [oneCharEdit(k, task.editAt)]);
      const report = await pullClient.pull(uri, resultId);
      if (keep) samples.pull.push(performance.now() - t0);
      if (report.kind === DocumentDiagnosticReportKind.Full) resultId = report.resultId;

      // push: didChange -> publishDiagnostics for that version
      t0 = performance.now();
      const published = pushClient.nextPublish(uri, (p) => p.version === k);
      void pushClient.change(uri, k, [oneCharEdit(k, task.editAt)]);
      await published;
      if (keep) samples.push.push(performance.now() - t0);

      // completion on the version just validated (the parse is cached, as after a keystroke's pull)
      t0 = performance.now();
      completionItems = core.complete(stable, completeOffset, coreFs).length;
      if (keep) samples.coreComplete.push(performance.now() - t0);
      t0 = performance.now();
      const r = (await pullClient.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: task.completeAt })) as CompletionItem[] | CompletionList | null;
      if (keep) samples.completion.push(performance.now() - t0);
      const served = Array.isArray(r) ? r.length : (r?.items.length ?? 0);
      if (served !== completionItems) throw new Error(`the server offers ${served} completion items, core ${completionItems}`);
    }
    // every change was really re-validated (no report reused across versions)
    const validations = pullClient.server.stats.validations - validationsBefore;
    if (validations !== total) throw new Error(`expected ${total} validations, saw ${validations}`);
  } finally {
    await pullClient.dispose();
    await pushClient.dispose();
  }
  const { coreValidate, pull, push: pushed, coreComplete, completion } = samples;
  const split = `${ms(stats(samples.coreParseOnly).p50)} + ${ms(stats(samples.coreValidateOnly).p50)}`;

  return {
    lines,
    split,
    diagnostics,
    completionItems,
    coreValidate: stats(coreValidate),
    pull: stats(pull),
    push: stats(pushed),
    coreComplete: stats(coreComplete),
    completion: stats(completion),
  };
}

// ---------------------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

async function main(): Promise<void> {
  // As the server's entry point does (server/src/main.ts): see processEnv.ts.
  snapshotProcessEnv();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgym-bench-'));
  console.log(`clawgym bench:lsp — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);
  console.log(`${ITERATIONS} iterations per figure after ${WARMUP} warm-up; times in ms as p50 / p95 / max\n`);
  const results: SizeResult[] = [];
  try {
    for (const size of SIZES) results.push(await measureSize(size, dir));
  } finally {
    if (args.includes('--keep')) console.log(`generated tasks kept in ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  console.log('didChange (one-character edit) -> diagnostics for that version');
  console.log(
    table([
      ['lines', 'diags', 'full p50 parse + validate', 'full re-parse baseline', 'LSP pull (incremental)', 'LSP push', 'pull/baseline p95', 'target p95'],
      ...results.map((r) => [
        String(r.lines),
        String(r.diagnostics),
        r.split,
        fmt(r.coreValidate),
        fmt(r.pull),
        fmt(r.push),
        `${(r.pull.p95 / r.coreValidate.p95).toFixed(2)}×`,
        targetFor(r) !== undefined ? `< ${targetFor(r)}` : '—',
      ]),
    ]),
  );
  console.log('\ncompletion inside a check (after `exit_` in a command check)');
  console.log(
    table([
      ['lines', 'items', 'core complete', 'LSP completion', 'overhead p50', 'target p95'],
      ...results.map((r) => [
        String(r.lines),
        String(r.completionItems),
        fmt(r.coreComplete),
        fmt(r.completion),
        `+${ms(r.completion.p50 - r.coreComplete.p50)}`,
        targetFor(r) !== undefined ? `< ${targetFor(r)}` : '—',
      ]),
    ]),
  );

  console.log('');
  let failed = 0;
  for (const r of results) {
    const target = targetFor(r);
    if (target === undefined) continue;
    for (const [name, s] of [
      ['diagnostics (pull)', r.pull],
      ['diagnostics (push)', r.push],
      ['completion', r.completion],
    ] as const) {
      const ok = s.p95 < target;
      if (!ok) failed++;
      console.log(`${ok ? 'PASS' : 'FAIL'}  ${String(r.lines).padStart(5)} lines  ${name.padEnd(19)} p95 ${ms(s.p95).padStart(6)} ms  (target < ${target} ms)`);
    }
  }
  if (failed > 0 && strict) {
    console.log(`\n${failed} target(s) missed (--strict): exit 1`);
    process.exitCode = 1;
  }
}

/** The target for a generated size (line counts include the final empty line). */
function targetFor(r: SizeResult): number | undefined {
  return TARGETS[r.lines] ?? TARGETS[r.lines - 1];
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

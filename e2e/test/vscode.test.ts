/**
 * The end-to-end tier: the built extension in a real VS Code (code-server, driven through Debian's
 * Chromium by playwright-core). Proves that a `.clawtask` file activates the extension, the language
 * server starts, and diagnostics, completion, hover and the contributed commands reach the editor;
 * with Docker, that Run Task runs a task through the bundled CLI on the real engine (reward in a
 * notification, failed checks as diagnostics on their lines, Cancel leaves no sandbox).
 *
 * Needs:
 *  - scripts/e2e-setup.sh (Node 24 + code-server + Chromium, cached outside the repo). Without it the
 *    test is skipped, or fails when CI is set (CI must install it).
 *  - `npm run build` (dist/client.js, dist/server.js) before the test: the test does not build.
 *    A missing or stale dist/ (older than the sources) fails it with that advice.
 *
 * Every wait is for a UI state with a deadline. On a failure a screenshot is saved under
 * out/e2e/screenshots/ and the extension host's logs are copied to out/e2e/logs/.
 * CLAWGYM_E2E_SCREENSHOTS=all also saves one at the key moment of each passing step.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { basename, join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  ARTIFACTS_DIR,
  CHROMIUM,
  REPO_ROOT,
  SETUP_SCRIPT,
  checkBundles,
  extensionHostLogs,
  findE2eEnv,
  readManifest,
  startCodeServer,
  type E2eEnv,
  type Instance,
} from '../src/env';
import { containersOfRun, needsDocker } from '../src/docker';
import {
  STATE_DEADLINE_MS,
  goTo,
  hoverAtCursor,
  notificationTexts,
  openFile,
  paletteEntries,
  poll,
  problems,
  runCommand,
  runCommandAndPick,
  showProblems,
  statusBarLanguage,
  texts,
  waitForWorkbench,
} from '../src/workbench';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const SCREENSHOTS = join(ARTIFACTS_DIR, 'screenshots');
const WORKSPACE_FIXTURES = join(REPO_ROOT, 'e2e', 'workspace');

/** A task the run steps write into the temporary workspace: nop scores 0, the oracle 1. */
const GREET_TASK = `version: 1
id: greet-file
title: Write a greeting
intent: |
  Write "hello" on the first line of out/greeting.txt.
workspace:
  files:
    notes.txt: |
      nothing to see here
verifier:
  checks:
    - id: greeting-exists
      file_exists: out/greeting.txt
    - id: greeting-says-hello
      file_matches: { path: out/greeting.txt, pattern: '^hello' }
solution:
  script: |
    mkdir -p out && echo hello > out/greeting.txt
`;
/** Replies for greet-file: write the file, then finish (picked by `match`: the extension sends no task header). */
const GREET_SCRIPT = {
  model: 'scripted',
  tasks: {
    'greet-file': {
      match: 'out/greeting\\.txt',
      replies: [
        { content: 'Writing the greeting.', tool_calls: [{ name: 'write_file', arguments: { path: 'out/greeting.txt', content: 'hello\n' } }] },
        { tool_calls: [{ name: 'finish', arguments: { message: 'Wrote out/greeting.txt.' } }] },
      ],
    },
  },
};

let modelServer: { url: string; requests: () => number; stop: () => void } | undefined;

/** `clawgym model serve --json` from the built CLI; resolves with its URL once it listens. */
function startScriptedModel(scriptPath: string): Promise<NonNullable<typeof modelServer>> {
  writeFileSync(scriptPath, JSON.stringify(GREET_SCRIPT, null, 2));
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'model', 'serve', '--script', scriptPath, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let requests = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the scripted model server did not start in 20 s')), 20_000);
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const e = JSON.parse(line) as { type: string; url?: string };
        if (e.type === 'request') requests++;
        if (e.type === 'listening' && e.url) {
          clearTimeout(timer);
          resolve({ url: e.url, requests: () => requests, stop: () => child.kill('SIGTERM') });
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`the scripted model server exited (${code})`)));
  });
}

/** Its agent works for two minutes: there is time to press Cancel. */
const SLOW_TASK = GREET_TASK.replace('id: greet-file', 'id: greet-slowly').replace('mkdir -p out && echo hello > out/greeting.txt', 'sleep 120');
/** A Docker run: CLI start, sandbox, verifier, removal (about 3 s here; slow CI machines need more). */
const RUN_DEADLINE_MS = 90_000;

/** 1-based line of the first line of `text` that matches `re`. */
function lineOf(text: string, re: RegExp): number {
  const i = text.split('\n').findIndex((l) => re.test(l));
  assert.ok(i >= 0, `fixture has no line matching ${re}`);
  return i + 1;
}

/** The description the committed JSON Schema gives the key at `path` (what hover shows). */
function schemaDescription(path: string[]): string | undefined {
  interface Node {
    description?: string;
    properties?: Record<string, Node>;
  }
  let node: Node | undefined = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'clawtask.schema.json'), 'utf8')) as Node;
  for (const key of path) node = node?.properties?.[key];
  return node?.description;
}

const env = findE2eEnv();

if (typeof env === 'string') {
  if (process.env.CI) {
    test('e2e: VS Code environment is installed', () => {
      assert.fail(`${env}. CI must run ${SETUP_SCRIPT} before the tests.`);
    });
  } else {
    test('e2e: extension in a real VS Code', { skip: `${env} (set CI=1 to make this a failure)` }, () => {});
  }
} else {
  // The extension under test is what `npm run build` left in dist/; a missing or stale build
  // would test old code, so it is a failure (with the fix in the message), not a skip.
  const stale = checkBundles();
  if (stale) {
    test('e2e: the extension is built', () => {
      assert.fail(stale);
    });
  } else {
    describeE2e(env);
  }
}

function describeE2e(e2e: E2eEnv): void {
  describe('e2e: extension in a real VS Code (code-server)', { timeout: 300_000 }, () => {
    const manifest = readManifest();
    const broken = readFileSync(join(WORKSPACE_FIXTURES, 'broken.clawtask'), 'utf8');
    let instance: Instance | undefined;
    let browser: Browser | undefined;
    let page: Page;
    let failed = false;
    /** Set when a step fails that later steps need (workbench, open editor): they then fail fast. */
    let blocker: string | undefined;

    /**
     * Runs a step; on failure saves a screenshot before rethrowing. `snap` marks the moment worth a
     * screenshot when CLAWGYM_E2E_SCREENSHOTS=all (e.g. while the suggest widget is open).
     */
    const step = async (
      t: TestContext,
      fn: (snap: () => Promise<void>) => Promise<void>,
      opts: { essential?: boolean } = {},
    ): Promise<void> => {
      if (blocker) throw new Error(`not run: ${blocker}`);
      const name = t.name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
      const snap = async (): Promise<void> => {
        if (process.env.CLAWGYM_E2E_SCREENSHOTS === 'all') await shot(`${name}.png`);
      };
      const started = Date.now();
      try {
        await fn(snap);
        t.diagnostic(`took ${Date.now() - started} ms`);
      } catch (e) {
        failed = true;
        if (opts.essential) blocker = `${t.name} failed`;
        const file = await shot(`FAILED-${name}.png`);
        if (file) t.diagnostic(`screenshot: ${file}`);
        const toasts = await texts(page.locator('.notification-toast')).catch(() => []);
        if (toasts.length) t.diagnostic(`notifications: ${toasts.join(' | ')}`);
        throw e;
      }
    };
    const shot = async (file: string): Promise<string | undefined> => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const path = join(SCREENSHOTS, file);
      return page?.screenshot({ path }).then(() => path, () => undefined);
    };

    before(async () => {
      instance = await startCodeServer(e2e, manifest);
      // Before the workbench loads, so the explorer lists them from the start. Runs must use the
      // engine: with `auto`, a missing engine would quietly become the weaker local backend.
      writeFileSync(join(instance.workspace, 'greet.clawtask'), GREET_TASK);
      writeFileSync(join(instance.workspace, 'slow.clawtask'), SLOW_TASK);
      mkdirSync(join(instance.workspace, '.vscode'), { recursive: true });
      // The built-in agent's model: the bundled scripted server on 127.0.0.1, started through the
      // CLI as a user would (`clawgym model serve`), its URL in the workspace settings.
      modelServer = await startScriptedModel(join(instance.workspace, '.vscode', 'model-script.json'));
      writeFileSync(
        join(instance.workspace, '.vscode', 'settings.json'),
        JSON.stringify({ 'clawgym.run.backend': 'docker', 'clawgym.agent.baseUrl': modelServer.url, 'clawgym.agent.model': 'scripted', 'clawgym.agent.maxSteps': 10 }, null, 2),
      );
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(instance.url);
    });

    after(async () => {
      if (failed && instance) {
        // Keep what the extension host said: activation errors and server crashes are logged there.
        const dir = join(ARTIFACTS_DIR, 'logs');
        mkdirSync(dir, { recursive: true });
        for (const log of extensionHostLogs(instance.userDataDir)) copyFileSync(log.path, join(dir, basename(log.path)));
      }
      await browser?.close().catch(() => undefined);
      modelServer?.stop();
      if (instance) {
        await instance.stop();
        assert.equal(instance.alive(), false, 'code-server (or a process it started) outlived stop()');
      }
    });

    test('(a) the workbench loads with the workspace in the explorer', async (t) => {
      await step(t, async (snap) => {
        await waitForWorkbench(page);
        await poll(
          'broken.clawtask and valid.clawtask in the explorer',
          () => texts(page.locator('.explorer-folders-view .monaco-list-row')),
          (rows) => rows.some((r) => r.includes('broken.clawtask')) && rows.some((r) => r.includes('valid.clawtask')),
        );
        await snap();
      }, { essential: true });
    });

    test('(b) a .clawtask file opens in the ClawTask language mode and activates the extension', async (t) => {
      await step(t, async (snap) => {
        const expected = manifest.language?.aliases?.[0] ?? 'ClawTask';
        const started = Date.now();
        await openFile(page, 'broken.clawtask');
        const shown = Date.now();
        await poll('the status bar language mode', () => statusBarLanguage(page), (l) => l === expected);
        const opened = Date.now();
        t.diagnostic(`editor shown after ${shown - started} ms, language mode after ${opened - started} ms`);
        await snap();
        // The extension host logs each activation; ours must be there, triggered by the language.
        const id = `${manifest.publisher}.${manifest.name}`;
        const log = await poll(
          `the extension host to activate ${id}`,
          async () => extensionHostLogs(instance!.userDataDir).map((l) => l.text).join('\n'),
          (text) => text.includes(`_doActivateExtension ${id}`),
        );
        const activation = log.split('\n').find((l) => l.includes(`_doActivateExtension ${id}`)) ?? '';
        t.diagnostic(`${activation.trim()} (seen after ${Date.now() - opened} ms)`);
        assert.doesNotMatch(log, new RegExp(`Activating extension '?${id}'? failed`, 'i'));
      }, { essential: true });
    });

    test('(c) the Problems panel lists the unknown key and the missing field at their lines', async (t) => {
      await step(t, async (snap) => {
        await page.keyboard.press('Control+Shift+M');
        await page.locator('.markers-panel').waitFor({ state: 'visible', timeout: STATE_DEADLINE_MS });
        const unknownLine = lineOf(broken, /^\s+tmeout:/);
        const found = await poll(
          'unknown-key (`tmeout`) and missing-field (`intent`) in the Problems panel',
          () => problems(page),
          (ps) => ps.some((p) => /tmeout/.test(p.text)) && ps.some((p) => /intent/.test(p.text) && /missing/i.test(p.text)),
        );
        for (const p of found) t.diagnostic(`problem: ${p.text}`);
        await snap();
        const unknown = found.find((p) => /tmeout/.test(p.text));
        assert.ok(unknown);
        assert.match(unknown.text, /unknown-key/);
        assert.equal(unknown.line, unknownLine, `unknown-key on line ${unknownLine}: ${unknown.text}`);
        assert.equal(unknown.column, broken.split('\n')[unknownLine - 1].indexOf('tmeout') + 1);
        const missing = found.find((p) => /intent/.test(p.text) && /missing/i.test(p.text));
        assert.ok(missing);
        assert.match(missing.text, /missing-field/);
        // Top-level missing fields are reported on the document's first line.
        assert.equal(missing.line, 1, `missing-field on line 1: ${missing.text}`);
        // Nothing is reported for the valid task or at lines the fixture does not have.
        const lines = broken.split('\n').length;
        for (const p of found) assert.ok(p.line <= lines, `problem at a line the file lacks: ${p.text}`);
      });
    });

    test('(d) completion at top level offers the task keys', async (t) => {
      await step(t, async (snap) => {
        // The fixture ends with a newline: its last line is empty, at top level.
        const lastLine = broken.split('\n').length;
        await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
        await goTo(page, lastLine, 1);
        await page.keyboard.type('w');
        await page.keyboard.press('Control+Space');
        const rows = page.locator('.editor-widget.suggest-widget .monaco-list-row');
        const labels = await poll(
          'completion items including `workspace` or `verifier`',
          async () => (await rows.count()) ? texts(rows.locator('.label-name')) : [],
          (ls) => ls.some((l) => l === 'workspace' || l === 'verifier'),
        );
        t.diagnostic(`suggestions: ${labels.join(', ')}`);
        await snap();
        // Accepting the item inserts the key at top level (the server's edit, applied by the editor).
        const index = labels.findIndex((l) => l === 'workspace' || l === 'verifier');
        const key = labels[index];
        for (let i = 0; i < index; i++) await page.keyboard.press('ArrowDown');
        await page.keyboard.press('Enter');
        await poll(
          `a line starting with "${key}:" after accepting the item`,
          () => texts(page.locator('.editor-instance .monaco-editor .view-line')),
          (lines) => lines.some((l) => l.startsWith(`${key}:`)),
        );
        // Leave the file as it was for the next steps: undo until the editor is no longer dirty.
        await page.keyboard.press('Escape');
        const dirty = page.locator('.tabs-container .tab.active.dirty');
        await poll('the edits undone', async () => {
          if (await dirty.count()) await page.keyboard.press('Control+Z');
          return dirty.count();
        }, (n) => n === 0);
      });
    });

    test('(e) hover over a key shows its description from the schema', async (t) => {
      await step(t, async (snap) => {
        const description = schemaDescription(['title']) ?? 'A one-line title shown in lists and reports.';
        await goTo(page, lineOf(broken, /^title:/), 2);
        const hover = await hoverAtCursor(page, description);
        t.diagnostic(`hover: ${hover.join(' | ')}`);
        await snap();
        await page.keyboard.press('Escape');
      });
    });

    const restart =
      [...manifest.commands.values()].find((title) => /restart language server/i.test(title)) ??
      'ClawGym: Restart Language Server';

    test('(f) the command palette lists the ClawGym commands', async (t) => {
      await step(t, async (snap) => {
        // Every contributed command the palette may show (a .clawtask editor is active, so
        // `editorLangId == clawtask` holds), and at least the restart command.
        const expected = [
          ...new Set([restart, ...[...manifest.commands].filter(([id]) => !manifest.hiddenFromPalette.has(id)).map(([, title]) => title)]),
        ];
        const prefix = restart.split(':')[0] + ':';
        const rows = await paletteEntries(page, prefix, (rs) => expected.every((title) => rs.some((r) => r.startsWith(title))));
        t.diagnostic(`palette: ${rows.join(' | ')}`);
        await snap();
        await page.keyboard.press('Escape');
      });
    });

    test('(g) the TextMate grammar colours keys and check kinds', async (t) => {
      await step(t, async (snap) => {
        // A grammar splits a line into tokens with different classes (mtk1, mtk5, ...); plain text
        // would be one token. Look at the check line: key, punctuation, path value.
        const line = page.locator('.editor-instance .monaco-editor .view-line', { hasText: 'file_exists: output/report.md' });
        const classes = await poll(
          'the check line tokenized into several token classes',
          async () => {
            const spans = line.first().locator('span > span');
            const out = new Set<string>();
            const n = await spans.count();
            for (let i = 0; i < n; i++) out.add((await spans.nth(i).getAttribute('class')) ?? '');
            return [...out];
          },
          (cs) => cs.length >= 2,
        );
        t.diagnostic(`token classes on the check line: ${classes.join(' ')}`);
        await snap();
      });
    });

    test('(h) restarting the language server from the palette keeps the features working', async (t) => {
      await step(t, async (snap) => {
        await runCommand(page, restart);
        // A nested key this time: the restarted server answers hover for `agent.max_steps`.
        const description =
          schemaDescription(['agent', 'max_steps']) ?? 'Maximum number of agent steps (model turns). The run may override it.';
        await goTo(page, lineOf(broken, /^\s+max_steps:/), 4);
        const hover = await hoverAtCursor(page, description);
        t.diagnostic(`hover after restart: ${hover.join(' | ')}`);
        await snap();
        await page.keyboard.press('Escape');
        const errors = (await texts(page.locator('.notification-toast'))).filter((n) => /error|fail|crash/i.test(n));
        assert.deepEqual(errors, [], 'error notifications after the restart');
      });
    });

    const runTask = manifest.commands.get('clawgym.runTask') ?? 'ClawGym: Run Task';

    test("(i) Run Task with nop on the real engine: reward 0, a diagnostic on each failed check's id line", needsDocker(), async (t) => {
      await step(t, async (snap) => {
        await openFile(page, 'greet.clawtask');
        const offered = await runCommandAndPick(page, runTask, 'nop');
        t.diagnostic(`agents offered: ${offered.join(' | ')}`);
        assert.ok(offered.some((r) => r.startsWith('oracle')), 'oracle is offered too');
        const toast = await poll(
          'the final notification of the nop run',
          () => notificationTexts(page),
          (ns) => ns.some((n) => n.includes('greet-file failed with nop')),
          RUN_DEADLINE_MS,
        );
        const final = toast.find((n) => n.includes('greet-file failed with nop'))!;
        t.diagnostic(`notification: ${final}`);
        assert.equal(final, 'ClawGym: greet-file failed with nop: reward 0.000 (checks 0/2; failed: greeting-exists, greeting-says-hello) [Open Run Folder | Show Output]');

        await showProblems(page);
        const found = await poll(
          'clawgym-run diagnostics on both checks',
          () => problems(page),
          (ps) => ps.filter((p) => /clawgym-run/.test(p.text)).length >= 2,
        );
        await snap();
        for (const id of ['greeting-exists', 'greeting-says-hello']) {
          const p = found.find((x) => x.text.includes(`${id} failed (nop`));
          assert.ok(p, `no diagnostic for ${id}: ${found.map((x) => x.text).join(' | ')}`);
          const line = lineOf(GREET_TASK, new RegExp(`- id: ${id}$`));
          assert.equal(p.line, line, `${id} on its id line: ${p.text}`);
          assert.equal(p.column, GREET_TASK.split('\n')[line - 1].indexOf('id:') + 1);
        }
        assert.match(found.find((x) => x.text.includes('greeting-exists'))!.text, /out\/greeting\.txt does not exist/);
      });
    });

    test("(j) Run Task with the oracle: reward 1, and the previous run's diagnostics are gone", needsDocker(), async (t) => {
      await step(t, async (snap) => {
        const offered = await runCommandAndPick(page, runTask, 'oracle');
        // The last choice (nop) comes first.
        assert.ok(offered[0]?.startsWith('nop'), `last agent first: ${offered.join(' | ')}`);
        const toast = await poll(
          'the final notification of the oracle run',
          () => notificationTexts(page),
          (ns) => ns.some((n) => n.includes('greet-file passed with oracle')),
          RUN_DEADLINE_MS,
        );
        t.diagnostic(`notification: ${toast.find((n) => n.includes('passed with oracle'))}`);
        assert.ok(toast.some((n) => /greet-file passed with oracle: reward 1\.000 \(checks 2\/2\)/.test(n)));
        await showProblems(page);
        await poll('no clawgym-run diagnostics left', () => problems(page), (ps) => !ps.some((p) => /clawgym-run/.test(p.text)));
        // "Open Run Folder" reveals the trial's folder (runs/<run id>/trials/greet-file) in the explorer.
        await page
          .locator('.notification-toast', { hasText: 'greet-file passed with oracle' })
          .locator('.monaco-button', { hasText: 'Open Run Folder' })
          .first()
          .click();
        const rows = await poll(
          "the trial's folder revealed in the explorer",
          () => texts(page.locator('.explorer-folders-view .monaco-list-row')),
          // The explorer compacts single-child folders: `trials/greet-file` is one row.
          (rs) => rs.some((r) => /(^|\/)trials\/greet-file$/.test(r)),
        );
        t.diagnostic(`explorer: ${rows.join(' | ')}`);
        await snap();
      });
    });

    test('(k) Cancel on the progress notification stops the run; the CLI leaves no sandbox behind', needsDocker(), async (t) => {
      await step(t, async (snap) => {
        await openFile(page, 'slow.clawtask');
        await runCommandAndPick(page, runTask, 'oracle');
        const progress = page.locator('.notification-toast', { hasText: 'Running slow.clawtask with oracle' });
        await poll(
          'the progress notification to show the agent at work',
          async () => texts(progress),
          (ts) => ts.some((x) => x.includes('the agent is working')),
          RUN_DEADLINE_MS,
        );
        await snap();
        const cancelledAt = Date.now();
        await progress.locator('.monaco-button', { hasText: 'Cancel' }).first().click();
        await poll(
          'the cancelled notification',
          () => notificationTexts(page),
          (ns) => ns.some((n) => n.includes('greet-slowly: the run was cancelled')),
          RUN_DEADLINE_MS,
        );
        t.diagnostic(`cancelled in ${Date.now() - cancelledAt} ms`);
        // The run folder names the run; its sandbox must be gone from the engine.
        const runsDir = join(instance!.workspace, 'runs');
        const runIds = readdirSync(runsDir).filter((id) => existsSync(join(runsDir, id, 'trials', 'greet-slowly')));
        assert.equal(runIds.length, 1, `one run of greet-slowly in ${runsDir}: ${runIds.join(', ')}`);
        const result = JSON.parse(readFileSync(join(runsDir, runIds[0], 'trials', 'greet-slowly', 'result.json'), 'utf8')) as { status: string };
        assert.equal(result.status, 'cancelled');
        assert.deepEqual(containersOfRun(runIds[0]), [], 'sandbox containers left by the cancelled run');
      });
    });

    test('(l) Validate Task from the palette: oracle 1, nop 0, OK', needsDocker(), async (t) => {
      await step(t, async () => {
        await openFile(page, 'greet.clawtask');
        await runCommand(page, manifest.commands.get('clawgym.validateTask') ?? 'ClawGym: Validate Task');
        const toast = await poll(
          'the validation verdict',
          () => notificationTexts(page),
          (ns) => ns.some((n) => n.includes('greet-file: oracle')),
          RUN_DEADLINE_MS,
        );
        const verdict = toast.find((n) => n.includes('greet-file: oracle'))!;
        t.diagnostic(`notification: ${verdict}`);
        assert.equal(verdict, 'ClawGym: greet-file: oracle 1.000, nop 0.000: OK [Open Run Folder | Show Output]');
      });
    });

    test('(n) Run Task with the built-in agent: the model of the settings (a clawgym model serve), tools in the sandbox, reward 1', needsDocker(), async (t) => {
      await step(t, async (snap) => {
        await openFile(page, 'greet.clawtask');
        const offered = await runCommandAndPick(page, runTask, 'builtin');
        assert.ok(offered.some((r) => r.startsWith('builtin')), `builtin is offered: ${offered.join(' | ')}`);
        const toast = await poll(
          'the final notification of the builtin run',
          () => notificationTexts(page),
          (ns) => ns.some((n) => /greet-file (passed|failed) with builtin|builtin.*(error|failed)/.test(n)),
          RUN_DEADLINE_MS,
        );
        await snap();
        const final = toast.find((n) => n.includes('with builtin'));
        t.diagnostic(`notification: ${final ?? toast.join(' | ')}`);
        assert.ok(final && /greet-file passed with builtin: reward 1\.000 \(checks 2\/2\)/.test(final), toast.join(' | '));
        assert.ok(modelServer!.requests() >= 2, `the model server answered ${modelServer!.requests()} requests`);
      });
    });

    test('(m) the Verify CodeLens on a check runs the oracle and reports that check', needsDocker(), async (t) => {
      await step(t, async (snap) => {
        // The lens passes the document URI as a string and the check id: the server's arguments.
        const lens = page.locator('.codelens-decoration a', { hasText: 'Verify greeting-says-hello' });
        await lens.first().waitFor({ state: 'visible', timeout: STATE_DEADLINE_MS });
        await lens.first().click();
        const toast = await poll(
          "the check's result",
          () => notificationTexts(page),
          (ns) => ns.some((n) => n.includes('check greeting-says-hello')),
          RUN_DEADLINE_MS,
        );
        await snap();
        const result = toast.find((n) => n.includes('check greeting-says-hello'))!;
        t.diagnostic(`notification: ${result}`);
        assert.match(result, /^ClawGym: check greeting-says-hello passed with oracle \(score 1\.00\)/);
      });
    });
  });
}

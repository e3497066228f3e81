/**
 * Driving VS Code's workbench (code-server's web UI) through playwright-core: small helpers that
 * wait for states with deadlines, never for a fixed time.
 */
import type { Locator, Page } from 'playwright-core';

/** Default deadline for one UI state to appear. */
export const STATE_DEADLINE_MS = 20_000;

/**
 * Polls `read` until `ok` accepts its value or the deadline passes; on timeout throws an error that
 * shows the last value seen (what the UI showed instead).
 */
export async function poll<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  deadlineMs = STATE_DEADLINE_MS,
): Promise<T> {
  const until = Date.now() + deadlineMs;
  let last: T | undefined;
  let lastError: unknown;
  for (let delay = 50; ; delay = Math.min(delay * 2, 400)) {
    try {
      last = await read();
      lastError = undefined;
      if (ok(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > until) {
      const seen = lastError !== undefined ? `error: ${String(lastError)}` : JSON.stringify(last, null, 1);
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Texts of all elements matching a locator (visible or not), trimmed. */
export async function texts(loc: Locator): Promise<string[]> {
  return (await loc.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
}

/**
 * aria-labels of all elements matching a locator, read in one go: a list that re-renders between
 * counting and reading (a quick pick replacing the palette) must not leave a read waiting.
 */
export async function ariaLabels(loc: Locator): Promise<string[]> {
  return loc.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
}

export async function waitForWorkbench(page: Page, deadlineMs = 30_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: deadlineMs });
  // The status bar and the activity bar render once the workbench has restored its parts.
  await page.locator('.statusbar').waitFor({ state: 'visible', timeout: deadlineMs });
}

/** Opens the quick input with `key` (F1 = command palette, Control+P = Quick Open) and types `text`. */
async function quickInput(page: Page, key: string, text: string): Promise<Locator> {
  const widget = page.locator('.quick-input-widget');
  await page.keyboard.press(key);
  await widget.waitFor({ state: 'visible', timeout: STATE_DEADLINE_MS });
  const input = widget.locator('input.input');
  // F1 pre-fills `>`; keep it and type after it.
  await input.press('End');
  await input.pressSequentially(text);
  return widget;
}

/** Rows the quick input currently lists, as their aria-labels. */
export async function quickInputRows(page: Page): Promise<string[]> {
  return ariaLabels(page.locator('.quick-input-widget .monaco-list-row'));
}

/** The command palette's entries matching `query` (the palette stays open; press Escape after). */
export async function paletteEntries(page: Page, query: string, expect: (rows: string[]) => boolean): Promise<string[]> {
  await quickInput(page, 'F1', query);
  return poll(`command palette entries for "${query}"`, () => quickInputRows(page), expect);
}

/** Runs a command by its palette title (exact label match), like a user would. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await quickInput(page, 'F1', title);
  const rows = await poll(`the command "${title}" in the palette`, () => quickInputRows(page), (r) =>
    r.some((l) => l.startsWith(title)),
  );
  const index = rows.findIndex((l) => l.startsWith(title));
  await page.locator('.quick-input-widget .monaco-list-row').nth(index).click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STATE_DEADLINE_MS });
}

/**
 * Opens a top-level workspace file from the explorer and waits until its editor is the active one.
 * (Quick Open works too, but its first file search takes ~5 s here; the explorer is instant.)
 */
export async function openFile(page: Page, name: string): Promise<void> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: name });
  await row.first().waitFor({ state: 'visible', timeout: STATE_DEADLINE_MS });
  await row.first().dblclick();
  await page
    .locator(`.tabs-container .tab.active[aria-label*="${name}"]`)
    .waitFor({ state: 'visible', timeout: STATE_DEADLINE_MS });
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: STATE_DEADLINE_MS });
}

/** The language mode the status bar shows for the active editor. */
export async function statusBarLanguage(page: Page): Promise<string> {
  return (await texts(page.locator('[id="status.editor.mode"]'))).join(' ');
}

/** Puts the cursor at line:column (1-based) of the active editor with "Go to Line" (Ctrl+G). */
export async function goTo(page: Page, line: number, column = 1): Promise<void> {
  await page.keyboard.press('Control+G');
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: STATE_DEADLINE_MS });
  await widget.locator('input.input').fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await widget.waitFor({ state: 'hidden', timeout: STATE_DEADLINE_MS });
  await poll(
    `the cursor at Ln ${line}, Col ${column}`,
    async () => (await texts(page.locator('[id="status.editor.selection"]'))).join(' '),
    (t) => t.includes(`Ln ${line}, Col ${column}`),
  );
}

export interface Problem {
  /** The row's aria-label: severity, message, line and character. */
  label: string;
  /** The row's text: message, source(code), [Ln x, Col y]. */
  text: string;
  line: number;
  column: number;
}

/** Problems (marker rows) the Problems panel lists; it must be open. */
export async function problems(page: Page): Promise<Problem[]> {
  const rows = page.locator('.markers-panel .monaco-list-row');
  const n = await rows.count();
  const out: Problem[] = [];
  for (let i = 0; i < n; i++) {
    const row = rows.nth(i);
    const label = (await row.getAttribute('aria-label')) ?? '';
    const text = (await row.textContent())?.replace(/\s+/g, ' ').trim() ?? '';
    const pos = /\[Ln (\d+), Col (\d+)\]/.exec(text);
    // File rows ("broken.clawtask 2") group the markers; only marker rows carry a position.
    if (!pos) continue;
    out.push({ label, text, line: Number(pos[1]), column: Number(pos[2]) });
  }
  return out;
}

/**
 * Shows the hover at the cursor (Ctrl+K Ctrl+I, "Show or Focus Hover") until it contains `text`.
 * The chord is repeated while no hover is visible: a server that is still starting answers nothing.
 */
export async function hoverAtCursor(page: Page, text: string): Promise<string[]> {
  const hovers = page.locator('.monaco-hover:not(.hidden) .hover-contents');
  return poll(
    `a hover with "${text}"`,
    async () => {
      if ((await hovers.count()) === 0) {
        await page.keyboard.press('Control+K');
        await page.keyboard.press('Control+I');
      }
      return texts(hovers);
    },
    (hs) => hs.some((h) => h.includes(text)),
  );
}

/**
 * Runs a command from the palette that then asks with a quick pick, and picks the row whose label
 * starts with `pick` (runCommand waits for the palette to close, which a follow-up pick never does).
 * Returns the pick's rows as they were offered.
 */
export async function runCommandAndPick(page: Page, title: string, pick: string): Promise<string[]> {
  await quickInput(page, 'F1', title);
  const rows = await poll(`the command "${title}" in the palette`, () => quickInputRows(page), (r) => r.some((l) => l.startsWith(title)));
  await page.locator('.quick-input-widget .monaco-list-row').nth(rows.findIndex((l) => l.startsWith(title))).click();
  // The same widget comes back with the command's own items.
  const offered = await poll(`a quick pick offering "${pick}"`, () => quickInputRows(page), (r) => r.some((l) => l.startsWith(pick)) && !r.some((l) => l.startsWith(title)));
  await page.locator('.quick-input-widget .monaco-list-row').nth(offered.findIndex((l) => l.startsWith(pick))).click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STATE_DEADLINE_MS });
  return offered;
}

/**
 * The notification toasts on screen as `message [button | button]` (the toast's whole text would
 * also hold its list's inline <style>).
 */
export async function notificationTexts(page: Page): Promise<string[]> {
  return page.locator('.notification-toast').evaluateAll((toasts) =>
    toasts.map((t) => {
      const text = (sel: string): string[] => [...t.querySelectorAll(sel)].map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim()).filter(Boolean);
      return `${text('.notification-list-item-message').join(' ')} [${text('.notification-list-item-buttons-container .monaco-button').join(' | ')}]`;
    }),
  );
}

/** Opens the Problems panel unless it is open already (Ctrl+Shift+M toggles it). */
export async function showProblems(page: Page): Promise<void> {
  const panel = page.locator('.markers-panel');
  if (!(await panel.isVisible().catch(() => false))) await page.keyboard.press('Control+Shift+M');
  await panel.waitFor({ state: 'visible', timeout: STATE_DEADLINE_MS });
}

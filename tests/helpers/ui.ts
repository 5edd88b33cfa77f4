// The browser suites' shared setup (tests/ui): a private copy of frontend/build for the test server,
// Debian's Chromium with one page, screenshots into test-artifacts/ui, and the flow helpers the
// suites had each written again. Everything is registered on the file's Teardown (world.ts).
import { expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { startBrowser, type ConsoleProblems, type TestBrowser } from './browser.ts';
import { copyUiBuild } from './ui-build.ts';
import type { Teardown } from './world.ts';

export const ARTIFACTS = join(new URL('../../', import.meta.url).pathname, 'test-artifacts/ui');

/**
 * frontend/build as it is now, whatever another `npm run build` does meanwhile (pass it to the
 * server as LIFEBOAT_UI_DIR); also makes the screenshot directory. Returns the copy's path.
 */
export async function uiBuild(teardown: Teardown): Promise<string> {
  const ui = await copyUiBuild();
  teardown.defer(() => ui.remove());
  mkdirSync(ARTIFACTS, { recursive: true });
  return ui.dir;
}

export interface UiBrowser {
  browser: TestBrowser;
  context: BrowserContext;
  page: Page;
  problems: ConsoleProblems;
}

/** Chromium (stopped by its PID at teardown) and a first 1280×900 page recording console problems. */
export async function openBrowser(teardown: Teardown): Promise<UiBrowser> {
  const browser = teardown.own(await startBrowser());
  return { browser, ...(await browser.newPage(1280, 900)) };
}

/** A full-page screenshot into test-artifacts/ui/<name>.png. */
/**
 * The page has drawn its data: no skeleton (aria-busy) left and its fonts loaded. Not Playwright's
 * 'networkidle': a page that follows the event stream keeps that request open while it is shown.
 */
export async function settled(p: Page) {
  await p.waitForFunction(() => !document.querySelector('[aria-busy="true"]') && document.fonts.status === 'loaded');
}

/** Open `path` signed out and sign in there with the admin token; waits for the page's own h1 `heading`. */
export async function signInWithToken(p: Page, srv: { url: string; admin: string }, path: string, heading: string) {
  await p.goto(srv.url + path);
  await p.getByLabel('Admin API token').fill(srv.admin);
  await p.getByLabel('Admin API token').press('Enter');
  await p.getByRole('heading', { level: 1, name: heading }).waitFor();
}

export const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Follow a main navigation link and wait for that page's heading. */
export async function nav(p: Page, label: string) {
  await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  await p.getByRole('heading', { level: 1, name: label }).waitFor();
}

/**
 * The page at `path` is no wider than the window (no sideways scrolling at `width` px); `tables`:
 * no table scrolls sideways inside its frame either (what 1280 px must hold, issue 16).
 */
export async function expectNoSidewaysScroll(p: Page, path: string, width: number, opts: { tables?: boolean } = {}) {
  const overflow = await p.evaluate(() => {
    const s = document.scrollingElement ?? document.documentElement;
    return s.scrollWidth - s.clientWidth;
  });
  expect(overflow, `${path} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
  if (opts.tables) {
    const wide = await p.evaluate(() =>
      [...document.querySelectorAll('.table-wrap')]
        .map((w) => ({ over: w.scrollWidth - w.clientWidth, head: w.querySelector('th')?.textContent ?? '' }))
        .filter((w) => w.over > 0),
    );
    expect(wide, `${path}: a table scrolls sideways at ${width} px`).toEqual([]);
  }
}

/**
 * Clicks a table row's action by its accessible name (lib/components/RowActions.svelte): a button
 * of the row, or an item of its "More" menu, which is opened first.
 */
export async function rowAction(scope: Page | Locator, name: string) {
  const item = scope.getByRole('button', { name, exact: true });
  if (!(await item.isVisible())) {
    const page = 'page' in scope && typeof scope.page === 'function' ? (scope as Locator).page() : (scope as Page);
    const group = scope.locator('.row-actions').filter({ has: page.locator(`button[aria-label=${JSON.stringify(name)}]`) });
    await group.getByRole('button', { name: /^More actions for / }).click();
  }
  await item.click();
}

/**
 * `step(name, fn, timeout?)`: one step of a flow in which each builds on the previous one, so after
 * a failure the rest is skipped (naming the failed step). One per flow: it holds that flow's state.
 */
export function flowSteps(defaultTimeout: number) {
  let broken: string | null = null;
  return (name: string, fn: () => Promise<void> | void, timeout = defaultTimeout) => {
    it(
      name,
      async (ctx) => {
        if (broken) ctx.skip(`an earlier step failed: ${broken}`);
        try {
          await fn();
        } catch (e) {
          broken = name;
          throw e;
        }
      },
      timeout,
    );
  };
}

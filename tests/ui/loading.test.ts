// Loading and not-found in Debian's Chromium against the real Node entry (no local runner, no ZFS):
// with a password session the page's first data request goes out beside the session probe (not
// after it), a skeleton shows meanwhile; an unknown address shows a 404 page with the way home; a
// visitor who is not signed in still lands on the sign-in page. Every API answer is held back by
// Playwright's routing until the test lets it go, so "in flight together" is seen, not timed.
// Needs `npm run build -w frontend` (npm test does it).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Route } from 'playwright-core';
import type { ConsoleProblems, TestBrowser } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { expectNoSidewaysScroll, openBrowser, shot, uiBuild } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

const PASSWORD = 'correct-horse-battery';

let srv: TestServer;
let browser: TestBrowser;
let page: Page;
let problems: ConsoleProblems;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_ADMIN_PASSWORD: PASSWORD, LIFEBOAT_UI_DIR: uiDir }));
  ({ browser, page, problems } = await openBrowser(teardown));
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(srv.url + '/signin');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const API = '**/api/v1/**';

/** The hold of the test under way: released after it whatever happened, so that a failed test does not hold the next one's answers. */
let holding: { release: () => Promise<void> } | null = null;
afterEach(async () => {
  await holding?.release();
  holding = null;
});

/** Holds every API answer back until `release()`; `sent` lists each request's path as it left the page. */
async function holdApi(p: Page) {
  const sent: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const handler = async (route: Route) => {
    sent.push(new URL(route.request().url()).pathname);
    await gate;
    await route.continue();
  };
  await p.route(API, handler);
  const hold = {
    sent,
    release: async () => {
      open();
      // after the held answers went through (unrouting earlier would answer them itself)
      await p.unrouteAll({ behavior: 'wait' });
    },
  };
  holding = hold;
  return hold;
}

describe('a password session: the first data and the session probe at once, a skeleton meanwhile', () => {
  it('the Overview: GET /overview goes out while GET /auth/session is still unanswered; the skeleton shows', async () => {
    const held = await holdApi(page);
    await page.reload({ waitUntil: 'commit' });
    // both were sent and neither has been answered: they are in flight together
    await expect.poll(() => held.sent).toEqual(expect.arrayContaining(['/api/v1/auth/session', '/api/v1/overview']));
    const skeleton = page.getByRole('status', { name: 'Loading the overview' });
    await skeleton.waitFor();
    expect(await page.getByRole('heading', { level: 1, name: 'Overview' }).isVisible()).toBe(true);
    expect(await skeleton.getAttribute('aria-busy')).toBe('true');
    await shot(page, 'loading-overview-1280');
    await held.release();
    await page.getByRole('list', { name: 'Summary' }).waitFor();
    expect(await skeleton.count()).toBe(0);
  });

  it('the Events page: GET /events goes out while GET /auth/session is still unanswered', async () => {
    const held = await holdApi(page);
    await page.goto(srv.url + '/backups/events', { waitUntil: 'commit' });
    await expect.poll(() => held.sent).toEqual(expect.arrayContaining(['/api/v1/auth/session', '/api/v1/events']));
    // not a blank page meanwhile
    await page.getByRole('heading', { level: 1, name: 'Events' }).waitFor();
    await held.release();
    await page.getByRole('table').waitFor();
  });

  it('at phone width the skeleton fits', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const held = await holdApi(page);
    await page.goto(srv.url + '/', { waitUntil: 'commit' });
    await expect.poll(() => held.sent).toEqual(expect.arrayContaining(['/api/v1/auth/session', '/api/v1/overview']));
    await page.getByRole('status', { name: 'Loading the overview' }).waitFor();
    await expectNoSidewaysScroll(page, '/ (loading)', 390);
    await shot(page, 'loading-overview-390');
    await held.release();
    await page.getByRole('list', { name: 'Summary' }).waitFor();
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});

describe('not found', () => {
  it('an unknown address shows a 404 page whose link goes home', async () => {
    await page.goto(srv.url + '/backups/no-such-page?x=1');
    const h = page.getByRole('heading', { level: 1, name: 'Page not found' });
    await h.waitFor();
    expect(await page.getByRole('main').innerText()).toMatch(/There is no page at \/backups\/no-such-page\./);
    expect(await page.title()).toBe('Page not found · Lifeboat');
    await expectNoSidewaysScroll(page, '/backups/no-such-page', 1280);
    await shot(page, 'not-found-1280');
    await page.setViewportSize({ width: 390, height: 844 });
    await expectNoSidewaysScroll(page, '/backups/no-such-page', 390);
    await shot(page, 'not-found-390');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('link', { name: 'Go to the Overview' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
  });

  it('a link inside the UI to an unknown address shows it too (client-side navigation)', async () => {
    await page.evaluate(() => {
      const a = document.createElement('a');
      a.href = '/nowhere';
      a.textContent = 'nowhere';
      document.querySelector('main')!.append(a);
    });
    await page.getByRole('link', { name: 'nowhere' }).click();
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await page.evaluate(() => history.back()); // a same-document navigation: no load event to wait for
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  });
});

describe('not signed in', () => {
  it('a first visit lands on the sign-in page (not told that a session expired), without console errors', async () => {
    const { context, page: p, problems: pr } = await browser.newPage(1280, 800);
    try {
      for (const path of ['/', '/backups/events', '/nodes']) {
        await p.goto(srv.url + path);
        await p.waitForURL((u) => u.pathname === '/signin');
        const url = new URL(p.url());
        expect(url.searchParams.get('next'), path).toBe(path);
        await p.getByLabel('Password', { exact: true }).waitFor();
        expect(url.searchParams.get('expired'), path).toBeNull();
      }
      expect(pr.errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

it('the browser console had no errors', () => {
  expect(problems.errors).toEqual([]);
});

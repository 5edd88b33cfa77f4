// Password sign-in in Debian's Chromium against the real Node entry (no local runner, no ZFS): the
// session cookie, the CSRF header on writes (also after a reload and after another tab signed in
// again), API tokens on the Settings page, revoking a node, re-pinning a target's host key, sign-out,
// the wait after too many failed sign-ins, and setting the first password after a token sign-in.
// Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page, Request } from 'playwright-core';
import type { ConsoleProblems, TestBrowser } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { expectNoSidewaysScroll, flowSteps, nav, openBrowser, rowAction, shot, uiBuild } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

const PASSWORD = 'correct-horse-battery';

let srv: TestServer;
let browser: TestBrowser;
let context: BrowserContext;
let page: Page;
let problems: ConsoleProblems;
let uiDir: string;
let keyDir: string;
let clientKey: string;
let nodeToken: string;

const teardown = new Teardown();
beforeAll(async () => {
  uiDir = await uiBuild(teardown);
  keyDir = mkdtempSync(join(tmpdir(), 'lb-signin-key-'));
  teardown.defer(() => rmSync(keyDir, { recursive: true, force: true }));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-test', '-f', join(keyDir, 'id')]);
  clientKey = readFileSync(join(keyDir, 'id'), 'utf8');
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_ADMIN_PASSWORD: PASSWORD, LIFEBOAT_UI_DIR: uiDir }));
  // A node that joined (no runner process: the test speaks for it), to revoke and to re-pin from.
  const jt = await srv.api('POST', '/nodes/join-tokens');
  const joined = await fetch(`${srv.url}/api/v1/runner/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinToken: jt.body.token, name: 'edge' }),
  });
  expect(joined.status).toBe(201);
  nodeToken = (await joined.json()).nodeToken;
  ({ browser, context, page, problems } = await openBrowser(teardown));
}, 120_000);

afterAll(() => teardown.run(), 60_000);

/** The requests to /api/v1 a page makes while `fn` runs. */
async function apiRequests(p: Page, fn: () => Promise<void>): Promise<Request[]> {
  const seen: Request[] = [];
  const on = (r: Request) => {
    if (r.url().includes('/api/v1/')) seen.push(r);
  };
  p.on('request', on);
  try {
    await fn();
  } finally {
    p.off('request', on);
  }
  return seen;
}

const runnerClaim = (token: string) =>
  fetch(`${srv.url}/api/v1/runner/claim`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ max: 0, waitMs: 0 }),
  });

/** One step of the flow: each builds on the previous one, so after a failure the rest is skipped. */
const step = flowSteps(60_000);

describe('the Node entry beside the UI', () => {
  it('an unknown API path is a JSON 404 (also with valid credentials), never the UI page', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/nope'],
      ['POST', '/api/v1/jobs/1/nope'],
      ['GET', '/api/v1/'],
    ]) {
      const r = await fetch(`${srv.url}${path}`, { method, headers: { authorization: `Bearer ${srv.admin}` } });
      expect(r.status, path).toBe(404);
      expect(r.headers.get('content-type'), path).toMatch(/application\/json/);
      expect((await r.json()).error.code, path).toBe('not_found');
    }
    expect((await fetch(`${srv.url}/jobs`)).headers.get('content-type')).toMatch(/text\/html/); // UI routes still get the page
  });

  it("a request for another host name (DNS rebinding) is refused; the server's own names are answered", async () => {
    const { request } = await import('node:http');
    const get = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const u = new URL(`${srv.url}/api/v1/health`);
        const req = request({ host: u.hostname, port: u.port, path: u.pathname, headers: { host } }, (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const evil = await get('evil.example');
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error.fields.Host).toBeTruthy();
    expect((await get(`evil.example:${new URL(srv.url).port}`)).status).toBe(403);
    expect((await get(`localhost:${new URL(srv.url).port}`)).status).toBe(200);
    expect((await get(new URL(srv.url).host)).status).toBe(200);
  });

  it('joining with a wrong token says nothing about node names (401 whether the name is taken or not)', async () => {
    for (const name of ['edge', 'free-name']) {
      const r = await fetch(`${srv.url}/api/v1/runner/join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ joinToken: 'lbj_garbage', name }),
      });
      expect(r.status, name).toBe(401);
    }
    // a valid token and a taken name: 409, and the token stays usable for another name
    const jt = await srv.api('POST', '/nodes/join-tokens');
    const join = (name: string) =>
      fetch(`${srv.url}/api/v1/runner/join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ joinToken: jt.body.token, name }),
      });
    expect((await join('edge')).status).toBe(409);
    expect((await join('spare')).status).toBe(201);
  });
});

describe('password sign-in and the security actions in the web UI', () => {
  step('signs in with the password: a wrong one is refused next to the field; a session cookie, no stored token', async () => {
    await page.goto(srv.url + '/backups/targets');
    await page.waitForURL(/\/signin\?next=%2Fbackups%2Ftargets/);
    const pw = page.getByLabel('Password', { exact: true });
    await pw.fill('not-the-password');
    await pw.press('Enter');
    await expect.poll(() => page.locator('#password-error').textContent()).toMatch(/password is not correct/i);
    expect(await pw.getAttribute('aria-invalid')).toBe('true');
    expect(await pw.getAttribute('aria-describedby')).toBe('password-error');
    // The token sign-in is still offered next to it.
    await page.getByLabel('Admin API token').waitFor();
    await shot(page, 'signin-password-error-1280');
    await pw.fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Targets' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/backups/targets');
    const cookie = (await context.cookies(srv.url)).find((c) => c.name === 'lifeboat_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    expect(await page.evaluate(() => document.cookie)).not.toMatch(/lifeboat_session/);
    expect(await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage))).not.toMatch(/lb[a-z]_/);
  });

  step('creates a target: the write carries X-CSRF-Token and no Authorization header', async () => {
    await page.getByRole('button', { name: 'New target' }).click();
    const dlg = page.getByRole('dialog', { name: 'New target' });
    await dlg.getByLabel('Name', { exact: true }).fill('offsite');
    await dlg.getByLabel('SSH Host').fill('192.0.2.10');
    await dlg.getByLabel('Paste a private key').check();
    await dlg.getByLabel('SSH Private Key').fill(clientKey);
    await dlg.getByLabel('Backup Root', { exact: true }).fill('tank/backups');
    const reqs = await apiRequests(page, async () => {
      await dlg.getByRole('button', { name: 'Create' }).click();
      await dlg.waitFor({ state: 'hidden' });
    });
    const post = reqs.find((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/targets')!;
    expect(post, reqs.map((r) => `${r.method()} ${r.url()}`).join('\n')).toBeTruthy();
    const h = await post.allHeaders();
    expect(h['x-csrf-token']).toMatch(/^\S{20,}$/);
    expect(h.authorization).toBeUndefined();
    expect((await post.response())?.status()).toBe(201);
    await page.getByRole('row').filter({ hasText: 'offsite' }).waitFor();
  });

  step("re-pins the target's host key after a confirmation and points to the validation event", async () => {
    const row = page.getByRole('row').filter({ hasText: 'offsite' });
    await rowAction(row, 'Re-pin the host key of target offsite');
    const dlg = page.getByRole('dialog', { name: 'Re-pin the host key of offsite' });
    expect(await dlg.innerText()).toMatch(
      /cleared[\s\S]*validation from node edge shows the key the target presents now, for you to confirm/,
    );
    await shot(page, 'targets-repin-confirm-1280');
    await dlg.getByRole('button', { name: 'Clear pin and validate' }).click();
    await dlg.waitFor({ state: 'hidden' });
    const notice = page.getByRole('status').filter({ hasText: /Host key pin of offsite cleared/ });
    const link = notice.getByRole('link', { name: /event #\d+/i });
    const id = Number(/#(\d+)/.exec((await link.textContent())!)![1]);
    const ev = (await srv.api('GET', `/events/${id}`)).body;
    expect(ev).toMatchObject({ kind: 'validate', trigger: 'host-key-reset', status: 'queued' });
    await shot(page, 'targets-repin-notice-1280');
    await link.click();
    await page.getByRole('heading', { level: 1, name: 'Events' }).waitFor();
    await page.getByRole('dialog', { name: new RegExp(`^Event #${id}\\b`) }).waitFor();
    await page.keyboard.press('Escape');
  });

  step(
    'after a reload the session holds and writes still work (the CSRF token is read again); API token created, shown once, revoked',
    async () => {
      await page.goto(srv.url + '/settings');
      await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
      await page.getByLabel('Name', { exact: true }).fill('ci');
      expect(await page.getByLabel('Scope').inputValue()).toBe('read'); // least privilege unless chosen
      await page.getByLabel('Scope').selectOption('operate');
      await page.getByLabel(/Expires after/).fill('30');
      await page.getByRole('button', { name: 'Create token' }).click();
      const dlg = page.getByRole('dialog', { name: 'API token created' });
      const token = (await dlg.locator('pre').textContent())!.trim();
      expect(token).toMatch(/^lbt_/);
      await dlg.getByRole('button', { name: 'Copy token' }).waitFor();
      await shot(page, 'settings-token-created-1280');
      const asToken = () => fetch(`${srv.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
      expect(await asToken()).toBe(200);
      const listed = (await srv.api('GET', '/auth/tokens')).body.items.find((t) => t.name === 'ci')!;
      expect(listed.scope).toBe('operate');
      expect(Date.parse(listed.expiresAt!) - Date.now()).toBeGreaterThan(29 * 86_400_000);
      // operate, not admin: it runs things but does not change them
      expect(
        (await fetch(`${srv.url}/api/v1/nodes/join-tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(403);
      await dlg.getByRole('button', { name: 'Done' }).click();
      await dlg.waitFor({ state: 'hidden' });
      expect(await page.locator('body').innerText()).not.toContain(token); // shown once
      const row = page.getByRole('row').filter({ hasText: 'ci' });
      await row.getByRole('button', { name: 'Revoke token ci' }).click();
      const confirm = page.getByRole('dialog', { name: 'Revoke token ci' });
      await confirm.getByRole('button', { name: 'Revoke' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await expect.poll(() => row.locator('td[data-label="Status"]').textContent()).toMatch(/revoked/);
      expect(await asToken()).toBe(401);
      await shot(page, 'settings-1280');
    },
  );

  step(
    "another tab signs in again (new cookie): this tab's stale CSRF token is refreshed once and the node revoke goes through",
    async () => {
      await nav(page, 'Nodes');
      const other = await context.newPage();
      await other.goto(srv.url + '/signin');
      await other.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await other.getByRole('button', { name: 'Sign in', exact: true }).click();
      await other.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      await other.close();
      expect((await runnerClaim(nodeToken)).status).not.toBe(401);
      const row = page.getByRole('row').filter({ hasText: 'edge' });
      await row.getByRole('button', { name: 'Revoke node edge' }).click();
      const dlg = page.getByRole('dialog', { name: 'Revoke node edge' });
      expect(await dlg.innerText()).toMatch(/refused from now on and stops/);
      await shot(page, 'nodes-revoke-confirm-1280');
      const statuses: string[] = [];
      const onRes = (r: { url(): string; status(): number }) => {
        if (r.url().endsWith('/revoke')) statuses.push(String(r.status()));
      };
      page.on('response', onRes);
      await dlg.getByRole('button', { name: 'Revoke node' }).click();
      await dlg.waitFor({ state: 'hidden' });
      page.off('response', onRes);
      expect(statuses).toEqual(['403', '200']);
      await expect.poll(() => row.locator('td[data-label="Status"]').textContent()).toMatch(/revoked/);
      expect((await runnerClaim(nodeToken)).status).toBe(401);
    },
  );

  step('signs out: the session ends on the server and the app asks to sign in again', async () => {
    const before = (await context.cookies(srv.url)).find((c) => c.name === 'lifeboat_session')!.value;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Password', { exact: true }).waitFor();
    const probe = await fetch(`${srv.url}/api/v1/auth/session`, { headers: { cookie: `lifeboat_session=${before}` } }).then((r) =>
      r.json(),
    );
    expect(probe.authenticated).toBe(false);
    await page.goto(srv.url + '/nodes');
    await page.waitForURL(/\/signin\?next=%2Fnodes/);
  });

  step('390 px: sign in with the password, Settings fits without sideways scrolling', async () => {
    const { context: ctx, page: p, problems: pr } = await browser.newPage(390, 844, { mobile: true });
    try {
      await p.goto(srv.url + '/signin');
      await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await shot(p, 'signin-390');
      await p.getByRole('button', { name: 'Sign in', exact: true }).click();
      await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      for (const [name, path, ready] of [
        ['settings', '/settings', 'ci'],
        ['nodes', '/nodes', 'edge'],
        ['targets', '/backups/targets', 'offsite'],
      ] as const) {
        await p.goto(srv.url + path);
        await p.locator('tbody tr td', { hasText: ready }).first().waitFor();
        await shot(p, `signin-flow-${name}-390`);
        await expectNoSidewaysScroll(p, path, 390);
      }
      expect(pr.errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it('the browser console had no errors (the refused password and the stale CSRF token were expected 4xx)', () => {
    expect(problems.errors).toEqual([]);
    expect(problems.expected4xx.some((l) => /status of 401/.test(l))).toBe(true);
    expect(problems.expected4xx.some((l) => /status of 403/.test(l))).toBe(true);
  });
});

describe('no password yet: token sign-in offers to set one; too many wrong passwords show the wait', () => {
  let srv2: TestServer;
  let ctx: BrowserContext;
  let p: Page;
  let pr: ConsoleProblems;
  const NEW_PASSWORD = 'a-new-admin-password';

  beforeAll(async () => {
    srv2 = await startServer({
      LIFEBOAT_LOCAL_RUNNER: '0',
      LIFEBOAT_ADMIN_PASSWORD: '',
      LIFEBOAT_LOGIN_MAX_FAILURES: '2',
      LIFEBOAT_UI_DIR: uiDir,
    });
    ({ context: ctx, page: p, problems: pr } = await browser.newPage(1280, 900));
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    await srv2?.stop();
  }, 60_000);

  it('signs in with the admin token, sets a password from the offer, then signs in with it', async () => {
    await p.goto(srv2.url + '/signin');
    const token = p.getByLabel('Admin API token');
    await token.waitFor();
    expect(await p.getByLabel('Password', { exact: true }).count()).toBe(0); // nothing to sign in with yet
    await token.fill(srv2.admin);
    await p.getByRole('button', { name: 'Sign in' }).click(); // the only one: as the existing flow test does
    await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const offer = p.getByRole('region', { name: 'Admin password' });
    await offer.getByRole('link', { name: 'Set a password' }).click();
    await p.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await shot(p, 'settings-set-password-1280');
    await p.getByLabel('New password', { exact: true }).fill('short');
    await p.getByLabel('Repeat the new password').fill('short');
    await p.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => p.locator('#pw-password-err').textContent()).toMatch(/at least 12/);
    await p.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await p.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await p.getByRole('button', { name: 'Set password' }).click();
    await p.getByRole('status').filter({ hasText: 'Password set' }).waitFor();
    expect((await srv2.api('GET', '/auth/session')).body.passwordSet).toBe(true);
    await p.getByRole('button', { name: 'Sign out' }).click();
    const pw = p.getByLabel('Password', { exact: true });
    await pw.waitFor(); // on /signin: signing out has finished
    expect(await p.evaluate(() => sessionStorage.getItem('lifeboat.adminToken'))).toBeNull();
    await pw.fill(NEW_PASSWORD);
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // Signed in with the session: changing the password needs the current one.
    await nav(p, 'Settings');
    await p.getByLabel('Current password').waitFor();
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByLabel('Password', { exact: true }).waitFor();
  }, 60_000);

  it('after too many wrong passwords the wait from Retry-After is shown and the button is disabled', async () => {
    const pw = p.getByLabel('Password', { exact: true });
    for (let i = 0; i < 3; i++) {
      await pw.fill(`wrong-${i}`);
      await p.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect
        .poll(() => p.locator('#password-error').textContent())
        .toMatch(i < 2 ? /not correct/ : /Try again in \d+ min \(at \d\d:\d\d:\d\d\)/);
    }
    expect(await p.getByRole('button', { name: 'Sign in', exact: true }).isDisabled()).toBe(true);
    await shot(p, 'signin-rate-limited-1280');
    expect(pr.errors).toEqual([]);
    expect(pr.expected4xx.some((l) => /status of 429/.test(l))).toBe(true);
  }, 60_000);
});

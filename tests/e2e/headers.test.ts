// Security headers of the real Node entry, and the built UI running under its CSP in Chromium
// (Debian's /usr/bin/chromium through playwright-core; never a downloaded browser).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server.ts';

/** What the page's init script and the injection probe keep on `window`. */
type ProbedWindow = typeof window & { __violations: string[]; __injected: boolean };

const INDEX = new URL('../../frontend/build/index.html', import.meta.url).pathname;
let srv: TestServer;
let browser: Browser | null = null;

beforeAll(async () => {
  if (!existsSync(INDEX)) throw new Error(`${INDEX} is missing: build the UI first (npm run build; npm test does it)`);
  if (!existsSync('/usr/bin/chromium')) throw new Error('/usr/bin/chromium is missing: apt-get install -y chromium (npm test installs it)');
  srv = await startServer({ LIFEBOAT_LOCAL_RUNNER: '0' });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
});

const csp = (h: Headers) =>
  Object.fromEntries(
    (h.get('content-security-policy') ?? '')
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v]),
  );

describe('security headers', () => {
  it('UI and API answers carry CSP (frame-ancestors none, script by hash), nosniff and frame denial', async () => {
    const page = await fetch(`${srv.url}/`);
    const html = await page.text();
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
      (m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`,
    );
    expect(inline.length).toBeGreaterThan(0); // SvelteKit's bootstrap
    for (const res of [
      page,
      await fetch(`${srv.url}/backups/jobs`),
      await fetch(`${srv.url}/api/v1/health`),
      await fetch(`${srv.url}/api/v1/targets`),
    ]) {
      const p = csp(res.headers);
      expect(p['default-src']).toEqual(["'self'"]);
      expect(p['script-src']).toEqual(["'self'", ...inline]);
      expect(p['frame-ancestors']).toEqual(["'none'"]);
      expect(p['object-src']).toEqual(["'none'"]);
      expect(p['base-uri']).toEqual(["'none'"]);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    const asset = /src="([^"]+\.js)"|href="([^"]+\.js)"/.exec(html);
    expect(asset).toBeTruthy();
    const js = await fetch(`${srv.url}${asset![1] ?? asset![2]}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('the UI starts under the CSP in Chromium without violations, and injected inline script is blocked', async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy|CSP/i.test(m.text())) errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.addInitScript(() => {
      (window as ProbedWindow).__violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as ProbedWindow).__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await page.goto(`${srv.url}/`, { waitUntil: 'load' });
    // SvelteKit started (the bootstrap ran): the app rendered something interactive.
    await page.waitForFunction(() => document.querySelectorAll('input, button, a').length > 0, undefined, { timeout: 15_000 });
    expect(await page.evaluate(() => (window as ProbedWindow).__violations)).toEqual([]);
    expect(errors).toEqual([]);
    const ran = await page.evaluate(async () => {
      (window as ProbedWindow).__injected = false;
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true';
      document.body.appendChild(s);
      await new Promise((r) => setTimeout(r, 100));
      return { injected: (window as ProbedWindow).__injected, violations: (window as ProbedWindow).__violations };
    });
    expect(ran.injected).toBe(false);
    expect(ran.violations.some((v) => v.startsWith('script-src'))).toBe(true);
  }, 60_000);
});

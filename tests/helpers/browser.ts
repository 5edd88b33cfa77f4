// Debian's Chromium (never a downloaded browser) started by us with a fresh profile, driven by
// playwright-core over CDP; stopped by its PID (its process group: the renderers and the zygote).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface TestBrowser {
  browser: Browser;
  pid: number;
  /** A fresh context (own sessionStorage, cold cache) and page of the given size, recording console problems.
   *  `mobile`: a phone (meta viewport honoured, touch, overlay scrollbars that take no width). */
  newPage(
    width?: number,
    height?: number,
    opts?: { mobile?: boolean },
  ): Promise<{ context: BrowserContext; page: Page; problems: ConsoleProblems }>;
  stop(): Promise<void>;
}

export interface ConsoleProblems {
  /** console errors and uncaught page errors, except "Failed to load resource … 4xx" (expected API answers) */
  errors: string[];
  /** the 4xx resource loads that were left out of `errors` */
  expected4xx: string[];
}

export async function startBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (scripts/test.mjs installs it; never a downloaded browser)`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'lb-chromium-'));
  const proc: ChildProcess = spawn(
    CHROMIUM,
    [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // own process group, so stop() reaches the helpers too
    },
  );
  const pid = proc.pid!;
  // If this process ends without stop() (a crashed worker, a timeout), take the browser along.
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', killGroup);
  let err = '';
  let browser: Browser;
  try {
    const ws = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`Chromium did not open its DevTools port within 30 s:\n${err.slice(-2000)}`)), 30_000);
      proc.stderr!.on('data', (d: Buffer) => {
        err += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code, sig) => {
        clearTimeout(t);
        reject(new Error(`Chromium exited (${sig ?? code}) at start:\n${err.slice(-2000)}`));
      });
    });
    browser = await chromium.connectOverCDP(ws);
  } catch (e) {
    killGroup();
    process.removeListener('exit', killGroup);
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
  return {
    browser,
    pid,
    async newPage(width = 1280, height = 900, opts = {}) {
      const context = await browser.newContext({
        viewport: { width, height },
        timezoneId: 'UTC',
        locale: 'en-GB',
        ...(opts.mobile ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
      });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const problems: ConsoleProblems = { errors: [], expected4xx: [] };
      page.on('console', (m: ConsoleMessage) => {
        if (m.type() !== 'error') return;
        const text = m.text();
        const where = m.location()?.url ?? '';
        if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text))
          problems.expected4xx.push(`${text} ${where}`);
        else problems.errors.push(`${text} ${where}`.trim());
      });
      page.on('pageerror', (e) => problems.errors.push(`uncaught: ${e.stack ?? e.message}`));
      return { context, page, problems };
    },
    async stop() {
      // Closing over CDP can hang (an attached CDP session, a busy renderer): give it 3 s, then the PID.
      await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise<void>((r) => proc.once('exit', () => r()));
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        const t = setTimeout(() => {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, 5000);
        await done;
        clearTimeout(t);
      }
      killGroup(); // helpers that outlived the browser process (they share its group)
      process.removeListener('exit', killGroup);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

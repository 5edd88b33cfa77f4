// An event's log in the UI keeps the level the runner reported: a warning is a WARN line marked in
// the warning colour, an error an ERROR line in the danger colour, the rest INFO. Debian's Chromium
// against the real Node entry (no local runner, no ZFS: the test speaks for the node through the
// runner API). Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ConsoleProblems } from '../helpers/browser.ts';
import { joinFakeNode, runnerCall, startServer, type TestServer } from '../helpers/server.ts';
import { flowSteps, openBrowser, shot, uiBuild } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

let srv: TestServer;
let page: Page;
let problems: ConsoleProblems;
let eventId: number;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  const keyDir = mkdtempSync(join(tmpdir(), 'lb-eventlog-key-'));
  teardown.defer(() => rmSync(keyDir, { recursive: true, force: true }));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-test', '-f', join(keyDir, 'id')]);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));

  const runner = (token: string, path: string, body: unknown) => runnerCall(srv, token, path, body);
  const { nodeId, nodeToken } = await joinFakeNode(srv, 'edge', {
    zfsVersion: 'zfs-2.2.4',
    capabilities: { resumableRecv: true },
    pools: ['tank'],
    datasets: [{ name: 'tank' }, { name: 'tank/data' }],
    guests: [],
  });
  const target = await srv.api('POST', '/targets', {
    name: 'offsite',
    sshHost: '192.0.2.10',
    sshPrivateKey: readFileSync(join(keyDir, 'id'), 'utf8'),
    backupRoot: 'tank/backups',
  });
  const job = await srv.api('POST', '/jobs', {
    name: 'data',
    targetId: target.body.id,
    nodeId,
    mode: 'dataset',
    source: 'tank/data',
    schedule: '0 * * * *',
    timezone: 'UTC',
  });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  eventId = (await srv.api('POST', `/jobs/${job.body.id}/run`)).body.eventId;
  await runner(nodeToken, '/claim', { max: 1, waitMs: 0 });
  // what the runner's loop sends for ctx.log(line) and ctx.log(line, 'warn' | 'error')
  const ts = new Date().toISOString();
  await runner(nodeToken, `/events/${eventId}/progress`, {
    phase: 'transferring',
    log: [
      { ts, level: 'info', message: 'sending tank/data' },
      { ts, level: 'warn', message: 'moving the hold lifeboat-j1 on the target failed, the chain is not protected there' },
    ],
  });
  await runner(nodeToken, `/events/${eventId}/finish`, {
    status: 'failed',
    error: 'the target went away',
    errorClass: 'network',
    log: [{ ts, level: 'error', message: 'vm web did not start again' }],
  });
  ({ page, problems } = await openBrowser(teardown));
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const step = flowSteps(60_000);

describe('event log levels', () => {
  step('signs in and opens the log of the event from the Events page', async () => {
    await page.goto(srv.url + '/signin');
    await page.getByLabel('Admin API token').fill(srv.admin);
    await page.getByLabel('Admin API token').press('Enter');
    await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
    await page.goto(srv.url + '/backups/events');
    // Details, Error and Log: beyond two, the row's actions are under More (RowActions)
    await page.getByRole('button', { name: `More actions for event ${eventId}` }).click();
    await page.getByRole('button', { name: `Log of event ${eventId}` }).click();
    await page
      .getByRole('dialog', { name: `Log of event #${eventId}` })
      .getByText('vm web did not start again')
      .waitFor();
  });

  step('each line shows its level, and warnings and errors are coloured as such', async () => {
    const log = page.getByRole('dialog', { name: `Log of event #${eventId}` }).getByLabel('Log lines');
    const lines = await log
      .locator(':scope > span')
      .evaluateAll((spans) => spans.map((s) => ({ cls: s.className, text: s.textContent ?? '', color: getComputedStyle(s).color })));
    // one line each, none indented by the markup around it (inside <pre> every space shows)
    expect((await log.textContent())!.split('\n')).toEqual([...lines.map((l) => l.text.replace(/\n$/, '')), '']);
    for (const l of lines) expect(l.text).toMatch(/^\d\d:\d\d:\d\d (INFO |WARN |ERROR) \S.*\n$/);
    expect(lines.map((l) => [l.cls, l.text.replace(/^\d\d:\d\d:\d\d /, '').trimEnd()])).toEqual([
      ['lvl-info', 'INFO  sending tank/data'],
      ['lvl-warn', 'WARN  moving the hold lifeboat-j1 on the target failed, the chain is not protected there'],
      ['lvl-error', 'ERROR vm web did not start again'],
      ['lvl-error', 'ERROR failed: the target went away'], // the final error, written by the server
    ]);
    const [info, warn, error] = lines.map((l) => l.color);
    expect(new Set([info, warn, error]).size).toBe(3);
    await shot(page, 'event-log-levels');
    expect(problems.errors).toEqual([]);
  });
});

// Bounds on what clients and nodes can send: request bodies, inventory size, and the log text
// stored per event (real libSQL file DB).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { ADMIN, joinNode, makeJob, makeTarget, startControl, type TestControl } from '../helpers/control.ts';
import { INVENTORY_MAX_DATASETS } from '../../functions/src/contract/runner.ts';
import type { ApiErrorBody } from '../helpers/api.ts';
import { EVENT_LOG_MAX_BYTES } from '../../functions/src/services/queue.ts';

let ctl: TestControl;
beforeEach(async () => {
  ctl = await startControl();
});
afterEach(() => ctl.close());

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  ctl.app.request(`http://localhost/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const count = async (table: string) => (await ctl.db.all<{ n: number }>(sql.raw(`SELECT count(*) AS n FROM ${table}`)))[0].n;

describe('request body limits', () => {
  it.each([
    ['/auth/login', 16 * 1024, {}],
    ['/runner/join', 16 * 1024, {}],
    ['/targets', 1 << 20, { authorization: `Bearer ${ADMIN}` }],
  ])('%s: over %i bytes → 413 naming the body, nothing stored', async (path, max, headers) => {
    const body = JSON.stringify({ name: 'x', password: 'p'.repeat(max), joinToken: 't' });
    const r = await post(path, body, headers);
    expect(r.status).toBe(413);
    const j = await r.json();
    expect(j.error.code).toBe('too_large');
    expect(j.error.fields.body).toMatch(new RegExp(`larger than ${max} bytes`));
    expect((await count('targets')) + (await count('nodes')) + (await count('sessions'))).toBe(0);
  });
});

describe('inventory', () => {
  it(`more than ${INVENTORY_MAX_DATASETS} datasets → 400 naming datasets; the node's inventory is unchanged`, async () => {
    const node = await joinNode(ctl, 'n1', ['tank', 'tank/a']);
    const datasets = Array.from({ length: INVENTORY_MAX_DATASETS + 1 }, (_, i) => ({ name: `tank/d${i}` }));
    const r = await ctl.node<ApiErrorBody>(node.token, '/runner/inventory', {
      zfsVersion: 'z',
      capabilities: {},
      pools: ['tank'],
      datasets,
      guests: [],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.fields.datasets).toBeTruthy();
    expect(await count('node_datasets')).toBe(2);
  });
});

describe('event log', () => {
  it(`stores at most ${EVENT_LOG_MAX_BYTES} bytes of log text per event and says once where it stopped`, async () => {
    const node = await joinNode(ctl, 'n1', ['tank', 'tank/data']);
    const job = await makeJob(ctl, (await makeTarget(ctl)).id);
    const run = await ctl.api('POST', `/jobs/${job.id}/run`);
    await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    const line = 'x'.repeat(2000);
    for (let beat = 0; beat < 3; beat++) {
      const log = Array.from({ length: 400 }, () => ({ level: 'info', message: line })); // 800 kB a heartbeat
      expect((await ctl.node(node.token, `/runner/events/${run.body.eventId}/progress`, { bytesDone: beat, log })).status).toBe(200);
    }
    const fin = await ctl.node(node.token, `/runner/events/${run.body.eventId}/finish`, {
      status: 'failed',
      error: 'x',
      log: [{ level: 'info', message: 'the end' }],
    });
    expect(fin.status).toBe(200);
    const rows = await ctl.db.all<{ level: string; message: string }>(
      sql`SELECT level, message FROM event_logs WHERE event_id = ${run.body.eventId} ORDER BY id`,
    );
    const text = rows.filter((r) => r.message === line);
    expect(text.length * line.length).toBeLessThanOrEqual(EVENT_LOG_MAX_BYTES);
    expect(text.length).toBe(Math.floor(EVENT_LOG_MAX_BYTES / line.length));
    const notes = rows.filter((r) => /log truncated/.test(r.message));
    expect(notes).toHaveLength(1);
    expect(notes[0].level).toBe('warn');
    // nothing of the runner's after it ("the end" included); only the final error, which the server
    // always writes (README, Errors people can act on), bounded like every error
    expect(rows.at(-2)!.message).toMatch(/log truncated/);
    expect(rows.at(-1)).toEqual({ level: 'error', message: 'failed: x' });
  });
});

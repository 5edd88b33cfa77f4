// The events list as the Events page reads it: validations and browses left out on request, a
// total counted up to a cap, and pages both ways (cursor: older, after: newer), on a real libSQL file DB.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, makeTarget, type TestControl } from '../helpers/control.ts';
import type { ApiErrorBody, LbEvent, Page } from '../helpers/api.ts';
import { COUNT_CAP } from '../../functions/src/services/events.ts';

let ctl: TestControl;
beforeEach(async () => {
  ctl = await startControl();
  const n = await joinNode(ctl, 'n1');
  await makeTarget(ctl);
  // 30 events: every third a validation, every fifth a browse, the rest backups
  await ctl.db.run(sql`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
    INSERT INTO events (kind, node_id, target_id, trigger, status, finished_at)
    SELECT CASE WHEN i % 3 = 0 THEN 'validate' WHEN i % 5 = 0 THEN 'browse' ELSE 'backup' END, ${n.id}, 1, 'manual', 'success', 1 FROM n`);
});
afterEach(() => ctl.close());

const list = async (q: string) => (await ctl.api<Page<LbEvent>>('GET', `/events?${q}`)).body;
const ids = (p: Page<LbEvent>) => p.items.map((e) => e.id);
const range = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => from - i);

describe('GET /events and /events/count', () => {
  it('hideKinds leaves validations and browses out of the list and the count', async () => {
    const all = await ctl.api<{ total: number; capped: boolean }>('GET', '/events/count');
    expect(all.body).toEqual({ total: 30, capped: false });
    const shown = await ctl.api<{ total: number; capped: boolean }>('GET', '/events/count?hideKinds=validate,browse');
    const backups = range(30, 1).filter((i) => i % 3 !== 0 && i % 5 !== 0);
    expect(shown.body).toEqual({ total: backups.length, capped: false });
    const p = await list('hideKinds=validate,browse&limit=100');
    expect(ids(p)).toEqual(backups);
    expect((await ctl.api<{ total: number }>('GET', '/events/count?kind=validate')).body.total).toBe(10);
  });

  it('cursor pages older, after pages newer (newest first both ways); the page before the newest is short', async () => {
    const p1 = await list('limit=10');
    expect(ids(p1)).toEqual(range(30, 21));
    const p2 = await list(`limit=10&cursor=${p1.nextCursor}`);
    expect(ids(p2)).toEqual(range(20, 11));
    const p3 = await list(`limit=10&cursor=${p2.nextCursor}`);
    expect(ids(p3)).toEqual(range(10, 1));
    expect(p3.nextCursor).toBeNull();
    // back up from page 3 by its first row
    const up = await list(`limit=10&after=${p3.items[0].id}`);
    expect(ids(up)).toEqual(range(20, 11));
    expect(up.nextCursor).toBe(11);
    const short = await list('limit=10&after=25');
    expect(ids(short)).toEqual(range(30, 26));
    expect(ids(await list('limit=10&after=30'))).toEqual([]);
  });

  it('the count stops at its cap and says so', async () => {
    await ctl.db.run(sql`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${COUNT_CAP})
      INSERT INTO events (kind, node_id, trigger, status) SELECT 'backup', 1, 'manual', 'success' FROM n`);
    expect((await ctl.api('GET', '/events/count')).body).toEqual({ total: COUNT_CAP, capped: true });
  });

  it('an unknown kind in hideKinds is a 400 naming the field', async () => {
    for (const path of ['/events?hideKinds=validate,nope', '/events/count?hideKinds=nope']) {
      const r = await ctl.api<ApiErrorBody>('GET', path);
      expect(r.status).toBe(400);
      expect(Object.keys(r.body.error.fields)).toEqual(['hideKinds']);
      expect(r.body.error.fields.hideKinds).toMatch(/unknown kind "nope"/);
    }
  });
});

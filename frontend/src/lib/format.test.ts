// Table tests of the pure formatting helpers. Every date assertion passes an explicit IANA zone, sets
// the display zone, or compares two results in the same implicit zone, so they hold under any TZ of the machine.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  browserZoneName,
  bytes,
  dateTime,
  displayZoneName,
  duration,
  elapsed,
  isoTitle,
  kindLabel,
  percent,
  rate,
  relative,
  jobZoneNote,
  setDisplayZone,
  snapshotTime,
  timeOfDay,
  titleCase,
  warmDateFormats,
  zfsLabel,
  zfsLabelParts,
  zfsRaw,
  type ZfsLabelContext,
} from './format';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('bytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [512.5, '513 B'], // whole bytes below 1 KiB
    [0.4, '0 B'],
    [100 / 3, '33 B'],
    [1023.4, '1023 B'],
    [1023.5, '1.00 KiB'], // rounds up to 1024 B: the unit is picked after rounding
    [KiB, '1.00 KiB'],
    [1536, '1.50 KiB'],
    [10 * KiB, '10.0 KiB'],
    [99.5 * KiB, '99.5 KiB'],
    [100 * KiB, '100 KiB'],
    [1023 * KiB, '1023 KiB'],
    [10 * KiB - 1, '10.0 KiB'], // 9.999 KiB: decimals follow the rounded value, not "10.00"
    [100 * KiB - 1, '100 KiB'], // 99.999 KiB, not "100.0"
    [MiB - 1, '1.00 MiB'], // 1023.999 KiB, not "1024 KiB"
    [MiB, '1.00 MiB'],
    [GiB - 1, '1.00 GiB'],
    [5.25 * GiB, '5.25 GiB'],
    [1024 ** 4, '1.00 TiB'],
    [1.5 * 1024 ** 5, '1.50 PiB'],
    [1024 ** 6, '1024 PiB'], // PiB is the largest unit
    [-5, '0 B'], // negative sizes clamp to zero
  ])('%s → %s', (n, want) => {
    expect(bytes(n)).toBe(want);
  });

  it.each([null, undefined, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('%s → —', (n) => {
    expect(bytes(n)).toBe('—');
  });
});

describe('rate', () => {
  it.each([
    [0, '0 B/s'],
    [512, '512 B/s'],
    [100 / 3, '33 B/s'],
    [1023.9, '1.00 KiB/s'],
    [2 * KiB, '2.00 KiB/s'],
    [MiB - 0.5, '1.00 MiB/s'],
    [50 * MiB, '50.0 MiB/s'],
    [1.25 * GiB, '1.25 GiB/s'],
  ])('%s → %s', (n, want) => {
    expect(rate(n)).toBe(want);
  });

  it.each([null, undefined, Number.NaN, Number.POSITIVE_INFINITY])('%s → —', (n) => {
    expect(rate(n)).toBe('—');
  });
});

describe('duration', () => {
  it.each([
    [0, '0 s'],
    [0.4, '0 s'],
    [1, '1 s'],
    [59, '59 s'],
    [59.5, '1 min 00 s'], // rounded to whole seconds first
    [60, '1 min 00 s'],
    [61, '1 min 01 s'],
    [754, '12 min 34 s'],
    [3599, '59 min 59 s'],
    [3600, '1 h 00 min'],
    [3659, '1 h 00 min'], // seconds are dropped once there are hours
    [3661, '1 h 01 min'],
    [90_061, '25 h 01 min'], // no days unit
  ])('%s s → %s', (s, want) => {
    expect(duration(s)).toBe(want);
  });

  it.each([null, undefined, Number.NaN, Number.POSITIVE_INFINITY, -1, -0.1])('%s → —', (s) => {
    expect(duration(s)).toBe('—');
  });
});

describe('elapsed', () => {
  const NOW = Date.parse('2026-11-28T10:20:00Z');
  it.each<[string | null, string | null, number | null, number | null]>([
    ['2026-11-28T10:15:00Z', '2026-11-28T10:15:42.5Z', null, 42.5],
    ['2026-11-28T10:15:00Z', '2026-11-28T10:15:42.5Z', NOW, 42.5], // finished: now does not matter
    ['2026-11-28T10:15:00Z', null, NOW, 300], // running
    ['2026-11-28T10:15:00Z', null, null, null], // unfinished and not running (e.g. lost)
    [null, '2026-11-28T10:15:00Z', NOW, null], // never started
    ['2026-11-28T10:15:00Z', '2026-11-28T10:14:00Z', null, 0], // clocks apart: never negative
    ['nope', null, NOW, null],
  ])('%s → %s (now %s) = %s', (start, end, now, want) => {
    expect(elapsed(start, end, now)).toBe(want);
  });
});

describe('percent', () => {
  it.each<[number | null | undefined, number | null | undefined, number | null]>([
    [0, 100, 0],
    [50, 100, 50],
    [100, 100, 100],
    [150, 100, 100], // capped
    [-5, 100, 0], // clamped at 0
    [-0, 100, 0],
    [1, 4, 25],
    [1, 8, 12.5],
    [0, 0, null],
    [0, null, null],
    [null, 100, null],
    [undefined, 100, null],
    [50, null, null],
    [50, undefined, null],
    [50, 0, null],
    [50, -10, null],
    [0, -10, null], // a non-positive total gives null whatever the numerator
    [-5, -10, null],
    [0, -0, null],
    [Number.NaN, 100, null],
    [50, Number.NaN, null],
    [Number.POSITIVE_INFINITY, 100, null], // non-finite figures are unknown
    [50, Number.POSITIVE_INFINITY, null],
  ])('percent(%s, %s) → %s', (done, total, want) => {
    expect(percent(done, total)).toBe(want);
  });
});

describe('dateTime', () => {
  it.each<[string | number | Date, string, string]>([
    [0, 'UTC', '1 Jan 1970 00:00 UTC'],
    ['2026-11-28T10:15:00Z', 'UTC', '28 Nov 2026 10:15 UTC'],
    ['2026-11-28T00:00:00Z', 'UTC', '28 Nov 2026 00:00 UTC'], // 24-hour clock, midnight is 00
    ['2026-11-28T23:59:59.999Z', 'UTC', '28 Nov 2026 23:59 UTC'], // seconds are cut, not rounded
    ['2026-11-28T10:15:00+01:00', 'UTC', '28 Nov 2026 09:15 UTC'],
    ['2026-11-28T10:15:00Z', 'Europe/Berlin', '28 Nov 2026 11:15 CET'],
    ['2026-07-01T10:15:00Z', 'Europe/Berlin', '1 Jul 2026 12:15 CEST'],
    ['2026-07-01T10:15:00Z', 'Europe/London', '1 Jul 2026 11:15 BST'],
    ['2026-11-28T02:05:00Z', 'America/New_York', '27 Nov 2026 21:05 GMT-5'],
    [new Date(Date.UTC(2026, 0, 5, 23, 59)), 'UTC', '5 Jan 2026 23:59 UTC'],
    [Date.UTC(2026, 1, 3, 4, 5), 'Asia/Tokyo', '3 Feb 2026 13:05 GMT+9'],
  ])('%s in %s → %s', (value, zone, want) => {
    expect(dateTime(value, zone)).toBe(want);
  });

  it.each([null, undefined, ''])('%s → —', (value) => {
    expect(dateTime(value, 'UTC')).toBe('—');
  });

  it.each<[string | number | Date, string]>([
    ['not a date', 'not a date'],
    [Number.NaN, 'NaN'],
    [new Date('nope'), 'Invalid Date'],
  ])('unparseable %s comes back as text: %s', (value, want) => {
    expect(dateTime(value, 'UTC')).toBe(want);
  });

  it('falls back to the display zone for an unknown zone', () => {
    const d = '2026-11-28T10:15:00Z';
    const local = dateTime(d);
    expect(local).toMatch(/^\d{1,2} [A-Z][a-z]{2} 2026 \d{2}:\d{2} \S+$/);
    expect(dateTime(d, 'Mars/Olympus_Mons')).toBe(local);
  });

  it.each<[string, string, string]>([
    ['2026-11-28T10:15:07Z', 'UTC', '28 Nov 2026 10:15:07 UTC'],
    ['2026-11-28T23:59:59.999Z', 'UTC', '28 Nov 2026 23:59:59 UTC'],
    ['2026-07-01T10:15:00Z', 'Europe/Berlin', '1 Jul 2026 12:15:00 CEST'],
  ])('with seconds: %s in %s → %s', (value, zone, want) => {
    expect(dateTime(value, zone, { seconds: true })).toBe(want);
  });
});

describe('one clock: the display zone', () => {
  afterEach(() => setDisplayZone(null));

  it('is the browser zone until one is chosen', () => {
    expect(displayZoneName()).toBe(browserZoneName());
    expect(browserZoneName()).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  });

  it.each<[string, string]>([
    ['Asia/Tokyo', '28 Nov 2026 19:15 GMT+9'],
    ['Europe/Berlin', '28 Nov 2026 11:15 CET'],
    ['UTC', '28 Nov 2026 10:15 UTC'],
  ])('times without a zone are shown in the chosen %s', (zone, want) => {
    setDisplayZone(zone);
    expect(displayZoneName()).toBe(zone);
    expect(dateTime('2026-11-28T10:15:00Z')).toBe(want);
  });

  it.each([null, undefined, '', 'Mars/Olympus_Mons'])('%j leaves the browser zone', (zone) => {
    setDisplayZone('Asia/Tokyo');
    setDisplayZone(zone);
    expect(displayZoneName()).toBe(browserZoneName());
  });

  it.each<[string, string | null, string]>([
    ['UTC', 'UTC', ''],
    ['UTC', 'Europe/Berlin', ' (job zone Europe/Berlin)'],
    ['Europe/Berlin', 'Europe/Berlin', ''],
    ['Europe/Paris', 'Europe/Berlin', ' (job zone Europe/Berlin)'],
    ['Asia/Tokyo', null, ''],
  ])('beside a scheduled time on the %s clock, job zone %s → %j', (display, jobZone, want) => {
    setDisplayZone(display);
    expect(jobZoneNote(jobZone)).toBe(want);
  });

  it.each<[string, string | number, string]>([
    ['UTC', '2026-11-28T10:15:07.9Z', '10:15:07'],
    ['Asia/Tokyo', '2026-11-28T23:59:59Z', '08:59:59'],
    ['Europe/Berlin', Date.UTC(2026, 6, 1, 0, 0, 1), '02:00:01'],
    ['UTC', 'not a time', 'not a time'],
  ])('a log line time on the %s clock: %s → %s', (zone, value, want) => {
    setDisplayZone(zone);
    expect(timeOfDay(value)).toBe(want);
  });

  it('labels snapshot names (UTC) on the chosen clock', () => {
    setDisplayZone('Asia/Tokyo');
    expect(zfsLabelParts('tank/data@lb_j7_20261128T101500Z')).toEqual(['tank/data', '28 Nov 2026 19:15 GMT+9']);
  });
});

describe('warmDateFormats', () => {
  it('creates the formatters without error', () => {
    expect(warmDateFormats()).toBeUndefined();
  });
});

describe('isoTitle', () => {
  it.each<[string | null | undefined, string]>([
    [null, ''],
    [undefined, ''],
    ['', ''],
    ['garbage', 'garbage'],
    ['2026-11-28T10:15:00Z', '2026-11-28T10:15:00.000Z'],
    ['2026-11-28T11:15:00+01:00', '2026-11-28T10:15:00.000Z'],
    ['2026-11-28', '2026-11-28T00:00:00.000Z'], // a date-only ISO string is UTC
  ])('%s → %s', (value, want) => {
    expect(isoTitle(value)).toBe(want);
  });
});

describe('relative', () => {
  const NOW = Date.UTC(2026, 10, 28, 10, 15, 0);
  const at = (seconds: number) => new Date(NOW + seconds * 1000).toISOString();

  it.each([
    [0, 'just now'],
    [1, 'just now'],
    [-1, 'just now'],
    [1.4, 'just now'],
    [2, 'in 2 seconds'],
    [-2, '2 seconds ago'],
    [59, 'in 59 seconds'],
    [-59, '59 seconds ago'],
    [60, 'in 1 minute'],
    [-89, '1 minute ago'],
    [-90, '2 minutes ago'],
    [-3569, '59 minutes ago'],
    [-3570, '1 hour ago'], // 59.5 min rounds to 60: the unit is chosen after rounding
    [-3599, '1 hour ago'],
    [3599, 'in 1 hour'],
    [3600, 'in 1 hour'],
    [-5399, '1 hour ago'],
    [-5400, '2 hours ago'],
    [-82_799, '23 hours ago'],
    [-84_599, '23 hours ago'],
    [-84_600, '1 day ago'], // 23.5 h rounds to 24
    [-86_399, '1 day ago'],
    [86_399, 'in 1 day'],
    [-86_400, '1 day ago'],
    [3 * 86_400, 'in 3 days'],
    [-400 * 86_400, '400 days ago'],
    [-1000 * 86_400, '1,000 days ago'],
  ])('%s s from now → %s', (seconds, want) => {
    expect(relative(at(seconds), NOW)).toBe(want);
  });

  it.each<[string | null | undefined, string]>([
    [null, 'never'],
    [undefined, 'never'],
    ['', 'never'],
    ['yesterday', 'yesterday'],
  ])('%s → %s', (value, want) => {
    expect(relative(value, NOW)).toBe(want);
  });

  describe('without an explicit now', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(NOW);
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('measures from the current time', () => {
      expect(relative(at(-120))).toBe('2 minutes ago');
      expect(relative(at(7200))).toBe('in 2 hours');
    });
  });
});

describe('snapshotTime', () => {
  it.each([
    ['lb_j7_20261128T101500Z', '2026-11-28T10:15:00.000Z'],
    ['lb_j123_20260101T000000Z', '2026-01-01T00:00:00.000Z'],
    ['lb_j7_20261128T101500Z-2', '2026-11-28T10:15:00.000Z'], // collision suffix
    ['lb_j0_19991231T235959Z', '1999-12-31T23:59:59.000Z'],
  ])('%s → %s', (name, want) => {
    expect(snapshotTime(name)?.toISOString()).toBe(want);
  });

  it.each([
    '',
    'manual',
    'lb_j7_20261128T101500', // no Z
    'lb_jx_20261128T101500Z',
    'lb_7_20261128T101500Z',
    'xlb_j7_20261128T101500Z',
    'lb_j7_2026-11-28T10:15:00Z',
    'lb_j7_20261128101500Z',
  ])('%s → null', (name) => {
    expect(snapshotTime(name)).toBeNull();
  });
});

describe('zfsLabelParts / zfsLabel', () => {
  beforeEach(() => setDisplayZone('UTC'));
  afterEach(() => setDisplayZone(null));
  const SNAP = 'lb_j7_20261128T101500Z';
  const SNAP_LABEL = '28 Nov 2026 10:15 UTC';
  const names: Record<string, string> = { '7': 'web' };
  const jobName = (id: string) => (Object.hasOwn(names, id) ? names[id] : undefined);

  it.each<[string, ZfsLabelContext, string[]]>([
    [`backup/j7/g2/tank/vms/web@${SNAP}`, {}, ['job #7', 'gen 2', 'tank/vms/web', SNAP_LABEL]],
    [`backup/j7/g2/tank/vms/web@${SNAP}`, { jobName }, ['job web', 'gen 2', 'tank/vms/web', SNAP_LABEL]],
    ['backup/j7/g2/tank/vms/web', {}, ['job #7', 'gen 2', 'tank/vms/web']],
    ['backup/j7/g2/tank/vms/web', { snapshot: SNAP }, ['job #7', 'gen 2', 'tank/vms/web', SNAP_LABEL]],
    ['backup/j7/g2/tank/vms/web@manual-1', { snapshot: SNAP }, ['job #7', 'gen 2', 'tank/vms/web', '@manual-1']],
    ['backup/j7/g2', {}, ['job #7', 'gen 2']],
    ['backup/j7/g2/tank/a', { jobName, generation: 9 }, ['job web', 'gen 2', 'tank/a']], // the path's generation wins
    ['pool/j12/g0/rpool/data', {}, ['job #12', 'gen 0', 'rpool/data']],
    ['backup/j8/g1/tank/a', { jobName }, ['job #8', 'gen 1', 'tank/a']], // no name known for job 8
    ['backup/j7', {}, ['backup/j7']], // a job root without name or generation stays raw
    ['backup/j7', { generation: 3 }, ['backup/j7']],
    ['backup/j7', { jobName }, ['job web']],
    ['backup/j7', { jobName, generation: 3 }, ['job web', 'gen 3']],
    ['backup/j7', { jobName, generation: 3, snapshot: SNAP }, ['job web', 'gen 3', SNAP_LABEL]],
    ['tank/data', {}, ['tank/data']],
    ['tank/data@manual', {}, ['tank/data', '@manual']],
    ['tank/data', { snapshot: SNAP }, ['tank/data', SNAP_LABEL]],
    ['tank/data', { snapshot: null }, ['tank/data']],
    ['root@host:/tank', { snapshot: SNAP }, ['root@host:/tank']], // not a ZFS path: unchanged
    ['has space/data', {}, ['has space/data']],
    ['tank/a@b@c', {}, ['tank/a@b@c']],
  ])('%s %o → %o', (raw, ctx, want) => {
    expect(zfsLabelParts(raw, ctx)).toEqual(want);
    expect(zfsLabel(raw, ctx)).toBe(want.join(' · '));
  });

  it('asks jobName for the job id as a string', () => {
    const spy = vi.fn((id: string) => (id === '42' ? 'db' : undefined));
    expect(zfsLabel('backup/j42/g1/tank/db', { jobName: spy })).toBe('job db · gen 1 · tank/db');
    expect(spy).toHaveBeenCalledWith('42');
  });

  it('defaults to no context', () => {
    expect(zfsLabelParts(`backup/j7/g2/tank@${SNAP}`)).toEqual(['job #7', 'gen 2', 'tank', SNAP_LABEL]);
    expect(zfsLabel(`backup/j7/g2/tank@${SNAP}`)).toBe(`job #7 · gen 2 · tank · ${SNAP_LABEL}`);
  });

  it.each([null, undefined, ''])('zfsLabel(%s) → —', (raw) => {
    expect(zfsLabel(raw, { jobName })).toBe('—');
  });
});

describe('zfsRaw', () => {
  it.each<[string, ZfsLabelContext, string]>([
    ['tank/a', { snapshot: 's1' }, 'tank/a@s1'],
    ['tank/a', {}, 'tank/a'],
    ['tank/a', { snapshot: null }, 'tank/a'],
    ['tank/a', { snapshot: '' }, 'tank/a'],
    ['tank/a@x', { snapshot: 's1' }, 'tank/a@x'],
    ['root@host:/tank', { snapshot: 's1' }, 'root@host:/tank'],
    ['has space', { snapshot: 's1' }, 'has space'],
  ])('%s %o → %s', (raw, ctx, want) => {
    expect(zfsRaw(raw, ctx)).toBe(want);
  });

  it('defaults to no context', () => {
    expect(zfsRaw('tank/a')).toBe('tank/a');
  });
});

describe('kindLabel', () => {
  it.each<[string | null | undefined, string]>([
    ['backup', 'Backup'],
    ['restore', 'Restore'],
    ['oob-restore', 'OOB restore'],
    ['validate', 'Validate'],
    ['browse', 'Browse target'],
    ['prune-snapshots', 'Prune snapshots'], // unknown kinds are title-cased
    ['key_rotation', 'Key rotation'],
    [null, '—'],
    [undefined, '—'],
    ['', '—'],
  ])('%s → %s', (kind, want) => {
    expect(kindLabel(kind)).toBe(want);
  });
});

describe('titleCase', () => {
  it.each<[string | null | undefined, string]>([
    ['hello', 'Hello'],
    ['a', 'A'],
    ['hello-world_again', 'Hello world again'],
    ['ABC', 'ABC'],
    ['already Title', 'Already Title'],
    ['1st-place', '1st place'],
    ['-x', ' x'],
    [null, '—'],
    [undefined, '—'],
    ['', '—'],
  ])('%s → %s', (s, want) => {
    expect(titleCase(s)).toBe(want);
  });
});

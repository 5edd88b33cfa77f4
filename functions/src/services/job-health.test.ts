// jobHealth and the default RPO: table tests, no database.
import { describe, expect, it } from 'vitest';
import { defaultRpoSeconds, humanSeconds, jobHealth, type HealthInput } from './job-health.ts';

const H = 3600_000;
const T0 = Date.parse('2026-11-20T00:00:00Z');
const base: HealthInput = {
  enabled: true,
  createdAt: T0,
  updatedAt: T0 + H,
  lastSuccessAt: null,
  lastBackupStatus: null,
  failingSince: null,
  rpoEffectiveSeconds: 48 * 3600,
};

describe('jobHealth', () => {
  const cases: [string, Partial<HealthInput>, number, ReturnType<typeof jobHealth>][] = [
    [
      'disabled wins over everything',
      { enabled: false, failingSince: T0 },
      T0 + 99 * H,
      { state: 'disabled', reason: 'the job is disabled', since: T0 + H },
    ],
    [
      'failing since the first failure',
      { lastSuccessAt: T0, lastBackupStatus: 'failed', failingSince: T0 + 2 * H },
      T0 + 3 * H,
      { state: 'failing', reason: 'the last backup failed', since: T0 + 2 * H },
    ],
    [
      'an interrupted backup is failing too',
      { lastBackupStatus: 'interrupted', failingSince: T0 + H },
      T0 + 2 * H,
      { state: 'failing', reason: 'the last backup was interrupted', since: T0 + H },
    ],
    [
      'ok within the RPO',
      { lastSuccessAt: T0 + 10 * H, lastBackupStatus: 'success' },
      T0 + 58 * H,
      { state: 'ok', reason: 'the last backup succeeded', since: T0 + 10 * H },
    ],
    [
      'overdue one ms after the RPO, since the deadline',
      { lastSuccessAt: T0 + 10 * H },
      T0 + 58 * H + 1,
      { state: 'overdue', reason: 'no successful backup within 48 h (RPO)', since: T0 + 58 * H },
    ],
    [
      'never succeeded: the RPO counts from creation',
      {},
      T0 + 49 * H,
      { state: 'overdue', reason: 'no successful backup yet, 48 h after the job was created (RPO)', since: T0 + 48 * H },
    ],
    ['a new job is ok until then', {}, T0 + 47 * H, { state: 'ok', reason: 'no backup yet', since: null }],
    [
      'no RPO (manual job): never overdue',
      { rpoEffectiveSeconds: null, lastSuccessAt: T0 },
      T0 + 9999 * H,
      { state: 'ok', reason: 'the last backup succeeded', since: T0 },
    ],
    [
      'a cancelled last backup after a success is ok',
      { lastSuccessAt: T0, lastBackupStatus: 'cancelled' },
      T0 + H,
      { state: 'ok', reason: 'the last backup succeeded', since: T0 },
    ],
  ];
  for (const [name, over, now, want] of cases) it(name, () => expect(jobHealth({ ...base, ...over }, now)).toEqual(want));
});

describe('defaultRpoSeconds', () => {
  const at = Date.parse('2026-11-25T12:00:00Z'); // a Wednesday
  it.each([
    ['', 'UTC', null],
    ['0 * * * *', 'UTC', 2 * 3600],
    ['*/15 * * * *', 'UTC', 30 * 60],
    ['0 3 * * *', 'Europe/Berlin', 2 * 86_400],
    ['0 3 * * 1-5', 'UTC', 2 * 3 * 86_400], // weekdays: the weekend gap is the longest
    ['0 3 * * 0', 'UTC', 2 * 7 * 86_400],
  ])('%s (%s) → %s', (schedule, tz, want) => expect(defaultRpoSeconds(schedule, tz, at)).toBe(want));
});

it('humanSeconds', () => {
  expect([59, 119, 120, 7199, 7200, 259_199, 259_200].map(humanSeconds)).toEqual([
    '59 s',
    '119 s',
    '2 min',
    '120 min',
    '2 h',
    '72 h',
    '3 d',
  ]);
});

// Table tests of the schedule preview. The clock is pinned (only Date is faked, no timers) and every
// preview names its zone, so the next run times are exact under any TZ of the machine.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { isTimeZone as isValidZone } from '$protocol/retention';
import { describe as describeCron, preview, zones, type SchedulePreview } from './cron';
import { setDisplayZone } from './format';

describe('isValidZone', () => {
  it.each([
    ['UTC', true],
    ['utc', true],
    ['Etc/UTC', true],
    ['Europe/Berlin', true],
    ['America/New_York', true],
    ['Asia/Kolkata', true],
    ['Etc/GMT+5', true],
    ['Mars/Olympus', false],
    ['Europe/Berln', false],
    ['', false],
    ['not a zone', false],
  ])('%s → %s', (zone, want) => {
    expect(isValidZone(zone)).toBe(want);
  });
});

// cronstrue's wording (24-hour times); these rows pin the options cron.ts passes and its fallbacks.
describe('describe', () => {
  it.each([
    // time of day
    ['* * * * *', 'Every minute'],
    ['*/15 * * * *', 'Every 15 minutes'],
    ['0 * * * *', 'Every hour'],
    ['30 * * * *', 'At 30 minutes past the hour'],
    ['15 */6 * * *', 'At 15 minutes past the hour, every 6 hours'],
    ['0 3 * * *', 'At 03:00'],
    ['5 0 * * *', 'At 00:05'], // 24-hour clock
    ['30 13 * * *', 'At 13:30'],
    ['30 1,13 * * *', 'At 01:30 and 13:30'],
    ['0 9-17 * * *', 'Every hour, between 09:00 and 17:00'],
    ['  0   3 * * *  ', 'At 03:00'],
    ['0-30 * * * *', 'Minutes 0 through 30 past the hour'],
    ['0,30 * * * *', 'At 0 and 30 minutes past the hour'],
    ['*/5 9 * * *', 'Every 5 minutes, between 09:00 and 09:59'],
    ['* 3 * * *', 'Every minute, between 03:00 and 03:59'],
    ['0 9-17/2 * * *', 'On the hour, every 2 hours, between 09:00 and 17:00'],
    // day of week: 0 and 7 are Sunday, as croner reads them; names in any case
    ['0 3 * * 1-5', 'At 03:00, Monday through Friday'],
    ['0 3 * * MON-FRI', 'At 03:00, Monday through Friday'],
    ['0 3 * * 0,6', 'At 03:00, only on Sunday and Saturday'],
    ['0 3 * * Sat,Sun', 'At 03:00, only on Saturday and Sunday'],
    ['0 3 * * 0', 'At 03:00, only on Sunday'],
    ['0 3 * * 7', 'At 03:00, only on Sunday'],
    ['0 3 * * 1,3,5', 'At 03:00, only on Monday, Wednesday, and Friday'],
    ['0 3 * * mon,WED', 'At 03:00, only on Monday and Wednesday'],
    ['0 3 * * 2-4', 'At 03:00, Tuesday through Thursday'],
    ['0 3 * * fri-sun', 'At 03:00, Friday through Sunday'],
    ['0 9-17 * * 1-5', 'Every hour, between 09:00 and 17:00, Monday through Friday'],
    ['0 3 * * */2', 'At 03:00, every 2 days of the week'],
    ['0 3 * * 1-5/2', 'At 03:00, every 2 days of the week, Monday through Friday'],
    ['0 3 * * 1#2', 'At 03:00, on the second Monday of the month'],
    ['0 3 * * 5L', 'At 03:00, on the last Friday of the month'],
    ['0 3 * * 1-3,5', 'At 03:00, only on Monday through Wednesday and Friday'],
    // croner reads "?" as "*"
    ['0 3 ? * 1', 'At 03:00, only on Monday'],
    ['0 3 1 * ?', 'At 03:00, on day 1 of the month'],
    ['0 3 ? * ?', 'At 03:00'],
    ['0 3 ? ? mon-fri', 'At 03:00, Monday through Friday'],
    ['0 * * * 1-5', 'Every hour, Monday through Friday'],
    ['*/5 * * * 0,6', 'Every 5 minutes, only on Sunday and Saturday'],
    // day of month and month
    ['0 3 1 * *', 'At 03:00, on day 1 of the month'],
    ['0 3 1,15 * *', 'At 03:00, on day 1 and 15 of the month'],
    ['* * 1 * *', 'Every minute, on day 1 of the month'],
    ['0 3 * 6 *', 'At 03:00, only in June'],
    ['0 3 1 1 *', 'At 03:00, on day 1 of the month, only in January'],
    ['0 3 * 1-3 *', 'At 03:00, January through March'],
    ['0 3 * FEB *', 'At 03:00, only in February'],
    ['0 3 * jan-mar *', 'At 03:00, January through March'],
    // cron ORs the two day fields
    ['0 0 13 * 5', 'At 00:00, on day 13 of the month, and on Friday'],
    ['0 3 1 sep 1', 'At 03:00, on day 1 of the month, and on Monday, only in September'],
    // fallbacks: not five fields → the pattern itself; what cronstrue cannot read → "Cron: <pattern>"
    ['', ''],
    ['0 3 * *', '0 3 * *'],
    ['0 0 3 * * *', '0 0 3 * * *'], // six fields would be read as seconds first: not ours
    ['@daily', '@daily'],
    ['0 3 * * 8', 'Cron: 0 3 * * 8'], // not Monday: croner rejects 8 too
    ['0 3 * * mon,xyz', 'Cron: 0 3 * * mon,xyz'],
    ['0 3 * xyz *', 'Cron: 0 3 * xyz *'],
    ['0 3,x * * *', 'Cron: 0 3,x * * *'],
  ])('%j → %j', (pattern, want) => {
    expect(describeCron(pattern)).toBe(want);
  });
});

const NOW = '2026-11-28T10:15:00Z'; // a Saturday

describe('preview', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(NOW));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const ok = (description: string, next: string[]): SchedulePreview => ({ error: null, description, next });
  const bad = (error: string): SchedulePreview => ({ error, description: '', next: [] });

  it.each<[string, string, number | undefined, SchedulePreview]>([
    ['0 3 * * *', 'UTC', undefined, ok('At 03:00', ['29 Nov 2026 03:00 UTC', '30 Nov 2026 03:00 UTC', '1 Dec 2026 03:00 UTC'])],
    ['0 3 * * *', '', undefined, ok('At 03:00', ['29 Nov 2026 03:00 UTC', '30 Nov 2026 03:00 UTC', '1 Dec 2026 03:00 UTC'])],
    ['  0 3 * * *  ', '   ', undefined, ok('At 03:00', ['29 Nov 2026 03:00 UTC', '30 Nov 2026 03:00 UTC', '1 Dec 2026 03:00 UTC'])],
    ['0 3 * * *', ' Europe/Berlin ', undefined, ok('At 03:00', ['29 Nov 2026 03:00 CET', '30 Nov 2026 03:00 CET', '1 Dec 2026 03:00 CET'])],
    // 10:15 UTC is 15:45 in Kolkata (+5:30): today's 03:00 has passed
    ['0 3 * * *', 'Asia/Kolkata', 2, ok('At 03:00', ['29 Nov 2026 03:00 GMT+5:30', '30 Nov 2026 03:00 GMT+5:30'])],
    // 10:15 UTC is 05:15 in New York, a Saturday: the next weekday is Monday
    [
      '0 9 * * 1-5',
      'America/New_York',
      undefined,
      ok('At 09:00, Monday through Friday', ['30 Nov 2026 09:00 GMT-5', '1 Dec 2026 09:00 GMT-5', '2 Dec 2026 09:00 GMT-5']),
    ],
    ['*/15 * * * *', 'UTC', 1, ok('Every 15 minutes', ['28 Nov 2026 10:30 UTC'])], // strictly after now
    [
      '*/15 * * * *',
      'UTC',
      4,
      ok('Every 15 minutes', ['28 Nov 2026 10:30 UTC', '28 Nov 2026 10:45 UTC', '28 Nov 2026 11:00 UTC', '28 Nov 2026 11:15 UTC']),
    ],
    [
      '0 */6 * * *',
      'UTC',
      undefined,
      ok('On the hour, every 6 hours', ['28 Nov 2026 12:00 UTC', '28 Nov 2026 18:00 UTC', '29 Nov 2026 00:00 UTC']),
    ],
    [
      '0 2 1 * *',
      'UTC',
      undefined,
      ok('At 02:00, on day 1 of the month', ['1 Dec 2026 02:00 UTC', '1 Jan 2027 02:00 UTC', '1 Feb 2027 02:00 UTC']),
    ],
    // day of month OR day of week, as the description says
    [
      '0 0 13 * 5',
      'UTC',
      5,
      ok('At 00:00, on day 13 of the month, and on Friday', [
        '4 Dec 2026 00:00 UTC',
        '11 Dec 2026 00:00 UTC',
        '13 Dec 2026 00:00 UTC',
        '18 Dec 2026 00:00 UTC',
        '25 Dec 2026 00:00 UTC',
      ]),
    ],
    // "?" is "*": Mondays only, not "day ? of the month or Monday"
    [
      '0 3 ? * 1',
      'UTC',
      undefined,
      ok('At 03:00, only on Monday', ['30 Nov 2026 03:00 UTC', '7 Dec 2026 03:00 UTC', '14 Dec 2026 03:00 UTC']),
    ],
    [
      '0 3 * * */2',
      'UTC',
      4,
      ok('At 03:00, every 2 days of the week', [
        '29 Nov 2026 03:00 UTC',
        '1 Dec 2026 03:00 UTC',
        '3 Dec 2026 03:00 UTC',
        '5 Dec 2026 03:00 UTC',
      ]),
    ],
    ['0 3 1 jan *', 'UTC', 2, ok('At 03:00, on day 1 of the month, only in January', ['1 Jan 2027 03:00 UTC', '1 Jan 2028 03:00 UTC'])],
    ['0 0 29 2 *', 'UTC', 1, ok('At 00:00, on day 29 of the month, only in February', ['29 Feb 2028 00:00 UTC'])],
  ])('%j in %j (count %s)', (pattern, zone, count, want) => {
    expect(preview(pattern, zone, count ?? 3, zone.trim())).toEqual(want);
  });

  it.each<[string, string, SchedulePreview]>([
    ['', 'UTC', { error: null, description: 'Manual only (no schedule)', next: [] }],
    ['   ', 'Mars/Olympus', { error: null, description: 'Manual only (no schedule)', next: [] }],
    ['0 3 * *', 'UTC', bad('Use 5 fields: minute hour day-of-month month day-of-week')],
    ['0 0 3 * * *', 'UTC', bad('Use 5 fields: minute hour day-of-month month day-of-week')],
    ['@daily', 'UTC', bad('Use 5 fields: minute hour day-of-month month day-of-week')],
    ['0 3 * * *', 'Mars/Olympus', bad('Unknown time zone "Mars/Olympus"')],
    ['0 3 * * *', '  Europe/Berln ', bad('Unknown time zone "Europe/Berln"')],
    ['61 * * * *', 'UTC', bad('Invalid schedule: Invalid value for minute: 61')],
    ['0 24 * * *', 'UTC', bad('Invalid schedule: Invalid value for hour: 24')],
    ['0 3 * * 8', 'UTC', bad('Invalid schedule: Invalid value for dayOfWeek: 8')],
    ['*/0 * * * *', 'UTC', bad('Invalid schedule: Syntax error, illegal stepping: 0')],
    ['5-1 * * * *', 'UTC', bad("Invalid schedule: From value is larger than to value: '5-1'")],
    ['a b c d e', 'UTC', bad('Invalid schedule: configuration entry 1 (a) contains illegal characters.')],
    [
      '0 0 30 2 *',
      'UTC',
      { error: 'This schedule never runs (impossible date)', description: 'At 00:00, on day 30 of the month, only in February', next: [] },
    ],
  ])('%j in %j → error', (pattern, zone, want) => {
    expect(preview(pattern, zone, 3, zone)).toEqual(want);
  });

  describe('on the one clock', () => {
    afterEach(() => setDisplayZone(null));
    it('runs in the job zone, shown in the display zone the user chose', () => {
      vi.setSystemTime(new Date('2026-11-28T12:00:00Z'));
      setDisplayZone('Asia/Tokyo');
      expect(preview('30 2 * * *', 'Europe/Berlin', 2)).toEqual(ok('At 02:30', ['29 Nov 2026 10:30 GMT+9', '30 Nov 2026 10:30 GMT+9']));
    });
    it('is shown in UTC when the user chose UTC', () => {
      vi.setSystemTime(new Date('2026-11-28T12:00:00Z'));
      setDisplayZone('UTC');
      expect(preview('30 2 * * *', 'Europe/Berlin', 1)).toEqual(ok('At 02:30', ['29 Nov 2026 01:30 UTC']));
    });
  });

  describe('across daylight-saving changes in Europe/Berlin', () => {
    it('moves a run in the spring-forward gap to 03:00 CEST', () => {
      vi.setSystemTime(new Date('2026-03-28T12:00:00Z'));
      expect(preview('30 2 * * *', 'Europe/Berlin', 3, 'Europe/Berlin')).toEqual(
        ok('At 02:30', ['29 Mar 2026 03:00 CEST', '30 Mar 2026 02:30 CEST', '31 Mar 2026 02:30 CEST']),
      );
    });

    it('runs once on the fall-back day, at the first 02:30', () => {
      vi.setSystemTime(new Date('2026-10-24T12:00:00Z'));
      expect(preview('30 2 * * *', 'Europe/Berlin', 3, 'Europe/Berlin')).toEqual(
        ok('At 02:30', ['25 Oct 2026 02:30 CEST', '26 Oct 2026 02:30 CET', '27 Oct 2026 02:30 CET']),
      );
    });
  });
});

describe('zones', () => {
  it('lists UTC first, once, then the runtime zones, all valid', () => {
    const list = zones();
    expect(list[0]).toBe('UTC');
    expect(list.filter((z) => z === 'UTC')).toHaveLength(1);
    expect(list.length).toBeGreaterThan(100);
    expect(list).toContain('Europe/Berlin');
    expect(list).toContain('America/New_York');
    expect(new Set(list).size).toBe(list.length);
    expect(list.filter((z) => !isValidZone(z))).toEqual([]);
  });
});

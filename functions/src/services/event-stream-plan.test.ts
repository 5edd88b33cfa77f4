import { describe, expect, it } from 'vitest';
import { nextWait, parseLastEventId, resumeFrom } from './event-stream-plan.ts';

describe('resumeFrom', () => {
  it.each([
    { what: 'first connection: from now', last: null, cursor: 40, want: { from: 40, reset: false } },
    { what: 'resume: from the id it saw', last: 35, cursor: 40, want: { from: 35, reset: false } },
    { what: 'nothing missed', last: 40, cursor: 40, want: { from: 40, reset: false } },
    { what: 'an id from the future (database replaced): reload', last: 90, cursor: 40, want: { from: 40, reset: true } },
    { what: 'too far behind: reload', last: 10, cursor: 40, want: { from: 40, reset: true } },
    { what: 'just within the backlog', last: 20, cursor: 40, want: { from: 20, reset: false } },
  ])('$what', ({ last, cursor, want }) => {
    expect(resumeFrom(last, cursor, 20)).toEqual(want);
  });
});

describe('parseLastEventId', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['0', 0],
    ['1234', 1234],
    ['-1', 'invalid'],
    ['1.5', 'invalid'],
    ['12abc', 'invalid'],
    ['9'.repeat(16), 'invalid'],
  ] as const)('%j → %j', (header, want) => {
    expect(parseLastEventId(header)).toBe(want);
  });
});

describe('nextWait', () => {
  it.each([
    { what: 'the check interval', o: { checkMs: 2000, heartbeatMs: 15000, leftMs: 60000, sinceWrite: 0 }, want: 2000 },
    { what: 'never past the end', o: { checkMs: 2000, heartbeatMs: 15000, leftMs: 500, sinceWrite: 0 }, want: 500 },
    { what: 'in time for the heartbeat', o: { checkMs: 10000, heartbeatMs: 15000, leftMs: 60000, sinceWrite: 14000 }, want: 1000 },
    { what: 'a heartbeat already due: at once', o: { checkMs: 10000, heartbeatMs: 15000, leftMs: 60000, sinceWrite: 16000 }, want: 0 },
  ])('$what', ({ o, want }) => {
    expect(nextWait(o)).toBe(want);
  });
});

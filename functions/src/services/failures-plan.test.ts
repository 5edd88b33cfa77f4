import { describe, expect, it } from 'vitest';
import { MAX_CHANGED, failuresPlan } from './failures-plan.ts';

const memo = { cursor: 100, from: 1_000, ids: [7, 9] };

describe('failuresPlan', () => {
  it.each([
    { what: 'no memo yet', memo: undefined, now: { cursor: 100, from: 1_000 }, want: 'full' },
    { what: 'nothing changed, same window', memo, now: { cursor: 100, from: 1_000 }, want: 'incremental' },
    { what: 'nothing changed, the window moved on', memo, now: { cursor: 100, from: 5_000 }, want: 'incremental' },
    { what: 'some changes since', memo, now: { cursor: 180, from: 5_000 }, want: 'incremental' },
    { what: 'just within the changes read', memo, now: { cursor: 100 + MAX_CHANGED, from: 5_000 }, want: 'incremental' },
    { what: 'too many changes since', memo, now: { cursor: 101 + MAX_CHANGED, from: 5_000 }, want: 'full' },
    { what: 'the cursor went back (another database)', memo, now: { cursor: 99, from: 5_000 }, want: 'full' },
    { what: 'a window that starts earlier (a clock set back)', memo, now: { cursor: 100, from: 999 }, want: 'full' },
  ] as const)('$what', ({ memo, now, want }) => {
    expect(failuresPlan(memo, now)).toBe(want);
  });
});

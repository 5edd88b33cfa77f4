// effectiveLimitBps: the lower of a job's and its target's limit; 0/null/absent is unlimited.
import { describe, expect, it } from 'vitest';
import { effectiveLimitBps, formatLimit } from './bandwidth.ts';

describe('effectiveLimitBps', () => {
  it.each([
    ['neither set', [null, null], null],
    ['absent (an older server)', [undefined, undefined], null],
    ['0 is unlimited', [0, 0], null],
    ['job only', [1024, null], 1024 * 1024],
    ['target only', [null, 2048], 2048 * 1024],
    ['the lower wins: job', [512, 2048], 512 * 1024],
    ['the lower wins: target', [4096, 1024], 1024 * 1024],
    ['0 on one side does not lift the other', [0, 1024], 1024 * 1024],
    ['an out-of-band restore: the target alone', [2048], 2048 * 1024],
  ])('%s', (_, limits, want) => expect(effectiveLimitBps(...limits)).toBe(want));
});

describe('formatLimit', () => {
  it.each([
    [null, 'unlimited'],
    [512 * 1024, '512 KiB/s'],
    [1024 * 1024, '1024 KiB/s (1.0 MiB/s)'],
  ])('%s', (bps, want) => expect(formatLimit(bps)).toBe(want));
});

import { describe, expect, it } from 'vitest';
import { runnerProtocolError } from './runner-protocol.ts';

describe('runnerProtocolError', () => {
  it.each([
    // header, min, current, expected (null: served)
    [undefined, 1, 1, null],
    ['1', 1, 1, null],
    [' 2 ', 1, 2, null],
    [undefined, 2, 2, /speaks protocol 1, the server needs 2 or newer: upgrade the runner/],
    ['1', 2, 3, /upgrade the runner/],
    ['3', 1, 2, /newer than the server's 2: upgrade the server first/],
    ['x', 1, 1, /^must be a protocol number$/],
    ['-1', 1, 1, /must be a protocol number/],
    ['1e3', 1, 1, /must be a protocol number/],
    ['', 1, 1, /must be a protocol number/],
  ] as const)('%j with min %d, current %d', (header, min, current, want) => {
    if (want !== null) expect(runnerProtocolError(header, min, current)?.malformed).toBe(String(want).includes('protocol number'));
    const got = runnerProtocolError(header, min, current);
    if (want === null) expect(got).toBeNull();
    else expect(got?.message).toMatch(want);
  });
});

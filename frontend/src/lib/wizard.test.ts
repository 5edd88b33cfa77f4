// Table test of the wizard's step skipping.
import { describe, expect, it } from 'vitest';
import { canGoBack, stepAfter } from './wizard';

const S = (s: string) => [...s].map((c) => c === 's'); // 's' skipped, '.' shown

describe('stepAfter', () => {
  it.each<[string, number, 1 | -1, number]>([
    ['....', 0, 1, 1],
    ['.s..', 0, 1, 2], // one node: Target → Dataset
    ['.ss.', 0, 1, 3],
    ['.s..', 2, -1, 0], // Back jumps over it too
    ['ss..', 2, -1, 2], // nothing to go back to
    ['...s', 2, 1, 2], // nothing ahead
    ['....', 3, 1, 3],
    ['s...', 1, -1, 1],
  ])('%s from %d going %d → %d', (skip, from, dir, want) => {
    expect(stepAfter(from, S(skip), dir)).toBe(want);
  });
});

describe('canGoBack', () => {
  it.each<[string, number, boolean]>([
    ['....', 0, false],
    ['....', 1, true],
    ['s...', 1, false],
    ['ss..', 2, false],
    ['.s..', 2, true],
  ])('%s at %d → %s', (skip, at, want) => {
    expect(canGoBack(at, S(skip))).toBe(want);
  });
});

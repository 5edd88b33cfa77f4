import { describe, expect, it } from 'vitest';
import { missedChanges } from './change-cursor';

describe('missedChanges', () => {
  it.each([
    { what: 'the stream has passed nothing yet', readAt: 10, passed: null, want: false },
    { what: 'read at the stream start: nothing missed', readAt: 10, passed: 10, want: false },
    { what: 'read after the stream start: nothing missed', readAt: 12, passed: 10, want: false },
    { what: 'read before the stream start: a change in between is lost', readAt: 9, passed: 10, want: true },
    { what: 'a change heard while the answer was on its way, above it', readAt: 10, passed: 11, want: true },
    { what: 'an answer without a cursor: cannot tell', readAt: null, passed: 10, want: true },
    { what: 'an answer without a cursor (older server)', readAt: undefined, passed: 0, want: true },
    { what: 'no cursor and nothing passed', readAt: undefined, passed: null, want: false },
    { what: 'an empty database: both 0', readAt: 0, passed: 0, want: false },
  ])('$what', ({ readAt, passed, want }) => {
    expect(missedChanges(readAt, passed)).toBe(want);
  });
});

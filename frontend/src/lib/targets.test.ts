import { describe, expect, it } from 'vitest';
import { targetOptionLabel } from './targets';

describe('targetOptionLabel', () => {
  it.each([
    [{ name: 'offsite', readiness: 'ready', enabled: true }, 'offsite — Ready'],
    [{ name: 'offsite', readiness: 'failed', enabled: true }, 'offsite — Failed'],
    [{ name: 'offsite', readiness: 'not-validated', enabled: true }, 'offsite — Not validated'],
    [{ name: 'old', readiness: 'ready', enabled: false }, 'old — Ready (disabled)'],
  ] as const)('%o → %s', (t, want) => {
    expect(targetOptionLabel(t)).toBe(want);
  });
});

// configFromEnv / settingsFromEnv: defaults, and a bad value named with what it got (README, Configuration).
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, settingsFromEnv } from './config.ts';

describe('settings from the environment', () => {
  it('unset and empty values take the defaults', () => {
    for (const env of [{}, { LIFEBOAT_LEASE_MS: '', LIFEBOAT_PORT: '' }]) {
      const c = configFromEnv(env);
      expect([c.leaseMs, c.claimWaitMs, c.eventsKeepPerJob, c.notifyIntervalMs, c.publicUrl]).toEqual([
        30_000,
        25_000,
        200,
        30_000,
        'http://127.0.0.1:8480',
      ]);
    }
  });

  it('values are numbers in their units; the public URL follows host and port', () => {
    const c = configFromEnv({
      LIFEBOAT_SESSION_TTL_HOURS: '1.5',
      LIFEBOAT_LOGIN_WINDOW_MINUTES: '2',
      LIFEBOAT_HOST: '::1',
      LIFEBOAT_PORT: '9000',
    });
    expect([c.sessionTtlMs, c.loginWindowMs, c.publicUrl]).toEqual([5_400_000, 120_000, 'http://[::1]:9000']);
    expect(settingsFromEnv({ LIFEBOAT_PORT: '0' }).LIFEBOAT_PORT).toBe(0);
  });

  it.each([
    ['LIFEBOAT_LEASE_MS', 'soon', 'must be a non-negative number'],
    ['LIFEBOAT_LEASE_MS', '-1', 'must be a non-negative number'],
    ['LIFEBOAT_EVENTS_MAX_ROWS', 'Infinity', 'must be a non-negative number'],
    ['LIFEBOAT_CLAIM_WAIT_MS', '1e999', 'must be a non-negative number'],
    ['LIFEBOAT_PORT', 'http', 'must be a port number (0-65535)'],
    ['LIFEBOAT_PORT', '65536', 'must be a port number (0-65535)'],
    ['LIFEBOAT_PORT', '80.5', 'must be a port number (0-65535)'],
  ])('%s=%s is refused, named with its value', (name, value, message) => {
    expect(() => configFromEnv({ [name]: value })).toThrow(new ConfigError(`${name} ${message}, got "${value}"`));
  });
});

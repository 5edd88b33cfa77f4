import { describe, expect, it } from 'vitest';
import { CONNECT_ATTEMPTS, connectRetryDelayMs } from './errors.ts';

describe('connectRetryDelayMs', () => {
  const mid = () => 0.5; // no jitter: the base wait
  it.each([
    ['ssh gave up on the banner', 1, 'cannot connect to u@h:22: Connection timed out during banner exchange', 2000],
    ['the TCP connect timed out', 1, 'cannot connect to u@h:22: ssh: connect to host h port 22: Connection timed out', 2000],
    ['no master within the deadline', 2, 'cannot connect to u@h:22: timed out', 6000],
    ['MaxStartups dropped it', 1, 'cannot connect to u@h:22: kex_exchange_identification: Connection closed by remote host', 2000],
    ['reset during the handshake', 1, 'cannot connect to u@h:22: kex_exchange_identification: read: Connection reset by peer', 2000],
    ['the route went away', 1, 'cannot connect to u@h:22: ssh: connect to host h port 22: No route to host', 2000],
    ['nothing said', 1, 'cannot connect to u@h:22: connection failed', 2000],
    ['a refused port', 1, 'cannot connect to u@h:22: ssh: connect to host h port 22: Connection refused', null],
    ['an unknown name', 1, 'cannot connect to u@nope:22: ssh: Could not resolve hostname nope: Name or service not known', null],
    ['something else', 1, 'cannot connect to u@h:22: no matching host key type found', null],
    ['the last attempt', CONNECT_ATTEMPTS, 'cannot connect to u@h:22: timed out', null],
  ])('%s', (_n, attempt, message, want) => {
    expect(connectRetryDelayMs(attempt, message, mid)).toBe(want);
  });

  it('spreads the wait ±50 %, so nodes refused together come back apart', () => {
    expect(connectRetryDelayMs(1, 'timed out', () => 0)).toBe(1000);
    expect(connectRetryDelayMs(1, 'timed out', () => 0.999)).toBe(2998);
  });
});

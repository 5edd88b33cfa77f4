import type { ErrorClass } from '../core/errors.ts';

/**
 * Classify a failed ssh invocation. ssh itself exits 255 on its own errors; any other code is the
 * remote command's. Returns null when the failure is the remote command's (not a transport one).
 */
export function classifySsh(code: number, stderr: string): ErrorClass | null {
  const s = stderr;
  if (
    /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|No \S+ host key is known|host key for .* has changed|HOST KEY .*CHANGED/i.test(
      s,
    )
  )
    return 'host-key';
  if (code !== 255) {
    if (code === 127 || /command not found/.test(s)) return 'target-not-ready';
    return null;
  }
  if (
    /Permission denied|Too many authentication failures|Authentication failed|invalid format|Load key .*:|no mutual signature|not accessible: No such file|bad permissions|UNPROTECTED PRIVATE KEY/i.test(
      s,
    )
  )
    return 'authentication';
  return 'connectivity'; // refused, timed out, unreachable, name resolution, closed, kex failures
}

/** A short human message for an ssh failure class. */
export function describeSshFailure(cls: ErrorClass, where: string, stderr: string): string {
  const detail = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^@+$/.test(l) && !/^Warning: Permanently added/.test(l))
    .slice(0, 4)
    .join(' | ');
  switch (cls) {
    case 'host-key': {
      const fp = /SHA256:[A-Za-z0-9+/=]+/.exec(stderr)?.[0];
      return (
        `host key of ${where} does not match the pinned key${fp ? ` (it now presents ${fp})` : ''}; ` +
        'refusing to connect. If the change is expected (the target was reinstalled), re-pin its key: ' +
        'Targets → Re-pin host key, or POST /api/v1/targets/:id/host-key/reset (validating again keeps the old pin).'
      );
    }
    case 'authentication':
      return `ssh authentication to ${where} failed with the stored key: ${detail}`;
    case 'connectivity':
      return `cannot connect to ${where}: ${detail || 'connection failed'}`;
    case 'target-not-ready':
      return `target ${where} is not ready: ${detail}`;
    default:
      return `${where}: ${detail}`;
  }
}

/** How many times a run tries to open its connection to a target (connectRetryDelayMs). */
export const CONNECT_ATTEMPTS = 3;

/**
 * Wait before another connect attempt after `attempt` (1-based) failed with `message`, or null for
 * none. Retried: the target did not answer in time (a loaded or distant host; ssh's own
 * ConnectTimeout covers the banner exchange too) or dropped the connection before the key exchange
 * ended (sshd's MaxStartups refusing a burst of connects from many nodes), or the network was
 * briefly unreachable. Not retried: a refused port, an unknown host name, and every host-key or
 * authentication failure (those are other classes): another attempt would fail the same way. About
 * 2 s, then 6 s, each ±50 % so that nodes refused together do not come back together.
 * README.md ("Connect retries").
 */
export function connectRetryDelayMs(attempt: number, message: string, random: () => number = Math.random): number | null {
  if (attempt >= CONNECT_ATTEMPTS) return null;
  if (/Connection refused|Could not resolve hostname|Name or service not known|nodename nor servname/i.test(message)) return null;
  if (
    !/timed out|Connection reset|Connection closed|kex_exchange_identification|Broken pipe|No route to host|Network is unreachable|connection failed/i.test(
      message,
    )
  )
    return null;
  const base = attempt === 1 ? 2000 : 6000;
  return Math.round(base * (0.5 + random()));
}

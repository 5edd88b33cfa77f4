// DNS rebinding: a page on another site can make a browser resolve its own name to this server's
// address and then read the API as "same origin". Requests are only answered for the host names
// this server is known by (README, Security). Pure: the Node entry applies it.
import { networkInterfaces } from 'node:os';

const LOOPBACK = ['localhost', '127.0.0.1', '::1'];
const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** The host names requests may carry: LIFEBOAT_ALLOWED_HOSTS, else the listen address, loopback names, the public URL's host (and every local address when listening on all of them). */
export function allowedHosts(
  env: Record<string, string | undefined>,
  listenHost: string,
  publicUrl: string,
  localAddresses: () => string[] = interfaceAddresses,
): Set<string> {
  const out = new Set<string>();
  const add = (h: string) => {
    const n = normalizeHost(h);
    if (n) out.add(n);
  };
  const configured = (env.LIFEBOAT_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (configured.length) {
    for (const h of configured) add(h);
    return out;
  }
  for (const h of LOOPBACK) add(h);
  try {
    add(new URL(publicUrl).hostname);
  } catch {
    /* not a URL */
  }
  if (WILDCARD.has(listenHost)) for (const a of localAddresses()) add(a);
  else add(listenHost);
  return out;
}

/** Lower-case host name of a Host header value or host name, without port and IPv6 brackets; null when unusable. */
export function normalizeHost(value: string): string | null {
  let h = value.trim().toLowerCase();
  if (!h) return null;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return null;
    return h.slice(1, end);
  }
  if ((h.match(/:/g) ?? []).length === 1) h = h.slice(0, h.indexOf(':')); // host:port
  return h.replace(/\.$/, '');
}

export function hostAllowed(hostHeader: string | undefined, allowed: Set<string>): boolean {
  const h = hostHeader === undefined ? null : normalizeHost(hostHeader);
  return h !== null && allowed.has(h);
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address));
}

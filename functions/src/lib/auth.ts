// Admin, node and webhook authentication.
//
// Admin requests authenticate with one of:
//   - Authorization: Bearer <admin token>   (LIFEBOAT_ADMIN_TOKEN or <data dir>/admin-token)
//   - Authorization: Bearer <API token>     (POST /auth/tokens; stored as SHA-256, revocable)
//   - the session cookie from POST /auth/login (HttpOnly, SameSite=Strict; Secure over https).
// Cookie-authenticated writes (anything but GET/HEAD/OPTIONS) must also carry X-CSRF-Token with the
// session's CSRF token, and pass Hono's CSRF middleware (same origin, checkSameOrigin). Bearer
// requests are exempt: a browser never attaches an Authorization header on its own.
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { useApiToken } from '../services/api-tokens.ts';
import { nodeByTokenHash } from '../services/nodes.ts';
import { useSession } from '../services/sessions.ts';
import { ApiError } from './errors.ts';
import type { Ctx, Env, Principal, Scope } from './http.ts';
import { digestEquals, sha256Hex } from './tokens.ts';

export const SESSION_COOKIE = 'lifeboat_session';
export const CSRF_HEADER = 'X-CSRF-Token';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? m[1] : null;
}

/** The CSRF token of a session: derived from the cookie value, so it needs no storage and can be re-read. */
export async function csrfTokenFor(sessionToken: string): Promise<string> {
  return (await sha256Hex(`lifeboat-csrf:${sessionToken}`)).slice(0, 43);
}

const clock = (c: Ctx) => (c.var.deps.now ?? Date.now)();

/** Who is calling: null when the request carries no credentials at all; throws 401 for bad ones. */
export async function authenticate(c: Ctx): Promise<Principal | null> {
  const { db, adminTokenHash } = c.var.deps;
  const at = clock(c);
  const token = bearer(c.req.header('authorization'));
  if (token) {
    const hash = await sha256Hex(token);
    if (digestEquals(hash, adminTokenHash)) return { kind: 'admin-token' };
    const row = await useApiToken(db, hash, at);
    if (!row) throw new ApiError('unauthorized', 'the API token is not valid or was revoked');
    if (row.expiresAt != null && row.expiresAt <= at) throw new ApiError('unauthorized', 'the API token has expired');
    return { kind: 'api-token', tokenId: row.id, scope: row.scope, expiresAt: row.expiresAt };
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie) {
    const s = await useSession(db, cookie, at);
    if (!s) throw new ApiError('unauthorized', 'the session has expired or was signed out; sign in again');
    return { kind: 'session', sessionId: s.id, expiresAt: s.expiresAt, csrfToken: await csrfTokenFor(cookie) };
  }
  return null;
}

/** The host the browser believes it talks to (Host, or X-Forwarded-Host behind a trusted proxy). */
function requestHost(c: Ctx): string | null {
  const fwd = c.var.deps.config.trustProxy ? c.req.header('x-forwarded-host')?.split(',')[0]?.trim() : undefined;
  return (fwd || c.req.header('host') || new URL(c.req.url).host || null)?.toLowerCase() ?? null;
}

/** Whether an Origin names this server: the host the browser talks to, or LIFEBOAT_PUBLIC_URL's. */
function isOwnOrigin(origin: string, c: Ctx): boolean {
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return false; // "null" and garbage
  }
  if (host === requestHost(c)) return true;
  try {
    return host === new URL(c.var.deps.config.publicUrl).host.toLowerCase();
  } catch {
    return false; // unset
  }
}

// Hono's CSRF middleware: a state-changing request of the kind a page of another site can send
// without asking (a form or text body, or none) must say Sec-Fetch-Site: same-origin or carry this
// server's Origin. Any other cross-site write needs a CORS preflight this server never grants, and
// the X-CSRF-Token header below is such a write too.
const sameOriginOnly = csrf({ origin: isOwnOrigin });

/** Refuse requests a browser sent from another site (defence in depth on top of SameSite=Strict and the CSRF header). */
export async function checkSameOrigin(c: Ctx) {
  let passed = false;
  try {
    await sameOriginOnly(c, async () => {
      passed = true;
    });
  } catch (e) {
    if (!(e instanceof HTTPException)) throw e;
  }
  if (!passed) {
    const origin = (c.req.header('origin') ?? '').slice(0, 100);
    throw new ApiError(
      'forbidden',
      origin ? `requests from origin ${origin} are refused` : 'a signed-in form or body-less write needs the Origin header of this server',
      { Origin: origin ? 'does not match this server' : 'is missing' },
    );
  }
}

/** checkSameOrigin as a route's middleware (sign-in: before its body is validated). */
export const sameOrigin: MiddlewareHandler<Env> = async (c, next) => {
  await checkSameOrigin(c);
  await next();
};

/** A write made with the session cookie: the session's CSRF token in the header, and same origin. */
export async function checkSessionWrite(c: Ctx, csrfToken: string) {
  const sent = c.req.header(CSRF_HEADER) ?? '';
  if (!sent || !digestEquals(sent, csrfToken)) {
    throw new ApiError('forbidden', `a signed-in write needs the ${CSRF_HEADER} header from the sign-in answer`, {
      [CSRF_HEADER]: 'is missing or does not match the session',
    });
  }
  await checkSameOrigin(c);
}

const RANK: Record<Scope, number> = { read: 0, operate: 1, admin: 2 };
/** What an API token may do, by operation: reading, operating (run, restore, cancel, refresh, validate), or administering the rest. */
export function scopeFor(method: string, path: string): Scope {
  const p = path.replace(/^\/api\/v1/, '');
  if (p === '/auth/tokens' || p.startsWith('/auth/tokens/')) return 'admin'; // token names and their management
  if (SAFE.has(method)) return 'read';
  if (method === 'POST' && p === '/jobs/retention/preview') return 'read'; // a computation: changes nothing
  if (
    method === 'POST' &&
    (/^\/jobs\/[^/]+\/(run|restore)$/.test(p) ||
      p === '/restores' ||
      p === '/restores/preview' ||
      /^\/events\/[^/]+\/cancel$/.test(p) ||
      /^\/targets\/[^/]+\/(refresh|validate)$/.test(p))
  )
    return 'operate';
  return 'admin';
}
export const scopeOf = (p: Principal): Scope => (p.kind === 'api-token' ? p.scope : 'admin');
export const scopeCovers = (have: Scope, need: Scope) => RANK[have] >= RANK[need];

export const requireAdmin: MiddlewareHandler<Env> = async (c, next) => {
  const principal = await authenticate(c);
  if (!principal) throw new ApiError('unauthorized', 'sign in, or send an API token (Authorization: Bearer …)');
  const need = scopeFor(c.req.method, c.req.path);
  if (!scopeCovers(scopeOf(principal), need)) {
    throw new ApiError(
      'forbidden',
      `this API token's scope is ${scopeOf(principal)}; ${c.req.method} ${c.req.path.replace(/^\/api\/v1/, '')} needs ${need}`,
      { scope: `is ${scopeOf(principal)}, needs ${need}` },
    );
  }
  if (principal.kind === 'session' && !SAFE.has(c.req.method)) await checkSessionWrite(c, principal.csrfToken);
  c.set('principal', principal);
  await next();
};

export const requireNode: MiddlewareHandler<Env> = async (c, next) => {
  const token = bearer(c.req.header('authorization'));
  if (!token) throw new ApiError('unauthorized', 'a node token is required (Authorization: Bearer …)');
  const node = await nodeByTokenHash(c.var.deps.db, await sha256Hex(token));
  if (!node) throw new ApiError('unauthorized', 'the node token is not valid or the node was revoked');
  c.set('node', node);
  await next();
};

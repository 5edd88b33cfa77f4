// Admin sign-in (password → session cookie), sign-out, the session probe, the password, API tokens.
import { createRoute } from "@hono/zod-openapi";
import { and, asc, eq, isNull, lte, ne, sql } from 'drizzle-orm';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { adminCredentials, apiTokens, loginAttempts, sessions } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { ApiToken, ApiTokenCreate, ApiTokenCreated, IdParam, Login, Ok, SessionInfo, SetPassword, list } from '../contract/api.ts';
import { SESSION_COOKIE, authenticate, checkSameOrigin, checkSessionWrite, csrfTokenFor } from '../lib/auth.ts';
import { ApiError, invalid, notFound } from '../lib/errors.ts';
import { type App, type Ctx, errors, iso, jsonBody, now, ok } from '../lib/http.ts';
import { createPasswordHasher, type PasswordHasher } from '../lib/password.ts';
import { randomToken, sha256Hex } from '../lib/tokens.ts';

const tags = ['auth'];
const fallbackHasher = createPasswordHasher();
const hasher = (c: Ctx): PasswordHasher => c.var.deps.passwords ?? fallbackHasher;

/** Set the first admin password from the environment (LIFEBOAT_ADMIN_PASSWORD) when none is stored yet. */
export async function seedAdminPassword(db: DB, password: string | undefined, passwords: PasswordHasher = fallbackHasher): Promise<boolean> {
  if (!password) return false;
  const [row] = await db.select({ id: adminCredentials.id }).from(adminCredentials).where(eq(adminCredentials.id, 1));
  if (row) return false;
  const inserted = await db.insert(adminCredentials).values({ id: 1, passwordHash: await passwords.hash(password), updatedAt: Date.now() })
    .onConflictDoNothing().returning({ id: adminCredentials.id });
  return inserted.length > 0;
}

/** https as the browser sees it: the request URL, or X-Forwarded-Proto from a trusted proxy. */
function isHttps(c: Ctx): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return c.var.deps.config.trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

/** The client for rate limiting: the last X-Forwarded-For hop from a trusted proxy, else the connection's peer. */
function clientKey(c: Ctx): string {
  const d = c.var.deps;
  if (d.config.trustProxy) {
    const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (hops.length) return `ip:${hops[hops.length - 1]}`;
  }
  return `ip:${d.clientAddress?.(c) ?? 'unknown'}`;
}

const GLOBAL_KEY = '*';
/** The all-clients ceiling counts over a short window: guessing spread over many addresses locks password sign-in for a minute at most. */
const GLOBAL_WINDOW_MS = 60_000;

/**
 * Reserve one evaluated attempt under `key` (fixed window, one atomic conditional upsert): counted
 * only while the key is under `limit`, so attempts refused for being over the limit count nowhere.
 * Null when reserved, else the seconds until the window ends.
 */
async function reserveAttempt(db: DB, key: string, limit: number, windowMs: number, at: number): Promise<number | null> {
  const stale = sql`${loginAttempts.windowStart} <= ${at - windowMs}`;
  const [row] = await db.insert(loginAttempts).values({ key, failures: 1, windowStart: at }).onConflictDoUpdate({
    target: loginAttempts.key,
    set: {
      failures: sql`CASE WHEN ${stale} THEN 1 ELSE ${loginAttempts.failures} + 1 END`,
      windowStart: sql`CASE WHEN ${stale} THEN ${at} ELSE ${loginAttempts.windowStart} END`,
    },
    setWhere: sql`${stale} OR ${loginAttempts.failures} < ${limit}`,
  }).returning({ failures: loginAttempts.failures });
  if (row) return null;
  const [cur] = await db.select({ windowStart: loginAttempts.windowStart }).from(loginAttempts).where(eq(loginAttempts.key, key));
  return Math.max(1, Math.ceil(((cur?.windowStart ?? at) + windowMs - at) / 1000));
}

/**
 * Count this sign-in attempt for the client, then for everyone, before the password is checked (so
 * concurrent guesses cannot slip past the limit). Only attempts that get evaluated are counted: a
 * client over its own limit is refused without touching the global count, so no single client can
 * lock everyone out; the global ceiling (10x the per-client limit) spans one short window.
 */
async function countAttempt(c: Ctx, key: string, at: number) {
  const { db, config } = c.var.deps;
  await db.delete(loginAttempts).where(lte(loginAttempts.windowStart, at - Math.max(config.loginWindowMs, GLOBAL_WINDOW_MS)));
  let retry = await reserveAttempt(db, key, config.loginMaxFailures, config.loginWindowMs, at);
  if (retry === null) {
    retry = await reserveAttempt(db, GLOBAL_KEY, config.loginMaxFailures * 10, Math.min(config.loginWindowMs, GLOBAL_WINDOW_MS), at);
    if (retry !== null) {
      // not evaluated after all: give the client its attempt back
      await db.update(loginAttempts).set({ failures: sql`max(${loginAttempts.failures} - 1, 0)` }).where(eq(loginAttempts.key, key));
    }
  }
  if (retry !== null) {
    c.header('Retry-After', String(retry));
    throw new ApiError('rate_limited', `too many failed sign-ins; try again in ${retry} s (API tokens still work)`, { password: 'too many failed attempts; wait and try again' });
  }
}

async function forgetAttempt(c: Ctx, key: string) {
  const db = c.var.deps.db;
  await db.batch([
    db.delete(loginAttempts).where(eq(loginAttempts.key, key)),
    db.update(loginAttempts).set({ failures: sql`max(${loginAttempts.failures} - 1, 0)` }).where(eq(loginAttempts.key, GLOBAL_KEY)),
  ]);
}

async function passwordSet(db: DB) {
  const [row] = await db.select({ id: adminCredentials.id }).from(adminCredentials).where(eq(adminCredentials.id, 1));
  return !!row;
}

const tokenView = (t: typeof apiTokens.$inferSelect) => ({
  id: t.id, name: t.name, scope: t.scope, createdAt: iso(t.createdAt), expiresAt: iso(t.expiresAt), lastUsedAt: iso(t.lastUsedAt),
  revoked: t.revokedAt != null, revokedAt: iso(t.revokedAt),
});

export function registerAuth(app: App) {
  app.openapi(createRoute({
    method: 'post', path: '/auth/login', tags, request: jsonBody(Login), security: [],
    description: `Sign in with the admin password. Sets the HttpOnly session cookie \`${SESSION_COOKIE}\` and answers the CSRF token to send as X-CSRF-Token on writes. Failed attempts are limited per client (429 with Retry-After).`,
    responses: { 200: ok(SessionInfo, 'Signed in'), ...errors, 429: { description: 'Too many failed sign-ins', content: errors[400].content } },
  }), async (c) => {
    const { password } = c.req.valid('json');
    const { db, config } = c.var.deps;
    checkSameOrigin(c);
    const at = now(c);
    const key = clientKey(c);
    await countAttempt(c, key, at);
    const [cred] = await db.select().from(adminCredentials).where(eq(adminCredentials.id, 1));
    if (!cred) throw new ApiError('unauthorized', 'no admin password is set yet: set LIFEBOAT_ADMIN_PASSWORD, or POST /api/v1/auth/password with the admin token', { password: 'is not set up yet' });
    if (!(await hasher(c).verify(password, cred.passwordHash))) throw new ApiError('unauthorized', 'the password is not correct', { password: 'is not correct' });
    await forgetAttempt(c, key);
    const token = randomToken('lbs');
    const expiresAt = at + config.sessionTtlMs;
    await db.batch([
      db.delete(sessions).where(sql`${sessions.expiresAt} <= ${at}`), // housekeeping: expired sessions
      db.insert(sessions).values({ tokenHash: await sha256Hex(token), createdAt: at, expiresAt, lastUsedAt: at, userAgent: c.req.header('user-agent')?.slice(0, 300) ?? null }),
    ]);
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true, sameSite: 'Strict', secure: isHttps(c), path: '/', maxAge: Math.floor(config.sessionTtlMs / 1000),
    });
    return c.json({ authenticated: true, method: 'session' as const, csrfToken: await csrfTokenFor(token), expiresAt: iso(expiresAt), passwordSet: true }, 200);
  });

  app.openapi(createRoute({
    method: 'post', path: '/auth/logout', tags, security: [],
    description: 'Sign out: ends the session of the cookie (if any) and clears the cookie. With a live session it is a write like any other: same origin and the X-CSRF-Token header (403 otherwise, the session stays).',
    responses: { 200: ok(Ok), ...errors },
  }), async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) {
      // an expired or unknown cookie is no session to protect: it is just cleared (always 200)
      const principal = await authenticate(c).catch((e) => { if (e instanceof ApiError) return null; throw e; });
      // another site must not be able to sign the admin out (a forced logout is the first step of a login CSRF)
      if (principal?.kind === 'session') checkSessionWrite(c, principal.csrfToken);
      await c.var.deps.db.delete(sessions).where(eq(sessions.tokenHash, await sha256Hex(cookie)));
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict', secure: isHttps(c) });
    return c.json({ ok: true }, 200);
  });

  app.openapi(createRoute({
    method: 'get', path: '/auth/session', tags, security: [],
    description: 'Who is signed in. Never 401: answers authenticated=false without (valid) credentials, and whether a password is set.',
    responses: { 200: ok(SessionInfo), ...errors },
  }), async (c) => {
    let p = null;
    try { p = await authenticate(c); } catch (e) { if (!(e instanceof ApiError)) throw e; }
    return c.json({
      authenticated: !!p, method: p?.kind ?? null, csrfToken: p?.kind === 'session' ? p.csrfToken : null,
      expiresAt: p?.kind === 'session' ? iso(p.expiresAt) : null, passwordSet: await passwordSet(c.var.deps.db),
    }, 200);
  });

  app.openapi(createRoute({
    method: 'post', path: '/auth/password', tags, request: jsonBody(SetPassword),
    description: 'Set or change the admin password. With the admin token it just sets it (this is how the first password is set, or a forgotten one reset); signed in with a session, currentPassword is required; API tokens get 403. Other sessions are signed out.',
    responses: { 200: ok(Ok), ...errors },
  }), async (c) => {
    const { password, currentPassword } = c.req.valid('json');
    const db = c.var.deps.db;
    const p = c.var.principal;
    // the password is a person's credential: set by the admin token or by that person signed in, never by automation
    if (p.kind === 'api-token') throw new ApiError('forbidden', 'API tokens cannot set the admin password; use the admin token or sign in', { authorization: 'is an API token' });
    if (p.kind === 'session') {
      if (!currentPassword) throw invalid('currentPassword', 'is required to change the password');
      const [cred] = await db.select().from(adminCredentials).where(eq(adminCredentials.id, 1));
      if (!cred || !(await hasher(c).verify(currentPassword, cred.passwordHash))) throw invalid('currentPassword', 'is not correct');
    }
    const at = now(c);
    const passwordHash = await hasher(c).hash(password);
    await db.batch([
      db.insert(adminCredentials).values({ id: 1, passwordHash, updatedAt: at })
        .onConflictDoUpdate({ target: adminCredentials.id, set: { passwordHash, updatedAt: at } }),
      p.kind === 'session' ? db.delete(sessions).where(ne(sessions.id, p.sessionId)) : db.delete(sessions),
    ]);
    return c.json({ ok: true }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/auth/tokens', tags, responses: { 200: ok(list(ApiToken)), ...errors } }), async (c) => {
    const rows = await c.var.deps.db.select().from(apiTokens).orderBy(asc(apiTokens.id));
    return c.json({ items: rows.map(tokenView), nextCursor: null }, 200);
  });

  app.openapi(createRoute({
    method: 'post', path: '/auth/tokens', tags, request: jsonBody(ApiTokenCreate),
    description: 'Create an API token for automation (Authorization: Bearer …). The token is in this answer only.',
    responses: { 201: ok(ApiTokenCreated, 'Created (shown once)'), ...errors },
  }), async (c) => {
    const { name, scope, expiresInDays } = c.req.valid('json');
    const p = c.var.principal;
    const at = now(c);
    let expiresAt = expiresInDays ? at + expiresInDays * 86_400_000 : null;
    if (p.kind === 'api-token' && p.expiresAt != null) expiresAt = Math.min(expiresAt ?? p.expiresAt, p.expiresAt); // never outlives its maker
    const token = randomToken('lbt');
    const [row] = await c.var.deps.db.insert(apiTokens).values({
      name, scope, expiresAt, parentId: p.kind === 'api-token' ? p.tokenId : null, tokenHash: await sha256Hex(token), createdAt: at,
    }).returning();
    return c.json({ ...tokenView(row), token }, 201);
  });

  app.openapi(createRoute({
    method: 'delete', path: '/auth/tokens/{id}', tags, request: { params: IdParam },
    description: 'Revoke an API token and every token made with it: they are refused (401) from now on. The rows stay for the record.',
    responses: { 200: ok(ApiToken), ...errors },
  }), async (c) => {
    const { id } = c.req.valid('param');
    const db = c.var.deps.db;
    const at = now(c);
    // the token and everything minted with it, however deep
    await db.run(sql`WITH RECURSIVE made(id) AS (SELECT id FROM api_tokens WHERE parent_id = ${id} UNION SELECT t.id FROM api_tokens t JOIN made ON t.parent_id = made.id)
      UPDATE api_tokens SET revoked_at = ${at} WHERE revoked_at IS NULL AND id IN (SELECT id FROM made)`);
    const [row] = await db.update(apiTokens).set({ revokedAt: at }).where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt))).returning();
    if (row) return c.json(tokenView(row), 200);
    const [cur] = await db.select().from(apiTokens).where(eq(apiTokens.id, id));
    if (!cur) throw notFound(`API token ${id}`);
    return c.json(tokenView(cur), 200);
  });
}


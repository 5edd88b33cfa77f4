// Admin sign-in (password → session cookie), sign-out, the session probe, the password, API tokens.
// The work is in services/admin-password.ts, sessions.ts, sign-in-limits.ts and api-tokens.ts.
import { createRoute } from '@hono/zod-openapi';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { ApiToken, ApiTokenCreate, ApiTokenCreated, IdParam, Login, Ok, SessionInfo, SetPassword, list } from '../contract/api.ts';
import { SESSION_COOKIE, authenticate, checkSessionWrite, csrfTokenFor, sameOrigin } from '../lib/auth.ts';
import { ApiError, invalid } from '../lib/errors.ts';
import { type App, type Ctx, errors, iso, jsonBody, now, ok } from '../lib/http.ts';
import type { PasswordHasher } from '../lib/password.ts';
import { adminPasswordIsSet, checkAdminPassword, defaultHasher, setAdminPassword } from '../services/admin-password.ts';
import { LIFEBOAT_VERSION } from '../../../protocol/src/version.ts';
import { createApiToken, listApiTokens, removeRevokedApiToken, revokeApiToken } from '../services/api-tokens.ts';
import { createSession, endSession } from '../services/sessions.ts';
import { countSignInAttempt, forgetSignInAttempt } from '../services/sign-in-limits.ts';

const tags = ['auth'];
const hasher = (c: Ctx): PasswordHasher => c.var.deps.passwords ?? defaultHasher;

/** https as the browser sees it: the request URL, or X-Forwarded-Proto from a trusted proxy. */
function isHttps(c: Ctx): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return c.var.deps.config.trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

/** The client for rate limiting: the last X-Forwarded-For hop from a trusted proxy, else the connection's peer. */
function clientKey(c: Ctx): string {
  const d = c.var.deps;
  if (d.config.trustProxy) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (hops.length) return `ip:${hops[hops.length - 1]}`;
  }
  return `ip:${d.clientAddress?.(c) ?? 'unknown'}`;
}

export function registerAuth(app: App) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/login',
      tags,
      // before the body is read: a page of another site gets 403, not a hint about the body it sent
      middleware: [sameOrigin],
      request: jsonBody(Login),
      security: [],
      description: `Sign in with the admin password. Sets the HttpOnly session cookie \`${SESSION_COOKIE}\` and answers the CSRF token to send as X-CSRF-Token on writes. Failed attempts are limited per client (429 with Retry-After).`,
      responses: {
        200: ok(SessionInfo, 'Signed in'),
        ...errors,
        429: { description: 'Too many failed sign-ins', content: errors[400].content },
      },
    }),
    async (c) => {
      const { password } = c.req.valid('json');
      const { db, config } = c.var.deps;
      const at = now(c);
      const key = clientKey(c);
      const retry = await countSignInAttempt(db, key, config, at);
      if (retry !== null) {
        c.header('Retry-After', String(retry));
        throw new ApiError('rate_limited', `too many failed sign-ins; try again in ${retry} s (API tokens still work)`, {
          password: 'too many failed attempts; wait and try again',
        });
      }
      const check = await checkAdminPassword(db, hasher(c), password);
      if (check === 'unset')
        throw new ApiError(
          'unauthorized',
          'no admin password is set yet: set LIFEBOAT_ADMIN_PASSWORD, or POST /api/v1/auth/password with the admin token',
          { password: 'is not set up yet' },
        );
      if (check === 'wrong') throw new ApiError('unauthorized', 'the password is not correct', { password: 'is not correct' });
      await forgetSignInAttempt(db, key);
      const { token, expiresAt } = await createSession(db, config.sessionTtlMs, c.req.header('user-agent'), at);
      setCookie(c, SESSION_COOKIE, token, {
        httpOnly: true,
        sameSite: 'Strict',
        secure: isHttps(c),
        path: '/',
        maxAge: Math.floor(config.sessionTtlMs / 1000),
      });
      return c.json(
        {
          authenticated: true,
          method: 'session' as const,
          csrfToken: await csrfTokenFor(token),
          expiresAt: iso(expiresAt),
          passwordSet: true,
          version: LIFEBOAT_VERSION,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/logout',
      tags,
      security: [],
      description:
        'Sign out: ends the session of the cookie (if any) and clears the cookie. With a live session it is a write like any other: same origin and the X-CSRF-Token header (403 otherwise, the session stays).',
      responses: { 200: ok(Ok), ...errors },
    }),
    async (c) => {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie) {
        // an expired or unknown cookie is no session to protect: it is just cleared (always 200)
        const principal = await authenticate(c).catch((e) => {
          if (e instanceof ApiError) return null;
          throw e;
        });
        // another site must not be able to sign the admin out (a forced logout is the first step of a login CSRF)
        if (principal?.kind === 'session') await checkSessionWrite(c, principal.csrfToken);
        await endSession(c.var.deps.db, cookie);
      }
      deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict', secure: isHttps(c) });
      return c.json({ ok: true }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/auth/session',
      tags,
      security: [],
      description: 'Who is signed in. Never 401: answers authenticated=false without (valid) credentials, and whether a password is set.',
      responses: { 200: ok(SessionInfo), ...errors },
    }),
    async (c) => {
      let p = null;
      try {
        p = await authenticate(c);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
      return c.json(
        {
          authenticated: !!p,
          method: p?.kind ?? null,
          csrfToken: p?.kind === 'session' ? p.csrfToken : null,
          expiresAt: p?.kind === 'session' ? iso(p.expiresAt) : null,
          passwordSet: await adminPasswordIsSet(c.var.deps.db),
          // the server's version, to whoever is signed in (Settings shows it)
          version: p ? LIFEBOAT_VERSION : null,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/password',
      tags,
      request: jsonBody(SetPassword),
      description:
        'Set or change the admin password. With the admin token it just sets it (this is how the first password is set, or a forgotten one reset); signed in with a session, currentPassword is required; API tokens get 403. Other sessions are signed out.',
      responses: { 200: ok(Ok), ...errors },
    }),
    async (c) => {
      const { password, currentPassword } = c.req.valid('json');
      const db = c.var.deps.db;
      const p = c.var.principal;
      // the password is a person's credential: set by the admin token or by that person signed in, never by automation
      if (p.kind === 'api-token')
        throw new ApiError('forbidden', 'API tokens cannot set the admin password; use the admin token or sign in', {
          authorization: 'is an API token',
        });
      if (p.kind === 'session') {
        if (!currentPassword) throw invalid('currentPassword', 'is required to change the password');
        if ((await checkAdminPassword(db, hasher(c), currentPassword)) !== 'ok') throw invalid('currentPassword', 'is not correct');
      }
      await setAdminPassword(db, hasher(c), password, p.kind === 'session' ? p.sessionId : null, now(c));
      return c.json({ ok: true }, 200);
    },
  );

  app.openapi(createRoute({ method: 'get', path: '/auth/tokens', tags, responses: { 200: ok(list(ApiToken)), ...errors } }), async (c) => {
    return c.json({ items: await listApiTokens(c.var.deps.db), nextCursor: null }, 200);
  });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/tokens',
      tags,
      request: jsonBody(ApiTokenCreate),
      description: 'Create an API token for automation (Authorization: Bearer …). The token is in this answer only.',
      responses: { 201: ok(ApiTokenCreated, 'Created (shown once)'), ...errors },
    }),
    async (c) => {
      return c.json(await createApiToken(c.var.deps.db, c.req.valid('json'), c.var.principal, now(c)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/auth/tokens/{id}',
      tags,
      request: { params: IdParam },
      description: 'Revoke an API token and every token made with it: they are refused (401) from now on. The rows stay for the record.',
      responses: { 200: ok(ApiToken), ...errors },
    }),
    async (c) => {
      return c.json(await revokeApiToken(c.var.deps.db, c.req.valid('param').id, now(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/auth/tokens/{id}/record',
      tags,
      request: { params: IdParam },
      description: 'Remove a revoked API token from the list. An active token is refused (409): revoke it first.',
      responses: { 200: ok(Ok), ...errors },
    }),
    async (c) => {
      await removeRevokedApiToken(c.var.deps.db, c.req.valid('param').id);
      return c.json({ ok: true }, 200);
    },
  );
}

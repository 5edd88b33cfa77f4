// Sign-in, sessions, CSRF, rate limiting, API tokens, node revocation and host key re-pinning
// against the real app over a real libSQL file DB.
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { ADMIN, joinNode, makeJob, makeTarget, startControl, type TestControl } from '../helpers/control.ts';
import { createPasswordHasher } from '../../functions/src/lib/password.ts';
import { nodePasswordHasher } from '../../functions/src/password-node.ts';
import { inlineScriptHashes, securityHeaders } from '../../functions/src/headers.ts';
import { Hono } from 'hono';
import { claimedTarget, type ApiErrorBody } from '../helpers/api.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { PROXY_HOST, startProxy, type Proxy } from '../helpers/nginx.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let ctl: TestControl;
let peer = '203.0.113.7';
afterEach(() => ctl?.close());

const PW = 'correct horse battery staple';

async function start(over: Record<string, unknown> = {}) {
  ctl = await startControl({ loginMaxFailures: 3, loginWindowMs: 60_000, ...over }, { clientAddress: () => peer });
  return ctl;
}

/** A raw request (no admin token) with an optional cookie and headers. */
async function raw(
  method: string,
  path: string,
  opts: { body?: unknown; cookie?: string; headers?: Record<string, string>; url?: string } = {},
) {
  const res = await ctl.app.request(`${opts.url ?? 'http://localhost'}/api/v1${path}`, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.cookie ? { cookie: `lifeboat_session=${opts.cookie}` } : {}),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

function sessionCookie(headers: Headers): { value: string; attrs: string } {
  const set = headers.get('set-cookie') ?? '';
  const m = /lifeboat_session=([^;]*)(.*)$/.exec(set);
  if (!m) throw new Error(`no session cookie in ${set}`);
  return { value: m[1], attrs: m[2] };
}

async function login(password = PW, headers: Record<string, string> = {}, url?: string) {
  return raw('POST', '/auth/login', { body: { password }, headers, url });
}

describe('password hashing', () => {
  it('scrypt: pure JS (workerd) and node:crypto produce interchangeable hashes', async () => {
    const js = createPasswordHasher(undefined, { logN: 10, r: 8, p: 1 });
    const native = nodePasswordHasher();
    const h = await js.hash('pässword');
    expect(h).toMatch(/^scrypt\$10\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await native.verify('pässword', h)).toBe(true);
    expect(await native.verify('pässword'.normalize('NFD'), h)).toBe(true);
    expect(await native.verify('password', h)).toBe(false);
    const full = await native.hash('x'.repeat(12));
    expect(full).toMatch(/^scrypt\$15\$8\$3\$/); // the production work factor (OWASP: N=2^15, r=8, p=3)
    expect(await js.verify('x'.repeat(12), full)).toBe(true);
    expect(await js.verify('x', 'scrypt$99$8$1$AAAA$AAAA')).toBe(false);
  });
});

describe('sign-in', () => {
  it('the first password is set with the admin token; the password is stored as scrypt, never plain', async () => {
    await start();
    const before = await raw('GET', '/auth/session');
    expect(before.body).toEqual({
      authenticated: false,
      method: null,
      csrfToken: null,
      expiresAt: null,
      passwordSet: false,
      version: null,
    });
    const none = await login();
    expect(none.status).toBe(401);
    expect(none.body.error.fields.password).toMatch(/not set up/);
    const short = await ctl.api<ApiErrorBody>('POST', '/auth/password', { password: 'short' });
    expect(short.status).toBe(400);
    expect(short.body.error.fields.password).toBeTruthy();
    expect((await ctl.api('POST', '/auth/password', { password: PW })).status).toBe(200);
    const rows = await ctl.db.all<{ password_hash: string }>(sql`SELECT password_hash FROM admin_credentials`);
    expect(rows).toHaveLength(1);
    expect(rows[0].password_hash).toMatch(/^scrypt\$/);
    expect(rows[0].password_hash).not.toContain(PW);
    expect((await raw('GET', '/auth/session')).body.passwordSet).toBe(true);
  });

  it('login sets an HttpOnly SameSite=Strict cookie (Secure only over https or a trusted proxy), logout ends it', async () => {
    await start();
    await ctl.api('POST', '/auth/password', { password: PW });
    const wrong = await login('nope');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.fields.password).toBe('is not correct');
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const ok = await login();
    expect(ok.status).toBe(200);
    const c = sessionCookie(ok.headers);
    expect(c.attrs).toMatch(/HttpOnly/);
    expect(c.attrs).toMatch(/SameSite=Strict/);
    expect(c.attrs).toMatch(/Path=\//);
    expect(c.attrs).not.toMatch(/Secure/);
    expect(ok.body).toEqual({
      authenticated: true,
      method: 'session',
      csrfToken: expect.any(String),
      expiresAt: expect.any(String),
      passwordSet: true,
      version: expect.any(String),
    });
    expect(JSON.stringify(ok.body)).not.toContain(c.value);
    // The session is stored hashed.
    const [s] = await ctl.db.all<{ token_hash: string }>(sql`SELECT token_hash FROM sessions`);
    expect(s.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.token_hash).not.toBe(c.value);

    const session = await raw('GET', '/auth/session', { cookie: c.value });
    expect(session.body).toMatchObject({ authenticated: true, method: 'session', csrfToken: ok.body.csrfToken });
    expect((await raw('GET', '/targets', { cookie: c.value })).status).toBe(200);

    expect(sessionCookie((await login(PW, {}, 'https://lifeboat.example')).headers).attrs).toMatch(/Secure/);
    // X-Forwarded-Proto is ignored unless a proxy is trusted.
    expect(sessionCookie((await login(PW, { 'x-forwarded-proto': 'https' })).headers).attrs).not.toMatch(/Secure/);

    // signing out is a write: without the CSRF header (or from another site) it is refused, the session stays
    const forced = await raw('POST', '/auth/logout', { cookie: c.value });
    expect(forced.status).toBe(403);
    expect(forced.body.error.fields['X-CSRF-Token']).toBeTruthy();
    expect(
      (
        await raw('POST', '/auth/logout', {
          cookie: c.value,
          headers: { 'x-csrf-token': ok.body.csrfToken, origin: 'https://evil.example' },
        })
      ).status,
    ).toBe(403);
    expect((await raw('GET', '/targets', { cookie: c.value })).status).toBe(200);
    // a body-less write must name its origin (browsers always send Origin on POST)
    const anonymous = await raw('POST', '/auth/logout', { cookie: c.value, headers: { 'x-csrf-token': ok.body.csrfToken } });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.error.fields.Origin).toBe('is missing');
    const out = await raw('POST', '/auth/logout', {
      cookie: c.value,
      headers: { 'x-csrf-token': ok.body.csrfToken, origin: 'http://localhost' },
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/lifeboat_session=;.*Max-Age=0/);
    expect((await raw('GET', '/targets', { cookie: c.value })).status).toBe(401);
    expect((await raw('GET', '/auth/session', { cookie: c.value })).body.authenticated).toBe(false);
    // signing out with a cookie that is no longer a session just clears it
    const stale = await raw('POST', '/auth/logout', { cookie: c.value });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('set-cookie')).toMatch(/lifeboat_session=;.*Max-Age=0/);
  });

  it('behind a trusted proxy: Secure from X-Forwarded-Proto, rate limit per X-Forwarded-For client', async () => {
    await start({ trustProxy: true });
    await ctl.api('POST', '/auth/password', { password: PW });
    expect(sessionCookie((await login(PW, { 'x-forwarded-proto': 'https' })).headers).attrs).toMatch(/Secure/);
    for (let i = 0; i < 3; i++) expect((await login('bad', { 'x-forwarded-for': '198.51.100.1, 192.0.2.9' })).status).toBe(401);
    expect((await login(PW, { 'x-forwarded-for': '198.51.100.1, 192.0.2.9' })).status).toBe(429);
    expect((await login(PW, { 'x-forwarded-for': '198.51.100.1, 192.0.2.10' })).status).toBe(200);
  });

  it('session expires after its lifetime', async () => {
    await start({ sessionTtlMs: 60_000 });
    await ctl.api('POST', '/auth/password', { password: PW });
    ctl.clock.now = Date.now();
    const c = sessionCookie((await login()).headers);
    ctl.clock.now += 61_000;
    const r = await raw('GET', '/jobs', { cookie: c.value });
    expect(r.status).toBe(401);
    expect(r.body.error.message).toMatch(/expired/);
  });

  it('failed sign-ins are rate-limited per client (429 + Retry-After), counted in the DB, reset after the window', async () => {
    await start();
    await ctl.api('POST', '/auth/password', { password: PW });
    ctl.clock.now = Date.now();
    for (let i = 0; i < 3; i++) expect((await login('guess' + i)).status).toBe(401);
    const limited = await login(); // even the right password, until the window ends
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.body.error.fields.password).toBeTruthy();
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const [row] = await ctl.db.all<{ failures: number }>(sql`SELECT failures FROM login_attempts WHERE key = ${'ip:' + peer}`);
    expect(row.failures).toBe(3); // the refused attempt was not evaluated: it counts nowhere
    // The admin token is not affected.
    expect((await ctl.api('GET', '/targets')).status).toBe(200);
    // Another client can still sign in.
    peer = '203.0.113.8';
    expect((await login()).status).toBe(200);
    peer = '203.0.113.7';
    ctl.clock.now += 61_000;
    expect((await login()).status).toBe(200);
    // A success clears the client's counter.
    expect(await ctl.db.all<{ failures: number }>(sql`SELECT failures FROM login_attempts WHERE key = ${'ip:' + peer}`)).toEqual([]);
    // Stale windows of other clients are dropped as attempts come in.
    ctl.clock.now += 61_000;
    await login('bad');
    expect((await ctl.db.all<{ key: string }>(sql`SELECT key FROM login_attempts ORDER BY key`)).map((r) => r.key)).toEqual([
      '*',
      'ip:' + peer,
    ]);
  });

  it('a global ceiling stops guessing spread over many clients, for one short window', async () => {
    await start({ loginMaxFailures: 1, loginWindowMs: 15 * 60_000 });
    await ctl.api('POST', '/auth/password', { password: PW });
    ctl.clock.now = Date.now();
    for (let i = 0; i < 10; i++) {
      peer = `192.0.2.${i}`;
      expect((await login('bad')).status).toBe(401);
    }
    peer = '192.0.2.200';
    const r = await login('bad');
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // the refused client kept its own attempt: a minute later it signs in
    ctl.clock.now += 61_000;
    expect((await login()).status).toBe(200);
  });

  it('one client hammering the sign-in does not lock out everyone else', async () => {
    await start({ loginMaxFailures: 3 });
    await ctl.api('POST', '/auth/password', { password: PW });
    ctl.clock.now = Date.now();
    peer = '198.51.100.66';
    for (let i = 0; i < 3; i++) expect((await login('guess' + i)).status).toBe(401);
    for (let i = 0; i < 60; i++) expect((await login('guess')).status).toBe(429); // refused, not evaluated
    const [g] = await ctl.db.all<{ failures: number }>(sql`SELECT failures FROM login_attempts WHERE key = '*'`);
    expect(g.failures).toBe(3);
    peer = '198.51.100.7';
    expect((await login()).status).toBe(200);
  });

  it('cookie-authenticated writes need X-CSRF-Token and a same-origin request; Bearer requests do not', async () => {
    await start();
    await ctl.api('POST', '/auth/password', { password: PW });
    const ok = await login();
    const cookie = sessionCookie(ok.headers).value;
    const body = {
      name: 'csrf-t',
      sshHost: 'backup.example.org',
      sshPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      backupRoot: 'backup/x',
    };
    const noHeader = await raw('POST', '/targets', { cookie, body });
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error.fields['X-CSRF-Token']).toBeTruthy();
    const wrong = await raw('POST', '/targets', { cookie, body, headers: { 'x-csrf-token': 'x'.repeat(43) } });
    expect(wrong.status).toBe(403);
    const csrf = { 'x-csrf-token': ok.body.csrfToken };
    // What a page of another site can send without a preflight: a form (or text) body. Refused by
    // Hono's CSRF middleware, whatever else the request carries (here even the CSRF token).
    const form = (headers: Record<string, string>, type = 'application/x-www-form-urlencoded') =>
      ctl.app.request('http://localhost/api/v1/targets', {
        method: 'POST',
        headers: { cookie: `lifeboat_session=${cookie}`, 'content-type': type, ...csrf, ...headers },
        body: new URLSearchParams(body).toString(),
      });
    const evil = await form({ origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as ApiErrorBody).error.fields).toEqual({ Origin: 'does not match this server' });
    expect((await form({ 'sec-fetch-site': 'cross-site' }, 'text/plain')).status).toBe(403);
    expect((await form({ origin: 'null' }, 'multipart/form-data; boundary=x')).status).toBe(403); // a sandboxed page
    expect((await form({})).status).toBe(403); // no Origin at all
    expect(await ctl.db.all<{ id: number }>(sql`SELECT id FROM targets`)).toEqual([]);
    // same origin: the middleware lets it through, to the route, which takes JSON only (415)
    expect((await form({ origin: 'http://localhost' })).status).toBe(415);
    expect((await form({ 'sec-fetch-site': 'same-origin' })).status).toBe(415);
    const good = await raw('POST', '/targets', { cookie, body, headers: { ...csrf, origin: 'http://localhost' } });
    expect(good.status).toBe(201);
    // GET needs no CSRF header; Bearer writes need none either, nor an Origin, whatever their body.
    expect((await raw('GET', `/targets/${good.body.id}`, { cookie })).status).toBe(200);
    expect((await ctl.api('PATCH', `/targets/${good.body.id}`, { description: 'by token' })).status).toBe(200);
    const bearerNoBody = await raw('POST', '/nodes/join-tokens', { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(bearerNoBody.status).toBe(201);
    // Sign-in from another site is refused too (a login CSRF would sign the admin into the attacker's session).
    const crossLogin = await ctl.app.request('http://localhost/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: JSON.stringify({ password: PW }),
    });
    expect(crossLogin.status).toBe(403);
    expect(((await crossLogin.json()) as ApiErrorBody).error.fields).toEqual({ Origin: 'does not match this server' });
    expect(crossLogin.headers.get('set-cookie')).toBeNull();
  });

  it('changing the password with a session needs the current one and signs out the other sessions', async () => {
    await start();
    await ctl.api('POST', '/auth/password', { password: PW });
    const a = await login();
    const b = await login();
    const ca = sessionCookie(a.headers).value,
      cb = sessionCookie(b.headers).value;
    const h = { 'x-csrf-token': a.body.csrfToken };
    const missing = await raw('POST', '/auth/password', { cookie: ca, headers: h, body: { password: 'another long password' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields.currentPassword).toBeTruthy();
    const wrong = await raw('POST', '/auth/password', {
      cookie: ca,
      headers: h,
      body: { password: 'another long password', currentPassword: 'nope' },
    });
    expect(wrong.status).toBe(400);
    expect(
      (await raw('POST', '/auth/password', { cookie: ca, headers: h, body: { password: 'another long password', currentPassword: PW } }))
        .status,
    ).toBe(200);
    expect((await raw('GET', '/jobs', { cookie: ca })).status).toBe(200);
    expect((await raw('GET', '/jobs', { cookie: cb })).status).toBe(401);
    expect((await login()).status).toBe(401);
    expect((await login('another long password')).status).toBe(200);
  });
});

describe('behind the nginx example (packaging/nginx/lifeboat.conf), the real Node server', () => {
  let srv: TestServer | null = null;
  let proxy: Proxy | null = null;
  let confDir: string | null = null;
  afterEach(async () => {
    await proxy?.stop();
    await srv?.stop();
    if (confDir) rmSync(confDir, { recursive: true, force: true });
  });

  it('with LIFEBOAT_TRUST_PROXY=1 from server.conf: Secure cookies over its TLS, rate limits per real client (a forged X-Forwarded-For does not help), same-origin writes', async () => {
    confDir = mkdtempSync(join(tmpdir(), 'lifeboat-proxy-conf-'));
    const conf = join(confDir, 'server.conf');
    // the settings the example's header comment asks for; the environment's sign-in limit (2) wins over the file's (1)
    writeFileSync(
      conf,
      [
        '# behind nginx',
        'LIFEBOAT_TRUST_PROXY=1',
        `LIFEBOAT_PUBLIC_URL=https://${PROXY_HOST}`,
        'LIFEBOAT_LOGIN_MAX_FAILURES=1',
        `LIFEBOAT_ADMIN_PASSWORD="${PW}"`,
        'LIFEBOAT_LOCAL_RUNNER=0',
      ].join('\n'),
    );
    srv = await startServer({ LIFEBOAT_CONFIG: conf, LIFEBOAT_LOGIN_MAX_FAILURES: '2' });
    expect(srv.output()).toContain(`settings from ${conf}`);
    proxy = await startProxy(Number(new URL(srv.url).port));
    const login = (password: string, localAddress: string, headers: Record<string, string> = {}) =>
      proxy!.request('POST', '/auth/login', { body: { password }, localAddress, headers });

    const ok = await login(PW, '127.0.0.2');
    expect(ok.status).toBe(200);
    const setCookie = String(ok.headers['set-cookie']);
    expect(setCookie).toMatch(/lifeboat_session=[^;]+;.*Secure/);
    const cookie = /lifeboat_session=([^;]+)/.exec(setCookie)![1];

    // 127.0.0.3 guesses, each time claiming another address: nginx appends the real one, which counts
    for (let i = 0; i < 2; i++) expect((await login('guess', '127.0.0.3', { 'x-forwarded-for': `198.51.100.${i}` })).status).toBe(401);
    expect((await login(PW, '127.0.0.3', { 'x-forwarded-for': '198.51.100.9' })).status).toBe(429);
    expect((await login(PW, '127.0.0.2')).status).toBe(200); // another client is not locked out

    // a write with the session: the browser's Origin is the public https URL, which the forwarded host matches
    const csrf = (ok.body as { csrfToken: string }).csrfToken;
    const headers = { cookie: `lifeboat_session=${cookie}`, 'x-csrf-token': csrf };
    expect((await proxy.request('POST', '/auth/logout', { headers: { ...headers, origin: 'https://evil.example' } })).status).toBe(403);
    expect((await proxy.request('POST', '/auth/logout', { headers: { ...headers, origin: `https://${PROXY_HOST}` } })).status).toBe(200);
  }, 90_000);
});

describe('API tokens', () => {
  it('create (shown once), use, list without the secret, revoke; the admin token keeps working', async () => {
    await start();
    const created = await ctl.api('POST', '/auth/tokens', { name: 'ci', scope: 'admin' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ scope: 'admin', expiresAt: null });
    const token = created.body.token as string;
    expect(token).toMatch(/^lbt_[\w-]{43}$/);
    const [row] = await ctl.db.all<{ token_hash: string }>(sql`SELECT token_hash FROM api_tokens`);
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    const listed = await ctl.api('GET', '/auth/tokens');
    expect(listed.body.items).toEqual([expect.objectContaining({ id: created.body.id, name: 'ci', scope: 'admin', revoked: false })]);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    const byToken = await raw('GET', '/jobs', { headers: { authorization: `Bearer ${token}` } });
    expect(byToken.status).toBe(200);
    expect((await raw('GET', '/auth/session', { headers: { authorization: `Bearer ${token}` } })).body.method).toBe('api-token');
    expect((await ctl.api('GET', '/auth/tokens')).body.items[0].lastUsedAt).not.toBeNull();
    // Token writes need no CSRF header.
    expect((await raw('POST', '/nodes/join-tokens', { headers: { authorization: `Bearer ${token}` } })).status).toBe(201);
    const revoked = await ctl.api('DELETE', `/auth/tokens/${created.body.id}`);
    expect(revoked.body).toMatchObject({ revoked: true });
    const after = await raw('GET', '/jobs', { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/revoked/);
    expect((await ctl.api('DELETE', '/auth/tokens/999')).status).toBe(404);
    expect((await raw('GET', '/jobs', { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
    expect((await ctl.api<ApiErrorBody>('POST', '/auth/tokens', { name: '' })).body.error.fields.name).toBeTruthy();
  });
});

describe('API tokens: removing revoked ones from the list', () => {
  it('a revoked token can be removed (and stays refused); an active one is refused with 409, an unknown one 404', async () => {
    await start();
    const a = (await ctl.api('POST', '/auth/tokens', { name: 'old', scope: 'admin' })).body;
    const b = (await ctl.api('POST', '/auth/tokens', { name: 'live', scope: 'read' })).body;
    const active = await ctl.api<ApiErrorBody>('DELETE', `/auth/tokens/${a.id}/record`);
    expect(active.status).toBe(409);
    expect(active.body.error.message).toMatch(/active: revoke it/);
    expect((await raw('GET', '/jobs', { headers: { authorization: `Bearer ${a.token}` } })).status).toBe(200); // unchanged
    expect((await ctl.api('DELETE', `/auth/tokens/${a.id}`)).body.revoked).toBe(true);
    // a read-scoped token may not manage tokens
    expect((await raw('DELETE', `/auth/tokens/${a.id}/record`, { headers: { authorization: `Bearer ${b.token}` } })).status).toBe(403);
    expect((await ctl.api('DELETE', `/auth/tokens/${a.id}/record`)).status).toBe(200);
    expect((await ctl.api('GET', '/auth/tokens')).body.items.map((t: { name: string }) => t.name)).toEqual(['live']);
    const gone = await raw('GET', '/jobs', { headers: { authorization: `Bearer ${a.token}` } });
    expect(gone.status).toBe(401); // an unknown token now: still refused
    expect((await ctl.api('DELETE', `/auth/tokens/${a.id}/record`)).status).toBe(404);
    expect((await ctl.api('DELETE', '/auth/tokens/abc/record')).status).toBe(400);
  });

  it('the session probe names the server version to whoever is signed in, and to nobody else', async () => {
    await start();
    const anon = await raw('GET', '/auth/session');
    expect(anon.body).toMatchObject({ authenticated: false, version: null });
    const admin = await raw('GET', '/auth/session', { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(admin.body.version).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });
});

describe('API token scopes', () => {
  it('read, operate, admin: each does what its scope covers and gets 403 naming scope beyond it', async () => {
    await start();
    const joined = await joinNode(ctl, 'n1', ['tank', 'tank/data']);
    const t = await makeTarget(ctl);
    const job = await makeJob(ctl, t.id);
    const mint = async (scope?: string) =>
      (await ctl.api('POST', '/auth/tokens', { name: `t-${scope ?? 'default'}`, ...(scope ? { scope } : {}) })).body;
    const as = (tok: string) => (method: string, path: string, body?: unknown) =>
      raw(method, path, { body, headers: { authorization: `Bearer ${tok}` } });
    const dflt = await mint();
    expect(dflt.scope).toBe('read'); // least privilege unless asked
    const read = as(dflt.token),
      operate = as((await mint('operate')).token),
      admin = as((await mint('admin')).token);
    expect((await read('GET', '/jobs')).status).toBe(200);
    expect((await ctl.app.request('http://localhost/api/v1/metrics', { headers: { authorization: `Bearer ${dflt.token}` } })).status).toBe(
      200,
    );
    const runByRead = await read('POST', `/jobs/${job.id}/run`);
    expect(runByRead.status).toBe(403);
    expect(runByRead.body.error.fields.scope).toMatch(/is read, needs operate/);
    expect((await read('GET', '/auth/tokens')).status).toBe(403);
    const run = await operate('POST', `/jobs/${job.id}/run`);
    expect(run.status).toBe(202);
    expect((await operate('POST', `/events/${run.body.eventId}/cancel`)).status).toBe(200);
    expect((await operate('PATCH', `/jobs/${job.id}`, { keepLast: 9 })).status).toBe(403);
    expect((await operate('POST', '/auth/tokens', { name: 'escalate', scope: 'admin' })).status).toBe(403);
    expect((await admin('PATCH', `/jobs/${job.id}`, { keepLast: 9 })).status).toBe(200);
    // the password is a person's: not even an admin-scoped token sets it
    const pw = await admin('POST', '/auth/password', { password: 'a long enough password' });
    expect(pw.status).toBe(403);
    expect(joined.id).toBeGreaterThan(0);
  });

  it('expiry, and tokens minted with a token neither outlive it nor survive its revocation', async () => {
    await start();
    ctl.clock.now = Date.parse('2026-03-01T00:00:00Z');
    const parent = (await ctl.api('POST', '/auth/tokens', { name: 'parent', scope: 'admin', expiresInDays: 2 })).body;
    expect(parent.expiresAt).toBe('2026-03-03T00:00:00.000Z');
    const child = await raw('POST', '/auth/tokens', {
      body: { name: 'child', scope: 'read', expiresInDays: 30 },
      headers: { authorization: `Bearer ${parent.token}` },
    });
    expect(child.status).toBe(201);
    expect(child.body.expiresAt).toBe('2026-03-03T00:00:00.000Z'); // capped at its maker's
    const grandchild = await raw('POST', '/auth/tokens', {
      body: { name: 'grandchild', scope: 'admin' },
      headers: { authorization: `Bearer ${parent.token}` },
    });
    const useChild = () => raw('GET', '/jobs', { headers: { authorization: `Bearer ${child.body.token}` } });
    expect((await useChild()).status).toBe(200);
    ctl.clock.now = Date.parse('2026-03-03T00:00:01Z');
    const late = await useChild();
    expect(late.status).toBe(401);
    expect(late.body.error.message).toMatch(/expired/);
    ctl.clock.now = Date.parse('2026-03-01T01:00:00Z');
    expect((await ctl.api('DELETE', `/auth/tokens/${parent.id}`)).body.revoked).toBe(true);
    const listed = (await ctl.api('GET', '/auth/tokens')).body.items;
    expect(listed.filter((x) => ['child', 'grandchild'].includes(x.name)).map((x) => x.revoked)).toEqual([true, true]);
    expect((await raw('GET', '/jobs', { headers: { authorization: `Bearer ${grandchild.body.token}` } })).status).toBe(401);
  });
});

describe('runner identity', () => {
  it('a revoked node is refused (401) on every runner route; its queued work is cancelled', async () => {
    await start();
    const n = await joinNode(ctl, 'n1');
    const t = await makeTarget(ctl);
    const v = await ctl.api('POST', `/targets/${t.id}/validate`, { nodeId: n.id });
    expect(v.status).toBe(202);
    const r = await ctl.api('POST', `/nodes/${n.id}/revoke`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: n.id, revoked: true });
    for (const [path, body] of [
      ['/runner/claim', { max: 1, waitMs: 0 }],
      ['/runner/inventory', { zfsVersion: null }],
      [`/runner/events/${v.body.eventId}/progress`, {}],
    ] as const) {
      const res = await ctl.node<ApiErrorBody>(n.token, path, body);
      expect(res.status, path).toBe(401);
      expect(res.body.error.message).toMatch(/revoked/);
    }
    expect((await ctl.api('GET', `/events/${v.body.eventId}`)).body).toMatchObject({ status: 'cancelled' });
    expect((await ctl.api('GET', '/nodes')).body.items[0].revoked).toBe(true);
    // Work can no longer be queued on it.
    expect((await ctl.api('POST', `/targets/${t.id}/validate`, { nodeId: n.id })).status).toBe(400);
    expect((await ctl.api('POST', `/nodes/${n.id}/revoke`)).body.revoked).toBe(true); // again: same answer
    expect((await ctl.api('POST', '/nodes/999/revoke')).status).toBe(404);
  });
});

describe('host keys', () => {
  it('reset clears the pin, records a validate event in the history, and the next validation shows the new key to confirm', async () => {
    await start();
    const n = await joinNode(ctl, 'n1');
    const t = await makeTarget(ctl);
    const finishValidate = async (eventId: number, key: string, fp: string) => {
      const claim = await ctl.node(n.token, '/runner/claim', { max: 1, waitMs: 0 });
      expect(claim.body.events.map((e) => e.id)).toEqual([eventId]);
      const hostKey = claimedTarget(claim.body.events[0]).hostKey;
      await ctl.node(n.token, `/runner/events/${eventId}/finish`, { status: 'success', result: { hostKey: key, fingerprint: fp } });
      return hostKey;
    };
    const OLD = 'SHA256:' + 'o'.repeat(43);
    const NEW = 'SHA256:' + 'n'.repeat(43);
    const v = await ctl.api('POST', `/targets/${t.id}/validate`, {});
    expect(await finishValidate(v.body.eventId, 'old-key', OLD)).toBeNull();
    expect((await ctl.api('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: OLD })).body.hostKeyFingerprint).toBe(OLD);

    const reset = await ctl.api('POST', `/targets/${t.id}/host-key/reset`, {});
    expect(reset.status).toBe(202);
    const after = (await ctl.api('GET', `/targets/${t.id}`)).body;
    expect(after.hostKeyFingerprint).toBeNull();
    expect(after.nodeStatus[0].state).toBe('config-changed');
    const ev = (await ctl.api('GET', `/events/${reset.body.eventId}`)).body;
    expect(ev).toMatchObject({ kind: 'validate', trigger: 'host-key-reset', targetId: t.id, status: 'queued' });
    expect(ev.note).toContain(OLD);
    expect(await finishValidate(reset.body.eventId, 'new-key', NEW)).toBeNull(); // the runner accepts the new key
    // shown, not pinned, until an admin confirms it
    expect((await ctl.api('GET', `/targets/${t.id}`)).body).toMatchObject({ hostKeyFingerprint: null, pendingHostKeyFingerprint: NEW });
    const pinned = (await ctl.api('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: NEW })).body;
    expect(pinned.hostKeyFingerprint).toBe(NEW);
    expect(pinned.nodeStatus[0].state).toBe('ready');
    const [row] = await ctl.db.all<{ host_key: string | null }>(sql`SELECT host_key FROM targets`);
    expect(row.host_key).toBe('new-key');
    expect((await ctl.api('POST', '/targets/999/host-key/reset', {})).status).toBe(404);
    expect((await ctl.api<ApiErrorBody>('POST', `/targets/${t.id}/host-key/reset`, { nodeId: 'x' })).body.error.fields.nodeId).toBeTruthy();
  });
});

describe('security headers', () => {
  it('allows the inline bootstrap script of the built index.html by hash, nothing inline otherwise', async () => {
    const html = '<html><head><script type="module" src="/a.js"></script></head><body><script>\n  start();\n</script></body></html>';
    const hashes = await inlineScriptHashes(html);
    expect(hashes).toHaveLength(1);
    const { createHash } = await import('node:crypto');
    expect(hashes[0]).toBe(`'sha256-${createHash('sha256').update('\n  start();\n').digest('base64')}'`);
    const app = new Hono();
    app.use('*', await securityHeaders(html));
    app.get('/', (c) => c.text('ok'));
    const h = (await app.request('http://localhost/')).headers;
    expect(h.get('content-security-policy')).toBe(
      `default-src 'self'; script-src 'self' ${hashes[0]}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; ` +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('x-frame-options')).toBe('DENY');
    expect(h.get('referrer-policy')).toBe('no-referrer');
    expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(h.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(h.get('strict-transport-security')).toBeNull(); // the TLS proxy's (README, Security headers)
    // without a UI page (the Worker): scripts from the server itself only
    const bare = new Hono();
    bare.use('*', await securityHeaders(null));
    bare.get('/', (c) => c.text('ok'));
    expect((await bare.request('http://localhost/')).headers.get('content-security-policy')).toContain("script-src 'self'; ");
  });
});

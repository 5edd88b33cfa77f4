// The email channel on real parts: a real SMTP server (smtp-server, the sink nodemailer's authors
// keep) on 127.0.0.1 with a certificate made by openssl for this run, nodemailer in the server's
// own sender (functions/src/mail.ts), and the notification rules driven through the API.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { z } from '@hono/zod-openapi';
import type * as contract from '../../functions/src/contract/api.ts';
import { sendMail } from '../../functions/src/mail.ts';
import { createSecretBox } from '../../functions/src/lib/secrets.ts';
import { deliverNotifications, evaluateNotifications, sendersOf } from '../../functions/src/services/notifications.ts';
import { joinNode, makeJob, makeTarget, startControl, type TestControl } from '../helpers/control.ts';
import type { ApiErrorBody } from '../helpers/api.ts';

type Channel = z.infer<typeof contract.NotificationChannel>;
type Delivery = z.infer<typeof contract.NotificationDelivery>;

const USER = 'lifeboat-alerts';
const PASSWORD = 'smtp-password-never-shown-4d2c';
const T0 = Date.parse('2026-11-25T10:30:00Z');
const QUIET = { nodeSilentMs: 1000 * 3600_000 };

interface Mail {
  subject: string | undefined;
  text: string | undefined;
  event: unknown;
  delivery: unknown;
  from: string | undefined;
  to: string[];
  secure: boolean;
  user: string | undefined;
}

// One certificate for the run: SAN 127.0.0.1, valid for a day, never trusted by the system.
let certDir: string;
let cert: string;
let key: string;
beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'lifeboat-smtp-cert-'));
  const [keyFile, certFile] = [join(certDir, 'key.pem'), join(certDir, 'cert.pem')];
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  [key, cert] = [readFileSync(keyFile, 'utf8'), readFileSync(certFile, 'utf8')];
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

/** A real SMTP server; every accepted mail lands in `got`. */
async function sink(opts: Partial<SMTPServerOptions> = {}) {
  const got: Mail[] = [];
  const server = new SMTPServer({
    key,
    cert,
    logger: false,
    disableReverseLookup: true,
    onAuth(auth, _session, cb) {
      if (auth.username === USER && auth.password === PASSWORD) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const mail = await simpleParser(Buffer.concat(chunks));
        got.push({
          subject: mail.subject,
          text: mail.text,
          event: mail.headers.get('x-lifeboat-event'),
          delivery: mail.headers.get('x-lifeboat-delivery'),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          user: session.user as string | undefined,
        });
        cb();
      });
    },
    ...opts,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { got, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let ctl: TestControl;
let sinks: Awaited<ReturnType<typeof sink>>[];
beforeEach(async () => {
  ctl = await startControl({}, { mail: sendMail });
  ctl.clock.now = T0;
  sinks = [];
});
afterEach(async () => {
  ctl.close();
  await Promise.all(sinks.map((s) => s.close()));
});

const open = async (opts: Partial<SMTPServerOptions> = {}) => {
  const s = await sink(opts);
  sinks.push(s);
  return s;
};
const settings = (port: number, over: Record<string, unknown> = {}) => ({
  host: '127.0.0.1',
  port,
  security: 'starttls',
  username: USER,
  from: 'lifeboat@example.org',
  to: ['ops@example.org', 'oncall@example.org'],
  caPem: cert,
  ...over,
});
async function emailChannel(port: number, over: Record<string, unknown> = {}, secret: string | undefined = PASSWORD): Promise<Channel> {
  const r = await ctl.api<Channel, 'POST', string>('POST', '/notifications/channels', {
    name: 'mail',
    kind: 'email',
    email: settings(port, over),
    ...(secret === undefined ? {} : { secret }),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}
const test = async (id: number) => (await ctl.api<Delivery, 'POST', string>('POST', `/notifications/channels/${id}/test`)).body;

describe('email channel', () => {
  it('STARTTLS with AUTH to every address: the test mail arrives encrypted, signed in, with the event headers', async () => {
    const s = await open();
    const ch = await emailChannel(s.port);
    expect(ch).toMatchObject({
      kind: 'email',
      url: null,
      hasSecret: true,
      email: { host: '127.0.0.1', security: 'starttls', username: USER },
    });
    const d = await test(ch.id);
    expect(d).toMatchObject({ event: 'test', status: 'sent', attempts: 1, attemptLog: [{ ok: true, httpStatus: null, error: null }] });
    expect(s.got).toHaveLength(1);
    const m = s.got[0];
    expect(m).toMatchObject({ secure: true, user: USER, from: 'lifeboat@example.org', to: ['ops@example.org', 'oncall@example.org'] });
    expect(m).toMatchObject({ subject: 'Lifeboat: test notification for "mail"', event: 'test', delivery: String(d.id) });
    expect(m.text).toContain('the channel works');
  });

  it('implicit TLS (port 465 style) and plain SMTP to a relay', async () => {
    const tls = await open({ secure: true });
    expect((await test((await emailChannel(tls.port, { security: 'tls' })).id)).status).toBe('sent');
    expect(tls.got[0]).toMatchObject({ secure: true, user: USER });

    const relay = await open({ authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'] });
    const plain = await emailChannel(relay.port, { security: 'none', username: null, caPem: null }, undefined);
    expect((await test(plain.id)).status).toBe('sent');
    expect(relay.got[0]).toMatchObject({ secure: false, user: undefined });
  });

  it('never downgrades: starttls against a server without STARTTLS fails, and so does a certificate nobody trusts', async () => {
    const noTls = await open({ authOptional: true, disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
    const d = await test((await emailChannel(noTls.port)).id);
    expect(d.status).toBe('failed');
    expect(d.lastError).toMatch(/^SMTP: .*STARTTLS/);
    expect(noTls.got).toEqual([]);

    const s = await open();
    const untrusted = await test((await emailChannel(s.port, { caPem: null })).id);
    expect(untrusted.status).toBe('failed');
    expect(untrusted.lastError).toMatch(/^SMTP: .*(self-signed|certificate)/i);
    expect(s.got).toEqual([]);
  });

  it('a wrong password is a failed attempt whose error names the server answer, never the password', async () => {
    const s = await open();
    const ch = await emailChannel(s.port, {}, 'wrong-password-7c1e');
    const d = await test(ch.id);
    expect(d.status).toBe('failed');
    expect(d.lastError).toMatch(/^SMTP: .*535/);
    const text = JSON.stringify([
      d,
      (await ctl.api('GET', '/notifications/channels')).body,
      (await ctl.api('GET', '/notifications/deliveries')).body,
    ]);
    expect(text).not.toContain('wrong-password-7c1e');
    expect(text).not.toContain(PASSWORD);
    // PATCH the right one in: the next test goes through
    expect((await ctl.api('PATCH', `/notifications/channels/${ch.id}`, { secret: PASSWORD })).status).toBe(200);
    expect((await test(ch.id)).status).toBe('sent');
  });

  it('a failing job mails once, a recovery mails once', async () => {
    const s = await open();
    await emailChannel(s.port);
    const node = await joinNode(ctl, 'n1', ['tank', 'tank/data']);
    const job = await makeJob(ctl, (await makeTarget(ctl)).id);
    const secrets = await createSecretBox('test-secret');
    const tick = async () => {
      await evaluateNotifications(ctl.db, ctl.clock.now!, QUIET);
      await deliverNotifications(ctl.db, secrets, ctl.clock.now!, sendersOf({ mail: sendMail }));
    };
    const backup = async (status: 'success' | 'failed') => {
      const run = await ctl.api('POST', `/jobs/${job.id}/run`);
      await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
      ctl.clock.now! += 60_000;
      const fin = await ctl.node(node.token, `/runner/events/${run.body.eventId}/finish`, {
        status,
        result: status === 'success' ? { snapshot: `lb_j${job.id}_x`, generation: 1, bytesSent: 4096 } : null,
        error: status === 'failed' ? 'boom' : null,
      });
      expect(fin.status).toBe(200);
      await tick();
    };
    await tick();
    await backup('success');
    await backup('failed');
    await backup('failed');
    await backup('success');
    expect(s.got.map((m) => [m.subject, m.event])).toEqual([
      ['Lifeboat: j1 is failing', 'job.failing'],
      ['Lifeboat: j1 is ok', 'job.recovered'],
    ]);
    expect(s.got[0].text).toContain('j1: the last backup failed.');
  });
});

describe('email channel API', () => {
  it.each([
    [{ email: undefined }, 'email'],
    [{ url: 'https://example.org/x' }, 'url'],
    [{ email: settings(25, { to: ['not-an-address'] }) }, 'email.to.0'],
    [{ email: settings(25, { to: [] }) }, 'email.to'],
    [{ email: settings(25, { from: 'x' }) }, 'email.from'],
    [{ email: settings(25, { host: 'mail.example.org:25' }) }, 'email.host'],
    [{ email: settings(25, { port: 0 }) }, 'email.port'],
    [{ email: settings(25, { security: 'ssl' }) }, 'email.security'],
    [{ email: settings(25, { caPem: 'not a certificate' }) }, 'email.caPem'],
    [{ email: settings(25, { bcc: ['x@example.org'] }) }, 'email.bcc'],
  ])('400 names the field: %j', async (over, field) => {
    const r = await ctl.api<ApiErrorBody, 'POST', string>('POST', '/notifications/channels', {
      name: 'mail',
      kind: 'email',
      email: settings(25),
      ...over,
    });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body.error.fields)).toContain(field);
    expect((await ctl.api<{ items: Channel[] }, 'GET', string>('GET', '/notifications/channels')).body.items).toEqual([]);
  });

  it('PATCH keeps url and email settings to their kinds', async () => {
    const ch = await emailChannel(2525);
    const bad = await ctl.api<ApiErrorBody, 'PATCH', string>('PATCH', `/notifications/channels/${ch.id}`, { url: 'https://example.org/x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('url');
    const ok = await ctl.api<Channel, 'PATCH', string>('PATCH', `/notifications/channels/${ch.id}`, {
      email: settings(587, { to: ['new@example.org'] }),
    });
    expect(ok.body.email).toMatchObject({ port: 587, to: ['new@example.org'] });
    const hook = await ctl.api<Channel, 'POST', string>('POST', '/notifications/channels', {
      name: 'hook',
      kind: 'webhook',
      url: 'https://example.org/h',
    });
    const bad2 = await ctl.api<ApiErrorBody, 'PATCH', string>('PATCH', `/notifications/channels/${hook.body.id}`, { email: settings(25) });
    expect(bad2.status).toBe(400);
    expect(bad2.body.error.fields).toHaveProperty('email');
  });

  it('a server without an SMTP sender (the Worker) refuses email channels on kind', async () => {
    const worker = await startControl();
    try {
      const r = await worker.api<ApiErrorBody, 'POST', string>('POST', '/notifications/channels', {
        name: 'mail',
        kind: 'email',
        email: settings(25),
      });
      expect(r.status).toBe(400);
      expect(r.body.error.fields.kind).toMatch(/Node server/);
    } finally {
      worker.close();
    }
  });
});

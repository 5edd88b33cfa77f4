// packaging/nginx/lifeboat.conf run for real: its server blocks in a throwaway nginx (own prefix,
// free port, a certificate made per run), in front of a test server.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
export const PROXY_HOST = 'lifeboat.example.org';

export interface Proxy {
  port: number;
  /** An HTTPS request through the proxy from `localAddress` (any 127.0.0.0/8 address: a different client). */
  request(
    method: string,
    path: string,
    opts?: { body?: unknown; headers?: Record<string, string>; localAddress?: string },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: unknown }>;
  /**
   * A GET through the proxy read only until its text matches `until` (a stream that has not ended),
   * then dropped; after `guardMs` without a match it is dropped too and the promise fails (an open
   * connection would hold nginx's graceful stop).
   */
  readUntil(
    path: string,
    until: RegExp,
    headers?: Record<string, string>,
    guardMs?: number,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>;
  stop(): Promise<void>;
}

/** Replace `from` by `to` in the example, failing loudly when the example no longer has it. */
function edit(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`packaging/nginx/lifeboat.conf no longer contains ${from}; update tests/helpers/nginx.ts`);
  return out;
}

export async function startProxy(upstreamPort: number): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-nginx-'));
  chmodSync(dir, 0o755); // nginx's workers run as an unprivileged user
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', `/CN=${PROXY_HOST}`, '-addext', `subjectAltName=DNS:${PROXY_HOST}`,
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' }); // prettier-ignore
  const ca = readFileSync(join(dir, 'cert.pem'));
  const port = await freePort();
  // the example as shipped, with only the listen ports, the certificate and the upstream changed
  let site = readFileSync(join(ROOT, 'packaging/nginx/lifeboat.conf'), 'utf8');
  site = edit(site, 'listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`);
  site = edit(site, /\n\s*listen \[::\]:443 ssl;/, '');
  site = edit(site, /\n# plain HTTP only redirects\nserver \{[^}]*\}\n/, '\n');
  site = edit(site, '/etc/ssl/lifeboat/fullchain.pem', join(dir, 'cert.pem'));
  site = edit(site, '/etc/ssl/lifeboat/privkey.pem', join(dir, 'key.pem'));
  site = edit(site, 'proxy_pass http://127.0.0.1:8480;', `proxy_pass http://127.0.0.1:${upstreamPort};`);
  writeFileSync(join(dir, 'lifeboat.conf'), site);
  const t = (n: string) => join(dir, n);
  writeFileSync(
    t('nginx.conf'),
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${t('nginx.pid')};`,
      `error_log ${t('error.log')} info;`,
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${t(`${k}-temp`)};`),
      `  include ${t('lifeboat.conf')};`,
      '}',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn('nginx', ['-p', dir, '-e', t('error.log'), '-c', t('nginx.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}): ${out}\n${readFileSync(t('error.log'), 'utf8')}`);
    const up = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    request: (method, path, opts = {}) =>
      new Promise((resolve, reject) => {
        const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method,
            path: `/api/v1${path}`,
            servername: PROXY_HOST,
            ca,
            localAddress: opts.localAddress,
            headers: { host: PROXY_HOST, ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : null }));
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    readUntil: (path, until, headers = {}, guardMs = 30_000) =>
      new Promise((resolve, reject) => {
        let text = '';
        const guard = setTimeout(() => {
          req.destroy();
          reject(new Error(`GET ${path} through nginx: no ${until} within ${guardMs} ms; got ${JSON.stringify(text)}`));
        }, guardMs);
        const req = request(
          { host: '127.0.0.1', port, path: `/api/v1${path}`, servername: PROXY_HOST, ca, headers: { host: PROXY_HOST, ...headers } },
          (res) => {
            const done = () => {
              clearTimeout(guard);
              req.destroy();
              resolve({ status: res.statusCode!, headers: res.headers, text });
            };
            res.setEncoding('utf8');
            res.on('data', (d) => {
              text += d;
              if (until.test(text)) done();
            });
            res.on('end', done);
          },
        );
        req.on('error', (e) => (clearTimeout(guard), reject(e)));
        req.end();
      }),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGQUIT');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

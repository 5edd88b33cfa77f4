// server.conf: KEY=value lines with the environment's names; the environment overrides the file;
// an unknown key or a bad value stops the server with exit 2 naming the key and the file.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServerArgs } from '../../functions/src/settings.ts';
import { ConfigError } from '../../functions/src/config.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-server-conf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = (m: Record<string, string>) => (p: string) => m[p] ?? null;
const run = (argv: string[], env: Record<string, string>, read: (p: string) => string | null) => {
  const r = parseServerArgs(argv, env, 'linux', read);
  if (r.kind !== 'run') throw new Error(r.kind);
  return r;
};

describe('server settings: environment over config file', () => {
  it('the default file is read when present, the environment wins, an empty variable does not hide the file', () => {
    const read = files({
      '/etc/lifeboat/server.conf': 'LIFEBOAT_PORT=9000\nLIFEBOAT_TZ="Europe/Berlin"\n# LIFEBOAT_NOPE=1\nLIFEBOAT_HOST=::',
    });
    const r = run([], { LIFEBOAT_PORT: '9100', LIFEBOAT_TZ: '', PATH: '/bin' }, read);
    expect(r.configFile).toBe('/etc/lifeboat/server.conf');
    expect(r.env).toMatchObject({ LIFEBOAT_PORT: '9100', LIFEBOAT_TZ: 'Europe/Berlin', LIFEBOAT_HOST: '::', PATH: '/bin' });
    expect(run([], {}, files({})).configFile).toBeNull();
    expect(parseServerArgs([], {}, 'freebsd', files({ '/usr/local/etc/lifeboat/server.conf': 'LIFEBOAT_PORT=1' }))).toMatchObject({
      env: { LIFEBOAT_PORT: '1' },
    });
  });

  it('--config over LIFEBOAT_CONFIG; a named file must exist; an empty name reads none', () => {
    const read = files({ '/a': 'LIFEBOAT_PORT=1', '/b': 'LIFEBOAT_PORT=2', '/etc/lifeboat/server.conf': 'LIFEBOAT_PORT=3' });
    expect(run(['--config', '/a'], { LIFEBOAT_CONFIG: '/b' }, read).env.LIFEBOAT_PORT).toBe('1');
    expect(run([], { LIFEBOAT_CONFIG: '/b' }, read).env.LIFEBOAT_PORT).toBe('2');
    expect(run([], { LIFEBOAT_CONFIG: '' }, read).env.LIFEBOAT_PORT).toBeUndefined();
    expect(() => run(['--config', '/c'], {}, read)).toThrow(new ConfigError('config file /c does not exist'));
  });

  it('keys: the server table and the local runner’s; not the standalone runner’s or unknown ones', () => {
    const ok = run(['--config', '/s'], {}, files({ '/s': 'LIFEBOAT_RUNNER_POOLS=tank\nLIFEBOAT_LOCAL_RUNNER=0\nLIFEBOAT_SECRET_KEY=k' }));
    expect(ok.env).toMatchObject({ LIFEBOAT_RUNNER_POOLS: 'tank', LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_SECRET_KEY: 'k' });
    for (const key of ['LIFEBOAT_JOIN_TOKEN', 'LIFEBOAT_RUNNER_STATE_DIR', 'LIFEBOAT_PROT', 'PATH'])
      expect(() => run(['--config', '/s'], {}, files({ '/s': `\n${key}=1` }))).toThrow(`/s:2: unknown key ${key}`);
  });
});

describe('the server process with a config file', () => {
  const server = (conf: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'functions/src/node.ts'), '--config', conf], {
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...process.env, LIFEBOAT_DATA_DIR: join(dir, 'data'), LIFEBOAT_LOCAL_RUNNER: '0', ...env },
      timeout: 30_000,
    });

  it('an unknown key: exit 2, naming the key and the file, before anything starts', () => {
    const conf = join(dir, 'unknown.conf');
    writeFileSync(conf, 'LIFEBOAT_PORT=8480\nLIFEBOAT_TRUST_PROXIES=1\n');
    const r = server(conf);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`lifeboat-server: ${conf}:2: unknown key LIFEBOAT_TRUST_PROXIES`);
    expect(r.stdout + r.stderr).not.toMatch(/listening/);
  }, 60_000);

  it('a bad value: exit 2 naming the variable and, when it came from there, the file; the environment overrides it', () => {
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, 'LIFEBOAT_LEASE_MS=soon\nLIFEBOAT_PORT=http\n');
    const fromFile = server(conf);
    expect(fromFile.status).toBe(2);
    expect(fromFile.stderr).toContain(`LIFEBOAT_LEASE_MS must be a non-negative number, got "soon" (set in ${conf})`);
    const port = server(conf, { LIFEBOAT_LEASE_MS: '1000' });
    expect(port.status).toBe(2);
    expect(port.stderr).toContain(`LIFEBOAT_PORT must be a port number (0-65535), got "http" (set in ${conf})`);
    const fromEnv = server(conf, { LIFEBOAT_LEASE_MS: '-1', LIFEBOAT_PORT: '0' });
    expect(fromEnv.status).toBe(2);
    expect(fromEnv.stderr).toMatch(/LIFEBOAT_LEASE_MS must be a non-negative number, got "-1"\n/);
  }, 60_000);
});

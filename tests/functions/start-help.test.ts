// `npm start -- --help` and `lifeboat-server --help` name every LIFEBOAT_* variable the server and the
// runner read; the options, exit codes and line widths of both entries.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfigPath } from '../../protocol/src/config-file.ts';
import { defaultServerConfig } from '../../scripts/settings.mjs';
import { SERVER_CONFIG_KEYS } from '../../functions/src/settings.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
/** Read by the code but no setting: the switch that lets fault tests pass --crash-at (node-runner/src/options.ts). */
const TEST_ONLY = ['LIFEBOAT_TEST_HOOKS'];
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}
const start = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'scripts/start.mjs'), ...args], { encoding: 'utf8' });
const server = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'functions/src/node.ts'), ...args], { encoding: 'utf8', cwd: ROOT });

describe('npm start -- --help', () => {
  it('lists every environment variable the code reads, and exits 0 without starting anything', () => {
    const help = execFileSync(process.execPath, [join(ROOT, 'scripts/start.mjs'), '--help'], { encoding: 'utf8' });
    const read = new Set<string>();
    for (const f of [...sources(join(ROOT, 'functions/src')), ...sources(join(ROOT, 'node-runner/src'))]) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:env\.|['"`])(LIFEBOAT_[A-Z_]+[A-Z])\b/g)) read.add(m[1]);
    }
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((v) => !help.includes(v) && !TEST_ONLY.includes(v)).sort()).toEqual([]);
    for (const v of TEST_ONLY) expect(help).not.toContain(v);
    for (const line of help.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(help).toMatch(/--config FILE/);
    expect(help).toMatch(/Exit status: 0 .*1 .*2 usage.*75/s);
  });

  it('server.conf takes the variables the server reads (and its local runner gets), not the standalone runner-only ones', () => {
    const serverRead = new Set<string>();
    for (const f of sources(join(ROOT, 'functions/src')))
      for (const m of readFileSync(f, 'utf8').matchAll(/env\.(LIFEBOAT_[A-Z_]+[A-Z])\b/g)) serverRead.add(m[1]);
    expect([...serverRead].filter((v) => !SERVER_CONFIG_KEYS.has(v) && v !== 'LIFEBOAT_CONFIG').sort()).toEqual([]);
    for (const v of ['LIFEBOAT_SERVER', 'LIFEBOAT_JOIN_TOKEN', 'LIFEBOAT_RUNNER_STATE_DIR', 'LIFEBOAT_CONFIG'])
      expect(SERVER_CONFIG_KEYS.has(v)).toBe(false);
    for (const p of ['linux', 'freebsd']) expect(defaultServerConfig(p)).toBe(defaultConfigPath('server', p));
  });

  it('-h, --version, and exit 2 naming an unknown option', () => {
    expect(start('-h')).toMatchObject({ status: 0, stdout: expect.stringContaining('usage: npm start') });
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    expect(start('--version')).toMatchObject({ status: 0, stdout: `lifeboat ${version}\n` });
    const bad = start('--port', '1');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--port'/);
    expect(bad.stdout).toBe('');
  });
});

describe('lifeboat-server (the Node entry a service runs)', () => {
  it('--help: its options and the same settings table, at most 100 columns; --version; exit 2 on an unknown option', () => {
    const help = server('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: lifeboat-server \[--config FILE\]/);
    expect(help.stdout).toContain('LIFEBOAT_TRUST_PROXY');
    expect(help.stdout).toContain(defaultConfigPath('server', process.platform));
    for (const line of help.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(server('--version').stdout).toMatch(/^lifeboat-server \d+\.\d+\.\d+\n$/);
    const bad = server('--data-dir', '/tmp');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^lifeboat-server: Unknown option '--data-dir'/);
  }, 30_000);
});

// The service files in packaging/: systemd units pass `systemd-analyze verify`, rc.d scripts parse
// with `sh -n`, and the server's restart policy is the one its exit statuses are designed for
// (75 after SQLITE_BUSY: restart a clean process; 2, a wrong setting: do not loop).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const units = readdirSync(join(ROOT, 'packaging/systemd')).filter((f) => f.endsWith('.service'));
const rcScripts = readdirSync(join(ROOT, 'packaging/freebsd'));
const read = (p: string) => readFileSync(join(ROOT, 'packaging', p), 'utf8');
/** `Key=value` lines of a unit (the last one of a key wins, as in systemd). */
const directives = (text: string) => Object.fromEntries([...text.matchAll(/^([A-Za-z]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));

describe('service files', () => {
  it('both components have a systemd unit and an rc.d script', () => {
    expect(units.sort()).toEqual(['lifeboat-runner.service', 'lifeboat-server.service']);
    expect(rcScripts.sort()).toEqual(['lifeboat_runner', 'lifeboat_server']);
  });

  it.each(units)('systemd-analyze verify %s', (unit) => {
    // verify checks that ExecStart's program exists: where node is not /usr/bin/node, this one's
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-units-'));
    try {
      let text = read(`systemd/${unit}`);
      if (!existsSync('/usr/bin/node')) text = text.replaceAll('/usr/bin/node', process.execPath);
      writeFileSync(join(dir, unit), text);
      const r = spawnSync('systemd-analyze', ['verify', join(dir, unit)], { encoding: 'utf8' });
      expect(r.error, 'systemd-analyze (Debian package systemd, scripts/provision-test-host.sh)').toBeUndefined();
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(rcScripts)('sh -n %s', (script) => {
    const r = spawnSync('sh', ['-n', join(ROOT, 'packaging/freebsd', script)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(read(`freebsd/${script}`)).toMatch(/^\. \/etc\/rc\.subr$/m);
  });

  it('the server unit: restarts after a failure (75 included) within a start limit, not after exit 2; data in /var/lib/lifeboat', () => {
    const d = directives(read('systemd/lifeboat-server.service'));
    expect(d.Restart).toBe('on-failure');
    expect(d.RestartPreventExitStatus.split(/\s+/)).toEqual(['2']);
    expect(Number(d.StartLimitBurst)).toBeGreaterThan(1);
    expect(Number(d.StartLimitIntervalSec)).toBeGreaterThan(0);
    expect(d.StateDirectory).toBe('lifeboat');
    expect(read('systemd/lifeboat-server.service')).toContain('Environment=LIFEBOAT_DATA_DIR=/var/lib/lifeboat');
    expect(d.ExecStart).toMatch(/functions\/dist\/lifeboat-server\.mjs$/);
  });

  it.each(rcScripts)('%s: daemon(8) appends the log to a file (-o, reopened on SIGHUP: -H) or sends it to syslog (-S)', (script) => {
    // the script's own `if` that picks daemon(8)'s output options, run by sh with each setting
    const text = read(`freebsd/${script}`);
    const choice = new RegExp(`^if \\[ "\\$\\{${script}_log\\}" = "syslog" \\]; then\\n[^]*?^fi$`, 'm').exec(text)?.[0];
    expect(choice, 'the output choice').toBeDefined();
    const args = (log: string) =>
      spawnSync('sh', ['-c', `name=${script}; ${script}_log=${log}\n${choice}\nprintf %s "$output_args"`], { encoding: 'utf8' }).stdout;
    expect(args(`/var/log/${script}.log`)).toBe(`-o /var/log/${script}.log -H`);
    expect(args('syslog')).toBe(`-S -l daemon -s info -T ${script}`);
    expect(text).toMatch(/^command_args="[^"]*\$\{output_args\}/m);
  });

  it('the server rc.d script: daemon(8) restarts it (-r -R), data in /var/db/lifeboat, config in /usr/local/etc/lifeboat', () => {
    const s = read('freebsd/lifeboat_server');
    expect(s).toMatch(/command_args="-r -R \d+ /);
    expect(s).toContain(': ${lifeboat_server_data_dir:="/var/db/lifeboat"}');
    expect(s).toContain(': ${lifeboat_server_config:="/usr/local/etc/lifeboat/server.conf"}');
    expect(s).toContain('functions/dist/lifeboat-server.mjs');
  });
});

// lifeboat-runner as an operator meets it: help, version, exit codes, and runner.conf read from disk.
// (Precedence and each usage error are table-tested in node-runner/src/options.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-runner-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runner = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(ROOT, 'node-runner/bin/lifeboat-runner.mjs'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, LIFEBOAT_CONFIG: '', ...env },
    timeout: 30_000,
  });

describe('lifeboat-runner', () => {
  it('-h and --help print the options (0), --version the version (0)', () => {
    for (const h of ['-h', '--help']) {
      const r = runner([h]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^usage: lifeboat-runner \[options\]/);
      expect(r.stdout).not.toContain('crash');
    }
    expect(runner(['--version']).stdout).toMatch(/^lifeboat-runner \d+\.\d+\.\d+\n$/);
  }, 60_000);

  it('exit 2 naming an unknown option, a bad value, and --crash-at without test hooks', () => {
    const unknown = runner(['--sever', 'http://x']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^lifeboat-runner: Unknown option '--sever'/m);
    const bad = runner(['--concurrency', 'many']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--concurrency must be an integer ≥ 1, got "many"');
    expect(runner(['--crash-at', 'after-snapshot']).status).toBe(2);
  }, 60_000);

  it('runner.conf: an unknown key is exit 2 naming the key and the file; a bad value names the file; the environment overrides it', () => {
    const conf = join(dir, 'runner.conf');
    writeFileSync(conf, '# a typo\nLIFEBOAT_RUNNER_STREAM=2\n');
    const unknown = runner(['--config', conf]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain(`${conf}:2: unknown key LIFEBOAT_RUNNER_STREAM`);
    writeFileSync(conf, 'LIFEBOAT_RUNNER_STREAMS=99\n');
    const bad = runner([], { LIFEBOAT_CONFIG: conf });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`LIFEBOAT_RUNNER_STREAMS in ${conf} must be an integer from 1 to 16, got "99"`);
    // the environment's good value wins over the file's bad one: the runner gets as far as joining
    const over = runner(['--state-dir', join(dir, 'state')], { LIFEBOAT_CONFIG: conf, LIFEBOAT_RUNNER_STREAMS: '2' });
    expect(over.status).toBe(2);
    expect(over.stderr).toMatch(/not joined yet/);
  }, 60_000);
});

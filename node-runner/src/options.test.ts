// The runner's settings: option > environment > config file > default, and every usage error.
import { describe, expect, it } from 'vitest';
import { parseRunnerArgs, usage, UsageError, type RunnerSettings } from './options.ts';

const files = (m: Record<string, string>) => (p: string) => m[p] ?? null;
const none = files({});
const run = (argv: string[], env: Record<string, string> = {}, read = none): RunnerSettings => {
  const p = parseRunnerArgs(argv, env, 'linux', read);
  if (p.kind !== 'run') throw new Error(p.kind);
  return p.settings;
};
const usageError = (argv: string[], env: Record<string, string> = {}, read = none) => {
  try {
    parseRunnerArgs(argv, env, 'linux', read);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('no usage error');
};

describe('runner settings', () => {
  it('defaults', () => {
    const s = run([]);
    expect(s).toMatchObject({ stateDir: '/var/db/lifeboat-runner', concurrency: 2, pools: undefined, streams: 4, sshWarm: 4 });
    expect(s).toMatchObject({ sshWarmIdleS: 60, inventoryMs: 30000, crashAt: null, configFile: null, server: undefined });
  });

  it('option over environment over config file, for each kind of setting', () => {
    const read = files({
      '/etc/lifeboat/runner.conf': [
        '# runner settings',
        'LIFEBOAT_RUNNER_CONCURRENCY=5',
        '  LIFEBOAT_RUNNER_POOLS = "tank, zroot"  ',
        'LIFEBOAT_RUNNER_STREAMS=8',
        'LIFEBOAT_SERVER=https://file.example/',
        '',
        "LIFEBOAT_RUNNER_SSH_WARM_IDLE_S='2.5'",
      ].join('\n'),
    });
    const fromFile = run([], {}, read);
    expect(fromFile).toMatchObject({ concurrency: 5, pools: ['tank', 'zroot'], streams: 8, server: 'https://file.example' });
    expect(fromFile).toMatchObject({ sshWarmIdleS: 2.5, configFile: '/etc/lifeboat/runner.conf' });
    const env = { LIFEBOAT_RUNNER_CONCURRENCY: '3', LIFEBOAT_RUNNER_STREAMS: '2', LIFEBOAT_RUNNER_POOLS: '' };
    // an empty variable does not hide the file's value
    expect(run([], env, read)).toMatchObject({ concurrency: 3, streams: 2, pools: ['tank', 'zroot'] });
    expect(run(['--concurrency', '7', '--server', 'http://cli'], env, read)).toMatchObject({ concurrency: 7, server: 'http://cli' });
  });

  it('--config and LIFEBOAT_CONFIG name the file (which must then exist); an empty one means none', () => {
    const read = files({ '/a.conf': 'LIFEBOAT_RUNNER_CONCURRENCY=4', '/b.conf': 'LIFEBOAT_RUNNER_CONCURRENCY=6' });
    expect(run(['--config', '/a.conf'], { LIFEBOAT_CONFIG: '/b.conf' }, read).concurrency).toBe(4);
    expect(run([], { LIFEBOAT_CONFIG: '/b.conf' }, read).concurrency).toBe(6);
    expect(run([], { LIFEBOAT_CONFIG: '' }, files({ '/etc/lifeboat/runner.conf': 'nonsense' })).configFile).toBeNull();
    expect(usageError(['--config', '/missing.conf'])).toBe('config file /missing.conf does not exist');
    expect(
      parseRunnerArgs([], {}, 'freebsd', (p) => (p === '/usr/local/etc/lifeboat/runner.conf' ? 'LIFEBOAT_RUNNER_STREAMS=3' : null)),
    ).toMatchObject({
      settings: { streams: 3 },
    });
  });

  it('an unknown key, a bad line or a repeated key in the file names the key, the file and the line', () => {
    const bad = (text: string) => usageError(['--config', '/r.conf'], {}, files({ '/r.conf': text }));
    expect(bad('# x\nLIFEBOAT_RUNNER_CONCURENCY=2')).toBe(
      '/r.conf:2: unknown key LIFEBOAT_RUNNER_CONCURENCY (see --help for the keys this file takes)',
    );
    expect(bad('LIFEBOAT_ADMIN_TOKEN=x')).toMatch(/^\/r\.conf:1: unknown key LIFEBOAT_ADMIN_TOKEN/);
    expect(bad('LIFEBOAT_CONFIG=/other')).toMatch(/unknown key LIFEBOAT_CONFIG/);
    expect(bad('export LIFEBOAT_SERVER=x')).toBe('/r.conf:1: expected KEY=value, got "export LIFEBOAT_SERVER=x"');
    expect(bad('LIFEBOAT_SERVER=a\nLIFEBOAT_SERVER=b')).toBe('/r.conf:2: LIFEBOAT_SERVER is set twice');
  });

  it('a bad value is named by where it came from', () => {
    expect(usageError(['--concurrency', '0'])).toBe('--concurrency must be an integer ≥ 1, got "0"');
    expect(usageError([], { LIFEBOAT_RUNNER_STREAMS: '17' })).toBe('LIFEBOAT_RUNNER_STREAMS must be an integer from 1 to 16, got "17"');
    expect(usageError([], {}, files({ '/etc/lifeboat/runner.conf': 'LIFEBOAT_RUNNER_SSH_WARM=-1' }))).toBe(
      'LIFEBOAT_RUNNER_SSH_WARM in /etc/lifeboat/runner.conf must be an integer ≥ 0, got "-1"',
    );
    expect(usageError([], { LIFEBOAT_RUNNER_SSH_WARM_IDLE_S: 'soon' })).toMatch(/^LIFEBOAT_RUNNER_SSH_WARM_IDLE_S must be a number ≥ 0/);
  });

  it('unknown options and missing values are usage errors naming the option', () => {
    expect(usageError(['--concurency', '2'])).toMatch(/^Unknown option '--concurency'/);
    expect(usageError(['--server'])).toMatch(/--server/);
    expect(usageError(['stray'])).toMatch(/stray/);
  });

  it('--crash-at is an option only with LIFEBOAT_TEST_HOOKS=1, and never in the help', () => {
    expect(usageError(['--crash-at', 'after-snapshot'])).toMatch(/^Unknown option '--crash-at'/);
    expect(run(['--crash-at', 'after-snapshot'], { LIFEBOAT_TEST_HOOKS: '1' }).crashAt).toBe('after-snapshot');
    expect(usageError(['--crash-at', 'never'], { LIFEBOAT_TEST_HOOKS: '1' })).toMatch(/^--crash-at must be one of after-snapshot, /);
    expect(usage('linux')).not.toMatch(/crash|TEST_HOOKS/);
  });

  it('help and version; the help fits 100 columns and names every variable with its default', () => {
    expect(parseRunnerArgs(['-h'], {}, 'linux', none)).toEqual({ kind: 'help' });
    expect(parseRunnerArgs(['--concurrency', 'x', '--help'], {}, 'linux', none)).toEqual({ kind: 'help' });
    expect(parseRunnerArgs(['--version'], {}, 'linux', none)).toMatchObject({
      kind: 'version',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    for (const platform of ['linux', 'freebsd']) {
      const text = usage(platform);
      for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
      expect(text).toContain(platform === 'freebsd' ? '/usr/local/etc/lifeboat/runner.conf' : '/etc/lifeboat/runner.conf');
    }
    const text = usage('linux');
    for (const v of [
      'LIFEBOAT_SERVER',
      'LIFEBOAT_JOIN_TOKEN',
      'LIFEBOAT_NODE_NAME',
      'LIFEBOAT_RUNNER_STATE_DIR',
      'LIFEBOAT_RUNNER_STREAMS',
      'LIFEBOAT_CONFIG',
    ])
      expect(text).toContain(v);
    expect(text).toMatch(/Exit status: 0 .*1 .*2 usage/);
  });
});

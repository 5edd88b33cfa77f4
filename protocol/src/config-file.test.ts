// The config file format both the server and the runner read (their own precedence and error tests
// are node-runner/src/options.test.ts and tests/functions/config-file.test.ts).
import { describe, expect, it } from 'vitest';
import { configFileChoice, defaultConfigPath, parseConfigFile, withConfigFile } from './config-file.ts';

const KNOWN = new Set(['LIFEBOAT_A', 'LIFEBOAT_B', 'LIFEBOAT_C']);

describe('parseConfigFile', () => {
  it('KEY=value lines: comments, blank lines, CRLF, spaces, one pair of quotes, = inside a value, empty values', () => {
    const text = '# c\r\n\r\n  LIFEBOAT_A = x=y # not a comment \r\nLIFEBOAT_B="quoted value"\nLIFEBOAT_C=\n';
    expect(parseConfigFile(text, 'f', KNOWN)).toEqual({ LIFEBOAT_A: 'x=y # not a comment', LIFEBOAT_B: 'quoted value', LIFEBOAT_C: '' });
    expect(parseConfigFile(`LIFEBOAT_A='it"s'\nLIFEBOAT_B="a'`, 'f', KNOWN)).toEqual({ LIFEBOAT_A: 'it"s', LIFEBOAT_B: `"a'` });
  });

  it('errors name the file, the line and the key', () => {
    expect(() => parseConfigFile('\nLIFEBOAT_D=1', '/etc/x.conf', KNOWN)).toThrow(/^\/etc\/x\.conf:2: unknown key LIFEBOAT_D /);
    expect(() => parseConfigFile('LIFEBOAT_A', 'f', KNOWN)).toThrow('f:1: expected KEY=value, got "LIFEBOAT_A"');
    expect(() => parseConfigFile('LIFEBOAT_A=1\nLIFEBOAT_A=2', 'f', KNOWN)).toThrow('f:2: LIFEBOAT_A is set twice');
  });
});

describe('precedence and the file chosen', () => {
  it('the environment over the file; an empty variable does not hide a value of the file', () => {
    expect(withConfigFile({ LIFEBOAT_A: '1', LIFEBOAT_B: '', LIFEBOAT_C: '', PATH: '/bin' }, { LIFEBOAT_A: '2', LIFEBOAT_B: '3' })).toEqual(
      {
        LIFEBOAT_A: '1',
        LIFEBOAT_B: '3',
        LIFEBOAT_C: '',
        PATH: '/bin',
      },
    );
  });

  it('--config, then LIFEBOAT_CONFIG (must exist), then the platform default (optional); empty: none', () => {
    expect(configFileChoice('/a', { LIFEBOAT_CONFIG: '/b' }, '/d')).toEqual({ path: '/a', required: true });
    expect(configFileChoice(undefined, { LIFEBOAT_CONFIG: '/b' }, '/d')).toEqual({ path: '/b', required: true });
    expect(configFileChoice(undefined, {}, '/d')).toEqual({ path: '/d', required: false });
    expect(configFileChoice(undefined, { LIFEBOAT_CONFIG: '' }, '/d')).toBeNull();
    expect(configFileChoice('', { LIFEBOAT_CONFIG: '/b' }, '/d')).toBeNull();
    expect(defaultConfigPath('runner', 'freebsd')).toBe('/usr/local/etc/lifeboat/runner.conf');
    expect(defaultConfigPath('server', 'linux')).toBe('/etc/lifeboat/server.conf');
  });
});

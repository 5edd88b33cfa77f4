// The access log's line: path without the query, the health check left out unless `all`, the setting.
import { describe, expect, it } from 'vitest';
import { accessLine, accessLogMode, pathOf } from './access-log.ts';

describe('pathOf', () => {
  it.each([
    ['http://127.0.0.1:8480/api/v1/nodes', '/api/v1/nodes'],
    ['http://h/api/v1/events?status=failed&token=lba_secret', '/api/v1/events'],
    ['http://h/a#frag', '/a'],
    ['http://h', '/'],
    ['http://[::1]:8480/x%0Ay?q', '/x%0Ay'],
    [`http://h/${'a'.repeat(400)}`, `/${'a'.repeat(299)}…`],
  ])('%s', (url, want) => expect(pathOf(url)).toBe(want));
});

describe('accessLine', () => {
  it.each([
    ['off: nothing', 'off', 'GET', 'http://h/api/v1/nodes', 200, 3.2, null],
    [
      'on: method, path, status, ms',
      'on',
      'GET',
      'http://h/api/v1/nodes?x=1',
      200,
      3.2,
      { msg: 'GET /api/v1/nodes 200 3 ms', fields: { method: 'GET', path: '/api/v1/nodes', status: 200, ms: 3 } },
    ],
    ['on: the health check is left out', 'on', 'GET', 'http://h/api/v1/health', 200, 1, null],
    [
      'all: the health check too',
      'all',
      'GET',
      'http://h/api/v1/health',
      503,
      0.4,
      { msg: 'GET /api/v1/health 503 0 ms', fields: { method: 'GET', path: '/api/v1/health', status: 503, ms: 0 } },
    ],
  ] as const)('%s', (_, mode, method, url, status, ms, want) => expect(accessLine(mode, method, url, status, ms)).toEqual(want));
});

describe('accessLogMode', () => {
  it.each([
    [{}, 'off'],
    [{ LIFEBOAT_ACCESS_LOG: '' }, 'off'],
    [{ LIFEBOAT_ACCESS_LOG: 'on' }, 'on'],
    [{ LIFEBOAT_ACCESS_LOG: 'ALL' }, 'all'],
  ])('%j', (env, want) => expect(accessLogMode(env)).toBe(want));

  it('a bad value names the variable', () =>
    expect(() => accessLogMode({ LIFEBOAT_ACCESS_LOG: 'yes' })).toThrow('LIFEBOAT_ACCESS_LOG must be one of off, on, all, got "yes"'));
});

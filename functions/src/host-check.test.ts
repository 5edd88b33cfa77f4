// Which Host headers the Node entry answers (DNS rebinding), as table tests.
import { describe, expect, it } from 'vitest';
import { allowedHosts, hostAllowed, normalizeHost } from './host-check.ts';

describe('normalizeHost', () => {
  it.each([
    ['127.0.0.1:8480', '127.0.0.1'],
    ['LocalHost', 'localhost'],
    ['[::1]:8480', '::1'],
    ['[::1]', '::1'],
    ['backup.example.org.', 'backup.example.org'],
    ['backup.example.org:443', 'backup.example.org'],
    ['::1', '::1'],
    ['', null],
    ['[::1', null],
  ])('%s → %s', (v, want) => expect(normalizeHost(v)).toBe(want));
});

describe('allowedHosts / hostAllowed', () => {
  const none = () => [];
  it('default: loopback names, the listen address and the public URL host; nothing else', () => {
    const a = allowedHosts({}, '127.0.0.1', 'https://lifeboat.example.org', none);
    expect([...a].sort()).toEqual(['127.0.0.1', '::1', 'lifeboat.example.org', 'localhost']);
    for (const h of ['127.0.0.1:8480', 'localhost:8480', '[::1]:8480', 'lifeboat.example.org', 'LIFEBOAT.example.org:443'])
      expect(hostAllowed(h, a), h).toBe(true);
    for (const h of ['evil.example', 'evil.example:8480', '127.0.0.2', '', 'localhost.evil.example'])
      expect(hostAllowed(h, a), h).toBe(false);
    expect(hostAllowed(undefined, a)).toBe(false);
  });
  it('listening on every address: the local interface addresses too', () => {
    const a = allowedHosts({}, '0.0.0.0', 'http://0.0.0.0:8480', () => ['192.0.2.10', 'fe80::1']);
    expect(hostAllowed('192.0.2.10:8480', a)).toBe(true);
    expect(hostAllowed('[fe80::1]:8480', a)).toBe(true);
    expect(hostAllowed('evil.example', a)).toBe(false);
  });
  it('LIFEBOAT_ALLOWED_HOSTS replaces the list', () => {
    const a = allowedHosts({ LIFEBOAT_ALLOWED_HOSTS: 'backup.example.org, 10.0.0.5' }, '127.0.0.1', 'http://127.0.0.1:8480', none);
    expect([...a].sort()).toEqual(['10.0.0.5', 'backup.example.org']);
  });
});

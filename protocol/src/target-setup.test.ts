// The target setup lines: table tests.
import { describe, expect, it } from 'vitest';
import { TARGET_ZFS_PERMISSIONS, authorizedKeysLine, targetSetupLines } from './target-setup.ts';

describe('targetSetupLines', () => {
  it('root needs no delegation', () => {
    expect(targetSetupLines('root', 'tank/backups')).toEqual([]);
  });
  it('a non-root user gets the user, the backup root and the allow line', () => {
    expect(targetSetupLines('lifeboat', 'tank/backups')).toEqual([
      'useradd -m -s /bin/sh lifeboat          # FreeBSD: pw useradd lifeboat -m -s /bin/sh',
      'zfs create -p -o mountpoint=none tank/backups',
      `zfs allow -u lifeboat ${TARGET_ZFS_PERMISSIONS} tank/backups`,
    ]);
  });
  it('a pool as backup root is not created', () => {
    expect(targetSetupLines('bk', 'tank')).toEqual([expect.stringMatching(/^useradd /), `zfs allow -u bk ${TARGET_ZFS_PERMISSIONS} tank`]);
  });
  it('the permissions are the README list', () => {
    expect(TARGET_ZFS_PERMISSIONS).toBe(
      'create,mount,canmount,mountpoint,readonly,receive,userprop,clone,promote,send,destroy,hold,release',
    );
  });
});

describe('authorizedKeysLine', () => {
  it('restricts the key', () => {
    expect(authorizedKeysLine('ssh-ed25519 AAAAC3Nz lifeboat-t1')).toBe('restrict ssh-ed25519 AAAAC3Nz lifeboat-t1');
  });
});

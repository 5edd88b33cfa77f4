// What an admin runs on a target for Lifeboat (README, "Running the target side as a non-root user"):
// the authorized_keys line of a key pair the server made, and the `zfs allow` lines for a non-root user.

/**
 * `restrict` turns off pty, agent, X11 and port forwarding for the key: the runner needs a plain
 * command channel only (README, "Adding a target").
 */
export function authorizedKeysLine(publicKey: string): string {
  return `restrict ${publicKey}`;
}

/** The delegation the OpenZFS test tier proves sufficient (README's permission table); nothing more. */
export const TARGET_ZFS_PERMISSIONS = 'create,mount,canmount,mountpoint,readonly,receive,userprop,clone,promote,send,destroy,hold,release';

/** Shell lines, as root on the target, for a non-root SSH user; none for root (it needs no delegation). */
export function targetSetupLines(sshUser: string, backupRoot: string): string[] {
  if (sshUser === 'root') return [];
  const pool = backupRoot.split('/')[0];
  return [
    `useradd -m -s /bin/sh ${sshUser}          # FreeBSD: pw useradd ${sshUser} -m -s /bin/sh`,
    ...(backupRoot === pool ? [] : [`zfs create -p -o mountpoint=none ${backupRoot}`]),
    `zfs allow -u ${sshUser} ${TARGET_ZFS_PERMISSIONS} ${backupRoot}`,
  ];
}

// Target validation: ssh with the stored key (pinning the host key on first use), `zfs` works,
// the backup root exists or is created with `zfs create -p` when the target asks for it.
import { SshSession } from '../ssh/index.ts';
import { Zfs, isValidDatasetName } from '../zfs/index.ts';
import { ExecError, type ExecContext, type TargetSpec, type ValidateResult } from './types.ts';

export async function validateTarget(target: TargetSpec, ctx: ExecContext): Promise<ValidateResult> {
  if (!isValidDatasetName(target.backupRoot))
    throw new ExecError('target-not-ready', `invalid backup root ${JSON.stringify(target.backupRoot)}`);
  ctx.progress({ phase: 'preparing' });
  const firstUse = !target.hostKey;
  ctx.log(
    firstUse
      ? `connecting to ${target.sshHost}:${target.sshPort} to pin its host key`
      : `connecting to ${target.sshHost}:${target.sshPort} with the pinned host key`,
  );
  const session = await SshSession.open(target, {
    signal: ctx.signal,
    acceptNewHostKey: firstUse,
    onConnectRetry: (l) => ctx.log(l, 'warn'),
  });
  try {
    const hostKey = await session.hostKeyLines();
    const fingerprint = await session.fingerprint();
    ctx.log(`host key ${fingerprint}`);
    const zfs = new Zfs(session, ctx.signal);
    const caps = await zfs.capabilities();
    ctx.log(`zfs: ${caps.version ?? caps.flavor}`);
    // `zfs` really works (not just prints usage): list the pools' root datasets
    await zfs.run(['list', '-H', '-o', 'name', '-d', '0'], 'zfs list', 'target-not-ready');
    let backupRootCreated = false;
    if (!(await zfs.exists(target.backupRoot))) {
      if (!target.createBackupRoot) {
        throw new ExecError(
          'target-not-ready',
          `backup root ${target.backupRoot} does not exist on the target (enable "Create Backup Root" or create it)`,
        );
      }
      try {
        await zfs.ensureDataset(target.backupRoot); // level by level, unmounted (works for a delegated user)
      } catch (e) {
        throw new ExecError('target-not-ready', `cannot create backup root ${target.backupRoot}: ${(e as Error).message}`);
      }
      backupRootCreated = true;
      ctx.log(`created backup root ${target.backupRoot}`);
    } else {
      const t = await zfs.get([target.backupRoot], ['type']);
      const type = t.get(target.backupRoot)?.type;
      if (type !== 'filesystem') throw new ExecError('target-not-ready', `backup root ${target.backupRoot} is a ${type}, not a filesystem`);
    }
    return { hostKey, fingerprint, zfsVersion: caps.version, backupRootCreated };
  } finally {
    await session.close();
  }
}

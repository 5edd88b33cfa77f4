// Jail/VM backups: resolve the job's guest through the node's providers, hand backup.ts its roots,
// stop/start hooks and metadata, and fail the event when the guest did not start again (the data
// sent is valid all the same: the error carries the backup result).
import { jobIsRecursive } from '../../../protocol/src/layout.ts';
import { runBackup } from './backup.ts';
import { ExecError, type BackupParams, type BackupResult, type ExecContext } from './types.ts';
import type { RestoreResult } from './restore-types.ts';
import { findGuest, guestForBackup, providersFromConfig, type GuestProvider, type GuestsConfig } from '../guests/index.ts';

/**
 * The backup or restore itself succeeded (a backup's snapshot sent, verified and catalogued; a
 * restore swapped in) but the guest did not start again afterwards. The event is failed with this
 * message; `result` is the complete result, reported with the failure so the server records what
 * happened (a backup's catalog and generation; a restore's fork of the next generation).
 */
export class GuestStartError extends ExecError {
  constructor(
    message: string,
    public result: BackupResult | RestoreResult,
  ) {
    super('source-state', message);
    this.name = 'GuestStartError';
  }
}

export async function runGuestBackup(
  params: BackupParams,
  ctx: ExecContext,
  guests: GuestsConfig | GuestProvider[],
): Promise<BackupResult> {
  const { job } = params;
  if (job.mode === 'dataset') return runBackup(params, ctx);
  const providers = Array.isArray(guests) ? guests : providersFromConfig(guests);
  if (!providers.length)
    throw new ExecError(
      'source-state',
      `${job.mode} job ${job.id}: this runner has no guest provider configured (--manifest, --jail-conf or --vm-dir)`,
    );
  const found = await findGuest(providers, job.mode, job.source);
  if (!found)
    throw new ExecError(
      'source-state',
      `${job.mode} "${job.source}" was not found on this node (providers: ${providers.map((p) => p.name).join(', ')})`,
    );
  const { provider, guest } = found;
  ctx.log(
    `${guest.kind} ${guest.name} (${guest.id}, ${provider.name}): roots ${guest.roots.join(', ')}; ${guest.running ? 'running' : 'not running'}`,
  );
  const handle = guestForBackup(provider, guest, { recursive: jobIsRecursive(job), log: (l, level) => ctx.log(l, level) });
  const result = await runBackup({ ...params, guest: handle }, ctx);
  if (handle.startFailure) {
    throw new GuestStartError(
      `${guest.kind} ${guest.name} (${guest.id}) did not start again after the snapshot: ${handle.startFailure}. ` +
        `The backup itself completed (snapshot ${result.snapshot}, generation ${result.generation}) and its data on the target is valid.`,
      result,
    );
  }
  return result;
}

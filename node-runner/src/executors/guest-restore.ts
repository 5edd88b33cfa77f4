// Jail/VM restores: the job's guest is stopped only around the swap (runJobRestore does the swap);
// an out-of-band guest restore checks the provider before receiving anything and registers the
// guest (under a new id when asked, with or without its network) after the datasets are in place.
import { jobIsRecursive } from '../../../protocol/src/layout.ts';
import { GuestStartError } from './guest-backup.ts';
import { runJobRestore, runOobRestore } from './restore.ts';
import type { JobRestoreParams, OobRestoreParams, RestoreResult } from './restore-types.ts';
import { ExecError, type ExecContext } from './types.ts';
import {
  checkGuestRestore,
  findGuest,
  guestForBackup,
  parseGuestMetadata,
  providersFromConfig,
  registerRestoredGuest,
  type GuestsConfig,
} from '../guests/index.ts';

export async function runGuestJobRestore(params: JobRestoreParams, ctx: ExecContext, guests: GuestsConfig): Promise<RestoreResult> {
  const { job } = params;
  if (job.mode === 'dataset') return runJobRestore(params, ctx);
  const providers = providersFromConfig(guests);
  const found = await findGuest(providers, job.mode, job.source);
  if (!found) throw new ExecError('source-state', `${job.mode} "${job.source}" was not found on this node; nothing was restored`);
  // Same roots and stop/start as a backup of it; a start failure is logged and reported below.
  const handle = guestForBackup(found.provider, found.guest, {
    recursive: jobIsRecursive(job),
    log: (l, level) => ctx.log(l, level),
    forRestore: true,
  });
  const result = await runJobRestore({ ...params, guest: handle }, ctx);
  if (handle.startFailure) {
    // the restored data stays in place: the result goes with the failure (the next backup forks from it)
    throw new GuestStartError(
      `the restore completed (snapshot ${result.snapshot}) but ${found.guest.kind} ${found.guest.name} did not start again: ${handle.startFailure}`,
      result,
    );
  }
  return result;
}

export async function runGuestOobRestore(params: OobRestoreParams, ctx: ExecContext, guests: GuestsConfig): Promise<RestoreResult> {
  const fromTarget = params.guest ? parseGuestMetadata(params.guest) : null;
  if (!fromTarget) return runOobRestore(params, ctx);
  // the user's own network configuration wins over the target's (checked by the server and again
  // by the provider, with the same allow-list: protocol/src/guest-config.ts)
  const meta = params.network ? { ...fromTarget, network: params.network } : fromTarget;
  const restoreNetwork = params.restoreNetwork || !!params.network;
  if (meta.roots.length > 1) {
    throw new ExecError(
      'source-state',
      `${meta.kind} ${meta.name} has ${meta.roots.length} dataset roots; restore it from its job (all roots as one set) rather than one dataset out of band`,
    );
  }
  const providers = providersFromConfig(guests);
  const opts = {
    newId: params.newGuestId == null ? null : String(params.newGuestId),
    roots: [params.destination],
    restoreNetwork,
    log: (l: string) => ctx.log(l),
  };
  await checkGuestRestore(providers, meta, opts); // an existing guest id: refused before any data moves
  const result = await runOobRestore(params, ctx);
  const guest = await registerRestoredGuest(providers, meta, opts);
  ctx.log(
    `registered ${guest.kind} ${guest.name} (${guest.id}) with ${guest.provider}${params.network ? ' with the network configuration you gave' : restoreNetwork ? ' with its network configuration' : ' without network configuration'}`,
  );
  return {
    ...result,
    guest: { metadata: meta as unknown as Record<string, unknown>, restoreNetwork, newGuestId: params.newGuestId, registered: true },
  };
}

// A remove-kept event (docs/zfs.md, "Kept replaced datasets"): destroy a replaced dataset that a
// restore kept. Nothing here trusts the request beyond naming what to remove: right before the
// destroy, the dataset must be a set-aside name of that restore, marked lifeboat:set-aside by it,
// the restore must be over (asked of the server), and every dataset in it must be one the restore
// set aside (GUIDs it reported); anything else fails and leaves it alone.
import { setAsideOriginal } from '../../../protocol/src/layout.ts';
import type { RemoveKeptParams } from '../../../protocol/src/runner-api.ts';
import { LocalHost, Zfs, isValidDatasetName } from '../zfs/index.ts';
import { FINISHED } from './restore-leftovers.ts';
import { destroySetAside } from './restore-swap.ts';
import { ExecError, type ExecContext } from './types.ts';

export interface RemoveKeptResult {
  dataset: string;
  /** false: it was gone already (removed by hand). */
  removed: boolean;
}

export async function removeKept(p: RemoveKeptParams, ctx: ExecContext): Promise<RemoveKeptResult> {
  const E = p.restoreEventId;
  if (!isValidDatasetName(p.dataset) || !Number.isSafeInteger(E) || E <= 0 || setAsideOriginal(p.dataset, E) === null)
    throw new ExecError('internal', `${JSON.stringify(p.dataset)} is not a dataset set aside by restore event ${E}`);
  if (!p.guids.length || !p.guids.every((g) => /^\d+$/.test(g)))
    throw new ExecError('internal', `the GUIDs of ${p.dataset} are unknown: it can only be removed by hand`);
  ctx.progress({ phase: 'finalizing' });
  const z = new Zfs(new LocalHost(), ctx.signal);
  if (!(await z.exists(p.dataset))) {
    ctx.log(`${p.dataset} is gone already (removed by hand?); nothing to do`);
    return { dataset: p.dataset, removed: false };
  }
  const status = ctx.eventStatus ? (await ctx.eventStatus([E])).get(E) : undefined;
  if (status === undefined || !FINISHED.has(status))
    throw new ExecError('source-state', `restore event ${E} is ${status ?? 'unknown to the server'}, not over; ${p.dataset} is left alone`);
  if (ctx.signal.aborted) throw new ExecError('cancelled', 'cancelled before anything was removed');
  await destroySetAside(z, p.dataset, E, p.guids[0], new Set(p.guids));
  ctx.log(`destroyed ${p.dataset}, the dataset restore event ${E} replaced and kept`);
  return { dataset: p.dataset, removed: true };
}

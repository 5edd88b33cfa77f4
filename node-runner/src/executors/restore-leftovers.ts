// Staging and set-aside datasets of earlier restores (docs/zfs.md, "Restores"): found by their
// lifeboat:* property, cleaned or recovered only once the server says their event is over.
import { FINISHED_STATUSES } from '../../../protocol/src/events.ts';
import { PROP, setAsideOriginal } from '../../../protocol/src/layout.ts';
import { asExecError } from '../core/errors.ts';
import { Zfs } from '../zfs/index.ts';
import { USER_PROP_SET_ASIDE, USER_PROP_STAGING, cmp, getWithSource, mountTree, runRetryBusy } from './restore-local.ts';
import { destroyStaging } from './restore-swap.ts';
import type { RestoreResult } from './restore-types.ts';
import { ExecError, type ExecContext } from './types.ts';
/**
 * Staging and set-aside datasets left by earlier restores directly under `parent` (found by their
 * `lifeboat:staging` / `lifeboat:set-aside` property, never by name). For reporting.
 */
export async function findRestoreLeftovers(
  zfs: Zfs,
  parent: string,
): Promise<{ dataset: string; property: string; eventId: string; kept: boolean }[]> {
  const t = await getWithSource(zfs, [parent], [USER_PROP_STAGING, USER_PROP_SET_ASIDE, PROP.kept], { depth: 1 });
  const out: { dataset: string; property: string; eventId: string; kept: boolean }[] = [];
  for (const [name, props] of t) {
    if (name === parent || name.includes('@') || name.includes('#')) continue;
    for (const p of [USER_PROP_STAGING, USER_PROP_SET_ASIDE]) {
      const v = props[p];
      // kept: a replaced dataset kept on request (keepSetAside), not debris
      const kept = p === USER_PROP_SET_ASIDE && props[PROP.kept]?.source === 'local' && props[PROP.kept]?.value === v?.value;
      if (v && v.value !== null && v.source === 'local') out.push({ dataset: name, property: p, eventId: v.value, kept });
    }
  }
  return out.sort((a, b) => cmp(a.dataset, b.dataset));
}

export const FINISHED = new Set<string>(FINISHED_STATUSES);

/**
 * Leftovers of other restore events directly under `parent` (by property, never by name alone).
 * When the server says their event is over: a staging container is destroyed (ownership checked);
 * a set-aside copy of one of `destinations` whose destination is missing (a crash between the two
 * swap renames) is renamed back into place; a live dataset marked but never renamed is unmarked.
 * Everything else is reported and left alone; a set-aside copy of a missing destination that
 * cannot be recovered stops the restore (restoring would bury the original further).
 */
export async function handleLeftovers(
  local: Zfs,
  safe: Zfs,
  parent: string,
  destinations: string[],
  E: number,
  ctx: ExecContext,
  result: RestoreResult,
): Promise<void> {
  const found = (await findRestoreLeftovers(local, parent)).filter((l) => l.eventId !== String(E));
  if (!found.length) return;
  const ids = [...new Set(found.map((l) => Number(l.eventId)).filter((n) => Number.isSafeInteger(n) && n > 0))];
  let status = new Map<number, string>();
  if (ctx.eventStatus && ids.length) {
    try {
      status = await ctx.eventStatus(ids);
    } catch (e) {
      ctx.log(`could not ask the server about events ${ids.join(', ')}: ${asExecError(e).message}`, 'warn');
    }
  }
  for (const l of found) {
    const X = Number(l.eventId);
    if (l.kept) {
      // never renamed back nor in the way: its original name holds the restored dataset, or a later one
      ctx.log(`${l.dataset} is the dataset restore event ${X} replaced, kept on request; not touched`);
      continue;
    }
    const st = status.get(X);
    const over = st !== undefined && FINISHED.has(st);
    try {
      if (over && l.property === USER_PROP_STAGING) {
        if (await destroyStaging(safe, l.dataset, X, null)) {
          ctx.log(`removed leftover staging ${l.dataset} of ${st} restore event ${X}`);
          continue;
        }
      }
      if (over && l.property === USER_PROP_SET_ASIDE) {
        const original = setAsideOriginal(l.dataset, X);
        if (original === null) {
          // marked right before its rename aside, which never happened: it is the live dataset
          await safe.run(['inherit', USER_PROP_SET_ASIDE, l.dataset], `zfs inherit ${l.dataset}`);
          ctx.log(`cleared the set-aside mark of ${st} restore event ${X} from ${l.dataset} (it was never renamed)`);
          continue;
        }
        if (destinations.includes(original) && !(await local.exists(original))) {
          await runRetryBusy(safe, ['rename', l.dataset, original], `zfs rename ${l.dataset} ${original}`);
          await safe.run(['inherit', USER_PROP_SET_ASIDE, original], `zfs inherit ${original}`);
          await mountTree(safe, original);
          ctx.log(
            `recovered ${original}: ${st} restore event ${X} had set it aside as ${l.dataset} and stopped before renaming anything into place`,
          );
          continue;
        }
      }
    } catch (e) {
      ctx.log(`could not clean up ${l.dataset}: ${asExecError(e).message}`, 'warn');
    }
    if (l.property === USER_PROP_SET_ASIDE) {
      const original = setAsideOriginal(l.dataset) ?? l.dataset;
      if (destinations.includes(original) && !(await local.exists(original))) {
        throw new ExecError(
          'source-state',
          `${l.dataset} holds ${original} as set aside by restore event ${X} (${st ?? 'status unknown'}), and ${original} is missing; resolve that first`,
        );
      }
    }
    result.leftovers.push(l.dataset);
    ctx.log(
      `${l.dataset} is a leftover of restore event ${X} (${l.property}, event ${st ?? 'unknown to the server'}); not touched`,
      'warn',
    );
  }
}

// Incremental restores (docs/zfs.md, "Restores"): which datasets of a restored tree can be sent as
// an increment from a snapshot the live destination still holds. Pure: decided over the listings of
// the target (the chosen snapshot's dataset) and of the live destination, tested table-driven beside
// it (restore-base.test.ts). restore.ts clones the live base into staging and receives the
// increment into that clone; after the swap the clone is promoted (restore-swap.ts).
import { isValidSnapshotName, type SnapshotInfo } from '../zfs/index.ts';

/** How one dataset of a restored tree is received. */
export type ItemBase =
  | { mode: 'full'; why: string }
  /** `zfs send -i <target>@<base> <target>@<chosen>` into a clone of `live` (the destination's snapshot with the base's GUID) */
  | { mode: 'incremental'; target: SnapshotInfo; live: SnapshotInfo };

export interface ItemBaseInput {
  /** the chosen snapshot on the target */
  chosen: SnapshotInfo;
  /** all snapshots of the chosen snapshot's dataset on the target, any order (untrusted) */
  targetChain: SnapshotInfo[];
  /** the live destination dataset's snapshots at the same relative path; null: there is none */
  live: SnapshotInfo[] | null;
  /** received raw (encrypted): always in full */
  raw: boolean;
}

const byTxg = (a: SnapshotInfo, b: SnapshotInfo) => (a.createtxg < b.createtxg ? -1 : a.createtxg > b.createtxg ? 1 : 0);

/**
 * The base of one dataset: the newest snapshot of the target dataset's chain that is OLDER (by
 * createtxg) than the chosen one and whose GUID the live destination dataset has; else full, with
 * the reason. A snapshot equal to the chosen one is not a base: staging must hold the chosen
 * snapshot received and GUID-checked (the one verification path), so then the next older common
 * one is used. Refused as a base (full instead):
 * - a raw (encrypted) dataset: an increment into a clone of the live dataset would have to share
 *   its key, which a raw receive does not promise; the whole stream is sent as before;
 * - a live snapshot named like the chosen one at or before the base: the promote after the swap
 *   moves those snapshots into the restored dataset, which then already has a snapshot of that name;
 * - a name zfs would not take (the target's names are untrusted; both go into argument vectors).
 */
export function planItemBase(i: ItemBaseInput): ItemBase {
  if (i.raw) return { mode: 'full', why: 'encrypted (raw): sent in full' };
  if (!i.live) return { mode: 'full', why: 'no live dataset to start from' };
  const chain = i.targetChain.filter((s) => s.dataset === i.chosen.dataset && s.guid !== '').sort(byTxg);
  const at = chain.findIndex((s) => s.full === i.chosen.full && s.guid === i.chosen.guid);
  if (at < 0) return { mode: 'full', why: 'the chosen snapshot is not in its dataset’s listing' };
  const liveByGuid = new Map(i.live.filter((s) => s.guid !== '').map((s) => [s.guid, s]));
  for (let k = at - 1; k >= 0; k--) {
    const t = chain[k];
    if (t.createtxg >= i.chosen.createtxg || t.guid === i.chosen.guid) continue;
    const l = liveByGuid.get(t.guid);
    if (!l) continue;
    if (!isValidSnapshotName(t.name) || !isValidSnapshotName(l.name)) return { mode: 'full', why: `unusable snapshot name ${t.name}` };
    if (i.live.some((s) => s.name === i.chosen.name && s.createtxg <= l.createtxg))
      return { mode: 'full', why: `the live dataset has an older snapshot named ${i.chosen.name}` };
    return { mode: 'incremental', target: t, live: l };
  }
  return { mode: 'full', why: 'the live dataset shares no older snapshot with the target (by GUID)' };
}

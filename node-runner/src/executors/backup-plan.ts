// The pure decisions of a backup (docs/zfs.md, "Generations"): which generation this run writes,
// from two listings and what the server said; no I/O, tested table-driven beside it
// (backup-plan.test.ts). backup.ts does the effects.
import * as layout from '../../../protocol/src/layout.ts';
import { ExecError } from '../core/errors.ts';
import { newestCommon } from '../../../protocol/src/retention.ts';
import type { BookmarkInfo, DatasetInfo, SnapshotInfo } from '../zfs/index.ts';

/** Is the dataset natively encrypted (read where the `encryption` property exists)? */
export const isEncrypted = (d: DatasetInfo) => !!d.props.encryption && d.props.encryption !== 'off';

/** An incremental base on the source: a snapshot, or a bookmark of a sent snapshot that is gone. */
export type Base = SnapshotInfo | BookmarkInfo;

/**
 * Newest base of source dataset `d` (a snapshot, or a bookmark whose snapshot is gone, by createtxg)
 * whose GUID is on the target dataset, other than `exclude` (this run's snapshot). Bookmarks keep a
 * job incremental after its source snapshots were destroyed (docs/zfs.md, "Bookmarks").
 */
export function newestCommonBase(d: Pick<DatasetInfo, 'snapshots' | 'bookmarks'>, tgt: SnapshotInfo[], exclude?: string): Base | null {
  const snaps = exclude === undefined ? d.snapshots : d.snapshots.filter((s) => s.name !== exclude);
  const have = new Set(snaps.map((s) => s.guid));
  const marks = d.bookmarks.filter((b) => !have.has(b.guid));
  return newestCommon<Base>(
    [...snaps, ...marks],
    tgt.map((s) => s.guid),
  );
}

/** How a base reads in the event log: `lb_j1_…` for a snapshot, `bookmark #lb_j1_…` for a bookmark. */
export const baseLabel = (b: Base) => ('bookmark' in b ? `bookmark #${b.name}` : b.name);

/** Target snapshots created after the target's copy of `base` (by createtxg). */
export function newerThan(target: SnapshotInfo[], base: Pick<SnapshotInfo, 'guid'>): SnapshotInfo[] {
  const tBase = target.find((s) => s.guid === base.guid);
  return tBase ? target.filter((s) => s.createtxg > tBase.createtxg) : [];
}

export interface GenerationInput {
  jobId: number;
  /** the job's dataset roots, sorted; the first one locates a fork point */
  roots: string[];
  backupRoot: string;
  /** the generation the server offers, and the one to use when continuity is lost */
  generation: number;
  nextGeneration: number;
  /** after a restore: fork the next generation from this snapshot (by GUID) */
  forkFrom: { generation: number; snapshotGuid: string } | null;
  /** target datasets the server's catalog records in `generation`; null: not known */
  catalogDatasets: string[] | null;
  sendDecrypted: boolean;
  /** the source tree(s) before this run's snapshot */
  source: DatasetInfo[];
  /** the job's tree on the target, by dataset name */
  target: ReadonlyMap<string, DatasetInfo>;
}

export interface GenerationDecision {
  generation: number;
  /** set when this run starts a generation other than the offered one, with the reason */
  newGeneration: { generation: number; reason: string } | null;
  /** clone + promote the new generation from this target snapshot (`<fromDataset>/<source>@<snapName>`) */
  fork: { fromDataset: string; snapName: string } | null;
  /** lines for the event log that are not the reason */
  notes: string[];
}

/**
 * Continue the offered generation, fork the next one (after a restore, or when the target has
 * snapshots newer than the newest common one: never rolled back), or start the next one with a
 * full send (the target copy is gone, the job's raw/decrypted choice changed, or nothing is common).
 */
export function decideGeneration(i: GenerationInput): GenerationDecision {
  const jobRoot = layout.jobRoot(i.backupRoot, i.jobId);
  const genRoot = (g: number) => layout.generationRoot(i.backupRoot, i.jobId, g);
  const targetPath = (g: number, src: string) => layout.targetPath(i.backupRoot, i.jobId, g, src);
  const notes: string[] = [];
  if (i.forkFrom) {
    const generation = i.nextGeneration;
    const rootSrc = i.roots[0];
    let found: SnapshotInfo | null = null;
    for (const d of i.target.values()) {
      if (!d.name.startsWith(jobRoot + '/') || layout.parseInJobRoot(d.name.slice(jobRoot.length + 1))?.source !== rootSrc) continue;
      const s = d.snapshots.find((x) => x.guid === i.forkFrom!.snapshotGuid && x.job === i.jobId);
      if (s) {
        found = s;
        break;
      }
    }
    if (found) {
      return {
        generation,
        notes,
        fork: { fromDataset: found.dataset.slice(0, found.dataset.length - rootSrc.length - 1), snapName: found.name },
        newGeneration: {
          generation,
          reason: `restored from generation ${i.forkFrom.generation} snapshot ${found.name}: forked on the target (clone + promote), continuing incrementally`,
        },
      };
    }
    return {
      generation,
      fork: null,
      notes,
      newGeneration: {
        generation,
        reason: `the restored snapshot (GUID ${i.forkFrom.snapshotGuid}) is not on the target any more: new generation with a full send`,
      },
    };
  }

  const startOver = (reason: string): GenerationDecision => ({
    generation: i.nextGeneration,
    fork: null,
    notes,
    newGeneration: { generation: i.nextGeneration, reason },
  });
  let diverged: { dataset: string; base: Base; newer: SnapshotInfo[] } | null = null;
  // What the server's catalog recorded of this generation: a copy it knew and that is gone was
  // destroyed; one it never knew simply never arrived (a failed first transfer). Null: unknown.
  const known = i.catalogDatasets ? new Set(i.catalogDatasets) : null;
  const g = i.generation;
  for (const d of i.source) {
    const t = i.target.get(targetPath(g, d.name));
    const takenForThisGeneration = d.snapshots.some((s) => s.job === i.jobId && s.generation === g);
    if (!t && takenForThisGeneration && known && !known.has(targetPath(g, d.name))) {
      notes.push(
        `nothing of ${d.name} has reached generation ${g} on the target yet (an earlier transfer did not complete): full send into generation ${g}`,
      );
      continue;
    }
    if (!t && i.target.has(genRoot(g)) && takenForThisGeneration) {
      // Snapshots of this dataset were taken for this generation, yet its copy is gone from the
      // target (destroyed by hand): that lineage is broken, start over in a new generation.
      return startOver(
        `${targetPath(g, d.name)} is missing on the target although ${d.name} was backed up to generation ${g} (destroyed by hand?): new generation with a full send`,
      );
    }
    if (!t) continue; // new to the target: full send of its own
    if (isEncrypted(d) && isEncrypted(t) === i.sendDecrypted) {
      // the job's choice changed since this generation began: a raw stream cannot continue a
      // plaintext copy (nor the reverse), so the other form starts a new generation
      return startOver(
        `${d.name} is encrypted and this job now sends it ${i.sendDecrypted ? 'decrypted' : 'raw'}, but generation ${g} holds it ${i.sendDecrypted ? 'raw' : 'decrypted'}: new generation with a full send`,
      );
    }
    const base = newestCommonBase(d, t.snapshots);
    if (!base)
      return startOver(
        `no snapshot of ${d.name} is common (by GUID) to the source and target generation ${g}: new generation with a full send`,
      );
    if ('bookmark' in base)
      notes.push(`${d.name}: the newest common snapshot is gone from the source; its bookmark #${base.name} is the base`);
    const newer = newerThan(t.snapshots, base);
    if (newer.length && !diverged) diverged = { dataset: d.name, base, newer };
  }
  if (!diverged) return { generation: g, newGeneration: null, fork: null, notes };
  // The target has snapshots after the newest common one (the source lost them, or someone
  // snapshotted the target). Never roll them back (no recv -F, no destroy): fork the next
  // generation from the common snapshot (clone + promote) and continue incrementally.
  // the fork's clone source is the target's snapshot of the root's common base (found by GUID)
  const rootTarget = i.target.get(targetPath(g, i.roots[0]))?.snapshots ?? [];
  const rootCommon = newestCommonBase(i.source.find((d) => d.name === i.roots[0]) ?? { snapshots: [], bookmarks: [] }, rootTarget);
  const rootBase = rootCommon ? (rootTarget.find((s) => s.guid === rootCommon.guid) ?? null) : null;
  const generation = i.nextGeneration;
  return {
    generation,
    notes,
    fork: rootBase ? { fromDataset: genRoot(g), snapName: rootBase.name } : null,
    newGeneration: {
      generation,
      reason:
        `target generation ${g} of ${diverged.dataset} has snapshots newer than the newest common snapshot ${baseLabel(diverged.base)} ` +
        `(${diverged.newer.map((x) => x.name).join(', ')}); ` +
        (rootBase
          ? `forked generation ${generation} from ${rootBase.name} (clone + promote), continuing incrementally; generation ${g} is kept as it is`
          : 'new generation with a full send'),
    },
  };
}

/** What a backup sends of one dataset. */
export interface SendPlan {
  source: string;
  target: string;
  /** the new source snapshot */
  snap: SnapshotInfo;
  /** incremental base (on the source: a snapshot, or a bookmark); null: a full send */
  base: Base | null;
  /** send raw (`zfs send -w`): the source is encrypted and the job does not send it decrypted */
  raw: boolean;
}

export interface SendPlanInput {
  /** The source datasets that have this run's snapshot, parents first. */
  source: DatasetInfo[];
  /** The job's tree on the target, by name. */
  target: Map<string, DatasetInfo>;
  snapName: string;
  sendDecrypted: boolean;
  targetPathOf: (source: string) => string;
}

/**
 * Full or incremental, raw or not, per dataset. A target copy that shares no snapshot with its
 * source, or has snapshots newer than the common base, is an error: nothing is rolled back (the
 * generation decision forks in these cases, so they arise only from a concurrent change).
 */
export function planDatasets(i: SendPlanInput): { plans: SendPlan[]; warnings: string[] } {
  const plans: SendPlan[] = [];
  const warnings: string[] = [];
  for (const d of i.source) {
    const snap = d.snapshots.find((s) => s.name === i.snapName);
    if (!snap) throw new ExecError('internal', `${d.name} has no snapshot ${i.snapName}`);
    const to = i.targetPathOf(d.name);
    const t = i.target.get(to);
    let base: Base | null = null;
    if (t) {
      base = newestCommonBase(d, t.snapshots, i.snapName);
      if (!base) throw new ExecError('zfs', `${to} exists on the target but shares no snapshot with ${d.name}`);
      const newer = newerThan(t.snapshots, base);
      if (newer.length) {
        throw new ExecError(
          'zfs',
          `${to} has snapshots newer than the common base ${baseLabel(base)} (${newer.map((x) => x.name).join(', ')}); not rolling them back`,
        );
      }
    }
    if (isEncrypted(d) && i.sendDecrypted)
      warnings.push(`${d.name} is encrypted and this job sends it decrypted: the target holds its plaintext`);
    plans.push({ source: d.name, target: to, snap, base, raw: isEncrypted(d) && !i.sendDecrypted });
  }
  return { plans, warnings };
}

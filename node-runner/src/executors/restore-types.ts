// Parameter and result types of the restore executors.
import type { SnapshotInfo } from '../zfs/index.ts';
import type { ItemBase } from './restore-base.ts';
import type {
  JobRestoreParams as ClaimedJobRestore,
  KeptCopy,
  OobRestoreParams as ClaimedOobRestore,
} from '../../../protocol/src/runner-api.ts';
import type { JobSpec, TargetSpec } from './types.ts';

/** Guest handling for jail/VM job restores, supplied by the caller's guest provider. */
export interface RestoreGuest {
  /** All dataset roots of the guest on this node (each is restored in place, with its children). */
  roots: string[];
  /** Stop the guest if it runs (only around the swap); resolve true when it was running. */
  stop?(): Promise<boolean>;
  /** Start it again after the swap (also after a rolled-back swap). */
  start?(): Promise<void>;
}

/** A job restore (kind 'restore'): the claimed event's `target` and `job`, and its `params`. */
export interface JobRestoreParams extends ClaimedJobRestore {
  target: TargetSpec;
  job: JobSpec;
  /** jail/vm jobs: the guest's dataset roots and stop/start (set by the runner, never by the server). */
  guest?: RestoreGuest | null;
}

/** Out-of-band restore (kind 'oob-restore'): the claimed event's `target`, and its `params`. */
export interface OobRestoreParams extends ClaimedOobRestore {
  target: TargetSpec;
}

export interface RestoredDataset {
  /** Target snapshot that was received (`dataset@name`). */
  source: string;
  /** Dataset path on this node after the swap. */
  destination: string;
  /** GUID of the restored snapshot (equal on both sides). */
  guid: string;
  bytes: number;
}

export interface RestoreResult {
  snapshot: string;
  guid: string;
  generation: number | null;
  bytesReceived: number;
  datasets: RestoredDataset[];
  /** Destination roots that existed and were swapped (the rest were created). */
  replaced: string[];
  /** Local datasets that are not in the restored snapshot, moved into the restored tree unchanged. */
  preserved: string[];
  /**
   * Replaced datasets not destroyed after the swap (marked lifeboat:set-aside): kept on request
   * (`chosen`), or because their removal failed (reported, not guessed at). GUIDs: the root's first;
   * empty when they could not be checked (then only a hand can remove it).
   */
  kept: KeptCopy[];
  /** Staging / set-aside datasets of other events found beside a destination (reported, untouched). */
  leftovers: string[];
  /** Guest restores: what still has to be done by a guest provider (registration, network). */
  guest: { metadata: Record<string, unknown>; restoreNetwork: boolean; newGuestId: string | null; registered: boolean } | null;
}

// ---- inside a restore (restore.ts and its parts) ------------------------------------------------

export interface RestoreSpec {
  kind: 'job' | 'oob';
  target: TargetSpec;
  jobId: number | null;
  guid: string;
  snapshot: string;
  hint: string;
  generation: number | null;
  /** job restore: the local roots (= their source paths on the target); oob: null */
  roots: string[] | null;
  destination?: string;
  recursive: boolean;
  overwrite: boolean;
  /** Keep the replaced destinations (lifeboat:kept) instead of destroying them after the swap. */
  keepReplaced?: boolean;
  guestCreateOnly: boolean;
  guest: RestoreGuest | null;
  oobGuest: RestoreResult['guest'];
  /** The job's stream switch and limit (a job restore; an out-of-band one has neither: on, the target's limit only). */
  compressedStream?: boolean;
  bandwidthLimitKiBps?: number | null;
}

export interface Item {
  rel: string;
  snap: SnapshotInfo;
}

export interface LiveDataset {
  rel: string;
  name: string;
  guid: string;
  props: Record<string, { value: string | null; source: string }>;
}

export interface Unit {
  destination: string;
  parent: string;
  container: string; // staging container (lifeboat:staging=E)
  stagingRoot: string; // container/<name>
  setAside: string;
  items: Item[]; // parents first; rel '' is the root
  live: LiveDataset[] | null; // the existing destination tree (parents first), null when it does not exist
  containerGuid: string | null;
  createdParents: { name: string; guid: string }[];
  /** the live tree's snapshots by relative path (job restores onto an existing destination), for incremental bases */
  liveSnapshots: Map<string, SnapshotInfo[]> | null;
  /** per relative path: full, or incremental into a clone of the live base (restore-base.ts); set before staging */
  bases: Map<string, ItemBase>;
  /** per relative path of an incremental item: the GUID of its staging clone (checked before its promote) */
  clones: Map<string, string>;
}

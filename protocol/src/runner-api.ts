// What the control plane hands a runner with each claimed event (POST /runner/claim): one member per
// event kind, each with its own typed parameters, so neither half rebuilds parameters by hand. The
// zod schema of the same shape is functions/src/contract/runner.ts (the two are checked equal at
// compile time there); the runner imports these types only (it has no npm dependencies).

import type { RetentionPolicy } from './retention.ts';

/** A backup target, with its SSH key decrypted for this event only (never logged). */
export interface TargetSpec {
  id: number;
  name: string;
  sshHost: string;
  sshUser: string;
  sshPort: number;
  /** PEM/OpenSSH text. */
  sshPrivateKey: string;
  backupRoot: string;
  createBackupRoot: boolean;
  /** Pinned known_hosts line(s) ("host keytype base64"); null before the first validation. */
  hostKey: string | null;
  /** KiB/s for every stream to or from this target; null or 0: unlimited (absent: from a server before it existed). */
  bandwidthLimitKiBps?: number | null;
}

export interface JobSpec {
  id: number;
  name: string;
  mode: 'dataset' | 'jail' | 'vm';
  /** A dataset (dataset mode) or a guest id (jail/vm). */
  source: string;
  recursive: boolean;
  keepLast: number;
  pruneTarget: boolean;
  stopBeforeBackup: boolean;
  /** false: natively encrypted datasets are sent raw (`zfs send -w`); true: sent decrypted. */
  sendDecrypted: boolean;
  /** `zfs send -c` where both ends have it; false: decompressed blocks. Absent (older server): true. */
  compressedStream?: boolean;
  /** KiB/s; null or 0: unlimited. The lower of this and the target's applies (bandwidth.ts). */
  bandwidthLimitKiBps?: number | null;
  /** Children of a recursive dataset job left out (protocol/src/exclude.ts); absent (older server): none. */
  exclude?: string[];
  /** IANA zone of the job (retention's calendar periods); absent (older server): UTC. */
  timezone?: string;
  /**
   * The policy in force on each side, the simple form resolved by the server (retention.ts
   * effectivePolicy); null: nothing is destroyed there. Absent (older server): from keepLast/pruneTarget.
   */
  retention?: { source: RetentionPolicy | null; target: RetentionPolicy | null };
}

/** After a restore from an older generation, the next backup forks a new one from that snapshot. */
export interface ForkFrom {
  generation: number;
  snapshotGuid: string;
}

/** A job restore: the snapshot chosen by generation and name, found on the target by GUID. */
export interface JobRestoreParams {
  generation: number;
  snapshot: string;
  guid: string;
  /** The target dataset the catalog lists it in (a hint; the GUID decides). */
  dataset: string;
  /** Keep the replaced dataset, set aside and marked lifeboat:kept, instead of destroying it. Absent (older server): false. */
  keepReplaced?: boolean;
}

/** An out-of-band restore onto any node and dataset. */
export interface OobRestoreParams {
  /** The catalog item chosen (its newest target dataset). */
  dataset: string;
  /** The target dataset holding the chosen snapshot. */
  snapshotDataset: string;
  generation: number | null;
  snapshot: string;
  guid: string;
  destination: string;
  restoreNetwork: boolean;
  overwrite: boolean;
  /** The guest metadata the catalog recorded (read from the target: untrusted). */
  guest: Record<string, unknown> | null;
  newGuestId: string | null;
  sourceJobId: number | null;
  /** The user's own network configuration (checked by the server, checked again by the runner); absent in events queued before it existed. */
  network?: Record<string, unknown> | null;
  /** With overwrite: keep the replaced dataset (as JobRestoreParams.keepReplaced). */
  keepReplaced?: boolean;
}

/**
 * Destroy a replaced dataset that a restore kept (docs/zfs.md, "Kept replaced datasets"): the runner
 * checks, right before, that `dataset` is marked lifeboat:set-aside by `restoreEventId`, that the
 * restore is over, and that every dataset in it is one the restore set aside (`guids`).
 */
export interface RemoveKeptParams {
  dataset: string;
  restoreEventId: number;
  /** GUIDs of the datasets the restore set aside, the root's first (as the restore reported them). */
  guids: string[];
}

/** What a restore reports of a replaced dataset it did not destroy: kept on request, or kept because its removal failed. */
export interface KeptCopy {
  dataset: string;
  guids: string[];
  chosen: boolean;
}

interface Claimed<K extends string> {
  id: number;
  kind: K;
  trigger: string;
  note: string | null;
  leaseUntil: string;
  target: TargetSpec;
}

export type ClaimedEvent =
  | Claimed<'validate'>
  | Claimed<'browse'>
  | (Claimed<'backup'> & {
      job: JobSpec;
      /** The generation the catalog calls current, and the one a fork or a fresh start writes. */
      generation: number;
      nextGeneration: number;
      forkFrom: ForkFrom | null;
      /**
       * The target datasets the catalog records for this target, job and `generation`. A source whose
       * copy is listed here but gone from the target was destroyed by hand (start nextGeneration); one
       * not listed never arrived (continue `generation` with a full send).
       */
      catalogDatasets: string[];
      /**
       * Old generations to destroy on the target after this backup's own work, with why
       * (protocol/src/generations.ts); the runner checks each before (docs/zfs.md, "Old
       * generations"). Absent (older server): none.
       */
      dropGenerations?: { generation: number; reason: string }[];
    })
  | (Claimed<'restore'> & { job: JobSpec; params: JobRestoreParams })
  | (Claimed<'oob-restore'> & { params: OobRestoreParams })
  | (Omit<Claimed<'remove-kept'>, 'target'> & { params: RemoveKeptParams });

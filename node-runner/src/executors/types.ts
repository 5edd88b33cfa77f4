// The contract between the runner's claim loop and its executors.
// The server owns policy (generation numbers, retention counts); executors report facts.

import type { Phase } from '../../../protocol/src/events.ts';

export type { Phase } from '../../../protocol/src/events.ts';
export { ExecError, type ErrorClass } from '../core/errors.ts';

import type { TargetSpec } from '../core/target.ts';
import type { JobSpec } from '../../../protocol/src/runner-api.ts';
import type { RunnerRoutes } from '../core/api.ts';

export type { JobSpec, TargetSpec };

/** The levels of an event's log lines (contract/runner.ts LogLine). */
export type EventLogLevel = 'info' | 'warn' | 'error';

export interface ProgressReport {
  phase: Phase;
  bytesDone?: number;
  bytesTotal?: number | null;
  rateBps?: number | null;
  etaSeconds?: number | null;
}

export interface ExecContext {
  eventId: number;
  /** Report progress; call at least once a second during transfers. */
  progress(p: ProgressReport): void;
  /** A line of the event's log; a warning is `warn` (not an info line saying "warning:"), so the UI marks it. */
  log(line: string, level?: EventLogLevel): void;
  /** Aborted when the server asks to cancel or the runner shuts down. */
  signal: AbortSignal;
  /**
   * Fault-injection checkpoint, for fault tests only: executors call it at phase boundaries
   * (see CHECKPOINTS). The runner wires it to `--crash-at <name>`, which SIGKILLs the runner
   * when that checkpoint is reached; a test may throw from it instead (a failure at that point);
   * otherwise it is absent and costs nothing.
   */
  checkpoint?(name: Checkpoint): void;
  /**
   * Status on the server of earlier events of this node (e.g. the owners of leftover staging
   * datasets); ids the server does not know as this node's are missing from the map.
   */
  eventStatus?(ids: number[]): Promise<Map<number, string>>;
  /** The time a backup's snapshot is named after; absent: the clock (a test pins it). */
  now?(): Date;
}

/** Fault-injection checkpoints, in the order a backup / a restore reaches them. */
export const CHECKPOINTS = [
  'after-snapshot', // backup: the source snapshot exists, nothing sent yet
  'mid-transfer', // backup: the first MiB of the stream went into zfs recv on the target
  'after-receive', // backup: a dataset was received, its GUID not yet verified nor tagged
  'during-pruning', // backup: the first snapshot was pruned, others not yet
  'restore-staging', // restore: the first MiB went into the staging receive
  'after-staging', // restore: every dataset staged and its GUIDs verified, nothing swapped yet
  'between-swap-renames', // restore: the live dataset was renamed aside, staging not yet renamed in
  'after-swap', // restore: everything swapped in, the set-aside copies not yet destroyed
] as const;
export type Checkpoint = (typeof CHECKPOINTS)[number];

/** One snapshot as recorded in the server's catalog. */
/** A target dataset and its snapshots as the runner reports them to the catalog (contract/runner.ts CatalogDataset). */
export type CatalogDataset = RunnerRoutes['/runner/catalog']['req']['datasets'][number];
export type SourceSnapshotsReport = {
  dataset: string;
  snapshots: {
    name: string;
    guid: string;
    createtxg: string;
    creation: number;
    jobId: number | null;
    generation: number | null;
    userrefs: number;
  }[];
}[];
export type CatalogSnapshot = CatalogDataset['snapshots'][number];

export interface BackupParams {
  target: TargetSpec;
  job: JobSpec;
  /** Generation to write into (server-owned number). */
  generation: number;
  /** Number to use if continuity is lost and a new generation must start. */
  nextGeneration: number;
  /** Set after a successful job restore: fork nextGeneration from this snapshot (clone + promote). */
  forkFrom?: { generation: number; snapshotGuid: string } | null;
  /**
   * Target datasets the server's catalog knows in `generation` (null: not told). A missing copy the
   * catalog knew was destroyed (new generation); one it never knew never arrived (same generation).
   */
  catalogDatasets?: string[] | null;
  /** Old generations to destroy on the target after the backup's own work (backup-generations.ts). */
  dropGenerations?: { generation: number; reason: string }[];
}

export interface BackupResult {
  snapshot: string; // name after '@'
  generation: number; // generation actually written
  newGeneration: { generation: number; reason: string } | null;
  bytesSent: number;
  datasets: { source: string; target: string; mode: 'full' | 'incremental'; bytes: number; baseSnapshot: string | null }[];
  pruned: { side: 'source' | 'target'; snapshot: string }[];
  catalog: CatalogDataset[]; // the job's datasets on the target after the run
  /** The source datasets and their snapshots after retention (the server's retention preview, source side). */
  sourceSnapshots: SourceSnapshotsReport;
  /** The old generations this run destroyed (or found gone) of those it was given. */
  droppedGenerations: number[];
}

export interface ValidateResult {
  hostKey: string; // known_hosts line(s) to pin
  fingerprint: string; // SHA256:… as ssh-keygen -lf prints
  zfsVersion: string | null;
  backupRootCreated: boolean;
}

// The runner side of the API (node token). Shapes match node-runner/src/executors/types.ts.
import { FINISHED_STATUSES, PHASES } from '../../../protocol/src/events.ts';
import { DATASET_ROLES } from '../../../protocol/src/layout.ts';
import { z } from '@hono/zod-openapi';
import { datasetName, resourceName, retentionPolicy } from './fields.ts';
import type { ClaimedEvent as RunnerClaimedEvent } from '../../../protocol/src/runner-api.ts';

export const JoinRequest = z
  .object({
    joinToken: z.string().min(1, 'is required').max(200),
    name: resourceName,
    hostname: z.string().max(255).optional(),
  })
  .strict();
export const JoinResponse = z.object({ nodeId: z.number().int(), nodeToken: z.string() });

export const ClaimRequest = z
  .object({
    /** Free execution slots on the runner. */
    max: z.number().int().min(0).max(64).default(1),
    /** How long to hold the request when nothing is due (capped by the server). */
    waitMs: z.number().int().min(0).max(30_000).optional(),
  })
  .strict();

const TargetSpec = z.object({
  id: z.number().int(),
  name: z.string(),
  sshHost: z.string(),
  sshUser: z.string(),
  sshPort: z.number().int(),
  sshPrivateKey: z.string(),
  backupRoot: z.string(),
  createBackupRoot: z.boolean(),
  hostKey: z.string().nullable(),
  /** KiB/s, null or 0: unlimited (absent from servers before it existed). */
  bandwidthLimitKiBps: z.number().int().nullable().optional(),
});
const JobSpec = z.object({
  id: z.number().int(),
  name: z.string(),
  mode: z.enum(['dataset', 'jail', 'vm']),
  source: z.string(),
  recursive: z.boolean(),
  keepLast: z.number().int(),
  pruneTarget: z.boolean(),
  stopBeforeBackup: z.boolean(),
  /** false (default): encrypted datasets are sent raw (`zfs send -w`); true: sent decrypted. */
  sendDecrypted: z.boolean(),
  /** `zfs send -c` where both ends have it (absent: true). */
  compressedStream: z.boolean().optional(),
  /** KiB/s, null or 0: unlimited; the lower of this and the target's applies. */
  bandwidthLimitKiBps: z.number().int().nullable().optional(),
  /** Children left out of a recursive dataset job (absent: none). */
  exclude: z.array(z.string()).optional(),
  /** The job's IANA zone (absent: UTC). */
  timezone: z.string().optional(),
  /** The policy in force per side, null: nothing destroyed there (absent: from keepLast/pruneTarget). */
  retention: z.object({ source: retentionPolicy.nullable(), target: retentionPolicy.nullable() }).optional(),
});
const claimed = <K extends string>(kind: K) =>
  z.object({
    id: z.number().int(),
    kind: z.literal(kind),
    trigger: z.string(),
    note: z.string().nullable(),
    leaseUntil: z.string(),
    target: TargetSpec,
  });
/** One member per kind, each with its own parameters (protocol/src/runner-api.ts, the runner's view). */
export const ClaimedEvent = z.discriminatedUnion('kind', [
  claimed('validate'),
  claimed('browse'),
  claimed('backup').extend({
    job: JobSpec,
    generation: z.number().int(),
    nextGeneration: z.number().int(),
    forkFrom: z.object({ generation: z.number().int(), snapshotGuid: z.string() }).nullable(),
    /**
     * The target datasets the catalog records for this target, job and `generation`. A source
     * whose copy is listed here but gone from the target was destroyed by hand (start nextGeneration);
     * one not listed never arrived (continue `generation` with a full send).
     */
    catalogDatasets: z.array(z.string()),
    /** Old generations to destroy after the backup, with why (absent: none). */
    dropGenerations: z.array(z.object({ generation: z.number().int(), reason: z.string() })).optional(),
  }),
  claimed('restore').extend({
    job: JobSpec,
    params: z.object({
      generation: z.number().int(),
      snapshot: z.string(),
      guid: z.string(),
      dataset: z.string(),
      keepReplaced: z.boolean().optional(),
    }),
  }),
  claimed('oob-restore').extend({
    params: z.object({
      dataset: z.string(),
      snapshotDataset: z.string(),
      generation: z.number().int().nullable(),
      snapshot: z.string(),
      guid: z.string(),
      destination: z.string(),
      restoreNetwork: z.boolean(),
      overwrite: z.boolean(),
      guest: z.record(z.string(), z.unknown()).nullable(),
      newGuestId: z.string().nullable(),
      sourceJobId: z.number().int().nullable(),
      network: z.record(z.string(), z.unknown()).nullable().optional(),
      keepReplaced: z.boolean().optional(),
    }),
  }),
  // no target: the work is on the node only
  claimed('remove-kept')
    .omit({ target: true })
    .extend({ params: z.object({ dataset: z.string(), restoreEventId: z.number().int(), guids: z.array(z.string()) }) }),
]);
// The schema (what the server sends and documents) and the runner's types describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameClaimedEvent: Same<z.infer<typeof ClaimedEvent>, RunnerClaimedEvent> = true;
void sameClaimedEvent;

export const ClaimResponse = z.object({
  events: z.array(ClaimedEvent),
  leaseMs: z.number().int(),
  /** Report the inventory now: someone is choosing among this node's datasets. */
  inventoryWanted: z.boolean().optional(),
});

const LogLine = z.object({
  ts: z.string().optional(),
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  message: z.string().max(10_000),
});

const Phase = z.enum(PHASES);

export const ProgressRequest = z
  .object({
    phase: Phase.optional(),
    bytesDone: z.number().int().min(0).optional(),
    bytesTotal: z.number().int().min(0).nullable().optional(),
    rateBps: z.number().min(0).nullable().optional(),
    etaSeconds: z.number().min(0).nullable().optional(),
    destination: z.string().max(1000).optional(),
    snapshot: z.string().max(255).optional(),
    log: z.array(LogLine).max(500).optional(),
  })
  .strict();
export const ProgressResponse = z.object({ cancelRequested: z.boolean(), leaseUntil: z.string() });

/** Status of earlier events of this node (the runner checks the owner of a leftover before cleaning it). */
export const EventStatusRequest = z.object({ ids: z.array(z.number().int().positive()).min(1).max(100) }).strict();
export const EventStatusResponse = z.object({ events: z.array(z.object({ id: z.number().int(), status: z.string() })) });

export const CatalogSnapshot = z.object({
  name: z.string().max(255),
  guid: z.string().regex(/^\d+$/),
  createtxg: z.string().regex(/^\d+$/),
  createdAt: z.string(),
  usedBytes: z.number().int().min(0),
  referencedBytes: z.number().int().min(0),
  jobId: z.number().int().nullable(),
  generation: z.number().int().nullable(),
});
export const CatalogDataset = z.object({
  dataset: datasetName,
  jobId: z.number().int().nullable(),
  generation: z.number().int().nullable(),
  source: z.string().nullable(),
  guest: z.record(z.string(), z.unknown()).nullable(),
  snapshots: z.array(CatalogSnapshot),
});

/** A backup's source datasets and their snapshots after retention (the source side of the retention preview). */
export const SourceSnapshotsReport = z
  .array(
    z.object({
      dataset: datasetName,
      snapshots: z
        .array(
          z.object({
            name: z.string().min(1).max(255),
            guid: z.string().regex(/^\d+$/),
            createtxg: z.string().regex(/^\d+$/),
            /** unix seconds */
            creation: z.number().int().min(0),
            jobId: z.number().int().nullable(),
            generation: z.number().int().nullable(),
            userrefs: z.number().int().min(0),
          }),
        )
        .max(100_000),
    }),
  )
  .max(10_000);

export const FinishRequest = z
  .object({
    status: z.enum(FINISHED_STATUSES),
    error: z.string().max(20_000).nullable().optional(),
    errorClass: z.string().max(40).nullable().optional(),
    result: z.record(z.string(), z.unknown()).nullable().optional(),
    log: z.array(LogLine).max(500).optional(),
    /** Where a run that did not succeed stopped (its last phase, which the last heartbeat may not have carried). */
    phase: Phase.nullable().optional(),
  })
  .strict();

/**
 * Largest inventory a node may report (README, Operations): it is written in one batch, about
 * 0.6 s for 20,000 datasets here; a node with more limits itself with --pools.
 */
export const INVENTORY_MAX_DATASETS = 20_000;
export const INVENTORY_MAX_GUESTS = 2_000;

export const InventoryRequest = z
  .object({
    zfsVersion: z.string().max(200).nullable(),
    capabilities: z.record(z.string(), z.boolean()).default({}),
    pools: z.array(z.string().max(255)).max(1000).default([]),
    /** The runner's version (absent from runners before 0.1.1). */
    runnerVersion: z.string().max(64).optional(),
    /** Each pool's root dataset: used and available bytes (absent from runners before 0.1.1). */
    poolSpace: z
      .array(z.object({ name: z.string().max(255), usedBytes: z.number().int().min(0), availableBytes: z.number().int().min(0) }))
      .max(1000)
      .optional(),
    /** Configured guest providers, in the order a restore picks them (absent from runners before 0.1: unknown). */
    guestProviders: z
      .array(z.enum(['manifest', 'jail', 'vm-bhyve']))
      .max(3)
      .optional(),
    datasets: z
      .array(
        z.object({
          name: datasetName,
          usedBytes: z.number().int().min(0).nullable().optional(),
          referencedBytes: z.number().int().min(0).nullable().optional(),
          mountpoint: z.string().max(1024).nullable().optional(),
          /** A received backup copy or a restore's leftover (protocol/src/layout.ts); absent from older runners. */
          role: z.enum(DATASET_ROLES).nullable().optional(),
        }),
      )
      .max(INVENTORY_MAX_DATASETS)
      .default([]),
    guests: z
      .array(
        z.object({
          kind: z.enum(['jail', 'vm']),
          id: z.string().min(1).max(64),
          name: z.string().min(1).max(255),
          roots: z.array(datasetName).min(1),
          network: z.record(z.string(), z.unknown()).nullable().optional(),
          running: z.boolean(),
          provider: z.string().max(40),
        }),
      )
      .max(INVENTORY_MAX_GUESTS)
      .default([]),
  })
  .strict();

export const CatalogRequest = z
  .object({
    eventId: z.number().int().positive(),
    /** true: these are all datasets of the target under its backup root (replace); false: upsert. */
    complete: z.boolean().default(false),
    datasets: z.array(CatalogDataset).max(10_000),
  })
  .strict();

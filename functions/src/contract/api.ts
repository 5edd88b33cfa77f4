// Request and response schemas of /api/v1 (they also produce the OpenAPI document).
import { EVENT_KINDS, EVENT_STATUSES } from '../../../protocol/src/events.ts';
import { excludeListError } from '../../../protocol/src/exclude.ts';
import { DATASET_ROLES } from '../../../protocol/src/layout.ts';
import { z } from '@hono/zod-openapi';
import {
  datasetName,
  hostKeyFingerprint,
  id,
  mailHost,
  privateKey,
  resourceName,
  sshHost,
  sshPort,
  sshUser,
  retentionPolicy,
} from './fields.ts';

const iso = z.string().nullable().openapi({ format: 'date-time' });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      fields: z.record(z.string(), z.string()),
    }),
    activeEventId: z.number().int().optional(),
  })
  .openapi('Error');

export const IdParam = z.object({ id: id.openapi({ param: { name: 'id', in: 'path' } }) });
export const Accepted = z.object({ eventId: z.number().int() }).openapi('Accepted');
export const Ok = z.object({ ok: z.boolean() });

// ---- bandwidth (jobs and targets) ----
const bandwidthLimitKiBps = z
  .number({ error: 'must be an integer ≥ 0 (KiB/s; 0 or null: unlimited)' })
  .int('must be an integer ≥ 0 (KiB/s; 0 or null: unlimited)')
  .min(0, 'must be an integer ≥ 0 (KiB/s; 0 or null: unlimited)')
  .max(10_485_760, 'is larger than 10485760 KiB/s (10 GiB/s)')
  .nullable()
  .openapi({
    description:
      'Bandwidth limit of every backup and restore stream, in KiB/s (1024 = 1 MiB/s); 0 or null: unlimited. ' +
      "A job's and its target's limits both apply: the lower wins.",
  });

// ---- targets ----
const generateKeyPair = z.literal(true, { error: 'must be true when given' }).openapi({
  description:
    'The server makes an ed25519 key pair: the private key is sealed and never returned, the public one is the ' +
    'authorizedKeysLine of the target. Instead of sshPrivateKey (on update: replaces the key).',
});
/** A check of sshPrivateKey against generateKeyPair, made even when other fields fail (so a 400 names every field). */
const keyOrPair = (message: string) => ({
  path: ['sshPrivateKey'],
  message,
  when: (p: { value: unknown }) => typeof p.value === 'object' && p.value !== null,
});
const expectedHostKey = hostKeyFingerprint.nullable().openapi({
  description:
    "The target's host key fingerprint (SHA256:…, ssh-keygen -l) when known beforehand: a validation that sees it pins it " +
    'without a confirmation, one that sees another key fails and pins nothing. null clears it.',
});
export const TargetCreate = z
  .object({
    name: resourceName,
    sshHost,
    sshUser: sshUser.default('root'),
    sshPort: sshPort.default(22),
    sshPrivateKey: privateKey.optional(),
    generateKeyPair: generateKeyPair.optional(),
    expectedHostKeyFingerprint: expectedHostKey.optional(),
    validate: z.boolean().default(false).openapi({
      description: 'Queue a validation from every node right after the target is created (the web UI sends true). Default false.',
    }),
    backupRoot: datasetName,
    description: z.string().max(1000, 'is longer than 1000 characters').default(''),
    createBackupRoot: z.boolean().default(false),
    enabled: z.boolean().default(true),
    bandwidthLimitKiBps: bandwidthLimitKiBps.default(null),
  })
  .strict()
  .refine((b) => !(b.generateKeyPair && b.sshPrivateKey), keyOrPair('must be left out when generateKeyPair is true'))
  .refine((b) => b.generateKeyPair || b.sshPrivateKey, keyOrPair('is required unless generateKeyPair is true'))
  .openapi('TargetCreate');

export const TargetPatch = z
  .object({
    name: resourceName,
    sshHost,
    sshUser,
    sshPort,
    /** Empty or absent keeps the stored key. */
    sshPrivateKey: z.union([z.literal(''), privateKey]),
    generateKeyPair,
    expectedHostKeyFingerprint: expectedHostKey,
    backupRoot: datasetName,
    description: z.string().max(1000, 'is longer than 1000 characters'),
    createBackupRoot: z.boolean(),
    enabled: z.boolean(),
    bandwidthLimitKiBps,
  })
  .partial()
  .strict()
  .refine((b) => !(b.generateKeyPair && b.sshPrivateKey), keyOrPair('must be left out when generateKeyPair is true'))
  .openapi('TargetPatch');

export const TargetNodeStatus = z.object({
  nodeId: z.number().int(),
  nodeName: z.string(),
  state: z.enum(['ready', 'not-validated', 'failed', 'config-changed', 'host-key-pending']).openapi({
    description: 'host-key-pending: validated while no host key is pinned; the key it saw awaits a confirmation.',
  }),
  error: z.string().nullable(),
  validatedAt: iso,
});

export const Target = z
  .object({
    id: z.number().int(),
    name: z.string(),
    sshHost: z.string(),
    sshUser: z.string(),
    sshPort: z.number().int(),
    hasPrivateKey: z.boolean(),
    backupRoot: z.string(),
    description: z.string(),
    createBackupRoot: z.boolean(),
    enabled: z.boolean(),
    bandwidthLimitKiBps,
    hostKeyFingerprint: z.string().nullable(),
    pendingHostKeyFingerprint: z.string().nullable().openapi({
      description: 'The host key a validation saw on the unpinned target: confirm it (host-key/confirm) to pin it.',
    }),
    expectedHostKeyFingerprint: z.string().nullable(),
    authorizedKeysLine: z.string().nullable().openapi({
      description: 'For a key pair made by the server: the line for ~/.ssh/authorized_keys on the target (public).',
    }),
    readiness: z.enum(['ready', 'failed', 'not-validated']).openapi({
      description: 'ready: host key pinned and a node validated the current settings; failed: a node failed to; otherwise not-validated.',
    }),
    nodeStatus: z.array(TargetNodeStatus),
    createdAt: iso,
    updatedAt: iso,
  })
  .openapi('Target');

export const NodeRef = z.object({ nodeId: id.optional() }).strict();
export const HostKeyConfirm = z.object({ fingerprint: hostKeyFingerprint }).strict().openapi('HostKeyConfirm');

// ---- jobs ----
const sendDecrypted = z.boolean().openapi({
  description:
    'Encrypted source datasets are sent raw (`zfs send -w`) by default: keys stay on the node and the target holds ' +
    'ciphertext only. true sends them decrypted: the target holds the plaintext, readable without the keys. Default false.',
});
const compressedStream = z.boolean().openapi({
  description:
    'Compressed streams (`zfs send -c`, blocks sent as compressed on disk) where both the node and the target support ' +
    'them (OpenZFS; with -L -e, large and embedded blocks kept as they are, which this does not switch). false sends ' +
    'blocks decompressed (the target recompresses them with its own compression setting). Default true.',
});
const exclude = z
  .array(z.string())
  // checked as a list, so an error names the field `exclude` and the pattern in its message
  .superRefine((list, ctx) => {
    const err = excludeListError(list);
    if (err) ctx.addIssue({ code: 'custom', message: err[1] });
  })
  .openapi({
    description:
      'Children of a recursive dataset job to leave out: paths relative to the source, `*` within a path component, ' +
      '`**` for any number of components; a matching dataset is left out with everything below it. Default none.',
    example: ['tmp', '**/cache'],
  });
const jobFields = {
  name: resourceName,
  targetId: id,
  nodeId: id,
  mode: z.enum(['dataset', 'jail', 'vm']),
  source: z.string().trim().min(1, 'is required').max(255, 'is longer than 255 characters'),
  schedule: z.string().trim().max(200, 'is too long'),
  timezone: z.string().min(1, 'is required').max(64, 'is too long'),
  keepLast: z
    .number({ error: 'must be an integer ≥ 0' })
    .int('must be an integer ≥ 0')
    .min(0, 'must be an integer ≥ 0')
    .max(100_000, 'is too large'),
  enabled: z.boolean(),
  pruneTarget: z.boolean(),
  stopBeforeBackup: z.boolean(),
  recursive: z.boolean(),
  sendDecrypted,
  compressedStream,
  bandwidthLimitKiBps,
  exclude,
  sourceRetention: retentionPolicy.nullable(),
  targetRetention: retentionPolicy.nullable(),
  keepGenerations: z
    .number({ error: 'must be an integer ≥ 1 or null' })
    .int('must be an integer ≥ 1 or null')
    .min(1, 'must be an integer ≥ 1 or null')
    .max(1000, 'must be at most 1000')
    .nullable()
    .openapi({
      description:
        'Old generations on the target: keep the newest K, the current one included (new jobs: 2); null: no count rule. ' +
        'A generation kept by neither rule is destroyed by the next backup (never the current one, one a restore reads, or the fork point).',
    }),
  keepGenerationDays: z
    .number({ error: 'must be an integer ≥ 0 or null' })
    .int('must be an integer ≥ 0 or null')
    .min(0, 'must be an integer ≥ 0 or null')
    .max(36_500, 'must be at most 36500')
    .nullable()
    .openapi({
      description:
        'Keep an old generation this many days after it stopped being current; null: no age rule. Both null: keep every generation.',
    }),
  rpoSeconds: z
    .number({ error: 'must be a number of seconds or null' })
    .int('must be a whole number of seconds')
    .min(60, 'must be at least 60 seconds')
    .max(366 * 86_400, 'must be at most a year')
    .nullable()
    .openapi({
      description:
        'A backup must have succeeded within this many seconds; null: twice the schedule’s longest interval (none for a job without a schedule).',
    }),
};
export const JobCreate = z
  .object(jobFields)
  .partial({
    nodeId: true,
    schedule: true,
    timezone: true,
    keepLast: true,
    enabled: true,
    pruneTarget: true,
    stopBeforeBackup: true,
    recursive: true,
    sendDecrypted: true,
    compressedStream: true,
    bandwidthLimitKiBps: true,
    exclude: true,
    sourceRetention: true,
    targetRetention: true,
    rpoSeconds: true,
    keepGenerations: true,
    keepGenerationDays: true,
  })
  .strict()
  .openapi('JobCreate');
export const JobPatch = z.object(jobFields).partial().strict().openapi('JobPatch');

export const JobHealth = z
  .object({
    state: z.enum(['ok', 'overdue', 'failing', 'disabled']),
    reason: z.string(),
    since: iso,
  })
  .openapi('JobHealth', {
    description:
      'disabled; failing (the last backups failed, since the first of them); overdue (no success within the RPO, since the deadline); ok',
  });

export const Job = z
  .object({
    id: z.number().int(),
    name: z.string(),
    targetId: z.number().int(),
    nodeId: z.number().int(),
    mode: z.enum(['dataset', 'jail', 'vm']),
    source: z.string(),
    schedule: z.string(),
    timezone: z.string(),
    keepLast: z.number().int(),
    enabled: z.boolean(),
    pruneTarget: z.boolean(),
    stopBeforeBackup: z.boolean(),
    recursive: z.boolean(),
    sendDecrypted,
    compressedStream,
    bandwidthLimitKiBps,
    exclude: z.array(z.string()),
    sourceRetention: retentionPolicy.nullable().openapi({
      description: 'The source side’s policy; null: the simple form (Keep Last on the source).',
    }),
    targetRetention: retentionPolicy.nullable().openapi({
      description: 'The target side’s policy; null: the simple form (Keep Last with Prune on Target, else nothing pruned).',
    }),
    keepGenerations: z.number().int().nullable(),
    keepGenerationDays: z.number().int().nullable(),
    rpoSeconds: z.number().int().nullable(),
    rpoEffectiveSeconds: z.number().int().nullable().openapi({ description: 'The RPO in force (rpoSeconds or the default); null: none' }),
    health: JobHealth,
    lastSuccessAt: iso,
    lastBackup: z
      .object({
        status: z.string(),
        durationSeconds: z.number().nullable(),
        bytes: z.number().int().nullable(),
        eventId: z.number().int().nullable().openapi({ description: 'Its event (null: it was deleted before this was recorded)' }),
        finishedAt: iso,
      })
      .nullable()
      .openapi({ description: 'The last backup that ran (restores are not counted), null before the first' }),
    lastRestore: z
      .object({ status: z.string(), eventId: z.number().int().nullable(), finishedAt: iso })
      .nullable()
      .openapi({ description: "The job's last restore that ran, apart from its backups; null before the first" }),
    snapshots: z.object({ source: z.number().int().nullable(), target: z.number().int().nullable() }).openapi({
      description: "The job's snapshots on each side after its last backup; null before the first",
    }),
    backups: z.object({ succeeded: z.number().int(), failed: z.number().int() }).openapi({
      description: 'Finished backups since the job was created (failed: failed or interrupted), counted beyond what event retention keeps',
    }),
    nextRunAt: iso,
    lastRunAt: iso.openapi({
      description: 'When the last backup or restore of the job began (lastBackup and lastRestore tell them apart)',
    }),
    lastStatus: z.string().nullable(),
    currentGeneration: z.number().int(),
    hasWebhookToken: z.boolean(),
    createdAt: iso,
    updatedAt: iso,
  })
  .openapi('Job');

export const WebhookToken = z.object({ token: z.string(), url: z.string() });

/** Keep the replaced dataset (set aside, listed under GET /kept-datasets, removable later) instead of destroying it after the swap. */
const keepReplaced = z.boolean().default(false).openapi({
  description: 'Keep the replaced dataset, set aside as <name>-lb-old-<event> and listed by GET /kept-datasets, instead of destroying it',
});

export const RestoreFromJob = z
  .object({
    generation: z.number().int().positive(),
    snapshot: z.string().min(1, 'is required').max(255),
    keepReplaced,
  })
  .strict();

export const Generations = z.array(
  z.object({
    generation: z.number().int(),
    current: z.boolean(),
    createdAt: iso,
    reason: z.string().nullable(),
    snapshots: z.array(
      z.object({
        name: z.string(),
        guid: z.string(),
        createdAt: iso,
        usedBytes: z.number(),
        referencedBytes: z.number(),
      }),
    ),
  }),
);

// ---- retention preview (protocol/src/retention.ts) ----
const retentionSide = z.enum(['source', 'target']);
const previewSnapshotIn = z
  .object({
    name: z.string().min(1, 'is required').max(255),
    guid: z.string().regex(/^\d+$/, 'must be a decimal GUID'),
    createtxg: z.string().regex(/^\d+$/, 'must be a decimal txg'),
    createdAt: z.string().datetime({ offset: true, message: 'must be an ISO 8601 time' }),
    jobId: z.number().int().nullable(),
    generation: z.number().int().nullable(),
    userrefs: z.number().int().min(0).default(0),
    cloned: z.boolean().default(false),
  })
  .strict();
const previewDatasetIn = z
  .object({
    dataset: z.string().min(1).max(255),
    snapshots: z.array(previewSnapshotIn).max(100_000),
    /** GUIDs of the same dataset on the other side (the newest common one is kept) */
    otherSideGuids: z.array(z.string().regex(/^\d+$/)).max(100_000).default([]),
  })
  .strict();
export const RetentionPreviewQuery = z.object({
  side: retentionSide.openapi({ param: { name: 'side', in: 'query' }, description: 'Which side of the job' }),
});
export const RetentionPreviewRequest = z
  .object({
    side: retentionSide,
    jobId: z.number().int().positive(),
    /** the current generation: on the target only its snapshots are candidates */
    generation: z.number().int().positive().optional(),
    policy: retentionPolicy.nullable(),
    timezone: z.string().min(1, 'is required').max(64, 'is too long'),
    /** the time `within` counts back from (default: now) */
    now: z.string().datetime({ offset: true, message: 'must be an ISO 8601 time' }).optional(),
    datasets: z.array(previewDatasetIn).max(10_000),
  })
  .strict()
  .openapi('RetentionPreviewRequest');
export const RetentionPreview = z
  .object({
    side: retentionSide,
    policy: retentionPolicy.nullable().openapi({ description: 'The policy in force on this side; null: nothing is destroyed' }),
    timezone: z.string(),
    generation: z.number().int().nullable(),
    now: z.string(),
    /** when the listing was reported (source: the job's last backup; target: the catalog), null if never */
    listedAt: iso,
    datasets: z.array(
      z.object({
        dataset: z.string(),
        otherSideGuids: z.array(z.string()),
        snapshots: z.array(
          z.object({
            name: z.string(),
            guid: z.string(),
            createtxg: z.string(),
            createdAt: z.string(),
            jobId: z.number().int().nullable(),
            generation: z.number().int().nullable(),
            userrefs: z.number().int(),
            cloned: z.boolean(),
            keep: z.boolean(),
            reasons: z.array(z.string()),
          }),
        ),
      }),
    ),
  })
  .openapi('RetentionPreview');

// ---- what a target holds (the catalog; GET /targets/{id}/datasets) ----
export const CatalogItem = z.object({
  /** The target dataset of the newest generation. */
  dataset: z.string(),
  jobId: z.number().int().nullable(),
  /** The source path it is a backup of (null: not laid out by a job). */
  source: z.string().nullable(),
  /** The guest metadata recorded with it (a jail or VM), as read from the target: untrusted. */
  guest: z.record(z.string(), z.unknown()).nullable(),
  suggestedDestination: z.string().nullable(),
  generations: z.array(
    z.object({
      generation: z.number().int(),
      dataset: z.string(),
      snapshots: z.array(
        z.object({
          name: z.string(),
          guid: z.string(),
          createdAt: iso,
          usedBytes: z.number(),
          referencedBytes: z.number(),
          dataset: z.string(),
        }),
      ),
    }),
  ),
});

// ---- OOB restores ----
export const OobRestore = z
  .object({
    targetId: id,
    nodeId: id.optional(),
    dataset: datasetName,
    generation: z.number().int().positive(),
    snapshot: z.string().min(1, 'is required').max(255),
    destination: datasetName,
    restoreNetwork: z.boolean().default(false),
    /** To replace an existing destination, its name repeated (a typed confirmation); false or absent: never replace. */
    overwrite: z
      .union([z.literal(false), z.string().max(255)])
      .default(false)
      .openapi({
        description: 'To replace an existing destination: its name again, exactly. false (or absent): an existing destination is a 409.',
      }),
    newGuestId: z.string().max(64).optional(),
    /** With overwrite: keep the replaced destination instead of destroying it. */
    keepReplaced,
    network: z
      .record(z.string(), z.unknown())
      .nullable()
      .optional()
      .openapi({
        description:
          'Your own network configuration for a restored jail or VM: it replaces the one in the backup (and implies restoring a network). ' +
          'A jail takes jail(8) parameters (ip4, ip4.addr, ip6, ip6.addr, interface, vnet, vnet.interface, ip_hostname, …); a VM { interfaces: [{ type, switch, mac, device, span }] }. ' +
          'Anything else is a 400 naming the key. POST /restores/preview shows what will be registered.',
      }),
  })
  .strict()
  .openapi('OobRestore');

export const RestorePreview = z
  .object({
    destination: z.string(),
    /** The destination exists and is replaced (overwrite repeated its name). */
    replaces: z.boolean(),
    guest: z
      .object({
        kind: z.enum(['jail', 'vm']),
        /** The id (and name) it is registered under. */
        id: z.string(),
        name: z.string(),
        sourceId: z.string(),
        /** Where its network configuration comes from: yours (the request), the backup, or none. */
        network: z.enum(['yours', 'backup', 'none']),
        /** Who registers it on the node; null: the node has no provider for it (the restore would fail). */
        provider: z.enum(['manifest', 'jail', 'vm-bhyve']).nullable(),
        /** Exactly what is written: the jail.conf.d file, the vm-bhyve conf settings, or the manifest entry. */
        file: z.string().nullable(),
        text: z.string().nullable(),
        /** Metadata keys from the backup that are not restored (not on the allow-list). */
        dropped: z.array(z.string()),
        notes: z.array(z.string()),
      })
      .nullable(),
  })
  .openapi('RestorePreview');

// ---- events ----
export const Event = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    jobId: z.number().int().nullable(),
    jobName: z.string().nullable(),
    nodeId: z.number().int(),
    targetId: z.number().int().nullable(),
    trigger: z.string(),
    status: z.string(),
    phase: z.string().nullable(),
    source: z.string().nullable(),
    destination: z.string().nullable(),
    generation: z.number().int().nullable(),
    snapshot: z.string().nullable(),
    bytesDone: z.number(),
    bytesTotal: z.number().nullable(),
    rateBps: z.number().nullable(),
    etaSeconds: z.number().nullable(),
    note: z.string().nullable(),
    error: z.string().nullable(),
    errorClass: z.string().nullable(),
    cancelRequested: z.boolean(),
    createdAt: iso,
    startedAt: iso,
    finishedAt: iso,
  })
  .openapi('Event');

/** One line of an event's log (GET /events/{id}/log). */
export const EventLogLine = z.object({ ts: z.string(), level: z.string(), message: z.string() });

const kindList = z
  .string()
  .max(200)
  .transform((s, ctx) => {
    const kinds = s.split(',').filter(Boolean);
    const bad = kinds.find((k) => !(EVENT_KINDS as readonly string[]).includes(k));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `has an unknown kind "${bad.slice(0, 40)}" (one of ${EVENT_KINDS.join(', ')})` });
      return z.NEVER;
    }
    return kinds as readonly (typeof EVENT_KINDS)[number][];
  })
  .openapi({ type: 'string', description: 'Comma-separated event kinds, e.g. validate,browse' });

/** The filters of the events list (and of its count). */
export const EventFilter = z.object({
  jobId: id.optional(),
  nodeId: id.optional(),
  status: z.enum(EVENT_STATUSES).optional(),
  kind: z.enum(EVENT_KINDS).optional(),
  hideKinds: kindList.optional().openapi({ description: 'Leave these kinds out (the UI hides validate,browse by default)' }),
  q: z.string().max(200).optional(),
});
export const EventQuery = EventFilter.extend({
  cursor: id.optional().openapi({ description: 'Older than this id (the nextCursor of the page before)' }),
  after: id.optional().openapi({ description: 'Newer than this id: the page just before it, still newest first' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
/** One event's change as GET /events/stream sends it (a `change` message carries a list of them). */
export const EventChange = z
  .object({
    seq: z.number().int().openapi({ description: 'The change number (the stream sends the largest of a message as its id)' }),
    id: z.number().int(),
    kind: z.string(),
    status: z.string(),
    jobId: z.number().int().nullable(),
    nodeId: z.number().int(),
    phase: z.string().nullable(),
    bytesDone: z.number().int(),
    bytesTotal: z.number().int().nullable(),
    rateBps: z.number().int().nullable(),
    etaSeconds: z.number().int().nullable(),
  })
  .openapi('EventChange');

export const EventCount = z
  .object({
    total: z.number().int(),
    capped: z.boolean().openapi({ description: 'true: there are more than `total` (counting stops there)' }),
  })
  .openapi('EventCount');

export const list = <T extends z.ZodTypeAny>(item: T) => z.object({ items: z.array(item), nextCursor: z.number().int().nullable() });

// ---- nodes ----
export const NodeSummary = z
  .object({
    id: z.number().int(),
    name: z.string(),
    hostname: z.string().nullable(),
    zfsVersion: z.string().nullable(),
    runnerVersion: z.string().nullable(),
    capabilities: z.record(z.string(), z.boolean()).nullable(),
    pools: z.array(z.string()).nullable(),
    /** Each pool's root dataset: used and available bytes, from the last inventory. */
    poolSpace: z.array(z.object({ name: z.string(), usedBytes: z.number(), availableBytes: z.number() })).nullable(),
    jobCount: z.number().int(),
    guestCount: z.number().int(),
    /** Heard from within LIFEBOAT_NOTIFY_NODE_SILENT_MINUTES (not revoked). */
    online: z.boolean(),
    inventoryAt: iso,
    lastSeenAt: iso,
    revoked: z.boolean(),
    createdAt: iso,
  })
  .openapi('Node');

export const NodeDetail = NodeSummary.extend({
  datasets: z.array(
    z.object({
      name: z.string(),
      usedBytes: z.number().nullable(),
      referencedBytes: z.number().nullable(),
      mountpoint: z.string().nullable(),
      /** Not the operator's own data: a received backup copy, or a restore's staging or set-aside leftover (the source picker hides them). */
      role: z.enum(DATASET_ROLES).nullable(),
    }),
  ),
  guests: z.array(
    z.object({
      kind: z.enum(['jail', 'vm']),
      id: z.string(),
      name: z.string(),
      roots: z.array(z.string()),
      network: z.unknown().nullable(),
      running: z.boolean(),
      provider: z.string(),
    }),
  ),
});

/** A replaced dataset a restore kept (docs/zfs.md, "Kept replaced datasets"). */
export const KeptDataset = z
  .object({
    nodeId: z.number().int(),
    nodeName: z.string(),
    dataset: z.string(),
    /** The dataset it replaced (its name before the restore). */
    replaced: z.string(),
    restoreEventId: z.number().int(),
    /** true: kept on request; false: its removal after the restore failed. */
    chosen: z.boolean(),
    /** Removable from here (its GUIDs are known); false: only by hand. */
    removable: z.boolean(),
    keptAt: iso,
    /** A queued or running removal. */
    removeEventId: z.number().int().nullable(),
  })
  .openapi('KeptDataset');
export const RemoveKept = z.object({ nodeId: id, dataset: datasetName }).strict().openapi('RemoveKept');

export const JoinToken = z.object({ token: z.string(), expiresAt: z.string(), command: z.string() });

// ---- sign-in, sessions and API tokens ----
const password = z.string({ error: 'must be a string' }).min(1, 'is required').max(1024, 'is longer than 1024 characters');
export const Login = z.object({ password }).strict().openapi('Login');
export const SessionInfo = z
  .object({
    authenticated: z.boolean(),
    method: z.enum(['session', 'admin-token', 'api-token']).nullable(),
    /** Send as X-CSRF-Token on every cookie-authenticated write. Only for sessions. */
    csrfToken: z.string().nullable(),
    expiresAt: iso,
    passwordSet: z.boolean(),
    /** The server's version; null unless signed in. */
    version: z.string().nullable(),
  })
  .openapi('Session');
export const SetPassword = z
  .object({
    password: z.string({ error: 'must be a string' }).min(12, 'must be at least 12 characters').max(1024, 'is longer than 1024 characters'),
    /** Required when signed in with a session (not with a token). */
    currentPassword: password.optional(),
  })
  .strict()
  .openapi('SetPassword');
const TokenScope = z
  .enum(['read', 'operate', 'admin'])
  .openapi({ description: 'read: GET only; operate: also run, restore, cancel, refresh, validate; admin: everything' });
export const ApiTokenCreate = z
  .object({
    name: resourceName,
    scope: TokenScope.default('read'),
    expiresInDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .openapi({ description: 'Expiry; a token made with an API token never outlives it' }),
  })
  .strict()
  .openapi('ApiTokenCreate');
export const ApiToken = z
  .object({
    id: z.number().int(),
    name: z.string(),
    scope: TokenScope,
    createdAt: iso,
    expiresAt: iso,
    lastUsedAt: iso,
    revoked: z.boolean(),
    revokedAt: iso,
  })
  .openapi('ApiToken');
export const ApiTokenCreated = ApiToken.extend({ token: z.string() }).openapi('ApiTokenCreated');

// ---- notifications ----
const channelUrl = z
  .string()
  .trim()
  .max(2000, 'is longer than 2000 characters')
  .superRefine((v, ctx) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a URL' });
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
    else if (u.username || u.password) ctx.addIssue({ code: 'custom', message: 'must not contain credentials (put a token in "secret")' });
  })
  .openapi({
    description: 'Where notifications are POSTed (webhook: the JSON payload; ntfy: the topic URL, e.g. https://ntfy.sh/mytopic)',
  });
const channelSecret = z.string().max(1000, 'is longer than 1000 characters').openapi({
  description:
    'Write-only. webhook: the HMAC-SHA256 key of X-Lifeboat-Signature; ntfy: the access token (Authorization: Bearer); email: the SMTP password',
});
const mailAddress = z.email({ error: 'is not an email address' }).max(254, 'is longer than 254 characters');
const PEM_CERT = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;
export const EmailSettings = z
  .object({
    host: mailHost.openapi({ description: 'The SMTP server: a host name or an IP address' }),
    port: sshPort.openapi({ description: '465 for tls, 587 for starttls, 25 for a local relay' }),
    security: z.enum(['tls', 'starttls', 'none'], { error: 'must be "tls", "starttls" or "none"' }).openapi({
      description:
        'tls: TLS from the first byte (port 465); starttls: STARTTLS required; none: plain SMTP (a relay on the same host or network)',
    }),
    username: z.string().min(1).max(200, 'is longer than 200 characters').nullable().default(null).openapi({
      description: 'SMTP AUTH user (the password is the channel secret); null: no authentication',
    }),
    from: mailAddress,
    to: z.array(mailAddress).min(1, 'needs at least one address').max(20, 'has more than 20 addresses'),
    caPem: z
      .string()
      .max(16_384, 'is longer than 16384 characters')
      .regex(PEM_CERT, 'must be one PEM certificate (-----BEGIN CERTIFICATE----- …)')
      .nullable()
      .default(null)
      .openapi({ description: 'A CA certificate to trust for this server (a private mail relay); null: the system CAs' }),
  })
  .strict()
  .openapi('EmailSettings');

const CHANNEL_KINDS = ['webhook', 'ntfy', 'email'] as const;
export const NotificationChannelCreate = z
  .object({
    name: resourceName,
    kind: z.enum(CHANNEL_KINDS, { error: 'must be "webhook", "ntfy" or "email"' }),
    url: channelUrl.optional(),
    email: EmailSettings.optional(),
    enabled: z.boolean().default(true),
    secret: channelSecret.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.kind === 'email') {
      if (!v.email) ctx.addIssue({ code: 'custom', path: ['email'], message: 'is required for an email channel' });
      if (v.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is not used by an email channel' });
    } else {
      if (v.url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: `is required for a ${v.kind} channel` });
      if (v.email !== undefined) ctx.addIssue({ code: 'custom', path: ['email'], message: 'is only for an email channel' });
    }
  })
  .openapi('NotificationChannelCreate');

export const NotificationChannelPatch = z
  .object({
    name: resourceName,
    /** webhook and ntfy channels only. */
    url: channelUrl,
    /** email channels only: the whole settings object. */
    email: EmailSettings,
    enabled: z.boolean(),
    /** A string sets it, null or '' clears it, absent keeps it. */
    secret: channelSecret.nullable(),
  })
  .partial()
  .strict()
  .openapi('NotificationChannelPatch');

export const NotificationChannel = z
  .object({
    id: z.number().int(),
    name: z.string(),
    kind: z.enum(CHANNEL_KINDS),
    enabled: z.boolean(),
    /** webhook, ntfy: where requests go; email: null. */
    url: z.string().nullable(),
    /** email: the SMTP settings (the password is the secret, never shown); others: null. */
    email: EmailSettings.nullable(),
    hasSecret: z.boolean(),
    createdAt: iso,
    updatedAt: iso,
  })
  .openapi('NotificationChannel');

export const NotificationAttempt = z.object({
  at: iso,
  ok: z.boolean(),
  httpStatus: z.number().int().nullable(),
  error: z.string().nullable(),
});

export const NotificationDelivery = z
  .object({
    id: z.number().int(),
    channelId: z.number().int(),
    subject: z.string(),
    event: z.string(),
    status: z.enum(['pending', 'sent', 'failed']),
    attempts: z.number().int(),
    nextAttemptAt: iso,
    lastError: z.string().nullable(),
    attemptLog: z.array(NotificationAttempt),
    payload: z.record(z.string(), z.unknown()),
    createdAt: iso,
    updatedAt: iso,
  })
  .openapi('NotificationDelivery');

export const DeliveryQuery = z.object({
  channelId: id.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

// ---- overview (the UI's home: "are my backups OK?") ----
export const OverviewJob = z.object({
  id: z.number().int(),
  name: z.string(),
  nodeId: z.number().int(),
  nodeName: z.string().nullable(),
  targetId: z.number().int(),
  targetName: z.string().nullable(),
  schedule: z.string(),
  timezone: z.string(),
  health: JobHealth,
  lastSuccessAt: iso,
  lastBackup: Job.shape.lastBackup,
  nextRunAt: iso,
  targetBytes: z.number().nullable().openapi({
    description:
      "Space the job's backups take on the target by the last catalog listing: the newest snapshot's referenced bytes plus every snapshot's own used bytes, per dataset (a lower bound: blocks shared by several snapshots are in none's used); null: not listed yet",
  }),
  activeEventId: z.number().int().nullable().openapi({ description: "The job's queued or running backup or restore, if any" }),
});

export const OverviewQuery = z.object({
  jobs: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .openapi({ description: 'List only the first N job lines (the worst first); the counts still cover every job. Default: all' }),
});

export const Overview = z
  .object({
    at: z.string().openapi({ format: 'date-time' }),
    jobs: z.array(OverviewJob).openapi({
      description: 'Every job (the first `jobs` of them when asked), the worst health first (failing, overdue, ok, disabled), then by name',
    }),
    jobsTotal: z.number().int().openapi({ description: 'How many jobs there are (all of them, however many `jobs` lists)' }),
    jobsBackedUp: z.number().int().openapi({ description: 'How many jobs have had a successful backup' }),
    health: z.object({ ok: z.number().int(), overdue: z.number().int(), failing: z.number().int(), disabled: z.number().int() }),
    failures24h: z
      .array(z.object({ kind: z.string(), status: z.enum(['failed', 'interrupted']), count: z.number().int() }))
      .openapi({ description: 'Events that ended failed or interrupted in the last 24 hours, by kind and status' }),
    nodes: z.object({
      total: z.number().int().openapi({ description: 'Nodes not revoked' }),
      offline: z.array(z.object({ id: z.number().int(), name: z.string(), lastSeenAt: iso })).openapi({
        description: 'Nodes not revoked whose runner has not called within LIFEBOAT_NOTIFY_NODE_SILENT_MINUTES (or never did)',
      }),
    }),
    targets: z.object({
      total: z.number().int(),
      ready: z.number().int().openapi({
        description:
          'Enabled targets whose readiness is Ready, as on the Targets page (host key pinned, ready from a node, failed from none)',
      }),
      notReady: z.array(z.object({ id: z.number().int(), name: z.string(), nodes: z.array(TargetNodeStatus) })).openapi({
        description: 'Enabled targets and the live nodes from which they are not ready (failed, not validated, or changed since)',
      }),
    }),
    active: z.array(Event).openapi({ description: 'Queued and running events, oldest first (at most 100)' }),
    changeCursor: z.number().int().openapi({
      description:
        'The event change number this answer was read at (the `cursor` of GET /events/stream): every event change up to it shows here, so a stream whose `hello` cursor is at or below it misses none after it',
    }),
  })
  .openapi('Overview');

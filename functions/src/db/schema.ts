// One schema for every driver (libSQL file/remote, D1). Times are epoch milliseconds.
import { EVENT_KINDS, EVENT_STATUSES } from '../../../protocol/src/events.ts';
import type { RetentionPolicy } from '../../../protocol/src/retention.ts';
import type { DatasetRole } from '../../../protocol/src/layout.ts';
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const now = sql`(unixepoch('subsec') * 1000)`;

export const nodes = sqliteTable(
  'nodes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    hostname: text('hostname'),
    zfsVersion: text('zfs_version'),
    capabilities: text('capabilities', { mode: 'json' }).$type<Record<string, boolean>>(),
    pools: text('pools', { mode: 'json' }).$type<string[]>(),
    /** The guest providers the runner has configured (manifest, jail, vm-bhyve): who registers a restored guest. Null: not reported. */
    guestProviders: text('guest_providers', { mode: 'json' }).$type<string[]>(),
    /** The runner's version (LIFEBOAT_VERSION), from its inventory; null: not reported. */
    runnerVersion: text('runner_version'),
    /** Each reported pool's root dataset: used and available bytes (what is left for data). */
    poolSpace: text('pool_space', { mode: 'json' }).$type<{ name: string; usedBytes: number; availableBytes: number }[]>(),
    inventoryAt: integer('inventory_at'),
    /** The server wants a fresh inventory (a user is choosing datasets): the next claim answer asks for it. */
    inventoryWantedAt: integer('inventory_wanted_at'),
    lastSeenAt: integer('last_seen_at'),
    revokedAt: integer('revoked_at'),
    createdAt: integer('created_at').notNull().default(now),
  },
  (t) => [uniqueIndex('nodes_name_uq').on(t.name), uniqueIndex('nodes_token_uq').on(t.tokenHash)],
);

export const joinTokens = sqliteTable(
  'join_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    tokenHash: text('token_hash').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    nodeId: integer('node_id'),
    createdAt: integer('created_at').notNull().default(now),
  },
  (t) => [uniqueIndex('join_tokens_hash_uq').on(t.tokenHash)],
);

/** Datasets a node reported in its inventory (job sources are checked against it). */
export const nodeDatasets = sqliteTable(
  'node_datasets',
  {
    nodeId: integer('node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    usedBytes: integer('used_bytes'),
    referencedBytes: integer('referenced_bytes'),
    mountpoint: text('mountpoint'),
    /** 'backup' | 'staging' | 'set-aside' as the runner reported it (protocol/src/layout.ts); null: the operator's own, or an older runner */
    role: text('role').$type<DatasetRole>(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.name] })],
);

/**
 * Replaced datasets a restore did not destroy (docs/zfs.md, "Kept replaced datasets"): kept on
 * request, or because their removal failed; as the restore's node reported them. A remove-kept event
 * destroys one (checked by the runner) and its success deletes the row.
 */
export const keptDatasets = sqliteTable(
  'kept_datasets',
  {
    nodeId: integer('node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    dataset: text('dataset').notNull(),
    /** The restore that set it aside (lifeboat:set-aside=<it>). */
    restoreEventId: integer('restore_event_id').notNull(),
    /** The datasets' GUIDs, the root's first; empty: not checkable, only a hand removes it. */
    guids: text('guids', { mode: 'json' }).$type<string[]>().notNull(),
    /** true: the user asked to keep it; false: its removal after the restore failed. */
    chosen: integer('chosen', { mode: 'boolean' }).notNull(),
    keptAt: integer('kept_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.dataset] })],
);

/** Jails and VMs a node reported (guest providers). */
export const guests = sqliteTable(
  'guests',
  {
    nodeId: integer('node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['jail', 'vm'] }).notNull(),
    guestId: text('guest_id').notNull(),
    name: text('name').notNull(),
    roots: text('roots', { mode: 'json' }).$type<string[]>().notNull(),
    network: text('network', { mode: 'json' }).$type<Record<string, unknown> | null>(),
    running: integer('running', { mode: 'boolean' }).notNull().default(false),
    provider: text('provider').notNull(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.kind, t.guestId] })],
);

export const targets = sqliteTable(
  'targets',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    sshHost: text('ssh_host').notNull(),
    sshUser: text('ssh_user').notNull().default('root'),
    sshPort: integer('ssh_port').notNull().default(22),
    sshPrivateKeyEnc: text('ssh_private_key_enc').notNull(),
    backupRoot: text('backup_root').notNull(),
    description: text('description').notNull().default(''),
    createBackupRoot: integer('create_backup_root', { mode: 'boolean' }).notNull().default(false),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    /** KiB/s for every transfer to or from this target; null or 0: unlimited. The lower of this and a job's applies. */
    bandwidthLimitKiBps: integer('bandwidth_limit_kibps'),
    /** Bumped on every edit that affects connectivity; validations record the revision they checked. */
    configRevision: integer('config_revision').notNull().default(1),
    hostKey: text('host_key'),
    hostKeyFingerprint: text('host_key_fingerprint'),
    /** What a validation saw on an unpinned target, shown for an admin to confirm (README, "Adding a target"). */
    pendingHostKey: text('pending_host_key'),
    pendingHostKeyFingerprint: text('pending_host_key_fingerprint'),
    /** Set by automation: a validation that sees this `SHA256:…` pins it without a confirmation; another fails. */
    expectedHostKeyFingerprint: text('expected_host_key_fingerprint'),
    /** `ssh-ed25519 AAAA… lifeboat-<name>` of a key pair made by the server; null for a pasted key. */
    sshPublicKey: text('ssh_public_key'),
    createdAt: integer('created_at').notNull().default(now),
    updatedAt: integer('updated_at').notNull().default(now),
  },
  (t) => [uniqueIndex('targets_name_uq').on(t.name)],
);

/** Validation state of a target as seen from one node. */
export const targetNodeStatus = sqliteTable(
  'target_node_status',
  {
    targetId: integer('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    nodeId: integer('node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    state: text('state', { enum: ['ready', 'failed'] }).notNull(),
    error: text('error'),
    configRevision: integer('config_revision').notNull(),
    validatedAt: integer('validated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.targetId, t.nodeId] })],
);

export const jobs = sqliteTable(
  'jobs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    targetId: integer('target_id')
      .notNull()
      .references(() => targets.id),
    nodeId: integer('node_id')
      .notNull()
      .references(() => nodes.id),
    mode: text('mode', { enum: ['dataset', 'jail', 'vm'] }).notNull(),
    source: text('source').notNull(),
    schedule: text('schedule').notNull().default(''),
    timezone: text('timezone').notNull().default('UTC'),
    keepLast: integer('keep_last').notNull().default(0),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    pruneTarget: integer('prune_target', { mode: 'boolean' }).notNull().default(false),
    stopBeforeBackup: integer('stop_before_backup', { mode: 'boolean' }).notNull().default(false),
    recursive: integer('recursive', { mode: 'boolean' }).notNull().default(false),
    /** Encrypted datasets are sent raw (`zfs send -w`) unless this is set: then the target holds plaintext. */
    sendDecrypted: integer('send_decrypted', { mode: 'boolean' }).notNull().default(false),
    /** `zfs send -c` where both ends have it (with -L -e, which this does not switch); false: blocks are sent decompressed. */
    compressedStream: integer('compressed_stream', { mode: 'boolean' }).notNull().default(true),
    /** KiB/s; null or 0: unlimited. The lower of this and the target's applies. */
    bandwidthLimitKiBps: integer('bandwidth_limit_kibps'),
    /** Children of a recursive dataset job left out, as patterns relative to the source (protocol/src/exclude.ts). */
    exclude: text('exclude', { mode: 'json' }).$type<string[]>().notNull().default([]),
    /** Retention per side (protocol/src/retention.ts); null: the simple form (keepLast, pruneTarget). */
    sourceRetention: text('source_retention', { mode: 'json' }).$type<RetentionPolicy | null>(),
    targetRetention: text('target_retention', { mode: 'json' }).$type<RetentionPolicy | null>(),
    /** Old generations (protocol/src/generations.ts): keep the newest K, the current one included; null: no count rule. */
    keepGenerations: integer('keep_generations'),
    /** …and/or keep one D days after it stopped being current; both null: every generation is kept. */
    keepGenerationDays: integer('keep_generation_days'),
    /** A backup must have succeeded within this (seconds); null: the default (job-health.ts). */
    rpoSeconds: integer('rpo_seconds'),
    /** What `rpoSeconds` is in force: itself, or twice the schedule's longest interval; null: none (manual jobs). Set on save. */
    rpoEffectiveSeconds: integer('rpo_effective_seconds'),
    nextRunAt: integer('next_run_at'),
    lastRunAt: integer('last_run_at'),
    lastStatus: text('last_status'),
    // The job's last finished backup, kept by the trigger events_finish_job (drizzle/migrations/0010):
    // every path that finishes an event (runner finish, lease sweep, cancel, revocation) updates it.
    lastSuccessAt: integer('last_success_at'),
    lastBackupStatus: text('last_backup_status'),
    lastBackupDurationMs: integer('last_backup_duration_ms'),
    lastBackupBytes: integer('last_backup_bytes'),
    /** The event of that backup and when it ended (the Jobs page links its Last-run badge to it; drizzle/migrations/0015). */
    lastBackupEventId: integer('last_backup_event_id'),
    lastBackupAt: integer('last_backup_at'),
    /** The job's last finished restore (that began): shown apart, a restore is not the job's last run (trigger events_finish_restore, 0015). */
    lastRestoreEventId: integer('last_restore_event_id'),
    lastRestoreStatus: text('last_restore_status'),
    lastRestoreAt: integer('last_restore_at'),
    /** When the backups began failing (the first failed or interrupted one since the last success); null: not failing. */
    failingSince: integer('failing_since'),
    /** The job's snapshots on each side after its last backup (source_snapshots, catalog). */
    sourceSnapshotCount: integer('source_snapshot_count'),
    targetSnapshotCount: integer('target_snapshot_count'),
    /** Finished backups of the job since it was created, by the same trigger: the history beyond what event retention keeps (README, Events). */
    backupsSucceeded: integer('backups_succeeded').notNull().default(0),
    /** Failed and interrupted ones (cancelled ones are neither). */
    backupsFailed: integer('backups_failed').notNull().default(0),
    /** Generation the next backup writes into; bumped by the server only. */
    currentGeneration: integer('current_generation').notNull().default(1),
    /** Set by a successful job restore: the next backup forks a new generation from it. */
    forkFromGeneration: integer('fork_from_generation'),
    forkFromGuid: text('fork_from_guid'),
    webhookTokenHash: text('webhook_token_hash'),
    createdAt: integer('created_at').notNull().default(now),
    updatedAt: integer('updated_at').notNull().default(now),
  },
  (t) => [
    uniqueIndex('jobs_name_uq').on(t.name),
    index('jobs_due_idx').on(t.nodeId, t.nextRunAt),
    // the Node entry's due-job poke reads only the due jobs of all nodes (queue.ts nodesWithDueJobs)
    index('jobs_next_run_idx').on(t.nextRunAt),
    index('jobs_target_idx').on(t.targetId),
  ],
);

export { EVENT_KINDS, EVENT_STATUSES };

/** Events are the work queue and the history. jobId is deliberately not a foreign key: events outlive jobs. */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: EVENT_KINDS }).notNull(),
    jobId: integer('job_id'),
    jobName: text('job_name'),
    nodeId: integer('node_id').notNull(),
    targetId: integer('target_id'),
    trigger: text('trigger').notNull(),
    status: text('status', { enum: EVENT_STATUSES }).notNull().default('queued'),
    phase: text('phase'),
    source: text('source'),
    destination: text('destination'),
    generation: integer('generation'),
    snapshot: text('snapshot'),
    bytesDone: integer('bytes_done').notNull().default(0),
    bytesTotal: integer('bytes_total'),
    rateBps: integer('rate_bps'),
    etaSeconds: integer('eta_seconds'),
    note: text('note'),
    error: text('error'),
    errorClass: text('error_class'),
    params: text('params', { mode: 'json' }).$type<Record<string, unknown>>(),
    result: text('result', { mode: 'json' }).$type<Record<string, unknown>>(),
    idempotencyKey: text('idempotency_key'),
    cancelRequested: integer('cancel_requested', { mode: 'boolean' }).notNull().default(false),
    /** Bytes of log text reported for the event; beyond EVENT_LOG_MAX_BYTES nothing more is stored (services/queue.ts appendLogs). */
    logBytes: integer('log_bytes').notNull().default(0),
    leaseUntil: integer('lease_until'),
    createdAt: integer('created_at').notNull().default(now),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    /** The change number of the row's last visible change (trigger events_change_*, drizzle/migrations/0015): GET /events/stream reads rows above a cursor. */
    changeSeq: integer('change_seq'),
  },
  (t) => [
    // One queued/running backup-or-restore per job, enforced by the database.
    uniqueIndex('events_one_active_per_job_uq')
      .on(t.jobId)
      .where(sql`status IN ('queued','running') AND kind IN ('backup','restore')`),
    uniqueIndex('events_idempotency_uq')
      .on(t.idempotencyKey)
      .where(sql`idempotency_key IS NOT NULL`),
    index('events_job_idx').on(t.jobId, t.id),
    index('events_node_status_idx').on(t.nodeId, t.status, t.id),
    index('events_node_idx').on(t.nodeId, t.id),
    // status + id: the history filtered by status pages in id order; the lease sweep reads the few running rows through it
    index('events_status_idx').on(t.status, t.id),
    index('events_kind_idx').on(t.kind, t.id),
    index('events_target_idx').on(t.targetId, t.id),
    index('events_change_idx').on(t.changeSeq),
  ],
);

export const eventLogs = sqliteTable(
  'event_logs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    eventId: integer('event_id').notNull(),
    ts: integer('ts').notNull(),
    level: text('level').notNull().default('info'),
    message: text('message').notNull(),
  },
  (t) => [index('event_logs_event_idx').on(t.eventId, t.id)],
);

/** Finished events by kind and status since the database began: never goes down (Prometheus counters); kept by triggers. */
export const eventCounts = sqliteTable(
  'event_counts',
  {
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    n: integer('n').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.kind, t.status] })],
);

/** How many rows `events` has, kept by triggers (one row, id 1): event retention's global cap reads one row, not the table. */
export const eventTotals = sqliteTable('event_totals', {
  id: integer('id').primaryKey(),
  rows: integer('rows').notNull(),
});

/** The last change number given to an event row (one row, id 1), by the triggers events_change_* (drizzle/migrations/0015): the event stream's cursor costs one read. */
export const eventChanges = sqliteTable('event_changes', {
  id: integer('id').primaryKey(),
  seq: integer('seq').notNull(),
});

/** Small durable facts of housekeeping, by name (e.g. event retention's watermark: the newest event id it has looked at). */
export const housekeeping = sqliteTable('housekeeping', {
  name: text('name').primaryKey(),
  value: integer('value').notNull(),
});

/** Catalog of what a target holds, reported by runners (backups and browse events). */
export const catalogDatasets = sqliteTable(
  'catalog_datasets',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    targetId: integer('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    dataset: text('dataset').notNull(),
    jobId: integer('job_id'),
    generation: integer('generation'),
    source: text('source'),
    guest: text('guest', { mode: 'json' }).$type<Record<string, unknown> | null>(),
    updatedAt: integer('updated_at').notNull().default(now),
  },
  (t) => [uniqueIndex('catalog_datasets_uq').on(t.targetId, t.dataset), index('catalog_datasets_job_idx').on(t.jobId, t.generation)],
);

export const catalogSnapshots = sqliteTable(
  'catalog_snapshots',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    targetId: integer('target_id')
      .notNull()
      .references(() => targets.id, { onDelete: 'cascade' }),
    dataset: text('dataset').notNull(),
    name: text('name').notNull(),
    guid: text('guid').notNull(),
    createtxg: text('createtxg'),
    jobId: integer('job_id'),
    generation: integer('generation'),
    createdAt: integer('created_at').notNull(),
    usedBytes: integer('used_bytes').notNull().default(0),
    referencedBytes: integer('referenced_bytes').notNull().default(0),
  },
  (t) => [
    uniqueIndex('catalog_snapshots_uq').on(t.targetId, t.dataset, t.name),
    index('catalog_snapshots_job_idx').on(t.jobId, t.generation),
  ],
);

/**
 * A job's source snapshots as its last backup left them (after retention): the source side of the
 * retention preview. Reported by the job's own node, replaced whole by each backup.
 */
export const sourceSnapshots = sqliteTable(
  'source_snapshots',
  {
    jobId: integer('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    dataset: text('dataset').notNull(),
    name: text('name').notNull(),
    guid: text('guid').notNull(),
    createtxg: text('createtxg').notNull(),
    createdAt: integer('created_at').notNull(),
    /** lifeboat:job of the snapshot (null: not made by Lifeboat) */
    snapshotJobId: integer('snapshot_job_id'),
    generation: integer('generation'),
    userrefs: integer('userrefs').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.dataset, t.name] })],
);

/** Generations of a job (the server owns the numbers). */
export const generations = sqliteTable(
  'generations',
  {
    jobId: integer('job_id').notNull(),
    generation: integer('generation').notNull(),
    reason: text('reason'),
    baseGuid: text('base_guid'),
    createdAt: integer('created_at').notNull().default(now),
    /** When a backup destroyed it on the target (old generations); null: it is there. */
    droppedAt: integer('dropped_at'),
    droppedReason: text('dropped_reason'),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.generation] })],
);

/** The admin's sign-in password (one row, id 1): an scrypt hash (lib/password.ts). */
export const adminCredentials = sqliteTable('admin_credentials', {
  id: integer('id').primaryKey(),
  passwordHash: text('password_hash').notNull(),
  updatedAt: integer('updated_at').notNull().default(now),
});

/** Browser sign-in sessions. The cookie carries the token; only its SHA-256 is stored. */
export const sessions = sqliteTable(
  'sessions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    tokenHash: text('token_hash').notNull(),
    createdAt: integer('created_at').notNull().default(now),
    expiresAt: integer('expires_at').notNull(),
    lastUsedAt: integer('last_used_at'),
    userAgent: text('user_agent'),
  },
  (t) => [uniqueIndex('sessions_token_uq').on(t.tokenHash), index('sessions_expires_idx').on(t.expiresAt)],
);

/** API tokens for automation (shown once; stored as SHA-256). */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: integer('created_at').notNull().default(now),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
    /** read < operate (run, restore, cancel, refresh, validate) < admin (README, Security). */
    scope: text('scope', { enum: ['read', 'operate', 'admin'] })
      .notNull()
      .default('admin'),
    expiresAt: integer('expires_at'),
    /** The API token that minted this one (null: the admin or a session): revoking it revokes this too. */
    parentId: integer('parent_id'),
  },
  (t) => [uniqueIndex('api_tokens_hash_uq').on(t.tokenHash)],
);

/** Failed sign-ins per client key in a fixed window (the functions are stateless: the counter lives here). */
export const loginAttempts = sqliteTable('login_attempts', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull().default(0),
  windowStart: integer('window_start').notNull(),
});

export interface EmailConfig {
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  username: string | null;
  from: string;
  to: string[];
  caPem: string | null;
}
export interface ChannelConfig {
  url?: string;
  email?: EmailConfig;
}

/** Where notifications go (README, Notifications). `config` holds no secret; `secretSealed` is sealed with LIFEBOAT_SECRET_KEY. */
export const notificationChannels = sqliteTable('notification_channels', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  kind: text('kind', { enum: ['webhook', 'ntfy', 'email'] }).notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  /** webhook, ntfy: `url`; email: `email` (contract EmailSettings; the SMTP password is the sealed secret). */
  config: text('config', { mode: 'json' }).$type<ChannelConfig>().notNull(),
  secretSealed: text('secret_sealed'),
  createdAt: integer('created_at').notNull().default(now),
  updatedAt: integer('updated_at').notNull().default(now),
});

/**
 * The last notified state of each subject (`job:<id>`, `node:<id>`, `target:<id>:node:<id>`).
 * `seq` counts its changes: a change is written guarded by the seq that was read, and its
 * deliveries carry the new seq under a unique index, so two evaluators notify once (docs/database.md).
 */
export const notificationState = sqliteTable('notification_state', {
  subject: text('subject').primaryKey(),
  state: text('state').notNull(),
  since: integer('since').notNull(),
  seq: integer('seq').notNull().default(0),
  updatedAt: integer('updated_at').notNull(),
});

export interface DeliveryAttempt {
  at: number;
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
}

/** The outbox: one row per channel and state change (or test), sent with retries. */
export const notificationDeliveries = sqliteTable(
  'notification_deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    channelId: integer('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    /** the subject's change number (notification_state.seq); null for a test */
    seq: integer('seq'),
    event: text('event').notNull(),
    payload: text('payload').notNull(),
    status: text('status', { enum: ['pending', 'sent', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lastError: text('last_error'),
    attemptLog: text('attempt_log', { mode: 'json' }).$type<DeliveryAttempt[]>().notNull().default([]),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('notification_deliveries_change_uq').on(t.channelId, t.subject, t.seq),
    index('notification_deliveries_due_idx').on(t.status, t.nextAttemptAt),
  ],
);

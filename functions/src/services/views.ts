// Database rows → API objects. Secrets never leave through here.
import { iso } from '../lib/http.ts';
import { authorizedKeysLine } from '../../../protocol/src/target-setup.ts';
import { jobHealth } from './job-health.ts';
import { targetReadiness } from './target-readiness.ts';
import type * as s from '../db/schema.ts';

type Row<T extends { $inferSelect: unknown }> = T['$inferSelect'];

export function eventView(e: Row<typeof s.events>) {
  return {
    id: e.id,
    kind: e.kind,
    jobId: e.jobId,
    jobName: e.jobName,
    nodeId: e.nodeId,
    targetId: e.targetId,
    trigger: e.trigger,
    status: e.status,
    phase: e.phase,
    source: e.source,
    destination: e.destination,
    generation: e.generation,
    snapshot: e.snapshot,
    bytesDone: e.bytesDone,
    bytesTotal: e.bytesTotal,
    rateBps: e.rateBps,
    etaSeconds: e.etaSeconds,
    note: e.note,
    error: e.error,
    errorClass: e.errorClass,
    cancelRequested: e.cancelRequested,
    createdAt: iso(e.createdAt),
    startedAt: iso(e.startedAt),
    finishedAt: iso(e.finishedAt),
  };
}

/** A job's last backup as the API shows it (the jobs' columns the database keeps, drizzle/migrations/0010). */
export function lastBackupView(j: {
  lastBackupStatus: string | null;
  lastBackupDurationMs: number | null;
  lastBackupBytes: number | null;
  lastBackupEventId: number | null;
  lastBackupAt: number | null;
}) {
  return j.lastBackupStatus
    ? {
        status: j.lastBackupStatus,
        durationSeconds: j.lastBackupDurationMs === null ? null : j.lastBackupDurationMs / 1000,
        bytes: j.lastBackupBytes,
        eventId: j.lastBackupEventId,
        finishedAt: iso(j.lastBackupAt),
      }
    : null;
}

/** A job's last restore that began (kept apart by the trigger events_finish_restore: a restore is not the job's last run). */
export function lastRestoreView(j: { lastRestoreStatus: string | null; lastRestoreEventId: number | null; lastRestoreAt: number | null }) {
  return j.lastRestoreStatus ? { status: j.lastRestoreStatus, eventId: j.lastRestoreEventId, finishedAt: iso(j.lastRestoreAt) } : null;
}

export function jobView(j: Row<typeof s.jobs>, at: number) {
  return {
    id: j.id,
    name: j.name,
    targetId: j.targetId,
    nodeId: j.nodeId,
    mode: j.mode,
    source: j.source,
    schedule: j.schedule,
    timezone: j.timezone,
    keepLast: j.keepLast,
    enabled: j.enabled,
    pruneTarget: j.pruneTarget,
    stopBeforeBackup: j.stopBeforeBackup,
    recursive: j.recursive,
    sendDecrypted: j.sendDecrypted,
    compressedStream: j.compressedStream,
    bandwidthLimitKiBps: j.bandwidthLimitKiBps,
    exclude: j.exclude,
    sourceRetention: j.sourceRetention ?? null,
    targetRetention: j.targetRetention ?? null,
    keepGenerations: j.keepGenerations,
    keepGenerationDays: j.keepGenerationDays,
    rpoSeconds: j.rpoSeconds,
    rpoEffectiveSeconds: j.rpoEffectiveSeconds,
    health: ((h) => ({ ...h, since: iso(h.since) }))(jobHealth(j, at)),
    lastSuccessAt: iso(j.lastSuccessAt),
    lastBackup: lastBackupView(j),
    lastRestore: lastRestoreView(j),
    snapshots: { source: j.sourceSnapshotCount, target: j.targetSnapshotCount },
    backups: { succeeded: j.backupsSucceeded, failed: j.backupsFailed },
    nextRunAt: iso(j.nextRunAt),
    lastRunAt: iso(j.lastRunAt),
    lastStatus: j.lastStatus,
    currentGeneration: j.currentGeneration,
    hasWebhookToken: j.webhookTokenHash != null,
    createdAt: iso(j.createdAt),
    updatedAt: iso(j.updatedAt),
  };
}

/** What the Nodes page shows beside a node's row: its jobs and guests, and whether it is online (nodes.ts nodeFacts). */
export interface NodeFacts {
  jobCount: number;
  guestCount: number;
  online: boolean;
}

export function nodeView(n: Row<typeof s.nodes>, facts: NodeFacts) {
  return {
    id: n.id,
    name: n.name,
    hostname: n.hostname,
    zfsVersion: n.zfsVersion,
    runnerVersion: n.runnerVersion,
    capabilities: n.capabilities ?? null,
    pools: n.pools ?? null,
    poolSpace: n.poolSpace ?? null,
    ...facts,
    inventoryAt: iso(n.inventoryAt),
    lastSeenAt: iso(n.lastSeenAt),
    revoked: n.revokedAt != null,
    createdAt: iso(n.createdAt),
  };
}

export function targetView(t: Row<typeof s.targets>, statuses: Row<typeof s.targetNodeStatus>[], allNodes: { id: number; name: string }[]) {
  const byNode = new Map(statuses.map((st) => [st.nodeId, st]));
  const nodeStatus = allNodes.map((n) => {
    const st = byNode.get(n.id);
    // a node that reached the target while no key is pinned: the key it saw awaits an admin (README, "Adding a target")
    const state = !st
      ? ('not-validated' as const)
      : st.configRevision < t.configRevision
        ? ('config-changed' as const)
        : st.state === 'ready' && !t.hostKey
          ? ('host-key-pending' as const)
          : st.state;
    return { nodeId: n.id, nodeName: n.name, state, error: st?.error ?? null, validatedAt: iso(st?.validatedAt) };
  });
  return {
    id: t.id,
    name: t.name,
    sshHost: t.sshHost,
    sshUser: t.sshUser,
    sshPort: t.sshPort,
    hasPrivateKey: t.sshPrivateKeyEnc.length > 0,
    backupRoot: t.backupRoot,
    description: t.description,
    createBackupRoot: t.createBackupRoot,
    enabled: t.enabled,
    bandwidthLimitKiBps: t.bandwidthLimitKiBps,
    hostKeyFingerprint: t.hostKeyFingerprint,
    pendingHostKeyFingerprint: t.hostKey ? null : t.pendingHostKeyFingerprint,
    expectedHostKeyFingerprint: t.expectedHostKeyFingerprint,
    authorizedKeysLine: t.sshPublicKey ? authorizedKeysLine(t.sshPublicKey) : null,
    readiness: targetReadiness(
      t.hostKey != null,
      nodeStatus.map((s) => s.state),
    ),
    nodeStatus,
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
  };
}

export function apiTokenView(t: Row<typeof s.apiTokens>) {
  return {
    id: t.id,
    name: t.name,
    scope: t.scope,
    createdAt: iso(t.createdAt),
    expiresAt: iso(t.expiresAt),
    lastUsedAt: iso(t.lastUsedAt),
    revoked: t.revokedAt != null,
    revokedAt: iso(t.revokedAt),
  };
}

export function channelView(c: Row<typeof s.notificationChannels>) {
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    enabled: c.enabled,
    url: c.config.url ?? null,
    email: c.config.email ?? null,
    hasSecret: c.secretSealed !== null,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export function deliveryView(d: Row<typeof s.notificationDeliveries>) {
  return {
    id: d.id,
    channelId: d.channelId,
    subject: d.subject,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    lastError: d.lastError,
    attemptLog: d.attemptLog.map((a) => ({ at: iso(a.at), ok: a.ok, httpStatus: a.httpStatus, error: a.error })),
    payload: JSON.parse(d.payload) as Record<string, unknown>,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}

// Targets in the database: their views, create/update/delete with the rules that keep the queue
// and the pinned host keys consistent, and the work queued for a node against one (validate,
// browse, host-key reset). Routes (routes/targets.ts) validate, call these, serialize.
import { and, asc, desc, eq, inArray, isNull } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import type { TargetCreate, TargetPatch } from '../contract/api.ts';
import { catalogDatasets, catalogSnapshots, events, jobs, nodes, targetNodeStatus, targets } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { conflict, isUniqueViolation, notFound } from '../lib/errors.ts';
import type { AppDeps } from '../lib/http.ts';
import { catalogView } from './catalog.ts';
import { resolveNode } from './nodes.ts';
import { targetView } from './views.ts';

type TargetRow = typeof targets.$inferSelect;

export async function loadTarget(db: DB, id: number): Promise<TargetRow> {
  const [t] = await db.select().from(targets).where(eq(targets.id, id));
  if (!t) throw notFound(`target ${id}`);
  return t;
}

/** The API view of targets: with each live node's validation state. */
export async function targetViews(db: DB, rows: TargetRow[]) {
  const allNodes = await db.select({ id: nodes.id, name: nodes.name }).from(nodes).where(isNull(nodes.revokedAt)).orderBy(asc(nodes.id));
  const ids = rows.map((r) => r.id);
  const statuses = ids.length ? await db.select().from(targetNodeStatus).where(inArray(targetNodeStatus.targetId, ids)) : [];
  return rows.map((t) =>
    targetView(
      t,
      statuses.filter((s) => s.targetId === t.id),
      allNodes,
    ),
  );
}

export const listTargets = (db: DB) => db.select().from(targets).orderBy(asc(targets.name));

const nameTaken = () => conflict('a target with this name already exists', { name: 'is already used by another target' });

export async function createTarget(
  deps: Pick<AppDeps, 'db' | 'secrets'>,
  body: z.infer<typeof TargetCreate>,
  at: number,
): Promise<TargetRow> {
  const { sshPrivateKey, ...rest } = body;
  try {
    const [row] = await deps.db
      .insert(targets)
      .values({ ...rest, sshPrivateKeyEnc: await deps.secrets.seal(sshPrivateKey), createdAt: at, updatedAt: at })
      .returning();
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    throw err;
  }
}

export async function updateTarget(
  deps: Pick<AppDeps, 'db' | 'secrets'>,
  id: number,
  body: z.infer<typeof TargetPatch>,
  at: number,
): Promise<TargetRow> {
  const cur = await loadTarget(deps.db, id);
  const { sshPrivateKey, ...rest } = body;
  const changed = (k: keyof typeof rest) => rest[k] !== undefined && rest[k] !== cur[k];
  const keyChanged = !!sshPrivateKey;
  const connectionChanged = changed('sshHost') || changed('sshPort');
  const needsRevalidation = connectionChanged || keyChanged || changed('sshUser') || changed('backupRoot') || changed('createBackupRoot');
  try {
    const [row] = await deps.db
      .update(targets)
      .set({
        ...rest,
        ...(keyChanged ? { sshPrivateKeyEnc: await deps.secrets.seal(sshPrivateKey!) } : {}),
        // A different host or port is a different machine: its key is pinned afresh at the next validation.
        ...(connectionChanged ? { hostKey: null, hostKeyFingerprint: null } : {}),
        ...(needsRevalidation ? { configRevision: cur.configRevision + 1 } : {}),
        updatedAt: at,
      })
      .where(eq(targets.id, id))
      .returning();
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    throw err;
  }
}

/** Only our records go; nothing on the target is touched. Only a disabled target no job uses. */
export async function deleteTarget(db: DB, id: number): Promise<void> {
  const cur = await loadTarget(db, id);
  if (cur.enabled) throw conflict('disable the target before deleting it', { enabled: 'must be false before the target can be deleted' });
  const used = await db.select({ id: jobs.id, name: jobs.name }).from(jobs).where(eq(jobs.targetId, id)).limit(5);
  if (used.length) throw conflict(`the target is used by jobs: ${used.map((j) => j.name).join(', ')}`, { id: 'is used by jobs' });
  // Guarded so a concurrent re-enable or new job wins.
  const [gone] = await db
    .delete(targets)
    .where(and(eq(targets.id, id), eq(targets.enabled, false)))
    .returning({ id: targets.id });
  if (!gone) throw conflict('the target changed while deleting; try again');
}

/** Queue a validation or a browse of the target for a node (nodeId, or the only node); returns the event id. */
export async function queueTargetWork(
  deps: Pick<AppDeps, 'db' | 'waker'>,
  id: number,
  kind: 'validate' | 'browse',
  nodeId: number | undefined,
  at: number,
): Promise<number> {
  const t = await loadTarget(deps.db, id);
  const node = await resolveNode(deps.db, nodeId);
  const [ev] = await deps.db
    .insert(events)
    .values({
      kind,
      nodeId: node.id,
      targetId: t.id,
      trigger: 'manual',
      status: 'queued',
      destination: `${t.sshUser}@${t.sshHost}:${t.backupRoot}`,
      createdAt: at,
    })
    .returning({ id: events.id });
  await deps.waker?.notify(node.id);
  return ev.id;
}

/**
 * After a deliberate host key change on the target: forget the pin and queue a validation that
 * pins the key it finds, recorded as a validate event with a note naming the old fingerprint.
 */
export async function resetHostKey(
  deps: Pick<AppDeps, 'db' | 'waker'>,
  id: number,
  nodeId: number | undefined,
  at: number,
): Promise<number> {
  const { db } = deps;
  const t = await loadTarget(db, id);
  const node = await resolveNode(db, nodeId);
  const note = t.hostKeyFingerprint
    ? `host key pin cleared by an admin (was ${t.hostKeyFingerprint}); this validation pins the key the target presents now`
    : 'host key pin reset requested (no key was pinned); this validation pins the key the target presents';
  const [, [ev]] = await db.batch([
    db
      .update(targets)
      .set({ hostKey: null, hostKeyFingerprint: null, configRevision: t.configRevision + 1, updatedAt: at })
      .where(eq(targets.id, id)),
    db
      .insert(events)
      .values({
        kind: 'validate',
        nodeId: node.id,
        targetId: t.id,
        trigger: 'host-key-reset',
        status: 'queued',
        note,
        destination: `${t.sshUser}@${t.sshHost}:${t.backupRoot}`,
        createdAt: at,
      })
      .returning({ id: events.id }),
  ]);
  await deps.waker?.notify(node.id);
  return ev.id;
}

/** What the catalog says the target holds (GET /targets/{id}/datasets). */
export async function targetCatalog(db: DB, id: number, at: number) {
  const t = await loadTarget(db, id);
  const ds = await db.select().from(catalogDatasets).where(eq(catalogDatasets.targetId, t.id)).orderBy(asc(catalogDatasets.dataset));
  const snaps = await db
    .select()
    .from(catalogSnapshots)
    .where(eq(catalogSnapshots.targetId, t.id))
    .orderBy(desc(catalogSnapshots.createdAt));
  return catalogView(t.backupRoot, ds, snaps, at);
}

// Targets in the database: their views, create/update/delete with the rules that keep the queue
// and the pinned host keys consistent, and the work queued for a node against one (validate,
// browse, host-key reset). Routes (routes/targets.ts) validate, call these, serialize.
import { and, asc, desc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import type { TargetCreate, TargetPatch } from '../contract/api.ts';
import { catalogDatasets, catalogSnapshots, events, jobs, nodes, targetNodeStatus, targets } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { generateEd25519KeyPair } from '../lib/ssh-keypair.ts';
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

/** The key a target is created or updated with: the pasted one (no public line known), or a fresh pair. */
async function targetKey(name: string, pasted: string | undefined): Promise<{ privateKey: string; publicKey: string | null }> {
  if (pasted) return { privateKey: pasted, publicKey: null };
  return generateEd25519KeyPair(`lifeboat-${name}`);
}

const nameTaken = () => conflict('a target with this name already exists', { name: 'is already used by another target' });

export async function createTarget(
  deps: Pick<AppDeps, 'db' | 'secrets'>,
  body: z.infer<typeof TargetCreate>,
  at: number,
): Promise<TargetRow> {
  // validate is the route's to act on (queueValidations), not a column
  const { sshPrivateKey, generateKeyPair, validate: _validate, ...rest } = body;
  const key = await targetKey(rest.name, generateKeyPair ? undefined : sshPrivateKey);
  try {
    const [row] = await deps.db
      .insert(targets)
      .values({
        ...rest,
        sshPrivateKeyEnc: await deps.secrets.seal(key.privateKey),
        sshPublicKey: key.publicKey,
        createdAt: at,
        updatedAt: at,
      })
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
  const { sshPrivateKey, generateKeyPair, ...rest } = body;
  const changed = (k: keyof typeof rest) => rest[k] !== undefined && rest[k] !== cur[k];
  const key = generateKeyPair || sshPrivateKey ? await targetKey(rest.name ?? cur.name, generateKeyPair ? undefined : sshPrivateKey) : null;
  const connectionChanged = changed('sshHost') || changed('sshPort');
  const needsRevalidation = connectionChanged || !!key || changed('sshUser') || changed('backupRoot') || changed('createBackupRoot');
  // Automation that names the key a validation already saw pins it now (the same as a confirmation).
  const pending = connectionChanged || cur.hostKey ? null : cur.pendingHostKey;
  const pinPending =
    !!pending && rest.expectedHostKeyFingerprint != null && rest.expectedHostKeyFingerprint === cur.pendingHostKeyFingerprint;
  try {
    const [row] = await deps.db
      .update(targets)
      .set({
        ...rest,
        ...(key ? { sshPrivateKeyEnc: await deps.secrets.seal(key.privateKey), sshPublicKey: key.publicKey } : {}),
        // A different host or port is a different machine: the next validation shows its key for a confirmation.
        ...(connectionChanged ? { hostKey: null, hostKeyFingerprint: null, pendingHostKey: null, pendingHostKeyFingerprint: null } : {}),
        ...(pinPending
          ? { hostKey: pending, hostKeyFingerprint: cur.pendingHostKeyFingerprint, pendingHostKey: null, pendingHostKeyFingerprint: null }
          : {}),
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

/**
 * An admin confirms the host key a validation saw (trust on first use with a human in the loop):
 * it is pinned only while it is still the one awaiting confirmation and nothing is pinned yet.
 */
export async function confirmHostKey(db: DB, id: number, fingerprint: string, at: number): Promise<TargetRow> {
  const t = await loadTarget(db, id);
  const [row] = await db
    .update(targets)
    .set({
      hostKey: sql`${targets.pendingHostKey}`,
      hostKeyFingerprint: fingerprint,
      pendingHostKey: null,
      pendingHostKeyFingerprint: null,
      updatedAt: at,
    })
    .where(
      and(
        eq(targets.id, id),
        isNull(targets.hostKey),
        isNotNull(targets.pendingHostKey),
        eq(targets.pendingHostKeyFingerprint, fingerprint),
      ),
    )
    .returning();
  if (row) return row;
  if (t.hostKey) throw conflict(`a host key is already pinned (${t.hostKeyFingerprint})`, { fingerprint: 'a key is already pinned' });
  throw conflict(
    t.pendingHostKeyFingerprint
      ? `the host key awaiting confirmation is ${t.pendingHostKeyFingerprint}, not ${fingerprint}`
      : 'no host key awaits confirmation: validate the target first',
    { fingerprint: 'is not the key awaiting confirmation' },
  );
}

/** Queue a validation from every live node (after a create with validate: true); returns the event ids. */
export async function queueValidations(deps: Pick<AppDeps, 'db' | 'waker'>, t: TargetRow, at: number): Promise<number[]> {
  const live = await deps.db.select({ id: nodes.id }).from(nodes).where(isNull(nodes.revokedAt)).orderBy(asc(nodes.id));
  const ids: number[] = [];
  // 7 columns a row: 14 rows a statement stays under D1's 100 bound parameters
  for (let i = 0; i < live.length; i += 14) {
    const rows = await deps.db
      .insert(events)
      .values(
        live.slice(i, i + 14).map((n) => ({
          kind: 'validate' as const,
          nodeId: n.id,
          targetId: t.id,
          trigger: 'manual',
          status: 'queued' as const,
          destination: `${t.sshUser}@${t.sshHost}:${t.backupRoot}`,
          createdAt: at,
        })),
      )
      .returning({ id: events.id });
    ids.push(...rows.map((r) => r.id));
  }
  for (const n of live) deps.waker?.notify(n.id);
  return ids;
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
    ? `host key pin cleared by an admin (was ${t.hostKeyFingerprint}); this validation shows the key the target presents now, to be confirmed`
    : 'host key pin reset requested (no key was pinned); this validation shows the key the target presents, to be confirmed';
  const [, [ev]] = await db.batch([
    db
      .update(targets)
      .set({
        hostKey: null,
        hostKeyFingerprint: null,
        pendingHostKey: null,
        pendingHostKeyFingerprint: null,
        configRevision: t.configRevision + 1,
        updatedAt: at,
      })
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

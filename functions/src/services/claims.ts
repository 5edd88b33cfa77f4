// A runner's long-poll claim (README, "Design notes: Long-poll claims"): every round creates the
// node's due scheduled runs and claims queued work (on Workers it sweeps expired leases first); it
// returns at once when there is work, when the server wants a fresh inventory, or when the wait is
// over. Held claims sleep on the waker or poll every claimRecheckMs. Every path that queues work
// pokes the waker. On Node a timer pokes the nodes whose jobs fell due (node.ts), so the re-check
// is only a safety net: its interval grows with the number of held claims (RECHECK_PER_HELD_MS
// each), which bounds the idle cost of a fleet (README, "Fleet scale"). On Workers the node's
// Durable Object wakes the claim when its next job falls due (worker-waker.ts): no re-check at all.
import { and, eq, inArray, isNull, lt, or, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { ClaimedEvent } from '../../../protocol/src/runner-api.ts';
import { effectivePolicy } from '../../../protocol/src/retention.ts';
import { catalogDatasets, events, jobs, nodes, targets } from '../db/schema.ts';
import { batchItem, prepared } from '../db/prepared.ts';
import type { DB } from '../db/types.ts';
import { iso, type AppDeps } from '../lib/http.ts';
import { finishEvent } from './finish.ts';
import { generationsToDrop } from './generation-retention.ts';
import { claimQueued, nodeClaimState, nodeClaimStateAndClaim, scheduleDue, sweepExpiredLeases } from './queue.ts';

type ClaimDeps = Pick<AppDeps, 'db' | 'config' | 'waker' | 'now' | 'batchClaims'>;

/** With a waker, each held claim lengthens every held claim's re-check by this much. */
export const RECHECK_PER_HELD_MS = 100;

/** How long a held claim sleeps between rounds: the configured re-check, longer with many held (only with a waker to poke them). */
export function recheckMs(configured: number, held: number, hasWaker: boolean): number {
  return hasWaker ? Math.max(configured, held * RECHECK_PER_HELD_MS) : configured;
}

async function holdClaim(deps: ClaimDeps, o: { nodeId: number; max: number; waitMs?: number; gone: () => boolean }) {
  const { db, config, waker } = deps;
  const now = deps.now ?? Date.now;
  const { nodeId, max, gone } = o;
  const start = now();
  // lastSeenAt at a few seconds' precision: saves a write on most claims.
  await prepared(db, preparedSeen).run({ nodeId, at: start, before: start - 5000 });
  const deadline = start + Math.min(o.waitMs ?? config.claimWaitMs, config.claimWaitMs);
  const nothing = { claimed: [] as Awaited<ReturnType<typeof claimQueued>>, inventoryWanted: false };
  /** The claimer disconnected during the claim: the events it claimed go back to the queue untouched. */
  const handBack = async (claimed: typeof nothing.claimed) => {
    if (claimed.length)
      await db
        .update(events)
        .set({ status: 'queued', startedAt: null, leaseUntil: null, phase: null })
        .where(
          and(
            inArray(
              events.id,
              claimed.map((e) => e.id),
            ),
            eq(events.status, 'running'),
            eq(events.nodeId, nodeId),
          ),
        );
    return nothing;
  };
  let poked = false;
  for (;;) {
    const at = now();
    // Node sweeps leases on a timer (node.ts), a Worker with its waker from its cron; without a waker, claims sweep
    if (!waker) await sweepExpiredLeases(db, at);
    // one read: an idle round costs nothing more (README, Fleet scale); after a poke, work is likely
    // queued (on Workers its due runs were created by the DueScheduler): the read and the claim in one call
    const both = poked && max > 0 && deps.batchClaims ? await nodeClaimStateAndClaim(db, nodeId, max, at, config.leaseMs) : null;
    const n = both ? both.state : await nodeClaimState(db, nodeId);
    let claimed = both?.claimed ?? [];
    // revoked while its claim was held: nothing more for it (its next call is refused, and nothing was claimed)
    if (!n || n.revokedAt !== null) return nothing;
    const scheduled = n.nextDueAt !== null && n.nextDueAt <= at ? await scheduleDue(db, nodeId, at) : 0;
    // A runner that went away (restarted, killed) while its claim was held must not be handed work:
    // nobody would run it and it would end `interrupted` when the lease runs out.
    if (gone()) return handBack(claimed);
    // a user is choosing among this node's datasets (services/inventory.ts): answer now, asking for it
    const inventoryWanted = n.inventoryWantedAt != null && n.inventoryWantedAt > (n.inventoryAt ?? 0);
    // asked once: the next claims do not ask again while the report is under way
    if (inventoryWanted)
      await db
        .update(nodes)
        .set({ inventoryWantedAt: null })
        .where(and(eq(nodes.id, nodeId), eq(nodes.inventoryWantedAt, n.inventoryWantedAt!)));
    if ((!both && n.queued) || scheduled > 0)
      claimed = [
        ...claimed,
        ...(await claimQueued(db, nodeId, max - claimed.length, at, config.leaseMs, !both && n.queued && deps.batchClaims)),
      ];
    if (claimed.length && gone()) return handBack(claimed);
    if (claimed.length || at >= deadline || max === 0 || inventoryWanted) return { claimed, inventoryWanted };
    // A waker that wakes the claim when its next job falls due (Workers: worker-waker.ts) needs no
    // re-check: the claim sleeps to its deadline unless poked.
    const pause = waker?.wakesAtDue
      ? deadline - at
      : Math.min(recheckMs(config.claimRecheckMs, waker?.waiting() ?? 0, waker !== undefined), deadline - at);
    if (waker) {
      poked = await waker.wait(nodeId, pause, n.nextDueAt);
      // Woken by the deadline, not by a poke: nothing was queued for this node meanwhile (every path
      // that queues pokes), so no last round: the runner's next claim starts with one anyway.
      if (!poked && now() >= deadline) return nothing;
    } else await new Promise((r) => setTimeout(r, pause));
  }
}

const preparedSeen = (db: DB) =>
  db
    .update(nodes)
    .set({ lastSeenAt: sql`${sql.placeholder('at')}` })
    .where(and(eq(nodes.id, sql.placeholder('nodeId')), or(isNull(nodes.lastSeenAt), lt(nodes.lastSeenAt, sql.placeholder('before')))))
    .prepare();

/** One claim: held as holdClaim says, each claimed event with what its runner needs (unrunnable ones are failed, not handed out). */
export async function claimWork(
  deps: ClaimDeps & Pick<AppDeps, 'secrets'>,
  o: { nodeId: number; max: number; waitMs?: number; gone: () => boolean },
) {
  const now = deps.now ?? Date.now;
  const { claimed, inventoryWanted } = await holdClaim(deps, o);
  const payloads = await Promise.all(claimed.map((e) => claimPayload(deps, e, now())));
  return { events: payloads.filter((p) => p !== null), inventoryWanted };
}

/**
 * A claimed event's reads where each database call is a round trip (D1, `batchClaims`: a fleet's due
 * second claims hundreds of backups at once, README Fleet scale), in one batch: the job, the
 * target, and for a backup what the catalog knows of the job's current generation on that target,
 * with the generation offered stored in the event (the same transaction reads and writes it).
 */
async function batchedReads(db: AppDeps['db'], e: typeof events.$inferSelect) {
  const ids = { id: e.id, jobId: e.jobId ?? -1, targetId: e.targetId ?? -1 };
  const jobRead = batchItem(prepared(db, preparedJob), { id: ids.jobId });
  const targetRead = batchItem(prepared(db, preparedTarget), { id: ids.targetId });
  if (e.kind !== 'backup') return [...(await db.batch([jobRead, targetRead])), null] as const;
  const [job, target, catalog] = await db.batch([
    jobRead,
    targetRead,
    batchItem(prepared(db, preparedCurrentCatalog), ids),
    batchItem(prepared(db, preparedCurrentOffer), ids),
  ]);
  return [job, target, catalog] as const;
}

// batchedReads' catalog read and offer: each reads the job's current generation itself (one batch, one transaction)
const currentGeneration = sql`(SELECT current_generation FROM jobs WHERE id = ${sql.placeholder('jobId')})`;
const preparedCurrentCatalog = (db: DB) => catalogRead(db, currentGeneration).prepare();
const preparedCurrentOffer = (db: DB) =>
  db
    .update(events)
    .set({
      generation: currentGeneration,
      params: sql`json_set(coalesce(${events.params}, '{}'), '$.generation', ${currentGeneration}, '$.nextGeneration', ${currentGeneration} + 1, '$.dropGenerations', json('[]'))`,
    })
    .where(eq(events.id, sql.placeholder('id')))
    .prepare();

// The payload's job and target (both paths), the unbatched path's offer and catalog read (the Node
// entry); all built once (db/prepared.ts).
const preparedJob = (db: DB) =>
  db
    .select()
    .from(jobs)
    .where(eq(jobs.id, sql.placeholder('id')))
    .prepare();
const preparedTarget = (db: DB) =>
  db
    .select()
    .from(targets)
    .where(eq(targets.id, sql.placeholder('id')))
    .prepare();
/** `params`: the event's params as JSON text (a placeholder's value is bound as it is, not through the column's JSON mode). */
const preparedOffer = (db: DB) =>
  db
    .update(events)
    .set({ generation: sql`${sql.placeholder('generation')}`, params: sql`${sql.placeholder('params')}` })
    .where(eq(events.id, sql.placeholder('id')))
    .prepare();
// What the catalog knows of a generation on a target. Sorted by the caller, not in SQL: an ORDER BY
// dataset makes SQLite walk catalog_datasets_uq (all of the target) instead of catalog_datasets_job_idx.
const catalogRead = (db: DB, generation: SQL | Placeholder) =>
  db
    .select({ dataset: catalogDatasets.dataset })
    .from(catalogDatasets)
    .where(
      and(
        eq(catalogDatasets.jobId, sql.placeholder('jobId')),
        eq(catalogDatasets.generation, generation),
        eq(catalogDatasets.targetId, sql.placeholder('targetId')),
      ),
    );
const preparedCatalog = (db: DB) => catalogRead(db, sql.placeholder('generation')).prepare();

/**
 * What the runner needs to execute one claimed event, by kind (protocol/src/runner-api.ts). The
 * private key is decrypted only here. An event whose target or job is gone cannot be run: it is
 * finished as failed here (null), not handed out.
 */
async function claimPayload(
  deps: Pick<AppDeps, 'db' | 'secrets' | 'batchClaims'>,
  e: typeof events.$inferSelect,
  at: number,
): Promise<ClaimedEvent | null> {
  const { db, secrets } = deps;
  const batched = deps.batchClaims === true;
  const [[job], [t], batchedCatalog] = batched
    ? await batchedReads(db, e)
    : [
        e.jobId != null ? await prepared(db, preparedJob).all({ id: e.jobId }) : [],
        e.targetId != null ? await prepared(db, preparedTarget).all({ id: e.targetId }) : [],
        null,
      ];
  const needsJob = e.kind === 'backup' || e.kind === 'restore';
  const p = e.params ?? {};
  if (e.kind === 'remove-kept') {
    // node-only work: no target, no job (services/kept-datasets.ts wrote its params)
    const guids = Array.isArray(p.guids) ? p.guids.map(String) : [];
    return {
      id: e.id,
      kind: 'remove-kept',
      trigger: e.trigger,
      note: e.note,
      leaseUntil: iso(e.leaseUntil)!,
      params: { dataset: String(p.dataset), restoreEventId: Number(p.restoreEventId), guids },
    };
  }
  if (!t || (needsJob && !job)) {
    const what = !t ? `target ${e.targetId ?? '(none)'}` : `job ${e.jobId}`;
    await finishEvent(db, e.nodeId!, e.id, { status: 'failed', error: `${what} no longer exists`, errorClass: 'internal' }, at);
    return null;
  }
  const base = {
    id: e.id,
    trigger: e.trigger,
    note: e.note,
    leaseUntil: iso(e.leaseUntil)!,
    target: {
      id: t.id,
      name: t.name,
      sshHost: t.sshHost,
      sshUser: t.sshUser,
      sshPort: t.sshPort,
      sshPrivateKey: await secrets.open(t.sshPrivateKeyEnc),
      backupRoot: t.backupRoot,
      createBackupRoot: t.createBackupRoot,
      hostKey: t.hostKey,
      bandwidthLimitKiBps: t.bandwidthLimitKiBps,
    },
  };
  const jobSpec = job && {
    id: job.id,
    name: job.name,
    mode: job.mode,
    source: job.source,
    recursive: job.recursive,
    keepLast: job.keepLast,
    pruneTarget: job.pruneTarget,
    stopBeforeBackup: job.stopBeforeBackup,
    sendDecrypted: job.sendDecrypted,
    compressedStream: job.compressedStream,
    bandwidthLimitKiBps: job.bandwidthLimitKiBps,
    exclude: job.exclude,
    timezone: job.timezone,
    retention: { source: effectivePolicy(job, 'source'), target: effectivePolicy(job, 'target') },
  };
  switch (e.kind) {
    case 'validate':
      // what the node validated: a later edit of the target makes its result stale (finish.ts)
      await db
        .update(events)
        .set({ params: { ...p, configRevision: t.configRevision } })
        .where(eq(events.id, e.id));
      return { ...base, kind: 'validate' };
    case 'browse':
      return { ...base, kind: 'browse' };
    case 'backup': {
      const generation = job!.currentGeneration;
      const nextGeneration = generation + 1;
      const dropGenerations = await generationsToDrop(db, job!, at);
      // Remember what was offered so finish can check the runner's claim about the generation it
      // wrote and the generations it destroyed (and a restore can see which are going); the batch
      // stored the generation with no generations to destroy.
      if (dropGenerations.length || !batched)
        await prepared(db, preparedOffer).run({
          id: e.id,
          generation,
          params: JSON.stringify({ ...p, generation, nextGeneration, dropGenerations }),
        });
      // what the catalog knows of this generation on this target (sorted here: preparedCatalog says why)
      const known = batchedCatalog ?? (await prepared(db, preparedCatalog).all({ jobId: job!.id, generation, targetId: t.id }));
      const forkFrom =
        job!.forkFromGeneration != null && job!.forkFromGuid
          ? { generation: job!.forkFromGeneration, snapshotGuid: job!.forkFromGuid }
          : null;
      const catalog = known.map((r) => r.dataset).sort();
      return { ...base, kind: 'backup', job: jobSpec!, generation, nextGeneration, forkFrom, catalogDatasets: catalog, dropGenerations };
    }
    case 'restore':
      return {
        ...base,
        kind: 'restore',
        job: jobSpec!,
        params: {
          generation: Number(p.generation),
          snapshot: String(p.snapshot),
          guid: String(p.guid),
          dataset: String(p.dataset),
          keepReplaced: p.keepReplaced === true,
        },
      };
    case 'oob-restore': {
      const obj = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
      return {
        ...base,
        kind: 'oob-restore',
        params: {
          dataset: String(p.dataset),
          snapshotDataset: String(p.snapshotDataset),
          generation: p.generation == null ? null : Number(p.generation),
          snapshot: String(p.snapshot),
          guid: String(p.guid),
          destination: String(p.destination),
          restoreNetwork: p.restoreNetwork === true,
          overwrite: p.overwrite === true,
          guest: obj(p.guest),
          newGuestId: p.newGuestId == null ? null : String(p.newGuestId),
          sourceJobId: p.sourceJobId == null ? null : Number(p.sourceJobId),
          network: obj(p.network),
          keepReplaced: p.overwrite === true && p.keepReplaced === true,
        },
      };
    }
    default:
      await finishEvent(
        db,
        e.nodeId!,
        e.id,
        { status: 'failed', error: `unknown event kind ${JSON.stringify(e.kind)}`, errorClass: 'internal' },
        at,
      );
      return null;
  }
}

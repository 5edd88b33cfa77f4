// Replaced datasets that restores kept (docs/zfs.md, "Kept replaced datasets"): recorded from the
// restore's own report, listed, and removed by a remove-kept event that the node's runner checks
// again right before it destroys anything.
import { z } from '@hono/zod-openapi';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { ACTIVE_STATUSES } from '../../../protocol/src/events.ts';
import { setAsideOriginal } from '../../../protocol/src/layout.ts';
import { datasetName } from '../contract/fields.ts';
import { events, keptDatasets, nodes } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { conflict, invalid } from '../lib/errors.ts';
import type { AppDeps } from '../lib/http.ts';
import { iso } from '../lib/http.ts';
import { appendLogs } from './queue.ts';

type EventRow = typeof events.$inferSelect;

/** What a restore reports (protocol/src/runner-api.ts KeptCopy); a node is trusted with its own datasets, not with their shape. */
const KeptReport = z
  .array(
    z.object({
      dataset: datasetName,
      guids: z.array(z.string().regex(/^\d{1,20}$/)).max(10_000),
      chosen: z.boolean(),
    }),
  )
  .max(100);

/**
 * A finished restore's kept copies, as its node reported them: only names this event sets aside
 * (`<name>-lb-old-<event>`); anything else is named in the event log and not recorded.
 */
export async function recordKept(db: DB, ev: EventRow, reported: unknown, at: number) {
  const parsed = KeptReport.safeParse(reported);
  const rows = parsed.success ? parsed.data.filter((k) => setAsideOriginal(k.dataset, ev.id) !== null) : [];
  if (!parsed.success || rows.length !== parsed.data.length) {
    const why = parsed.success ? 'a name this restore does not set aside' : parsed.error.issues[0]?.message;
    await appendLogs(db, ev.id, [{ level: 'warn', message: `kept dataset report rejected in part: ${why}` }], at);
  }
  for (const k of rows)
    await db
      .insert(keptDatasets)
      .values({ nodeId: ev.nodeId, dataset: k.dataset, restoreEventId: ev.id, guids: k.guids, chosen: k.chosen, keptAt: at })
      .onConflictDoUpdate({
        target: [keptDatasets.nodeId, keptDatasets.dataset],
        set: { restoreEventId: ev.id, guids: k.guids, chosen: k.chosen, keptAt: at },
      });
}

/** A remove-kept event succeeded: the dataset is gone (destroyed, or gone already). */
export async function forgetKept(db: DB, ev: EventRow) {
  if (ev.destination)
    await db.delete(keptDatasets).where(and(eq(keptDatasets.nodeId, ev.nodeId), eq(keptDatasets.dataset, ev.destination)));
}

/** Every kept dataset of every node, by node and name, with its removal in progress if any. */
export async function listKept(db: DB) {
  const rows = await db
    .select({ k: keptDatasets, nodeName: nodes.name })
    .from(keptDatasets)
    .innerJoin(nodes, eq(nodes.id, keptDatasets.nodeId))
    .orderBy(asc(keptDatasets.nodeId), asc(keptDatasets.dataset));
  const active = rows.length
    ? await db
        .select({ id: events.id, nodeId: events.nodeId, dataset: events.destination })
        .from(events)
        .where(and(eq(events.kind, 'remove-kept'), inArray(events.status, [...ACTIVE_STATUSES])))
    : [];
  return rows.map(({ k, nodeName }) => ({
    nodeId: k.nodeId,
    nodeName,
    dataset: k.dataset,
    replaced: setAsideOriginal(k.dataset, k.restoreEventId) ?? k.dataset,
    restoreEventId: k.restoreEventId,
    chosen: k.chosen,
    removable: k.guids.length > 0,
    keptAt: iso(k.keptAt),
    removeEventId: active.find((a) => a.nodeId === k.nodeId && a.dataset === k.dataset)?.id ?? null,
  }));
}

/**
 * Queue the removal of a kept dataset: 400 naming the field when it is not one, 409 when only a hand
 * can remove it or a removal is under way. Returns the event id.
 */
export async function queueRemoveKept(deps: Pick<AppDeps, 'db' | 'waker'>, nodeId: number, dataset: string, at: number) {
  const { db } = deps;
  const [k] = await db
    .select()
    .from(keptDatasets)
    .where(and(eq(keptDatasets.nodeId, nodeId), eq(keptDatasets.dataset, dataset)));
  if (!k) throw invalid('dataset', `"${dataset}" is not a kept dataset of node ${nodeId}`);
  if (!k.guids.length)
    throw conflict(`${dataset} could not be checked when it was kept (see restore event ${k.restoreEventId}); remove it by hand`, {
      dataset: 'only removable by hand',
    });
  const [busy] = await db
    .select({ id: events.id })
    .from(events)
    .where(
      and(
        eq(events.nodeId, nodeId),
        eq(events.kind, 'remove-kept'),
        eq(events.destination, dataset),
        inArray(events.status, [...ACTIVE_STATUSES]),
      ),
    );
  if (busy) throw conflict(`event ${busy.id} is removing ${dataset} already`, { dataset: 'is being removed' }, { activeEventId: busy.id });
  const [ev] = await db
    .insert(events)
    .values({
      kind: 'remove-kept',
      nodeId,
      trigger: 'manual',
      status: 'queued',
      destination: dataset,
      createdAt: at,
      params: { dataset, restoreEventId: k.restoreEventId, guids: k.guids },
    })
    .returning({ id: events.id });
  await deps.waker?.notify(nodeId);
  return ev.id;
}

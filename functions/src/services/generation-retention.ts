// Old generations (docs/zfs.md, "Old generations"): which ones a backup destroys on the target,
// decided when the backup is claimed (protocol/src/generations.ts decides, this reads what it needs),
// and what a backup that destroyed some changes here (catalog, generations).
import { and, eq, isNull, sql } from 'drizzle-orm';
import { ACTIVE_STATUSES } from '../../../protocol/src/events.ts';
import { planGenerationDrops, type GenerationVerdict } from '../../../protocol/src/generations.ts';
import { generationRoot } from '../../../protocol/src/layout.ts';
import { catalogDatasets, catalogSnapshots, generations, type jobs } from '../db/schema.ts';
import type { DB } from '../db/types.ts';

type Job = typeof jobs.$inferSelect;

/** The generations a backup of `job` claimed now should destroy, with the reason for each. */
export async function generationsToDrop(db: DB, job: Job, at: number): Promise<{ generation: number; reason: string }[]> {
  if (job.keepGenerations === null && job.keepGenerationDays === null) return [];
  const rows = await db
    .select({ generation: generations.generation, createdAt: generations.createdAt })
    .from(generations)
    .where(and(eq(generations.jobId, job.id), isNull(generations.droppedAt)));
  // restores that read a generation now: job restores carry it, out-of-band ones name the source
  // job. Through the status index by name: with a long all-finished history SQLite's statistics
  // otherwise make it scan every event, at every backup's claim.
  const active = await db.all<{ id: number; generation: number | null }>(
    sql`SELECT id, json_extract(params, '$.generation') AS generation FROM events INDEXED BY events_status_idx
        WHERE status IN (${sql.join(
          ACTIVE_STATUSES.map((s) => sql`${s}`),
          sql`, `,
        )}) AND kind IN ('restore', 'oob-restore')
        AND (job_id = ${job.id} OR json_extract(params, '$.sourceJobId') = ${job.id})`,
  );
  const busy = new Map<number, string>();
  for (const e of active) {
    const g = Number(e.generation);
    if (e.generation !== null && Number.isInteger(g)) busy.set(g, `a restore from it is queued or running (event ${e.id})`);
  }
  if (job.forkFromGeneration !== null) busy.set(job.forkFromGeneration, 'the next backup forks from it (a restore came from it)');
  const verdicts: GenerationVerdict[] = planGenerationDrops({
    generations: rows,
    current: job.currentGeneration,
    policy: { keepGenerations: job.keepGenerations, keepGenerationDays: job.keepGenerationDays },
    now: at,
    busy,
  });
  return verdicts.filter((v) => v.drop).map(({ generation, reason }) => ({ generation, reason }));
}

/**
 * A backup destroyed these generations (only those its claim offered count): they leave the catalog
 * and are marked dropped, so restores no longer offer them.
 */
export async function recordDroppedGenerations(
  db: DB,
  ev: { jobId: number; targetId: number; params: Record<string, unknown> | null },
  reported: unknown,
  backupRoot: string,
  at: number,
) {
  const offered = new Map(
    ((ev.params?.dropGenerations ?? []) as { generation: number; reason: string }[]).map((d) => [d.generation, d.reason]),
  );
  const dropped = Array.isArray(reported) ? reported.filter((g): g is number => Number.isInteger(g) && offered.has(g)) : [];
  for (const g of dropped) {
    const root = generationRoot(backupRoot, ev.jobId, g);
    const inTree = (col: typeof catalogDatasets.dataset | typeof catalogSnapshots.dataset) =>
      sql`(${col} = ${root} OR substr(${col}, 1, ${root.length + 1}) = ${root + '/'})`;
    await db.batch([
      db.delete(catalogSnapshots).where(and(eq(catalogSnapshots.targetId, ev.targetId), inTree(catalogSnapshots.dataset))),
      db.delete(catalogDatasets).where(and(eq(catalogDatasets.targetId, ev.targetId), inTree(catalogDatasets.dataset))),
      db
        .update(generations)
        .set({ droppedAt: at, droppedReason: offered.get(g)! })
        .where(and(eq(generations.jobId, ev.jobId), eq(generations.generation, g))),
    ]);
  }
}

// A job's generations as the API lists them (GET /jobs/{id}/generations, and what a restore from
// the job may name): the generations table plus any the catalog knows, each with its snapshots.
import { and, desc, eq } from 'drizzle-orm';
import { catalogDatasets, catalogSnapshots, generations, jobs } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { iso } from '../lib/http.ts';

/** Generations of a job from the catalog, newest first; snapshots are those of the job's root source. */
export async function jobGenerations(db: DB, job: typeof jobs.$inferSelect) {
  // a generation a backup destroyed (old generations) is gone, and so are its catalog rows
  const gens = await db.select().from(generations).where(eq(generations.jobId, job.id)).orderBy(desc(generations.generation));
  const dropped = new Set(gens.filter((g) => g.droppedAt !== null).map((g) => g.generation));
  const rows = await db
    .select({ s: catalogSnapshots, source: catalogDatasets.source })
    .from(catalogSnapshots)
    .innerJoin(
      catalogDatasets,
      and(eq(catalogDatasets.targetId, catalogSnapshots.targetId), eq(catalogDatasets.dataset, catalogSnapshots.dataset)),
    )
    .where(
      and(
        eq(catalogSnapshots.targetId, job.targetId),
        eq(catalogSnapshots.jobId, job.id),
        job.mode === 'dataset' ? eq(catalogDatasets.source, job.source) : undefined,
      ),
    )
    .orderBy(desc(catalogSnapshots.createdAt), desc(catalogSnapshots.id));
  // A dataset job lists its root's snapshots. A jail/VM job's source is the guest id: every root
  // carries the same snapshot names, so list each once, from the first root (by source path).
  const firstRoot = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    const key = `${r.s.generation}\u0000${r.s.name}`;
    const seen = firstRoot.get(key);
    if (!seen || (r.source ?? '') < (seen.source ?? '')) firstRoot.set(key, r);
  }
  const snaps = rows.filter((r) => firstRoot.get(`${r.s.generation}\u0000${r.s.name}`) === r);
  const known = new Set(gens.map((g) => g.generation));
  const shown = gens.filter((g) => !dropped.has(g.generation));
  const extra = [...new Set(snaps.map((r) => r.s.generation ?? 0))].filter((g) => !known.has(g));
  const all = [
    ...shown.map((g) => ({ generation: g.generation, createdAt: g.createdAt, reason: g.reason })),
    ...extra.map((g) => ({ generation: g, createdAt: null as number | null, reason: null as string | null })),
  ].sort((a, b) => b.generation - a.generation);
  return all.map((g) => ({
    generation: g.generation,
    current: g.generation === job.currentGeneration,
    createdAt: iso(g.createdAt),
    reason: g.reason,
    snapshots: snaps
      .filter((r) => r.s.generation === g.generation)
      .map(({ s }) => ({
        name: s.name,
        guid: s.guid,
        createdAt: iso(s.createdAt),
        usedBytes: s.usedBytes,
        referencedBytes: s.referencedBytes,
        dataset: s.dataset,
      })),
  }));
}

// The retention preview (README, "Retention"): the pure planner (protocol/src/retention.ts) over the
// listings the server already has: a job's source snapshots as its last backup reported them
// (source_snapshots), its target snapshots as the catalog records them. Neither listing knows about
// clones, and the catalog not about holds: the runner, which sees both sides live, has the last word.
import type { z } from '@hono/zod-openapi';
import { and, asc, eq } from 'drizzle-orm';
import { effectivePolicy, isTimeZone, planRetention, type RetentionPolicy } from '../../../protocol/src/retention.ts';
import type { RetentionPreview, RetentionPreviewRequest } from '../contract/api.ts';
import { catalogDatasets, catalogSnapshots, sourceSnapshots } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { invalid } from '../lib/errors.ts';
import { iso } from '../lib/http.ts';
import { loadJob } from './jobs.ts';

type Side = 'source' | 'target';
type Preview = z.infer<typeof RetentionPreview>;
type Listed = z.input<typeof RetentionPreviewRequest>['datasets'][number];

/** The planner's verdicts for each dataset of `datasets` (pure). */
export function planPreview(
  a: { side: Side; jobId: number; generation: number | null; policy: RetentionPolicy | null; timezone: string; now: number },
  datasets: Listed[],
): Preview['datasets'] {
  return datasets.map((d) => {
    const snapshots = d.snapshots.map((s) => ({
      name: s.name,
      guid: s.guid,
      createtxg: s.createtxg,
      createdAt: new Date(Date.parse(s.createdAt)).toISOString(),
      creation: Math.floor(Date.parse(s.createdAt) / 1000),
      job: s.jobId,
      generation: s.generation,
      userrefs: s.userrefs ?? 0,
      cloned: s.cloned ?? false,
    }));
    const otherSideGuids = d.otherSideGuids ?? [];
    const plan = planRetention({
      side: a.side,
      jobId: a.jobId,
      policy: a.policy,
      generation: a.generation,
      timeZone: a.timezone,
      now: a.now,
      snapshots,
      otherSideGuids,
    });
    return {
      dataset: d.dataset,
      otherSideGuids,
      snapshots: plan.verdicts.map(({ snapshot: { creation: _c, job, ...s }, keep, reasons }) => ({
        ...s,
        jobId: job,
        keep,
        reasons: [...reasons],
      })),
    };
  });
}

/** POST /jobs/retention/preview: a policy, saved or not, over the snapshot list given. */
export function previewGiven(b: z.infer<typeof RetentionPreviewRequest>, at: number): Preview {
  if (!isTimeZone(b.timezone)) throw invalid('timezone', `unknown time zone "${b.timezone}"`);
  if (b.side === 'target' && b.generation === undefined) throw invalid('generation', 'is required for the target side');
  const now = b.now ? Date.parse(b.now) : at;
  const generation = b.generation ?? null;
  return {
    side: b.side,
    policy: b.policy,
    timezone: b.timezone,
    generation,
    now: new Date(now).toISOString(),
    listedAt: null,
    datasets: planPreview(
      { side: b.side, jobId: b.jobId, generation, policy: b.policy, timezone: b.timezone, now: now / 1000 },
      b.datasets,
    ),
  };
}

/** GET /jobs/{id}/retention/preview: the job's saved policy over the listings the server has. */
export async function previewJob(db: DB, jobId: number, side: Side, at: number): Promise<Preview> {
  const job = await loadJob(db, jobId);
  const generation = job.currentGeneration;
  // the target datasets of the current generation, and the source dataset each one is a copy of
  const tgtDatasets = await db
    .select({ dataset: catalogDatasets.dataset, source: catalogDatasets.source, updatedAt: catalogDatasets.updatedAt })
    .from(catalogDatasets)
    .where(and(eq(catalogDatasets.targetId, job.targetId), eq(catalogDatasets.jobId, job.id), eq(catalogDatasets.generation, generation)));
  const tgtSnaps = await db
    .select()
    .from(catalogSnapshots)
    .where(and(eq(catalogSnapshots.targetId, job.targetId), eq(catalogSnapshots.jobId, job.id)))
    .orderBy(asc(catalogSnapshots.dataset), asc(catalogSnapshots.createdAt));
  const srcSnaps = await db
    .select()
    .from(sourceSnapshots)
    .where(eq(sourceSnapshots.jobId, job.id))
    .orderBy(asc(sourceSnapshots.dataset), asc(sourceSnapshots.createdAt));
  // when the catalog last recorded this generation's datasets
  const reportedAt = tgtDatasets.reduce<number | null>((m, d) => (m === null || d.updatedAt > m ? d.updatedAt : m), null);

  const group = <T extends { dataset: string }>(rows: T[]) => {
    const m = new Map<string, T[]>();
    for (const r of rows) {
      const list = m.get(r.dataset);
      if (list) list.push(r);
      else m.set(r.dataset, [r]);
    }
    return m;
  };
  const bySource = group(srcSnaps);
  const byTarget = group(tgtSnaps);
  const targetOf = new Map(tgtDatasets.filter((d) => d.source !== null).map((d) => [d.source!, d.dataset]));
  const isoAt = (ms: number) => new Date(ms).toISOString();

  let datasets: Listed[];
  if (side === 'source') {
    datasets = [...bySource].map(([dataset, rows]) => ({
      dataset,
      otherSideGuids: (byTarget.get(targetOf.get(dataset) ?? '') ?? []).map((s) => s.guid),
      snapshots: rows.map((s) => ({
        name: s.name,
        guid: s.guid,
        createtxg: s.createtxg,
        createdAt: isoAt(s.createdAt),
        jobId: s.snapshotJobId,
        generation: s.generation,
        userrefs: s.userrefs,
        cloned: false,
      })),
    }));
  } else {
    datasets = tgtDatasets
      .filter((d) => d.source !== null)
      .map((d) => ({
        dataset: d.dataset,
        otherSideGuids: (bySource.get(d.source!) ?? []).map((s) => s.guid),
        snapshots: (byTarget.get(d.dataset) ?? []).map((s) => ({
          name: s.name,
          guid: s.guid,
          createtxg: s.createtxg ?? '0',
          createdAt: isoAt(s.createdAt),
          jobId: s.jobId,
          generation: s.generation,
          userrefs: 0,
          cloned: false,
        })),
      }));
  }
  const policy = effectivePolicy(job, side);
  const listedAt = side === 'target' ? reportedAt : srcSnaps.length ? job.lastRunAt : null;
  return {
    side,
    policy,
    timezone: job.timezone,
    generation,
    now: isoAt(at),
    listedAt: iso(listedAt),
    datasets: planPreview({ side, jobId: job.id, generation, policy, timezone: job.timezone, now: at / 1000 }, datasets),
  };
}

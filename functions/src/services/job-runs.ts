// Work queued for a job on request: Run Now (admin or webhook; the backup event comes from the same
// builder as the schedule's, queue.ts backupEvent) and a restore from one of its generations.
import { eq } from 'drizzle-orm';
import { targets } from '../db/schema.ts';
import { conflict, invalid } from '../lib/errors.ts';
import type { AppDeps } from '../lib/http.ts';
import { jobGenerations } from './generations.ts';
import type { JobRow } from './jobs.ts';
import { backupEvent, enqueueJobWork } from './queue.ts';

type RunDeps = Pick<AppDeps, 'db' | 'waker'>;

/** Queue a backup of the job now; returns the event id (409 when its target is disabled or it is busy). */
export async function runJobNow(deps: RunDeps, job: JobRow, trigger: 'manual' | 'webhook', at: number): Promise<number> {
  const { db } = deps;
  const [t] = await db
    .select({ name: targets.name, backupRoot: targets.backupRoot, enabled: targets.enabled })
    .from(targets)
    .where(eq(targets.id, job.targetId));
  if (t && !t.enabled)
    throw conflict(`target "${t.name}" is disabled: it takes no backups until it is enabled again`, { targetId: 'is disabled' });
  const eventId = await enqueueJobWork(db, backupEvent(job, t?.backupRoot ?? null, trigger, at));
  await deps.waker?.notify(job.nodeId);
  return eventId;
}

/** Queue a restore of a catalogued snapshot of one of the job's generations onto the job's source; returns the event id. */
export async function restoreFromJob(
  deps: RunDeps,
  job: JobRow,
  generation: number,
  snapshot: string,
  keepReplaced: boolean,
  at: number,
): Promise<number> {
  const gens = await jobGenerations(deps.db, job);
  const gen = gens.find((g) => g.generation === generation);
  if (!gen) throw invalid('generation', `job "${job.name}" has no generation ${generation}`);
  const snap = gen.snapshots.find((s) => s.name === snapshot || s.guid === snapshot);
  if (!snap) throw invalid('snapshot', `generation ${generation} has no snapshot "${snapshot}" in the catalog`);
  const eventId = await enqueueJobWork(deps.db, {
    kind: 'restore',
    jobId: job.id,
    jobName: job.name,
    nodeId: job.nodeId,
    targetId: job.targetId,
    trigger: 'manual',
    status: 'queued',
    source: `${snap.dataset}@${snap.name}`,
    destination: job.source,
    generation,
    snapshot: snap.name,
    params: { generation, snapshot: snap.name, guid: snap.guid, dataset: snap.dataset, keepReplaced },
    createdAt: at,
  });
  await deps.waker?.notify(job.nodeId);
  return eventId;
}

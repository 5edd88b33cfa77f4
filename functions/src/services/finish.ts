// What a finished event means for the rest of the model (jobs, generations, targets, catalog).
import type { z } from '@hono/zod-openapi';
import { and, eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { SourceSnapshotsReport, type FinishRequest } from '../contract/runner.ts';
import { events, generations, jobs, sourceSnapshots, targetNodeStatus, targets } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { recordCatalog, scopeCatalogReport, type ReportedDataset } from './catalog.ts';
import { appendFinalLogLine, appendLogs } from './queue.ts';
import { recordDroppedGenerations } from './generation-retention.ts';
import { forgetKept, recordKept } from './kept-datasets.ts';

type EventRow = typeof events.$inferSelect;

/**
 * A runner's finish report for its running event `id`: the status, error, result and the real byte
 * count on the event, its log lines, and what the result means for the rest (applyFinish). Null when
 * the event is not this node's or not running (any more).
 */
export async function finishEvent(
  db: DB,
  nodeId: number,
  id: number,
  b: z.infer<typeof FinishRequest>,
  at: number,
): Promise<EventRow | null> {
  b = await checkExpectedHostKey(db, nodeId, id, b);
  // the source listing goes to its own table (recordSourceSnapshots), not into the event's result
  const { sourceSnapshots: reportedSource, ...rest } = b.result ?? {};
  const result = b.result ? rest : null;
  // The real byte count of the transfer (restores report what they received, backups what they sent).
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  const counted = isCount(result?.bytesReceived) ? result!.bytesReceived : isCount(result?.bytesSent) ? result!.bytesSent : null;
  const done = counted ?? sql`${events.bytesDone}`;
  const [ev] = await db
    .update(events)
    .set({
      status: b.status,
      finishedAt: at,
      leaseUntil: null,
      error: b.status === 'success' ? null : (b.error ?? 'failed without a message'),
      errorClass: b.status === 'success' ? null : (b.errorClass ?? null),
      result,
      ...(result?.snapshot ? { snapshot: String(result.snapshot) } : {}),
      ...(Number.isInteger(result?.generation) ? { generation: result!.generation as number } : {}),
      ...(counted != null ? { bytesDone: counted } : {}),
      // A success with a count replaces the estimate shown during the transfer. Otherwise the total is
      // at least what was done (never null or 0 once bytes moved); with nothing done it stays as it was.
      bytesTotal:
        b.status === 'success' && counted != null
          ? counted
          : sql`CASE WHEN ${done} > 0 THEN max(coalesce(${events.bytesTotal}, 0), ${done}) ELSE ${events.bytesTotal} END`,
      ...(b.status === 'success' ? { phase: null, etaSeconds: 0 } : b.phase !== undefined ? { phase: b.phase } : {}),
    })
    .where(and(eq(events.id, id), eq(events.nodeId, nodeId), eq(events.status, 'running')))
    .returning();
  if (!ev) return null;
  if (b.log?.length) await appendLogs(db, id, b.log, at);
  if (ev.error) await appendFinalLogLine(db, id, ev.status, ev.error, at);
  await applyFinish(db, ev, result, at);
  if (ev.kind === 'backup' && ev.jobId != null && reportedSource !== undefined) await recordSourceSnapshots(db, ev, reportedSource, at);
  if (ev.kind === 'backup' && ev.jobId != null && result?.snapshot) await countSnapshots(db, ev.jobId);
  return ev;
}

/**
 * A validation of an unpinned target that automation gave an expected fingerprint: a different key
 * turns the success into a failure (so nothing is pinned, and the event says why).
 */
async function checkExpectedHostKey(
  db: DB,
  nodeId: number,
  id: number,
  b: z.infer<typeof FinishRequest>,
): Promise<z.infer<typeof FinishRequest>> {
  if (b.status !== 'success' || !b.result?.hostKey) return b;
  const [t] = await db
    .select({ hostKey: targets.hostKey, expected: targets.expectedHostKeyFingerprint })
    .from(events)
    .innerJoin(targets, eq(targets.id, events.targetId))
    .where(and(eq(events.id, id), eq(events.nodeId, nodeId), eq(events.kind, 'validate')));
  const seen = String(b.result.fingerprint ?? '');
  if (!t || t.hostKey || !t.expected || seen === t.expected) return b;
  return {
    ...b,
    status: 'failed',
    errorClass: 'host-key',
    error: `the target presented host key ${seen}, not the expected ${t.expected}: nothing was pinned`,
    result: { ...b.result, hostKey: undefined },
  };
}

/** The reason a runner gave for starting a new generation; anything but a string is not one. */
function newGenerationReason(result: Record<string, unknown>): string {
  const reason = (result.newGeneration as { reason?: unknown } | null | undefined)?.reason;
  return typeof reason === 'string' ? reason : 'new generation';
}

export async function applyFinish(db: DB, ev: EventRow, result: Record<string, unknown> | null, at: number) {
  const ok = ev.status === 'success';
  if (ok && ev.cancelRequested) {
    // a cancel that came after the data was safely on the target changed nothing: say so where the UI shows it
    const late = `cancel arrived after the data was safely on the target: the ${ev.kind} completed`;
    await db
      .update(events)
      .set({ note: ev.note ? `${ev.note}; ${late}` : late })
      .where(eq(events.id, ev.id));
  }
  if ((ev.kind === 'backup' || ev.kind === 'restore') && ev.jobId != null) {
    await db
      .update(jobs)
      .set({ lastStatus: ev.status, lastRunAt: ev.startedAt ?? at })
      .where(eq(jobs.id, ev.jobId));
  }
  // A backup whose data went through records its generation and catalog even when the event failed
  // afterwards (e.g. the guest did not start again): the snapshot on the target is valid.
  const transferred = ev.kind === 'backup' && result != null && typeof result.snapshot === 'string';
  if (ev.kind === 'backup' && (ok || transferred) && ev.jobId != null && result) {
    const [job] = await db.select().from(jobs).where(eq(jobs.id, ev.jobId));
    const gen = Number(result.generation);
    // The runner may only write the generation it was given or the next one it was offered.
    if (job && Number.isInteger(gen) && (gen === job.currentGeneration || gen === ev.params?.nextGeneration)) {
      const stmts: BatchItem<'sqlite'>[] = [];
      if (gen !== job.currentGeneration) {
        stmts.push(
          db
            .insert(generations)
            .values({
              jobId: job.id,
              generation: gen,
              reason: newGenerationReason(result),
              baseGuid: job.forkFromGuid,
              createdAt: at,
            })
            .onConflictDoNothing(),
        );
        stmts.push(
          db.update(jobs).set({ currentGeneration: gen, forkFromGeneration: null, forkFromGuid: null }).where(eq(jobs.id, job.id)),
        );
      }
      if (stmts.length) await db.batch(stmts as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
    }
  }
  // A restore that swapped its data in (success, or a failure that still reports its result: the
  // guest did not start again) makes the next backup fork a new generation from the restored snapshot.
  const swappedIn =
    ev.kind === 'restore' && (ok || (result != null && typeof result.snapshot === 'string' && typeof result.guid === 'string'));
  if (swappedIn && ev.jobId != null) {
    const p = (ev.params ?? {}) as { generation?: number; guid?: string };
    if (p.generation && p.guid) {
      await db.update(jobs).set({ forkFromGeneration: p.generation, forkFromGuid: p.guid }).where(eq(jobs.id, ev.jobId));
    }
  }
  // replaced datasets a restore did not destroy (kept on request, or their removal failed)
  if ((ev.kind === 'restore' || ev.kind === 'oob-restore') && Array.isArray(result?.kept) && result.kept.length)
    await recordKept(db, ev, result.kept, at);
  if (ev.kind === 'remove-kept' && ok) await forgetKept(db, ev);
  if (ev.kind === 'validate' && ev.targetId != null) {
    const [t] = await db.select().from(targets).where(eq(targets.id, ev.targetId));
    if (t) {
      const offered = ev.params?.configRevision;
      const revision = typeof offered === 'number' ? offered : t.configRevision;
      await db
        .insert(targetNodeStatus)
        .values({
          targetId: t.id,
          nodeId: ev.nodeId,
          state: ok ? 'ready' : 'failed',
          error: ok ? null : ev.error,
          configRevision: revision,
          validatedAt: at,
        })
        .onConflictDoUpdate({
          target: [targetNodeStatus.targetId, targetNodeStatus.nodeId],
          set: { state: ok ? 'ready' : 'failed', error: ok ? null : ev.error, configRevision: revision, validatedAt: at },
        });
      // A successful validation of an unpinned target pins the key it saw when automation named it
      // beforehand (checkExpectedHostKey refused any other), else keeps it for an admin to confirm
      // (README, "Adding a target"); later ones must have matched the pin.
      if (ok && result?.hostKey && !t.hostKey) {
        const key = String(result.hostKey);
        const fingerprint = String(result.fingerprint ?? '');
        await db
          .update(targets)
          .set(
            t.expectedHostKeyFingerprint === fingerprint
              ? { hostKey: key, hostKeyFingerprint: fingerprint, pendingHostKey: null, pendingHostKeyFingerprint: null }
              : { pendingHostKey: key, pendingHostKeyFingerprint: fingerprint },
          )
          .where(and(eq(targets.id, t.id), sql`${targets.hostKey} IS NULL`));
      }
    }
  }
  if ((ok || transferred) && ev.targetId != null && Array.isArray(result?.catalog)) {
    await recordScopedCatalog(db, ev, ev.targetId, result!.catalog as ReportedDataset[], ev.kind === 'browse', at);
  }
  if (ev.kind === 'backup' && ev.jobId != null && ev.targetId != null && result?.droppedGenerations !== undefined) {
    const [t] = await db.select({ backupRoot: targets.backupRoot }).from(targets).where(eq(targets.id, ev.targetId));
    if (t)
      await recordDroppedGenerations(
        db,
        { jobId: ev.jobId, targetId: ev.targetId, params: ev.params },
        result.droppedGenerations,
        t.backupRoot,
        at,
      );
  }
}

/**
 * A backup's source snapshots replace what its job's last backup reported. Only the job's own node
 * reports them and only for that job (a node is trusted with its own work); a malformed report is
 * named in the event log and changes nothing.
 */
async function recordSourceSnapshots(db: DB, ev: EventRow, reported: unknown, at: number) {
  const parsed = SourceSnapshotsReport.safeParse(reported);
  if (!parsed.success) {
    await appendLogs(db, ev.id, [{ level: 'warn', message: `source snapshot report rejected: ${parsed.error.issues[0]?.message}` }], at);
    return;
  }
  const rows = parsed.data.flatMap((d) =>
    d.snapshots.map((s) => ({
      jobId: ev.jobId!,
      dataset: d.dataset,
      name: s.name,
      guid: s.guid,
      createtxg: s.createtxg,
      createdAt: s.creation * 1000,
      snapshotJobId: s.jobId,
      generation: s.generation,
      userrefs: s.userrefs,
    })),
  );
  const stmts: BatchItem<'sqlite'>[] = [db.delete(sourceSnapshots).where(eq(sourceSnapshots.jobId, ev.jobId!))];
  // 9 columns a row: 11 rows a statement stays under D1's 100 bound parameters
  for (let i = 0; i < rows.length; i += 11)
    stmts.push(
      db
        .insert(sourceSnapshots)
        .values(rows.slice(i, i + 11))
        .onConflictDoNothing(),
    );
  await db.batch(stmts as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
}

/** The job's own snapshots on each side after a backup, for the metrics (lifeboat_job_snapshots). */
async function countSnapshots(db: DB, jobId: number) {
  await db
    .update(jobs)
    .set({
      sourceSnapshotCount: sql`(SELECT count(*) FROM source_snapshots s WHERE s.job_id = ${jobId} AND s.snapshot_job_id = ${jobId})`,
      targetSnapshotCount: sql`(SELECT count(*) FROM catalog_snapshots c WHERE c.target_id = ${jobs.targetId} AND c.job_id = ${jobId})`,
    })
    .where(eq(jobs.id, jobId));
}

/** Record the part of a catalog report that the event covers; the rest is named in the event's log. */
export async function recordScopedCatalog(
  db: DB,
  ev: EventRow,
  targetId: number,
  reported: ReportedDataset[],
  complete: boolean,
  at: number,
) {
  const [t] = await db.select({ backupRoot: targets.backupRoot }).from(targets).where(eq(targets.id, targetId));
  if (!t) return;
  const { accepted, rejected } = scopeCatalogReport(ev, t.backupRoot, reported);
  if (rejected.length) {
    const shown = rejected.slice(0, 20).join(', ') + (rejected.length > 20 ? ` and ${rejected.length - 20} more` : '');
    await appendLogs(
      db,
      ev.id,
      [
        {
          level: 'warn',
          message: `catalog report: ${rejected.length} item(s) outside this ${ev.kind} event's own job were rejected: ${shown}`,
        },
      ],
      at,
    );
  }
  await recordCatalog(db, targetId, accepted, complete, at);
}

// Job rules that need the database (the field syntax is in the contract).
import { jobIsRecursive } from '../../../protocol/src/layout.ts';
import { and, eq } from 'drizzle-orm';
import { guests, jobs, nodeDatasets, targets } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { datasetNameError } from '../contract/fields.ts';
import { conflict, invalid } from '../lib/errors.ts';
import { isValidTimeZone, nextRun, scheduleError } from '../lib/schedule.ts';
import { resolveNode } from './nodes.ts';

export type JobInput = {
  name: string; targetId: number; nodeId?: number; mode: 'dataset' | 'jail' | 'vm'; source: string;
  schedule: string; timezone: string; keepLast: number; enabled: boolean; pruneTarget: boolean;
  stopBeforeBackup: boolean; recursive: boolean; sendDecrypted: boolean;
};

/** Checks a complete job definition; returns the values to store. Throws 400s naming the field. */
/** `refresh`: ask the node for a fresh inventory when the source is not in the last one (services/inventory.ts). */
export async function checkJob(db: DB, input: JobInput, at: number, selfId?: number, currentTargetId?: number, refresh?: (nodeId: number) => Promise<boolean>) {
  const [same] = await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.name, input.name));
  if (same && same.id !== selfId) throw conflict('a job with this name already exists', { name: 'is already used by another job' });

  const [target] = await db.select().from(targets).where(eq(targets.id, input.targetId));
  if (!target) throw invalid('targetId', `target ${input.targetId} does not exist`);
  // A new job, or a job moved to another target, needs an enabled one; a job staying on a disabled
  // target can always be edited (and disabled).
  if (!target.enabled && target.id !== currentTargetId) throw invalid('targetId', `target "${target.name}" is disabled`);

  const node = await resolveNode(db, input.nodeId);

  let source = input.source;
  if (input.mode === 'dataset') {
    const err = datasetNameError(source);
    if (err) throw invalid('source', err);
    const find = async () => (await db.select({ name: nodeDatasets.name }).from(nodeDatasets)
      .where(and(eq(nodeDatasets.nodeId, node.id), eq(nodeDatasets.name, source))))[0];
    let ds = node.inventoryAt == null ? undefined : await find();
    // a dataset made a moment ago: the node's last report may predate it
    if (!ds && refresh && (await refresh(node.id))) ds = await find();
    else if (!ds && node.inventoryAt == null) throw invalid('source', `node "${node.name}" has not reported its datasets yet`);
    if (!ds) throw invalid('source', `dataset "${source}" does not exist on node "${node.name}"`);
  } else {
    const [g] = await db.select().from(guests)
      .where(and(eq(guests.nodeId, node.id), eq(guests.kind, input.mode), eq(guests.guestId, source)));
    if (!g) throw invalid('source', `no ${input.mode === 'jail' ? 'jail' : 'VM'} "${source}" in the inventory of node "${node.name}"`);
  }

  if (input.stopBeforeBackup && input.mode === 'dataset') throw invalid('stopBeforeBackup', 'applies only to jail and vm jobs');

  const schedule = input.schedule.trim().replace(/\s+/g, ' ');
  if (!isValidTimeZone(input.timezone)) throw invalid('timezone', `unknown time zone "${input.timezone}"`);
  if (schedule) {
    const err = scheduleError(schedule, input.timezone);
    if (err) throw invalid('schedule', err);
  }
  return {
    name: input.name, targetId: target.id, nodeId: node.id, mode: input.mode, source, schedule,
    timezone: input.timezone, keepLast: input.keepLast, enabled: input.enabled, pruneTarget: input.pruneTarget,
    stopBeforeBackup: input.stopBeforeBackup,
    recursive: jobIsRecursive(input),
    sendDecrypted: input.sendDecrypted,
    nextRunAt: input.enabled && schedule ? nextRun(schedule, input.timezone, at) : null,
    target, node,
  };
}


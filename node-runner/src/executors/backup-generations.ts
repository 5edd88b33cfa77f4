// Old generations (docs/zfs.md, "Old generations"): after a backup's own work, the generations the
// server chose (protocol/src/generations.ts) are destroyed on the target, each only after its tree
// was read right before and found to be the job's: the generation root marked with the job and the
// generation itself (not inherited), every dataset in it the job's. The job's holds inside go first
// (they protect the chain of a generation that is going); anyone else's hold, or a clone of one of
// its snapshots outside it, makes `zfs destroy -r` refuse (never -R): that generation is kept and
// named in the log, and the backup still succeeds.
import { generationRoot, holdTag } from '../../../protocol/src/layout.ts';
import { asExecError, ExecError } from '../core/errors.ts';
import { USER_PROP_GENERATION, USER_PROP_JOB, type Zfs } from '../zfs/index.ts';
import { getWithSource, runRetryBusy } from './restore-local.ts';
import type { ExecContext } from './types.ts';

export interface DropInput {
  backupRoot: string;
  jobId: number;
  /** the generations this run may write: never destroyed */
  writing: number[];
  drops: { generation: number; reason: string }[];
  ctx: ExecContext;
}

/** Destroys what it can of `drops`; returns the generations that are gone now (destroyed, or already). */
export async function dropOldGenerations(z: Zfs, i: DropInput): Promise<number[]> {
  const gone: number[] = [];
  for (const d of i.drops) {
    const root = generationRoot(i.backupRoot, i.jobId, d.generation);
    try {
      if (i.writing.includes(d.generation)) throw new ExecError('internal', 'this run writes that generation');
      if (!(await z.exists(root))) {
        i.ctx.log(`generation ${d.generation} (${root}) is already gone`);
        gone.push(d.generation);
        continue;
      }
      const t = await getWithSource(z, [root], ['type', 'userrefs', USER_PROP_JOB, USER_PROP_GENERATION], { recursive: true });
      const r = t.get(root);
      const own = (p: { value: string | null; source: string } | undefined, v: string) => p?.value === v && p.source === 'local';
      if (!own(r?.[USER_PROP_JOB], String(i.jobId)) || !own(r?.[USER_PROP_GENERATION], String(d.generation)))
        throw new ExecError('zfs', `${root} is not marked as generation ${d.generation} of job ${i.jobId}`);
      const held: string[] = [];
      for (const [n, p] of t) {
        if (n.includes('#')) continue;
        if (p[USER_PROP_JOB]?.value !== String(i.jobId)) throw new ExecError('zfs', `${n} inside ${root} is not job ${i.jobId}'s`);
        if (n.includes('@') && Number(p.userrefs?.value) > 0) held.push(n);
      }
      if (held.length) await z.setAndHold([], { tag: holdTag(i.jobId), hold: [], release: held });
      await runRetryBusy(z, ['destroy', '-r', root], `zfs destroy -r ${root}`);
      i.ctx.log(`destroyed generation ${d.generation} (${root}): ${d.reason}`);
      gone.push(d.generation);
    } catch (e) {
      const err = asExecError(e);
      if (err.errorClass === 'cancelled' || err.errorClass === 'connectivity') throw err;
      i.ctx.log(`kept generation ${d.generation} (${root}): ${err.message}`);
    }
  }
  return gone;
}

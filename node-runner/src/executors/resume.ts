// Interrupted receives on the target (docs/zfs.md: resumable receive).
//
// Where the target's zfs has resumable receive (`recv -s`, OpenZFS), backups receive with `-s`: a
// receive cut off by a crash, a cancel or a dropped connection leaves a `receive_resume_token` on
// the target dataset. The next backup first settles every such dataset of the job's generation:
// it resumes the stream (`zfs send -t <token> | zfs recv -s`, which sends only what is missing) and
// tags the snapshot that arrived like the run that sent it; when the token no longer fits (the
// source snapshot was destroyed, the token is stale) it clears the partial state with
// `zfs recv -A`, which leaves the dataset as it was before that receive (or removes a partial
// full receive), and the run continues with an ordinary send. Nothing that was complete on the
// target is touched either way.
//
// zfs-fuse 0.7 has no `recv -s`: a cut-off receive is discarded by zfs itself (nothing partial is
// kept), and the next run simply sends the same increment again (a clean restart). The caller
// only calls this when the capability was detected.
import type { SshSession } from '../ssh/index.ts';
import {
  Zfs,
  missingAs,
  oneLine,
  recvArgv,
  resumeSendArgv,
  USER_PROP_EVENT,
  USER_PROP_GENERATION,
  USER_PROP_JOB,
  USER_PROP_SOURCE,
} from '../zfs/index.ts';
import { parseResumeTokenBytes } from '../zfs/parse.ts';
import { TransferProgress } from './progress.ts';
import { sendToTarget } from './stream-pipe.ts';
import { ExecError, type ExecContext } from './types.ts';

export interface SettledReceive {
  dataset: string;
  action: 'resumed' | 'aborted';
  bytes: number;
  detail: string;
}

/**
 * Resume or abort every interrupted receive under `genRoot` (job `jobId`). `sourceOf` maps a target
 * dataset to its source dataset; snapshots are matched by GUID. `onBytes` counts resumed stream
 * bytes as they go. Returns what was done.
 */
export async function settleInterruptedReceives(
  remote: Zfs,
  session: SshSession,
  genRoot: string,
  jobId: number,
  sourceOf: (target: string) => string | null,
  local: Zfs,
  ctx: ExecContext,
  onBytes: (n: number) => void,
): Promise<SettledReceive[]> {
  const table = await remote.get([genRoot], ['receive_resume_token'], { recursive: true }).catch(missingAs(null));
  if (!table) return [];
  const rcaps = await remote.capabilities();
  const out: SettledReceive[] = [];
  for (const [name, props] of table) {
    const token = props.receive_resume_token;
    if (name.includes('@') || !token || token === '-') continue;
    const src = sourceOf(name);
    let detail = '';
    let bytes = 0;
    let resumed = false;
    // Ask the sending side first: a token whose snapshot is gone fails here, before any stream starts.
    const dry = await local.host.exec(resumeSendArgv(token, { dryRun: true }), { signal: ctx.signal });
    if (ctx.signal.aborted) throw new ExecError('cancelled', 'cancelled while settling an interrupted receive');
    if (!src || !(await local.exists(src))) {
      detail = `source ${src ?? '(unknown)'} does not exist`;
    } else if (dry.code !== 0) {
      detail = oneLine(dry.stderr) || `zfs send -t exited ${dry.code}`;
    } else {
      const had = parseResumeTokenBytes(dry.stdout + '\n' + dry.stderr);
      ctx.log(`resuming the interrupted receive into ${name}${had !== null ? ` (the target holds ${had} bytes of it)` : ''}`);
      try {
        bytes = await sendToTarget({
          sendArgv: resumeSendArgv(token),
          recvArgv: recvArgv({ target: name, caps: rcaps, resumable: true }),
          session,
          signal: ctx.signal,
          onBytes,
          what: { send: `the resume token of ${name}`, recv: name },
        });
        resumed = true;
      } catch (e) {
        if (ctx.signal.aborted || (e instanceof ExecError && e.errorClass === 'connectivity')) throw e;
        detail = (e as Error).message;
      }
    }
    if (resumed) {
      await tagResumed(remote, local, name, src!, jobId);
      ctx.log(`resumed the interrupted receive into ${name}: ${bytes} bytes sent`);
      out.push({ dataset: name, action: 'resumed', bytes, detail: '' });
    } else {
      await remote.run(['recv', '-A', name], `zfs recv -A ${name}`);
      ctx.log(
        `cleared the interrupted receive into ${name} (zfs recv -A): it could not be resumed (${detail}); the run continues with an ordinary send`,
      );
      out.push({ dataset: name, action: 'aborted', bytes: 0, detail });
    }
  }
  return out;
}

/** Tag target snapshots that arrived untagged (by a resumed receive) like their source snapshots. */
async function tagResumed(remote: Zfs, local: Zfs, target: string, source: string, jobId: number): Promise<void> {
  const [t] = await remote.tree(target, false);
  const [s] = await local.tree(source, false);
  if (!t || !s) return;
  const byGuid = new Map(s.snapshots.map((x) => [x.guid, x]));
  for (const snap of t.snapshots) {
    const from = byGuid.get(snap.guid);
    if (snap.job !== null || !from || from.job !== jobId) continue;
    await remote.set(snap.full, {
      [USER_PROP_JOB]: String(jobId),
      ...(from.generation !== null ? { [USER_PROP_GENERATION]: String(from.generation) } : {}),
      ...(from.event !== null ? { [USER_PROP_EVENT]: String(from.event) } : {}),
    });
  }
  if (t.source === null) {
    const gen = s.snapshots.find((x) => x.job === jobId)?.generation;
    await remote.set(target, {
      [USER_PROP_JOB]: String(jobId),
      ...(gen != null ? { [USER_PROP_GENERATION]: String(gen) } : {}),
      [USER_PROP_SOURCE]: source,
    });
  }
}

/**
 * A backup's first step where the target can resume: settle the interrupted receives in each of
 * `genRoots` that exists (the current generation and the next one: a fork after a restore whose
 * run failed mid-stream left its partial receive there), counting resumed bytes as transfer
 * progress. Returns the bytes resumed and how many datasets were settled (the caller re-lists then).
 */
export async function settleBackupReceives(
  remote: Zfs,
  session: SshSession,
  local: Zfs,
  genRoots: string[],
  jobId: number,
  ctx: ExecContext,
): Promise<{ bytes: number; settled: number }> {
  const resuming = new TransferProgress(ctx, null);
  let started = false;
  let settled = 0;
  for (const g of genRoots) {
    const sourceOf = (t: string) => (t.startsWith(g + '/') ? t.slice(g.length + 1) : null);
    const done = await settleInterruptedReceives(remote, session, g, jobId, sourceOf, local, ctx, (n) => {
      if (!started) {
        started = true;
        resuming.start();
      }
      resuming.add(n);
    });
    settled += done.length;
  }
  if (started) resuming.stop();
  return { bytes: resuming.bytesDone, settled };
}

// Interrupted receives on the target (DESIGN §4, issue 8 item 2).
//
// Where the target's zfs has resumable receive (`recv -s`, OpenZFS), a receive cut off by a crash,
// a cancel or a dropped connection leaves a `receive_resume_token` on the target dataset. The next
// backup first settles every such dataset of the job's generation: it resumes the stream
// (`zfs send -t <token> | zfs recv -s`) and tags the snapshot that arrived like the run that sent
// it; if resuming fails (the source snapshot was destroyed, the token is stale) it clears the
// partial state with `zfs recv -A`, which leaves the dataset as it was before that receive (or
// removes a partial full receive), and the run continues with an ordinary send.
//
// zfs-fuse 0.7 has no `recv -s`: a cut-off receive is discarded by zfs itself (nothing partial is
// kept), and the next run simply sends the same increment again (a clean restart). The caller
// only calls this when the capability was detected.
import type { SshSession } from '../ssh/index.ts';
import {
  LocalHost, Zfs, killChild, waitExit, oneLine,
  USER_PROP_EVENT, USER_PROP_GENERATION, USER_PROP_JOB, USER_PROP_SOURCE,
  type DatasetInfo,
} from '../zfs/index.ts';
import { ExecError, type ExecContext } from './types.ts';

export interface SettledReceive { dataset: string; action: 'resumed' | 'aborted'; bytes: number; detail: string }

/**
 * Resume or abort every interrupted receive under `genRoot` (job `jobId`). `source` maps a target
 * dataset to its source dataset; snapshots are matched by GUID. Returns what was done.
 */
export async function settleInterruptedReceives(
  remote: Zfs, session: SshSession, genRoot: string, jobId: number, sourceOf: (target: string) => string | null,
  local: Zfs, ctx: ExecContext,
): Promise<SettledReceive[]> {
  if (!(await remote.exists(genRoot))) return [];
  const table = await remote.get([genRoot], ['receive_resume_token'], { recursive: true });
  const out: SettledReceive[] = [];
  for (const [name, props] of table) {
    const token = props.receive_resume_token;
    if (name.includes('@') || !token || token === '-') continue;
    const src = sourceOf(name);
    let resumed = false;
    let bytes = 0;
    let detail = '';
    if (src && (await local.exists(src))) {
      try {
        bytes = await resumeOne(session, token, name, ctx.signal);
        resumed = true;
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        detail = (e as Error).message;
      }
    } else {
      detail = `source ${src ?? '(unknown)'} does not exist`;
    }
    if (resumed) {
      await tagResumed(remote, local, name, src!, jobId);
      ctx.log(`resumed the interrupted receive into ${name} (${bytes} bytes)`);
      out.push({ dataset: name, action: 'resumed', bytes, detail: '' });
    } else {
      await remote.run(['recv', '-A', name], `zfs recv -A ${name}`);
      ctx.log(`cleared the interrupted receive into ${name} (zfs recv -A): it could not be resumed (${detail})`);
      out.push({ dataset: name, action: 'aborted', bytes: 0, detail });
    }
  }
  return out;
}

/** `zfs send -t <token>` here, piped into `zfs recv -s <target>` on the target. */
async function resumeOne(session: SshSession, token: string, target: string, signal: AbortSignal): Promise<number> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const host = new LocalHost();
  const send = host.spawn(['zfs', 'send', '-t', token], { stdin: 'ignore', stdout: 'pipe' }, ac.signal);
  const recv = session.spawn(['zfs', 'recv', '-s', target], { stdin: 'pipe', stdout: 'ignore' }, ac.signal);
  let err = '';
  let bytes = 0;
  send.stderr?.on('data', (b: Buffer) => { if (err.length < 4096) err += b.toString('utf8'); });
  recv.stderr?.on('data', (b: Buffer) => { if (err.length < 4096) err += b.toString('utf8'); });
  send.on('error', (e) => { err += e.message; });
  recv.on('error', (e) => { err += e.message; });
  recv.stdin!.on('error', () => { /* EPIPE: the exit status tells why */ });
  send.stdout!.on('data', (c: Buffer) => { bytes += c.length; });
  send.stdout!.pipe(recv.stdin!);
  const sendExit = waitExit(send).then((c) => { if (c !== 0) killChild(recv); return c; });
  const recvExit = waitExit(recv).then((c) => { if (c !== 0) killChild(send); return c; });
  const [sc, rc] = await Promise.all([sendExit, recvExit]);
  signal.removeEventListener('abort', onAbort);
  if (signal.aborted) throw new ExecError('cancelled', `resuming the receive into ${target} cancelled`);
  if (sc !== 0 || rc !== 0) throw new ExecError('zfs', `resume failed (send ${sc}, recv ${rc}): ${oneLine(err)}`);
  return bytes;
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
  if ((t as DatasetInfo).source === null) {
    const gen = s.snapshots.find((x) => x.job === jobId)?.generation;
    await remote.set(target, { [USER_PROP_JOB]: String(jobId), ...(gen != null ? { [USER_PROP_GENERATION]: String(gen) } : {}), [USER_PROP_SOURCE]: source });
  }
}


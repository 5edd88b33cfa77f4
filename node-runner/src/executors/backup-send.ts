// The transfer part of a backup (backup.ts): send each planned dataset to the target, check its
// GUID there, then tag it and move the job's hold (backup-holds.ts). Datasets that need a full
// stream or a large incremental go one after another, parents first, each straight from `zfs send`
// to ssh (stream-pipe.ts). Small incrementals (the usual run of a recursive job: a little changed in
// many children) are latency-bound: each costs a stream start, a receive and a transaction-group
// sync on both sides, not bandwidth. They run up to `streams` at a time over the run's one
// connection (docs/zfs.md, "Many datasets"), counted through Node: the ssh master's byte counter
// cannot tell concurrent streams apart, and for small streams the copy costs nothing.
import type { ChildProcess } from 'node:child_process';
import { SshSession } from '../ssh/index.ts';
import { LocalHost, Zfs, missingAs, recvArgv, sendArgv, type DatasetInfo, type ZfsCapabilities } from '../zfs/index.ts';
import { parseSendEstimate } from '../zfs/parse.ts';
import { asExecError } from '../core/errors.ts';
import { TransferProgress } from './progress.ts';
import { sendToTarget } from './stream-pipe.ts';
import type { StreamPlan } from './stream-options.ts';
import { baseLabel, type SendPlan } from './backup-plan.ts';
import { planHoldMove, tagAndHold } from './backup-holds.ts';
import { ExecError, type BackupResult, type ExecContext, type TargetSpec } from './types.ts';

export interface DatasetPlan extends SendPlan {
  estimate: number;
}

/** Small incrementals at a time over one connection (LIFEBOAT_RUNNER_STREAMS; 1: one after another). */
const concurrency = { streams: 4 };
export function configureConcurrentStreams(n: number): void {
  concurrency.streams = Math.max(1, Math.floor(n));
}
/** Snapshots checked and tagged per command after concurrent streams (zfs processes at once per side: about 3 each). */
const TAG_BATCH = 32;
/** An incremental whose size, judged from the listings, is below this joins the concurrent set. */
export const SMALL_STREAM_BYTES = 64 << 20;

/**
 * What a run talks through. The connection is replaced when a broken stream landed anyway
 * (reconnectIfLanded); once the last dataset's data is on the target, both sides stop listening to
 * a cancel (from then on a cancel changes nothing: the run completes and says the cancel came too late).
 */
export interface Link {
  session: SshSession;
  remote: Zfs;
  local: Zfs;
  /** The next receive's session, started ahead so it is ready when the stream starts. */
  standby: ChildProcess | null;
  /** Set once a dataset arrived (the scaffold is kept from then on). */
  received: boolean;
  /** Set once the last dataset's data is on the target. */
  landed: boolean;
}

export interface SendAllInput {
  link: Link;
  jobId: number;
  plans: DatasetPlan[];
  src: DatasetInfo[];
  /** the job's target tree before the sends (the snapshots whose hold moves to the new one) */
  targetBefore: Map<string, DatasetInfo>;
  lcaps: ZfsCapabilities;
  rcaps: ZfsCapabilities;
  target: TargetSpec;
  snapName: string;
  snapProps: Record<string, string>;
  /** `-c -L -e` and the bandwidth limit (stream-options.ts). */
  stream: StreamPlan;
  datasetProps: (p: DatasetPlan) => Record<string, string>;
  /** A guest's metadata properties, set on its roots' target datasets. */
  guestProps: { props: Record<string, string>; roots: string[] } | undefined;
  resumedBytes: number;
  ensureParent: (ds: string) => Promise<void>;
  ctx: ExecContext;
}

/**
 * Which plans go one after another (full sends, parents first; large incrementals) and which run
 * concurrently (small incrementals, by the size the listings suggest), in plan order. Pure.
 */
export function splitForConcurrency(plans: DatasetPlan[], src: DatasetInfo[], streams: number) {
  const byName = new Map(src.map((d) => [d.name, d]));
  const small = (p: DatasetPlan) => !!p.base && sizeFromListing(p, byName.get(p.source)) < SMALL_STREAM_BYTES;
  const concurrent = new Set(streams > 1 ? plans.filter(small) : []);
  // one small stream alone gains nothing from running beside nothing
  if (concurrent.size < 2) return { serial: plans, concurrent: [] as DatasetPlan[] };
  return { serial: plans.filter((p) => !concurrent.has(p)), concurrent: [...concurrent] };
}

/**
 * Send each planned dataset, then check its GUID on the target and tag it. A broken stream whose
 * receive had it all anyway continues over a new connection; anything else stops the run.
 */
export async function sendAll(i: SendAllInput): Promise<BackupResult['datasets']> {
  const { link, plans, snapName, ctx } = i;
  const signal = ctx.signal;
  const progress = new TransferProgress(ctx, null, 5000, 'mid-transfer');
  progress.bytesDone = i.resumedBytes;
  // The estimate only sizes the progress bar: it runs beside the first stream, not before it
  // (one `send -nvP` at a time), and never fails (estimate() falls back to used/referenced).
  const estimated = (async () => {
    let total = 0;
    for (const p of plans) total += p.estimate = await estimate(link.local, i.lcaps, p, i.src, i.stream);
    progress.bytesTotal = i.resumedBytes + total;
    ctx.log(`stream size estimate: ${total} bytes (${i.lcaps.sendEstimate ? 'zfs send -nvP' : 'from used/referenced'})`);
  })();
  const results = new Map<DatasetPlan, BackupResult['datasets'][number]>();
  const srcByName = new Map(i.src.map((d) => [d.name, d]));

  /** One stream; a transfer error is returned with the bytes counted before it, not thrown. */
  const stream = async (p: DatasetPlan, recv: ChildProcess | null, viaNode: boolean) => {
    ctx.log(`${p.base ? `incremental from ${baseLabel(p.base)}` : 'full'}: ${p.source}@${snapName} → ${p.target}`);
    let bytes = 0;
    const guard = p.base ? null : srcByName.get(p.source)?.type === 'volume' ? 'volume' : 'filesystem';
    try {
      await sendToTarget({
        sendArgv: sendArgv({ snapshot: p.snap.full, base: p.base?.full, raw: p.raw, flags: i.stream.flags }),
        recvArgv: recvArgv({ target: p.target, caps: i.rcaps, resumable: true, props: i.datasetProps(p), guardCopy: guard }),
        session: link.session,
        signal,
        standby: recv,
        limitBps: i.stream.limitBps,
        viaNode,
        onBytes: (n) => {
          bytes += n;
          progress.add(n);
        },
        what: { send: p.snap.full, recv: p.target },
      });
      return { bytes, failed: null };
    } catch (e) {
      return { bytes, failed: asExecError(e) };
    }
  };

  /**
   * The stream broke (a dropped connection, say), but the receive may have had it all: decide by
   * what is on the target once that receive has ended, over a new connection. A cancel leaves
   * nothing partial behind (a partial resumable receive is cleared); a broken connection leaves it
   * for the next run to resume.
   */
  const settleFailure = async (p: DatasetPlan, err: ExecError) => {
    const cancelled = err.errorClass === 'cancelled' || signal.aborted;
    const again = await reconnectIfLanded(
      i.target,
      p.target,
      snapName,
      p.snap.guid,
      cancelled ? NEVER : signal,
      cancelled && i.rcaps.resumableRecv,
      ctx,
    );
    if (!again) throw err;
    ctx.log(
      cancelled
        ? `cancel arrived after ${p.target}@${snapName} was complete on the target (GUID checked after the receive ended)`
        : `the transfer of ${p.source} failed (${err.message}), yet ${p.target}@${snapName} arrived complete (GUID checked after the receive ended): continuing over a new connection`,
    );
    link.standby?.stdin?.end();
    link.standby = null;
    await link.session.close();
    link.session = again;
    link.remote = new Zfs(again, signal);
  };

  /** A dataset arrived: record it (its GUID check and tags follow: verifyAndTag). */
  const arrived = async (p: DatasetPlan, bytes: number) => {
    link.received = true;
    results.set(p, {
      source: p.source,
      target: p.target,
      mode: p.base ? 'incremental' : 'full',
      bytes,
      baseSnapshot: p.base?.name ?? null,
    });
    if (results.size === plans.length) {
      link.landed = true;
      link.remote = new Zfs(link.session, NEVER);
      link.local = new Zfs(new LocalHost(), NEVER);
    }
    ctx.checkpoint?.('after-receive');
  };

  /**
   * ---- 4. verify by GUID, then tag -------------------------------------------------------------
   * The received snapshots' GUIDs in one listing; then, all in one command per side, their tags and
   * the job's hold moved to them, the old one released (backup-holds.ts).
   */
  const verifyAndTag = async (ps: DatasetPlan[]) => {
    const fulls = ps.map((p) => `${p.target}@${snapName}`);
    const got = await link.remote.get(fulls, ['guid'], { skipMissing: true });
    for (const [n, p] of ps.entries()) {
      const guid = got.get(fulls[n])?.guid;
      if (guid !== p.snap.guid)
        throw new ExecError('zfs', `GUID mismatch after receive: ${fulls[n]} has ${guid ?? 'nothing'}, source has ${p.snap.guid}`);
    }
    await tagAndHold({
      jobId: i.jobId,
      local: link.local,
      remote: link.remote,
      lcaps: i.lcaps,
      rcaps: i.rcaps,
      moves: ps.map((p, n) => ({
        tags: { name: fulls[n], props: i.snapProps },
        source: planHoldMove(i.jobId, srcByName.get(p.source)?.snapshots ?? [], p.snap.full),
        target: planHoldMove(i.jobId, i.targetBefore.get(p.target)?.snapshots ?? [], fulls[n]),
      })),
      ctx,
    });
    for (const p of ps) {
      if (!p.base && !i.rcaps.recvSetProps) await link.remote.set(p.target, i.datasetProps(p));
      if (i.guestProps && i.guestProps.roots.includes(p.source)) await link.remote.set(p.target, i.guestProps.props);
    }
  };

  // a bandwidth limit is per stream: concurrent streams would each take all of it
  const { serial, concurrent } = splitForConcurrency(plans, i.src, i.stream.limitBps ? 1 : concurrency.streams);
  progress.start();
  try {
    // one after another, parents first; the next receive's session starts while this one streams
    for (const [n, p] of serial.entries()) {
      checkAborted(signal);
      if (!p.base) await i.ensureParent(p.target);
      const recv = link.standby;
      link.standby = n + 1 < serial.length ? link.session.spawnStandby() : null;
      const r = await stream(p, recv, false);
      if (r.failed) await settleFailure(p, r.failed);
      await arrived(p, r.bytes);
      await verifyAndTag([p]);
    }
    if (concurrent.length) {
      link.standby?.stdin?.end(); // unused: its `read` sees EOF and it exits
      link.standby = null;
      ctx.log(`${concurrent.length} small incremental(s): up to ${concurrency.streams} streams at a time`);
      const landed: DatasetPlan[] = [];
      let failure: unknown = null;
      try {
        await runConcurrently(
          concurrent,
          concurrency.streams,
          signal,
          (p) => stream(p, null, true),
          settleFailure,
          async (p, bytes) => {
            await arrived(p, bytes);
            landed.push(p);
          },
        );
      } catch (e) {
        failure = e;
      }
      // what arrived is checked and tagged also when another stream failed: its hold moves, the run stays failed
      for (let k = 0; k < landed.length; k += TAG_BATCH) {
        try {
          await verifyAndTag(landed.slice(k, k + TAG_BATCH));
        } catch (e) {
          if (!failure) throw e;
          ctx.log(`checking and tagging what arrived before the failure: ${asExecError(e).message}`, 'warn');
        }
      }
      if (failure) throw failure;
    }
  } finally {
    await estimated;
    progress.stop();
  }
  return plans.map((p) => results.get(p)!);
}

/**
 * Run `stream` over `plans`, `width` at a time, calling `arrived` for each that landed. After a
 * failed stream no new one starts; once the others ended, each failure is settled one by one
 * (`settle` throws when it did not land, else continues over a new connection); the first that did
 * not land is thrown once all are settled, else the rest go on.
 * An error thrown by `arrived` stops new streams and is thrown once the running ones ended.
 */
export async function runConcurrently(
  plans: DatasetPlan[],
  width: number,
  signal: AbortSignal,
  stream: (p: DatasetPlan) => Promise<{ bytes: number; failed: ExecError | null }>,
  settle: (p: DatasetPlan, err: ExecError) => Promise<void>,
  arrived: (p: DatasetPlan, bytes: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  while (next < plans.length) {
    checkAborted(signal);
    const failed: { p: DatasetPlan; err: ExecError; bytes: number }[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop && !signal.aborted && next < plans.length) {
        const p = plans[next++];
        const r = await stream(p);
        if (r.failed) {
          failed.push({ p, err: r.failed, bytes: r.bytes });
          stop = true;
          return;
        }
        try {
          await arrived(p, r.bytes);
        } catch (e) {
          stop = true;
          throw e;
        }
      }
    };
    const ended = await Promise.allSettled(Array.from({ length: Math.min(width, plans.length - next) }, worker));
    const thrown = ended.find((x) => x.status === 'rejected');
    if (thrown) throw thrown.reason;
    // every failure is settled, also after one that did not land: a cancel clears each partial receive
    let notLanded: unknown = null;
    for (const f of failed) {
      try {
        await settle(f.p, f.err);
        await arrived(f.p, f.bytes);
      } catch (e) {
        notLanded ??= e;
      }
    }
    if (notLanded) throw notLanded;
  }
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new ExecError('cancelled', 'backup cancelled');
}

/** A signal that never aborts: for the steps after the data landed, which a cancel must not cut short. */
const NEVER = new AbortController().signal;

/**
 * After a failed or cancelled transfer: a new connection to the target, returned when `dataset@snap`
 * is there with `guid` once no receive into `dataset` runs any more (waited for up to a minute);
 * else null, after clearing a partial resumable receive when `clearPartial` (`zfs recv -A`).
 */
async function reconnectIfLanded(
  target: TargetSpec,
  dataset: string,
  snap: string,
  guid: string,
  signal: AbortSignal,
  clearPartial: boolean,
  ctx: ExecContext,
): Promise<SshSession | null> {
  let s: SshSession;
  try {
    s = await SshSession.open(target, { signal, persistentShell: true, warm: true, onConnectRetry: (l) => ctx.log(l, 'warn') });
  } catch {
    return null;
  }
  try {
    const z = new Zfs(s, signal);
    for (let i = 0; i < 120 && !signal.aborted; i++) {
      const ps = await s.exec(['ps', '-A', '-o', 'args='], { signal });
      const receiving = ps.code === 0 && ps.stdout.split('\n').some((l) => /\bzfs (recv|receive)\b/.test(l) && l.includes(dataset));
      if (!receiving) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const full = `${dataset}@${snap}`;
    if ((await z.guidIfExists(full)) === guid) return s;
    if (clearPartial) {
      const token = await z.get([dataset], ['receive_resume_token']).then((t) => t.get(dataset)?.receive_resume_token, missingAs(null));
      if (token) {
        await z.run(['recv', '-A', dataset], `zfs recv -A ${dataset}`);
        ctx.log(`cleared the partial receive into ${dataset} (zfs recv -A): a cancelled run leaves nothing partial`);
      }
    }
  } catch {
    /* not reachable or not there: the transfer's error stands */
  }
  await s.close();
  return null;
}

/** Stream size estimate: `send -nvP` where it exists, else from used/referenced. */
async function estimate(local: Zfs, caps: ZfsCapabilities, p: DatasetPlan, src: DatasetInfo[], stream: StreamPlan): Promise<number> {
  if (caps.sendEstimate) {
    try {
      const res = await local.host.exec(
        sendArgv({ snapshot: p.snap.full, base: p.base?.full, raw: p.raw, flags: stream.flags }, { dryRun: true }),
      );
      const n = parseSendEstimate(res.stdout + '\n' + res.stderr);
      if (res.code === 0 && n !== null) return n;
    } catch {
      /* fall back */
    }
  }
  return sizeFromListing(
    p,
    src.find((d) => d.name === p.source),
  );
}

/** A stream's size as the listing suggests: data added since the base + data of the base overwritten or deleted since. */
function sizeFromListing(p: DatasetPlan, ds: DatasetInfo | undefined): number {
  if (!p.base) return p.snap.referenced;
  const base = ds?.snapshots.find((s) => s.guid === p.base!.guid);
  return Math.max(0, p.snap.referenced - (base?.referenced ?? 0) + (base?.used ?? 0));
}

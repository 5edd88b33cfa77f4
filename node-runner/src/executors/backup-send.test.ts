// splitForConcurrency and runConcurrently: which datasets stream side by side, and how a failure
// among concurrent streams is settled; hand-made plans and fake streams, no ZFS.
import { describe, expect, it } from 'vitest';
import type { DatasetInfo, SnapshotInfo } from '../zfs/index.ts';
import { ExecError } from '../core/errors.ts';
import { SMALL_STREAM_BYTES, runConcurrently, splitForConcurrency, type DatasetPlan } from './backup-send.ts';

const MiB = 1 << 20;
const snap = (dataset: string, name: string, referenced: number, used = 0): SnapshotInfo => ({
  dataset,
  name,
  full: `${dataset}@${name}`,
  guid: `${dataset}@${name}`,
  createtxg: 1n,
  creation: 0,
  used,
  referenced,
  userrefs: 0,
  job: 1,
  generation: 1,
  event: null,
});
/** A dataset whose base snapshot references `before` bytes and whose new one `after`; the plan incremental or full. */
function plan(name: string, before: number, after: number, full = false): { d: DatasetInfo; p: DatasetPlan } {
  const base = snap(name, 'a', before);
  const now = snap(name, 'b', after);
  const d: DatasetInfo = {
    name,
    type: 'filesystem',
    guid: `g-${name}`,
    used: 0,
    referenced: after,
    origin: null,
    job: null,
    generation: null,
    source: null,
    props: {},
    snapshots: [base, now],
    bookmarks: [],
  };
  return { d, p: { source: name, target: `t/${name}`, snap: now, base: full ? null : base, raw: false, estimate: 0 } };
}

describe('splitForConcurrency', () => {
  const cases: [string, [string, number, number, boolean?][], number, string[], string[]][] = [
    [
      'small incrementals run concurrently',
      [
        ['p/a', 10 * MiB, 11 * MiB],
        ['p/b', 5 * MiB, 5 * MiB],
        ['p/c', 0, MiB],
      ],
      4,
      [],
      ['p/a', 'p/b', 'p/c'],
    ],
    [
      'a full send stays serial (its parent first)',
      [
        ['p', 0, MiB, true],
        ['p/a', MiB, 2 * MiB],
        ['p/b', MiB, 2 * MiB],
      ],
      4,
      ['p'],
      ['p/a', 'p/b'],
    ],
    [
      'a large incremental stays serial',
      [
        ['p/a', 0, SMALL_STREAM_BYTES],
        ['p/b', 0, MiB],
        ['p/c', 0, MiB],
      ],
      4,
      ['p/a'],
      ['p/b', 'p/c'],
    ],
    [
      'one small incremental alone is serial',
      [
        ['p/a', 0, MiB],
        ['p/b', 0, 0, true],
      ],
      4,
      ['p/a', 'p/b'],
      [],
    ],
    [
      'streams 1: everything serial',
      [
        ['p/a', 0, MiB],
        ['p/b', 0, MiB],
      ],
      1,
      ['p/a', 'p/b'],
      [],
    ],
  ];
  it.each(cases)('%s', (_, spec, streams, serial, concurrent) => {
    const made = spec.map(([n, b, a, f]) => plan(n, b, a, f));
    const r = splitForConcurrency(
      made.map((m) => m.p),
      made.map((m) => m.d),
      streams,
    );
    expect(r.serial.map((p) => p.source)).toEqual(serial);
    expect(r.concurrent.map((p) => p.source)).toEqual(concurrent);
  });
});

describe('runConcurrently', () => {
  const plans = Array.from({ length: 10 }, (_, i) => plan(`p/c${i}`, 0, MiB).p);
  const tick = () => new Promise((r) => setImmediate(r));

  it('never runs more than `width` streams at once, and every plan arrives once', async () => {
    let running = 0;
    let most = 0;
    const got: string[] = [];
    await runConcurrently(
      plans,
      4,
      new AbortController().signal,
      async () => {
        most = Math.max(most, ++running);
        await tick();
        running--;
        return { bytes: 1, failed: null };
      },
      async () => expect.unreachable(),
      async (p) => void got.push(p.source),
    );
    expect(most).toBe(4);
    expect(got.sort()).toEqual(plans.map((p) => p.source).sort());
  });

  it('a failed stream stops new starts; once the others ended it is settled, and the rest go on', async () => {
    const events: string[] = [];
    let running = 0;
    await runConcurrently(
      plans,
      3,
      new AbortController().signal,
      async (p) => {
        events.push(`start ${p.source}`);
        running++;
        await tick();
        running--;
        const failed = p.source === 'p/c4' ? new ExecError('connectivity', 'dropped') : null;
        if (failed) events.push(`failed ${p.source}`);
        return { bytes: 1, failed };
      },
      async (p, err) => {
        expect(running).toBe(0); // the others ended first
        events.push(`settle ${p.source} ${err.message}`);
      },
      async (p) => void events.push(`arrived ${p.source}`),
    );
    const failed = events.indexOf('failed p/c4');
    const settle = events.indexOf('settle p/c4 dropped');
    expect(failed).toBeGreaterThan(-1);
    expect(settle).toBeGreaterThan(failed);
    expect(events.slice(failed, settle).filter((e) => e.startsWith('start'))).toEqual([]);
    expect(events[settle + 1]).toBe('arrived p/c4');
    expect(events.filter((e) => e.startsWith('arrived')).sort()).toEqual(plans.map((p) => `arrived ${p.source}`).sort());
  });

  it('a stream that did not land (settle throws) fails the run after the running ones ended; nothing new starts', async () => {
    const started: string[] = [];
    let running = 0;
    const run = runConcurrently(
      plans,
      2,
      new AbortController().signal,
      async (p) => {
        started.push(p.source);
        running++;
        await tick();
        running--;
        return { bytes: 0, failed: p.source === 'p/c0' ? new ExecError('zfs', 'recv failed') : null };
      },
      async (_p, err) => {
        expect(running).toBe(0);
        throw err;
      },
      async () => undefined,
    );
    await expect(run).rejects.toThrow('recv failed');
    expect(started).toEqual(['p/c0', 'p/c1']);
  });

  it('every failed stream is settled (a cancel clears each partial receive), then the first that did not land is thrown', async () => {
    const settled: string[] = [];
    const run = runConcurrently(
      plans,
      3,
      new AbortController().signal,
      async (p) => {
        await tick();
        return { bytes: 0, failed: ['p/c0', 'p/c1', 'p/c2'].includes(p.source) ? new ExecError('cancelled', `cut ${p.source}`) : null };
      },
      async (p, err) => {
        settled.push(p.source);
        throw err;
      },
      async () => undefined,
    );
    await expect(run).rejects.toThrow('cut p/c0');
    expect(settled).toEqual(['p/c0', 'p/c1', 'p/c2']);
  });

  it('an error after arrival (a GUID mismatch) is thrown once the running streams ended', async () => {
    let running = 0;
    const run = runConcurrently(
      plans,
      3,
      new AbortController().signal,
      async () => {
        running++;
        await tick();
        running--;
        return { bytes: 0, failed: null };
      },
      async () => expect.unreachable(),
      async (p) => {
        if (p.source === 'p/c0') throw new ExecError('zfs', 'GUID mismatch');
      },
    );
    await expect(run).rejects.toThrow('GUID mismatch');
    expect(running).toBe(0);
  });

  it('a cancel before the start throws cancelled and starts nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    let started = 0;
    const run = runConcurrently(
      plans,
      4,
      ac.signal,
      async () => {
        started++;
        return { bytes: 0, failed: null };
      },
      async () => undefined,
      async () => undefined,
    );
    await expect(run).rejects.toMatchObject({ errorClass: 'cancelled' });
    expect(started).toBe(0);
  });
});

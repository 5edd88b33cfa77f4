// locate and its pure parts (searchScope, findRootSnapshot, narrowedScope, groupSnapshotTree):
// table tests over hand-made listings, no ZFS; locate() over an in-memory target that records its reads.
import { describe, expect, it } from 'vitest';
import type { DatasetInfo, SnapshotInfo } from '../zfs/index.ts';
import {
  findRootSnapshot,
  groupSnapshotTree,
  locate,
  narrowedScope,
  searchScope,
  type LocateSpec,
  type Located,
  type SearchScope,
  type TargetReader,
} from './restore-locate.ts';
import { ExecError } from './types.ts';

/** An expected result; `leftOut` is [] unless a case names it. */
type Want = Omit<Located, 'leftOut'> & { leftOut?: string[] };

const JOB = 3;
const BACKUP_ROOT = 'bk/backups';
const J3 = `${BACKUP_ROOT}/j3`;
/** `<backupRoot>/j3/g<gen>/<source>` */
const at = (gen: number, source: string) => `${J3}/g${gen}/${source}`;
let txg = 100n;
/** A snapshot `name` of `dataset` with `guid`, tagged (job, generation) unless null. */
const snap = (dataset: string, name: string, guid: string, gen: number | null = 1, job: number | null = JOB): SnapshotInfo => ({
  dataset,
  name,
  full: `${dataset}@${name}`,
  guid,
  createtxg: txg++,
  creation: 0,
  used: 0,
  referenced: 0,
  userrefs: 0,
  job,
  generation: gen,
  event: null,
});
const ds = (name: string, ...snapshots: SnapshotInfo[]): DatasetInfo => ({
  name,
  type: 'filesystem',
  guid: `g-${name}`,
  used: 0,
  referenced: 0,
  origin: null,
  job: null,
  generation: null,
  source: null,
  props: {},
  snapshots,
  bookmarks: [],
});
/** Datasets without snapshots, for the layout's containers. */
const containers = (...names: string[]) => names.map((n) => ds(n));

const jobSpec = (o: Partial<LocateSpec> = {}): LocateSpec => ({
  kind: 'job',
  target: { backupRoot: BACKUP_ROOT },
  jobId: JOB,
  guid: '20',
  hint: at(2, 'tank/data'),
  roots: ['tank/data'],
  recursive: true,
  ...o,
});
const oobSpec = (o: Partial<LocateSpec> = {}): LocateSpec => ({
  kind: 'oob',
  target: { backupRoot: BACKUP_ROOT },
  jobId: null,
  guid: '20',
  hint: at(2, 'tank/data'),
  roots: null,
  destination: 'tank/restored',
  recursive: true,
  ...o,
});
const IN_JOB: SearchScope = { jobId: JOB, root: J3 };
const WHOLE_ROOT: SearchScope = { jobId: null, root: BACKUP_ROOT };

/** What a call threw: an ExecError as { errorClass, message }, anything else as it is. */
const failure = (e: unknown) => (e instanceof ExecError ? { errorClass: e.errorClass, message: e.message } : e);
const caught = (f: () => unknown) => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return failure(e);
  }
};

// Job 3 on the target. Generation 2 was forked from generation 1's lb_j3_1 by clone + promote, which
// moved lb_j3_1 (still tagged generation 1) into g2's datasets; lb_j3_2 stayed in g1's.
const a2 = snap(at(1, 'tank/data'), 'lb_j3_2', '12', 1);
const a2c = snap(at(1, 'tank/data/child'), 'lb_j3_2', '13', 1);
const p1 = snap(at(2, 'tank/data'), 'lb_j3_1', '10', 1);
const p1c = snap(at(2, 'tank/data/child'), 'lb_j3_1', '11', 1);
const b3 = snap(at(2, 'tank/data'), 'lb_j3_3', '20', 2);
const b3c = snap(at(2, 'tank/data/child'), 'lb_j3_3', '21', 2);
const b3d = snap(at(2, 'tank/data/child/deep'), 'lb_j3_3', '22', 2);
const jobTree: DatasetInfo[] = [
  ...containers(J3, `${J3}/g1`, `${J3}/g1/tank`),
  ds(at(1, 'tank/data'), a2),
  ds(at(1, 'tank/data/child'), a2c),
  ...containers(`${J3}/g2`, `${J3}/g2/tank`),
  ds(at(2, 'tank/data'), p1, b3),
  ds(at(2, 'tank/data/child'), p1c, b3c),
  ds(at(2, 'tank/data/child/deep'), b3d),
];
// Beside job 3 in the backup root: a copy of lb_j3_3 received by hand (same GUID) and an imported tree.
const copied = snap(`${BACKUP_ROOT}/copy/data`, 'lb_j3_3', '20', 2);
const imported = snap(`${BACKUP_ROOT}/imported/data`, 'manual', '50', null, null);
const importedSub = snap(`${BACKUP_ROOT}/imported/data/sub`, 'manual', '51', null, null);
const importedOther = snap(`${BACKUP_ROOT}/imported/other`, 'manual', '52', null, null);
const wholeTree: DatasetInfo[] = [
  ...containers(BACKUP_ROOT, `${BACKUP_ROOT}/copy`),
  ds(`${BACKUP_ROOT}/copy/data`, copied),
  ...containers(`${BACKUP_ROOT}/imported`),
  ds(`${BACKUP_ROOT}/imported/data`, imported),
  ds(`${BACKUP_ROOT}/imported/data/sub`, importedSub),
  ds(`${BACKUP_ROOT}/imported/other`, importedOther),
  ...jobTree,
];

describe('searchScope', () => {
  it.each([
    ['a job restore whose job root exists: the job root', jobSpec(), true, IN_JOB],
    ['an out-of-band restore of a job whose root exists: the job root', oobSpec({ jobId: JOB }), true, IN_JOB],
    [
      'an out-of-band restore of a job whose root is gone: the backup root, the job kept',
      oobSpec({ jobId: JOB }),
      false,
      { jobId: JOB, root: BACKUP_ROOT },
    ],
    ['an out-of-band restore without a job: the backup root', oobSpec(), false, WHOLE_ROOT],
  ] as [string, LocateSpec, boolean, SearchScope][])('%s', (_, spec, jobRootExists, want) => {
    expect(searchScope(spec, jobRootExists)).toEqual(want);
  });

  it('a job restore whose job root is missing: an error', () => {
    expect(caught(() => searchScope(jobSpec(), false))).toEqual({
      errorClass: 'source-state',
      message: 'bk/backups/j3 does not exist on the target',
    });
  });
});

describe('findRootSnapshot', () => {
  const other = snap(at(2, 'tank/other'), 'lb_j9_1', '90', 1, 9);
  const untagged = snap(at(2, 'tank/other'), 'hand', '91', null, null);
  const badName = snap(at(2, 'tank/other'), '-oops', '92', 2);
  const withStrays = [...jobTree, ds(at(2, 'tank/other'), other, untagged, badName)];

  it.each([
    ['in the current generation', jobSpec(), jobTree, IN_JOB, b3],
    ['in an older generation, in its own dataset', jobSpec({ guid: '12', hint: at(1, 'tank/data') }), jobTree, IN_JOB, a2],
    [
      'in an older generation, moved into a later one by a promote (the hint is stale)',
      jobSpec({ guid: '10', hint: at(1, 'tank/data') }),
      jobTree,
      IN_JOB,
      p1,
    ],
    ['several with the GUID: the hint picks the copy', oobSpec({ hint: `${BACKUP_ROOT}/copy/data` }), wholeTree, WHOLE_ROOT, copied],
    ["several with the GUID: the hint picks the job's", oobSpec({ hint: at(2, 'tank/data') }), wholeTree, WHOLE_ROOT, b3],
    ['several with the GUID, the hint names none: the first listed', oobSpec({ hint: 'bk/elsewhere' }), wholeTree, WHOLE_ROOT, copied],
    ["out-of-band: another job's snapshot is accepted", oobSpec({ guid: '90', hint: '' }), withStrays, WHOLE_ROOT, other],
  ] as [string, LocateSpec, DatasetInfo[], SearchScope, SnapshotInfo][])('found by GUID %s', (_, spec, tree, scope, want) => {
    expect(findRootSnapshot(spec, scope, tree)).toBe(want);
  });

  it.each([
    [
      'a GUID not on the target',
      jobSpec({ guid: '999' }),
      IN_JOB,
      'source-state',
      'no snapshot with GUID 999 under bk/backups/j3 on the target (pruned or moved?)',
    ],
    [
      'a GUID not under the backup root',
      oobSpec({ guid: '999' }),
      WHOLE_ROOT,
      'source-state',
      'no snapshot with GUID 999 under bk/backups on the target (pruned or moved?)',
    ],
    [
      "a job restore of another job's snapshot",
      jobSpec({ guid: '90' }),
      IN_JOB,
      'source-state',
      'bk/backups/j3/g2/tank/other@lb_j9_1 (GUID 90) is not a snapshot of job 3 (lifeboat:job=9)',
    ],
    [
      'a job restore of an untagged snapshot',
      jobSpec({ guid: '91' }),
      IN_JOB,
      'source-state',
      'bk/backups/j3/g2/tank/other@hand (GUID 91) is not a snapshot of job 3 (lifeboat:job=unset)',
    ],
    [
      'a snapshot name zfs arguments must not carry',
      jobSpec({ guid: '92' }),
      IN_JOB,
      'zfs',
      'unusable snapshot name "-oops" on the target',
    ],
  ] as [string, LocateSpec, SearchScope, string, string][])('%s: an error', (_, spec, scope, errorClass, message) => {
    expect(caught(() => findRootSnapshot(spec, scope, withStrays))).toEqual({ errorClass, message });
  });
});

describe('narrowedScope', () => {
  it.each([
    ["a search of the whole backup root finding a job's snapshot: that job's root", oobSpec(), WHOLE_ROOT, b3, IN_JOB],
    ['an untagged snapshot: no job to narrow to', oobSpec(), WHOLE_ROOT, imported, null],
    ['a search that already has a job: kept', oobSpec({ jobId: JOB }), IN_JOB, b3, null],
    [
      'a job whose root is gone (searched the backup root with the job): kept',
      oobSpec({ jobId: JOB }),
      { jobId: JOB, root: BACKUP_ROOT },
      b3,
      null,
    ],
    [
      "a snapshot tagged with another job than the root it lives under: kept (the tag is the target's word)",
      oobSpec(),
      WHOLE_ROOT,
      { ...b3, job: 5 },
      null,
    ],
  ] as [string, LocateSpec, SearchScope, SnapshotInfo, SearchScope | null][])('%s', (_, spec, scope, root, want) => {
    expect(narrowedScope(spec, scope, root)).toEqual(want);
  });
});

describe('groupSnapshotTree', () => {
  it.each([
    [
      'the current generation, recursive: the root and every child',
      jobSpec(),
      b3,
      {
        name: 'lb_j3_3',
        generation: 2,
        groups: [
          {
            destination: 'tank/data',
            items: [
              { rel: '', snap: b3 },
              { rel: 'child', snap: b3c },
              { rel: 'child/deep', snap: b3d },
            ],
          },
        ],
      },
    ],
    [
      'the current generation, not recursive: the root alone',
      jobSpec({ recursive: false }),
      b3,
      { name: 'lb_j3_3', generation: 2, groups: [{ destination: 'tank/data', items: [{ rel: '', snap: b3 }] }] },
    ],
    [
      'an older generation in its own datasets',
      jobSpec({ guid: '12' }),
      a2,
      {
        name: 'lb_j3_2',
        generation: 1,
        groups: [
          {
            destination: 'tank/data',
            items: [
              { rel: '', snap: a2 },
              { rel: 'child', snap: a2c },
            ],
          },
        ],
      },
    ],
    [
      'an older generation moved into g2 by a promote: keyed by source path',
      jobSpec({ guid: '10' }),
      p1,
      {
        name: 'lb_j3_1',
        generation: 1,
        groups: [
          {
            destination: 'tank/data',
            items: [
              { rel: '', snap: p1 },
              { rel: 'child', snap: p1c },
            ],
          },
        ],
      },
    ],
    [
      'out-of-band, narrowed to the job: onto the destination, keyed by source path',
      oobSpec(),
      b3,
      {
        name: 'lb_j3_3',
        generation: 2,
        groups: [
          {
            destination: 'tank/restored',
            items: [
              { rel: '', snap: b3 },
              { rel: 'child', snap: b3c },
              { rel: 'child/deep', snap: b3d },
            ],
          },
        ],
      },
    ],
    [
      'out-of-band, narrowed, not recursive: the root alone',
      oobSpec({ recursive: false }),
      b3,
      { name: 'lb_j3_3', generation: 2, groups: [{ destination: 'tank/restored', items: [{ rel: '', snap: b3 }] }] },
    ],
  ] as [string, LocateSpec, SnapshotInfo, Want][])('%s', (_, spec, root, want) => {
    expect(groupSnapshotTree(spec, IN_JOB, jobTree, root)).toEqual({ leftOut: [], ...want });
  });

  it('out-of-band outside any job layout: keyed by dataset name, other trees left out', () => {
    expect(groupSnapshotTree(oobSpec({ guid: '50' }), WHOLE_ROOT, wholeTree, imported)).toEqual({
      name: 'manual',
      generation: null,
      leftOut: [],
      groups: [
        {
          destination: 'tank/restored',
          items: [
            { rel: '', snap: imported },
            { rel: 'sub', snap: importedSub },
          ],
        },
      ],
    });
  });

  it('only snapshots of the same name, job, and generation with a GUID and a source path join the tree', () => {
    const d = (rel: string) => at(2, `tank/data/${rel}`);
    const joins = snap(d('v'), 'lb_j3_3', '30', 2);
    const tree = [
      ...jobTree,
      ds(`${J3}/g2`, snap(`${J3}/g2`, 'lb_j3_3', '31', 2)), // a generation root: no source path
      ds(d('w'), snap(d('w'), 'lb_j3_2', '32', 2)), // another name
      ds(d('x'), snap(d('x'), 'lb_j3_3', '33', 2, 9)), // another job's tag
      ds(d('y'), snap(d('y'), 'lb_j3_3', '34', 1)), // another generation's tag
      ds(d('z'), snap(d('z'), 'lb_j3_3', '', 2)), // no GUID read back
      ds(d('v'), joins),
    ];
    const located = groupSnapshotTree(jobSpec(), IN_JOB, tree, b3);
    expect(located.groups).toEqual([
      {
        destination: 'tank/data',
        items: [
          { rel: '', snap: b3 },
          { rel: 'child', snap: b3c },
          { rel: 'v', snap: joins },
          { rel: 'child/deep', snap: b3d },
        ],
      },
    ]);
    // the two named like it but tagged for another job or generation are reported, not restored
    expect(located.leftOut).toEqual([`${d('x')}@lb_j3_3`, `${d('y')}@lb_j3_3`]);
    // not recursive: only the root's own key counts, so nothing of the children is reported
    expect(groupSnapshotTree(jobSpec({ recursive: false }), IN_JOB, tree, b3).leftOut).toEqual([]);
  });

  it('parents first: by depth, then by name, whatever the listing order', () => {
    const d = (rel: string) => at(1, `tank/data${rel ? '/' + rel : ''}`);
    const rels = ['c/d/e', 'b', 'a/y', '', 'a', 'a/x'];
    const snaps = new Map(rels.map((r, i) => [r, snap(d(r), 'lb_j3_5', String(500 + i), 1)]));
    const tree = rels.map((r) => ds(d(r), snaps.get(r)!));
    const located = groupSnapshotTree(jobSpec({ guid: snaps.get('')!.guid }), IN_JOB, tree, snaps.get('')!);
    expect(located.groups[0].items).toEqual(['', 'a', 'b', 'a/x', 'a/y', 'c/d/e'].map((rel) => ({ rel, snap: snaps.get(rel) })));
  });

  describe('spec.roots: one group per guest root', () => {
    const web = snap(at(1, 'tank/vm/web'), 'lb_j3_7', '70');
    const webDisk = snap(at(1, 'tank/vm/web/disk0'), 'lb_j3_7', '71');
    const data = snap(at(1, 'zdata/vm-disks/web'), 'lb_j3_7', '72');
    const dataDisk = snap(at(1, 'zdata/vm-disks/web/disk1'), 'lb_j3_7', '73');
    const vmTree = [
      ...containers(J3, `${J3}/g1`, `${J3}/g1/tank`, `${J3}/g1/tank/vm`, `${J3}/g1/zdata`, `${J3}/g1/zdata/vm-disks`),
      ds(web.dataset, web),
      ds(webDisk.dataset, webDisk),
      ds(data.dataset, data),
      ds(dataDisk.dataset, dataDisk),
    ];
    const roots = ['tank/vm/web', 'zdata/vm-disks/web'];

    it.each([
      [
        'recursive: each root with its children',
        true,
        [
          {
            destination: 'tank/vm/web',
            items: [
              { rel: '', snap: web },
              { rel: 'disk0', snap: webDisk },
            ],
          },
          {
            destination: 'zdata/vm-disks/web',
            items: [
              { rel: '', snap: data },
              { rel: 'disk1', snap: dataDisk },
            ],
          },
        ],
      ],
      [
        'not recursive: each root alone',
        false,
        [
          { destination: 'tank/vm/web', items: [{ rel: '', snap: web }] },
          { destination: 'zdata/vm-disks/web', items: [{ rel: '', snap: data }] },
        ],
      ],
    ] as [string, boolean, Located['groups']][])('%s', (_, recursive, groups) => {
      expect(groupSnapshotTree(jobSpec({ guid: '70', roots, recursive }), IN_JOB, vmTree, web)).toEqual({
        name: 'lb_j3_7',
        generation: 1,
        groups,
        leftOut: [],
      });
    });

    it.each([
      [
        'the snapshot is of none of the roots',
        ['tank/vm/db', 'zdata/vm-disks/db'],
        'source-state',
        'bk/backups/j3/g1/tank/vm/web@lb_j3_7 is a backup of tank/vm/web, not of tank/vm/db, zdata/vm-disks/db',
      ],
      [
        'a root without that snapshot',
        ['tank/vm/web', 'zdata/vm-disks/other'],
        'source-state',
        'no snapshot lb_j3_7 of zdata/vm-disks/other on the target',
      ],
    ] as [string, string[], string, string][])('%s: an error', (_, badRoots, errorClass, message) => {
      expect(caught(() => groupSnapshotTree(jobSpec({ guid: '70', roots: badRoots }), IN_JOB, vmTree, web))).toEqual({
        errorClass,
        message,
      });
    });
  });

  describe('two snapshots of one source path with the same name and tags', () => {
    const strayRoot = snap(at(1, 'tank/data'), 'lb_j3_3', '28', 2); // e.g. copied in by hand, tags and all
    const strayChild = snap(at(1, 'tank/data/child'), 'lb_j3_3', '29', 2);

    it('of a child: ambiguous, an error', () => {
      const tree = [...jobTree, ds(strayChild.dataset, strayChild)];
      expect(caught(() => groupSnapshotTree(jobSpec(), IN_JOB, tree, b3))).toEqual({
        errorClass: 'zfs',
        message:
          'ambiguous: both bk/backups/j3/g2/tank/data/child@lb_j3_3 and bk/backups/j3/g1/tank/data/child@lb_j3_3 are lb_j3_3 of tank/data/child',
      });
    });

    it.each([
      ['listed after the root', (t: DatasetInfo[]) => [...t, ds(strayRoot.dataset, strayRoot)]],
      ['listed before the root', (t: DatasetInfo[]) => [ds(strayRoot.dataset, strayRoot), ...t]],
    ] as [string, (t: DatasetInfo[]) => DatasetInfo[]][])('of the root (%s): the one chosen by GUID wins', (_, withStray) => {
      expect(groupSnapshotTree(jobSpec(), IN_JOB, withStray(jobTree), b3).groups[0].items).toEqual([
        { rel: '', snap: b3 },
        { rel: 'child', snap: b3c },
        { rel: 'child/deep', snap: b3d },
      ]);
    });
  });

  it.each([
    ['a generation root', snap(`${J3}/g2`, 'lb_j3_3', '20', 2), 'bk/backups/j3/g2'],
    ['a dataset beside the generations', snap(`${J3}/stray/data`, 'lb_j3_3', '20', 2), 'bk/backups/j3/stray/data'],
  ] as [string, SnapshotInfo, string][])('a root snapshot in %s of the job: not laid out, an error', (_, root, dataset) => {
    const tree = [...containers(J3), ds(root.dataset, root)];
    expect(caught(() => groupSnapshotTree(jobSpec(), IN_JOB, tree, root))).toEqual({
      errorClass: 'zfs',
      message: `${dataset} is not laid out as <backupRoot>/j<job>/g<generation>/<source>`,
    });
  });
});

describe('locate: the reads of the target and the result', () => {
  /** An in-memory target of `datasets`, recording each read. */
  const fakeTarget = (datasets: DatasetInfo[]) => {
    const reads: string[] = [];
    const remote: TargetReader = {
      exists: async (name) => {
        reads.push(`exists ${name}`);
        return datasets.some((d) => d.name === name);
      },
      tree: async (root, recursive) => {
        reads.push(`tree ${root}${recursive ? ' -r' : ''}`);
        if (!datasets.some((d) => d.name === root)) throw new ExecError('zfs', `${root}: dataset does not exist`);
        return datasets.filter((d) => d.name === root || (recursive && d.name.startsWith(root + '/')));
      },
    };
    return { remote, reads };
  };
  // tagged for job 4, moved out of its layout by hand; job 4 has no job root here
  const stale = snap(`${BACKUP_ROOT}/moved/x`, 'lb_j4_1', '40', 1, 4);
  const target = [...wholeTree, ...containers(`${BACKUP_ROOT}/moved`), ds(stale.dataset, stale)];
  const recursiveB3 = {
    name: 'lb_j3_3',
    generation: 2,
    items: [
      { rel: '', snap: b3 },
      { rel: 'child', snap: b3c },
      { rel: 'child/deep', snap: b3d },
    ],
  };

  it.each([
    [
      'a job restore: the job root only',
      jobSpec(),
      [`exists ${J3}`, `tree ${J3} -r`],
      { name: 'lb_j3_3', generation: 2, groups: [{ destination: 'tank/data', items: recursiveB3.items }] },
    ],
    [
      'an out-of-band restore of a job: the job root only',
      oobSpec({ jobId: JOB }),
      [`exists ${J3}`, `tree ${J3} -r`],
      { name: 'lb_j3_3', generation: 2, groups: [{ destination: 'tank/restored', items: recursiveB3.items }] },
    ],
    [
      'an out-of-band restore without a job: the backup root, then narrowed to the job',
      oobSpec(),
      [`tree ${BACKUP_ROOT} -r`, `exists ${J3}`, `tree ${J3} -r`],
      { name: 'lb_j3_3', generation: 2, groups: [{ destination: 'tank/restored', items: recursiveB3.items }] },
    ],
    [
      'an untagged tree: the backup root only',
      oobSpec({ guid: '50', hint: imported.dataset }),
      [`tree ${BACKUP_ROOT} -r`],
      {
        name: 'manual',
        generation: null,
        groups: [
          {
            destination: 'tank/restored',
            items: [
              { rel: '', snap: imported },
              { rel: 'sub', snap: importedSub },
            ],
          },
        ],
      },
    ],
    [
      'a job whose root is gone (the snapshot is not under it): not narrowed, keyed by dataset name',
      oobSpec({ guid: '40', hint: stale.dataset }),
      [`tree ${BACKUP_ROOT} -r`],
      { name: 'lb_j4_1', generation: 1, groups: [{ destination: 'tank/restored', items: [{ rel: '', snap: stale }] }] },
    ],
  ] as [string, LocateSpec, string[], Want][])('%s', async (_, spec, wantReads, want) => {
    const { remote, reads } = fakeTarget(target);
    const { tree, ...located } = await locate(remote, spec);
    expect(located).toEqual({ leftOut: [], ...want });
    // the listing the groups were found in comes along (each dataset's snapshot chain: incremental restores)
    for (const g of located.groups)
      for (const it of g.items) expect(tree.find((d) => d.name === it.snap.dataset)?.snapshots).toContainEqual(it.snap);
    expect(reads).toEqual(wantReads);
  });

  it.each([
    [
      'a job restore whose job root is missing',
      jobSpec({ jobId: 8 }),
      [`exists ${BACKUP_ROOT}/j8`],
      'source-state',
      'bk/backups/j8 does not exist on the target',
    ],
    [
      'a GUID not under the job root',
      jobSpec({ guid: '50' }),
      [`exists ${J3}`, `tree ${J3} -r`],
      'source-state',
      'no snapshot with GUID 50 under bk/backups/j3 on the target (pruned or moved?)',
    ],
  ] as [string, LocateSpec, string[], string, string][])(
    '%s: an error after the reads it needed',
    async (_, spec, wantReads, errorClass, message) => {
      const { remote, reads } = fakeTarget(target);
      expect(await locate(remote, spec).catch(failure)).toEqual({ errorClass, message });
      expect(reads).toEqual(wantReads);
    },
  );
});

// zfs adapter: parsers (table-driven) and capability detection on the real zfs-fuse.
import { describe, expect, it } from 'vitest';
import {
  LocalHost,
  Zfs,
  parseCapabilities,
  parseGetHp,
  parseResumeTokenBytes,
  parseSendEstimate,
  isValidDatasetName,
  snapshotNameFor,
  treeFromTable,
} from '../../node-runner/src/zfs/index.ts';
import { classifySsh } from '../../node-runner/src/ssh/index.ts';
import { createPool, requireZfs, run, testContext, zfs } from '../helpers/zfs.ts';

const OPENZFS_USAGE = `usage: zfs command args ...
where 'command' is one of the following:

	version

	create [-Pnpuv] [-o property=value] ... <filesystem>
	destroy [-fnpRrv] <filesystem|volume>
	snapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...
	list [-Hp] [-r|-d max] [-o property[,...]] [-s property]...
	    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...
	send [-DLPbcehnpsVvw] [-i|-I snapshot]
	     [-R [-X dataset[,dataset]...]]     <snapshot>
	send [-DnVvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>
	send [-DnPpVvLec] [-i bookmark|snapshot] --redact <bookmark> <snapshot>
	send [-nVvPe] -t <receive_resume_token>
	receive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...
	    <filesystem|volume|snapshot>
	receive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...
	    [-d | -e] <filesystem>
	receive -A <filesystem|volume>
	bookmark <snapshot|bookmark> <newbookmark>
	hold [-r] <tag> <snapshot> ...
	holds [-rHp] <snapshot> ...
	release [-r] <tag> <snapshot> ...

	set <property=value> ... <filesystem|volume|snapshot> ...
	load-key [-rn] [-L <keylocation>] <-a | filesystem|volume>
	unload-key [-r] <-a | filesystem|volume>
`;

const ZFS_FUSE_USAGE = `unrecognized command 'version'
usage: zfs command args ...
	list [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...
	snapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>
	send [-RDp] [-[iI] snapshot] <snapshot>
	receive [-vnF] <filesystem|volume|snapshot>
	receive [-vnF] -d <filesystem>
	set <property=value> <filesystem|volume|snapshot> ...
	hold [-r] <tag> <snapshot> ...
	holds [-r] <snapshot> ...
	release [-r] <tag> <snapshot> ...
`;

describe('parseCapabilities', () => {
  it('OpenZFS 2.x: everything', () => {
    expect(parseCapabilities(OPENZFS_USAGE, 'zfs-2.1.11-1\nzfs-kmod-2.1.11-1\n')).toEqual({
      version: 'zfs-2.1.11-1',
      flavor: 'openzfs',
      resumableRecv: true,
      recvNoMount: true,
      recvSetProps: true,
      recvExcludeProps: true,
      sendEstimate: true,
      bookmarks: true,
      listParsable: true,
      multiSnapshot: true,
      encryption: true,
      multiSet: true,
      sendCompressed: true,
      sendLargeBlock: true,
      sendEmbedded: true,
      holds: true,
    });
  });
  it('OpenZFS 2.3: `set [-u] <property=value> ...` still takes several properties in one call', () => {
    const usage23 = OPENZFS_USAGE.replace('\tset <property=value>', '\tset [-u] <property=value>');
    expect(usage23).not.toBe(OPENZFS_USAGE);
    expect(parseCapabilities(usage23, 'zfs-2.3.2-2~bpo12+2\n').multiSet).toBe(true);
  });
  it('zfs-fuse 0.7: nothing optional but holds', () => {
    expect(parseCapabilities(ZFS_FUSE_USAGE, null)).toEqual({
      version: null,
      flavor: 'zfs-fuse',
      resumableRecv: false,
      recvNoMount: false,
      recvSetProps: false,
      recvExcludeProps: false,
      sendEstimate: false,
      bookmarks: false,
      listParsable: false,
      multiSnapshot: false,
      encryption: false,
      multiSet: false,
      sendCompressed: false,
      sendLargeBlock: false,
      sendEmbedded: false,
      holds: true,
    });
  });
  it('detects the real zfs-fuse here once per process', async () => {
    await requireZfs();
    const z = new Zfs(new LocalHost());
    const caps = await z.capabilities();
    expect(caps.flavor).toBe('zfs-fuse');
    expect(caps.recvNoMount).toBe(false);
    expect(caps.sendEstimate).toBe(false);
    expect(z.capabilities()).toBe(z.capabilities()); // memoised promise
  });
});

describe('parsers', () => {
  it('parseGetHp keeps exact 64-bit GUIDs and maps "-" to null', () => {
    const t = parseGetHp(
      'p/ds@s1\tguid\t17327653106805707187\np/ds@s1\tlifeboat:job\t-\np/ds@s1\tcreatetxg\t17\np/a b\tlifeboat:x\tv\tw\n',
    );
    expect(t.get('p/ds@s1')).toEqual({ guid: '17327653106805707187', 'lifeboat:job': null, createtxg: '17' });
    expect(t.get('p/a b')).toEqual({ 'lifeboat:x': 'v\tw' });
  });
  it('treeFromTable groups snapshots under datasets ordered by createtxg', () => {
    const t = parseGetHp(
      [
        'p/d\ttype\tfilesystem',
        'p/d\tguid\t1',
        'p/d@b\tguid\t3',
        'p/d@b\tcreatetxg\t20',
        'p/d@a\tguid\t2',
        'p/d@a\tcreatetxg\t9',
        'p/d@a\tlifeboat:job\t5',
        'p/d@a\tuserrefs\t1',
      ].join('\n'),
    );
    const [d] = treeFromTable(t);
    expect(d.snapshots.map((s) => [s.name, s.guid, s.job, s.userrefs])).toEqual([
      ['a', '2', 5, 1],
      ['b', '3', null, 0],
    ]);
  });
  it('parseResumeTokenBytes: the bytes a cut receive holds, from `zfs send -nvP -t` (OpenZFS 2.3 output)', () => {
    const out =
      'resume token contents:\nnvlist version: 0\n\tfromguid = 0x926bb2d8c279fc46\n\tobject = 0x2\n\toffset = 0x760000\n\tbytes = 0x784fe8\n\ttoguid = 0x4cbd4d06e6e10843\n\ttoname = tp/src@s2\nincremental\ttp/src@s1\ttp/src@s2\t12213376\nsize\t12213376\n';
    expect(parseResumeTokenBytes(out)).toBe(0x784fe8);
    expect(parseResumeTokenBytes('size\t12\n')).toBeNull();
  });
  it('parseSendEstimate', () => {
    expect(parseSendEstimate('full\tp/d@s\t123456\nsize\t123456\n')).toBe(123456);
    expect(parseSendEstimate('incremental\ta\tp/d@b\t42\n')).toBe(42);
    expect(parseSendEstimate('')).toBeNull();
  });
  it('names', () => {
    expect(snapshotNameFor(7, new Date(Date.UTC(2026, 10, 28, 16, 5, 9)))).toBe('lb_j7_20261128T160509Z');
    // what zfs accepts (checked on zfs-fuse: "tank/-x", "tank/ lead", "tank/_u" are datasets); a pool starts with a letter
    for (const ok of ['tank', 'tank/vms/web', 'tank/a b', 'p/x.y:z_1-2', 'tank/-x', 'tank/ lead', 'tank/_u'])
      expect(isValidDatasetName(ok), ok).toBe(true);
    for (const bad of ['', '-o', '1tank', 'tank/', '/tank', 'tank//x', 'tank@s', 'tank/..', 'tank/$(id)', 'tank/a\tb', 'tank/a\nb'])
      expect(isValidDatasetName(bad), bad).toBe(false);
  });
  it('ssh error classification', () => {
    expect(classifySsh(255, 'ssh: connect to host 127.0.0.1 port 1: Connection refused')).toBe('connectivity');
    expect(classifySsh(255, 'ssh: Could not resolve hostname nope: Name or service not known')).toBe('connectivity');
    expect(classifySsh(255, 'root@h: Permission denied (publickey).')).toBe('authentication');
    expect(classifySsh(255, 'Load key "/tmp/x/id": invalid format\nroot@h: Permission denied (publickey).')).toBe('authentication');
    expect(classifySsh(255, 'Host key verification failed.')).toBe('host-key');
    expect(classifySsh(127, 'sh: 1: zfs: not found')).toBe('target-not-ready');
    expect(classifySsh(1, "cannot open 'x': dataset does not exist")).toBeNull();
  });
});

describe('TransferProgress', () => {
  it('reports bytes, rate over a window, ETA, and never a total below the bytes sent', async () => {
    const { TransferProgress } = await import('../../node-runner/src/executors/progress.ts');
    const { ctx, reports } = testContext();
    const p = new TransferProgress(ctx, 1000);
    const t0 = 1_000_000;
    expect(p.rate(t0)).toBeNull();
    p.add(100);
    expect(p.rate(t0 + 1000)).toBeCloseTo(100);
    p.add(1000);
    p.report();
    const last = reports.at(-1)!;
    expect(last).toMatchObject({ phase: 'transferring', bytesDone: 1100, bytesTotal: 1100, etaSeconds: 0 });
  });
});

describe('Zfs.setAndHold on the real zfs-fuse (backup-holds.ts, docs/zfs.md "Holds")', () => {
  const refs = async (snap: string) => Number((await zfs('get', '-Hp', '-o', 'value', 'userrefs', snap)).trim());
  it('tags, holds and releases at once; "already held" and "not held" are fine; a failed hold is returned, a failed tag throws', async () => {
    await requireZfs();
    const pool = await createPool('lbhold');
    try {
      const a = `${pool.name}/a`;
      await zfs('create', a);
      for (const n of ['s1', 's2']) await zfs('snapshot', `${a}@${n}`);
      const z = new Zfs(new LocalHost());
      const tag = 'lifeboat-j9';
      const tags = { name: `${a}@s1`, props: { 'lifeboat:job': '9', 'lifeboat:event': '4' } };
      expect(await z.setAndHold([tags], { tag, hold: [`${a}@s1`], release: [] })).toEqual([]);
      expect(await refs(`${a}@s1`)).toBe(1);
      expect((await zfs('get', '-H', '-o', 'value', 'lifeboat:event', `${a}@s1`)).trim()).toBe('4');
      await expect(run('zfs', ['destroy', `${a}@s1`])).resolves.toMatchObject({ code: 1 }); // a hand destroy is refused
      // the move: s2 held, s1 released; done twice, the second finds s2 held and s1 released already
      for (let i = 0; i < 2; i++) expect(await z.setAndHold([], { tag, hold: [`${a}@s2`], release: [`${a}@s1`] })).toEqual([]);
      expect([await refs(`${a}@s1`), await refs(`${a}@s2`)]).toEqual([0, 1]);
      // a hold that fails (its snapshot is gone) is returned, not thrown; the tags and the release still happen
      const problems = await z.setAndHold([{ name: `${a}@s2`, props: { 'lifeboat:event': '5' } }], {
        tag,
        hold: [`${a}@gone`],
        release: [`${a}@s2`],
      });
      expect(problems.join('\n')).toMatch(/a@gone/);
      expect(await refs(`${a}@s2`)).toBe(0);
      expect((await zfs('get', '-H', '-o', 'value', 'lifeboat:event', `${a}@s2`)).trim()).toBe('5');
      // a tag that fails throws (after the holds ran)
      await expect(
        z.setAndHold([{ name: `${a}@s1`, props: { 'lifeboat:x': '1', readonly: 'maybe' } }], { tag, hold: [`${a}@s1`], release: [] }),
      ).rejects.toThrow(/cannot set property/);
      expect(await refs(`${a}@s1`)).toBe(1);
      await zfs('release', tag, `${a}@s1`);
      // several snapshots in one command: every value reaches zfs as one argument, never as shell text
      const odd = `$(touch ${pool.name}-pwned); '"\``;
      expect(
        await z.setAndHold(
          [
            { name: `${a}@s1`, props: { 'lifeboat:event': '6', 'lifeboat:note': odd } },
            { name: `${a}@s2`, props: { 'lifeboat:event': '7' } },
          ],
          { tag, hold: [`${a}@s1`, `${a}@s2`], release: [] },
        ),
      ).toEqual([]);
      expect((await zfs('get', '-H', '-o', 'value', 'lifeboat:note', `${a}@s1`)).trim()).toBe(odd);
      expect((await zfs('get', '-H', '-o', 'value', 'lifeboat:event', `${a}@s2`)).trim()).toBe('7');
      expect([await refs(`${a}@s1`), await refs(`${a}@s2`)]).toEqual([1, 1]);
      for (const n of ['s1', 's2']) await zfs('release', tag, `${a}@${n}`);
    } finally {
      await pool.destroy();
    }
  });
});

describe('Zfs.get skipMissing on the real zfs-fuse (inventory: a pool gone since `zpool list`)', () => {
  it('leaves out a name that vanished and returns the rest; without it the call fails; other errors still fail', async () => {
    await requireZfs();
    const pool = await createPool('lbgone');
    try {
      const z = new Zfs(new LocalHost());
      const gone = `${pool.name}x`; // never existed: stands for a pool destroyed between the listing and the get
      const t = await z.get([pool.name, gone], ['type'], { recursive: true, skipMissing: true });
      expect(t.get(pool.name)?.type).toBe('filesystem');
      expect(t.has(gone)).toBe(false);
      await expect(z.get([pool.name, gone], ['type'], { recursive: true })).rejects.toThrow(/does not exist/);
      await expect(z.get([pool.name], ['no-such-property'], { skipMissing: true })).rejects.toThrow(/no-such-property/);
    } finally {
      await pool.destroy();
    }
  });
});

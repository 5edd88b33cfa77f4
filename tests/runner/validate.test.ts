// Target validation and SSH error classes against a real sshd on 127.0.0.1 and real zfs-fuse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { validateTarget } from '../../node-runner/src/executors/validate.ts';
import { browseTarget } from '../../node-runner/src/executors/browse.ts';
import type { TargetSpec } from '../../node-runner/src/executors/types.ts';
import { SshSession, shQuote } from '../../node-runner/src/ssh/index.ts';
import type { TestSshd } from '../helpers/sshd.ts';
import { expectExecError, startWorld, targetSpec, Teardown } from '../helpers/world.ts';
import { testContext, zfs, run, type TestPool } from '../helpers/zfs.ts';

let sshd: TestSshd;
let pool: TestPool;
let base: TargetSpec;

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 1));
    });
  });
}

/**
 * A TCP relay to the test sshd on a free port whose first `bad` connections misbehave as a loaded
 * or throttling target does: 'drop' closes them at once (sshd's MaxStartups), 'silent' holds them
 * without a banner. Later connections are relayed.
 */
async function flakyRelay(sshdPort: number, bad: number, how: 'drop' | 'silent') {
  const held: Socket[] = [];
  let seen = 0;
  const server: Server = createServer((c) => {
    seen++;
    if (seen <= bad) {
      if (how === 'drop') c.destroy();
      else held.push(c);
      return;
    }
    const up = connect(sshdPort, '127.0.0.1');
    c.pipe(up).pipe(c);
    const end = () => {
      c.destroy();
      up.destroy();
    };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return {
    port,
    connections: () => seen,
    close: () => {
      for (const c of held) c.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const allNames = async () => (await zfs('list', '-H', '-o', 'name', '-t', 'all', '-r', pool.name)).split('\n').filter(Boolean).sort();

const teardown = new Teardown();
beforeAll(async () => {
  const w = await startWorld(teardown, { tgt: { prefix: 'lbv', mounted: false } }, { createBackupRoot: true });
  ({ tgt: pool, sshd } = w);
  base = targetSpec(w); // not pinned: validating it is what these tests do
}, 60_000);

afterAll(() => teardown.run(), 60_000);

describe('ssh quoting', () => {
  it('quotes every argument for a POSIX shell', async () => {
    expect(shQuote('tank/ds@snap')).toBe('tank/ds@snap');
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(shQuote('')).toBe(`''`);
    const { ctx } = testContext();
    const first = await validateTarget(base, ctx);
    const s = await SshSession.open({ ...base, hostKey: first.hostKey });
    try {
      const nasty = ['a b', "it's", '$(touch /tmp/pwned)', '`id`', ';', '&&', '|', '*', '\\', '"', '\n'];
      const r = await s.exec(['printf', '%s\\0', ...nasty]);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(nasty);
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe('validateTarget', () => {
  it('pins the host key on first use and accepts it later; zfs works; backup root found', async () => {
    const { ctx, logs } = testContext();
    const r = await validateTarget(base, ctx);
    expect(r.hostKey).toMatch(/^lifeboat-target ssh-ed25519 AAAA/);
    expect(r.hostKey).toContain((await sshd.hostKeyLine()).split(' ')[2]);
    expect(r.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]+$/);
    const kg = await run('ssh-keygen', ['-lf', `${sshd.dir}/host_key.pub`]);
    expect(kg.stdout).toContain(r.fingerprint);
    expect(r.backupRootCreated).toBe(false);
    expect(r.zfsVersion).toBeNull(); // zfs-fuse has no `zfs version`
    const again = await validateTarget({ ...base, hostKey: r.hostKey }, testContext().ctx);
    expect(again.fingerprint).toBe(r.fingerprint);
    expect(logs.join('\n')).not.toContain('PRIVATE KEY');
  }, 60_000);

  it('creates a missing backup root when asked', async () => {
    const r = await validateTarget({ ...base, backupRoot: `${pool.name}/made/here`, createBackupRoot: true }, testContext().ctx);
    expect(r.backupRootCreated).toBe(true);
    expect(await allNames()).toContain(`${pool.name}/made/here`);
  }, 60_000);

  it('missing backup root with createBackupRoot=false → target-not-ready, nothing created', async () => {
    const before = await allNames();
    await expectExecError(validateTarget({ ...base, backupRoot: `${pool.name}/absent` }, testContext().ctx), 'target-not-ready');
    expect(await allNames()).toEqual(before);
  }, 60_000);

  it('unreachable target → connectivity', async () => {
    const e = await expectExecError(validateTarget({ ...base, sshPort: await closedPort() }, testContext().ctx), 'connectivity');
    expect(e.message).toMatch(/refused/i);
  }, 60_000);

  it('a target that drops the first connect (MaxStartups): connected on the next attempt, said in the log', async () => {
    const pinned = (await validateTarget(base, testContext().ctx)).hostKey;
    const relay = await flakyRelay(sshd.port, 1, 'drop');
    const retries: string[] = [];
    try {
      const s = await SshSession.open({ ...base, sshPort: relay.port, hostKey: pinned }, { onConnectRetry: (l) => retries.push(l) });
      try {
        expect((await s.exec(['echo', 'through'])).stdout).toBe('through\n');
      } finally {
        await s.close();
      }
      expect(relay.connections()).toBe(2);
      expect(retries).toHaveLength(1);
      // ssh reads the drop as "Connection closed by remote host" or, when it has written first, "Connection reset by peer"
      expect(retries[0]).toMatch(/^cannot connect to .*: .*Connection (closed|reset).*; connecting again in \d+\.\d s \(attempt 2 of 3\)$/);
    } finally {
      await relay.close();
    }
  }, 60_000);

  it('a target that never answers: three attempts, then connectivity; a cancel while waiting ends it at once', async () => {
    const pinned = (await validateTarget(base, testContext().ctx)).hostKey;
    const relay = await flakyRelay(sshd.port, Infinity, 'silent');
    try {
      const retries: string[] = [];
      const open = SshSession.open(
        { ...base, sshPort: relay.port, hostKey: pinned },
        { connectTimeoutSec: 1, onConnectRetry: (l) => retries.push(l) },
      );
      const e = await expectExecError(open, 'connectivity');
      expect(e.message).toMatch(/timed out/);
      expect(relay.connections()).toBe(3);
      expect(retries.map((l) => /attempt (\d) of 3/.exec(l)?.[1])).toEqual(['2', '3']);

      const ac = new AbortController();
      const cancelled = SshSession.open(
        { ...base, sshPort: relay.port, hostKey: pinned },
        { connectTimeoutSec: 1, signal: ac.signal, onConnectRetry: () => ac.abort() },
      );
      await expectExecError(cancelled, 'cancelled');
      expect(relay.connections()).toBe(4); // no second attempt after the cancel
    } finally {
      await relay.close();
    }
  }, 120_000);

  it('wrong key → authentication, and the key never appears in the message', async () => {
    const e = await expectExecError(validateTarget({ ...base, sshPrivateKey: sshd.wrongClientKey }, testContext().ctx), 'authentication');
    expect(e.message).not.toContain('PRIVATE KEY');
    expect(e.message).not.toContain(sshd.wrongClientKey.split('\n')[1]);
  }, 60_000);

  it('garbage key → authentication', async () => {
    await expectExecError(validateTarget({ ...base, sshPrivateKey: 'not a key' }, testContext().ctx), 'authentication');
  }, 60_000);

  it('browse lists the catalog under the backup root', async () => {
    const r = await validateTarget(base, testContext().ctx);
    const items = await browseTarget({ ...base, hostKey: r.hostKey }, testContext().ctx);
    expect(Array.isArray(items)).toBe(true);
  }, 60_000);

  it('leaves no key files behind', async () => {
    const { mkdtemp, readdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const saved = process.env.TMPDIR;
    const mine = await mkdtemp(`${tmpdir()}/lb-keycheck-`);
    process.env.TMPDIR = mine; // SshSession puts its key, known_hosts and socket under os.tmpdir()
    try {
      await validateTarget(base, testContext().ctx);
      await validateTarget({ ...base, sshPrivateKey: sshd.wrongClientKey }, testContext().ctx).catch(() => undefined);
      await validateTarget({ ...base, sshPort: await closedPort() }, testContext().ctx).catch(() => undefined);
      expect(await readdir(mine)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await rm(mine, { recursive: true, force: true });
    }
  }, 60_000);
});

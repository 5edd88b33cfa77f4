// Shell metacharacters never reach a shell. Canary files that any shell expansion would create:
// (1) through the real system (API → DB → claim → runner → zfs-fuse and ssh to a real sshd), with
//     metacharacters in every free-text field the API accepts (target and job names, description),
//     and refused (400, field named) in every field it does not (host, user, dataset paths, schedule,
//     time zone); a validate and a backup run succeed and no canary exists afterwards;
// (2) below the API, straight into the runner's SSH/ZFS layer with hostile host, user and dataset
//     values that the API would have refused: they fail as plain arguments, no canary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { validateTarget } from '../../node-runner/src/executors/validate.ts';
import { SshSession } from '../../node-runner/src/ssh/index.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import type { ApiErrorBody } from '../helpers/api.ts';
import type { TestSshd } from '../helpers/sshd.ts';
import { loopbackTarget, startWorld, targetSpec, Teardown } from '../helpers/world.ts';
import { testContext, writeRandom, zfs, type TestPool } from '../helpers/zfs.ts';

const tag = (Date.now() % 1e8).toString(36);
const canaries: string[] = [];
/** A fresh canary path and the hostile snippets that would create it if a shell ever saw them. */
function hostile(label: string) {
  const path = `/tmp/lbc-${tag}-${label}`;
  canaries.push(path);
  return {
    path,
    subst: `$(touch ${path})`,
    back: `\`touch ${path}\``,
    semi: `;touch ${path}`,
    pipe: `|touch ${path}`,
    and: `&& touch ${path}`,
    nl: `\ntouch ${path}`,
  };
}
const created = () => canaries.filter((p) => existsSync(p));

let srv: TestServer;
let sshd: TestSshd;
let src: TestPool;
let tgt: TestPool;

const teardown = new Teardown();
beforeAll(async () => {
  teardown.defer(() => {
    for (const p of canaries) rmSync(p, { force: true });
  }); // last
  ({
    pools: { src, tgt },
    sshd,
  } = await startWorld(teardown, { src: { prefix: 'lbcs', mounted: true }, tgt: { prefix: 'lbct', mounted: false, sizeMiB: 256 } }));
  await zfs('create', `${src.name}/app`);
  await writeRandom(join(src.mountpoint!, 'app', 'f'), 256 << 10);
  srv = teardown.own(await startServer({ LIFEBOAT_RUNNER_POOLS: src.name, LIFEBOAT_RUNNER_INVENTORY_MS: '2000' }));
}, 240_000);

afterAll(() => teardown.run(), 120_000);

describe('shell metacharacters never reach a shell (canary files)', () => {
  it('control: a shell given these snippets does create the canaries', () => {
    const c = hostile('control');
    for (const snippet of [c.subst, c.back, c.semi, c.pipe, c.and, c.nl]) {
      execFileSync('sh', ['-c', `echo x ${snippet}`], { stdio: 'ignore' });
      expect(existsSync(c.path), snippet).toBe(true);
      rmSync(c.path);
    }
    canaries.pop();
  });

  it('through the API and a real validate + backup on zfs-fuse', async () => {
    const node = await srv.waitFor(
      'the local node',
      async () => (await srv.api('GET', '/nodes')).body.items.find((n) => n.inventoryAt)?.id,
    );
    const n = hostile('name'),
      d = hostile('desc'),
      j = hostile('job');
    const target = {
      ...loopbackTarget({ sshd, tgt }),
      name: `t ${n.subst} ${n.semi}`,
      description: `${d.back} ${d.pipe} ${d.and} ${d.subst}`,
    };
    // Fields whose rules exclude metacharacters: refused, the field named, nothing stored.
    const h = hostile('host'),
      u = hostile('user'),
      r = hostile('root'),
      s = hostile('schedule'),
      z = hostile('zone'),
      src2 = hostile('source');
    const refusals: [string, Record<string, unknown>, string][] = [
      ['/targets', { ...target, sshHost: `127.0.0.1${h.semi}` }, 'sshHost'],
      ['/targets', { ...target, sshHost: `-oProxyCommand=touch ${h.path}` }, 'sshHost'],
      ['/targets', { ...target, sshUser: `root${u.subst}` }, 'sshUser'],
      ['/targets', { ...target, backupRoot: `${tgt.name}/b${r.subst}` }, 'backupRoot'],
      ['/targets', { ...target, backupRoot: `${tgt.name}/b${r.semi}` }, 'backupRoot'],
    ];
    expect(target.name.length).toBeLessThanOrEqual(100);
    for (const [path, body, field] of refusals) {
      const res = await srv.api<ApiErrorBody>('POST', path, body);
      expect(res.status, `${field}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.fields[field]).toBeTruthy();
    }
    expect((await srv.api('GET', '/targets')).body.items).toEqual([]);

    const t = await srv.api('POST', '/targets', target);
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    expect(t.body.name).toBe(target.name);
    const v = await srv.api('POST', `/targets/${t.body.id}/validate`, { nodeId: node });
    const ve = await srv.waitEvent(v.body.eventId);
    expect(ve.status, ve.error).toBe('success');
    const fingerprint = (await srv.api('GET', `/targets/${t.body.id}`)).body.pendingHostKeyFingerprint;
    expect((await srv.api('POST', `/targets/${t.body.id}/host-key/confirm`, { fingerprint })).status).toBe(200);

    const job = { name: `job ${j.subst}${j.semi}${j.back}`, targetId: t.body.id, nodeId: node, mode: 'dataset', source: `${src.name}/app` };
    for (const [body, field] of [
      [{ ...job, schedule: `0 * * * *${s.semi}` }, 'schedule'],
      [{ ...job, schedule: s.subst }, 'schedule'],
      [{ ...job, timezone: `Europe/${z.subst}` }, 'timezone'],
      [{ ...job, source: `${src.name}/app${src2.subst}` }, 'source'],
    ] as const) {
      const res = await srv.api<ApiErrorBody>('POST', '/jobs', body);
      expect(res.status, `${field}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.fields[field]).toBeTruthy();
    }
    const created1 = await srv.api('POST', '/jobs', job);
    expect(created1.status, JSON.stringify(created1.body)).toBe(201);
    const run = await srv.api('POST', `/jobs/${created1.body.id}/run`);
    const e = await srv.waitEvent(run.body.eventId);
    expect(e.status, e.error).toBe('success');
    expect(e.jobName).toBe(job.name);
    // The data arrived on the target under the job's id (names never become paths).
    const names = (await zfs('list', '-H', '-o', 'name', '-r', `${tgt.name}/backups`)).split('\n');
    expect(names).toContain(`${tgt.name}/backups/j${created1.body.id}/g1/${src.name}/app`);
    expect(created()).toEqual([]);
  });

  it('below the API: hostile host, user and dataset values are plain arguments to ssh and zfs', async () => {
    const base = targetSpec({ sshd, backupRoot: `${tgt.name}/backups` }, { name: 'x', createBackupRoot: true });
    const h = hostile('rawhost'),
      u = hostile('rawuser'),
      r = hostile('rawroot');
    const attempts = [
      { ...base, sshHost: `127.0.0.1${h.semi}` },
      { ...base, sshHost: `127.0.0.1 ${h.subst}` },
      { ...base, sshHost: `-oProxyCommand=touch ${h.path}` },
      { ...base, sshUser: `${sshd.user}${u.subst}` },
      { ...base, sshUser: `-oProxyCommand=touch ${u.path}` },
      { ...base, backupRoot: `${tgt.name}/b${r.subst}` },
      { ...base, backupRoot: `${tgt.name}/b${r.semi}`, createBackupRoot: true },
    ];
    for (const target of attempts) {
      const { ctx } = testContext();
      await expect(validateTarget(target, ctx)).rejects.toThrow();
    }
    // A remote command with hostile arguments: each is quoted, so the remote shell passes it to zfs as is.
    // Both transports: one SSH session per command, and the persistent remote /bin/sh that reads
    // quoted command lines on its stdin (remote-shell.ts).
    for (const persistentShell of [false, true]) {
      const x = hostile(`remote-${persistentShell}`);
      const session = await SshSession.open(base, { acceptNewHostKey: true, persistentShell });
      try {
        const res = await session
          .exec(
            [
              'zfs',
              'list',
              '-H',
              `${tgt.name}/${x.subst}`,
              `${x.semi}`,
              `${x.back}`,
              `${x.pipe}`,
              `${x.and}`,
              x.nl,
              `'${x.semi}`,
              `"${x.subst}"`,
            ],
            {},
          )
          .catch((err: Error) => err);
        expect(res instanceof Error || res.code !== 0).toBe(true);
        // The session still works afterwards: nothing of the hostile line was left in the shell's input.
        const ok = await session.exec(['zfs', 'list', '-H', '-o', 'name', tgt.name]);
        expect(ok.code).toBe(0);
        expect(ok.stdout.trim()).toBe(tgt.name);
      } finally {
        await session.close();
      }
    }
    expect(created()).toEqual([]);
  });
});

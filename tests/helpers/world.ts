// The setup most system tests share: uniquely named zfs-fuse pools, a real sshd on a free port, the
// target it serves (as a runner TargetSpec with the host key pinned, or created through the API),
// and a teardown that stops every process by its PID and destroys every pool by name, in reverse
// order, also when the setup failed half way (afterAll runs whatever was registered so far).
import { expect } from 'vitest';
import { validateTarget } from '../../node-runner/src/executors/validate.ts';
import { ExecError, type JobSpec, type TargetSpec } from '../../node-runner/src/executors/types.ts';
import { startSshd, type TestSshd } from './sshd.ts';
import { createPool, testContext, zfs, type TestPool } from './zfs.ts';

/** What a test file started, undone in reverse order by `run()` (its afterAll). */
export class Teardown {
  private steps: (() => unknown)[] = [];

  /** Run `fn` at teardown (before everything registered earlier). */
  defer(fn: () => unknown): void {
    this.steps.push(fn);
  }

  /** Stop `r` (a server, runner, sshd or browser: each stops its own PID) at teardown; returns it. */
  own<T extends { stop(): unknown }>(r: T): T {
    this.defer(() => r.stop());
    return r;
  }

  /** Every step runs even when one fails (a failed stop must not leave the rest behind); the first error is thrown. */
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (let s = this.steps.pop(); s; s = this.steps.pop()) {
      try {
        await s();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  }
}

export interface PoolOptions {
  prefix: string;
  mounted?: boolean;
  sizeMiB?: number;
}

export interface World<P extends string> {
  /** The pools asked for, by the name the test gave them; `tgt` is the target's. */
  pools: Record<P | 'tgt', TestPool>;
  tgt: TestPool;
  /** `<tgt>/backups`: the backup root of every target the tests make. */
  backupRoot: string;
  sshd: TestSshd;
}

/**
 * Pools (created in the order given) and an sshd, all registered on `teardown`. `createBackupRoot`:
 * create `<tgt>/backups` now (the runner-level tests; targets made through the API create it when
 * they are validated).
 */
export async function startWorld<P extends string>(
  teardown: Teardown,
  pools: Record<P | 'tgt', PoolOptions>,
  opts: { createBackupRoot?: boolean } = {},
): Promise<World<P>> {
  const made: Partial<Record<P | 'tgt', TestPool>> = {};
  for (const key of Object.keys(pools) as (P | 'tgt')[]) {
    const o = pools[key];
    const p = await createPool(o.prefix, { mounted: o.mounted, sizeMiB: o.sizeMiB });
    teardown.defer(() => p.destroy());
    made[key] = p;
  }
  const all = made as Record<P | 'tgt', TestPool>;
  const backupRoot = `${all.tgt.name}/backups`;
  if (opts.createBackupRoot) await zfs('create', backupRoot);
  const sshd = teardown.own(await startSshd());
  return { pools: all, tgt: all.tgt, backupRoot, sshd };
}

/** The runner's view of the world's target: the sshd's authorized key, host key not yet known. */
export function targetSpec(w: { sshd: TestSshd; backupRoot: string }, over: Partial<TargetSpec> = {}): TargetSpec {
  const { sshd } = w;
  return {
    id: 1,
    name: 'local',
    sshHost: sshd.host,
    sshUser: sshd.user,
    sshPort: sshd.port,
    sshPrivateKey: sshd.clientKey,
    backupRoot: w.backupRoot,
    createBackupRoot: false,
    hostKey: null,
    ...over,
  };
}

/** The same target with its host key pinned by a real validation (as the control plane does on the first one). */
export async function pinnedTarget(w: { sshd: TestSshd; backupRoot: string }, over: Partial<TargetSpec> = {}): Promise<TargetSpec> {
  const target = targetSpec(w, over);
  target.hostKey = (await validateTarget(target, testContext().ctx)).hostKey;
  return target;
}

/** The API's create body for a target on the world's sshd (the backup root is made on validation). */
export function loopbackTarget(w: { sshd: TestSshd; tgt: TestPool }) {
  const { sshd } = w;
  return {
    name: 'loopback',
    sshHost: '127.0.0.1',
    sshUser: sshd.user,
    sshPort: sshd.port,
    sshPrivateKey: sshd.clientKey,
    backupRoot: `${w.tgt.name}/backups`,
    createBackupRoot: true,
  };
}

/** A test server's API: TestServer (helpers/server.ts) and FaultServer (faults/fixture.ts) both fit. */
export interface ServerApi {
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  waitEvent(id: number, ms?: number): Promise<unknown>;
}

/** A test server with its polling wait (TestServer and FaultServer both fit). */
export interface WaitingServer extends ServerApi {
  waitFor<T>(what: string, f: () => Promise<T | null | undefined | false>, ms?: number): Promise<T>;
}

/** What GET /nodes/:id says of a node's inventory, as far as the waits below read it. */
export interface NodeInventory {
  datasets: { name: string }[];
  guests: { id: string }[];
}

/** The id of the server's only node (its local runner) once its reported inventory satisfies `has`. */
export async function localNode(srv: WaitingServer, what: string, has: (n: NodeInventory) => boolean): Promise<number> {
  return srv.waitFor(what, async () => {
    const nodes = ((await srv.api('GET', '/nodes')).body as { items: { id: number }[] }).items;
    if (nodes.length !== 1) return null;
    return has((await srv.api('GET', `/nodes/${nodes[0].id}`)).body as NodeInventory) ? nodes[0].id : null;
  });
}

/**
 * Create the loopback target through the API and validate it from each of `nodeIds` (none given:
 * the node the server picks), confirming the host key the first validation shows (which pins it);
 * each validation must succeed. Returns its id.
 */
export async function addLoopbackTarget(srv: ServerApi, w: { sshd: TestSshd; tgt: TestPool }, nodeIds: number[] = []): Promise<number> {
  const t = await srv.api('POST', '/targets', loopbackTarget(w));
  if (t.status !== 201) throw new Error(`creating the loopback target: ${t.status} ${JSON.stringify(t.body)}`);
  const id = (t.body as { id: number }).id;
  for (const body of nodeIds.length ? nodeIds.map((nodeId) => ({ nodeId })) : [{}]) {
    const v = await srv.api('POST', `/targets/${id}/validate`, body);
    const e = (await srv.waitEvent((v.body as { eventId: number }).eventId)) as { status: string; error?: string | null };
    expect(e.status, e.error ?? undefined).toBe('success');
    // the first validation shows the host key; a confirmation pins it (README, Adding a target)
    const seen = (await srv.api('GET', `/targets/${id}`)).body as { pendingHostKeyFingerprint?: string | null };
    if (seen.pendingHostKeyFingerprint) {
      const c = await srv.api('POST', `/targets/${id}/host-key/confirm`, { fingerprint: seen.pendingHostKeyFingerprint });
      expect(c.status, JSON.stringify(c.body)).toBe(200);
    }
  }
  return id;
}

/** `p` rejects with an ExecError of class `cls` (its message shown when the class differs); returns it. */
export async function expectExecError(p: Promise<unknown>, cls: string, message?: RegExp): Promise<ExecError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ExecError);
    expect((e as ExecError).errorClass, (e as Error).message).toBe(cls);
    if (message) expect((e as Error).message).toMatch(message);
    return e as ExecError;
  }
  throw new Error(`expected an ExecError of class ${cls}`);
}

/** A dataset job `id` of `source` as a claim hands it to the runner: not recursive, nothing kept or stopped, unless `o` says so. */
export function jobSpec(id: number, source: string, o: Partial<JobSpec> = {}): JobSpec {
  return {
    id,
    name: `job${id}`,
    mode: 'dataset',
    source,
    recursive: false,
    keepLast: 0,
    pruneTarget: false,
    stopBeforeBackup: false,
    sendDecrypted: false,
    ...o,
  };
}

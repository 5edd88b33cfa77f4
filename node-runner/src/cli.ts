// lifeboat-runner [--server URL --join-token T] [--state-dir DIR] [--concurrency N] [--name NAME]
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { ApiRequestError, RunnerClient } from './client.ts';
import { readInventory } from './inventory.ts';
import { RunnerLoop } from './loop.ts';
import { CHECKPOINTS, type Checkpoint } from './executors/types.ts';
import { rmSync } from 'node:fs';
import { loadState, resetSshDir, saveState, statePath } from './state.ts';
import { closeWarmConnections, configureWarmConnections, setSessionDirBase } from './ssh/index.ts';
import type { GuestsConfig } from './guests/types.ts';
import { configureConcurrentStreams } from './executors/backup-send.ts';

const USAGE = `usage: lifeboat-runner [--server URL --join-token TOKEN] [--name NAME] [--state-dir DIR] [--concurrency N] [--pools a,b]
                       [--manifest FILE] [--jail-conf FILE] [--jail-conf-dir DIR] [--vm-dir DIR]
  The first run joins the server with a join token (or LIFEBOAT_JOIN_TOKEN) and stores its node token
  in <state-dir>/node.json (mode 0600); later runs need no arguments.
  --crash-at CHECKPOINT  fault testing only: the runner kills itself with SIGKILL when an event
                         reaches CHECKPOINT (${CHECKPOINTS.join(', ')}).
                         Never use it in production.`;

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        'join-token': { type: 'string' },
        name: { type: 'string' },
        'state-dir': { type: 'string' },
        concurrency: { type: 'string' },
        pools: { type: 'string' },
        manifest: { type: 'string' },
        'jail-conf': { type: 'string' },
        'jail-conf-dir': { type: 'string' },
        'vm-dir': { type: 'string' },
        'crash-at': { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const log = (msg: string) => console.log(`[runner] ${msg}`);
  const stateDir = args['state-dir'] ?? env.LIFEBOAT_RUNNER_STATE_DIR ?? '/var/db/lifeboat-runner';
  const concurrency = Number(args.concurrency ?? env.LIFEBOAT_RUNNER_CONCURRENCY ?? 2);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    console.error('--concurrency must be a positive integer');
    return 2;
  }

  const crashName = args['crash-at'];
  if (crashName !== undefined && !(CHECKPOINTS as readonly string[]).includes(crashName)) {
    console.error(`--crash-at must be one of ${CHECKPOINTS.join(', ')}`);
    return 2;
  }

  const poolsArg = args.pools ?? env.LIFEBOAT_RUNNER_POOLS;
  const pools = poolsArg
    ? poolsArg
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : undefined;
  const guests: GuestsConfig = {
    manifest: args.manifest ?? env.LIFEBOAT_RUNNER_MANIFEST ?? null,
    jailConf: args['jail-conf'] ?? env.LIFEBOAT_RUNNER_JAIL_CONF ?? null,
    jailConfDir: args['jail-conf-dir'] ?? env.LIFEBOAT_RUNNER_JAIL_CONF_DIR ?? null,
    vmDir: args['vm-dir'] ?? env.LIFEBOAT_RUNNER_VM_DIR ?? null,
  };
  const inventory = () => readInventory(pools, guests, log);
  let state = loadState(stateDir);
  const joinToken = args['join-token'] ?? env.LIFEBOAT_JOIN_TOKEN;
  if (!state) {
    const server = (args.server ?? env.LIFEBOAT_SERVER)?.replace(/\/+$/, '');
    if (!server || !joinToken) {
      console.error(`not joined yet: --server and --join-token are required\n${USAGE}`);
      return 2;
    }
    const name = args.name ?? hostname();
    try {
      const res = await new RunnerClient(server).post('/runner/join', { joinToken, name, hostname: hostname() });
      state = { server, nodeId: res.nodeId, nodeToken: res.nodeToken, name };
      saveState(stateDir, state);
      log(`joined as node ${res.nodeId} ("${name}"); token stored in ${statePath(stateDir)}`);
    } catch (err) {
      console.error(`join failed: ${err instanceof ApiRequestError ? err.serverMessage : (err as Error).message}`);
      return 1;
    }
  }
  const client = new RunnerClient(args.server?.replace(/\/+$/, '') ?? state.server, state.nodeToken);
  const ssh = resetSshDir(stateDir);
  if (!setSessionDirBase(ssh.dir))
    log(`warning: ${ssh.dir} is too long a path for SSH control sockets; per-run SSH keys go to the system temp dir`);
  if (ssh.removed) log(`removed ${ssh.removed} SSH key dir(s) a previous run of this runner left in ${ssh.dir}`);
  // Warm SSH connections between backups (ssh/session.ts): at most N idle masters, each for S seconds.
  const warmMax = Number(env.LIFEBOAT_RUNNER_SSH_WARM ?? 4);
  const warmIdleS = Number(env.LIFEBOAT_RUNNER_SSH_WARM_IDLE_S ?? 60);
  if (!Number.isInteger(warmMax) || warmMax < 0 || !Number.isFinite(warmIdleS) || warmIdleS < 0) {
    console.error('LIFEBOAT_RUNNER_SSH_WARM must be an integer ≥ 0 and LIFEBOAT_RUNNER_SSH_WARM_IDLE_S a number ≥ 0');
    return 2;
  }
  configureWarmConnections(warmMax, warmIdleS * 1000);
  // Small incrementals of one backup at a time over its connection (executors/backup-send.ts).
  const streams = Number(env.LIFEBOAT_RUNNER_STREAMS ?? 4);
  if (!Number.isInteger(streams) || streams < 1 || streams > 16) {
    console.error('LIFEBOAT_RUNNER_STREAMS must be an integer from 1 to 16');
    return 2;
  }
  configureConcurrentStreams(streams);

  try {
    const inv = await inventory();
    await client.post('/runner/inventory', inv);
    log(`inventory: ${inv.zfsVersion ?? 'zfs'}; ${inv.pools.length} pools, ${inv.datasets.length} datasets`);
  } catch (err) {
    log(`inventory not reported: ${(err as Error).message}`);
  }

  const crashAt = crashName
    ? {
        name: crashName as Checkpoint,
        crash: (name: Checkpoint, eventId: number) => {
          // Fault testing: die as abruptly as a power cut or the OOM killer would. No cleanup, no report.
          console.log(`[runner] --crash-at ${name}: event ${eventId} reached it; SIGKILL`);
          process.kill(process.pid, 'SIGKILL');
        },
      }
    : null;
  if (crashAt) log(`fault testing: will SIGKILL itself at checkpoint ${crashAt.name}`);
  // One report at a time, on a schedule or when the server asks (a user is choosing datasets):
  // asked again while one is under way, the next claim asks again.
  let reporting: Promise<void> | null = null;
  const reportInventory = () => {
    reporting ??= inventory()
      .then((inv) => client.post('/runner/inventory', inv))
      .then(() => undefined)
      .catch((e) => log(`inventory report failed: ${(e as Error).message}`))
      .finally(() => {
        reporting = null;
      });
  };
  const loop = new RunnerLoop(client, { concurrency, log, setup: { guests }, crashAt, onInventoryWanted: reportInventory });
  const stop = () => {
    log('stopping: finishing running events as interrupted');
    void loop.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Inventory is refreshed regularly so new datasets and guests appear in the job form.
  const refresh = setInterval(reportInventory, Number(env.LIFEBOAT_RUNNER_INVENTORY_MS ?? 30_000));
  refresh.unref();
  try {
    await loop.run();
    return 0;
  } catch (err) {
    log(`stopped: ${(err as Error).message}`);
    return 1;
  } finally {
    clearInterval(refresh);
    const warmPids = await closeWarmConnections(); // every run's session is closed (or warm) by now
    if (warmPids.length) log(`closed ${warmPids.length} warm SSH connection(s) (master pid ${warmPids.join(', ')})`);
    rmSync(ssh.dir, { recursive: true, force: true });
  }
}

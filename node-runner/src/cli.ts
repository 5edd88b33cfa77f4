// lifeboat-runner: settings (options.ts), join on the first run, then the claim loop until SIGTERM.
import { fstatSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { ApiRequestError, RunnerClient } from './client.ts';
import { readInventory } from './inventory.ts';
import { RunnerLoop } from './loop.ts';
import type { Checkpoint } from './executors/types.ts';
import { loadState, resetSshDir, saveState, statePath } from './state.ts';
import { closeWarmConnections, configureWarmConnections, setSessionDirBase } from './ssh/index.ts';
import { configureConcurrentStreams } from './executors/backup-send.ts';
import { parseRunnerArgs, UsageError, usage, type Parsed } from './options.ts';
import { createLogger, isJournalStream } from '../../protocol/src/log.ts';

/** A file's text, or null when there is none (the default config file is optional). */
function readIfPresent(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`config file ${path}: ${(err as Error).message}`);
  }
}

/** Exit status: 0 stopped normally, 1 error, 2 usage (the help text says so). */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseRunnerArgs(argv, env, process.platform, readIfPresent);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`lifeboat-runner: ${err.message}\n(lifeboat-runner --help lists the options)`);
    return 2;
  }
  if (parsed.kind === 'help') {
    console.log(usage(process.platform));
    return 0;
  }
  if (parsed.kind === 'version') {
    console.log(`lifeboat-runner ${parsed.version}`);
    return 0;
  }
  const o = parsed.settings;
  // README, Operations: Logs. On stderr: systemd's journal or daemon(8) takes it (under the server: the server's).
  const journal = isJournalStream(env, () => fstatSync(2));
  const logger = createLogger({ source: 'runner', ...o.log, journal, write: (line) => process.stderr.write(`${line}\n`) });
  const log = logger.info;
  if (o.configFile) log(`settings from ${o.configFile} (the environment overrides it)`);
  const { stateDir, concurrency, pools, guests } = o;
  const inventory = () => readInventory(pools, guests, logger.warn); // it logs what it leaves out
  let state = loadState(stateDir);
  const joinToken = o.joinToken;
  if (!state) {
    const server = o.server;
    if (!server || !joinToken) {
      console.error('lifeboat-runner: not joined yet: --server and --join-token (or LIFEBOAT_JOIN_TOKEN) are required');
      return 2;
    }
    const name = o.name;
    try {
      const res = await new RunnerClient(server).post('/runner/join', { joinToken, name, hostname: hostname() });
      state = { server, nodeId: res.nodeId, nodeToken: res.nodeToken, name };
      saveState(stateDir, state);
      log(`joined as node ${res.nodeId} ("${name}"); token stored in ${statePath(stateDir)}`);
    } catch (err) {
      logger.error(`join failed: ${err instanceof ApiRequestError ? err.serverMessage : (err as Error).message}`);
      return 1;
    }
  }
  const client = new RunnerClient(o.server ?? state.server, state.nodeToken);
  const ssh = resetSshDir(stateDir);
  if (!setSessionDirBase(ssh.dir))
    logger.warn(`${ssh.dir} is too long a path for SSH control sockets; per-run SSH keys go to the system temp dir`);
  if (ssh.removed) log(`removed ${ssh.removed} SSH key dir(s) a previous run of this runner left in ${ssh.dir}`);
  // Warm SSH connections between backups (ssh/session.ts): at most N idle masters, each for S seconds.
  configureWarmConnections(o.sshWarm, o.sshWarmIdleS * 1000);
  // Small incrementals of one backup at a time over its connection (executors/backup-send.ts).
  configureConcurrentStreams(o.streams);

  try {
    const inv = await inventory();
    await client.post('/runner/inventory', inv);
    log(`inventory: ${inv.zfsVersion ?? 'zfs'}; ${inv.pools.length} pools, ${inv.datasets.length} datasets`);
  } catch (err) {
    logger.warn(`inventory not reported: ${(err as Error).message}`);
  }

  const crashAt = o.crashAt
    ? {
        name: o.crashAt,
        crash: (name: Checkpoint, eventId: number) => {
          // Fault testing: die as abruptly as a power cut or the OOM killer would. No cleanup, no report.
          logger.warn(`--crash-at ${name}: event ${eventId} reached it; SIGKILL`, { event: eventId });
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
      .catch((e) => logger.warn(`inventory report failed: ${(e as Error).message}`))
      .finally(() => {
        reporting = null;
      });
  };
  const loop = new RunnerLoop(client, { concurrency, log: logger, setup: { guests }, crashAt, onInventoryWanted: reportInventory });
  const stop = () => {
    log('stopping: finishing running events as interrupted');
    void loop.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Inventory is refreshed regularly so new datasets and guests appear in the job form.
  const refresh = setInterval(reportInventory, o.inventoryMs);
  refresh.unref();
  try {
    await loop.run();
    return 0;
  } catch (err) {
    logger.error(`stopped: ${(err as Error).message}`);
    return 1;
  } finally {
    clearInterval(refresh);
    const warmPids = await closeWarmConnections(); // every run's session is closed (or warm) by now
    if (warmPids.length) log(`closed ${warmPids.length} warm SSH connection(s) (master pid ${warmPids.join(', ')})`);
    rmSync(ssh.dir, { recursive: true, force: true });
  }
}

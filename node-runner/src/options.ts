// The runner's settings: command line, then environment, then the config file, then the default.
// Pure apart from the `read` it is given, so a table test covers precedence and every usage error.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
// zod's small build: the settings are checked with the API's schema library, and the runner bundle
// stays small (scripts/build-bundles.mjs)
import * as z from 'zod/mini';
import { ConfigFileError, configFileChoice, defaultConfigPath, parseConfigFile, withConfigFile } from '../../protocol/src/config-file.ts';
import { LIFEBOAT_VERSION } from '../../protocol/src/version.ts';
import { CHECKPOINTS, type Checkpoint } from './executors/types.ts';
import type { GuestsConfig } from './guests/types.ts';

/** A wrong option, value or config file: the runner prints it and exits 2. */
export class UsageError extends Error {}

interface Setting {
  /** The command-line option, when there is one (some are tuning knobs: environment and file only). */
  flag?: string;
  arg?: string;
  env: string;
  dflt: string;
  help: string;
}

/** One table for the help text, the config file's keys and the values' names in error messages. */
export const SETTINGS: readonly Setting[] = [
  { flag: 'server', arg: 'URL', env: 'LIFEBOAT_SERVER', dflt: 'none', help: 'control plane to join (first run; then from the state dir)' },
  {
    flag: 'join-token',
    arg: 'TOKEN',
    env: 'LIFEBOAT_JOIN_TOKEN',
    dflt: 'none',
    help: 'single-use join token (first run; prefer the variable)',
  },
  { flag: 'name', arg: 'NAME', env: 'LIFEBOAT_NODE_NAME', dflt: 'host name', help: 'node name when it joins' },
  {
    flag: 'state-dir',
    arg: 'DIR',
    env: 'LIFEBOAT_RUNNER_STATE_DIR',
    dflt: '/var/db/lifeboat-runner',
    help: 'where node.json (the node token, 0600) is kept',
  },
  { flag: 'concurrency', arg: 'N', env: 'LIFEBOAT_RUNNER_CONCURRENCY', dflt: '2', help: 'events run at once (a positive integer)' },
  { flag: 'pools', arg: 'A,B', env: 'LIFEBOAT_RUNNER_POOLS', dflt: 'all', help: 'report only these pools' },
  { flag: 'manifest', arg: 'FILE', env: 'LIFEBOAT_RUNNER_MANIFEST', dflt: 'none', help: 'manifest guest provider (a JSON file)' },
  { flag: 'jail-conf', arg: 'FILE', env: 'LIFEBOAT_RUNNER_JAIL_CONF', dflt: 'none', help: 'FreeBSD jail provider (jail.conf)' },
  {
    flag: 'jail-conf-dir',
    arg: 'DIR',
    env: 'LIFEBOAT_RUNNER_JAIL_CONF_DIR',
    dflt: '<jail.conf dir>/jail.conf.d',
    help: "the jail provider's jail.conf.d",
  },
  { flag: 'vm-dir', arg: 'DIR', env: 'LIFEBOAT_RUNNER_VM_DIR', dflt: 'none', help: 'vm-bhyve provider (its vm_dir, or zfs:pool/dataset)' },
  { env: 'LIFEBOAT_RUNNER_INVENTORY_MS', dflt: '30000', help: 'inventory report interval in ms' },
  { env: 'LIFEBOAT_RUNNER_SSH_WARM', dflt: '4', help: 'warm SSH connections kept between backups (0: off)' },
  { env: 'LIFEBOAT_RUNNER_SSH_WARM_IDLE_S', dflt: '60', help: 'seconds an idle warm connection stays up' },
  { env: 'LIFEBOAT_RUNNER_STREAMS', dflt: '4', help: 'small incrementals of one backup sent at once (1-16)' },
];

/** The keys runner.conf takes: every setting above (LIFEBOAT_CONFIG itself only in the environment). */
export const RUNNER_CONFIG_KEYS: ReadonlySet<string> = new Set(SETTINGS.map((s) => s.env));

export function usage(platform: string): string {
  const opt = (left: string, help: string, tail: string) => [`  ${left.padEnd(22)}${help}`, `  ${''.padEnd(22)}${tail}`];
  return [
    'usage: lifeboat-runner [options]',
    '',
    'Runs the backups and restores a Lifeboat server gives this node. The first run joins the server',
    'with a join token and keeps the node token in <state-dir>/node.json; later runs need no options.',
    '',
    'Options (each also a variable of the environment or the config file; the option wins, then the',
    'environment, then the file):',
    ...SETTINGS.filter((s) => s.flag).flatMap((s) => opt(`--${s.flag} ${s.arg}`, s.help, `[${s.env}; default ${s.dflt}]`)),
    ...opt(
      '--config FILE',
      'KEY=value lines of these variables; the default is read when present',
      `[LIFEBOAT_CONFIG; default ${defaultConfigPath('runner', platform)}; "": none]`,
    ),
    '  -h, --help            print this help and exit',
    '  --version             print the version and exit',
    '',
    'Environment or config file only:',
    ...SETTINGS.filter((s) => !s.flag).map((s) => `  ${s.env.padEnd(33)}${s.help} [default ${s.dflt}]`),
    '',
    'Exit status: 0 stopped normally (SIGTERM), 1 error (join refused, server lost), 2 usage error',
    '(an unknown option or key, a bad value, not joined and no join token).',
  ].join('\n');
}

export interface RunnerSettings {
  server: string | undefined;
  joinToken: string | undefined;
  name: string;
  stateDir: string;
  concurrency: number;
  pools: string[] | undefined;
  guests: GuestsConfig;
  inventoryMs: number;
  sshWarm: number;
  sshWarmIdleS: number;
  streams: number;
  crashAt: Checkpoint | null;
  /** The config file read, if one was. */
  configFile: string | null;
}

export type Parsed = { kind: 'help' } | { kind: 'version'; version: string } | { kind: 'run'; settings: RunnerSettings };

/**
 * `read` returns a file's text, or null when it does not exist. `--crash-at` (fault testing: the
 * runner SIGKILLs itself at a checkpoint) is an option only with LIFEBOAT_TEST_HOOKS=1, which the
 * fault tests set; it is never in the help.
 */
export function parseRunnerArgs(
  argv: string[],
  env: Record<string, string | undefined>,
  platform: string,
  read: (path: string) => string | null,
): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const s of SETTINGS) if (s.flag) options[s.flag] = { type: 'string' };
  if (env.LIFEBOAT_TEST_HOOKS === '1') options['crash-at'] = { type: 'string' };
  let args: Record<string, string | boolean | undefined>;
  try {
    args = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message.split('. ')[0]);
  }
  if (args.help) return { kind: 'help' };
  if (args.version) return { kind: 'version', version: LIFEBOAT_VERSION };

  const choice = configFileChoice(args.config as string | undefined, env, defaultConfigPath('runner', platform));
  let file: Record<string, string> = {};
  let fileRead: string | null = null;
  if (choice) {
    const text = read(choice.path);
    if (text === null && choice.required) throw new UsageError(`config file ${choice.path} does not exist`);
    try {
      if (text !== null) file = parseConfigFile(text, (fileRead = choice.path), RUNNER_CONFIG_KEYS);
    } catch (err) {
      if (err instanceof ConfigFileError) throw new UsageError(err.message);
      throw err;
    }
  }
  const merged = withConfigFile(env, file);
  /** A setting's value and where it came from (for error messages). */
  const get = (s: Setting): { value: string | undefined; from: string } => {
    const opt = s.flag ? args[s.flag] : undefined;
    if (typeof opt === 'string') return { value: opt, from: `--${s.flag}` };
    const v = merged[s.env];
    if (v === undefined || v === '') return { value: undefined, from: s.env };
    return { value: v, from: env[s.env] ? s.env : `${s.env} in ${fileRead}` };
  };
  const byEnv = (name: string) => get(SETTINGS.find((s) => s.env === name)!);
  const str = (name: string) => byEnv(name).value;
  /** A number in [min, max] (an integer unless `real`), checked with zod wherever it came from. */
  const num = (name: string, min: number, max = Infinity, real = false) => {
    const s = SETTINGS.find((x) => x.env === name)!;
    const { value, from } = get(s);
    const checks = [z.minimum(min), ...(max === Infinity ? [] : [z.maximum(max)])];
    const r = z.safeParse((real ? z.number() : z.int()).check(...checks), Number(value ?? s.dflt));
    if (!r.success) {
      const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new UsageError(`${from} must be ${real ? 'a number' : 'an integer'} ${range}, got "${value}"`);
    }
    return r.data;
  };

  const crash = args['crash-at'] as string | undefined;
  if (crash !== undefined && !(CHECKPOINTS as readonly string[]).includes(crash))
    throw new UsageError(`--crash-at must be one of ${CHECKPOINTS.join(', ')}, got "${crash}"`);
  const pools = str('LIFEBOAT_RUNNER_POOLS');
  return {
    kind: 'run',
    settings: {
      server: str('LIFEBOAT_SERVER')?.replace(/\/+$/, ''),
      joinToken: str('LIFEBOAT_JOIN_TOKEN'),
      name: str('LIFEBOAT_NODE_NAME') ?? hostname(),
      stateDir: str('LIFEBOAT_RUNNER_STATE_DIR') ?? '/var/db/lifeboat-runner',
      concurrency: num('LIFEBOAT_RUNNER_CONCURRENCY', 1),
      pools: pools
        ?.split(',')
        .map((p) => p.trim())
        .filter(Boolean),
      guests: {
        manifest: str('LIFEBOAT_RUNNER_MANIFEST') ?? null,
        jailConf: str('LIFEBOAT_RUNNER_JAIL_CONF') ?? null,
        jailConfDir: str('LIFEBOAT_RUNNER_JAIL_CONF_DIR') ?? null,
        vmDir: str('LIFEBOAT_RUNNER_VM_DIR') ?? null,
      },
      inventoryMs: num('LIFEBOAT_RUNNER_INVENTORY_MS', 1),
      sshWarm: num('LIFEBOAT_RUNNER_SSH_WARM', 0),
      sshWarmIdleS: num('LIFEBOAT_RUNNER_SSH_WARM_IDLE_S', 0, Infinity, true),
      streams: num('LIFEBOAT_RUNNER_STREAMS', 1, 16),
      crashAt: (crash as Checkpoint | undefined) ?? null,
      configFile: fileRead,
    },
  };
}

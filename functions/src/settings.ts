// The Node server's command line and config file (server.conf): the file's KEY=value lines become
// environment variables under the real environment, and everything then reads the merged
// environment as before, so a value from the file is checked exactly as one from the environment.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigFileError, configFileChoice, defaultConfigPath, parseConfigFile, withConfigFile } from '../../protocol/src/config-file.ts';
import { LIFEBOAT_VERSION } from '../../protocol/src/version.ts';
import { ConfigError } from './config.ts';
import { LOCAL_RUNNER_SETTINGS, SERVER_SETTINGS, settingsHelp } from '../../scripts/settings.mjs';

/** The keys server.conf takes: the table `--help` prints (scripts/settings.mjs). */
export const SERVER_CONFIG_KEYS: ReadonlySet<string> = new Set([...SERVER_SETTINGS, ...LOCAL_RUNNER_SETTINGS].map(([k]) => k));

export function serverUsage(platform: string, command = 'lifeboat-server'): string {
  return [
    `usage: ${command} [--config FILE]`,
    '',
    'The Lifeboat control plane: the API, the web UI and, unless LIFEBOAT_LOCAL_RUNNER=0, a runner for',
    'this machine, on an embedded libSQL database (migrated on start). The program is',
    'functions/dist/lifeboat-server.mjs (npm run build:js); packaging/ runs it as a service.',
    '',
    'Options:',
    `  --config FILE   the config file [LIFEBOAT_CONFIG; default ${defaultConfigPath('server', platform)}]`,
    '  -h, --help      print this help and exit',
    '  --version       print the version and exit',
    '',
    settingsHelp(platform),
  ].join('\n');
}

export type ServerArgs =
  { kind: 'help' } | { kind: 'version'; version: string } | { kind: 'run'; env: NodeJS.ProcessEnv; configFile: string | null };

/** A file's text, or null when there is none (the default config file is optional). */
export function readIfPresent(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
}

export function parseServerArgs(
  argv: string[],
  env: NodeJS.ProcessEnv,
  platform: string,
  read: (path: string) => string | null = readIfPresent,
): ServerArgs {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message.split('. ')[0]);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version', version: LIFEBOAT_VERSION };
  const choice = configFileChoice(values.config, env, defaultConfigPath('server', platform));
  const text = choice ? read(choice.path) : null;
  if (choice?.required && text === null) throw new ConfigError(`config file ${choice.path} does not exist`);
  let file: Record<string, string> = {};
  try {
    if (text !== null) file = parseConfigFile(text, choice!.path, SERVER_CONFIG_KEYS);
  } catch (err) {
    throw err instanceof ConfigFileError ? new ConfigError(err.message) : err;
  }
  return { kind: 'run', env: withConfigFile(env, file), configFile: text === null ? null : choice!.path };
}

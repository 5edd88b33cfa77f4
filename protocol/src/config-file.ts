// The config file of the server and the runner: `KEY=value` lines with the environment's
// LIFEBOAT_* names, so one table documents both. Pure (text in, pairs out): each side reads the file
// and passes the values through the same code that reads its environment, so a value is checked
// exactly as the environment's is. The environment overrides the file.

export class ConfigFileError extends Error {}

/** Where each side looks for its file when neither `--config` nor LIFEBOAT_CONFIG names one. */
export function defaultConfigPath(kind: 'server' | 'runner', platform: string): string {
  return `${platform === 'freebsd' ? '/usr/local/etc' : '/etc'}/lifeboat/${kind}.conf`;
}

/**
 * `KEY=value` per line; blank lines and lines starting with `#` are ignored; space around the key
 * and the value is dropped and one pair of matching quotes around the value is removed (as
 * systemd's EnvironmentFile and rc.conf write them). A key not in `known`, a repeated key or a line
 * that is not `KEY=value` is an error naming the file and the line.
 */
export function parseConfigFile(text: string, file: string, known: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `${file}:${i + 1}`;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new ConfigFileError(`${at}: expected KEY=value, got "${line.slice(0, 80)}"`);
    const [, key, rawValue] = m;
    if (!known.has(key)) throw new ConfigFileError(`${at}: unknown key ${key} (see --help for the keys this file takes)`);
    if (key in out) throw new ConfigFileError(`${at}: ${key} is set twice`);
    const q = /^(["'])(.*)\1$/.exec(rawValue);
    out[key] = q ? q[2] : rawValue;
  });
  return out;
}

/** The file's values under the environment's: a variable set (not empty) in the environment wins. */
export function withConfigFile(env: Record<string, string | undefined>, file: Record<string, string>) {
  const merged: Record<string, string | undefined> = { ...file };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && (v !== '' || !(k in file))) merged[k] = v;
  return merged;
}

/**
 * The file to read: `--config`, else LIFEBOAT_CONFIG, else the platform default. An empty value
 * means no file (the server's local runner is started so: it takes its settings from the server's).
 * A named file must exist; the default is read only when present.
 */
export function configFileChoice(
  option: string | undefined,
  env: Record<string, string | undefined>,
  dflt: string,
): { path: string; required: boolean } | null {
  const named = option ?? env.LIFEBOAT_CONFIG;
  if (named === '') return null;
  return named === undefined ? { path: dflt, required: false } : { path: named, required: true };
}

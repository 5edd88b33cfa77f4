// The runner's identity on disk: server URL, node id and node token, in a 0600 file.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunnerState {
  server: string;
  nodeId: number;
  nodeToken: string;
  name: string;
}

export function statePath(stateDir: string) {
  return join(stateDir, 'node.json');
}

export function loadState(stateDir: string): RunnerState | null {
  const p = statePath(stateDir);
  if (!existsSync(p)) return null;
  return JSON.parse(readFileSync(p, 'utf8')) as RunnerState;
}

export function saveState(stateDir: string, state: RunnerState) {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const p = statePath(stateDir);
  writeFileSync(p + '.tmp', JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  chmodSync(p + '.tmp', 0o600);
  renameSync(p + '.tmp', p);
}

/**
 * The runner's own 0700 directory for per-run SSH material (ssh/session.ts): emptied now, so keys
 * a crashed predecessor left behind do not outlive its restart. Returns the directory and how many
 * leftovers were removed.
 */
export function resetSshDir(stateDir: string): { dir: string; removed: number } {
  const dir = join(stateDir, 'ssh');
  const removed = existsSync(dir) ? readdirSync(dir).length : 0;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return { dir, removed };
}

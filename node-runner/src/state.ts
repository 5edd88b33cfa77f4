// The runner's identity on disk: server URL, node id and node token, in a 0600 file.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunnerState { server: string; nodeId: number; nodeToken: string; name: string }

export function statePath(stateDir: string) { return join(stateDir, 'node.json'); }

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

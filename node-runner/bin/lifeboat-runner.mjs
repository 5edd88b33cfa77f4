#!/usr/bin/env node
// lifeboat-runner: the bundle (node-runner/dist, `npm run build:js`) when it is there and not older
// than the sources, as production runs it (no TypeScript loader); else the TypeScript sources
// through tsx's loader (a checkout being worked on, where tsx is installed as a dev dependency).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/lifeboat-runner.mjs', import.meta.url));
const src = fileURLToPath(new URL('../src', import.meta.url));
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce(
    (t, e) => Math.max(t, e.isDirectory() ? newest(`${dir}/${e.name}`) : statSync(`${dir}/${e.name}`).mtimeMs),
    0,
  );

if (existsSync(bundle) && (!existsSync(src) || statSync(bundle).mtimeMs >= newest(src))) {
  await import(bundle); // runs main() and sets the exit code
} else {
  const { register } = await import('tsx/esm/api');
  register();
  // a log line like the runner's own (a bad setting: the defaults here, main() then says what is wrong)
  const { createLogger, logSettings } = await import('../../protocol/src/log.ts');
  let settings = { level: 'info', format: 'text' };
  try {
    settings = logSettings(process.env);
  } catch {
    /* main() reports it */
  }
  createLogger({ source: 'runner', ...settings, write: (line) => process.stderr.write(`${line}\n`) }).warn(
    'running the TypeScript sources through tsx (node-runner/dist is missing or older than node-runner/src: npm run build:js)',
  );
  const { main } = await import('../src/cli.ts');
  process.exitCode = await main(process.argv.slice(2), process.env);
}

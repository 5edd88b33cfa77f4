#!/usr/bin/env node
// npm run build:runner: lifeboat-runner as one ES module for machines without the checkout
// (the OpenZFS test VM runs it with a plain `node`): node-runner/dist/lifeboat-runner.mjs.
// The runner has no npm dependencies; only node: built-ins stay external.
import { build } from 'esbuild';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const runnerDir = join(root, 'node-runner');
const out = join(runnerDir, 'dist/lifeboat-runner.mjs');
// Written next to the target and renamed: a reader (a test copying the bundle) never sees half a file.
const tmp = `${out}.${process.pid}.tmp`;
mkdirSync(join(runnerDir, 'dist'), { recursive: true });

const t0 = Date.now();
try {
  await build({
    stdin: {
      // same entry as node-runner/bin/lifeboat-runner.mjs, without the tsx loader
      contents: "import { main } from './src/cli.ts';\nprocess.exitCode = await main(process.argv.slice(2), process.env);\n",
      resolveDir: runnerDir,
      sourcefile: 'lifeboat-runner-entry.mjs',
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: tmp,
    banner: { js: '#!/usr/bin/env node\n// lifeboat-runner, bundled from node-runner/src by scripts/build-runner.mjs' },
    legalComments: 'none',
    logLevel: 'warning',
  });
  renameSync(tmp, out);
} catch (err) {
  rmSync(tmp, { force: true });
  console.error(`build-runner: FAILED: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
console.error(`build-runner: ${out} (${Date.now() - t0} ms)`);

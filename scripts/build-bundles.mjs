#!/usr/bin/env node
// npm run build:js: the server and the runner as plain ES modules, so production needs no
// TypeScript loader (tsx and esbuild are dev dependencies; `npm audit --omit=dev` covers all that
// runs):
//   functions/dist/lifeboat-server.mjs   the Node entry; npm packages stay external (installed deps)
//   node-runner/dist/lifeboat-runner.mjs the runner, self-contained: node: built-ins and zod/mini bundled in
// The Workers bundle (buildWorkerBundle, functions/src/worker.ts with its npm packages inside) is
// built by scripts/deploy-workers.mjs and by tests/functions/worker.test.ts, not by build:js.
// `--if-stale`: build only a bundle older than its sources (npm start does this).
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const BUNDLES = [
  {
    out: join(root, 'node-runner/dist/lifeboat-runner.mjs'),
    sources: [join(root, 'node-runner/src')],
    entry: {
      dir: join(root, 'node-runner'),
      code: "import { main } from './src/cli.ts';\nprocess.exitCode = await main(process.argv.slice(2), process.env);\n",
    },
    banner: '#!/usr/bin/env node\n// lifeboat-runner, bundled from node-runner/src by scripts/build-bundles.mjs',
    packages: undefined,
  },
  {
    out: join(root, 'functions/dist/lifeboat-server.mjs'),
    sources: [join(root, 'functions/src')],
    entry: { dir: join(root, 'functions'), code: "import './src/node.ts'; // it starts itself when it is the program (process.argv[1])\n" },
    banner: '#!/usr/bin/env node\n// lifeboat-server, bundled from functions/src by scripts/build-bundles.mjs',
    packages: 'external',
  },
];

/** Newest modification time of the files under `dirs`. */
function newest(dirs) {
  let t = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else t = Math.max(t, statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) walk(d);
  return t;
}

export function isStale(b) {
  return !existsSync(b.out) || statSync(b.out).mtimeMs < newest(b.sources);
}

export async function buildBundles({ ifStale = false } = {}) {
  for (const b of BUNDLES) {
    if (ifStale && !isStale(b)) continue;
    const t0 = Date.now();
    // written next to the target and renamed: a reader (a test copying the bundle) never sees half a file
    const tmp = `${b.out}.${process.pid}.tmp`;
    mkdirSync(dirname(b.out), { recursive: true });
    try {
      await build({
        stdin: { contents: b.entry.code, resolveDir: b.entry.dir, sourcefile: 'entry.mjs', loader: 'js' },
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile: tmp,
        ...(b.packages ? { packages: b.packages } : {}),
        banner: { js: b.banner },
        legalComments: 'none',
        logLevel: 'warning',
      });
      renameSync(tmp, b.out);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new Error(`build-bundles: ${b.out}: ${err instanceof Error ? err.message : err}`, { cause: err });
    }
    console.error(`build-bundles: ${b.out} (${Date.now() - t0} ms)`);
  }
}

/**
 * functions/src/worker.ts as one ES module for workerd, npm packages included: what wrangler.toml's
 * `main` deploys as is (no_bundle) and what tests/functions/worker.test.ts runs under miniflare.
 * Only web APIs: no compatibility flags (nodejs_compat) needed.
 */
export async function buildWorkerBundle(outfile) {
  await build({
    entryPoints: [join(root, 'functions/src/worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    outfile,
    banner: { js: '// lifeboat Worker, bundled from functions/src/worker.ts by scripts/build-bundles.mjs' },
    legalComments: 'none',
    logLevel: 'silent',
  });
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  buildBundles({ ifStale: process.argv.includes('--if-stale') }).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}

// Production runs compiled JavaScript: the server and runner bundles (npm run build:js, which
// npm test runs first) start with a plain node, no TypeScript loader, and work together.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.ts';
import { TEST_KEY } from '../helpers/control.ts';
import { createPool, zfs, type TestPool } from '../helpers/zfs.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BUNDLES = ['functions/dist/lifeboat-server.mjs', 'node-runner/dist/lifeboat-runner.mjs'];
let srv: TestServer | null = null;
let pool: TestPool | null = null;
afterAll(async () => {
  await srv?.stop();
  await pool?.destroy();
}, 60_000);

describe('the server and runner bundles', () => {
  it('import no TypeScript and no loader', () => {
    for (const b of BUNDLES) {
      const text = readFileSync(join(ROOT, b), 'utf8');
      expect(text, b).not.toMatch(/from\s+["'][^"']+\.ts["']|import\(\s*["'][^"']+\.ts["']\s*\)/);
      expect(text, b).not.toMatch(/["']tsx(\/[^"']*)?["']/);
    }
  });

  it('a plain node runs the server bundle; its local runner (the runner bundle) joins and reports', async () => {
    srv = await startServer({}, { bundle: true });
    expect((await srv.api('GET', '/health')).status).toBe(200);
    const node = await srv.waitFor('the local runner to join and report', async () =>
      (await srv!.api('GET', '/nodes')).body.items.find((n) => n.inventoryAt),
    );
    expect(node.name).toBe('local');
    expect(srv.output()).toMatch(/local runner started/);
    expect(srv.output()).not.toMatch(/through tsx/); // the runner ran its bundle, not the sources
  }, 120_000);

  it('a dataset made a moment ago is a job source at once: the server asks the runner for its inventory (it reports every 30 s otherwise)', async () => {
    pool = await createPool('lbfr', { mounted: true });
    const node = (await srv!.api('GET', '/nodes')).body.items[0];
    const t = await srv!.api('POST', '/targets', {
      name: 'fresh-t',
      sshHost: 'backup.example.org',
      sshPrivateKey: TEST_KEY,
      backupRoot: 'backup/lb',
    });
    expect(t.status).toBe(201);
    await zfs('create', `${pool.name}/made-just-now`);
    const r = await srv!.api('POST', '/jobs', {
      name: 'fresh',
      targetId: t.body.id,
      nodeId: node.id,
      mode: 'dataset',
      source: `${pool.name}/made-just-now`,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }, 120_000);
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, type TestControl } from '../helpers/control.ts';
import { scopeFor } from '../../functions/src/lib/auth.ts';
import type { ApiErrorBody } from '../helpers/api.ts';

/** The parts of the OpenAPI document these tests read. */
interface OpenApiOperation {
  operationId: string;
  summary: string;
  security: unknown;
  'x-lifeboat-access': string;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    securitySchemes: Record<string, unknown>;
    schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }>;
  };
}

let ctl: TestControl;
beforeEach(async () => {
  ctl = await startControl({ joinTokenTtlMs: 60_000 });
});
afterEach(() => ctl.close());

describe('auth', () => {
  it('admin routes need the admin token; health and the OpenAPI document are public', async () => {
    for (const [m, p] of [
      ['GET', '/targets'],
      ['GET', '/jobs'],
      ['GET', '/events'],
      ['GET', '/nodes'],
      ['POST', '/nodes/join-tokens'],
      ['GET', '/metrics'],
    ]) {
      const none = await ctl.app.request(`/api/v1${p}`, { method: m });
      expect(none.status, `${m} ${p}`).toBe(401);
      expect((await none.json()).error.code).toBe('unauthorized');
      const wrong = await ctl.app.request(`/api/v1${p}`, { method: m, headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
    }
    expect((await ctl.app.request('/api/v1/health')).status).toBe(200);
    expect((await ctl.app.request('/api/v1/openapi.json')).status).toBe(200);
  });

  it('join tokens are single-use and expire; node tokens are stored hashed', async () => {
    const jt = (await ctl.api('POST', '/nodes/join-tokens')).body;
    expect(jt.command).toContain(jt.token);
    const a = await ctl.node('', '/runner/join', { joinToken: jt.token, name: 'a' });
    expect(a.status).toBe(201);
    const again = await ctl.node<ApiErrorBody>('', '/runner/join', { joinToken: jt.token, name: 'b' });
    expect(again.status).toBe(401);
    expect(again.body.error.fields.joinToken).toBeTruthy();
    const [row] = await ctl.db.all<{ token_hash: string }>(sql`SELECT token_hash FROM nodes`);
    expect(row.token_hash).not.toBe(a.body.nodeToken);
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    ctl.clock.now = Date.now();
    const jt2 = (await ctl.api('POST', '/nodes/join-tokens')).body;
    ctl.clock.now += 61_000;
    expect((await ctl.node('', '/runner/join', { joinToken: jt2.token, name: 'late' })).status).toBe(401);
    const dup = (await ctl.api('POST', '/nodes/join-tokens')).body;
    const taken = await ctl.node<ApiErrorBody>('', '/runner/join', { joinToken: dup.token, name: 'a' });
    expect(taken.status).toBe(409);
    expect(taken.body.error.fields.name).toBeTruthy();
    expect((await ctl.api('GET', '/nodes')).body.items.map((n) => n.name)).toEqual(['a']);
  });

  it('inventory replaces the node datasets and guests and shows in GET /nodes/:id', async () => {
    const n = await joinNode(ctl, 'n1', ['tank', 'tank/a']);
    await ctl.node(n.token, '/runner/inventory', {
      zfsVersion: 'zfs-fuse 0.7',
      pools: ['tank'],
      datasets: [{ name: 'tank' }, { name: 'tank/b', usedBytes: 5 }],
      guests: [{ kind: 'vm', id: 'v', name: 'v', roots: ['tank/v'], running: true, provider: 'manifest' }],
    });
    const got = (await ctl.api('GET', `/nodes/${n.id}`)).body;
    expect(got.datasets.map((d) => d.name)).toEqual(['tank', 'tank/b']);
    expect(got.guests).toEqual([expect.objectContaining({ kind: 'vm', id: 'v', running: true })]);
    expect(got.zfsVersion).toBe('zfs-fuse 0.7');
    const bad = await ctl.node<ApiErrorBody>(n.token, '/runner/inventory', { zfsVersion: null, datasets: [{ name: 'tank//x' }] });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields)[0]).toMatch(/^datasets\.0\.name$/);
    expect((await ctl.api('GET', `/nodes/${n.id}`)).body.datasets).toHaveLength(2);
  });
});

describe('OpenAPI', () => {
  it('names every operation, summarises it and says which credentials it takes, as the server checks them', async () => {
    const doc = (await (await ctl.app.request('/api/v1/openapi.json')).json()) as OpenApiDoc;
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const what = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, what).toMatch(/^[a-z][A-Za-z]+$/);
        expect(ids.has(op.operationId), `${what}: operationId ${op.operationId} twice`).toBe(false);
        ids.add(op.operationId);
        expect(op.summary, what).toBeTruthy();
        const access = op['x-lifeboat-access'];
        const concrete = path.replace(/\{\w+\}/g, '1');
        if (['read', 'operate', 'admin'].includes(access)) {
          expect(scopeFor(method.toUpperCase(), concrete), `${what}: documented ${access}`).toBe(access);
          expect(op.security, what).toEqual([{ bearer: [] }, { session: [] }]);
        } else if (access === 'node') {
          expect(path.startsWith('/runner/') && path !== '/runner/join', what).toBe(true);
          // without a node token: refused
          expect(
            (
              await ctl.app.request(`/api/v1${concrete}`, {
                method: method.toUpperCase(),
                headers: { 'content-type': 'application/json' },
                body: '{}',
              })
            ).status,
            what,
          ).toBe(401);
        } else if (access === 'webhook') {
          expect(path.startsWith('/hooks/'), what).toBe(true);
        } else {
          expect(['public', 'join'], what).toContain(access);
          expect(op.security, what).toEqual([]);
        }
      }
    }
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'nodeToken', 'session', 'webhookToken']);
  });

  it('documents every route the app serves', async () => {
    const doc = (await (await ctl.app.request('/api/v1/openapi.json')).json()) as OpenApiDoc;
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths))
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} /api/v1${path.replace(/\{(\w+)\}/g, ':$1')}`);
    const served = new Set<string>();
    for (const r of ctl.app.routes) {
      if (r.method === 'ALL' || r.path.endsWith('/*') || r.path === '/*') continue;
      served.add(`${r.method} ${r.path}`);
    }
    const undocumented = [...served].filter((r) => !documented.has(r) && !r.endsWith('/openapi.json'));
    expect(undocumented).toEqual([]);
    for (const name of [
      'GET /api/v1/health',
      'GET /api/v1/nodes',
      'POST /api/v1/nodes/join-tokens',
      'GET /api/v1/targets',
      'POST /api/v1/targets',
      'GET /api/v1/targets/:id',
      'PATCH /api/v1/targets/:id',
      'DELETE /api/v1/targets/:id',
      'POST /api/v1/targets/:id/validate',
      'GET /api/v1/targets/:id/datasets',
      'POST /api/v1/targets/:id/refresh',
      'GET /api/v1/jobs',
      'POST /api/v1/jobs',
      'GET /api/v1/jobs/:id',
      'PATCH /api/v1/jobs/:id',
      'DELETE /api/v1/jobs/:id',
      'POST /api/v1/jobs/:id/run',
      'POST /api/v1/jobs/:id/webhook-token',
      'POST /api/v1/hooks/jobs/:id/run',
      'GET /api/v1/jobs/:id/generations',
      'POST /api/v1/jobs/:id/restore',
      'POST /api/v1/restores',
      'GET /api/v1/events',
      'GET /api/v1/events/:id',
      'GET /api/v1/events/:id/log',
      'POST /api/v1/events/:id/cancel',
      'POST /api/v1/runner/join',
      'POST /api/v1/runner/claim',
      'POST /api/v1/runner/events/:id/progress',
      'POST /api/v1/runner/events/:id/finish',
      'POST /api/v1/runner/inventory',
      'POST /api/v1/runner/catalog',
      'GET /api/v1/metrics',
    ]) {
      expect(documented.has(name), name).toBe(true);
    }
    // Job options are part of the documented schemas (create, patch and the job itself).
    for (const schema of ['JobCreate', 'JobPatch', 'Job']) {
      expect(doc.components.schemas[schema].properties.sendDecrypted, schema).toMatchObject({
        type: 'boolean',
        description: expect.stringMatching(/raw/),
      });
    }
    expect(doc.components.schemas.Job.required).toContain('sendDecrypted');
    expect(doc.components.schemas.JobCreate.required ?? []).not.toContain('sendDecrypted');
  });

  it('serves Prometheus metrics to the admin', async () => {
    const r = await ctl.app.request('/api/v1/metrics', { headers: { authorization: 'Bearer lba_test_admin_token' } });
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/^# HELP lifeboat_events/m);
  });
});

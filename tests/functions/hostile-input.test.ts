// Property-based hostile input (fast-check): for every write route, ≥ 500 generated malformed payloads.
// Every answer is a 4xx naming a field (the one that was broken), never a 500, and the database is
// byte-for-byte unchanged afterwards (a dump of every table before and after each route's run).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { joinNode, makeJob, makeTarget, startControl, TEST_KEY, type TestControl } from '../helpers/control.ts';
import type { ApiErrorBody } from '../helpers/api.ts';

const RUNS = 500;
let ctl: TestControl;
let node: { id: number; token: string };
let targetId: number;
let jobId: number;
let runningEventId: number;
const SNAP = 'lb_j1_20260101T000000Z';
const CAT_DS = 'backup/lifeboat/j1/g1/tank/data';

// ---- bad values -------------------------------------------------------------------------------
const META = [
  '$(touch /tmp/lb-canary)',
  '`touch /tmp/lb-canary`',
  ';touch /tmp/lb-canary',
  '|sh',
  '&& reboot',
  '||true',
  '>x',
  '<x',
  '\n',
  "'",
  '"',
  '\\',
  '${IFS}',
  '*',
  '?',
  '~root',
  '!',
  '{a,b}',
  ' ',
];
const meta = fc.constantFrom(...META);
const hostile = fc.tuple(fc.string({ maxLength: 8 }), meta, fc.string({ maxLength: 8 })).map(([a, m, b]) => a + m + b);
// Hosts are trimmed: a metacharacter that is only whitespace could vanish, so those use the others.
const hostileNoWs = fc
  .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...META.filter((m) => m.trim() !== '')), fc.string({ maxLength: 8 }))
  .map(([a, m, b]) => a + m + b);
// Doubles without NaN/±Infinity: JSON turns those into null, which nullable fields accept.
const notString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);
const notBool = fc.oneof(
  fc.integer(),
  fc.string(),
  fc.constant(null),
  fc.array(fc.boolean(), { maxLength: 2 }),
  fc.constant('true'),
  fc.constant(0),
);
const notNumber = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
const nonInteger = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d));
const intOutside = (min: number, max: number) =>
  fc.oneof(notNumber, nonInteger, fc.integer({ max: min - 1 }), max < 2 ** 31 - 1 ? fc.integer({ min: max + 1 }) : fc.constant(2 ** 60));
/** Path/body ids are coerced (z.coerce.number): anything whose Number() is not a positive integer. */
const badId = fc.oneof(
  fc.integer({ max: 0 }),
  nonInteger,
  fc.constant(null),
  fc.constant(false),
  fc.constant([]),
  fc.object({ maxDepth: 1 }),
  fc.string().filter((s) => !(Number.isInteger(Number(s)) && Number(s) > 0)),
);
const tooLong = (n: number) => fc.string({ minLength: n + 1, maxLength: n + 40 }).filter((s) => s.trim().length > n);
// ZFS allows spaces in names ('tank/a b', even 'A '): a hostile string that happens to be a legal name
// (by ZFS's own character rules, zfs_namecheck) is not bad input, so those are left out.
const legalZfsName = (n: string) =>
  /^[A-Za-z][A-Za-z0-9_.: -]*(\/[A-Za-z0-9_.: -]+)*$/.test(n) && !n.split('/').some((c) => c === '.' || c === '..');
const badDataset = fc.oneof(
  notString,
  hostile.map((h) => `tank/${h}`).filter((n) => !legalZfsName(n)),
  hostile.filter((n) => !legalZfsName(n)),
  fc.constantFrom('', '/tank', 'tank/', 'tank//x', 'tank/x@snap', 'tank/x#b', 'tank/../etc', '1tank', 'mirror/x', '-tank/x'),
  tooLong(255).map((s) => 'tank/' + s.replace(/\W/g, 'a')),
);
const badHost = fc.oneof(
  notString,
  hostileNoWs,
  fc.constantFrom(
    '',
    '-oProxyCommand=touch /tmp/lb-canary',
    'root@host',
    '[::1]',
    'host:22',
    'a b',
    'exa mple.org',
    '::1]',
    'under_score.example',
    '-host',
    '.host',
  ),
);
const badUser = fc.oneof(notString, hostile, fc.constantFrom('', '-oProxyCommand=x', '1root', 'a'.repeat(40), 'root;id', 'ro ot'));
const badName = fc.oneof(notString, fc.constantFrom('', '   ', 'a\x00b', 'a\x1bb', 'x\ny', 'x\u007fy'), tooLong(100));
// For cron, space, newline, * and ? are syntax: only the characters no cron field accepts.
const cronHostile = fc
  .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...META.filter((m) => !/^[\s*?]+$/.test(m))), fc.string({ maxLength: 8 }))
  .map(([a, m, b]) => a + m + b);
const badSchedule = fc.oneof(
  notString,
  cronHostile.map((h) => `* * * * ${h}`),
  cronHostile,
  fc.constantFrom('0 0 31 2 *', '* * * *', '61 * * * *', '* * * * * *', 'every day'),
);
const badZone = fc.oneof(
  notString,
  hostile.map((h) => `Europe/${h}`),
  fc.constantFrom('', 'Mars/Olympus', 'UTC+25'),
);
const badMode = fc.oneof(
  notString,
  fc.string().filter((s) => !['dataset', 'jail', 'vm'].includes(s)),
);
const badKey = fc.oneof(
  notString,
  fc.constantFrom('not a key', 'ssh-ed25519 AAAA', '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----'),
  hostile,
);
const badSnapshot = fc.oneof(notString, fc.constant(''), tooLong(255));
const badGeneration = intOutside(1, Number.MAX_SAFE_INTEGER);
const badLog = fc.oneof(
  notString.filter((v) => !Array.isArray(v)),
  fc.array(
    fc.oneof(
      notString,
      fc.record({ message: notString }),
      fc.record({ message: fc.string(), level: fc.string().filter((s) => !['debug', 'info', 'warn', 'error'].includes(s)) }),
    ),
    { minLength: 1, maxLength: 3 },
  ),
);
const badRecord = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.array(fc.integer(), { minLength: 1, maxLength: 2 }));

interface RouteSpec {
  method: string;
  path: () => string;
  /** A body this route accepts (what the mutations start from). */
  base: () => Record<string, unknown>;
  /** Bad values per field. */
  bad: Record<string, fc.Arbitrary<unknown>>;
  /** Fields that may be removed to make the body invalid (required ones). */
  required?: string[];
  auth: () => Record<string, string>;
}

const admin = () => ({ authorization: 'Bearer lba_test_admin_token' });
const asNode = () => ({ authorization: `Bearer ${node.token}` });

const targetBase = () => ({
  name: 'other',
  sshHost: 'b.example.org',
  sshUser: 'zfs',
  sshPort: 2222,
  sshPrivateKey: TEST_KEY,
  backupRoot: 'backup/x',
  description: 'd',
  createBackupRoot: true,
  enabled: true,
});
/** Not `SHA256:` and 43 base64 characters, as ssh-keygen -l prints a host key (null is valid: it clears the expected key). */
const badFingerprint = fc.oneof(
  notString.filter((v) => v !== null),
  fc.constant(''),
  fc.constant('MD5:aa:bb:cc'),
  hostile.filter((h) => !/^SHA256:[A-Za-z0-9+/]{43}$/.test(h)),
);
const targetBad = {
  name: badName,
  sshHost: badHost,
  sshUser: badUser,
  sshPort: intOutside(1, 65535),
  sshPrivateKey: badKey,
  backupRoot: badDataset,
  description: fc.oneof(notString, tooLong(1000)),
  createBackupRoot: notBool,
  enabled: notBool,
  generateKeyPair: fc.oneof(notBool, fc.constant(false)),
  expectedHostKeyFingerprint: badFingerprint,
};
const jobBase = () => ({
  name: 'other-job',
  targetId,
  nodeId: node.id,
  mode: 'dataset',
  source: 'tank/data',
  schedule: '0 * * * *',
  timezone: 'Europe/Berlin',
  keepLast: 3,
  enabled: true,
  pruneTarget: false,
  stopBeforeBackup: false,
  recursive: true,
});
const jobBad = {
  name: badName,
  targetId: badId,
  nodeId: badId,
  mode: badMode,
  // A name legal by ZFS's own rules is not bad input: the server asks the node for a fresh
  // inventory (a write) before it answers that the node does not have it.
  source: fc.oneof(
    notString,
    fc.constant(''),
    hostile.map((h) => `tank/${h}`).filter((n) => !legalZfsName(n)),
    tooLong(255),
  ),
  schedule: badSchedule,
  timezone: badZone,
  keepLast: intOutside(0, 100_000),
  enabled: notBool,
  pruneTarget: notBool,
  stopBeforeBackup: fc.oneof(notBool, fc.constant(true)),
  recursive: notBool,
};

const ROUTES: Record<string, RouteSpec> = {
  'POST /targets': {
    method: 'POST',
    path: () => '/targets',
    base: targetBase,
    bad: targetBad,
    required: ['name', 'sshHost', 'sshPrivateKey', 'backupRoot'],
    auth: admin,
  },
  'PATCH /targets/:id': {
    method: 'PATCH',
    path: () => `/targets/${targetId}`,
    base: () => ({ ...targetBase(), sshPrivateKey: '' }),
    bad: { ...targetBad, sshPrivateKey: badKey.filter((k) => k !== '') },
    auth: admin,
  },
  'POST /targets/:id/validate': {
    method: 'POST',
    path: () => `/targets/${targetId}/validate`,
    base: () => ({ nodeId: node.id }),
    bad: { nodeId: badId },
    auth: admin,
  },
  'POST /targets/:id/refresh': {
    method: 'POST',
    path: () => `/targets/${targetId}/refresh`,
    base: () => ({ nodeId: node.id }),
    bad: { nodeId: badId },
    auth: admin,
  },
  'POST /targets/:id/host-key/reset': {
    method: 'POST',
    path: () => `/targets/${targetId}/host-key/reset`,
    base: () => ({ nodeId: node.id }),
    bad: { nodeId: badId },
    auth: admin,
  },
  'POST /targets/:id/host-key/confirm': {
    method: 'POST',
    path: () => `/targets/${targetId}/host-key/confirm`,
    base: () => ({ fingerprint: 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' }),
    bad: { fingerprint: badFingerprint },
    required: ['fingerprint'],
    auth: admin,
  },
  'POST /jobs': {
    method: 'POST',
    path: () => '/jobs',
    base: jobBase,
    bad: jobBad,
    required: ['name', 'targetId', 'mode', 'source'],
    auth: admin,
  },
  'PATCH /jobs/:id': {
    method: 'PATCH',
    path: () => `/jobs/${jobId}`,
    base: () => {
      const { name: _n, ...b } = jobBase();
      return b;
    },
    bad: { ...jobBad, name: badName },
    auth: admin,
  },
  'POST /jobs/:id/restore': {
    method: 'POST',
    path: () => `/jobs/${jobId}/restore`,
    base: () => ({ generation: 1, snapshot: SNAP }),
    bad: {
      generation: badGeneration,
      snapshot: fc.oneof(
        badSnapshot,
        fc.string({ minLength: 1, maxLength: 50 }).filter((s) => s !== SNAP),
      ),
    },
    required: ['generation', 'snapshot'],
    auth: admin,
  },
  'POST /restores': {
    method: 'POST',
    path: () => '/restores',
    auth: admin,
    base: () => ({
      targetId,
      nodeId: node.id,
      dataset: CAT_DS,
      generation: 1,
      snapshot: SNAP,
      destination: 'tank/restored',
      restoreNetwork: false,
      overwrite: false,
    }),
    bad: {
      targetId: badId,
      nodeId: badId,
      dataset: badDataset,
      generation: badGeneration,
      snapshot: badSnapshot,
      destination: badDataset,
      restoreNetwork: notBool,
      overwrite: notBool,
      newGuestId: fc.oneof(notString, tooLong(64)),
    },
    required: ['targetId', 'dataset', 'generation', 'snapshot', 'destination'],
  },
  'POST /auth/login': {
    method: 'POST',
    path: () => '/auth/login',
    base: () => ({ password: 'a password' }),
    bad: { password: fc.oneof(notString, fc.constant(''), tooLong(1024)) },
    required: ['password'],
    auth: () => ({}),
  },
  'POST /auth/password': {
    method: 'POST',
    path: () => '/auth/password',
    base: () => ({ password: 'a long enough password' }),
    bad: {
      password: fc.oneof(notString, fc.string({ maxLength: 11 }), tooLong(1024)),
      currentPassword: fc.oneof(notString, fc.constant('')),
    },
    required: ['password'],
    auth: admin,
  },
  'POST /auth/tokens': {
    method: 'POST',
    path: () => '/auth/tokens',
    base: () => ({ name: 'automation' }),
    bad: { name: badName },
    required: ['name'],
    auth: admin,
  },
  'POST /runner/join': {
    method: 'POST',
    path: () => '/runner/join',
    base: () => ({ joinToken: 'lbj_x', name: 'n2', hostname: 'h' }),
    bad: { joinToken: fc.oneof(notString, fc.constant(''), tooLong(200)), name: badName, hostname: fc.oneof(notString, tooLong(255)) },
    required: ['joinToken', 'name'],
    auth: () => ({}),
  },
  'POST /runner/claim': {
    method: 'POST',
    path: () => '/runner/claim',
    base: () => ({ max: 1, waitMs: 0 }),
    bad: { max: intOutside(0, 64), waitMs: intOutside(0, 30_000) },
    auth: asNode,
  },
  'POST /runner/events/status': {
    method: 'POST',
    path: () => '/runner/events/status',
    base: () => ({ ids: [runningEventId] }),
    bad: {
      ids: fc.oneof(
        notString,
        fc.constant([]),
        fc.array(
          badId.filter((v) => typeof v !== 'string'),
          { minLength: 1, maxLength: 3 },
        ),
        fc.array(fc.integer({ min: 1 }), { minLength: 101, maxLength: 110 }),
      ),
    },
    required: ['ids'],
    auth: asNode,
  },
  'POST /runner/events/:id/progress': {
    method: 'POST',
    path: () => `/runner/events/${runningEventId}/progress`,
    auth: asNode,
    base: () => ({
      phase: 'transferring',
      bytesDone: 1,
      bytesTotal: 2,
      rateBps: 1,
      etaSeconds: 1,
      destination: 'x',
      snapshot: 's',
      log: [],
    }),
    bad: {
      phase: fc.oneof(
        notString,
        fc
          .string()
          .filter(
            (s) =>
              ![
                'preparing',
                'stopping-guest',
                'snapshotting',
                'starting-guest',
                'transferring',
                'finalizing',
                'pruning',
                'swapping',
              ].includes(s),
          ),
      ),
      bytesDone: intOutside(0, Number.MAX_SAFE_INTEGER),
      bytesTotal: fc.oneof(fc.string(), fc.integer({ max: -1 }), nonInteger),
      rateBps: fc.oneof(fc.string(), fc.double({ max: -0.001, noNaN: true, noDefaultInfinity: true })),
      etaSeconds: fc.oneof(fc.string(), fc.integer({ max: -1 })),
      destination: fc.oneof(notString, tooLong(1000)),
      snapshot: fc.oneof(notString, tooLong(255)),
      log: badLog,
    },
  },
  'POST /runner/events/:id/finish': {
    method: 'POST',
    path: () => `/runner/events/${runningEventId}/finish`,
    auth: asNode,
    base: () => ({ status: 'failed', error: 'e', errorClass: 'zfs', result: {}, log: [] }),
    bad: {
      status: fc.oneof(
        notString,
        fc.string().filter((s) => !['success', 'failed', 'cancelled', 'interrupted'].includes(s)),
      ),
      error: fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), tooLong(20_000)),
      errorClass: fc.oneof(fc.integer(), fc.boolean(), tooLong(40)),
      result: badRecord,
      log: badLog,
    },
    required: ['status'],
  },
  'POST /runner/inventory': {
    method: 'POST',
    path: () => '/runner/inventory',
    auth: asNode,
    base: () => ({ zfsVersion: 'z', capabilities: {}, pools: ['tank'], datasets: [{ name: 'tank' }], guests: [] }),
    bad: {
      zfsVersion: fc.oneof(fc.integer(), fc.boolean(), tooLong(200)),
      capabilities: fc.oneof(
        badRecord,
        fc.dictionary(
          fc.string().filter((k) => k !== '__proto__'),
          notBool.filter((v) => typeof v !== 'boolean'),
          { minKeys: 1, maxKeys: 2 },
        ),
      ),
      pools: fc.oneof(
        notString.filter((v) => !Array.isArray(v)),
        fc.array(
          notString.filter((v) => typeof v !== 'string'),
          { minLength: 1, maxLength: 2 },
        ),
      ),
      datasets: fc.oneof(
        notString.filter((v) => !Array.isArray(v)),
        fc.array(fc.record({ name: badDataset }), { minLength: 1, maxLength: 3 }),
        // a role outside backup / staging / set-aside
        fc.array(
          fc.record({
            name: fc.constant('tank/x'),
            role: fc.oneof(
              fc.integer(),
              fc.boolean(),
              fc.string().filter((r) => !['backup', 'staging', 'set-aside'].includes(r)),
            ),
          }),
          { minLength: 1, maxLength: 2 },
        ),
      ),
      guests: fc.oneof(
        notString.filter((v) => !Array.isArray(v)),
        fc.array(
          fc.record({
            kind: badMode,
            id: fc.string(),
            name: fc.string(),
            roots: fc.array(badDataset, { minLength: 1, maxLength: 2 }),
            running: notBool,
            provider: fc.string(),
          }),
          { minLength: 1, maxLength: 2 },
        ),
      ),
    },
    required: ['zfsVersion'],
  },
  'POST /runner/catalog': {
    method: 'POST',
    path: () => '/runner/catalog',
    auth: asNode,
    base: () => ({ eventId: runningEventId, complete: false, datasets: [] }),
    bad: {
      eventId: intOutside(1, Number.MAX_SAFE_INTEGER),
      complete: notBool,
      datasets: fc.oneof(
        notString.filter((v) => !Array.isArray(v)),
        fc.array(
          fc.record({
            dataset: badDataset,
            jobId: fc.constant(null),
            generation: fc.constant(null),
            source: fc.constant(null),
            guest: fc.constant(null),
            snapshots: fc.constant([]),
          }),
          { minLength: 1, maxLength: 2 },
        ),
      ),
    },
    required: ['eventId', 'datasets'],
  },
};

type Payload = { kind: 'text'; text: string; broken: string[] } | { kind: 'json'; value: unknown; broken: string[] };

function payloads(spec: RouteSpec): fc.Arbitrary<Payload> {
  const fields = Object.keys(spec.bad);
  const known = new Set([...fields, ...Object.keys(spec.base())]);
  const mutate = fc
    .uniqueArray(fc.constantFrom(...fields), { minLength: 1, maxLength: Math.min(3, fields.length) })
    .chain((keys) => fc.tuple(fc.constant(keys), fc.tuple(...keys.map((k) => spec.bad[k]))))
    .map(([keys, values]): Payload => {
      const body: Record<string, unknown> = spec.base();
      keys.forEach((k, i) => {
        body[k] = values[i];
      });
      return { kind: 'json', value: body, broken: keys };
    });
  const unknownKey = fc
    .tuple(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.has(k)),
      fc.jsonValue(),
    )
    .map(([k, v]): Payload => ({ kind: 'json', value: { ...spec.base(), [k]: v }, broken: [k] }));
  const notObject = fc
    .oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }))
    .map((v): Payload => ({ kind: 'json', value: v, broken: ['body'] }));
  const malformed = fc
    .tuple(
      fc.constantFrom('{', '[', '{"a":', '{,}', "{'a':1}", '{"a":1,}', 'nul', '"unterminated', '{"a":1}}'),
      fc.string({ maxLength: 20 }),
    )
    .filter(([p, s]) => {
      try {
        JSON.parse(p + s);
        return false;
      } catch {
        return true;
      }
    })
    .map(([p, s]): Payload => ({ kind: 'text', text: p + s, broken: ['body'] }));
  // Keys that are properties of every object: they must be named as unknown fields like any other.
  const protoKey = fc
    .tuple(fc.constantFrom('__proto__', 'constructor', 'valueOf', 'toString', 'hasOwnProperty'), fc.jsonValue())
    .map(([k, v]): Payload => ({
      kind: 'text',
      text: `{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'},` + JSON.stringify(spec.base()).slice(1),
      broken: [k],
    }));
  const arbs: fc.Arbitrary<Payload>[] = [mutate, mutate, mutate, unknownKey, protoKey, notObject, malformed];
  if (spec.required?.length) {
    arbs.push(
      fc.uniqueArray(fc.constantFrom(...spec.required), { minLength: 1, maxLength: spec.required.length }).map((keys): Payload => {
        const body = spec.base();
        for (const k of keys) delete body[k];
        return { kind: 'json', value: body, broken: keys };
      }),
    );
  }
  return fc.oneof(...arbs);
}

async function dump(): Promise<string> {
  const tables = await ctl.db.all<{ name: string }>(sql`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`);
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) out[name] = await ctl.db.all(sql.raw(`SELECT * FROM "${name.replace(/"/g, '""')}" ORDER BY rowid`));
  return JSON.stringify(out);
}

async function send(spec: RouteSpec, p: Payload) {
  const res = await ctl.app.request(`/api/v1${spec.path()}`, {
    method: spec.method,
    headers: { 'content-type': 'application/json', ...spec.auth() },
    body: p.kind === 'text' ? p.text : JSON.stringify(p.value),
  });
  const text = await res.text();
  let body: Partial<ApiErrorBody> | null = null; // what an error answer holds; anything else reads as no fields
  try {
    body = JSON.parse(text);
  } catch {
    /* checked below */
  }
  return { status: res.status, body, text };
}

beforeAll(async () => {
  ctl = await startControl();
  node = await joinNode(ctl, 'n1', ['tank', 'tank/data']);
  targetId = (await makeTarget(ctl)).id;
  jobId = (await makeJob(ctl, targetId)).id;
  // A running event of the node (for progress/finish/catalog) and a catalogued snapshot (for restores).
  const v = await ctl.api('POST', `/targets/${targetId}/validate`, { nodeId: node.id });
  runningEventId = v.body.eventId;
  const claim = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  expect(claim.body.events[0].id).toBe(runningEventId);
  // the catalog seed comes from a backup of the job (a node may report only its own job's tree)
  expect(jobId).toBe(1);
  const backup = await ctl.api('POST', `/jobs/${jobId}/run`);
  expect((await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 })).body.events[0].id).toBe(backup.body.eventId);
  const cat = await ctl.node(node.token, '/runner/catalog', {
    eventId: backup.body.eventId,
    complete: false,
    datasets: [
      {
        dataset: CAT_DS,
        jobId,
        generation: 1,
        source: 'tank/data',
        guest: null,
        snapshots: [
          {
            name: SNAP,
            guid: '123456789',
            createtxg: '10',
            createdAt: '2026-01-01T00:00:00Z',
            usedBytes: 0,
            referencedBytes: 0,
            jobId,
            generation: 1,
          },
        ],
      },
    ],
  });
  expect(cat.status).toBe(200);
  ctl.clock.now = Date.now(); // frozen: the lease of the running event does not expire during the runs
});
afterAll(() => ctl?.close());

describe(`hostile input: ${RUNS} malformed payloads per write route`, () => {
  for (const [name, spec] of Object.entries(ROUTES)) {
    it(
      name,
      async () => {
        const before = await dump();
        const seen: Record<number, number> = {};
        await fc.assert(
          fc.asyncProperty(payloads(spec), async (p) => {
            const r = await send(spec, p);
            seen[r.status] = (seen[r.status] ?? 0) + 1;
            if (r.status < 400 || r.status >= 500) throw new Error(`${r.status} for ${JSON.stringify(p)}: ${r.text.slice(0, 300)}`);
            const fields = Object.keys(r.body?.error?.fields ?? {});
            if (!fields.length) throw new Error(`no field named for ${JSON.stringify(p)}: ${r.text.slice(0, 300)}`);
            const named = fields.some((f) => p.broken.some((b) => f === b || f.startsWith(`${b}.`)));
            if (!named)
              throw new Error(
                `fields ${JSON.stringify(fields)} do not name the broken ${JSON.stringify(p.broken)} for ${JSON.stringify(p)}`,
              );
          }),
          { numRuns: RUNS },
        );
        expect(Object.keys(seen).every((s) => Number(s) >= 400 && Number(s) < 500)).toBe(true);
        expect(await dump()).toBe(before);
      },
      120_000,
    );
  }

  it('malformed path ids on every write route with an id: 4xx naming "id", DB unchanged', async () => {
    const before = await dump();
    const routes = [
      'PATCH /targets/:id',
      'DELETE /targets/:id',
      'POST /targets/:id/validate',
      'POST /targets/:id/refresh',
      'POST /targets/:id/host-key/reset',
      'POST /targets/:id/host-key/confirm',
      'PATCH /jobs/:id',
      'DELETE /jobs/:id',
      'POST /jobs/:id/run',
      'POST /jobs/:id/webhook-token',
      'POST /jobs/:id/restore',
      'POST /hooks/jobs/:id/run',
      'POST /events/:id/cancel',
      'POST /nodes/:id/revoke',
      'DELETE /auth/tokens/:id',
      'POST /runner/events/:id/progress',
      'POST /runner/events/:id/finish',
    ];
    const idText = fc
      .string({ minLength: 1, maxLength: 12 })
      .filter(
        (s) =>
          !/[/?#%\\]/.test(s) &&
          s.trim() !== '' &&
          !(Number.isInteger(Number(s)) && Number(s) > 0) &&
          encodeURIComponent(s) !== '.' &&
          s !== '..' &&
          s !== '.',
      );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), idText, async (route, id) => {
        const [method, path] = route.split(' ');
        const auth = path.startsWith('/runner/') ? asNode() : path.startsWith('/hooks/') ? { authorization: 'Bearer lbw_x' } : admin();
        const res = await ctl.app.request(`/api/v1${path.replace(':id', encodeURIComponent(id))}`, {
          method,
          headers: { 'content-type': 'application/json', ...auth },
          body: '{}',
        });
        const body = (await res.json()) as ApiErrorBody;
        if (res.status !== 400 || !body.error.fields.id)
          throw new Error(`${res.status} ${JSON.stringify(body)} for ${route} with id ${JSON.stringify(id)}`);
      }),
      { numRuns: RUNS },
    );
    expect(await dump()).toBe(before);
  }, 120_000);
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, makeJob, makeTarget, TEST_KEY, type TestControl } from '../helpers/control.ts';
import { claimedTarget, type ApiErrorBody } from '../helpers/api.ts';

let ctl: TestControl;
beforeEach(async () => {
  ctl = await startControl();
});
afterEach(() => ctl.close());

const count = async (table: string) => (await ctl.db.all<{ n: number }>(sql.raw(`SELECT count(*) AS n FROM ${table}`)))[0].n;
const FP = 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const base = { name: 'offsite', sshHost: 'backup.example.org', sshPrivateKey: TEST_KEY, backupRoot: 'backup/lifeboat' };

describe('targets', () => {
  it('creates a target with defaults and never returns the private key', async () => {
    const r = await ctl.api('POST', '/targets', base);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: 'offsite',
      sshUser: 'root',
      sshPort: 22,
      enabled: true,
      createBackupRoot: false,
      hasPrivateKey: true,
      hostKeyFingerprint: null,
    });
    expect(JSON.stringify(r.body)).not.toContain('PRIVATE KEY');
    const list = await ctl.api('GET', '/targets');
    expect(list.body.items).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain('OPENSSH');
    // Encrypted at rest: the stored column is not the key.
    const [row] = await ctl.db.all<{ k: string }>(sql`SELECT ssh_private_key_enc AS k FROM targets`);
    expect(row.k.startsWith('v1.')).toBe(true);
    expect(row.k).not.toContain('OPENSSH');
  });

  it.each([
    ['sshHost', { sshHost: 'root@backup.example.org' }, /sshUser/],
    ['sshHost', { sshHost: 'backup.example.org:2222' }, /sshPort/],
    ['sshHost', { sshHost: 'bad host!' }, /not a valid/],
    ['sshHost', { sshHost: '[::1]:22' }, /without brackets/],
    ['sshPort', { sshPort: 0 }, /1 and 65535/],
    ['sshPort', { sshPort: 65536 }, /1 and 65535/],
    ['sshPort', { sshPort: 22.5 }, /integer/],
    ['backupRoot', { backupRoot: 'tank//x' }, /\/\//],
    ['backupRoot', { backupRoot: '/tank/x' }, /start or end/],
    ['backupRoot', { backupRoot: 'tank/x@snap' }, /snapshot/],
    ['backupRoot', { backupRoot: 'tank/x$y' }, /may only contain/],
    ['backupRoot', { backupRoot: '1tank' }, /start with a letter/],
    ['sshPrivateKey', { sshPrivateKey: 'ssh-ed25519 AAAA public' }, /private key/],
    ['name', { name: '' }, /required/],
    ['sshUser', { sshUser: 'a b' }, /user name/],
    ['colour', { colour: 'red' }, /not a known field/],
  ])('rejects bad %s with the field named and writes nothing', async (field, over, msg) => {
    const r = await ctl.api<ApiErrorBody>('POST', '/targets', { ...base, ...over });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid');
    expect(r.body.error.fields[field]).toMatch(msg);
    expect(await count('targets')).toBe(0);
  });

  it('a bandwidth limit: unlimited by default, set and cleared; a bad one is a 400 naming the field and changes nothing', async () => {
    const r = await ctl.api('POST', '/targets', base);
    expect(r.body.bandwidthLimitKiBps).toBeNull();
    const set = await ctl.api('PATCH', `/targets/${r.body.id}`, { bandwidthLimitKiBps: 2048 });
    expect(set.status).toBe(200);
    expect(set.body.bandwidthLimitKiBps).toBe(2048);
    for (const bad of [-1, 0.5, '2048', 10_485_761]) {
      const b = await ctl.api<ApiErrorBody>('PATCH', `/targets/${r.body.id}`, { bandwidthLimitKiBps: bad });
      expect(b.status).toBe(400);
      expect(b.body.error.fields.bandwidthLimitKiBps).toBeTruthy();
      expect(b.body.error.message).toContain('bandwidthLimitKiBps');
    }
    expect((await ctl.api('GET', `/targets/${r.body.id}`)).body.bandwidthLimitKiBps).toBe(2048);
    // not a connection change: the target stays validated
    const [rev] = await ctl.db.all<{ r: number }>(sql`SELECT config_revision AS r FROM targets`);
    expect(rev.r).toBe(1);
    expect((await ctl.api('PATCH', `/targets/${r.body.id}`, { bandwidthLimitKiBps: null })).body.bandwidthLimitKiBps).toBeNull();
    const created = await ctl.api<ApiErrorBody>('POST', '/targets', { ...base, name: 'x', bandwidthLimitKiBps: -3 });
    expect(created.status).toBe(400);
    expect(created.body.error.fields.bandwidthLimitKiBps).toBeTruthy();
  });

  it('accepts IPv4 and IPv6 hosts', async () => {
    expect((await ctl.api('POST', '/targets', { ...base, sshHost: '192.0.2.10' })).status).toBe(201);
    expect((await ctl.api('POST', '/targets', { ...base, name: 'v6', sshHost: '2001:db8::10' })).status).toBe(201);
  });

  it('rejects malformed JSON and missing fields as 400 naming them', async () => {
    const bad = await ctl.api<ApiErrorBody>('POST', '/targets', '{"name":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.body).toBeTruthy();
    const missing = await ctl.api<ApiErrorBody>('POST', '/targets', {});
    expect(missing.status).toBe(400);
    expect(Object.keys(missing.body.error.fields)).toEqual(expect.arrayContaining(['name', 'sshHost', 'sshPrivateKey', 'backupRoot']));
    expect(await count('targets')).toBe(0);
  });

  it('keeps names unique (409 naming the field)', async () => {
    await ctl.api('POST', '/targets', base);
    const r = await ctl.api<ApiErrorBody>('POST', '/targets', { ...base, sshHost: 'other.example.org' });
    expect(r.status).toBe(409);
    expect(r.body.error.fields.name).toMatch(/already used/);
    expect(await count('targets')).toBe(1);
  });

  it('edits without a key keep the stored key; a new host clears the pinned host key', async () => {
    const t = (await ctl.api('POST', '/targets', base)).body;
    const [before] = await ctl.db.all<{ k: string }>(sql`SELECT ssh_private_key_enc AS k FROM targets`);
    await ctl.db.run(sql`UPDATE targets SET host_key = 'h ssh-ed25519 AAAA', host_key_fingerprint = 'SHA256:x'`);
    const r = await ctl.api('PATCH', `/targets/${t.id}`, { description: 'offsite copy', sshPrivateKey: '' });
    expect(r.status).toBe(200);
    expect(r.body.hostKeyFingerprint).toBe('SHA256:x');
    const [after] = await ctl.db.all<{ k: string }>(sql`SELECT ssh_private_key_enc AS k FROM targets`);
    expect(after.k).toBe(before.k);
    const moved = await ctl.api('PATCH', `/targets/${t.id}`, { sshHost: 'new.example.org' });
    expect(moved.body.hostKeyFingerprint).toBeNull();
    const bad = await ctl.api<ApiErrorBody>('PATCH', `/targets/${t.id}`, { sshPort: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.sshPort).toBeTruthy();
    expect((await ctl.api('GET', `/targets/${t.id}`)).body.sshPort).toBe(22);
  });

  it('must be disabled and unused before it can be deleted', async () => {
    await joinNode(ctl, 'n1');
    const t = await makeTarget(ctl);
    const job = await makeJob(ctl, t.id);
    const enabled = await ctl.api<ApiErrorBody>('DELETE', `/targets/${t.id}`);
    expect(enabled.status).toBe(409);
    expect(enabled.body.error.fields.enabled).toBeTruthy();
    await ctl.api('PATCH', `/targets/${t.id}`, { enabled: false });
    const used = await ctl.api<ApiErrorBody>('DELETE', `/targets/${t.id}`);
    expect(used.status).toBe(409);
    expect(used.body.error.message).toMatch(/used by jobs: j1/);
    expect((await ctl.api('DELETE', `/jobs/${job.id}`)).status).toBe(200);
    expect((await ctl.api('DELETE', `/targets/${t.id}`)).status).toBe(200);
    expect(await count('targets')).toBe(0);
    expect((await ctl.api('GET', `/targets/${t.id}`)).status).toBe(404);
  });

  it('tracks readiness per node: not validated, ready, config changed, failed', async () => {
    const n = await joinNode(ctl, 'n1');
    const t = await makeTarget(ctl);
    expect((await ctl.api('GET', `/targets/${t.id}`)).body.nodeStatus).toEqual([
      expect.objectContaining({ nodeId: n.id, state: 'not-validated' }),
    ]);
    const v = await ctl.api('POST', `/targets/${t.id}/validate`, {});
    expect(v.status).toBe(202);
    const claim = await ctl.node(n.token, '/runner/claim', { max: 1 });
    expect(claim.body.events[0]).toMatchObject({ id: v.body.eventId, kind: 'validate' });
    expect(claimedTarget(claim.body.events[0]).sshPrivateKey).toBe(TEST_KEY); // only the runner gets it, for this work
    await ctl.node(n.token, `/runner/events/${v.body.eventId}/finish`, {
      status: 'success',
      result: { hostKey: '[backup.example.org]:22 ssh-ed25519 AAAAC3', fingerprint: FP },
    });
    let got = (await ctl.api('GET', `/targets/${t.id}`)).body;
    // the key it saw awaits an admin's confirmation: not pinned, so not ready for backups yet
    expect(got.nodeStatus[0].state).toBe('host-key-pending');
    expect(got).toMatchObject({ hostKeyFingerprint: null, pendingHostKeyFingerprint: FP, readiness: 'not-validated' });
    got = (await ctl.api('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: FP })).body;
    expect(got).toMatchObject({ hostKeyFingerprint: FP, pendingHostKeyFingerprint: null, readiness: 'ready' });
    expect(got.nodeStatus[0].state).toBe('ready');
    await ctl.api('PATCH', `/targets/${t.id}`, { backupRoot: 'backup/other' });
    got = (await ctl.api('GET', `/targets/${t.id}`)).body;
    expect(got.nodeStatus[0].state).toBe('config-changed');
    expect(got.readiness).toBe('not-validated');
    const v2 = await ctl.api('POST', `/targets/${t.id}/validate`, { nodeId: n.id });
    await ctl.node(n.token, '/runner/claim', { max: 1 });
    await ctl.node(n.token, `/runner/events/${v2.body.eventId}/finish`, {
      status: 'failed',
      error: 'host key mismatch',
      errorClass: 'host-key',
    });
    got = (await ctl.api('GET', `/targets/${t.id}`)).body;
    expect(got.nodeStatus[0]).toMatchObject({ state: 'failed', error: 'host key mismatch' });
    expect(got).toMatchObject({ hostKeyFingerprint: FP, readiness: 'failed' });
  });
});

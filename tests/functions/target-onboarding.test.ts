// Targets onboarding (README, "Adding a target"): a key pair made by the server whose private half
// is never returned, validation on create, and host keys pinned only after a confirmation or
// against a fingerprint given beforehand.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, TEST_KEY, type TestControl } from '../helpers/control.ts';
import { claimedTarget, type ApiErrorBody } from '../helpers/api.ts';

let ctl: TestControl;
let dir: string;
beforeEach(async () => {
  ctl = await startControl();
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-onboard-'));
});
afterEach(() => {
  ctl.close();
  rmSync(dir, { recursive: true, force: true });
});

const FP = 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const OTHER = 'SHA256:ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';
const base = { name: 'offsite', sshHost: 'backup.example.org', backupRoot: 'backup/lifeboat' };
const row = async () =>
  (
    await ctl.db.all<{ host_key: string | null; pending: string | null; pub: string | null; enc: string }>(
      sql`SELECT host_key, pending_host_key AS pending, ssh_public_key AS pub, ssh_private_key_enc AS enc FROM targets`,
    )
  )[0];

/** A node claims its next event (a validation of `id`) and finishes it as a runner that saw `fingerprint`. */
async function validated(node: { token: string }, eventId: number, fingerprint: string) {
  const claim = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  expect(claim.body.events.map((e) => e.id)).toEqual([eventId]);
  const fin = await ctl.node(node.token, `/runner/events/${eventId}/finish`, {
    status: 'success',
    result: { hostKey: 'lifeboat-target ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost', fingerprint },
  });
  expect(fin.status).toBe(200);
  return claimedTarget(claim.body.events[0]);
}

describe('generate key pair', () => {
  it('seals the private key, never returns it, and shows the restricted authorized_keys line', async () => {
    const n = await joinNode(ctl, 'n1');
    const r = await ctl.api('POST', '/targets', { ...base, generateKeyPair: true });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ hasPrivateKey: true, readiness: 'not-validated', validationEventIds: [] });
    expect(r.body.authorizedKeysLine).toMatch(/^restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* lifeboat-offsite$/);
    for (const body of [r.body, (await ctl.api('GET', '/targets')).body, (await ctl.api('GET', `/targets/${r.body.id}`)).body])
      expect(JSON.stringify(body)).not.toMatch(/PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
    const stored = await row();
    expect(stored.enc.startsWith('v1.')).toBe(true);
    expect(stored.enc).not.toContain('PRIVATE');

    // the runner gets the private half in its claim, and it is the pair of the line shown
    const v = await ctl.api('POST', `/targets/${r.body.id}/validate`, {});
    const claim = await ctl.node(n.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect(claim.body.events[0].id).toBe(v.body.eventId);
    const file = join(dir, 'key');
    writeFileSync(file, claimedTarget(claim.body.events[0]).sshPrivateKey, { mode: 0o600 });
    const pub = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
    expect(`restrict ${pub}`).toBe(r.body.authorizedKeysLine);
  });

  it('a pasted key has no line to show', async () => {
    const r = await ctl.api('POST', '/targets', { ...base, sshPrivateKey: TEST_KEY });
    expect(r.body.authorizedKeysLine).toBeNull();
  });

  it.each([
    ['both a key and generateKeyPair', { sshPrivateKey: TEST_KEY, generateKeyPair: true }, 'sshPrivateKey', /left out/],
    ['neither', {}, 'sshPrivateKey', /required unless generateKeyPair/],
    ['generateKeyPair false', { generateKeyPair: false }, 'generateKeyPair', /true/],
    [
      'a malformed expected fingerprint',
      { generateKeyPair: true, expectedHostKeyFingerprint: 'MD5:aa:bb' },
      'expectedHostKeyFingerprint',
      /SHA256/,
    ],
  ])('rejects %s with the field named and writes nothing', async (_name, over, field, msg) => {
    const r = await ctl.api<ApiErrorBody>('POST', '/targets', { ...base, ...over });
    expect(r.status).toBe(400);
    expect(r.body.error.fields[field]).toMatch(msg);
    expect(await row()).toBeUndefined();
  });

  it('PATCH makes a new pair (the old line no longer works, so the target needs validating again); a pasted key drops the line', async () => {
    const n = await joinNode(ctl, 'n1');
    const t = (await ctl.api('POST', '/targets', { ...base, generateKeyPair: true, validate: true })).body;
    await validated(n, t.validationEventIds[0], FP);
    const before = await row();
    const r = await ctl.api('PATCH', `/targets/${t.id}`, { generateKeyPair: true });
    expect(r.status).toBe(200);
    expect(r.body.authorizedKeysLine).toMatch(/^restrict ssh-ed25519 /);
    expect(r.body.authorizedKeysLine).not.toBe(t.authorizedKeysLine);
    expect(r.body.nodeStatus[0].state).toBe('config-changed');
    expect((await row()).enc).not.toBe(before.enc);
    const both = await ctl.api<ApiErrorBody>('PATCH', `/targets/${t.id}`, { generateKeyPair: true, sshPrivateKey: TEST_KEY });
    expect(both.status).toBe(400);
    expect(both.body.error.fields.sshPrivateKey).toMatch(/left out/);
    const pasted = await ctl.api('PATCH', `/targets/${t.id}`, { sshPrivateKey: TEST_KEY });
    expect(pasted.body.authorizedKeysLine).toBeNull();
  });
});

describe('validation on create', () => {
  it('validate: true queues a validation from every live node; without it nothing is queued', async () => {
    const quiet = await ctl.api('POST', '/targets', { ...base, name: 'quiet', generateKeyPair: true });
    expect(quiet.body.validationEventIds).toEqual([]);
    const n1 = await joinNode(ctl, 'n1');
    const n2 = await joinNode(ctl, 'n2');
    const r = await ctl.api('POST', '/targets', { ...base, generateKeyPair: true, validate: true });
    expect(r.body.validationEventIds).toHaveLength(2);
    const evs = await Promise.all(r.body.validationEventIds.map((id: number) => ctl.api('GET', `/events/${id}`)));
    expect(evs.map((e) => [e.body.kind, e.body.status, e.body.targetId, e.body.nodeId])).toEqual([
      ['validate', 'queued', r.body.id, n1.id],
      ['validate', 'queued', r.body.id, n2.id],
    ]);
  });
});

describe('host key confirmation', () => {
  it('a first validation shows the key; a confirmation of that fingerprint pins it; nothing else does', async () => {
    const n = await joinNode(ctl, 'n1');
    const t = (await ctl.api('POST', '/targets', { ...base, generateKeyPair: true, validate: true })).body;
    const none = await ctl.api<ApiErrorBody>('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: FP });
    expect(none.status).toBe(409);
    expect(none.body.error.message).toMatch(/validate the target first/);

    expect((await validated(n, t.validationEventIds[0], FP)).hostKey).toBeNull(); // accepted on first use
    const seen = (await ctl.api('GET', `/targets/${t.id}`)).body;
    expect(seen).toMatchObject({ hostKeyFingerprint: null, pendingHostKeyFingerprint: FP, readiness: 'not-validated' });
    expect(seen.nodeStatus[0].state).toBe('host-key-pending');
    expect((await row()).host_key).toBeNull();

    const wrong = await ctl.api<ApiErrorBody>('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: OTHER });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.message).toContain(FP);
    const bad = await ctl.api<ApiErrorBody>('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: 'abc' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.fingerprint).toMatch(/SHA256/);
    expect((await ctl.api('POST', `/targets/999/host-key/confirm`, { fingerprint: FP })).status).toBe(404);
    expect((await row()).host_key).toBeNull();

    const ok = await ctl.api('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: FP });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ hostKeyFingerprint: FP, pendingHostKeyFingerprint: null, readiness: 'ready' });
    expect(await row()).toMatchObject({ host_key: 'lifeboat-target ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost', pending: null });
    const again = await ctl.api<ApiErrorBody>('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: FP });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already pinned/);
  });

  it('a new host forgets the key awaiting confirmation', async () => {
    const n = await joinNode(ctl, 'n1');
    const t = (await ctl.api('POST', '/targets', { ...base, generateKeyPair: true, validate: true })).body;
    await validated(n, t.validationEventIds[0], FP);
    const moved = await ctl.api('PATCH', `/targets/${t.id}`, { sshHost: 'other.example.org' });
    expect(moved.body.pendingHostKeyFingerprint).toBeNull();
    expect((await ctl.api('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint: FP })).status).toBe(409);
  });

  it('an expected fingerprint pins the key in one step', async () => {
    const n = await joinNode(ctl, 'n1');
    const t = (await ctl.api('POST', '/targets', { ...base, generateKeyPair: true, validate: true, expectedHostKeyFingerprint: FP })).body;
    expect(t.expectedHostKeyFingerprint).toBe(FP);
    await validated(n, t.validationEventIds[0], FP);
    const got = (await ctl.api('GET', `/targets/${t.id}`)).body;
    expect(got).toMatchObject({ hostKeyFingerprint: FP, pendingHostKeyFingerprint: null, readiness: 'ready' });
  });

  it('a different key than the expected one fails the validation and pins nothing', async () => {
    const n = await joinNode(ctl, 'n1');
    const t = (await ctl.api('POST', '/targets', { ...base, generateKeyPair: true, validate: true, expectedHostKeyFingerprint: OTHER }))
      .body;
    await validated(n, t.validationEventIds[0], FP);
    const ev = (await ctl.api('GET', `/events/${t.validationEventIds[0]}`)).body;
    expect(ev).toMatchObject({ status: 'failed', errorClass: 'host-key' });
    expect(ev.error).toContain(FP);
    expect(ev.error).toContain(OTHER);
    const got = (await ctl.api('GET', `/targets/${t.id}`)).body;
    expect(got).toMatchObject({ hostKeyFingerprint: null, pendingHostKeyFingerprint: null, readiness: 'failed' });
    expect(got.nodeStatus[0].state).toBe('failed');
    expect(await row()).toMatchObject({ host_key: null, pending: null });
  });

  it('PATCH with the fingerprint of the key awaiting confirmation pins it; another one does not', async () => {
    const n = await joinNode(ctl, 'n1');
    const t = (await ctl.api('POST', '/targets', { ...base, generateKeyPair: true, validate: true })).body;
    await validated(n, t.validationEventIds[0], FP);
    const other = await ctl.api('PATCH', `/targets/${t.id}`, { expectedHostKeyFingerprint: OTHER });
    expect(other.body).toMatchObject({ hostKeyFingerprint: null, pendingHostKeyFingerprint: FP });
    const same = await ctl.api('PATCH', `/targets/${t.id}`, { expectedHostKeyFingerprint: FP });
    expect(same.body).toMatchObject({ hostKeyFingerprint: FP, pendingHostKeyFingerprint: null, readiness: 'ready' });
  });
});

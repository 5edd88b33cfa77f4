// Natively encrypted datasets on real OpenZFS (unprivileged target user): sent raw by default
// (`zfs send -w`), so the target holds ciphertext only and never a key; raw incrementals; restores
// (job and out-of-band) land encrypted with the source's key format and decrypt after load-key; a
// plain parent with an encrypted child; and the explicit opt-out that sends plaintext.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLog } from '../faults/fixture.ts';
import { MiB, restoreOk, startWorld, type OzWorld } from './world.ts';

const PASSPHRASE = 'correct horse battery staple';
let w: OzWorld;
let keyFile: string;
const ds = (n: string) => `${w.src.name}/${n}`;
const mnt = (n: string) => `${w.src.mountpoint}/${n}`;
const prop = async (name: string, p: string) => (await w.vm.zfs('get', '-H', '-o', 'value', p, name)).trim();

beforeAll(async () => {
  w = await startWorld({ prefix: 'lboe', user: 'lbtarget' });
  keyFile = `/var/tmp/${w.src.name}.key`;
  await w.vm.sh(`umask 077; printf '%s' '${PASSPHRASE}' > ${keyFile}`);
  const enc = ['-o', 'encryption=on', '-o', 'keyformat=passphrase', '-o', `keylocation=file://${keyFile}`];
  await w.vm.zfs('create', ...enc, ds('sec'));
  await w.vm.zfs('create', ds('sec/inner'));
  await w.vm.writeRandom(`${mnt('sec')}/secret.bin`, 4 * MiB);
  await w.vm.writeRandom(`${mnt('sec')}/inner/inner.bin`, MiB);
  await w.vm.zfs('create', ds('plain'));
  await w.vm.zfs('create', ...enc, ds('plain/enc'));
  await w.vm.writeRandom(`${mnt('plain')}/open.bin`, MiB);
  await w.vm.writeRandom(`${mnt('plain')}/enc/closed.bin`, MiB);
  await w.vm.zfs('create', ...enc, ds('optout'));
  await w.vm.writeRandom(`${mnt('optout')}/data.bin`, MiB);
}, 600_000);

afterAll(async () => {
  await w?.vm.exec(['rm', '-f', keyFile]);
  await w?.close();
}, 300_000);

/** Load a restored dataset's key with the passphrase (keylocation stays as received) and mount it. */
async function unlock(name: string) {
  if ((await prop(name, 'encryptionroot')) === name) {
    const r = await w.vm.exec(['zfs', 'load-key', '-L', `file://${keyFile}`, name]);
    expect(r.code, r.stderr).toBe(0);
  }
  const m = await w.vm.exec(['zfs', 'mount', name]);
  expect(m.code, m.stderr).toBe(0);
}

describe('encrypted datasets', () => {
  let jobId: number;
  let sha: { secret: string; inner: string };
  it('are sent raw: the target holds ciphertext with no key (keystatus unavailable); incrementals are raw too', async () => {
    jobId = await w.job({ name: 'sec', source: ds('sec'), recursive: true });
    sha = { secret: await w.vm.sha256(`${mnt('sec')}/secret.bin`), inner: await w.vm.sha256(`${mnt('sec')}/inner/inner.bin`) };
    const e = await w.backupOk(jobId);
    expect(await eventLog(w.srv.api, e.id)).toMatch(/raw send \(zfs send -w\)/);
    for (const n of ['sec', 'sec/inner']) {
      const t = w.targetPath(jobId, 1, ds(n));
      expect(await prop(t, 'encryption')).toBe('aes-256-gcm');
      expect(await prop(t, 'keystatus')).toBe('unavailable');
    }
    await w.vm.writeRandom(`${mnt('sec')}/more.bin`, MiB);
    const inc = await w.backupOk(jobId);
    const log = await eventLog(w.srv.api, inc.id);
    expect(log).toMatch(/raw send/);
    expect(log).toMatch(/incremental from lb_j/);
    expect(inc.bytesDone).toBeLessThan(3 * MiB);
    expect(await prop(w.targetPath(jobId, 1, ds('sec')), 'keystatus')).toBe('unavailable');
  }, 600_000);

  it('a job restore lands encrypted with the source key format; the data decrypts after load-key', async () => {
    const gens = (await w.srv.api('GET', `/jobs/${jobId}/generations`)).body;
    const first = gens[0].snapshots[gens[0].snapshots.length - 1].name;
    await w.vm.sh(`echo overwritten > ${mnt('sec')}/secret.bin`);
    const e = await restoreOk(w, jobId, 1, first);
    expect(await eventLog(w.srv.api, e.id)).toMatch(/encrypted and its key is not loaded/);
    for (const n of ['sec', 'sec/inner']) {
      expect(await prop(ds(n), 'encryption')).toBe('aes-256-gcm');
      expect(await prop(ds(n), 'keyformat')).toBe('passphrase');
      expect(await prop(ds(n), 'keystatus')).toBe('unavailable');
    }
    await unlock(ds('sec'));
    await unlock(ds('sec/inner'));
    expect(await w.vm.sha256(`${mnt('sec')}/secret.bin`)).toBe(sha.secret);
    expect(await w.vm.sha256(`${mnt('sec')}/inner/inner.bin`)).toBe(sha.inner);
  }, 600_000);

  it('an out-of-band restore of the encrypted backup into a new dataset lands encrypted and decrypts', async () => {
    const catalog = (await w.srv.api('GET', `/targets/${w.targetId}/datasets`)).body.items;
    const item = catalog.find((i) => i.jobId === jobId && i.source === ds('sec'))!;
    const g1 = item.generations.find((g) => g.generation === 1)!;
    const snap = g1.snapshots[g1.snapshots.length - 1];
    const destination = ds('sec-copy');
    const r = await w.srv.api('POST', '/restores', {
      targetId: w.targetId,
      nodeId: w.runner.nodeId,
      dataset: g1.dataset,
      generation: 1,
      snapshot: snap.name,
      destination,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const e = await w.srv.waitEvent(r.body.eventId, 300_000);
    expect(e.status, `${e.error}\n${await eventLog(w.srv.api, e.id)}`).toBe('success');
    expect(await prop(destination, 'keystatus')).toBe('unavailable');
    await unlock(destination);
    expect(await w.vm.sha256(`${mnt('sec-copy')}/secret.bin`)).toBe(sha.secret);
  }, 600_000);

  it('a plain parent with an encrypted child: the parent is sent as it is, the child raw', async () => {
    const id = await w.job({ name: 'plain', source: ds('plain'), recursive: true });
    const e = await w.backupOk(id);
    expect(await eventLog(w.srv.api, e.id)).toMatch(
      new RegExp(`raw send \\(zfs send -w\\) of the encrypted dataset\\(s\\) ${ds('plain/enc')}:`),
    );
    expect(await prop(w.targetPath(id, 1, ds('plain')), 'encryption')).toBe('off');
    expect(await prop(w.targetPath(id, 1, ds('plain/enc')), 'keystatus')).toBe('unavailable');
  }, 600_000);

  it('a job that opts out (sendDecrypted) sends plaintext and says so in its log', async () => {
    const id = await w.job({ name: 'optout', source: ds('optout'), sendDecrypted: true });
    const e = await w.backupOk(id);
    expect(await eventLog(w.srv.api, e.id)).toMatch(/is encrypted and this job sends it decrypted: the target holds its plaintext/);
    expect(await prop(w.targetPath(id, 1, ds('optout')), 'encryption')).toBe('off');
    // switched back to raw: a raw stream cannot continue a plaintext copy, so a new generation starts
    expect((await w.srv.api('PATCH', `/jobs/${id}`, { sendDecrypted: false })).status).toBe(200);
    const raw = await w.backupOk(id);
    expect(raw.generation).toBe(2);
    expect(await eventLog(w.srv.api, raw.id)).toMatch(
      /now sends it raw, but generation 1 holds it decrypted: new generation with a full send/,
    );
    expect(await prop(w.targetPath(id, 2, ds('optout')), 'keystatus')).toBe('unavailable');
  }, 600_000);
});

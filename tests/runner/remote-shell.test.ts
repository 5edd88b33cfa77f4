// RemoteShell framing, driven through a local /bin/sh (the same bytes an ssh session carries).
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteShell } from '../../node-runner/src/ssh/remote-shell.ts';

let shells: RemoteShell[] = [];
let starts = 0;
const newShell = () => {
  const s = new RemoteShell(() => {
    starts++;
    return spawn('/bin/sh', [], { stdio: ['pipe', 'pipe', 'pipe'] });
  });
  shells.push(s);
  return s;
};
afterEach(async () => {
  for (const s of shells) await s.close();
  shells = [];
  starts = 0;
});

describe('RemoteShell', () => {
  it('keeps stdout, stderr and exit codes of each command apart, in order, in one shell', async () => {
    const sh = newShell();
    const rs = await Promise.all([
      sh.run(['printf', '%s', 'no newline']),
      sh.run(['sh', '-c', 'echo out; echo err >&2; exit 3']),
      sh.run(['echo', `it's "quoted" $HOME \`x\` ; true`]),
      sh.run(['cat']), // stdin is /dev/null, not the script
      sh.run(['echo', 'last']),
    ]);
    expect(rs).toEqual([
      { code: 0, stdout: 'no newline', stderr: '' },
      { code: 3, stdout: 'out\n', stderr: 'err\n' },
      { code: 0, stdout: `it's "quoted" $HOME \`x\` ; true\n`, stderr: '' },
      { code: 0, stdout: '', stderr: '' },
      { code: 0, stdout: 'last\n', stderr: '' },
    ]);
    expect(starts).toBe(1);
  });

  it('output that looks like a marker without the nonce is just output', async () => {
    const sh = newShell();
    expect(await sh.run(['printf', '\\n%s %s %s\\n', 'abc', '1', '0'])).toEqual({ code: 0, stdout: '\nabc 1 0\n', stderr: '' });
  });

  it('a command that times out takes the shell with it; the next command gets a new one', async () => {
    const sh = newShell();
    const r = await sh.run(['sleep', '5'], { timeoutMs: 200 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/timed out/);
    expect(await sh.run(['echo', 'again'])).toEqual({ code: 0, stdout: 'again\n', stderr: '' });
    expect(starts).toBe(2);
  });

  it('a cancelled command reports cancelled', async () => {
    const sh = newShell();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await sh.run(['sleep', '5'], { signal: ac.signal });
    expect(r).toMatchObject({ stderr: 'cancelled' });
  });
});

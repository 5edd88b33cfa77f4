// Child-process helpers: waiting for a stream process whose pipes outlive it.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { waitExitDrained } from '../../node-runner/src/core/process.ts';

const holders: number[] = [];
afterEach(() => {
  for (const pid of holders.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A process that exits at once while a background child it started keeps its stdout and stderr open (as an ssh master keeps a mux client's). */
async function exitedButHeld(code: number) {
  const child = spawn('sh', ['-c', `sleep 600 & echo $! >&3; exit ${code}`], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const holder = await new Promise<number>((res) => child.stdio[3]!.once('data', (b: Buffer) => res(Number(b.toString().trim()))));
  holders.push(holder);
  return { child, holder };
}

describe('waitExitDrained', () => {
  it('resolves with the exit code once the process exited, though another process still holds its pipes', async () => {
    const { child, holder } = await exitedButHeld(3);
    let closed = false;
    child.once('close', () => {
      closed = true;
    });
    child.stdio[3]!.destroy(); // fd 3 only carried the holder's PID
    expect(await waitExitDrained(child, 100)).toBe(3);
    expect(alive(holder)).toBe(true); // the pipes were still open on the other side: 'close' needed the destroy
    expect(closed).toBe(true);
    expect(child.stdout!.destroyed && child.stderr!.destroyed).toBe(true);
  });

  it('collects what a process writes before its pipes close normally', async () => {
    const child = spawn('sh', ['-c', 'echo out; echo err >&2; exit 0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b;
    });
    child.stderr!.on('data', (b: Buffer) => {
      err += b;
    });
    expect(await waitExitDrained(child, 60_000)).toBe(0);
    expect([out, err]).toEqual(['out\n', 'err\n']);
  });

  it('reports a signal as 128+n', async () => {
    const child = spawn('sleep', ['600'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = waitExitDrained(child, 100);
    child.kill('SIGTERM');
    expect(await done).toBe(128 + 15);
  });
});

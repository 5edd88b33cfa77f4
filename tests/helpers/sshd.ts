// A real sshd on 127.0.0.1 for tests: free port chosen at run time, throwaway host key, one
// authorized throwaway client key; stopped by PID; can restart with a different host key.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export interface TestSshd {
  host: string;
  port: number;
  pid: number;
  user: string;
  dir: string;
  /** OpenSSH private key text of the authorized client key. */
  clientKey: string;
  /** A second, NOT authorized private key. */
  wrongClientKey: string;
  /** known_hosts line for the current host key: "[127.0.0.1]:port type base64". */
  hostKeyLine(): Promise<string>;
  /** Connections sshd accepted (authenticated) since start or the last reset. */
  acceptedConnections(): number;
  resetAcceptedConnections(): void;
  /** Stop sshd and start it again on the same port with a freshly generated host key. */
  restartWithNewHostKey(): Promise<void>;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-test', '-f', path], { stdio: 'ignore' });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number, child: ChildProcess, errOut: () => string, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${errOut()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${ms} ms: ${errOut()}`);
}

export async function startSshd(): Promise<TestSshd> {
  try {
    await access(SSHD);
  } catch {
    throw new Error(`${SSHD} not found: run scripts/provision-test-host.sh (package openssh-server)`);
  }
  execFileSync('mkdir', ['-p', '/run/sshd']);
  const dir = await mkdtemp(join(tmpdir(), 'lb-sshd-'));
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client'));
  keygen(join(dir, 'wrong'));
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client.pub')), { mode: 0o600 });
  const port = await freePort();
  const config =
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel INFO',
      'MaxSessions 50',
      'MaxStartups 50',
      'PrintMotd no',
      'X11Forwarding no',
    ].join('\n') + '\n';
  await writeFile(join(dir, 'sshd_config'), config);

  let child: ChildProcess;
  let err = '';
  let accepted = 0;
  let partial = '';
  const launch = async () => {
    err = '';
    child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => {
      const text = partial + b.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (/Accepted publickey/.test(l)) accepted++;
        else if (err.length < 8000) err += l + '\n';
      }
    });
    await waitListening(port, child, () => err);
  };
  const stopChild = async () => {
    const c = child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise<void>((r) => c.once('exit', () => r()));
    process.kill(c.pid!, 'SIGTERM');
    const t = setTimeout(() => {
      try {
        process.kill(c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 3000);
    await done;
    clearTimeout(t);
  };
  await launch();
  const sshd: TestSshd = {
    host: '127.0.0.1',
    port,
    user: 'root',
    dir,
    get pid() {
      return child.pid!;
    },
    clientKey: await readFile(join(dir, 'client'), 'utf8'),
    wrongClientKey: await readFile(join(dir, 'wrong'), 'utf8'),
    acceptedConnections: () => accepted,
    resetAcceptedConnections: () => {
      accepted = 0;
    },
    async hostKeyLine() {
      const pub = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim().split(/\s+/);
      return `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}`;
    },
    async restartWithNewHostKey() {
      await stopChild();
      await rm(join(dir, 'host_key'), { force: true });
      await rm(join(dir, 'host_key.pub'), { force: true });
      keygen(join(dir, 'host_key'));
      await launch();
    },
    async stop() {
      await stopChild();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return sshd;
}

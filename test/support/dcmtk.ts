// Runs DCMTK's command-line tools (Debian package dcmtk) as real DIMSE peers in tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Run { code: number; out: string }

/** Runs a DCMTK tool with Nagle off (Debian's build leaves it on) and bounded timeouts; never throws. */
export function dcmtk(tool: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(tool, ['-to', '20', '-ta', '20', '-td', '20', ...args], { env: { ...process.env, TCP_NODELAY: '1' }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${tool} is not installed: apt-get install dcmtk`);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}\n${stderr}` });
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts DCMTK's storescp as a C-MOVE destination writing into dir; resolves when it listens. */
export async function startStorescp(aeTitle: string, port: number, dir: string): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn('storescp', ['-aet', aeTitle, '-od', dir, '+xa', String(port)], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' });
  await waitForPort(port);
  return { proc, stop: () => new Promise((r) => { proc.once('exit', () => r()); proc.kill('SIGTERM'); }) };
}

/** Resolves once something accepts TCP connections on the port (a peer process just started). */
export async function waitForPort(port: number, host = '127.0.0.1'): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => { const s = connect(port, host, () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

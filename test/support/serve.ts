// Runs `node bin/rampart.js` as a child process, for tests that kill, restart or inspect a node.
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO } from './build.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The environment without the RAMPART_* settings of whoever runs the tests, and without the
 * DIMSE door: its fixed default ports (11112, 2762) cannot be shared by test nodes running in parallel.
 */
export const cleanEnv = () => ({ ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAMPART_'))), RAMPART_DIMSE_ENABLED: 'false' });

/** Polls until `probe` gives a value: waits for a state of the system, never for a duration. */
export async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(50);
  }
}

export interface Served {
  child: ChildProcess;
  /** http(s)://127.0.0.1:PORT: the address the node says it listens on, reached over loopback. */
  url: string;
  port: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every child started here, for afterAll to kill. */
export const running = new Set<ChildProcess>();

/** `rampart serve` on a free HTTP port (plus `extra` arguments); resolves once it listens. */
export function serve(data: string, extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, ['bin/rampart.js', 'serve', '--data', data, '--http-port', '0', ...extra], { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => { running.delete(child); r({ code, signal }); }));
  return new Promise((done, fail) => {
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      const m = /DICOMweb at (https?):\/\/\S+?:(\d+)\/dicom-web/.exec(err);
      if (m) {
        const port = Number(m[2]);
        done({ child, port, url: `${m[1]}://127.0.0.1:${port}`, stderr: () => err, exited, stop: () => { child.kill('SIGTERM'); return exited; } });
      }
    });
    child.stdout!.resume();
    void exited.then((x) => fail(new Error(`rampart serve exited (${x.code ?? x.signal}) before listening:\n${err}`)));
  });
}

/** One `rampart` command to its end, with `stdin` written to it (secrets come on stdin). */
export function rampart(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['bin/rampart.js', ...args], { cwd: REPO, env: cleanEnv(), stdio: 'pipe' });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

// Builds dist/ once per vitest run for the tests that start `node bin/rampart.js` as a child.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `npm run build` once per vitest run, whichever test file asks first: the files that start
 * bin/rampart.js run in parallel workers, and a second tsc rewriting dist/ under a starting
 * child would hand it half-written modules.
 */
export async function buildOnce(): Promise<void> {
  // The vitest run: the parent of a forked worker (pool 'forks'), else this process itself.
  const run = process.send ? process.ppid : process.pid;
  const started = readFileSync(`/proc/${run}/stat`, 'utf8').split(') ').pop()!.split(' ')[19]; // field 22: start time
  const stamp = join(tmpdir(), `rampart-build-${run}-${started}.done`);
  const lock = stamp + '.lock';
  for (;;) {
    if (existsSync(stamp)) return;
    try { mkdirSync(lock); break; } catch { await new Promise((r) => setTimeout(r, 250)); }
  }
  try {
    if (!existsSync(stamp)) {
      try {
        execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'pipe', encoding: 'utf8' });
      } catch (e) {
        const x = e as { stdout?: string; stderr?: string };
        throw new Error(`npm run build failed:\n${x.stdout ?? ''}${x.stderr ?? ''}`);
      }
      writeFileSync(stamp, '');
    }
  } finally {
    rmdirSync(lock);
  }
}

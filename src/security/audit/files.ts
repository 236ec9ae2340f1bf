// Where the trail lives under DATA/audit/ and how its files are named: audit-<first seq>.jsonl,
// zero-padded so that name order is chain order; checkpoints in their own file so that cutting
// entries off the end of the trail cannot also cut off the checkpoint that counted them.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const CHECKPOINTS = 'checkpoints.jsonl';
export const PRIVATE_KEY = 'signing-key.pem';
export const PUBLIC_KEY = 'signing-key.pub.pem';

const TRAIL_FILE = /^audit-(\d{12})\.jsonl$/;

export const trailFileName = (firstSeq: number) => `audit-${String(firstSeq).padStart(12, '0')}.jsonl`;

/** The trail files in chain order, with the sequence number each starts at. */
export async function listTrailFiles(dir: string): Promise<{ path: string; firstSeq: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .map((n) => ({ n, m: TRAIL_FILE.exec(n) }))
    .filter((x) => x.m)
    .sort((a, b) => (a.n < b.n ? -1 : 1))
    .map((x) => ({ path: join(dir, x.n), firstSeq: Number(x.m![1]) }));
}

const LOCK = 'writer.lock';
const SIDE = 'side';

const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
};

/**
 * The directory this process may chain into. One process owns the main chain (DATA/audit,
 * held by writer.lock with its pid); a second process at the same time (a CLI command while
 * `serve` runs) gets a side chain of its own under DATA/audit/side/, with the same format, key
 * and checkpoints. Two writers never share a chain, so neither can break the other's.
 */
export async function claimChainDir(auditDir: string): Promise<{ dir: string; release(): Promise<void> }> {
  const lock = join(auditDir, LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      return { dir: auditDir, release: () => unlink(lock).catch(() => undefined) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) break;
    await unlink(lock).catch(() => undefined); // left by a process that is gone
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const dir = join(auditDir, SIDE, `${stamp}-${process.pid}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return { dir, release: async () => undefined };
}

/** Every chain under DATA/audit: the main one first, then the side chains in the order they began. */
export async function listChains(auditDir: string): Promise<string[]> {
  let side: string[] = [];
  try { side = (await readdir(join(auditDir, SIDE))).sort(); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
  return [auditDir, ...side.map((n) => join(auditDir, SIDE, n))];
}

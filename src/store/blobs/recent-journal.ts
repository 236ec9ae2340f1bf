// The folders a writer process has placed blobs in since its index was last made durable.
// Ingest acknowledges an object once its blob is durable and its index row committed, but that
// commit may reach the disk only at the next barrier; if the power fails before, these folders
// say where to look for blobs to index again. One file per process (DATA/blobs/.recent/PID.ID),
// so processes sharing a data directory never rewrite each other's journal.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

const PREFIX = /^[0-9a-f]{4}$/;
const NAME = /^([1-9][0-9]{0,9})\.([0-9a-f]{16})$/;

/**
 * Format 2 journals start with this line: their writer put the content hash in every key
 * (fs-blob-store.ts), so recovery can check a blob against its name.
 */
const FORMAT_2 = 'v2';

export interface OrphanJournal {
  /** The 4-hex folder prefixes the writer used. */
  prefixes: string[];
  format: 1 | 2;
  /** Removes the journal once its blobs are indexed durably. */
  release(): Promise<void>;
}

export class RecentJournal {
  private readonly file: string;
  private written = new Set<string>();

  constructor(private readonly dir: string, private readonly isAlive: (pid: number) => boolean = processAlive) {
    this.file = join(dir, `${process.pid}.${randomBytes(8).toString('hex')}`);
  }

  /** Records a folder prefix durably before the first blob goes into it. */
  async add(prefix: string): Promise<void> {
    if (this.written.has(prefix)) return;
    const created = this.written.size === 0;
    if (created) await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const fh = await open(this.file, 'a', 0o600);
    try {
      await fh.write(`${created ? FORMAT_2 + '\n' : ''}${prefix}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (created) await syncDir(this.dir);
    this.written.add(prefix);
  }

  /** Everything placed so far is indexed durably: keep only `current`, still being filled. */
  async forget(current: string | undefined): Promise<void> {
    if (this.written.size === 0 || (current !== undefined && this.written.size === 1 && this.written.has(current))) return;
    if (current === undefined) {
      await rm(this.file, { force: true });
      this.written = new Set();
    } else {
      const tmp = this.file + '.tmp';
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.write(`${FORMAT_2}\n${current}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
      this.written = new Set([current]);
    }
    await syncDir(this.dir);
  }

  /** Journals left by processes that are gone (crashed, or killed before their last barrier). */
  async orphans(): Promise<OrphanJournal[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: OrphanJournal[] = [];
    for (const name of names.sort()) {
      const m = NAME.exec(name);
      if (!m) continue; // a .tmp left by a crash mid-rewrite: the journal it replaces is still there
      const pid = Number(m[1]);
      if (this.isAlive(pid)) continue;
      const path = join(this.dir, name);
      const text = await readFile(path, 'latin1');
      const lines = text.split('\n');
      const prefixes = [...new Set(lines.filter((l) => PREFIX.test(l)))];
      out.push({
        prefixes, format: lines[0] === FORMAT_2 ? 2 : 1,
        release: async () => {
          await rm(path, { force: true });
          await rm(path + '.tmp', { force: true });
          await syncDir(this.dir);
        },
      });
    }
    return out;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

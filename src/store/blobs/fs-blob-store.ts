// Filesystem BlobStore: DATA/blobs/ab/cd/<key>. Writes go to DATA/blobs/.staging/<random>;
// at commit the file is renamed into its folder, then the file and the folder are fsynced
// together, and only then is the blob durable. A name can reach the disk before the bytes it
// names, so a key ends with 64 bits of the content's SHA-256: recovery after a power loss
// tells a torn blob (never acknowledged) from a whole one. An orphan in staging is swept, an
// unindexed blob is found by fsck.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, writevSync, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { RampartError } from '../../errors.js';
import { isBlobKey, type BlobStore, type RecentBlobs, type StagedBlob } from './blob-store.js';
import { RecentJournal, syncDir } from './recent-journal.js';

/** Hex digits of the content hash at the end of a key (the first 16 of 32 are folder + random). */
const HASH_DIGITS = 16;
const SPARE_MAX_AGE_MS = 20_000;
/** Whether a key names a blob whose bytes hash to `sha256`. */
export const keyMatches = (key: string, sha256: string): boolean => key.slice(32 - HASH_DIGITS) === sha256.slice(0, HASH_DIGITS);

export class FsBlobStore implements BlobStore {
  private readonly staging: string;
  private readonly madeDirs = new Set<string>();
  private readonly journal: RecentJournal;
  /** `isAlive` tells whether the process that wrote a journal still runs (tests pass their own). */
  constructor(private readonly root: string, opts: { isAlive?: (pid: number) => boolean } = {}) {
    this.staging = join(root, '.staging');
    this.journal = new RecentJournal(join(root, '.recent'), opts.isAlive);
  }

  async init(): Promise<this> {
    await mkdir(this.staging, { recursive: true, mode: 0o700 });
    return this;
  }

  private pathOf(key: string): string {
    if (!isBlobKey(key)) throw new RampartError('internal', 'invalid blob key');
    return join(this.root, key.slice(0, 2), key.slice(2, 4), key);
  }

  /**
   * A staging file opened ahead of time, so that an upload does not wait for open(2) on its
   * critical path. Made after the first stage() only: an idle node leaves staging empty.
   */
  private spare: Promise<FsStagedBlob> | undefined;
  private spareAt = 0;
  private closed = false;

  private spareName: string | undefined;

  private openStaged(asSpare = false): Promise<FsStagedBlob> {
    const name = randomBytes(16).toString('hex');
    if (asSpare) this.spareName = name;
    const path = join(this.staging, name);
    return open(path, 'wx+', 0o600).then((fh) => new FsStagedBlob(this, path, fh));
  }

  async stage(): Promise<StagedBlob> {
    if (this.closed) throw new RampartError('internal', 'blob store closed');
    let ready = this.spare;
    // Another process's start-up sweep removes staged files older than a minute: a spare that
    // sat idle that long is replaced rather than trusted.
    if (ready && Date.now() - this.spareAt > SPARE_MAX_AGE_MS) {
      void ready.then((s) => s.abort(), () => undefined);
      ready = undefined;
    }
    this.spare = this.openStaged(true);
    this.spareAt = Date.now();
    this.spare.catch(() => undefined); // a failed spare is reported by the stage() that takes it
    return ready ?? this.openStaged();
  }

  /** Removes the spare staging file and closes the folder handles (at shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    this.spare = undefined;
    await spare?.then((s) => s.abort(), () => undefined);
    const dirs = [...this.dirHandles.values()];
    this.dirHandles.clear();
    await Promise.all(dirs.map((d) => d.then((fh) => fh.close(), () => undefined)));
  }

  /** Open handles of the folders being filled, so syncing one costs a single fsync(2). */
  private readonly dirHandles = new Map<string, Promise<FileHandle>>();
  private syncFolder(dir: string): Promise<void> {
    let fh = this.dirHandles.get(dir);
    if (!fh) {
      fh = open(dir, 'r');
      fh.catch(() => this.dirHandles.delete(dir));
      this.dirHandles.set(dir, fh);
      // Two folders at most: the one being filled and the one before it.
      for (const [d, old] of this.dirHandles) {
        if (this.dirHandles.size <= 2) break;
        this.dirHandles.delete(d);
        void old.then((h) => h.close(), () => undefined); // FileHandle.close waits for a sync in flight
      }
    }
    return fh.then((h) => h.sync());
  }

  /** Consecutive batches share a folder (each has 65,536 names to choose from), renewed now and then. */
  private prefix: string | undefined;
  private prefixUses = 0;
  private async nextPrefix(count: number): Promise<string> {
    if (this.prefix === undefined || this.prefixUses + count > 4096) {
      this.prefix = randomBytes(2).toString('hex');
      this.prefixUses = 0;
    }
    this.prefixUses += count;
    // Journalled before the first blob lands there (a no-op for a folder already recorded).
    await this.journal.add(this.prefix);
    return this.prefix;
  }

  forgetRecent(opts: { all?: boolean } = {}): Promise<void> {
    if (opts.all) { this.prefix = undefined; this.prefixUses = 0; } // the next placement starts a new folder
    return this.journal.forget(this.prefix);
  }

  async orphanedRecent(): Promise<RecentBlobs[]> {
    const out: RecentBlobs[] = [];
    for (const j of await this.journal.orphans()) {
      const keys: string[] = [];
      for (const p of j.prefixes) {
        const dir = join(this.root, p.slice(0, 2), p.slice(2, 4));
        const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return []; throw e; });
        for (const k of names) if (isBlobKey(k) && k.startsWith(p)) keys.push(k);
      }
      // In the order they were written, so that a later version of an instance is indexed last.
      const when = new Map<string, number>();
      for (const k of keys) when.set(k, (await stat(this.pathOf(k)).catch(() => undefined))?.mtimeMs ?? 0);
      keys.sort((a, b) => when.get(a)! - when.get(b)! || (a < b ? -1 : 1));
      // Journals written before keys carried their content hash (format 1) cannot be checked.
      out.push({ keys, release: j.release, intact: (key, sha256) => j.format < 2 || keyMatches(key, sha256) });
    }
    return out;
  }

  async commitMany(staged: StagedBlob[]): Promise<string[]> {
    const { keys, placed } = await this.placeMany(staged);
    await placed;
    return keys;
  }

  /**
   * The keys are chosen at once (so the caller can index them while the files move): the batch's
   * folder (`prefix`, 4 hex digits, so a batch syncs one directory), 48 random bits, and 64 bits
   * of the content hash. The files are renamed without waiting for their fsync (running since
   * finish): the hash lets recovery refuse a blob whose name outlived its bytes, and nothing is
   * acknowledged before `placed`, which waits for both the bytes and the names.
   */
  async placeMany(staged: StagedBlob[]): Promise<{ keys: string[]; placed: Promise<void> }> {
    for (const s of staged) if (!(s instanceof FsStagedBlob)) throw new RampartError('internal', 'foreign staged blob');
    const list = staged as FsStagedBlob[];
    const prefix = await this.nextPrefix(list.length);
    const keys = list.map((s) => prefix + randomBytes(6).toString('hex') + s.sha256().slice(0, HASH_DIGITS));
    const placed = this.moveAndSync(list, keys, join(this.root, prefix.slice(0, 2), prefix.slice(2, 4)));
    placed.catch(() => undefined); // the caller awaits it
    return { keys, placed };
  }

  private async moveAndSync(list: FsStagedBlob[], keys: string[], dir: string): Promise<void> {
    const dirs = [dir];
    if (!this.madeDirs.has(dir)) {
      // A folder made now is durable only once its parents are synced too.
      const made = await mkdir(dir, { recursive: true, mode: 0o700 });
      if (made !== undefined) dirs.push(join(dir, '..'), this.root);
      this.madeDirs.add(dir);
    }
    const outcomes = [
      ...await Promise.allSettled(list.map((s, i) => s.placeAt(this.pathOf(keys[i]!)))),
      // Every file is settled (synced and closed) whatever happened to the others.
      ...await Promise.allSettled([...dirs.map((d) => (d === dir ? this.syncFolder(d) : syncDir(d))), ...list.map((s) => s.settle())]),
    ];
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  open(key: string, range?: { start: number; end: number }): Readable {
    const opts = range ? { start: range.start, end: range.end - 1, highWaterMark: 1 << 20 } : { highWaterMark: 1 << 20 };
    return createReadStream(this.pathOf(key), opts) as ReadStream;
  }

  async read(key: string, offset: number, length: number): Promise<Buffer> {
    const fh = await open(this.pathOf(key), 'r');
    try {
      return await readExactly(fh, offset, length);
    } finally {
      await fh.close();
    }
  }

  async readAll(key: string): Promise<Buffer> {
    const fh = await open(this.pathOf(key), 'r');
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  async size(key: string): Promise<number> {
    return (await stat(this.pathOf(key))).size;
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(key));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async *keys(): AsyncIterable<string> {
    const hex2 = /^[0-9a-f]{2}$/;
    for (const a of (await readdir(this.root)).filter((d) => hex2.test(d)).sort()) {
      for (const b of (await readdir(join(this.root, a))).filter((d) => hex2.test(d)).sort()) {
        // Only keys in their own folder: a stray file elsewhere is not a blob this store made.
        for (const k of (await readdir(join(this.root, a, b))).sort()) if (isBlobKey(k) && k.startsWith(a + b)) yield k;
      }
    }
  }

  async sweepStaging(olderThanMs: number): Promise<number> {
    let n = 0;
    const now = Date.now();
    for (const f of await readdir(this.staging)) {
      if (f === this.spareName) continue; // our own, opened ahead for the next upload
      const p = join(this.staging, f);
      const st = await stat(p).catch(() => undefined);
      if (st && now - st.mtimeMs >= olderThanMs) {
        await rm(p, { force: true });
        n++;
      }
    }
    return n;
  }
}

async function readExactly(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

const WRITE_BATCH = 256 * 1024;
/** Bytes written between two early fdatasync(2) calls of one large object. */
const EARLY_SYNC_BYTES = 2 * 1024 * 1024;

class FsStagedBlob implements StagedBlob {
  private hash = createHash('sha256');
  private size = 0;
  private pos = 0;
  private state: 'writing' | 'finished' | 'committed' | 'aborted' = 'writing';
  private fh: FileHandle | undefined;
  constructor(private readonly store: FsBlobStore, private readonly path: string, fh: FileHandle) {
    this.fh = fh;
  }

  /** Chunks waiting to be written: small network chunks are gathered into ~256 KiB writes. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The fsync started by finish(), awaited before the blob is reported placed. */
  private synced: Promise<void> | undefined;
  private digest: string | undefined;

  async write(chunk: Buffer): Promise<void> {
    if (this.state !== 'writing' || !this.fh) throw new RampartError('internal', 'write after finish');
    this.hash.update(chunk);
    this.size += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_BATCH) this.flush();
  }

  /**
   * Writes the gathered chunks, synchronously. A write of at most ~256 KiB into the page cache
   * takes tens of microseconds; through the thread pool each one cost ~50 us of CPU on the 2-vCPU
   * VM, and the last one was a round trip between the last byte and the start of the fsync.
   */
  private flush(): void {
    if (this.pendingBytes === 0 || !this.fh) return;
    // writev: the gathered chunks go out as they are, without copying them into one buffer.
    let bufs = this.pending;
    const total = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let done = 0;
    while (done < total) {
      const written = writevSync(this.fh.fd, bufs, this.pos);
      done += written;
      this.pos += written;
      if (done < total) bufs = remainder(bufs, written);
    }
    // A large object starts reaching the disk while the rest of it arrives, so the fsync at finish
    // has only the tail left to write (Node has no sync_file_range): one C-STORE of 64 MB or
    // 256 MB took 10-30% less time. Not awaited here; the final fsync covers every byte anyway.
    if (this.pos - this.syncedUpTo >= EARLY_SYNC_BYTES && !this.earlySync) {
      this.syncedUpTo = this.pos;
      const s: Promise<void> = this.fh.datasync().finally(() => { if (this.earlySync === s) this.earlySync = undefined; });
      this.earlySync = s;
      s.catch(() => undefined); // a failing disk fails the final fsync too
    }
  }

  /** Bytes handed to an early fdatasync so far, and the one in flight. */
  private syncedUpTo = 0;
  private earlySync: Promise<void> | undefined;

  /**
   * Writes what is left and starts the fsync; it runs while the caller reads the next upload,
   * and commit waits for it, so nothing is placed before its bytes are durable.
   */
  async finish(): Promise<{ size: number; sha256: string }> {
    if (this.state !== 'writing' || !this.fh) throw new RampartError('internal', 'finish twice');
    this.flush();
    const fh = this.fh;
    this.synced = fh.sync();
    this.synced.catch(() => undefined); // observed in settle() or abort()
    this.state = 'finished';
    this.digest = this.hash.digest('hex');
    return { size: this.size, sha256: this.digest };
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (!this.fh) throw new RampartError('internal', 'staged blob is closed');
    return readExactly(this.fh, offset, Math.max(0, Math.min(length, this.size - offset)));
  }

  /** The content hash, once finished. */
  sha256(): string {
    if (this.state !== 'finished' || !this.digest) throw new RampartError('internal', 'commit before finish');
    return this.digest;
  }

  /** Renames into place without syncing anything (placeMany syncs the files and folders). */
  async placeAt(dest: string): Promise<void> {
    if (this.state !== 'finished') throw new RampartError('internal', 'commit before finish');
    await rename(this.path, dest);
    this.state = 'committed';
  }

  /** Resolves once the bytes are durable, and closes the file. */
  async settle(): Promise<void> {
    try {
      await this.synced;
    } finally {
      const fh = this.fh;
      this.fh = undefined;
      await fh?.close().catch(() => undefined);
    }
  }

  async commit(): Promise<string> {
    const [key] = await this.store.commitMany([this]);
    return key!;
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    this.state = 'aborted';
    await this.earlySync?.catch(() => undefined);
    await this.synced?.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    await rm(this.path, { force: true });
  }
}

/** What is left of a list of buffers after its first `written` bytes went out (short writev). */
function remainder(bufs: Buffer[], written: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (written >= b.length) { written -= b.length; continue; }
    out.push(written > 0 ? b.subarray(written) : b);
    written = 0;
  }
  return out;
}

// The tamper-evident audit trail: one writer appends hash-chained JSON lines to
// DATA/audit/audit-<seq>.jsonl in the order events arrive, fsyncs them in small groups, and
// signs a checkpoint (entry count + last hash) after each durable group that crosses a
// threshold. record() resolves once the entry is written to the file (before the access it
// describes completes) and rejects when it cannot be written: the service then refuses the
// access (fail closed), unless the site chose audit.failOpen.
//
// Durability (what a power loss can lose): entries are written with write(2) as they come and
// fsync'd at most `syncIntervalMs` later (group commit), so a power loss can lose the entries
// of the last interval (default 50 ms) that the kernel had not yet flushed; a process crash
// loses nothing that record() acknowledged. A checkpoint is written only after the entries it
// counts are fsync'd, so a lost tail never ends before the last checkpoint; `audit verify`
// reports any trail shorter than its last checkpoint as a truncated tail.
import { ftruncateSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { RampartError } from '../../errors.js';
import type { AuditEvent, AuditSink } from '../../services/audit-port.js';
import { GENESIS, makeEntry, signCheckpoint, type ChainEntry } from './chain.js';
import { CHECKPOINTS, listTrailFiles, trailFileName } from './files.js';

export interface TrailOptions {
  dir: string;
  signingKey: KeyObject;
  /** Record failures are logged and the access goes on (default false: the access is refused). */
  failOpen?: boolean;
  syncIntervalMs?: number;
  checkpointEvery?: number;
  checkpointIntervalMs?: number;
  /** A new file starts when the current one reaches this size or the UTC day changes. */
  rotateBytes?: number;
  /** Adds what the index knows (patients of the studies) before the event is written. */
  enrich?: (e: AuditEvent) => Promise<AuditEvent>;
  log?: (m: string) => void;
  /** Called at close: gives up the claim on the chain directory (files.ts claimChainDir). */
  release?: () => Promise<void>;
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try { await d.sync(); } finally { await d.close(); }
}

interface Waiting { event: AuditEvent; resolve(): void; reject(e: unknown): void }

export class AuditTrail implements AuditSink {
  private fh: FileHandle | undefined;
  private size = 0;
  private day = '';
  private seq = 0;
  private last = GENESIS;
  private waiting: Waiting[] = [];
  private writing = false;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointed = 0;
  private broken: Error | undefined;
  private closed = false;
  private listeners: ((e: ChainEntry) => void)[] = [];
  private syncing: Promise<void> = Promise.resolve();
  /** Entries lost to a torn last line found at start (a crash in the middle of a write). */
  repairedTail = false;

  private constructor(private readonly opts: Required<Omit<TrailOptions, 'enrich' | 'release'>> & Pick<TrailOptions, 'enrich' | 'release'>) {}

  static async open(o: TrailOptions): Promise<AuditTrail> {
    const t = new AuditTrail({
      failOpen: false, syncIntervalMs: 50, checkpointEvery: 1000, checkpointIntervalMs: 60_000, rotateBytes: 64 * 1024 ** 2,
      log: () => undefined, ...o,
    });
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    await t.recover();
    t.checkpointTimer = setInterval(() => { void t.sync().catch(() => undefined); }, t.opts.checkpointIntervalMs);
    t.checkpointTimer.unref();
    return t;
  }

  /** Count of entries in the trail, and the hash of the last one. */
  get head(): { count: number; lastHash: string } { return { count: this.seq, lastHash: this.last }; }

  /** Called with each entry once it is written (in chain order): alerts, the syslog forwarder. */
  onEntry(f: (e: ChainEntry) => void): void { this.listeners.push(f); }

  async record(event: AuditEvent): Promise<void> {
    try {
      if (this.closed) throw new RampartError('internal', 'audit trail is closed');
      if (this.broken) throw this.broken;
      const e = this.opts.enrich ? await this.opts.enrich(event).catch(() => event) : event;
      await new Promise<void>((resolve, reject) => {
        this.waiting.push({ event: e, resolve, reject });
        void this.drain();
      });
    } catch (err) {
      if (!this.opts.failOpen) throw new RampartError('unavailable', 'the access cannot be recorded in the audit trail', { cause: err });
      this.opts.log(`audit: an event could not be recorded and audit.failOpen lets the access go on (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.waiting.length) {
        const batch = this.waiting.splice(0, 512);
        try {
          if (this.broken) throw this.broken;
          await this.rotateIfDue();
          const entries: ChainEntry[] = [];
          let prev = this.last;
          for (const [i, w] of batch.entries()) {
            const entry = makeEntry(this.seq + i, prev, w.event);
            entries.push(entry);
            prev = entry.hash;
          }
          const bytes = Buffer.from(entries.map((x) => JSON.stringify(x) + '\n').join(''));
          await this.append(bytes);
          this.seq += entries.length;
          this.last = prev;
          this.dirty = true;
          this.scheduleSync();
          for (const w of batch) w.resolve();
          for (const entry of entries) for (const l of this.listeners) { try { l(entry); } catch { /* a listener never breaks the trail */ } }
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Writes all of `bytes` at the end of the file; on failure cuts the file back so no half line stays. */
  private async append(bytes: Buffer): Promise<void> {
    const fh = this.fh!;
    let off = 0;
    try {
      // A synchronous write of a few hundred bytes into the page cache takes microseconds; going
      // through the thread pool instead cost about a millisecond per entry (a serial C-STORE stream).
      while (off < bytes.length) off += writeSync(fh.fd, bytes, off, bytes.length - off, this.size + off);
      this.size += bytes.length;
    } catch (err) {
      try {
        ftruncateSync(fh.fd, this.size);
      } catch {
        // The file cannot even be cut back: stop writing rather than chain onto a torn line.
        this.broken = new RampartError('internal', 'audit trail file is in an unknown state');
      }
      throw err;
    }
  }

  private scheduleSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.sync(false).catch(() => undefined);
    }, this.opts.syncIntervalMs);
  }

  /** fsyncs the written entries, then signs a checkpoint when one is due (or `force`d). */
  sync(force = true): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      if (this.dirty && this.fh) {
        this.dirty = false;
        const count = this.seq, lastHash = this.last;
        try {
          await this.fh.sync();
        } catch (err) {
          this.broken = new RampartError('internal', 'audit trail cannot be synced to disk', { cause: err });
          throw err;
        }
        if (force || count - this.checkpointed >= this.opts.checkpointEvery) await this.checkpoint(count, lastHash);
      } else if (force && this.seq > this.checkpointed) {
        await this.checkpoint(this.seq, this.last);
      }
    });
    return this.syncing;
  }

  private async checkpoint(count: number, lastHash: string): Promise<void> {
    const cp = signCheckpoint(this.opts.signingKey, count, lastHash);
    const fh = await open(join(this.opts.dir, CHECKPOINTS), 'a', 0o600);
    try {
      await fh.write(JSON.stringify(cp) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.checkpointed = count;
  }

  private async rotateIfDue(): Promise<void> {
    const today = new Date().toISOString().slice(0, 10);
    if (this.fh && this.size < this.opts.rotateBytes && (this.day === today || this.size === 0)) return;
    // The old file is synced before the switch; a sync timer firing meanwhile finds the new handle, never a closing one.
    const old = this.fh;
    if (old) await this.sync(false);
    const fh = await open(join(this.opts.dir, trailFileName(this.seq)), 'a', 0o600);
    this.size = (await fh.stat()).size;
    if (this.size === 0) await syncDir(this.opts.dir); // the new file's name must survive a power loss too
    this.fh = fh;
    this.day = today;
    await old?.close();
  }

  /** Finds where the chain ends; a torn last line (a crash mid-write) is cut off. */
  private async recover(): Promise<void> {
    const files = await listTrailFiles(this.opts.dir);
    const lastFile = files[files.length - 1];
    if (!lastFile) return;
    const text = await readFile(lastFile.path);
    // Bytes up to the last newline are whole lines; the last of them must be a whole entry.
    let end = text.lastIndexOf(0x0a) + 1;
    if (end < text.length) this.repairedTail = true;
    let lastEntry: ChainEntry | undefined;
    while (end > 0) {
      const start = text.lastIndexOf(0x0a, end - 2) + 1;
      try {
        const e = JSON.parse(text.subarray(start, end - 1).toString('utf8')) as ChainEntry;
        if (typeof e.seq === 'number' && typeof e.hash === 'string') { lastEntry = e; break; }
      } catch { /* a torn line */ }
      this.repairedTail = true;
      end = start;
    }
    if (this.repairedTail) {
      const fh = await open(lastFile.path, 'r+');
      await fh.truncate(end);
      await fh.sync();
      await fh.close();
      this.opts.log('audit: the last trail entry was torn (crash during a write) and has been cut off');
    }
    if (lastEntry) {
      this.seq = lastEntry.seq + 1;
      this.last = lastEntry.hash;
    } else {
      this.seq = lastFile.firstSeq;
    }
    this.checkpointed = this.seq;
    this.fh = await open(lastFile.path, 'a', 0o600);
    this.size = (await this.fh.stat()).size;
    this.day = new Date((await this.fh.stat()).mtime).toISOString().slice(0, 10);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.writing || this.waiting.length) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    clearInterval(this.checkpointTimer);
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (!this.broken) await this.sync(true).catch(() => undefined);
    await this.fh?.close();
    this.fh = undefined;
    await this.opts.release?.();
  }
}

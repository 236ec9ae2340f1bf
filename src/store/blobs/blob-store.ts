// The BlobStore port: where the bytes of stored objects live. Keys are made by the store
// (random ids), never taken from peer data. A write is staged, then committed durably.
import type { Readable } from 'node:stream';

export interface StagedBlob {
  /** Appends bytes; resolves when the chunk is accepted (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /** Ends the upload and makes the bytes durable in the staging area. */
  finish(): Promise<{ size: number; sha256: string }>;
  /** Reads `length` bytes at `offset` of what was written (after finish). */
  read(offset: number, length: number): Promise<Buffer>;
  /** Moves the blob to its permanent key; durable when the promise resolves. */
  commit(): Promise<string>;
  /** Drops the staged bytes; safe to call at any point, and more than once. */
  abort(): Promise<void>;
}

/** Blobs placed by a writer that stopped before its index was made durable. */
export interface RecentBlobs {
  /** In the order they were placed. */
  keys: string[];
  /**
   * Whether the blob under `key` holds what was placed there: false when a crash left it torn
   * (a name can become durable before the bytes; such a blob was never acknowledged).
   */
  intact(key: string, sha256: string): boolean;
  /** Forgets them once each is indexed durably (or found not to be an object). */
  release(): Promise<void>;
}

export interface BlobStore {
  stage(): Promise<StagedBlob>;
  /** Commits several staged blobs with one round of directory syncs; keys in input order. */
  commitMany(staged: StagedBlob[]): Promise<string[]>;
  /**
   * Like commitMany, but resolves once the blobs are under their keys, with `placed` resolving
   * when their bytes and names are durable. Lets a caller write its index while the files and
   * directories sync; it must await `placed` before it reports success.
   */
  placeMany(staged: StagedBlob[]): Promise<{ keys: string[]; placed: Promise<void> }>;
  open(key: string, range?: { start: number; end: number }): Readable;
  read(key: string, offset: number, length: number): Promise<Buffer>;
  readAll(key: string): Promise<Buffer>;
  size(key: string): Promise<number>;
  /** Removes a blob; resolves false when it was not there. */
  delete(key: string): Promise<boolean>;
  /** Every committed key, for fsck. */
  keys(): AsyncIterable<string>;
  /**
   * Every blob placed so far is indexed durably: forget where they went (except the folder still
   * being filled, unless `all`). Called with no placement in flight (ingest calls it between its
   * commit rounds, and with `all` when it closes).
   */
  forgetRecent(opts?: { all?: boolean }): Promise<void>;
  /** What writers that are gone placed since their last forgetRecent(): start-up recovery. */
  orphanedRecent(): Promise<RecentBlobs[]>;
  /** Staged leftovers older than `olderThanMs` (from a crash), removed; returns how many. */
  sweepStaging(olderThanMs: number): Promise<number>;
  /** Releases what the store holds open (at shutdown, after the last commit). */
  close(): Promise<void>;
}

/** Keys are 32 lower-case hex digits; anything else is refused before it reaches a path. */
export const isBlobKey = (k: string): boolean => /^[0-9a-f]{32}$/.test(k);

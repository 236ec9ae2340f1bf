import { createHash } from 'node:crypto';
import { mkdtemp, readdir, truncate, utimes } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBlobStoreContract } from './blob-store.contract.js';
import { FsBlobStore, keyMatches } from './fs-blob-store.js';

runBlobStoreContract('filesystem', async () => new FsBlobStore(await mkdtemp(join(tmpdir(), 'rampart-blobs-'))).init());

describe('FsBlobStore journal of recent folders (start-up recovery after a power loss)', () => {
  const place = async (store: FsBlobStore, text: string) => {
    const s = await store.stage();
    await s.write(Buffer.from(text));
    await s.finish();
    return s.commit();
  };
  const root = () => mkdtemp(join(tmpdir(), 'rampart-journal-'));

  it('hands the blobs of a writer that is gone to recovery, once, and never those of a running one', async () => {
    const dir = await root();
    const writer = await new FsBlobStore(dir).init();
    const keys = [await place(writer, 'one'), await place(writer, 'two')];
    // The writer is this very process: still running, so nothing is an orphan.
    expect(await new FsBlobStore(dir).init().then((s) => s.orphanedRecent())).toEqual([]);
    const recovery = await new FsBlobStore(dir, { isAlive: () => false }).init();
    const sets = await recovery.orphanedRecent();
    expect(sets).toHaveLength(1);
    expect([...sets[0]!.keys].sort()).toEqual([...keys].sort());
    await sets[0]!.release();
    expect(await recovery.orphanedRecent()).toEqual([]);
  });

  it('lists the blobs of a folder in the order they were written', async () => {
    const dir = await root();
    const writer = await new FsBlobStore(dir).init();
    const first = await place(writer, 'first');
    const second = await place(writer, 'second');
    const path = (k: string) => join(dir, k.slice(0, 2), k.slice(2, 4), k);
    await utimes(path(first), new Date(2_000_000_000_000), new Date(2_000_000_000_000)); // written "later"
    const [set] = await new FsBlobStore(dir, { isAlive: () => false }).init().then((s) => s.orphanedRecent());
    expect(set!.keys).toEqual([second, first]);
  });

  it('forgets every folder when told all is durable, and journals the next placement afresh', async () => {
    const dir = await root();
    const writer = await new FsBlobStore(dir).init();
    await place(writer, 'before');
    await writer.forgetRecent({ all: true });
    const recovery = new FsBlobStore(dir, { isAlive: () => false });
    await recovery.init();
    expect(await recovery.orphanedRecent()).toEqual([]);
    const after = await place(writer, 'after');
    const sets = await recovery.orphanedRecent();
    expect(sets.flatMap((s) => s.keys)).toContain(after);
  });

  it('keeps the folder still being filled when forgetting the rest', async () => {
    const dir = await root();
    const writer = await new FsBlobStore(dir).init();
    const key = await place(writer, 'current');
    await writer.forgetRecent();
    const sets = await new FsBlobStore(dir, { isAlive: () => false }).init().then((s) => s.orphanedRecent());
    expect(sets.flatMap((s) => s.keys)).toEqual([key]);
    expect(await readdir(join(dir, '.recent'))).toHaveLength(1);
  });
});

describe('FsBlobStore names and torn blobs', () => {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('ends every key with 64 bits of the content hash, after the folder and 48 random bits', async () => {
    const store = await new FsBlobStore(await mkdtemp(join(tmpdir(), 'rampart-names-'))).init();
    const body = Buffer.from('same content');
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await store.stage();
      await s.write(body);
      await s.finish();
      keys.push(await s.commit());
    }
    expect(keys[0]).not.toBe(keys[1]);
    for (const k of keys) expect(k.slice(16)).toBe(sha(body).slice(0, 16));
    expect(keyMatches(keys[0]!, sha(body))).toBe(true);
    expect(keyMatches(keys[0]!, sha(Buffer.from('other')))).toBe(false);
    await store.close();
  });

  it('tells recovery that a blob cut short after its name reached the disk is not intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-torn-'));
    const writer = await new FsBlobStore(dir).init();
    const whole = Buffer.alloc(100_000, 7);
    const s = await writer.stage();
    await s.write(whole);
    await s.finish();
    const key = await s.commit();
    const [set] = await new FsBlobStore(dir, { isAlive: () => false }).init().then((r) => r.orphanedRecent());
    expect(set!.intact(key, sha(whole))).toBe(true);
    // What a power loss between rename and fsync can leave: the name, and fewer bytes.
    await truncate(join(dir, key.slice(0, 2), key.slice(2, 4), key), 4096);
    expect(set!.intact(key, sha(whole.subarray(0, 4096)))).toBe(false);
    await writer.close();
  });

  it('keeps one staging file open ahead, and removes it at close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-spare-'));
    const store = await new FsBlobStore(dir).init();
    expect(await readdir(join(dir, '.staging'))).toEqual([]); // nothing before the first upload
    const s = await store.stage();
    await s.write(Buffer.from('x'));
    await s.finish();
    await s.commit();
    await new Promise((r) => setTimeout(r, 50));
    expect(await readdir(join(dir, '.staging'))).toHaveLength(1);
    await store.close();
    expect(await readdir(join(dir, '.staging'))).toEqual([]);
    await expect(store.stage()).rejects.toThrow(/closed/);
  });
});

describe('FsBlobStore large objects', () => {
  it('keeps every byte of an object written while early syncs of its head run', async () => {
    const store = await new FsBlobStore(await mkdtemp(join(tmpdir(), 'rampart-large-'))).init();
    const whole = Buffer.alloc(9 * 1024 * 1024);
    for (let i = 0; i < whole.length; i += 4) whole.writeUInt32LE(i, i);
    const s = await store.stage();
    for (let o = 0; o < whole.length; o += 100_000) await s.write(whole.subarray(o, Math.min(whole.length, o + 100_000)));
    const { size, sha256 } = await s.finish();
    expect(size).toBe(whole.length);
    expect(sha256).toBe(createHash('sha256').update(whole).digest('hex'));
    const key = await s.commit();
    expect((await store.readAll(key)).equals(whole)).toBe(true);
    await store.close();
  });
});

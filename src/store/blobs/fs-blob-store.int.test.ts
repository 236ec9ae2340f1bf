import { mkdtemp, readdir, utimes } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBlobStoreContract } from './blob-store.contract.js';
import { FsBlobStore } from './fs-blob-store.js';

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

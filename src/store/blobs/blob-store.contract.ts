// The shared contract every BlobStore adapter passes (filesystem now, S3-compatible later).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.js';

async function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export function runBlobStoreContract(name: string, make: () => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    it('stores staged bytes under a server-made key and reads them back whole and by range', async () => {
      const store = await make();
      const s = await store.stage();
      const data = Buffer.from('0123456789'.repeat(1000));
      await s.write(data.subarray(0, 4000));
      await s.write(data.subarray(4000));
      const { size, sha256 } = await s.finish();
      expect(size).toBe(10_000);
      expect(sha256).toBe(createHash('sha256').update(data).digest('hex'));
      expect((await s.read(10, 5)).toString()).toBe('01234');
      const key = await s.commit();
      expect(key).toMatch(/^[0-9a-f]{32}$/);
      expect(await store.readAll(key)).toEqual(data);
      expect((await store.read(key, 5, 3)).toString()).toBe('567');
      expect(await collect(store.open(key, { start: 2, end: 6 }))).toEqual(data.subarray(2, 6));
      expect(await store.size(key)).toBe(10_000);
    });

    it('commits many blobs at once, each under its own key', async () => {
      const store = await make();
      const staged = await Promise.all([1, 2, 3].map(() => store.stage()));
      for (const [i, s] of staged.entries()) { await s.write(Buffer.from(`blob ${i}`)); await s.finish(); }
      const keys = await store.commitMany(staged);
      expect(new Set(keys).size).toBe(3);
      expect((await store.readAll(keys[2]!)).toString()).toBe('blob 2');
      const listed: string[] = [];
      for await (const k of store.keys()) listed.push(k);
      for (const k of keys) expect(listed).toContain(k);
    });

    it('places blobs first and makes their names durable after, when asked', async () => {
      const store = await make();
      const staged = await Promise.all([1, 2].map(() => store.stage()));
      for (const [i, s] of staged.entries()) { await s.write(Buffer.from(`placed ${i}`)); await s.finish(); }
      const { keys, placed } = await store.placeMany(staged);
      await placed;
      expect((await store.readAll(keys[1]!)).toString()).toBe('placed 1');
    });

    it('leaves nothing behind when a staged blob is aborted', async () => {
      const store = await make();
      const s = await store.stage();
      await s.write(Buffer.from('half'));
      await s.abort();
      await s.abort();
      const listed: string[] = [];
      for await (const k of store.keys()) listed.push(k);
      expect(listed).toEqual([]);
      expect(await store.sweepStaging(0)).toBe(0);
    });

    it('sweeps staged leftovers of a crashed upload', async () => {
      const store = await make();
      const s = await store.stage();
      await s.write(Buffer.from('crash'));
      expect(await store.sweepStaging(0)).toBe(1);
    });

    it('deletes a blob and says when there was nothing to delete', async () => {
      const store = await make();
      const s = await store.stage();
      await s.write(Buffer.from('x'));
      await s.finish();
      const key = await s.commit();
      expect(await store.delete(key)).toBe(true);
      expect(await store.delete(key)).toBe(false);
    });

    it('refuses a key that is not one it made, before touching any path', async () => {
      const store = await make();
      await expect(store.readAll('../../etc/passwd')).rejects.toThrow(/invalid blob key/);
    });
  });
}

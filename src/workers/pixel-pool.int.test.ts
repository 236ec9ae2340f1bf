// The worker pool renders off the event loop with the same result as in-thread, passes errors
// through by code, refuses work beyond its queue, and stops a job that runs too long.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { InlinePixelJobs } from './pixel-job.js';
import { PixelPool } from './pixel-pool.js';

const DATA = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const limits = { maxSamples: 1 << 26 };
const ct = readFileSync(`${DATA}/CT_small.dcm`);
const pools: PixelPool[] = [];
const pool = (o: Partial<ConstructorParameters<typeof PixelPool>[0]> = {}) => {
  const p = new PixelPool({ size: 1, maxQueue: 8, timeoutMs: 60_000, limits, ...o });
  pools.push(p);
  return p;
};
afterAll(async () => { for (const p of pools) await p.close(); });

describe('pixel worker pool', () => {
  it('renders in a worker exactly as in-thread', async () => {
    const o = { frame: 1, mediaType: 'image/png' as const, window: { center: 40, width: 400, fn: 'LINEAR' as const } };
    const fromPool = await pool().render(ct, o);
    const inline = await new InlinePixelJobs(limits).render(ct, o);
    expect(Buffer.compare(fromPool, inline)).toBe(0);
  });

  it('decodes frames and converts objects in a worker', async () => {
    const p = pool({ size: 2 });
    const j2k = readFileSync(`${DATA}/MR_small_jp2klossless.dcm`);
    const [frame] = await p.frames(j2k, [1]);
    expect(frame!.length).toBe(64 * 64 * 2);
    const native = await p.convert(j2k, '1.2.840.10008.1.2.1');
    expect(native.includes(Buffer.from(frame!))).toBe(true);
  });

  it('passes a decoding error through by its code and keeps serving', async () => {
    const p = pool();
    const broken = Buffer.from(readFileSync(`${DATA}/MR_small_jp2klossless.dcm`));
    const at = broken.lastIndexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    broken.fill(0x00, at, at + 8); // the codestream no longer starts with SOC SIZ
    await expect(p.render(broken, { frame: 1, mediaType: 'image/png' })).rejects.toMatchObject({ code: 'invalid-dicom' });
    expect((await p.render(ct, { frame: 1, mediaType: 'image/png' })).subarray(1, 4).toString()).toBe('PNG');
  });

  it('refuses a job when every worker is busy and the queue is full', async () => {
    const p = pool({ size: 1, maxQueue: 1 });
    const o = { frame: 1, mediaType: 'image/jpeg' as const };
    const first = p.render(ct, o), second = p.render(ct, o);
    await expect(p.render(ct, o)).rejects.toMatchObject({ code: 'unavailable' });
    await Promise.all([first, second]);
  });

  it('stops a job that runs longer than the timeout and answers unavailable', async () => {
    const p = pool({ timeoutMs: 1 }); // less than a worker takes to start
    await expect(p.render(ct, { frame: 1, mediaType: 'image/png' })).rejects.toMatchObject({ code: 'unavailable' });
    expect(p.load.workers).toBe(0);
  });
});

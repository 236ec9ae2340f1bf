// The JPEG writer, checked by decoding its output with Pillow: ordinary frames, tiny images and
// noise at full quality (both larger as JPEG than as pixels, which the WASM encoder cannot hold).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pilDecode } from '../../../test/support/pil.js';
import { encodeJpeg } from './jpeg.js';

const hasPil = existsSync('/usr/lib/python3/dist-packages/PIL');
const meanDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

describe.skipIf(!hasPil)('JPEG writer', () => {
  it('writes a smooth gray frame that decodes close to its pixels', async () => {
    const w = 256, h = 200;
    const px = Uint8Array.from({ length: w * h }, (_, i) => ((i % w) + Math.floor(i / w)) & 0xff);
    const d = pilDecode(await encodeJpeg(w, h, 1, px, 90));
    expect(d).toMatchObject({ format: 'JPEG', mode: 'L', width: w, height: h });
    expect(meanDiff(d.pixels, px)).toBeLessThan(2);
  });

  it('writes color', async () => {
    const w = 120, h = 80;
    const px = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i % 3 === 0 ? 200 : i % 3 === 1 ? 40 : 90));
    const d = pilDecode(await encodeJpeg(w, h, 3, px, 95));
    expect(d).toMatchObject({ format: 'JPEG', mode: 'RGB', width: w, height: h });
    expect(meanDiff(d.pixels, px)).toBeLessThan(4);
  });

  it('writes a 10x10 image and full-quality noise, both larger than their pixels', async () => {
    const tiny = pilDecode(await encodeJpeg(10, 10, 1, new Uint8Array(100).fill(77), 90));
    expect(tiny).toMatchObject({ width: 10, height: 10 });
    const noise = Uint8Array.from({ length: 96 * 96 }, (_, i) => (i * 2654435761) >>> 24);
    const out = await encodeJpeg(96, 96, 1, noise, 100);
    expect(out.length).toBeGreaterThan(noise.length);
    expect(pilDecode(out)).toMatchObject({ width: 96, height: 96 });
    // and the fast encoder is usable again afterwards
    expect(pilDecode(await encodeJpeg(64, 64, 1, new Uint8Array(4096).fill(9), 80)).width).toBe(64);
  });
});

// Our PNG writer, checked by decoding its output with an independent decoder (Pillow) and by the
// CRC of a known chunk.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pilDecode } from '../../../test/support/pil.js';
import { crc32, encodePng } from './png.js';

const hasPil = existsSync('/usr/lib/python3/dist-packages/PIL');

describe('PNG writer', () => {
  it('computes the CRC-32 PNG uses (the IEND chunk CRC is AE426082)', () => {
    expect(crc32([Buffer.from('IEND')]).toString(16)).toBe('ae426082');
  });

  it.skipIf(!hasPil)('writes grayscale that Pillow decodes to the same pixels', () => {
    const w = 37, h = 11;
    const px = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) & 0xff);
    const d = pilDecode(encodePng(w, h, 1, px));
    expect(d).toMatchObject({ format: 'PNG', mode: 'L', width: w, height: h });
    expect(Buffer.compare(d.pixels, Buffer.from(px))).toBe(0);
  });

  it.skipIf(!hasPil)('writes RGB that Pillow decodes to the same pixels', () => {
    const w = 5, h = 300;
    const px = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 31 + (i >> 4)) & 0xff);
    const d = pilDecode(encodePng(w, h, 3, px));
    expect(d).toMatchObject({ format: 'PNG', mode: 'RGB', width: w, height: h });
    expect(Buffer.compare(d.pixels, Buffer.from(px))).toBe(0);
  });

  it('refuses a pixel buffer of the wrong size', () => {
    expect(() => encodePng(2, 2, 3, new Uint8Array(11))).toThrow(RangeError);
  });
});

// Hostile and broken compressed frames give a clear error and leave the decoders usable; sizes
// come from the stream's header and must agree with the data set.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isRampartError } from '../../errors.js';
import { getFrames } from '../frames.js';
import { parsePart10 } from '../reader.js';
import { TS } from '../transfer-syntax.js';
import { j2kHeader, jpegHeader } from './header.js';
import { decodeFrame, decodeFrames, frameDescription, type FrameDescription } from './index.js';

const DATA = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const sample = (f: string) => parsePart10(readFileSync(`${DATA}/${f}`));
const mono8: FrameDescription = { rows: 8, columns: 8, samplesPerPixel: 1, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, planarConfiguration: 0, photometric: 'MONOCHROME2' };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'resolved'; } catch (e) { return isRampartError(e) ? e.code : `crash: ${String(e)}`; }
}

describe('compressed frame decoding', () => {
  it('reads the frame size from JPEG, JPEG-LS and JPEG 2000 headers', () => {
    const jpeg = getFrames(sample('SC_rgb_jpeg_dcmtk.dcm'), [1]).frames[0]!;
    expect(jpegHeader(jpeg)).toMatchObject({ rows: 100, columns: 100, components: 3, precision: 8, sof: 0xc0 });
    const jls = getFrames(sample('MR_small_jpeg_ls_lossless.dcm'), [1]).frames[0]!;
    expect(jpegHeader(jls)).toMatchObject({ rows: 64, columns: 64, components: 1, precision: 16, sof: 0xf7 });
    const j2k = getFrames(sample('MR_small_jp2klossless.dcm'), [1]).frames[0]!;
    expect(j2kHeader(j2k)).toMatchObject({ rows: 64, columns: 64, components: 1, precision: 16, signed: true });
  });

  it('rejects bytes that are no stream of the syntax as invalid DICOM', async () => {
    for (const ts of [TS.JPEGBaseline8Bit, TS.JPEGLossless, TS.JPEGLSLossless, TS.JPEG2000Lossless]) {
      expect(await codeOf(decodeFrame(ts, Buffer.from('not an image at all'), mono8))).toBe('invalid-dicom');
    }
  });

  it('rejects a stream whose header disagrees with Rows and Columns before decoding it', async () => {
    const p = sample('SC_rgb_jpeg_dcmtk.dcm');
    const frame = getFrames(p, [1]).frames[0]!;
    const d = { ...frameDescription(p.dataset), rows: 4000 };
    await expect(decodeFrame(TS.JPEGBaseline8Bit, frame, d)).rejects.toThrow(/100x100 but Columns x Rows is 100x4000/);
  });

  it('rejects truncated and bit-flipped streams cleanly and decodes the next good frame', async () => {
    for (const [file, ts] of [['SC_rgb_jpeg_dcmtk.dcm', TS.JPEGBaseline8Bit], ['MR_small_jpeg_ls_lossless.dcm', TS.JPEGLSLossless], ['MR_small_jp2klossless.dcm', TS.JPEG2000Lossless], ['SC_rgb_jpeg_gdcm.dcm', TS.JPEGLosslessSV1]] as const) {
      const p = sample(file);
      const d = frameDescription(p.dataset);
      const good = getFrames(p, [1]).frames[0]!;
      const truncated = good.subarray(0, Math.floor(good.length / 3));
      const code = await codeOf(decodeFrame(ts, truncated, d));
      // Some decoders fill a truncated stream's missing part (libjpeg warns, it does not fail); none may crash.
      expect(['invalid-dicom', 'resolved']).toContain(code);
      const flipped = Buffer.from(good);
      for (let i = 200; i < flipped.length; i += 97) flipped[i] = flipped[i]! ^ 0x5a;
      expect(['invalid-dicom', 'resolved']).toContain(await codeOf(decodeFrame(ts, flipped, d)));
      const again = await decodeFrame(ts, good, d);
      expect(again.pixels.length).toBe(d.rows * d.columns * d.samplesPerPixel * d.bitsAllocated / 8);
    }
  });

  it('refuses to decode more samples than the limit allows', async () => {
    const p = sample('SC_rgb_jpeg_dcmtk.dcm');
    await expect(decodeFrames(p, [1], { maxSamples: 100 * 100 * 3 - 1 })).rejects.toMatchObject({ code: 'too-large' });
    expect((await decodeFrames(p, [1], { maxSamples: 100 * 100 * 3 })).frames[0]!.length).toBe(30000);
  });

  it('decodes 12-bit lossy JPEG to 16-bit samples within 12 bits, and rejects a damaged one cleanly', async () => {
    const p = sample('JPGExtended.dcm');
    const d = frameDescription(p.dataset);
    const [frame] = (await decodeFrames(p, [1], { maxSamples: 1 << 26 })).frames;
    expect(frame!.length).toBe(d.rows * d.columns * 2);
    let max = 0;
    for (let i = 0; i < frame!.length; i += 2) max = Math.max(max, frame!.readUInt16LE(i));
    expect(max).toBeGreaterThan(255);
    expect(max).toBeLessThan(4096);
    const good = getFrames(p, [1]).frames[0]!;
    const damaged = Buffer.from(good);
    for (let i = good.length - 2000; i < good.length - 2; i += 3) damaged[i] = 0xfe;
    expect(['invalid-dicom', 'resolved']).toContain(await codeOf(decodeFrame(TS.JPEGExtended12Bit, damaged, d)));
    expect(await codeOf(decodeFrame(TS.JPEGExtended12Bit, good.subarray(0, 300), d))).toMatch(/invalid-dicom|resolved/);
  });
});

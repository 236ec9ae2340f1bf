// Tests for the RLE Lossless decoder: pydicom's RLE test files (read in place, never copied)
// must decode byte for byte as pydicom and DCMTK's dcmdrle decode them, and hostile frames must
// fail cleanly.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isRampartError, type ErrorCode } from '../errors.js';
import { parsePart10 } from './reader.js';
import { decodeRleFrame, rleFrameBytes } from './rle.js';
import { Tags } from './tag.js';

// Debian's python3-pydicom; plain `python3` may be a pyenv shim without pydicom.
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../test/support/pydicom-pixels.py', import.meta.url));
const DATA = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

interface PydicomPixels { file: string; error?: string; shape?: number[]; pixels?: string; samplesPerPixel?: number; bitsAllocated?: number }

function pydicomPixels(files: string[]): Map<string, PydicomPixels> | undefined {
  if (!existsSync(PYTHON) || !existsSync(DATA)) return undefined;
  try {
    const out = JSON.parse(execFileSync(PYTHON, [SCRIPT, ...files], { encoding: 'utf8', maxBuffer: 256 << 20 })) as { files: PydicomPixels[] };
    return new Map(out.files.map((f) => [f.file, f]));
  } catch {
    return undefined; // pydicom missing: the comparisons are skipped, not failed
  }
}

const hasDcmtk = (() => { try { execFileSync('dcmdrle', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();

const RLE_FILES = [
  'MR_small_RLE.dcm', 'SC_rgb_rle.dcm', 'SC_rgb_rle_2frame.dcm', 'SC_rgb_rle_16bit.dcm', 'SC_rgb_rle_16bit_2frame.dcm',
  'SC_rgb_rle_32bit.dcm', 'SC_rgb_rle_32bit_2frame.dcm', 'rtdose_rle.dcm', 'rtdose_rle_1frame.dcm',
].filter((f) => existsSync(join(DATA, f)));

const reference = pydicomPixels(RLE_FILES.map((f) => join(DATA, f)));

/** Decodes every frame of an RLE file (one fragment per frame in all of pydicom's files). */
function decodeFile(buf: Buffer, planar?: 0 | 1): Buffer {
  const ds = parsePart10(buf).dataset;
  const fragments = ds.get(Tags.PixelData)!.fragments!.slice(1);
  const n = ds.number(Tags.NumberOfFrames) ?? 1;
  expect(fragments.length).toBe(n);
  const pc = planar ?? (ds.number(Tags.PlanarConfiguration) === 1 ? 1 : 0);
  return Buffer.concat(fragments.map((f) =>
    decodeRleFrame(f, ds.number(Tags.Rows)!, ds.number(Tags.Columns)!, ds.number(Tags.SamplesPerPixel)!, ds.number(Tags.BitsAllocated)!, pc)));
}

/** An RLE frame whose segments are literal runs only (a valid, if poor, encoding). */
function encodeLiteral(segments: Uint8Array[]): Buffer {
  const coded = segments.map((s) => {
    const parts: Buffer[] = [];
    for (let i = 0; i < s.length; i += 128) {
      const chunk = s.subarray(i, i + 128);
      parts.push(Buffer.of(chunk.length - 1), Buffer.from(chunk));
    }
    const b = Buffer.concat(parts);
    return b.length & 1 ? Buffer.concat([b, Buffer.of(0)]) : b; // segments are padded to even length
  });
  const header = Buffer.alloc(64);
  header.writeUInt32LE(segments.length, 0);
  let off = 64;
  coded.forEach((c, i) => { header.writeUInt32LE(off, 4 + 4 * i); off += c.length; });
  return Buffer.concat([header, ...coded]);
}

function frameWith(count: number, offsets: number[], body: number[]): Buffer {
  const header = Buffer.alloc(64);
  header.writeUInt32LE(count, 0);
  offsets.forEach((o, i) => header.writeUInt32LE(o, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(body)]);
}

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try { fn(); return 'none'; } catch (e) {
    if (isRampartError(e)) return e.code;
    throw e;
  }
}

describe('decodeRleFrame', () => {
  it('puts the most significant byte segment last in each little-endian sample', () => {
    // 2 pixels of 16-bit RGB: R = 0x0102, 0x1112; G = 0x0304, 0x1314; B = 0x0506, 0x1516.
    const frame = encodeLiteral([[0x01, 0x11], [0x02, 0x12], [0x03, 0x13], [0x04, 0x14], [0x05, 0x15], [0x06, 0x16]].map((a) => Uint8Array.from(a)));
    expect([...decodeRleFrame(frame, 1, 2, 3, 16)]).toEqual([0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0x12, 0x11, 0x14, 0x13, 0x16, 0x15]);
    expect([...decodeRleFrame(frame, 1, 2, 3, 16, 1)]).toEqual([0x02, 0x01, 0x12, 0x11, 0x04, 0x03, 0x14, 0x13, 0x06, 0x05, 0x16, 0x15]);
  });

  it('decodes replicate runs and skips the -128 no-op', () => {
    // 0xFD = -3: repeat 4 times; 0x80: no-op; 0x01: two literal bytes.
    const frame = frameWith(1, [64], [0xfd, 7, 0x80, 0x01, 8, 9]);
    expect([...decodeRleFrame(frame, 2, 3, 1, 8)]).toEqual([7, 7, 7, 7, 8, 9]);
  });

  it('ignores padding after a segment is complete', () => {
    expect([...decodeRleFrame(frameWith(1, [64], [0x00, 5, 0x00]), 1, 1, 1, 8)]).toEqual([5]);
  });

  describe.skipIf(!reference || RLE_FILES.length === 0)("on pydicom's RLE files", () => {
    it.each(RLE_FILES)('decodes %s byte for byte as pydicom does', (name) => {
      const ref = reference!.get(join(DATA, name))!;
      expect(ref.error).toBeUndefined();
      expect(decodeFile(readFileSync(join(DATA, name))).equals(Buffer.from(ref.pixels!, 'base64'))).toBe(true);
    });

    it('lays out color-by-plane when asked, the transpose of pydicom\'s color-by-pixel array', () => {
      for (const name of RLE_FILES) {
        const ref = reference!.get(join(DATA, name))!;
        if (ref.samplesPerPixel === 1) continue;
        const bps = ref.bitsAllocated! / 8;
        const interleaved = Buffer.from(ref.pixels!, 'base64');
        const planar = decodeFile(readFileSync(join(DATA, name)), 1);
        const frameBytes = planar.length / (ref.shape!.length === 4 ? ref.shape![0]! : 1);
        const pixels = frameBytes / (3 * bps);
        for (let f = 0; f * frameBytes < planar.length; f++) {
          for (const px of [0, 1, pixels - 1]) {
            for (let s = 0; s < 3; s++) {
              const a = f * frameBytes + (px * 3 + s) * bps;
              const b = f * frameBytes + (s * pixels + px) * bps;
              expect(planar.subarray(b, b + bps)).toEqual(interleaved.subarray(a, a + bps));
            }
          }
        }
      }
    });
  });

  describe.skipIf(!hasDcmtk || RLE_FILES.length === 0)("against DCMTK's dcmdrle", () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-rle-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(RLE_FILES)('decodes %s to the pixel data dcmdrle +te writes', (name) => {
      const out = join(dir, name);
      execFileSync('dcmdrle', ['+te', join(DATA, name), out], { stdio: 'pipe' });
      const theirs = parsePart10(readFileSync(out)).dataset.get(Tags.PixelData)!.value!;
      const ours = decodeFile(readFileSync(join(DATA, name)));
      // dcmdrle pads an odd 8-bit value to even length.
      expect(Buffer.from(theirs.subarray(0, ours.length)).equals(ours)).toBe(true);
      expect(theirs.length - ours.length).toBe(ours.length & 1);
    });
  });

  describe('refuses hostile or inconsistent frames', () => {
    it('shorter than the header', () => expect(codeOf(() => decodeRleFrame(new Uint8Array(63), 1, 1, 1, 8))).toBe('invalid-dicom'));
    it('more than 15 segments', () => expect(codeOf(() => decodeRleFrame(frameWith(16, [], []), 1, 1, 1, 8))).toBe('invalid-dicom'));
    it('more than 15 segments needed', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [64], [0, 1]), 1, 1, 4, 32))).toBe('invalid-dicom'));
    it('a segment count other than samples times bytes', () => expect(codeOf(() => decodeRleFrame(frameWith(2, [64, 66], [0, 1, 0, 1]), 1, 1, 1, 8))).toBe('invalid-dicom'));
    it('an offset past the end', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [1000], [0, 1]), 1, 1, 1, 8))).toBe('invalid-dicom'));
    it('an offset inside the header', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [4], [0, 1]), 1, 1, 1, 8))).toBe('invalid-dicom'));
    it('offsets out of order', () => expect(codeOf(() => decodeRleFrame(frameWith(2, [66, 64], [0, 1, 0, 2]), 1, 1, 1, 16))).toBe('invalid-dicom'));
    it('a segment that decodes short', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [64], [0x01, 1, 2]), 2, 2, 1, 8))).toBe('invalid-dicom'));
    it('a replicate run past the plane', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [64], [0x81, 1]), 2, 2, 1, 8))).toBe('invalid-dicom'));
    it('a literal run past the plane', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [64], [0x04, 1, 2, 3, 4, 5]), 2, 2, 1, 8))).toBe('invalid-dicom'));
    it('a literal run past the segment', () => expect(codeOf(() => decodeRleFrame(frameWith(2, [64, 67], [0x02, 1, 2, 0x01, 9, 9]), 1, 2, 1, 16))).toBe('invalid-dicom'));
    it('a replicate run with no byte', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [64], [0xff]), 1, 2, 1, 8))).toBe('invalid-dicom'));
    it('a segment of no-ops, without looping', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [64], new Array(1000).fill(0x80)), 1, 1, 1, 8))).toBe('invalid-dicom'));
    it('Bits Allocated that is not a multiple of 8', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [64], [0, 1]), 1, 1, 1, 12))).toBe('not-acceptable'));
    it('zero rows', () => expect(codeOf(() => decodeRleFrame(frameWith(1, [64], [0, 1]), 0, 1, 1, 8))).toBe('invalid-dicom'));
    it('a frame too large to allocate', () => expect(codeOf(() => rleFrameBytes(65535, 65535, 3, 32))).toBe('too-large'));
  });
});

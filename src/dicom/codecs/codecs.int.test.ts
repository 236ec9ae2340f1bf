// Checks every decoder against independent ground truth at test time: each pydicom sample file
// in a compressed syntax we decode (read in place, never copied) is decoded by us and by DCMTK
// (dcmdjpeg, dcmdjpls, dcmdrle write native files that our reader slices) or, for JPEG 2000,
// which DCMTK lacks, by pydicom with Pillow/OpenJPEG. Lossless syntaxes must agree exactly;
// lossy ones within a small tolerance (two IDCT implementations may round differently). A file
// with no independent decoder on this machine is skipped and named in the output.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getFrames, numberOfFrames } from '../frames.js';
import { parsePart10, type Part10 } from '../reader.js';
import { TS } from '../transfer-syntax.js';
import { canConvert, decompressToPart10 } from './decompress.js';
import { canDecode, decodeFrames, frameDescription } from './index.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../../test/support/pydicom-pixels.py', import.meta.url));
const DATA = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const LIMITS = { maxSamples: 1 << 28 };

const LOSSY = new Set<string>([TS.JPEGBaseline8Bit, TS.JPEGExtended12Bit, TS.JPEGLSNearLossless, TS.JPEG2000]);
const DCMTK_TOOL: Record<string, string> = {
  [TS.JPEGBaseline8Bit]: 'dcmdjpeg', [TS.JPEGExtended12Bit]: 'dcmdjpeg', [TS.JPEGLossless]: 'dcmdjpeg', [TS.JPEGLosslessSV1]: 'dcmdjpeg',
  [TS.JPEGLSLossless]: 'dcmdjpls', [TS.JPEGLSNearLossless]: 'dcmdjpls', [TS.RLELossless]: 'dcmdrle',
};

interface Sample { file: string; path: string; p: Part10 }
const tmp = mkdtempSync(join(tmpdir(), 'rampart-codecs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sample(file: string, path: string): Sample[] {
  try {
    const p = parsePart10(readFileSync(path));
    frameDescription(p.dataset); // files without an image (no Rows) are not samples
    return p.transferSyntax.encapsulated && canDecode(p.transferSyntax.uid) ? [{ file, path, p }] : [];
  } catch { return []; }
}

/** More variants than pydicom ships, compressed by DCMTK's encoders at test time. */
const DERIVED: [string, string, string[]][] = [
  ['CT_small.dcm', 'dcmcjpeg', ['+ee']], // JPEG Extended, 12-bit
  ['CT_small.dcm', 'dcmcjpeg', ['+el']], // JPEG Lossless, Process 14
  ['CT_small.dcm', 'dcmcjpeg', ['+e1']], // JPEG Lossless SV1
  ['CT_small.dcm', 'dcmcjpls', ['+el']], // JPEG-LS lossless, signed 16-bit
  ['image_dfl.dcm', 'dcmcjpls', ['+en']], // JPEG-LS near-lossless (from a deflated file)
  ['ExplVR_BigEnd.dcm', 'dcmcjpls', ['+en']], // JPEG-LS near-lossless (from big endian)
  ['SC_rgb_small_odd.dcm', 'dcmcjpls', ['+el']], // JPEG-LS lossless, color
  ['SC_rgb_small_odd.dcm', 'dcmcjpeg', ['+eb']], // JPEG Baseline, odd size
];

const samples: Sample[] = existsSync(DATA) ? [
  ...readdirSync(DATA).filter((f) => f.endsWith('.dcm')).sort().flatMap((f) => sample(f, join(DATA, f))),
  ...DERIVED.flatMap(([f, tool, flags]) => {
    const name = `${f} (${tool} ${flags.join(' ')})`;
    const out = join(tmp, `derived-${tool}${flags.join('')}-${f}`);
    try { execFileSync(tool, [...flags, join(DATA, f), out], { stdio: 'pipe' }); } catch { return []; }
    return sample(name, out);
  }),
] : [];
const skipped: string[] = [];
afterAll(() => { if (skipped.length) console.log(`codec ground truth: not compared (see each reason):\n  ${skipped.join('\n  ')}`); });

interface Pixels { samples: number[]; photometric?: string }

/** All frames, color-by-pixel, as numbers masked to Bits Stored. */
function flatten(frames: Buffer[], bytes: number, spp: number, planar: 0 | 1, bitsStored: number, rows: number, cols: number): number[] {
  const mask = bitsStored >= 32 ? 0xffffffff : 2 ** bitsStored - 1;
  const out: number[] = [];
  const n = rows * cols;
  for (const f of frames) {
    for (let px = 0; px < n; px++) for (let s = 0; s < spp; s++) {
      const i = planar ? s * n + px : px * spp + s;
      out.push((bytes === 1 ? f[i]! : f.readUInt16LE(2 * i)) & mask);
    }
  }
  return out;
}

function fromDcmtk(tool: string, s: Sample): Pixels | string {
  const out = join(tmp, `ref-${s.file.replace(/[^\w.+-]/g, '_')}`);
  try { execFileSync(tool, [s.path, out], { stdio: 'pipe' }); } catch (e) {
    return `${tool} failed: ${String((e as { stderr?: Buffer }).stderr ?? e).split('\n')[0]}`;
  }
  const p = parsePart10(readFileSync(out));
  const d = frameDescription(p.dataset);
  const n = numberOfFrames(p.dataset);
  const frames = getFrames(p, Array.from({ length: n }, (_, k) => k + 1)).frames;
  return { samples: flatten(frames, d.bitsAllocated / 8, d.samplesPerPixel, d.planarConfiguration, d.bitsStored, d.rows, d.columns), photometric: d.photometric };
}

function fromPydicom(s: Sample): Pixels | string {
  try {
    const r = JSON.parse(execFileSync(PYTHON, [SCRIPT, s.path], { encoding: 'utf8', maxBuffer: 256 << 20 })) as { files: { error?: string; pixels?: string; dtype?: string }[] };
    const f = r.files[0]!;
    if (f.error || !f.pixels) return `pydicom cannot decode it: ${f.error}`;
    const d = frameDescription(s.p.dataset);
    const buf = Buffer.from(f.pixels, 'base64');
    const bytes = Number(/\d+$/.exec(f.dtype ?? 'uint8')![0]) / 8;
    const n = buf.length / bytes;
    const frames = [bytes === 1 ? buf : Buffer.from(Uint16Array.from({ length: n }, (_, i) => buf.readUIntLE(i * bytes, Math.min(bytes, 2))).buffer)];
    return { samples: flatten(frames, bytes === 1 ? 1 : 2, d.samplesPerPixel, 0, d.bitsStored, d.rows, d.columns * numberOfFrames(s.p.dataset)) };
  } catch (e) {
    return `pydicom is not usable here: ${String(e).split('\n')[0]}`;
  }
}

describe('compressed pixel data decodes as an independent decoder does', () => {
  it('finds the pydicom sample files to compare, and DCMTK made the derived ones', () => {
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.filter((s) => s.path.startsWith(tmp)).length).toBe(DERIVED.length);
  });
  for (const s of samples) {
    const ts = s.p.transferSyntax.uid;
    it(`decodes ${s.file} (${ts}) like ${DCMTK_TOOL[ts] ?? 'pydicom'}`, async () => {
      const d = frameDescription(s.p.dataset);
      const n = numberOfFrames(s.p.dataset);
      let ref = DCMTK_TOOL[ts] ? fromDcmtk(DCMTK_TOOL[ts], s) : fromPydicom(s);
      if (typeof ref === 'string' && DCMTK_TOOL[ts]) ref = fromPydicom(s);
      let ours;
      try {
        ours = await decodeFrames(s.p, Array.from({ length: n }, (_, k) => k + 1), LIMITS);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'invalid-dicom') {
          // A stream we call corrupt must be one the reference cannot decode either.
          expect(typeof ref, `${s.file}: we reject it (${(e as Error).message}) but the reference decodes it`).toBe('string');
          skipped.push(`${s.file}: corrupt, rejected by us (${(e as Error).message}) and by the reference (${String(ref)})`);
          return;
        }
        // Otherwise only "no decoder for this variant" may fail; anything else is a bug.
        expect(code, `${s.file}: ${(e as Error).message}`).toBe('not-acceptable');
        skipped.push(`${s.file}: we do not decode it (${(e as Error).message})`);
        return;
      }
      if (typeof ref === 'string') { skipped.push(`${s.file}: ${ref}`); return; }
      const mine = flatten(ours.frames, d.bitsAllocated / 8, d.samplesPerPixel, ours.planarConfiguration, d.bitsStored, d.rows, d.columns);
      expect(mine.length).toBe(ref.samples.length);
      if (ref.photometric && d.samplesPerPixel === 3) expect(ours.photometric).toBe(ref.photometric);
      let max = 0, sum = 0;
      for (let i = 0; i < mine.length; i++) { const diff = Math.abs(mine[i]! - ref.samples[i]!); sum += diff; if (diff > max) max = diff; }
      if (LOSSY.has(ts)) {
        expect(max, `${s.file}: largest difference`).toBeLessThanOrEqual(3);
        expect(sum / mine.length, `${s.file}: mean difference`).toBeLessThan(0.5);
      } else {
        expect(max, `${s.file}: lossless must match exactly`).toBe(0);
      }
    });
  }
});

describe('compressed objects convert to native Part 10', () => {
  it('turns a YBR_FULL_422 JPEG into an RGB Explicit VR Little Endian file that dcmdump reads', async () => {
    const out = await decompressToPart10(readFileSync(join(DATA, 'SC_rgb_jpeg_dcmtk.dcm')), TS.ExplicitVRLittleEndian, LIMITS);
    const p = parsePart10(out);
    expect(p.transferSyntax.uid).toBe(TS.ExplicitVRLittleEndian);
    expect(frameDescription(p.dataset)).toMatchObject({ photometric: 'RGB', planarConfiguration: 0 });
    expect(p.dataset.string(0x00282110)).toBe('01');
    const file = join(tmp, 'native.dcm');
    writeFileSync(file, out);
    expect(execFileSync('dcmdump', ['+E', file], { encoding: 'utf8' })).toMatch(/PixelData/);
    // The same pixels as dcmdjpeg's own conversion, within the lossy tolerance.
    const ref = fromDcmtk('dcmdjpeg', { file: 'SC_rgb_jpeg_dcmtk.dcm', path: join(DATA, 'SC_rgb_jpeg_dcmtk.dcm'), p });
    if (typeof ref === 'string') throw new Error(ref);
    const d = frameDescription(p.dataset);
    const mine = flatten(getFrames(p, [1]).frames, 1, 3, 0, 8, d.rows, d.columns);
    expect(Math.max(...mine.map((v, i) => Math.abs(v - ref.samples[i]!)))).toBeLessThanOrEqual(3);
  });

  it('turns a JPEG 2000 file into big endian and implicit VR too', async () => {
    const buf = readFileSync(join(DATA, 'MR_small_jp2klossless.dcm'));
    for (const ts of [TS.ExplicitVRBigEndian, TS.ImplicitVRLittleEndian]) {
      const p = parsePart10(await decompressToPart10(buf, ts, LIMITS));
      expect(p.transferSyntax.uid).toBe(ts);
      expect(getFrames(p, [1]).frames[0]!.length).toBe(64 * 64 * 2);
    }
  });

  it('refuses a compressed target it cannot encode', () => {
    expect(canConvert(TS.JPEG2000Lossless, TS.JPEGLSLossless)).toBe(false);
    expect(canConvert(TS.JPEG2000Lossless, TS.ExplicitVRLittleEndian)).toBe(true);
  });
});

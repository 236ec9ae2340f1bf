// Rendering checked against DCMTK's dcmj2pnm, an independent renderer: the same pydicom samples
// with the same window (LINEAR, SIGMOID, the data set's own) and color conversions must give the
// same 8-bit pixels, within 1 (rounding) for grayscale and a few levels for lossy color.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDataSet, type Attrs } from '../../../test/support/make-dicom.js';
import { pilDecode } from '../../../test/support/pil.js';
import { newUid } from '../uid.js';
import { buildMeta, writePart10 } from '../writer.js';
import { encodeRaster, renderPart10, renderRaster } from './index.js';
import type { Window } from './voi.js';

const DATA = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const LIMITS = { maxSamples: 1 << 26 };
const tmp = mkdtempSync(join(tmpdir(), 'rampart-render-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function dcmtkRender(file: string, args: string[]): Buffer {
  const out = join(tmp, `out-${Math.random().toString(36).slice(2)}.png`);
  execFileSync('dcmj2pnm', [...args, '+on', file, out], { stdio: 'pipe' });
  return pilDecode(readFileSync(out)).pixels;
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const cases: { name: string; file: string; window?: Window; dcmtk: string[]; dcmtkFile?: string; tolerance: number }[] = [
  { name: 'CT with window 40/400 LINEAR', file: 'CT_small.dcm', window: { center: 40, width: 400, fn: 'LINEAR' }, dcmtk: ['+Ww', '40', '400'], tolerance: 1 },
  { name: 'CT with window 40/400 SIGMOID', file: 'CT_small.dcm', window: { center: 40, width: 400, fn: 'SIGMOID' }, dcmtk: ['+Ww', '40', '400', '+Wfs'], tolerance: 1 },
  { name: 'CT without a window in the data set: its min-max range', file: 'CT_small.dcm', dcmtk: ['+Wm'], tolerance: 1 },
  { name: 'MR with the data set\'s first window', file: 'MR_small.dcm', dcmtk: ['+Wi', '1'], tolerance: 1 },
  // dcmj2pnm has no JPEG 2000 decoder: compare with its rendering of the same pixels uncompressed.
  { name: 'JPEG 2000 MR', file: 'MR_small_jp2klossless.dcm', dcmtkFile: 'MR_small.dcm', dcmtk: ['+Wi', '1'], tolerance: 1 },
  { name: 'native YBR_FULL_422 to RGB', file: 'SC_ybr_full_422_uncompressed.dcm', dcmtk: [], tolerance: 2 },
  { name: 'JPEG YBR_FULL_422 to RGB', file: 'SC_rgb_jpeg_dcmtk.dcm', dcmtk: [], tolerance: 4 },
  { name: '16-bit RGB (RLE)', file: 'SC_rgb_rle_16bit.dcm', dcmtk: [], tolerance: 1 },
];

describe('rendering agrees with dcmj2pnm', () => {
  for (const c of cases) {
    it(`renders ${c.name} (${c.file})`, async () => {
      const path = join(DATA, c.file);
      const ours = await renderRaster(readFileSync(path), { frame: 1, window: c.window }, LIMITS);
      const theirs = dcmtkRender(join(DATA, c.dcmtkFile ?? c.file), c.dcmtk);
      expect(maxDiff(ours.data, theirs)).toBeLessThanOrEqual(c.tolerance);
    });
  }

  it('renders MONOCHROME1 inverted, as dcmj2pnm does', async () => {
    const path = join(tmp, 'ct-mono1.dcm');
    copyFileSync(join(DATA, 'CT_small.dcm'), path);
    execFileSync('dcmodify', ['-nb', '-m', '(0028,0004)=MONOCHROME1', path], { stdio: 'pipe' });
    const window: Window = { center: 40, width: 400, fn: 'LINEAR' };
    const mono1 = await renderRaster(readFileSync(path), { frame: 1, window }, LIMITS);
    const mono2 = await renderRaster(readFileSync(join(DATA, 'CT_small.dcm')), { frame: 1, window }, LIMITS);
    expect([...mono1.data.subarray(0, 500)]).toEqual([...mono2.data.subarray(0, 500)].map((v) => 255 - v));
    expect(maxDiff(mono1.data, dcmtkRender(path, ['+Ww', '40', '400']))).toBeLessThanOrEqual(1);
  });

  it('a narrow window makes air black and bone white in the CT', async () => {
    const r = await renderRaster(readFileSync(join(DATA, 'CT_small.dcm')), { frame: 1, window: { center: 40, width: 80, fn: 'LINEAR' } }, LIMITS);
    expect(r.data[0]).toBe(0); // the corner is outside the body (air, about -1000 HU)
    expect(r.data.some((v) => v === 255)).toBe(true);
  });

  it('writes PNG and JPEG that Pillow decodes to the rendered size', async () => {
    const buf = readFileSync(join(DATA, 'CT_small.dcm'));
    const png = pilDecode(await renderPart10(buf, { frame: 1, mediaType: 'image/png', viewport: { vw: 64, vh: 64 } }, LIMITS));
    expect(png).toMatchObject({ format: 'PNG', mode: 'L', width: 64, height: 64 });
    const raster = await renderRaster(buf, { frame: 1 }, LIMITS);
    const jpg = pilDecode(await encodeRaster(raster, 'image/jpeg', 95));
    expect(jpg).toMatchObject({ format: 'JPEG', width: 128, height: 128 });
    // JPEG is lossy: close to the raster, not equal.
    let sum = 0;
    for (let i = 0; i < raster.data.length; i++) sum += Math.abs(jpg.pixels[i * (jpg.mode === 'L' ? 1 : 3)]! - raster.data[i]!);
    expect(sum / raster.data.length).toBeLessThan(3);
  });
});

describe('synthetic color models agree with dcmj2pnm', () => {
  const secondaryCapture = (attrs: Attrs, pixels: Buffer): string => {
    const sop = newUid();
    const ds = makeDataSet({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', SOPInstanceUID: sop, StudyInstanceUID: newUid(), SeriesInstanceUID: newUid(),
      Modality: 'OT', Rows: 16, Columns: 32, BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0, ...attrs,
    });
    ds.set({ tag: 0x7fe00010, vr: 'OB', length: pixels.length, valueOffset: 0, value: pixels });
    const file = join(tmp, `${sop}.dcm`);
    writeFileSync(file, writePart10(buildMeta('1.2.840.10008.5.1.4.1.1.7', sop, '1.2.840.10008.1.2.1'), ds, '1.2.840.10008.1.2.1'));
    return file;
  };
  const us = (...v: number[]) => { const b = Buffer.alloc(2 * v.length); v.forEach((x, i) => b.writeUInt16LE(x, 2 * i)); return b; };

  it('renders PALETTE COLOR through its 16-bit tables', async () => {
    const ramp = (f: (i: number) => number) => us(...Array.from({ length: 256 }, (_, i) => f(i)));
    const file = secondaryCapture({
      SamplesPerPixel: 1, PhotometricInterpretation: 'PALETTE COLOR',
      RedPaletteColorLookupTableDescriptor: us(256, 0, 16), GreenPaletteColorLookupTableDescriptor: us(256, 0, 16), BluePaletteColorLookupTableDescriptor: us(256, 0, 16),
      RedPaletteColorLookupTableData: ramp((i) => i * 257), GreenPaletteColorLookupTableData: ramp((i) => (255 - i) * 257), BluePaletteColorLookupTableData: ramp((i) => ((i * 7) & 255) * 257),
    }, Buffer.from(Array.from({ length: 16 * 32 }, (_, i) => (i * 5) & 255)));
    const ours = await renderRaster(readFileSync(file), { frame: 1 }, LIMITS);
    expect(ours.channels).toBe(3);
    expect(maxDiff(ours.data, dcmtkRender(file, []))).toBeLessThanOrEqual(1);
  });

  it('renders native YBR_FULL converted to RGB', async () => {
    const px = Buffer.from(Array.from({ length: 16 * 32 * 3 }, (_, i) => (i % 3 === 0 ? (i * 3) & 255 : i % 3 === 1 ? 90 + (i % 50) : 160 - (i % 40))));
    const file = secondaryCapture({ SamplesPerPixel: 3, PhotometricInterpretation: 'YBR_FULL', PlanarConfiguration: 0 }, px);
    const ours = await renderRaster(readFileSync(file), { frame: 1 }, LIMITS);
    expect(maxDiff(ours.data, dcmtkRender(file, []))).toBeLessThanOrEqual(2);
  });
});

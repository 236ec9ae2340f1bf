// Tests for transcoding between the native syntaxes and from RLE Lossless, on pydicom's test files
// (read in place, never copied): our outputs must round trip, satisfy DCMTK's dcmdump, decode in
// pydicom to the same pixels as the source, and match dcmdrle's RLE decoding.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isRampartError, type ErrorCode } from '../errors.js';
import type { DataSet } from './dataset.js';
import { getFrames, numberOfFrames } from './frames.js';
import { parsePart10 } from './reader.js';
import { Tags, isPrivate, tagString } from './tag.js';
import { canTranscode, transcodePart10 } from './transcode.js';
import { TS } from './transfer-syntax.js';
import { writePart10 } from './writer.js';

// Debian's python3-pydicom; plain `python3` may be a pyenv shim without pydicom.
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../test/support/pydicom-pixels.py', import.meta.url));
const DATA = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const haveData = existsSync(DATA);
const hasDcmtk = (() => { try { execFileSync('dcmdump', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();

const NATIVE_TS = [TS.ImplicitVRLittleEndian, TS.ExplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian];
const SHORT: Record<string, string> = {
  [TS.ImplicitVRLittleEndian]: 'implicit', [TS.ExplicitVRLittleEndian]: 'explicit',
  [TS.ExplicitVRBigEndian]: 'bigendian', [TS.DeflatedExplicitVRLittleEndian]: 'deflated',
};

const NATIVE_FILES = [
  'MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'CT_small.dcm', 'rtdose.dcm', 'rtdose_expb.dcm',
  'image_dfl.dcm', 'ExplVR_BigEnd.dcm', 'SC_rgb_small_odd.dcm', 'liver_1frame.dcm', 'rtplan.dcm',
].filter((f) => haveData && existsSync(join(DATA, f)));
const RLE_FILES = [
  'MR_small_RLE.dcm', 'SC_rgb_rle.dcm', 'SC_rgb_rle_2frame.dcm', 'SC_rgb_rle_16bit_2frame.dcm', 'SC_rgb_rle_32bit_2frame.dcm',
  'rtdose_rle.dcm',
].filter((f) => haveData && existsSync(join(DATA, f)));

const dir = mkdtempSync(join(tmpdir(), 'rampart-transcode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (name: string) => readFileSync(join(DATA, name));

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try { fn(); return 'none'; } catch (e) {
    if (isRampartError(e)) return e.code;
    throw e;
  }
}

/** dcmdump's complaints about a file: its E: lines, and a failure exit. */
function dcmdumpErrors(path: string): string[] {
  const r = spawnSync('dcmdump', ['-dc', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.startsWith('E:'));
  if (r.status !== 0) lines.push(`exit status ${r.status}`);
  return lines;
}

// Every native file into every other native syntax, and every RLE file into every native syntax,
// written to the temp dir so that pydicom and DCMTK can read them.
interface Output { source: string; target: string; path: string; buf: Buffer }
const outputs: Output[] = [];
for (const source of [...NATIVE_FILES, ...RLE_FILES]) {
  const from = parsePart10(read(source)).transferSyntax.uid;
  for (const target of NATIVE_TS) {
    if (target === from) continue;
    const buf = transcodePart10(read(source), target);
    const path = join(dir, `${source.replace(/\.dcm$/, '')}.${SHORT[target]}.dcm`);
    writeFileSync(path, buf);
    outputs.push({ source, target, path, buf });
  }
}

// A color RLE file saying Planar Configuration 1, which DCMTK decodes color-by-plane.
const PLANAR_RLE = join(dir, 'SC_rgb_rle_pc1.dcm');
if (haveData) {
  const b = Buffer.from(read('SC_rgb_rle_2frame.dcm'));
  b.writeUInt16LE(1, parsePart10(b).dataset.get(Tags.PlanarConfiguration)!.valueOffset);
  writeFileSync(PLANAR_RLE, b);
}

interface PydicomPixels { file: string; error?: string; pixels?: string }
const pixelsByFile = (() => {
  if (!existsSync(PYTHON) || !haveData) return undefined;
  const files = [...NATIVE_FILES, ...RLE_FILES].map((f) => join(DATA, f)).concat(outputs.map((o) => o.path));
  try {
    const out = JSON.parse(execFileSync(PYTHON, [SCRIPT, ...files], { encoding: 'utf8', maxBuffer: 512 << 20 })) as { files: PydicomPixels[] };
    return new Map(out.files.map((f) => [f.file, f]));
  } catch {
    return undefined; // pydicom missing: the comparisons are skipped, not failed
  }
})();

/**
 * Differences between two data sets, element by element and into items, values compared as
 * little-endian bytes. VRs may differ only where the path through Implicit VR loses them (private
 * elements come back UN) or where 8-bit pixel data became OB for big endian.
 */
function differences(a: DataSet, b: DataSet, path = ''): string[] {
  expect(a.littleEndian && b.littleEndian).toBe(true);
  const out: string[] = [];
  const tags = new Set([...a.elements.keys(), ...b.elements.keys()]);
  for (const t of [...tags].sort((x, y) => x - y)) {
    const where = `${path}${tagString(t)}`;
    const x = a.get(t), y = b.get(t);
    if (!x || !y) { out.push(`${where} only in ${x ? 'the original' : 'the copy'}`); continue; }
    const vrLost = isPrivate(t) && y.vr === 'UN';
    const pixelOB = t === Tags.PixelData && x.vr === 'OW' && y.vr === 'OB' && (a.number(Tags.BitsAllocated) ?? 0) <= 8;
    if (x.vr !== y.vr && !vrLost && !pixelOB) out.push(`${where} VR ${x.vr} became ${y.vr}`);
    if (x.items || y.items) {
      if (x.items?.length !== y.items?.length) { out.push(`${where} item count`); continue; }
      x.items!.forEach((item, i) => out.push(...differences(item, y.items![i]!, `${where}[${i}]`)));
    } else if (!Buffer.from(x.value!).equals(Buffer.from(y.value!))) {
      out.push(`${where} value differs`);
    }
  }
  return out;
}

describe('canTranscode', () => {
  it('allows the four native syntaxes among themselves and RLE into them', () => {
    for (const from of [...NATIVE_TS, TS.RLELossless]) {
      for (const to of NATIVE_TS) expect(canTranscode(from, to), `${from} -> ${to}`).toBe(true);
    }
  });
  it('refuses JPEG, JPEG-LS, JPEG 2000 and HTJ2K either way, and encoding RLE', () => {
    for (const c of [TS.JPEGBaseline8Bit, TS.JPEGLosslessSV1, TS.JPEGLSLossless, TS.JPEG2000Lossless, TS.HTJ2K]) {
      expect(canTranscode(c, TS.ExplicitVRLittleEndian)).toBe(false);
      expect(canTranscode(TS.ExplicitVRLittleEndian, c)).toBe(false);
    }
    expect(canTranscode(TS.ExplicitVRLittleEndian, TS.RLELossless)).toBe(false);
    expect(canTranscode(TS.JPEGBaseline8Bit, TS.JPEGBaseline8Bit)).toBe(true); // nothing to do
  });
});

describe.skipIf(!haveData)('transcodePart10', () => {
  it('returns the very same buffer for the same syntax', () => {
    const b = read('MR_small.dcm');
    expect(transcodePart10(b, TS.ExplicitVRLittleEndian)).toBe(b);
    const j = read('SC_rgb_jpeg_dcmtk.dcm');
    expect(transcodePart10(j, TS.JPEGBaseline8Bit)).toBe(j);
  });

  it.each(['MR_small.dcm', 'CT_small.dcm', 'rtplan.dcm', 'SC_rgb_small_odd.dcm', 'rtdose.dcm'].filter((f) => existsSync(join(DATA, f))))(
    '%s: explicit LE -> implicit -> big endian -> explicit LE gives the same data set and meta group',
    (name) => {
      let src: Buffer = read(name);
      if (parsePart10(src).transferSyntax.uid !== TS.ExplicitVRLittleEndian) src = transcodePart10(src, TS.ExplicitVRLittleEndian);
      const implicit = transcodePart10(src, TS.ImplicitVRLittleEndian);
      const big = transcodePart10(implicit, TS.ExplicitVRBigEndian);
      const back = transcodePart10(big, TS.ExplicitVRLittleEndian);
      const a = parsePart10(src), b = parsePart10(back);
      expect(differences(a.dataset, b.dataset)).toEqual([]);
      expect(b.meta.string(Tags.TransferSyntaxUID)).toBe(TS.ExplicitVRLittleEndian);
      for (const m of a.meta.sorted()) {
        if (m.tag === Tags.FileMetaInformationGroupLength) continue;
        expect(Buffer.from(b.meta.get(m.tag)!.value!).equals(Buffer.from(m.value!)), tagString(m.tag)).toBe(true);
      }
      expect(parsePart10(big).meta.string(Tags.TransferSyntaxUID)).toBe(TS.ExplicitVRBigEndian);
    },
  );

  it('writes 32-bit big endian pixel data per sample, byte for byte as pydicom\'s rtdose_expb.dcm', () => {
    const ours = parsePart10(transcodePart10(read('rtdose.dcm'), TS.ExplicitVRBigEndian)).dataset.get(Tags.PixelData)!;
    const theirs = parsePart10(read('rtdose_expb.dcm')).dataset.get(Tags.PixelData)!;
    expect(ours.vr).toBe('OW');
    expect(Buffer.from(ours.value!).equals(Buffer.from(theirs.value!))).toBe(true);
    const back = parsePart10(transcodePart10(read('rtdose_expb.dcm'), TS.ImplicitVRLittleEndian)).dataset.get(Tags.PixelData)!;
    expect(Buffer.from(back.value!).equals(Buffer.from(parsePart10(read('rtdose.dcm')).dataset.get(Tags.PixelData)!.value!))).toBe(true);
  });

  it('writes 8-bit pixel data OB in big endian, so its bytes stay in pixel order', () => {
    const el = parsePart10(transcodePart10(read('SC_rgb_small_odd.dcm'), TS.ExplicitVRBigEndian)).dataset.get(Tags.PixelData)!;
    expect(el.vr).toBe('OB');
    expect(Buffer.from(el.value!).subarray(0, 27).equals(getFrames(parsePart10(read('SC_rgb_small_odd.dcm')), [1]).frames[0]!)).toBe(true);
  });

  it.skipIf(!hasDcmtk)('unswaps 8-bit OW pixel data that DCMTK wrote big endian', () => {
    const be = join(dir, 'rgb_odd_dcmtk_be.dcm');
    execFileSync('dcmconv', ['+tb', join(DATA, 'SC_rgb_small_odd.dcm'), be], { stdio: 'pipe' });
    const el = parsePart10(transcodePart10(readFileSync(be), TS.ExplicitVRLittleEndian)).dataset.get(Tags.PixelData)!;
    expect(Buffer.from(el.value!).equals(Buffer.from(parsePart10(read('SC_rgb_small_odd.dcm')).dataset.get(Tags.PixelData)!.value!))).toBe(true);
  });

  it('keeps a deflated data set intact through explicit LE and back', () => {
    const a = parsePart10(read('image_dfl.dcm'));
    const b = parsePart10(transcodePart10(transcodePart10(read('image_dfl.dcm'), TS.ExplicitVRLittleEndian), TS.DeflatedExplicitVRLittleEndian));
    expect(b.transferSyntax.uid).toBe(TS.DeflatedExplicitVRLittleEndian);
    expect(differences(a.dataset, b.dataset)).toEqual([]);
  });

  describe.skipIf(!hasDcmtk)('outputs pass dcmdump without errors', () => {
    it.each(outputs.map((o) => [o.source, SHORT[o.target]!, o.path] as const))('%s as %s', (_s, _t, path) => {
      expect(dcmdumpErrors(path)).toEqual([]);
    });
  });

  describe.skipIf(!pixelsByFile)('pydicom decodes every output to the pixels of its source', () => {
    it.each(outputs.filter((o) => o.source !== 'rtplan.dcm').map((o) => [o.source, SHORT[o.target]!, o] as const))('%s as %s', (source, _t, o) => {
      const src = pixelsByFile!.get(join(DATA, source))!;
      const out = pixelsByFile!.get(o.path)!;
      expect(src.error).toBeUndefined();
      expect(out.error).toBeUndefined();
      expect(out.pixels === src.pixels).toBe(true);
    });
  });

  describe('from RLE Lossless', () => {
    it.each(RLE_FILES)('%s keeps everything but the pixel data encoding', (name) => {
      const a = parsePart10(read(name));
      const b = parsePart10(transcodePart10(read(name), TS.ExplicitVRLittleEndian));
      const px = b.dataset.get(Tags.PixelData)!;
      const bits = a.dataset.number(Tags.BitsAllocated)!;
      expect(px.vr).toBe(bits > 8 ? 'OW' : 'OB');
      expect(px.fragments).toBeUndefined();
      const frames = numberOfFrames(a.dataset);
      expect(px.value!.length).toBe(frames * a.dataset.number(Tags.Rows)! * a.dataset.number(Tags.Columns)! * (a.dataset.number(Tags.SamplesPerPixel) ?? 1) * bits / 8);
      a.dataset.elements.delete(Tags.PixelData);
      b.dataset.elements.delete(Tags.PixelData);
      expect(differences(a.dataset, b.dataset)).toEqual([]);
    });

    it.skipIf(!hasDcmtk).each(RLE_FILES)('%s decodes to the pixel data dcmdrle +te writes', (name) => {
      const theirsPath = join(dir, `dcmdrle-${name}`);
      execFileSync('dcmdrle', ['+te', join(DATA, name), theirsPath], { stdio: 'pipe' });
      const theirs = parsePart10(readFileSync(theirsPath)).dataset.get(Tags.PixelData)!.value!;
      const ours = parsePart10(transcodePart10(read(name), TS.ExplicitVRLittleEndian)).dataset.get(Tags.PixelData)!.value!;
      expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
    });

    it.skipIf(!hasDcmtk)('lays out color-by-plane when Planar Configuration is 1, as dcmdrle does', () => {
      const theirsPath = join(dir, 'dcmdrle-pc1.dcm');
      execFileSync('dcmdrle', ['+te', PLANAR_RLE, theirsPath], { stdio: 'pipe' });
      const theirs = parsePart10(readFileSync(theirsPath)).dataset;
      const ours = parsePart10(transcodePart10(readFileSync(PLANAR_RLE), TS.ExplicitVRLittleEndian)).dataset;
      expect(ours.number(Tags.PlanarConfiguration)).toBe(1);
      expect(theirs.number(Tags.PlanarConfiguration)).toBe(1);
      expect(Buffer.from(ours.get(Tags.PixelData)!.value!).equals(Buffer.from(theirs.get(Tags.PixelData)!.value!))).toBe(true);
    });

    it('adds Planar Configuration 0 to a color image that lacks it', () => {
      const p = parsePart10(read('SC_rgb_rle.dcm'));
      p.dataset.elements.delete(Tags.PlanarConfiguration);
      const noPc = writePart10(p.meta, p.dataset, TS.RLELossless);
      const out = parsePart10(transcodePart10(noPc, TS.ExplicitVRLittleEndian)).dataset;
      expect(out.number(Tags.PlanarConfiguration)).toBe(0);
    });

    it('drops the Extended Offset Table, which only describes fragments', () => {
      const p = parsePart10(read('SC_rgb_rle_2frame.dcm'));
      const frags = p.dataset.get(Tags.PixelData)!.fragments!;
      const ov = (a: number[]) => { const b = Buffer.alloc(8 * a.length); a.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 8 * i)); return b; };
      const offsets = ov([0, 8 + frags[1]!.length]), lengths = ov([frags[1]!.length, frags[2]!.length]);
      p.dataset.set({ tag: 0x7fe00001, vr: 'OV', length: 16, valueOffset: 0, value: offsets });
      p.dataset.set({ tag: 0x7fe00002, vr: 'OV', length: 16, valueOffset: 0, value: lengths });
      p.dataset.set({ ...p.dataset.get(Tags.PixelData)!, fragments: [Buffer.alloc(0), frags[1]!, frags[2]!] });
      const withEot = writePart10(p.meta, p.dataset, TS.RLELossless);
      const plain = parsePart10(transcodePart10(read('SC_rgb_rle_2frame.dcm'), TS.ExplicitVRLittleEndian)).dataset;
      const out = parsePart10(transcodePart10(withEot, TS.ExplicitVRLittleEndian)).dataset;
      expect(out.has(0x7fe00001) || out.has(0x7fe00002)).toBe(false);
      expect(Buffer.from(out.get(Tags.PixelData)!.value!).equals(Buffer.from(plain.get(Tags.PixelData)!.value!))).toBe(true);
    });
  });

  describe('refuses what it cannot do with not-acceptable, naming both syntaxes', () => {
    const cases: [string, string][] = [
      ['SC_rgb_jpeg_dcmtk.dcm', TS.ExplicitVRLittleEndian],
      ['MR_small_jpeg_ls_lossless.dcm', TS.ImplicitVRLittleEndian],
      ['MR_small_jp2klossless.dcm', TS.ExplicitVRBigEndian],
      ['MR_small.dcm', TS.JPEGBaseline8Bit],
      ['MR_small.dcm', TS.RLELossless],
      ['MR_small.dcm', TS.HTJ2KLossless],
      ['MR_small_RLE.dcm', TS.JPEG2000Lossless],
      ['MR_small.dcm', '1.2.3.4'],
    ];
    it.each(cases.filter(([f]) => existsSync(join(DATA, f))))('%s to %s', (name, target) => {
      const from = parsePart10(read(name)).transferSyntax.uid;
      let err: unknown;
      try { transcodePart10(read(name), target); } catch (e) { err = e; }
      expect(isRampartError(err, 'not-acceptable')).toBe(true);
      expect((err as Error).message).toContain(from);
      expect((err as Error).message).toContain(target);
    });
    it('a file that is not DICOM is invalid-dicom, not not-acceptable', () => {
      expect(codeOf(() => transcodePart10(Buffer.alloc(200), TS.ExplicitVRLittleEndian))).toBe('invalid-dicom');
    });
  });
});

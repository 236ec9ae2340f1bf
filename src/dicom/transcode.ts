// Transcoding a Part 10 file between transfer syntaxes (PS3.5 section 10, A.1 to A.5, Annex G):
// among the four native syntaxes (Implicit VR LE, Explicit VR LE, Explicit VR BE (retired), Deflated
// Explicit VR LE), and from RLE Lossless to any of them. Other compressed syntaxes need codecs
// Rampart does not have: 'not-acceptable'.
//
// Values are swapped by the writer per VR. Pixel Data needs more care when the byte order changes,
// because its VR (OB or OW) does not tell the sample size (see frames.ts for the reading side):
// - Bits Allocated <= 8 going to big endian is written OB, so that bytes stay in pixel order
//   (as OW the writer would swap them in pairs, which is legal but easy to misread);
//   8-bit OW coming from big endian is 16-bit words, which the writer's swap undoes.
// - Bits Allocated 16 is OW, swapped in 16-bit words.
// - Bits Allocated 32 and 64 are swapped per sample, as pydicom does and writes its *_expb files
//   (DCMTK swaps 16-bit words instead).
import { RampartError } from '../errors.js';
import type { DataSet, Element } from './dataset.js';
import { MAX_FRAMES_PER_REQUEST, decodeFramesToNative, imagePixel, numberOfFrames } from './frames.js';
import { parsePart10, type Part10 } from './reader.js';
import { Tags, type Tag } from './tag.js';
import { TS, transferSyntaxInfo } from './transfer-syntax.js';
import type { VR } from './vr.js';
import { writePart10 } from './writer.js';

const NATIVE = new Set<string>([
  TS.ImplicitVRLittleEndian, TS.ExplicitVRLittleEndian, TS.ExplicitVRBigEndian, TS.DeflatedExplicitVRLittleEndian,
]);

const ExtendedOffsetTable = 0x7fe00001;
const ExtendedOffsetTableLengths = 0x7fe00002;

/** Attributes DCMTK's dictionary gives as "US or SS" (xs) that Image Pixel values decide (PS3.5 A.1 note). */
const PIXEL_VALUE_XS: readonly Tag[] = [0x00280106, 0x00280107, 0x00280108, 0x00280109, 0x00280120, 0x00280121];

/** Whether transcodePart10 can turn fromTs into toTs, so that a caller can refuse before reading data. */
export function canTranscode(fromTs: string, toTs: string): boolean {
  if (fromTs === toTs) return true;
  return (NATIVE.has(fromTs) || fromTs === TS.RLELossless) && NATIVE.has(toTs);
}

/**
 * The same object as a complete Part 10 file in targetTsUid: the meta group is kept except its
 * Transfer Syntax UID (and group length, which writePart10 recomputes). The same syntax returns
 * buf itself. RLE pixel data is decoded (frames laid out per Planar Configuration, which is added
 * as 0 if missing for color images) and the Extended Offset Table, meaningless once native, is
 * dropped; nothing else is removed.
 */
export function transcodePart10(buf: Buffer, targetTsUid: string): Buffer {
  const p = parsePart10(buf);
  const from = p.transferSyntax;
  if (from.uid === targetTsUid) return buf;
  if (!canTranscode(from.uid, targetTsUid)) {
    throw new RampartError('not-acceptable', `cannot transcode from transfer syntax ${from.uid} to ${targetTsUid}`);
  }
  const to = transferSyntaxInfo(targetTsUid)!;
  const ds = p.dataset;

  if (from.uid === TS.RLELossless) decodeRlePixelData(ds, p);
  if (!from.explicitVR && to.explicitVR) correctAmbiguousVRs(ds);
  if (ds.littleEndian !== to.littleEndian) prepareNativePixelData(ds, to.littleEndian);

  return writePart10(p.meta, ds, targetTsUid);
}

function decodeRlePixelData(ds: DataSet, p: Part10): void {
  const el = ds.get(Tags.PixelData);
  if (!el) return; // nothing to decode: the rest transcodes as is
  const img = imagePixel(ds);
  const count = numberOfFrames(ds);
  const parts: Buffer[] = [];
  for (let first = 1; first <= count; first += MAX_FRAMES_PER_REQUEST) {
    const numbers: number[] = [];
    for (let f = first; f <= count && f < first + MAX_FRAMES_PER_REQUEST; f++) numbers.push(f);
    parts.push(...decodeFramesToNative(p, numbers).frames);
  }
  const value = Buffer.concat(parts);
  ds.set({ tag: Tags.PixelData, vr: img.bitsAllocated > 8 ? 'OW' : 'OB', length: value.length, valueOffset: 0, value });
  ds.elements.delete(ExtendedOffsetTable);
  ds.elements.delete(ExtendedOffsetTableLengths);
  if (img.samplesPerPixel > 1 && !ds.has(Tags.PlanarConfiguration)) {
    const v = Buffer.alloc(2); // 0: color-by-pixel, as decodeRleFrame laid it out
    ds.set({ tag: Tags.PlanarConfiguration, vr: 'US', length: 2, valueOffset: 0, value: v });
  }
}

/** Implicit VR gave these the dictionary's first choice (US); signed pixels make them SS. */
function correctAmbiguousVRs(ds: DataSet): void {
  if (ds.number(Tags.PixelRepresentation) !== 1) return;
  for (const t of PIXEL_VALUE_XS) {
    const el = ds.get(t);
    if (el && el.vr === 'US') ds.set({ ...el, vr: 'SS' });
  }
}

/**
 * Readies top-level native Pixel Data for a change of byte order. The writer swaps OW in 16-bit
 * words; for 32 and 64-bit samples the value given to it is pre-swapped so that its 16-bit swap
 * yields a per-sample swap.
 */
function prepareNativePixelData(ds: DataSet, toLittleEndian: boolean): void {
  const el = ds.get(Tags.PixelData);
  if (!el?.value || (el.vr !== 'OW' && el.vr !== 'OB')) return;
  const bits = ds.number(Tags.BitsAllocated) ?? 0;
  let vr: VR = el.vr;
  let value: Uint8Array = el.value;
  if (bits <= 8) {
    if (!toLittleEndian && ds.littleEndian && el.vr === 'OW') vr = 'OB';
  } else {
    vr = 'OW';
    const size = bits / 8;
    if (size === 4 || size === 8) {
      if (value.length % size !== 0) {
        throw new RampartError('invalid-dicom', `pixel data length ${value.length} is not a multiple of ${size}-byte samples`);
      }
      const b = Buffer.from(value);
      if (size === 4) b.swap32(); else b.swap64();
      value = b.swap16();
    } else if (size !== 2) {
      throw new RampartError('not-acceptable', `pixel data with Bits Allocated ${bits} cannot change byte order`);
    }
  }
  if (vr !== el.vr || value !== el.value) {
    const next: Element = { ...el, vr, value, length: value.length };
    ds.set(next);
  }
}

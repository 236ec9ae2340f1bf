// Frame extraction for WADO-RS frame retrieval (PS3.18 8.7.3, PS3.5 8.2 and A.4): the bytes of
// chosen frames, as stored (compressed frames stay compressed) or decoded to native pixels.
//
// Native pixel data is sliced by frame size and returned little endian (PS3.18 8.7.3.3.2). A big
// endian file is converted by sample size: 16, 32 and 64-bit samples are swapped whole, as
// pydicom reads them (and as its *_expb test files are written); DCMTK instead swaps every OW
// value as 16-bit words, which differs for 32-bit samples. 8-bit and 1-bit data swap only when
// the VR is OW (16-bit words, the whole value before slicing). Bits Allocated 1 frames need not
// start on a byte: each is returned repacked from bit 0, trailing bits of its last byte zero.
// YBR_FULL_422 frames are returned as stored (subsampled), not expanded.
//
// Encapsulated frame boundaries, first rule that applies and fits:
//   1. the Extended Offset Table (7FE0,0001) with its lengths (7FE0,0002);
//   2. a non-empty Basic Offset Table (the first item);
//   3. one fragment per frame, when there are as many fragments as frames;
//   4. a single frame is every fragment concatenated;
//   5. for JPEG-family syntaxes a frame starts at each fragment beginning FFD8 (SOI), for JPEG
//      2000 and HTJ2K at each beginning FF4F FF51 (SOC, SIZ).
// A table that does not fit the fragments (wrong count, offset not on an item) is ignored in
// favour of the next rule; if nothing fits, the data is invalid (so is an Extended Offset Table
// length longer than its fragments). Frames of one fragment are views of the parsed buffer.
import { RampartError, badRequest, invalidDicom, notFound } from '../errors.js';
import type { DataSet, Element } from './dataset.js';
import type { Part10 } from './reader.js';
import { decodeRleFrame } from './rle.js';
import { Tags } from './tag.js';
import { TS } from './transfer-syntax.js';

export interface Frames {
  frames: Buffer[];
  /** The media type of each frame (PS3.18 Table 8.7.3-5). */
  mediaType: string;
  /** The transfer syntax the frames are in; Explicit VR Little Endian for native frames. */
  transferSyntaxUid: string;
}

/** More frames than this in one request is refused, to bound the work one request causes. */
export const MAX_FRAMES_PER_REQUEST = 10_000;

const ExtendedOffsetTable = 0x7fe00001;
const ExtendedOffsetTableLengths = 0x7fe00002;
const OCTET_STREAM = 'application/octet-stream';

const JPEG_FAMILY = new Set<string>([
  TS.JPEGBaseline8Bit, TS.JPEGExtended12Bit, TS.JPEGLossless, TS.JPEGLosslessSV1,
  TS.JPEGLSLossless, TS.JPEGLSNearLossless,
]);
const J2K_FAMILY = new Set<string>([
  TS.JPEG2000Lossless, TS.JPEG2000, '1.2.840.10008.1.2.4.92', '1.2.840.10008.1.2.4.93',
  TS.HTJ2KLossless, TS.HTJ2KLosslessRPCL, TS.HTJ2K,
]);
/** Native frames: the uncompressed syntaxes, and Encapsulated Uncompressed (one native frame per item). */
const NATIVE_OUTPUT = new Set<string>([
  TS.ImplicitVRLittleEndian, TS.ExplicitVRLittleEndian, TS.ExplicitVRBigEndian,
  TS.DeflatedExplicitVRLittleEndian, TS.EncapsulatedUncompressedExplicitVRLittleEndian,
]);

/**
 * The media type of a frame in a transfer syntax, PS3.18 Table 8.7.3-5. RLE is image/dicom-rle as
 * the current edition names it (editions before 2019 said image/x-dicom-rle).
 */
export function frameMediaType(tsUid: string): string {
  switch (tsUid) {
    case TS.JPEGBaseline8Bit: case TS.JPEGExtended12Bit: case TS.JPEGLossless: case TS.JPEGLosslessSV1:
      return 'image/jpeg';
    case TS.JPEGLSLossless: case TS.JPEGLSNearLossless:
      return 'image/jls';
    case TS.JPEG2000Lossless: case TS.JPEG2000:
      return 'image/jp2';
    case '1.2.840.10008.1.2.4.92': case '1.2.840.10008.1.2.4.93':
      return 'image/jpx';
    case TS.HTJ2KLossless: case TS.HTJ2KLosslessRPCL: case TS.HTJ2K:
      return 'image/jphc';
    case TS.RLELossless:
      return 'image/dicom-rle';
    default:
      return OCTET_STREAM;
  }
}

/** Number of Frames (0028,0008), 1 when absent or not a positive integer. */
export function numberOfFrames(ds: DataSet): number {
  const n = ds.number(Tags.NumberOfFrames);
  return n !== undefined && Number.isInteger(n) && n >= 1 ? n : 1;
}

/** The frames asked for, as stored: native frames little endian, compressed frames as encoded. */
export function getFrames(p: Part10, frameNumbers: number[]): Frames {
  const { el, count } = select(p, frameNumbers);
  const ts = p.transferSyntax.uid;
  if (el.fragments) {
    if (!p.transferSyntax.encapsulated) throw invalidDicom(`encapsulated pixel data in the native transfer syntax ${ts}`);
    const frames = encapsulatedFrames(el.fragments, p.dataset, ts, count, frameNumbers);
    if (ts === TS.EncapsulatedUncompressedExplicitVRLittleEndian) {
      return { frames, mediaType: OCTET_STREAM, transferSyntaxUid: TS.ExplicitVRLittleEndian };
    }
    return { frames, mediaType: frameMediaType(ts), transferSyntaxUid: ts };
  }
  if (p.transferSyntax.encapsulated) throw invalidDicom(`pixel data is not encapsulated, as ${ts} requires`);
  return { frames: nativeFrames(p.dataset, el, frameNumbers), mediaType: OCTET_STREAM, transferSyntaxUid: TS.ExplicitVRLittleEndian };
}

/**
 * The frames asked for as native little-endian pixels: native frames as getFrames gives them, RLE
 * frames decoded (laid out as Planar Configuration says, see rle.ts). Other compressed syntaxes
 * have no decoder here: 'not-acceptable'.
 */
export function decodeFramesToNative(p: Part10, frameNumbers: number[]): Frames {
  const ts = p.transferSyntax.uid;
  if (NATIVE_OUTPUT.has(ts)) return getFrames(p, frameNumbers);
  if (ts !== TS.RLELossless) throw new RampartError('not-acceptable', `no decoder for ${ts}`);
  const encoded = getFrames(p, frameNumbers);
  const ds = p.dataset;
  const img = imagePixel(ds);
  const frames = encoded.frames.map((f) => decodeRleFrame(f, img.rows, img.columns, img.samplesPerPixel, img.bitsAllocated, img.planarConfiguration));
  return { frames, mediaType: OCTET_STREAM, transferSyntaxUid: TS.ExplicitVRLittleEndian };
}

export interface ImagePixel {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  planarConfiguration: 0 | 1;
}

/** The Image Pixel attributes (PS3.3 C.7.6.3) frame sizes depend on. */
export function imagePixel(ds: DataSet): ImagePixel {
  const need = (tag: number, name: string): number => {
    const v = ds.number(tag);
    if (v === undefined || !Number.isInteger(v) || v < 1) throw invalidDicom(`${name} is missing or not a positive integer`);
    return v;
  };
  const rows = need(Tags.Rows, 'Rows (0028,0010)');
  const columns = need(Tags.Columns, 'Columns (0028,0011)');
  const bitsAllocated = need(Tags.BitsAllocated, 'Bits Allocated (0028,0100)');
  const spp = ds.number(Tags.SamplesPerPixel) ?? 1;
  if (!Number.isInteger(spp) || spp < 1) throw invalidDicom(`Samples per Pixel ${spp} is not a positive integer`);
  const planarConfiguration = spp > 1 && ds.number(Tags.PlanarConfiguration) === 1 ? 1 : 0;
  return { rows, columns, samplesPerPixel: spp, bitsAllocated, planarConfiguration };
}

function select(p: Part10, frameNumbers: number[]): { el: Element; count: number } {
  if (frameNumbers.length === 0) throw badRequest('no frame numbers given');
  if (frameNumbers.length > MAX_FRAMES_PER_REQUEST) {
    throw badRequest(`${frameNumbers.length} frames requested, at most ${MAX_FRAMES_PER_REQUEST} are served at once`);
  }
  for (const f of frameNumbers) {
    if (!Number.isSafeInteger(f) || f < 1) throw badRequest(`frame number ${String(f)} is not a positive integer`);
  }
  const ds = p.dataset;
  const el = ds.get(Tags.PixelData) ?? ds.get(Tags.FloatPixelData) ?? ds.get(Tags.DoubleFloatPixelData);
  if (!el) throw notFound('the instance has no pixel data');
  const count = numberOfFrames(ds);
  for (const f of frameNumbers) {
    if (f > count) throw notFound(`frame ${f} does not exist: the instance has ${count} frame${count === 1 ? '' : 's'}`);
  }
  return { el, count };
}

// ---- native ----

function nativeFrames(ds: DataSet, el: Element, frameNumbers: number[]): Buffer[] {
  if (!el.value) throw invalidDicom('pixel data value was not read');
  const img = imagePixel(ds);
  let bits = img.bitsAllocated;
  if (el.tag === Tags.FloatPixelData) bits = 32;
  if (el.tag === Tags.DoubleFloatPixelData) bits = 64;
  if (bits !== 1 && bits % 8 !== 0) {
    throw new RampartError('not-acceptable', `native frames with Bits Allocated ${bits} cannot be extracted (only 1 and multiples of 8)`);
  }
  const sampleBytes = bits >= 8 ? bits / 8 : 0;
  if (!ds.littleEndian && sampleBytes > 1 && sampleBytes !== 2 && sampleBytes !== 4 && sampleBytes !== 8) {
    throw new RampartError('not-acceptable', `big endian samples of ${bits} bits cannot be converted`);
  }
  // Native YBR_FULL_422 stores two samples per pixel on average: Y Y Cb Cr per pixel pair (PS3.3 C.7.6.3.1.2).
  const photometric = ds.string(Tags.PhotometricInterpretation);
  const subsampled = img.samplesPerPixel === 3 && (photometric === 'YBR_FULL_422' || photometric === 'YBR_PARTIAL_422');
  const frameBits = img.rows * img.columns * (subsampled ? 2 : img.samplesPerPixel) * bits;
  let value: Uint8Array = el.value;
  // 8-bit and 1-bit OW data is 16-bit words in big endian: normalise the whole value, since a
  // frame may start in the middle of a word.
  if (!ds.littleEndian && sampleBytes <= 1 && el.vr === 'OW') value = swapCopy(value, 2, 'pixel data');
  const out: Buffer[] = [];
  for (const f of frameNumbers) {
    const startBit = (f - 1) * frameBits;
    const endByte = Math.ceil((startBit + frameBits) / 8);
    if (endByte > value.length) {
      throw invalidDicom(`frame ${f} ends at byte ${endByte} but the pixel data holds only ${value.length} bytes`);
    }
    if (bits === 1) {
      out.push(extractBits(value, startBit, frameBits));
    } else {
      const frame = value.subarray(startBit / 8, endByte);
      out.push(!ds.littleEndian && sampleBytes > 1 ? swapCopy(frame, sampleBytes, `frame ${f}`) : asBuffer(frame));
    }
  }
  return out;
}

function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function swapCopy(v: Uint8Array, size: number, what: string): Buffer {
  // An odd trailing byte (odd-length 8-bit OW padded by a careless writer) is kept as is.
  const whole = v.length - (v.length % size);
  if (whole !== v.length && size !== 2) throw invalidDicom(`${what} length ${v.length} is not a multiple of ${size}`);
  const b = Buffer.from(v);
  const head = b.subarray(0, whole);
  if (size === 2) head.swap16(); else if (size === 4) head.swap32(); else head.swap64();
  return b;
}

/** bitCount bits from bit offset start (bit 0 = least significant bit of byte 0), repacked from bit 0. */
function extractBits(src: Uint8Array, start: number, bitCount: number): Buffer {
  const bytes = Math.ceil(bitCount / 8);
  const first = Math.floor(start / 8);
  const shift = start % 8;
  const out = Buffer.alloc(bytes);
  if (shift === 0) {
    out.set(src.subarray(first, first + bytes));
  } else {
    for (let i = 0; i < bytes; i++) {
      const lo = src[first + i]! >>> shift;
      const hi = first + i + 1 < src.length ? (src[first + i + 1]! << (8 - shift)) & 0xff : 0;
      out[i] = lo | hi;
    }
  }
  const tail = bitCount % 8;
  if (tail !== 0) out[bytes - 1] = out[bytes - 1]! & ((1 << tail) - 1);
  return out;
}

// ---- encapsulated ----

interface Range { first: number; end: number; length?: number }

function encapsulatedFrames(fragments: Uint8Array[], ds: DataSet, ts: string, count: number, frameNumbers: number[]): Buffer[] {
  const data = fragments.slice(1);
  const bot = fragments[0];
  if (bot === undefined) throw invalidDicom('encapsulated pixel data has no Basic Offset Table item');
  // Offset of each data fragment's item header, counted from the first one (PS3.5 A.4).
  const itemAt = new Map<number, number>();
  let pos = 0;
  for (let i = 0; i < data.length; i++) {
    itemAt.set(pos, i);
    pos += 8 + data[i]!.length;
  }
  const ranges: Range[] | undefined =
    fromExtendedTable(ds, itemAt, data, count) ??
    fromBasicTable(bot, itemAt, data.length, count) ??
    (data.length === count ? data.map((_, i) => ({ first: i, end: i + 1 })) : undefined) ??
    (count === 1 && data.length > 0 ? [{ first: 0, end: data.length }] : undefined) ??
    fromStartMarkers(data, ts, count);
  if (!ranges) {
    throw invalidDicom(`cannot tell where the ${count} frames begin among ${data.length} fragments: no usable offset table, and no frame start markers`);
  }
  return frameNumbers.map((f) => {
    const r = ranges[f - 1]!;
    const whole = r.end - r.first === 1 ? asBuffer(data[r.first]!) : Buffer.concat(data.slice(r.first, r.end));
    if (r.length === undefined) return whole;
    if (r.length > whole.length) throw invalidDicom(`frame ${f} is ${r.length} bytes by the Extended Offset Table but its fragments hold ${whole.length}`);
    return whole.subarray(0, r.length);
  });
}

/** Frame starts (fragment indexes) from item offsets, or undefined if an offset is not on an item. */
function rangesFromOffsets(offsets: number[], itemAt: Map<number, number>, fragments: number): Range[] | undefined {
  const starts: number[] = [];
  for (const o of offsets) {
    const i = itemAt.get(o);
    if (i === undefined || (starts.length > 0 && i <= starts[starts.length - 1]!)) return undefined;
    starts.push(i);
  }
  if (starts[0] !== 0) return undefined;
  return starts.map((first, k) => ({ first, end: starts[k + 1] ?? fragments }));
}

function fromExtendedTable(ds: DataSet, itemAt: Map<number, number>, data: Uint8Array[], count: number): Range[] | undefined {
  if (!ds.has(ExtendedOffsetTable)) return undefined;
  const offsets = ds.numbers(ExtendedOffsetTable);
  const lengths = ds.numbers(ExtendedOffsetTableLengths);
  if (offsets.length !== count || lengths.length !== count) return undefined;
  const ranges = rangesFromOffsets(offsets, itemAt, data.length);
  return ranges?.map((r, i) => ({ ...r, length: lengths[i]! }));
}

function fromBasicTable(bot: Uint8Array, itemAt: Map<number, number>, fragments: number, count: number): Range[] | undefined {
  if (bot.length === 0 || bot.length !== 4 * count) return undefined;
  const dv = new DataView(bot.buffer, bot.byteOffset, bot.byteLength);
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(dv.getUint32(4 * i, true));
  return rangesFromOffsets(offsets, itemAt, fragments);
}

function fromStartMarkers(data: Uint8Array[], ts: string, count: number): Range[] | undefined {
  if (data.length <= count) return undefined;
  let isStart: (f: Uint8Array) => boolean;
  if (JPEG_FAMILY.has(ts)) isStart = (f) => f[0] === 0xff && f[1] === 0xd8;
  else if (J2K_FAMILY.has(ts)) isStart = (f) => f[0] === 0xff && f[1] === 0x4f && f[2] === 0xff && f[3] === 0x51;
  else return undefined;
  const starts: number[] = [];
  data.forEach((f, i) => { if (isStart(f)) starts.push(i); });
  if (starts.length !== count || starts[0] !== 0) return undefined;
  return starts.map((first, k) => ({ first, end: starts[k + 1] ?? data.length }));
}

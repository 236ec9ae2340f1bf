// RLE Lossless decoding (PS3.5 Annex G): one encapsulated frame to native little-endian pixels.
//
// A frame is a 64-byte header (segment count, then 15 little-endian offsets) followed by byte
// segments, PackBits-coded (G.3.1). Each segment holds one byte of one sample for every pixel,
// and segments go by sample, most significant byte first (G.2): for 16-bit RGB, R-MSB, R-LSB,
// G-MSB, G-LSB, B-MSB, B-LSB.
//
// Output layout: RLE separates samples into segments whatever Planar Configuration (0028,0006)
// says, so the decoder may lay them out either way. We follow the data set's value, as DCMTK's
// dcmdrle does (color-by-pixel when it is 0 or absent, color-by-plane when it is 1), so that a
// decoded frame always agrees with the attributes sent beside it and transcoding need not change
// them. pydicom's pixel_array is always color-by-pixel; for Planar Configuration 0 the bytes are
// identical.
//
// Hostile input is bounded: at most 15 segments, offsets inside the fragment and ascending, every
// run checked against both the input left and the plane size, and each loop step consumes input.
import { RampartError, invalidDicom } from '../errors.js';
import { constants } from 'node:buffer';

const HEADER_BYTES = 64;
const MAX_SEGMENTS = 15;

/** Bytes one decoded frame takes; throws if the attributes cannot describe an RLE frame. */
export function rleFrameBytes(rows: number, columns: number, samplesPerPixel: number, bitsAllocated: number): number {
  for (const [name, v] of [['Rows', rows], ['Columns', columns], ['Samples per Pixel', samplesPerPixel]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffff) throw invalidDicom(`RLE frame: ${name} ${v} is not a positive 16-bit integer`);
  }
  if (!Number.isInteger(bitsAllocated) || bitsAllocated < 8 || bitsAllocated % 8 !== 0) {
    throw new RampartError('not-acceptable', `RLE frames with Bits Allocated ${bitsAllocated} cannot be decoded (only multiples of 8)`);
  }
  const segments = samplesPerPixel * (bitsAllocated / 8);
  if (segments > MAX_SEGMENTS) {
    throw invalidDicom(`RLE frame: ${samplesPerPixel} samples of ${bitsAllocated} bits need ${segments} segments, more than the ${MAX_SEGMENTS} allowed`);
  }
  const size = rows * columns * segments;
  if (size > constants.MAX_LENGTH) throw new RampartError('too-large', `RLE frame of ${size} bytes is too large to decode`);
  return size;
}

/**
 * Decodes one RLE frame (all its fragments concatenated) to native little-endian pixel data of
 * exactly rows * columns * samplesPerPixel * bitsAllocated / 8 bytes. planarConfiguration 0 gives
 * color-by-pixel (R G B R G B ...), 1 gives color-by-plane (all R, all G, all B).
 */
export function decodeRleFrame(
  fragment: Uint8Array,
  rows: number,
  columns: number,
  samplesPerPixel: number,
  bitsAllocated: number,
  planarConfiguration: 0 | 1 = 0,
): Buffer {
  const size = rleFrameBytes(rows, columns, samplesPerPixel, bitsAllocated);
  const bytesPerSample = bitsAllocated / 8;
  const expectedSegments = samplesPerPixel * bytesPerSample;
  const pixels = rows * columns;

  if (fragment.length < HEADER_BYTES) throw invalidDicom(`RLE frame of ${fragment.length} bytes is shorter than its 64-byte header`);
  const dv = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
  const count = dv.getUint32(0, true);
  if (count > MAX_SEGMENTS) throw invalidDicom(`RLE header declares ${count} segments, more than ${MAX_SEGMENTS}`);
  if (count !== expectedSegments) {
    throw invalidDicom(`RLE header declares ${count} segments, but ${samplesPerPixel} samples of ${bitsAllocated} bits need ${expectedSegments}`);
  }
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    const o = dv.getUint32(4 + 4 * i, true);
    const prev = offsets[i - 1] ?? HEADER_BYTES;
    if (o < prev || o > fragment.length) {
      throw invalidDicom(`RLE segment ${i + 1} offset ${o} is outside the frame (${fragment.length} bytes) or out of order`);
    }
    offsets.push(o);
  }

  const out = Buffer.alloc(size);
  const plane = Buffer.alloc(pixels);
  for (let seg = 0; seg < count; seg++) {
    const start = offsets[seg]!;
    const end = offsets[seg + 1] ?? fragment.length;
    decodeSegment(fragment, start, end, plane, seg + 1);
    // Segment seg holds byte (MSB first) b of sample s; little endian puts it at bytesPerSample-1-b.
    const s = Math.floor(seg / bytesPerSample);
    const byte = bytesPerSample - 1 - (seg % bytesPerSample);
    let pos: number, step: number;
    if (planarConfiguration === 1) {
      pos = s * pixels * bytesPerSample + byte;
      step = bytesPerSample;
    } else {
      pos = s * bytesPerSample + byte;
      step = samplesPerPixel * bytesPerSample;
    }
    for (let i = 0; i < pixels; i++, pos += step) out[pos] = plane[i]!;
  }
  return out;
}

/**
 * PackBits (G.3.1): header n in 0..127 copies the next n+1 bytes, -1..-127 repeats the next byte
 * 1-n times, -128 is a no-op. Fills out exactly; bytes left once it is full are the segment's
 * padding (encoders pad segments to even length) and are ignored, as pydicom and DCMTK do.
 */
function decodeSegment(src: Uint8Array, start: number, end: number, out: Buffer, segment: number): void {
  const want = out.length;
  let o = 0;
  let p = start;
  while (o < want) {
    if (p >= end) throw invalidDicom(`RLE segment ${segment} decodes to ${o} bytes, ${want} expected`);
    const h = src[p++]!;
    if (h < 128) {
      const n = h + 1;
      if (p + n > end) throw invalidDicom(`RLE segment ${segment}: a literal run of ${n} bytes runs past the segment end`);
      if (o + n > want) throw invalidDicom(`RLE segment ${segment} decodes to more than the ${want} bytes expected`);
      out.set(src.subarray(p, p + n), o);
      p += n;
      o += n;
    } else if (h > 128) {
      const n = 257 - h;
      if (p >= end) throw invalidDicom(`RLE segment ${segment}: a replicate run has no byte to repeat`);
      if (o + n > want) throw invalidDicom(`RLE segment ${segment} decodes to more than the ${want} bytes expected`);
      out.fill(src[p++]!, o, o + n);
      o += n;
    }
    // h === 128: no operation
  }
}

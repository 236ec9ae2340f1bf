// Decoding compressed frames to native pixels (PS3.5 8.2, A.4): bytes in, pixels out, no I/O.
// JPEG Baseline/Extended 8-bit (.50, .51) by libjpeg-turbo, JPEG Lossless (.57, .70) by
// jpeg-lossless-decoder-js, JPEG-LS (.80, .81) by CharLS, JPEG 2000 (.90, .91) by OpenJPEG, RLE
// (.5) by rle.ts; native syntaxes are sliced as stored. 12-bit lossy JPEG (.51) by jpeg-dct.ts,
// grayscale only.
//
// A decoded frame is little endian, Bits Allocated per sample, color-by-pixel (RLE keeps the data
// set's Planar Configuration, see rle.ts). Where the codec undoes a color transform the result is
// RGB and says so: libjpeg-turbo turns YCbCr into RGB (YBR_FULL_422 and YBR_FULL become RGB, as
// dcmdjpeg does), OpenJPEG undoes the multi-component transform (YBR_RCT and YBR_ICT become RGB).
// Signed samples narrower than Bits Allocated are sign-extended from Bits Stored, unsigned ones
// masked to it. The stream's own header is read first and must agree with Rows, Columns and
// Samples per Pixel, so a hostile stream cannot size the decoder's output.
import { RampartError, invalidDicom } from '../../errors.js';
import type { DataSet } from '../dataset.js';
import { decodeFramesToNative, getFrames, imagePixel, numberOfFrames } from '../frames.js';
import type { Part10 } from '../reader.js';
import { Tags } from '../tag.js';
import { TS, isUncompressed } from '../transfer-syntax.js';
import { j2kHeader, jpegHeader, type StreamHeader } from './header.js';
import { decodeJpegDct } from './jpeg-dct.js';
import { decodeJpegLossless } from './jpeg-lossless.js';
import { wasmDecode } from './wasm.js';

export interface FrameDescription {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  planarConfiguration: 0 | 1;
  photometric: string;
}

export interface DecodedFrames {
  frames: Buffer[];
  /** Photometric Interpretation of the decoded pixels (RGB where the codec converted color). */
  photometric: string;
  planarConfiguration: 0 | 1;
}

export interface DecodeLimits {
  /** Most samples (rows x columns x samples per pixel x frames) one call may decode. */
  maxSamples: number;
}

const JPEG_DCT = new Set<string>([TS.JPEGBaseline8Bit, TS.JPEGExtended12Bit]);
const JPEG_LOSSLESS = new Set<string>([TS.JPEGLossless, TS.JPEGLosslessSV1]);
const JPEG_LS = new Set<string>([TS.JPEGLSLossless, TS.JPEGLSNearLossless]);
const J2K = new Set<string>([TS.JPEG2000Lossless, TS.JPEG2000]);

/** Transfer syntaxes whose frames decodeFrames can turn into native pixels. */
export function canDecode(tsUid: string): boolean {
  return isUncompressed(tsUid) || tsUid === TS.EncapsulatedUncompressedExplicitVRLittleEndian || tsUid === TS.RLELossless ||
    JPEG_DCT.has(tsUid) || JPEG_LOSSLESS.has(tsUid) || JPEG_LS.has(tsUid) || J2K.has(tsUid);
}

export function frameDescription(ds: DataSet): FrameDescription {
  const img = imagePixel(ds);
  const bitsStored = ds.number(Tags.BitsStored) ?? img.bitsAllocated;
  return {
    ...img,
    bitsStored: Number.isInteger(bitsStored) && bitsStored >= 1 && bitsStored <= img.bitsAllocated ? bitsStored : img.bitsAllocated,
    pixelRepresentation: ds.number(Tags.PixelRepresentation) === 1 ? 1 : 0,
    photometric: ds.string(Tags.PhotometricInterpretation) ?? (img.samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB'),
  };
}

/** The chosen frames of a Part 10 object as native pixels, within the limits. */
export async function decodeFrames(p: Part10, frameNumbers: number[], limits: DecodeLimits): Promise<DecodedFrames> {
  const ds = p.dataset;
  const d = frameDescription(ds);
  const samples = d.rows * d.columns * d.samplesPerPixel * frameNumbers.length;
  if (samples > limits.maxSamples) {
    throw new RampartError('too-large', `decoding ${frameNumbers.length} frame(s) of ${d.rows}x${d.columns}x${d.samplesPerPixel} exceeds the limit of ${limits.maxSamples} samples`);
  }
  if (frameNumbers.some((f) => f > numberOfFrames(ds))) return { ...decodeFramesToNative(p, frameNumbers), photometric: d.photometric, planarConfiguration: d.planarConfiguration };
  const ts = p.transferSyntax.uid;
  if (!p.transferSyntax.encapsulated || ts === TS.EncapsulatedUncompressedExplicitVRLittleEndian || ts === TS.RLELossless) {
    return { frames: decodeFramesToNative(p, frameNumbers).frames, photometric: d.photometric, planarConfiguration: d.planarConfiguration };
  }
  if (!canDecode(ts)) throw new RampartError('not-acceptable', `no decoder for transfer syntax ${ts}`);
  const encoded = getFrames(p, frameNumbers).frames;
  const frames: Buffer[] = [];
  let photometric = d.photometric;
  for (const f of encoded) {
    const r = await decodeFrame(ts, f, d);
    frames.push(r.pixels);
    photometric = r.photometric;
  }
  return { frames, photometric, planarConfiguration: 0 };
}

/** One compressed frame to native pixels (see the file comment for the layout). */
export async function decodeFrame(tsUid: string, encoded: Uint8Array, d: FrameDescription): Promise<{ pixels: Buffer; photometric: string }> {
  if (d.bitsAllocated !== 8 && d.bitsAllocated !== 16) {
    throw new RampartError('not-acceptable', `compressed frames with Bits Allocated ${d.bitsAllocated} cannot be decoded (8 and 16 can)`);
  }
  let header: StreamHeader;
  let raw: Uint8Array;
  let photometric = d.photometric;
  let planar = false;
  if (J2K.has(tsUid)) {
    header = checkHeader(j2kHeader(encoded), d);
    const r = await wasmDecode('openjpeg', encoded);
    sameSize(r.info, d);
    raw = r.pixels;
    header.precision = r.info.bitsPerSample;
    if (d.samplesPerPixel === 3 && (photometric === 'YBR_RCT' || photometric === 'YBR_ICT')) photometric = 'RGB';
  } else {
    header = checkHeader(jpegHeader(encoded), d);
    const lossless = header.sof === 0xc3 || header.sof === 0xc7 || header.sof === 0xcb || header.sof === 0xcf;
    if (JPEG_LS.has(tsUid) || header.sof === 0xf7) {
      // CharLS takes tens of seconds over some truncated streams before failing: refuse them first.
      if (!endsWithEoi(encoded)) throw invalidDicom('the JPEG-LS stream is truncated: it does not end with EOI');
      const r = await wasmDecode('charls', encoded);
      sameSize(r.info, d);
      raw = r.pixels;
      planar = d.samplesPerPixel > 1 && r.interleaveMode === 0;
    } else if (lossless) {
      raw = decodeJpegLossless(encoded, header.precision);
    } else {
      if (header.precision > 8) {
        raw = decodeJpegDct(encoded); // 12-bit: our own decoder (jpeg-dct.ts), one component
      } else {
      const r = await wasmDecode('libjpeg-turbo', !header.colorMarker && d.samplesPerPixel === 3 && photometric === 'RGB' ? withAdobeNoTransform(encoded) : encoded);
      sameSize(r.info, d);
      raw = r.pixels;
      if (d.samplesPerPixel === 3 && photometric.startsWith('YBR_FULL')) photometric = 'RGB';
      }
    }
  }
  const inBytes = header.precision > 8 ? 2 : 1;
  const pixelsCount = d.rows * d.columns * d.samplesPerPixel;
  if (raw.length < pixelsCount * inBytes) throw invalidDicom(`the decoder returned ${raw.length} bytes for ${pixelsCount} samples`);
  if (inBytes === 2 && d.bitsAllocated === 8) throw invalidDicom(`the stream holds ${header.precision}-bit samples but Bits Allocated is 8`);
  return { pixels: normalise(raw, inBytes, planar, d), photometric };
}

/** The stream ends with EOI (FFD9), ignoring the padding byte that makes a fragment even. */
function endsWithEoi(b: Uint8Array): boolean {
  let end = b.length;
  while (end > 2 && b[end - 1] === 0x00 && end > b.length - 2) end--;
  return end >= 4 && b[end - 2] === 0xff && b[end - 1] === 0xd9;
}

function checkHeader(h: StreamHeader, d: FrameDescription): StreamHeader {
  if (h.rows !== d.rows || h.columns !== d.columns) {
    throw invalidDicom(`the compressed frame is ${h.columns}x${h.rows} but Columns x Rows is ${d.columns}x${d.rows}`);
  }
  if (h.components !== d.samplesPerPixel) {
    throw invalidDicom(`the compressed frame has ${h.components} components but Samples per Pixel is ${d.samplesPerPixel}`);
  }
  if (h.precision < 1 || h.precision > 16) throw new RampartError('not-acceptable', `compressed samples of ${h.precision} bits cannot be decoded`);
  return { ...h };
}

function sameSize(info: { width: number; height: number; componentCount: number }, d: FrameDescription): void {
  if (info.width !== d.columns || info.height !== d.rows || info.componentCount !== d.samplesPerPixel) {
    throw invalidDicom('the decoded frame does not have the size the data set gives');
  }
}

/**
 * An Adobe APP14 segment with transform 0 after SOI: tells libjpeg the three components are RGB,
 * not YCbCr. Photometric Interpretation RGB in a JPEG stream means no color transform was applied
 * (PS3.5 8.2.1), while a stream without JFIF or Adobe markers makes libjpeg assume YCbCr.
 */
function withAdobeNoTransform(encoded: Uint8Array): Uint8Array {
  const app14 = [0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00];
  const out = new Uint8Array(encoded.length + app14.length);
  out.set(encoded.subarray(0, 2), 0);
  out.set(app14, 2);
  out.set(encoded.subarray(2), 2 + app14.length);
  return out;
}

/** Decoder output (interleaved, or planar for CharLS interleave mode none) to the native frame layout. */
function normalise(raw: Uint8Array, inBytes: number, planar: boolean, d: FrameDescription): Buffer {
  const n = d.rows * d.columns;
  const spp = d.samplesPerPixel;
  const outBytes = d.bitsAllocated / 8;
  const out = Buffer.alloc(n * spp * outBytes);
  const get = inBytes === 1 ? (i: number) => raw[i]! : (i: number) => raw[2 * i]! | (raw[2 * i + 1]! << 8);
  const bits = d.bitsStored;
  const mask = bits >= 16 ? 0xffff : (1 << bits) - 1;
  const sign = d.pixelRepresentation === 1 && bits < d.bitsAllocated ? 1 << (bits - 1) : 0;
  const fullMask = d.bitsAllocated === 16 ? 0xffff : 0xff;
  for (let px = 0; px < n; px++) {
    for (let s = 0; s < spp; s++) {
      let v = get(planar ? s * n + px : px * spp + s) & mask;
      if (sign && (v & sign)) v = (v | ~mask) & fullMask;
      const o = px * spp + s;
      if (outBytes === 1) out[o] = v; else out.writeUInt16LE(v, 2 * o);
    }
  }
  return out;
}

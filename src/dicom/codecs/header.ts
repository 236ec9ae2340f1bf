// The image size a compressed frame declares in its own header, read before any decoder runs, so
// that a stream cannot make a decoder allocate more than the data set's Rows x Columns allow.
// JPEG (ISO 10918-1 B.2.2, SOFn) and JPEG-LS (ISO 14495-1 C.2.2, SOF55 = FFF7) share the frame
// header layout; JPEG 2000 starts its codestream with SOC (FF4F) then SIZ (FF51, ISO 15444-1 A.5.1).
import { invalidDicom } from '../../errors.js';

export interface StreamHeader {
  columns: number;
  rows: number;
  components: number;
  /** Bits per sample (the first component's for JPEG 2000). */
  precision: number;
  /** JPEG 2000 only: the first component is signed (Ssiz bit 7). */
  signed?: boolean;
  /** JPEG and JPEG-LS only: the frame header's marker (C0-CF, or F7 for JPEG-LS). */
  sof?: number;
  /** JPEG only: APP0 "JFIF" or APP14 "Adobe" present (they tell a decoder which color transform was used). */
  colorMarker?: boolean;
}

const be16 = (b: Uint8Array, i: number): number => ((b[i]! << 8) | b[i + 1]!) >>> 0;
const be32 = (b: Uint8Array, i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

/** The frame header of a JPEG or JPEG-LS stream; throws invalid-dicom when there is none. */
export function jpegHeader(b: Uint8Array): StreamHeader {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw invalidDicom('compressed frame does not start with a JPEG SOI marker');
  let i = 2;
  let colorMarker = false;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw invalidDicom(`JPEG stream: expected a marker at byte ${i}`);
    const m = b[i + 1]!;
    if (m === 0xff) { i++; continue; } // fill byte
    const len = be16(b, i + 2);
    if (len < 2) throw invalidDicom('JPEG stream: marker segment shorter than its length field');
    const isSof = (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7;
    if (isSof) {
      if (i + 10 > b.length) throw invalidDicom('JPEG stream: truncated frame header');
      return { sof: m, precision: b[i + 4]!, rows: be16(b, i + 5), columns: be16(b, i + 7), components: b[i + 9]!, colorMarker };
    }
    if (m === 0xe0 && len >= 7 && b[i + 4] === 0x4a && b[i + 5] === 0x46 && b[i + 6] === 0x49 && b[i + 7] === 0x46) colorMarker = true;
    if (m === 0xee && len >= 7 && b[i + 4] === 0x41 && b[i + 5] === 0x64 && b[i + 6] === 0x6f && b[i + 7] === 0x62) colorMarker = true;
    if (m === 0xda) break; // a scan before any frame header
    i += 2 + len;
  }
  throw invalidDicom('JPEG stream has no frame header (SOF) before its data');
}

/** The SIZ segment of a JPEG 2000 codestream (a JP2 file's 'jp2c' box is looked into). */
export function j2kHeader(b: Uint8Array): StreamHeader {
  let s = 0;
  // JP2 file format (ISO 15444-1 I.4): boxes; DICOM says codestream only, but some writers wrap it.
  if (b.length >= 12 && be32(b, 0) === 12 && be32(b, 4) === 0x6a502020) {
    let i = 0;
    for (let n = 0; n < 64 && i + 8 <= b.length; n++) {
      let len = be32(b, i);
      const type = be32(b, i + 4);
      let head = 8;
      if (len === 1 && i + 16 <= b.length) { len = be32(b, i + 12); head = 16; } // 64-bit length; high word ignored
      if (type === 0x6a703263) { s = i + head; break; } // 'jp2c'
      if (len < head) throw invalidDicom('JPEG 2000 file: malformed box');
      i += len;
    }
  }
  if (b.length < s + 42 || be16(b, s) !== 0xff4f || be16(b, s + 2) !== 0xff51) {
    throw invalidDicom('compressed frame does not start with a JPEG 2000 codestream (SOC, SIZ)');
  }
  const siz = s + 4; // Lsiz at siz
  const xsiz = be32(b, siz + 4), ysiz = be32(b, siz + 8), xo = be32(b, siz + 12), yo = be32(b, siz + 16);
  const csiz = be16(b, siz + 36);
  const ssiz = b[siz + 38]!;
  if (xsiz <= xo || ysiz <= yo) throw invalidDicom('JPEG 2000 codestream: image offset beyond its size');
  return { columns: xsiz - xo, rows: ysiz - yo, components: csiz, precision: (ssiz & 0x7f) + 1, signed: (ssiz & 0x80) !== 0 };
}

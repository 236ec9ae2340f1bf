// A decoder for sequential DCT JPEG with Huffman coding (ISO 10918-1 Annex F, processes 2 and 4)
// at 12 bits per sample, which the 8-bit libjpeg-turbo build cannot decode: JPEG Extended
// (1.2.840.10008.1.2.4.51) as 12-bit CT and MR are stored. One component (grayscale) only; color
// at 12 bits is not found in practice and is refused. Bounded by the frame header (checked against
// the data set before this runs); corrupt entropy data gives 'invalid-dicom', a short stream is
// completed with zero coefficients as libjpeg does. The inverse DCT is floating point (F.2.1.5).
import { RampartError, invalidDicom } from '../../errors.js';

const ZIGZAG = Int32Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
]);

/** cos((2x+1)u pi/16) * C(u) / 2, for the separable inverse DCT. */
const IDCT = (() => {
  const t = new Float64Array(64);
  for (let x = 0; x < 8; x++) for (let u = 0; u < 8; u++) t[x * 8 + u] = (u === 0 ? Math.SQRT1_2 : 1) * Math.cos(((2 * x + 1) * u * Math.PI) / 16) / 2;
  return t;
})();

interface Huffman { maxcode: Int32Array; valptr: Int32Array; mincode: Int32Array; values: Uint8Array }

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  // F.2.2.3 / C.2: codes assigned in order of length.
  const maxcode = new Int32Array(18).fill(-1), valptr = new Int32Array(17), mincode = new Int32Array(17);
  let code = 0, k = 0;
  for (let l = 1; l <= 16; l++) {
    valptr[l] = k;
    mincode[l] = code;
    code += counts[l - 1]!;
    k += counts[l - 1]!;
    maxcode[l] = counts[l - 1]! ? code - 1 : -1;
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { maxcode, valptr, mincode, values };
}

/** Samples of a one-component 12-bit (or 8-bit) sequential DCT stream, 2 bytes each, little endian. */
export function decodeJpegDct(b: Uint8Array): Uint8Array {
  const be16 = (i: number) => (b[i]! << 8) | b[i + 1]!;
  const qt: Int32Array[] = [];
  const dc: Huffman[] = [], ac: Huffman[] = [];
  let width = 0, height = 0, precision = 0, compId = -1, tq = 0, restart = 0;
  let i = 2;
  for (;;) {
    if (i + 4 > b.length) throw invalidDicom('JPEG stream ends before its scan');
    if (b[i] !== 0xff) throw invalidDicom('JPEG stream: expected a marker');
    const m = b[i + 1]!;
    if (m === 0xff) { i++; continue; }
    const len = be16(i + 2);
    const seg = i + 4, end = i + 2 + len;
    if (end > b.length) throw invalidDicom('JPEG stream: marker segment beyond the end');
    if (m === 0xdb) {
      for (let p = seg; p < end;) {
        const pq = b[p]! >> 4, id = b[p]! & 15;
        const t = new Int32Array(64);
        for (let k = 0; k < 64; k++) t[k] = pq ? be16(p + 1 + 2 * k) : b[p + 1 + k]!;
        qt[id & 3] = t;
        p += 1 + 64 * (pq ? 2 : 1);
      }
    } else if (m === 0xc4) {
      for (let p = seg; p < end;) {
        const tc = b[p]! >> 4, th = b[p]! & 3;
        const counts = b.subarray(p + 1, p + 17);
        let n = 0;
        for (const c of counts) n += c;
        if (n > 256 || p + 17 + n > end) throw invalidDicom('JPEG stream: malformed Huffman table');
        const h = buildHuffman(counts, b.subarray(p + 17, p + 17 + n));
        (tc ? ac : dc)[th] = h;
        p += 17 + n;
      }
    } else if (m === 0xc0 || m === 0xc1) {
      precision = b[seg]!;
      height = be16(seg + 1);
      width = be16(seg + 3);
      if (b[seg + 5] !== 1) throw new RampartError('not-acceptable', 'JPEG Extended with more than one component is not decoded at 12 bits');
      compId = b[seg + 6]!;
      tq = b[seg + 8]! & 3;
    } else if (m >= 0xc2 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      throw new RampartError('not-acceptable', `JPEG process with frame marker FF${m.toString(16).toUpperCase()} is not decoded at 12 bits`);
    } else if (m === 0xdd) {
      restart = be16(seg);
    } else if (m === 0xda) {
      if (!width || !height) throw invalidDicom('JPEG stream: scan before the frame header');
      if (b[seg] !== 1 || b[seg + 1] !== compId) throw invalidDicom('JPEG stream: scan does not name the frame component');
      const td = b[seg + 2]! >> 4, ta = b[seg + 2]! & 15;
      const q = qt[tq], hd = dc[td & 3], ha = ac[ta & 3];
      if (!q || !hd || !ha) throw invalidDicom('JPEG stream: scan uses a table that is not defined');
      return decodeScan(b, end, width, height, precision, q, hd, ha, restart);
    }
    i = end;
  }
}

function decodeScan(b: Uint8Array, start: number, width: number, height: number, precision: number, q: Int32Array, hd: Huffman, ha: Huffman, restart: number): Uint8Array {
  let pos = start, bits = 0, nbits = 0, markerHit = false;
  const fill = () => {
    while (nbits <= 24) {
      let byte = 0;
      if (!markerHit && pos < b.length) {
        byte = b[pos]!;
        if (byte === 0xff) {
          const next = b[pos + 1];
          if (next === 0x00) pos += 2;
          else { markerHit = true; byte = 0; }
        } else pos++;
      }
      bits = (bits << 8) | byte;
      nbits += 8;
    }
  };
  const getBits = (n: number): number => {
    if (n === 0) return 0;
    if (nbits < n) fill();
    nbits -= n;
    return (bits >>> nbits) & ((1 << n) - 1);
  };
  const decode = (h: Huffman): number => {
    let code = getBits(1), l = 1;
    while (code > h.maxcode[l]!) {
      code = (code << 1) | getBits(1);
      if (++l > 16) throw invalidDicom('JPEG stream: invalid Huffman code');
    }
    const v = h.values[h.valptr[l]! + code - h.mincode[l]!];
    if (v === undefined) throw invalidDicom('JPEG stream: invalid Huffman code');
    return v;
  };
  const extend = (v: number, t: number) => (t && v < 1 << (t - 1) ? v - (1 << t) + 1 : v);

  const bw = Math.ceil(width / 8), bh = Math.ceil(height / 8);
  const out = new Uint8Array(width * height * 2);
  const coef = new Float64Array(64), tmp = new Float64Array(64);
  const shift = 1 << (precision - 1), max = (1 << precision) - 1;
  let pred = 0;
  for (let n = 0; n < bw * bh; n++) {
    if (restart && n > 0 && n % restart === 0) {
      // RSTn: byte-align, skip the marker, reset the predictor (F.1.2.3).
      nbits = 0; bits = 0;
      while (pos < b.length && !(b[pos] === 0xff && b[pos + 1]! >= 0xd0 && b[pos + 1]! <= 0xd7)) pos++;
      pos += 2;
      markerHit = false;
      pred = 0;
    }
    coef.fill(0);
    const t = decode(hd);
    if (t > 16) throw invalidDicom('JPEG stream: DC difference category out of range');
    pred += extend(getBits(t), t);
    coef[0] = pred * q[0]!;
    for (let k = 1; k < 64;) {
      const rs = decode(ha);
      const r = rs >> 4, s = rs & 15;
      if (s === 0) {
        if (r !== 15) break;
        k += 16;
        continue;
      }
      k += r;
      if (k > 63) throw invalidDicom('JPEG stream: AC coefficients beyond the block');
      coef[ZIGZAG[k]!] = extend(getBits(s), s) * q[k]!;
      k++;
    }
    // Separable inverse DCT: rows then columns.
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      let sum = 0;
      for (let u = 0; u < 8; u++) sum += IDCT[x * 8 + u]! * coef[y * 8 + u]!;
      tmp[y * 8 + x] = sum;
    }
    const bx = (n % bw) * 8, by = Math.floor(n / bw) * 8;
    for (let x = 0; x < 8; x++) for (let y = 0; y < 8; y++) {
      let sum = 0;
      for (let v = 0; v < 8; v++) sum += IDCT[y * 8 + v]! * tmp[v * 8 + x]!;
      const px = bx + x, py = by + y;
      if (px >= width || py >= height) continue;
      const val = Math.min(max, Math.max(0, Math.round(sum) + shift));
      const o = 2 * (py * width + px);
      out[o] = val & 0xff;
      out[o + 1] = val >> 8;
    }
  }
  return out;
}

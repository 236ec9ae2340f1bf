// Native frame pixels to 8-bit display values, PS3.3 C.7.6.3 (Image Pixel) and C.11 (LUTs):
// grayscale through Modality LUT (rescale), VOI and MONOCHROME1 inversion; RGB scaled to 8 bits;
// YBR_FULL and YBR_FULL_422 converted to RGB (C.7.6.3.1.2); PALETTE COLOR through its tables
// (C.7.6.3.1.5, C.7.9). The input is one decoded frame as decodeFrames gives it.
import { RampartError, invalidDicom } from '../../errors.js';
import type { DataSet } from '../dataset.js';
import type { FrameDescription } from '../codecs/index.js';
import { Tags } from '../tag.js';
import { grayscaleTable, validWindow, voiFunction, windowFromRange, type Rescale, type Window } from './voi.js';

export interface Raster { width: number; height: number; channels: 1 | 3; data: Uint8Array }

const WindowCenter = 0x00281050, WindowWidth = 0x00281051, RescaleIntercept = 0x00281052, RescaleSlope = 0x00281053, VOILUTFunction = 0x00281056;
const PaletteDescriptor = [0x00281101, 0x00281102, 0x00281103] as const;
const PaletteData = [0x00281201, 0x00281202, 0x00281203] as const;

/** The stored values of a grayscale frame, sign-extended or masked per Bits Stored. */
export function storedValues(frame: Uint8Array, d: FrameDescription): Int32Array | Float64Array {
  const n = d.rows * d.columns;
  const bits = d.bitsStored;
  if (d.bitsAllocated === 1) {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = (frame[i >> 3]! >> (i & 7)) & 1;
    return out;
  }
  const bytes = d.bitsAllocated / 8;
  if (bytes !== 1 && bytes !== 2 && bytes !== 4) throw new RampartError('not-acceptable', `grayscale with Bits Allocated ${d.bitsAllocated} cannot be rendered`);
  if (frame.length < n * bytes) throw invalidDicom(`the frame holds ${frame.length} bytes, ${n * bytes} needed`);
  const signed = d.pixelRepresentation === 1;
  if (bytes === 4) {
    const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const out = new Float64Array(n);
    const sh = 32 - bits;
    for (let i = 0; i < n; i++) {
      const raw = dv.getUint32(4 * i, true);
      out[i] = signed ? (raw << sh) >> sh : bits >= 32 ? raw : raw % 2 ** bits;
    }
    return out;
  }
  // 8 and 16 bits: one tight loop per case (this runs for every pixel of every rendered frame).
  const src = bytes === 1 ? frame : frame.byteOffset % 2 === 0
    ? new Uint16Array(frame.buffer, frame.byteOffset, n)
    : new Uint16Array(Uint8Array.from(frame.subarray(0, 2 * n)).buffer);
  const out = new Int32Array(n);
  const shift = 32 - bits, mask = (1 << bits) - 1;
  if (signed) for (let i = 0; i < n; i++) out[i] = (src[i]! << shift) >> shift;
  else for (let i = 0; i < n; i++) out[i] = src[i]! & mask;
  return out;
}

function rescaleOf(ds: DataSet): Rescale {
  const slope = ds.number(RescaleSlope), intercept = ds.number(RescaleIntercept);
  return { slope: slope !== undefined && slope !== 0 ? slope : 1, intercept: intercept ?? 0 };
}

/** The window to use: the request's, else the data set's first, else the frame's value range. */
export function chooseWindow(ds: DataSet, requested: Window | undefined, range: () => { min: number; max: number }): Window {
  if (requested && validWindow(requested)) return requested;
  const c = ds.number(WindowCenter), w = ds.number(WindowWidth);
  if (c !== undefined && w !== undefined) {
    const win: Window = { center: c, width: w, fn: voiFunction(ds.string(VOILUTFunction)) };
    if (validWindow(win)) return win;
  }
  const r = range();
  return windowFromRange(r.min, r.max);
}

export function renderGrayscale(frame: Uint8Array, d: FrameDescription, ds: DataSet, requested?: Window): Raster {
  const v = storedValues(frame, d);
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < v.length; i++) { const x = v[i]!; if (x < min) min = x; if (x > max) max = x; }
  if (v.length === 0) min = max = 0;
  const rescale = rescaleOf(ds);
  const win = chooseWindow(ds, requested, () => {
    const a = min * rescale.slope + rescale.intercept, b = max * rescale.slope + rescale.intercept;
    return { min: Math.min(a, b), max: Math.max(a, b) };
  });
  const invert = d.photometric === 'MONOCHROME1';
  const out = new Uint8Array(v.length);
  const size = max - min + 1;
  if (v instanceof Int32Array && size <= 1 << 20) {
    const table = grayscaleTable(min, size, rescale, win, invert);
    for (let i = 0; i < v.length; i++) out[i] = table[v[i]! - min]!;
  } else {
    for (let i = 0; i < v.length; i++) out[i] = grayscaleTable(v[i]!, 1, rescale, win, invert)[0]!;
  }
  return { width: d.columns, height: d.rows, channels: 1, data: out };
}

const clamp = (x: number): number => (x < 0 ? 0 : x > 255 ? 255 : Math.round(x));

/** YCbCr (full range, PS3.3 C.7.6.3.1.2) to RGB. */
function ybrToRgb(y: number, cb: number, cr: number, out: Uint8Array, o: number): void {
  out[o] = clamp(y + 1.402 * (cr - 128));
  out[o + 1] = clamp(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
  out[o + 2] = clamp(y + 1.772 * (cb - 128));
}

export function renderColor(frame: Uint8Array, d: FrameDescription, ds: DataSet): Raster {
  const n = d.rows * d.columns;
  const out = new Uint8Array(n * 3);
  const pi = d.photometric;
  if (pi === 'PALETTE COLOR') return renderPalette(frame, d, ds);
  if (d.samplesPerPixel !== 3) throw new RampartError('not-acceptable', `${pi} with ${d.samplesPerPixel} samples per pixel cannot be rendered`);
  if (d.bitsAllocated !== 8 && d.bitsAllocated !== 16) throw new RampartError('not-acceptable', `color with Bits Allocated ${d.bitsAllocated} cannot be rendered`);
  const bytes = d.bitsAllocated / 8;
  const shift = Math.max(0, d.bitsStored - 8);
  const mask = (1 << d.bitsStored) - 1;
  const sample = (i: number): number => ((bytes === 1 ? frame[i]! : frame[2 * i]! | (frame[2 * i + 1]! << 8)) & mask) >> shift;
  if (pi === 'YBR_FULL_422' || pi === 'YBR_PARTIAL_422') {
    if (pi === 'YBR_PARTIAL_422') throw new RampartError('not-acceptable', 'YBR_PARTIAL_422 cannot be rendered');
    // Native 4:2:2: Y1 Y2 Cb Cr for each pair of pixels in a row (C.7.6.3.1.2).
    if (frame.length < n * 2 * bytes) throw invalidDicom('the YBR_FULL_422 frame is shorter than Rows x Columns x 2 samples');
    for (let p = 0; p < n; p += 2) {
      const b = p * 2;
      const cb = sample(b + 2), cr = sample(b + 3);
      ybrToRgb(sample(b), cb, cr, out, p * 3);
      if (p + 1 < n) ybrToRgb(sample(b + 1), cb, cr, out, (p + 1) * 3);
    }
    return { width: d.columns, height: d.rows, channels: 3, data: out };
  }
  if (frame.length < n * 3 * bytes) throw invalidDicom('the color frame is shorter than Rows x Columns x 3 samples');
  const at = d.planarConfiguration === 1 ? (p: number, s: number) => s * n + p : (p: number, s: number) => p * 3 + s;
  if (pi === 'RGB') {
    for (let p = 0; p < n; p++) for (let s = 0; s < 3; s++) out[p * 3 + s] = sample(at(p, s));
  } else if (pi === 'YBR_FULL') {
    for (let p = 0; p < n; p++) ybrToRgb(sample(at(p, 0)), sample(at(p, 1)), sample(at(p, 2)), out, p * 3);
  } else {
    throw new RampartError('not-acceptable', `Photometric Interpretation ${pi} cannot be rendered`);
  }
  return { width: d.columns, height: d.rows, channels: 3, data: out };
}

/** PALETTE COLOR: each stored value indexes three tables (descriptor: entries, first value mapped, bits). */
function renderPalette(frame: Uint8Array, d: FrameDescription, ds: DataSet): Raster {
  const tables = PaletteDescriptor.map((tag, k) => {
    const [entries0, first, bits] = ds.numbers(tag);
    const data = ds.numbers(PaletteData[k]!);
    if (entries0 === undefined || first === undefined || bits === undefined || data.length === 0) {
      throw new RampartError('not-acceptable', 'PALETTE COLOR without its lookup tables (segmented palettes are not rendered)');
    }
    const entries = entries0 === 0 ? 65536 : entries0;
    // 8-bit entries are still 16-bit words in the data (C.7.6.3.1.5); keep the low byte's value range.
    return { first, entries, shift: bits > 8 ? 8 : 0, data };
  });
  const v = storedValues(frame, { ...d, samplesPerPixel: 1 });
  const out = new Uint8Array(v.length * 3);
  for (let p = 0; p < v.length; p++) {
    for (let s = 0; s < 3; s++) {
      const t = tables[s]!;
      const i = Math.min(t.entries - 1, Math.max(0, v[p]! - t.first));
      out[p * 3 + s] = ((t.data[i] ?? 0) >> t.shift) & 0xff;
    }
  }
  return { width: d.columns, height: d.rows, channels: 3, data: out };
}

// From stored pixel values to screen grey levels: the Modality LUT (rescale slope/intercept,
// PS3.3 C.11.1) then the linear VOI window (PS3.3 C.11.2.1.2), through one lookup table per
// window so a 512x512 image is redrawn in a few milliseconds.

export interface Frame {
  rows: number;
  columns: number;
  /** Grey: stored values (signed or not); colour: interleaved RGB bytes. */
  data: Int16Array | Uint16Array | Uint8Array | Int8Array;
  samples: 1 | 3;
  slope: number;
  intercept: number;
  monochrome1: boolean;
}

export interface Window { center: number; width: number }

/** The window that shows the whole range of the frame's values (when the object names none). */
export function fullRangeWindow(f: Frame): Window {
  if (f.samples === 3) return { center: 127.5, width: 256 };
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < f.data.length; i++) { const v = f.data[i]!; if (v < min) min = v; if (v > max) max = v; }
  const lo = min * f.slope + f.intercept, hi = max * f.slope + f.intercept;
  return { center: (lo + hi) / 2, width: Math.max(1, hi - lo + 1) };
}

/** Writes the frame, windowed, into an RGBA buffer. */
export function renderFrame(f: Frame, w: Window, invert: boolean, out: Uint8ClampedArray): void {
  const n = f.rows * f.columns;
  if (f.samples === 3) {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) { const v = f.data[i * 3 + c]!; out[i * 4 + c] = invert ? 255 - v : v; }
      out[i * 4 + 3] = 255;
    }
    return;
  }
  const flip = invert !== f.monochrome1;
  const width = Math.max(1, w.width);
  const lowest = w.center - 0.5 - (width - 1) / 2, highest = w.center - 0.5 + (width - 1) / 2;
  const grey = (stored: number): number => {
    const v = stored * f.slope + f.intercept;
    const y = v <= lowest ? 0 : v > highest ? 255 : ((v - (w.center - 0.5)) / (width - 1) + 0.5) * 255;
    return flip ? 255 - y : y;
  };
  // A lookup table over the stored range (at most 65536 entries) instead of arithmetic per pixel.
  const signed = f.data instanceof Int16Array || f.data instanceof Int8Array;
  const bits = f.data instanceof Uint8Array || f.data instanceof Int8Array ? 8 : 16;
  const offset = signed ? 1 << (bits - 1) : 0;
  const lut = new Uint8ClampedArray(1 << bits);
  for (let s = 0; s < lut.length; s++) lut[s] = grey(s - offset);
  for (let i = 0; i < n; i++) {
    const g = lut[f.data[i]! + offset]!;
    const k = i * 4;
    out[k] = g; out[k + 1] = g; out[k + 2] = g; out[k + 3] = 255;
  }
}

/** Window presets for CT in Hounsfield units: [center, width]. */
export const PRESETS: Record<string, Window> = {
  lung: { center: -600, width: 1500 },
  bone: { center: 400, width: 1800 },
  brain: { center: 40, width: 80 },
  abdomen: { center: 40, width: 400 },
};

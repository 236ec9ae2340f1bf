// The grayscale pipeline's value transforms, PS3.3 C.11: the Modality LUT as Rescale Slope and
// Intercept (C.11.1), then a VOI window (C.11.2.1.2) with its function: LINEAR (C.11.2.1.2.1),
// LINEAR_EXACT (C.11.2.1.3.2) or SIGMOID (C.11.2.1.3.1); output 0..255. MONOCHROME1 is inverted
// after VOI (C.7.6.3.1.2: minimum sample value displays white).

export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
export interface Window { center: number; width: number; fn: VoiFunction }
export interface Rescale { slope: number; intercept: number }

const Y_MIN = 0;
const Y_MAX = 255;

/** The output value (0..255, not yet rounded) of the VOI window for the modality value x. */
export function applyWindow(x: number, w: Window): number {
  const { center: c, width } = w;
  switch (w.fn) {
    case 'LINEAR_EXACT': {
      if (x <= c - width / 2) return Y_MIN;
      if (x > c + width / 2) return Y_MAX;
      return ((x - c) / width + 0.5) * (Y_MAX - Y_MIN) + Y_MIN;
    }
    case 'SIGMOID':
      return (Y_MAX - Y_MIN) / (1 + Math.exp((-4 * (x - c)) / width)) + Y_MIN;
    default: {
      // LINEAR needs width >= 1; width 1 is a threshold at c - 0.5.
      if (x <= c - 0.5 - (width - 1) / 2) return Y_MIN;
      if (x > c - 0.5 + (width - 1) / 2) return Y_MAX;
      return ((x - (c - 0.5)) / (width - 1) + 0.5) * (Y_MAX - Y_MIN) + Y_MIN;
    }
  }
}

/** Whether a window is usable with its function (PS3.3 C.11.2.1.2: width >= 1 for LINEAR, > 0 otherwise). */
export function validWindow(w: Window): boolean {
  return Number.isFinite(w.center) && Number.isFinite(w.width) && (w.fn === 'LINEAR' ? w.width >= 1 : w.width > 0);
}

/** A LINEAR window that maps [min, max] onto the whole output range (C.11.2.1.2.1 note: width = max - min + 1). */
export function windowFromRange(min: number, max: number): Window {
  return { center: (min + max + 1) / 2, width: Math.max(1, max - min + 1), fn: 'LINEAR' };
}

/**
 * A table from stored value to output byte for stored values first..first+size-1: Modality LUT,
 * VOI, then inversion for MONOCHROME1.
 */
export function grayscaleTable(first: number, size: number, rescale: Rescale, w: Window, invert: boolean): Uint8Array {
  const t = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const y = Math.round(applyWindow((first + i) * rescale.slope + rescale.intercept, w));
    t[i] = invert ? Y_MAX - y : y;
  }
  return t;
}

/** Parses a VOI LUT Function name (PS3.3 C.11.2.1.3), LINEAR when absent or unknown. */
export function voiFunction(s: string | undefined): VoiFunction {
  const v = s?.trim().toUpperCase();
  return v === 'LINEAR_EXACT' || v === 'SIGMOID' ? v : 'LINEAR';
}

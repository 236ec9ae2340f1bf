import { describe, expect, it } from 'vitest';
import { fullRangeWindow, PRESETS, renderFrame, type Frame } from './pixels.js';

const frame = (values: number[], over: Partial<Frame> = {}): Frame => ({
  rows: 1, columns: values.length, data: Int16Array.from(values), samples: 1, slope: 1, intercept: 0, monochrome1: false, ...over,
});
const grey = (f: Frame, w = { center: 40, width: 400 }, invert = false): number[] => {
  const out = new Uint8ClampedArray(f.rows * f.columns * 4);
  renderFrame(f, w, invert, out);
  return Array.from({ length: f.columns }, (_, i) => out[i * 4]!);
};

describe('the VOI window (PS3.3 C.11.2.1.2)', () => {
  it('maps values at or below the lower edge to black, above the upper edge to white, and the center to mid-grey', () => {
    expect(grey(frame([-1000, -160, 40, 240, 3000]))).toEqual([0, 0, 128, 255, 255]);
  });

  it('applies the rescale slope and intercept before the window', () => {
    expect(grey(frame([0, 1024, 1064], { intercept: -1024 }))).toEqual([0, 102, 128]); // -1024, 0 and 40 HU
    expect(grey(frame([20], { slope: 2 }))).toEqual([128]);
  });

  it('shows MONOCHROME1 dark for high values, and invert flips either way', () => {
    expect(grey(frame([-1000, 3000], { monochrome1: true }))).toEqual([255, 0]);
    expect(grey(frame([-1000, 3000]), undefined, true)).toEqual([255, 0]);
    expect(grey(frame([-1000, 3000], { monochrome1: true }), undefined, true)).toEqual([0, 255]);
  });

  it('handles unsigned 16-bit and 8-bit stored values', () => {
    expect(grey(frame([], { data: Uint16Array.from([0, 65535]), columns: 2 }), { center: 32768, width: 65536 })).toEqual([0, 255]);
    expect(grey(frame([], { data: Uint8Array.from([0, 128, 255]), columns: 3 }), { center: 128, width: 256 })).toEqual([0, 128, 255]);
  });

  it('passes RGB through, inverted on request', () => {
    const f: Frame = { rows: 1, columns: 1, data: Uint8Array.from([10, 20, 30]), samples: 3, slope: 1, intercept: 0, monochrome1: false };
    const out = new Uint8ClampedArray(4);
    renderFrame(f, { center: 0, width: 1 }, false, out);
    expect(Array.from(out)).toEqual([10, 20, 30, 255]);
    renderFrame(f, { center: 0, width: 1 }, true, out);
    expect(Array.from(out)).toEqual([245, 235, 225, 255]);
  });

  it('finds a window covering the whole range when the object names none', () => {
    expect(fullRangeWindow(frame([-100, 300], { slope: 1, intercept: 0 }))).toEqual({ center: 100, width: 401 });
  });

  it('offers the usual CT presets', () => {
    expect(PRESETS.lung).toEqual({ center: -600, width: 1500 });
    expect(PRESETS.brain).toEqual({ center: 40, width: 80 });
    expect(PRESETS.abdomen).toEqual({ center: 40, width: 400 });
    expect(PRESETS.bone!.center).toBeGreaterThanOrEqual(300);
  });
});

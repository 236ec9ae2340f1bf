// The VOI window functions as PS3.3 C.11.2.1.2.1 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT) and
// C.11.2.1.3.1 (SIGMOID) define them, the rescale before them and MONOCHROME1 after them.
import { describe, expect, it } from 'vitest';
import { applyWindow, grayscaleTable, validWindow, voiFunction, windowFromRange } from './voi.js';

describe('VOI windows', () => {
  it('LINEAR maps c-0.5-(w-1)/2 and below to 0 and above c-0.5+(w-1)/2 to 255', () => {
    const w = { center: 40, width: 400, fn: 'LINEAR' as const };
    expect(applyWindow(40 - 0.5 - 399 / 2, w)).toBe(0);
    expect(applyWindow(-1000, w)).toBe(0);
    expect(applyWindow(40 - 0.5 + 399 / 2 + 0.01, w)).toBe(255);
    // Midway: ((x - (c - 0.5)) / (w - 1) + 0.5) * 255 at x = c - 0.5 is 127.5
    expect(applyWindow(39.5, w)).toBeCloseTo(127.5, 10);
    expect(applyWindow(100, w)).toBeCloseTo(((100 - 39.5) / 399 + 0.5) * 255, 10);
  });

  it('LINEAR with width 1 is a threshold at c - 0.5', () => {
    const w = { center: 100, width: 1, fn: 'LINEAR' as const };
    expect(applyWindow(99.5, w)).toBe(0);
    expect(applyWindow(99.51, w)).toBe(255);
  });

  it('LINEAR_EXACT maps c-w/2 to 0, c+w/2 to 255 and c to the middle', () => {
    const w = { center: 50, width: 100, fn: 'LINEAR_EXACT' as const };
    expect(applyWindow(0, w)).toBe(0);
    expect(applyWindow(100, w)).toBe(255);
    expect(applyWindow(100.001, w)).toBe(255);
    expect(applyWindow(50, w)).toBe(127.5);
    expect(applyWindow(25, w)).toBe(63.75);
  });

  it('SIGMOID is 255 / (1 + exp(-4 (x - c) / w))', () => {
    const w = { center: 0, width: 200, fn: 'SIGMOID' as const };
    expect(applyWindow(0, w)).toBe(127.5);
    expect(applyWindow(100, w)).toBeCloseTo(255 / (1 + Math.exp(-2)), 10);
    expect(applyWindow(-100, w)).toBeCloseTo(255 / (1 + Math.exp(2)), 10);
    expect(applyWindow(1e6, w)).toBeCloseTo(255, 6);
  });

  it('accepts only widths its function allows', () => {
    expect(validWindow({ center: 0, width: 0.5, fn: 'LINEAR' })).toBe(false);
    expect(validWindow({ center: 0, width: 0.5, fn: 'LINEAR_EXACT' })).toBe(true);
    expect(validWindow({ center: 0, width: 0, fn: 'SIGMOID' })).toBe(false);
    expect(validWindow({ center: NaN, width: 10, fn: 'LINEAR' })).toBe(false);
  });

  it('a window from a value range maps its minimum to 0 and its maximum to 255', () => {
    const w = windowFromRange(-1024, 3071);
    expect(applyWindow(-1024, w)).toBe(0);
    expect(applyWindow(3071, w)).toBe(255);
    expect(applyWindow(-1023, w)).toBeGreaterThan(0);
  });

  it('reads VOI LUT Function names, LINEAR when unknown', () => {
    expect(voiFunction('SIGMOID')).toBe('SIGMOID');
    expect(voiFunction('LINEAR_EXACT ')).toBe('LINEAR_EXACT');
    expect(voiFunction('CURVY')).toBe('LINEAR');
    expect(voiFunction(undefined)).toBe('LINEAR');
  });
});

describe('grayscale tables', () => {
  it('apply Rescale Slope and Intercept before the window', () => {
    // Stored 0..4 with slope 10, intercept -20: modality -20, -10, 0, 10, 20; LINEAR_EXACT c=0 w=40.
    const t = grayscaleTable(0, 5, { slope: 10, intercept: -20 }, { center: 0, width: 40, fn: 'LINEAR_EXACT' }, false);
    expect([...t]).toEqual([0, 64, 128, 191, 255]);
  });

  it('invert MONOCHROME1 after VOI: the lowest value is white', () => {
    const w = { center: 2, width: 4, fn: 'LINEAR_EXACT' as const };
    const mono2 = grayscaleTable(0, 5, { slope: 1, intercept: 0 }, w, false);
    const mono1 = grayscaleTable(0, 5, { slope: 1, intercept: 0 }, w, true);
    expect(mono1[0]).toBe(255);
    expect(mono1[4]).toBe(0);
    expect([...mono1]).toEqual([...mono2].map((v) => 255 - v));
  });
});

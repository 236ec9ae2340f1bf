import { describe, expect, it } from 'vitest';
import { angleDegrees, label, lengthMm } from './measure.js';

describe('measurements', () => {
  it('measures a length in mm with PixelSpacing as row spacing, then column spacing', () => {
    expect(lengthMm({ x: 0, y: 0 }, { x: 10, y: 0 }, [0.5, 0.8])).toBeCloseTo(8);
    expect(lengthMm({ x: 0, y: 0 }, { x: 0, y: 10 }, [0.5, 0.8])).toBeCloseTo(5);
    expect(lengthMm({ x: 0, y: 0 }, { x: 3, y: 4 }, [1, 1])).toBeCloseTo(5);
  });

  it('says pixels, not millimetres, when the image has no spacing', () => {
    expect(lengthMm({ x: 0, y: 0 }, { x: 3, y: 4 }, undefined)).toBeUndefined();
    expect(label({ kind: 'length', a: { x: 0, y: 0 }, b: { x: 3, y: 4 } }, undefined)).toBe('5.0 px');
    expect(label({ kind: 'length', a: { x: 0, y: 0 }, b: { x: 3, y: 4 } }, [0.5, 0.5])).toBe('2.5 mm');
  });

  it('measures the angle at the vertex in physical space', () => {
    expect(angleDegrees({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 0, y: 10 }, [1, 1])).toBeCloseTo(90);
    expect(angleDegrees({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 10, y: 10 }, [1, 1])).toBeCloseTo(45);
    // Anisotropic pixels change the angle: 10 px down at 2 mm is as far as 20 px across at 1 mm.
    expect(angleDegrees({ x: 20, y: 0 }, { x: 0, y: 0 }, { x: 20, y: 10 }, [2, 1])).toBeCloseTo(45);
    expect(label({ kind: 'angle', a: { x: 10, y: 0 }, vertex: { x: 0, y: 0 }, c: { x: -10, y: 0 } }, undefined)).toBe('180.0°');
  });
});

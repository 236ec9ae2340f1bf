// The viewport of a rendered resource (PS3.18 8.3.5.1.3): viewport=vw,vh[,sx,sy,sw,sh]. The
// source region (sx, sy, sw, sh; the whole image by default; negative sw or sh flips it) is
// scaled to fit within vw x vh, keeping its aspect ratio, by bilinear sampling.
import { badRequest } from '../../errors.js';
import type { Raster } from './pixels.js';

export interface Viewport { vw: number; vh: number; sx?: number; sy?: number; sw?: number; sh?: number }

/** Parses the query value; throws bad-request with a reason. Dimensions are bounded by maxSide. */
export function parseViewport(s: string, maxSide: number): Viewport {
  const parts = s.split(',').map((x) => x.trim());
  if (parts.length !== 2 && parts.length !== 6) throw badRequest('viewport is vw,vh or vw,vh,sx,sy,sw,sh');
  const nums = parts.map((p, i) => (p === '' && i >= 2 ? undefined : /^-?\d{1,6}$/.test(p) ? Number(p) : NaN));
  if (nums.some((n) => n !== undefined && !Number.isInteger(n))) throw badRequest('viewport values must be integers');
  const [vw, vh, sx, sy, sw, sh] = nums as (number | undefined)[];
  if (!vw || !vh || vw < 1 || vh < 1 || vw > maxSide || vh > maxSide) throw badRequest(`viewport width and height must be 1..${maxSide}`);
  if ((sx ?? 0) < 0 || (sy ?? 0) < 0 || sw === 0 || sh === 0) throw badRequest('viewport source region is outside the image or empty');
  return { vw, vh, sx, sy, sw, sh };
}

/** The raster cropped and scaled as the viewport asks (the whole image, unscaled, without one). */
export function applyViewport(r: Raster, v: Viewport | undefined): Raster {
  if (!v) return r;
  const sx = v.sx ?? 0, sy = v.sy ?? 0;
  const sw = v.sw ?? r.width - sx, sh = v.sh ?? r.height - sy;
  const aw = Math.abs(sw), ah = Math.abs(sh);
  // The region, in image coordinates: from x0 going |sw| pixels in direction dx.
  const x0 = sw < 0 ? sx + sw : sx, y0 = sh < 0 ? sy + sh : sy;
  if (x0 < 0 || y0 < 0 || x0 + aw > r.width || y0 + ah > r.height || aw < 1 || ah < 1) throw badRequest('viewport source region is outside the image');
  const scale = Math.min(v.vw / aw, v.vh / ah);
  const width = Math.max(1, Math.round(aw * scale)), height = Math.max(1, Math.round(ah * scale));
  const c = r.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    let fy = ((y + 0.5) * ah) / height - 0.5;
    if (sh < 0) fy = ah - 1 - fy;
    fy = Math.min(ah - 1, Math.max(0, fy));
    const iy = Math.floor(fy), ty = fy - iy, iy1 = Math.min(ah - 1, iy + 1);
    for (let x = 0; x < width; x++) {
      let fx = ((x + 0.5) * aw) / width - 0.5;
      if (sw < 0) fx = aw - 1 - fx;
      fx = Math.min(aw - 1, Math.max(0, fx));
      const ix = Math.floor(fx), tx = fx - ix, ix1 = Math.min(aw - 1, ix + 1);
      for (let k = 0; k < c; k++) {
        const p = (yy: number, xx: number) => r.data[((y0 + yy) * r.width + x0 + xx) * c + k]!;
        const top = p(iy, ix) * (1 - tx) + p(iy, ix1) * tx;
        const bottom = p(iy1, ix) * (1 - tx) + p(iy1, ix1) * tx;
        out[(y * width + x) * c + k] = Math.round(top * (1 - ty) + bottom * ty);
      }
    }
  }
  return { width, height, channels: c, data: out };
}

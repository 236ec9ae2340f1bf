// Rendering one frame of a Part 10 object to an 8-bit image (PS3.18 8.3.5, 10.4.1.1.3): decode,
// Modality LUT, VOI, color conversion, viewport, then PNG (our writer) or JPEG (libjpeg-turbo,
// baseline). Pure: bytes in, image bytes out; run in a worker thread by the caller.
import { RampartError } from '../../errors.js';
import { decodeFrames, frameDescription, type DecodeLimits } from '../codecs/index.js';
import { parsePart10 } from '../reader.js';
import { Tags } from '../tag.js';
import { encodeJpeg } from './jpeg.js';
import { encodePng } from './png.js';
import { renderColor, renderGrayscale, type Raster } from './pixels.js';
import { applyViewport, type Viewport } from './viewport.js';
import type { Window } from './voi.js';

export type RenderedMediaType = 'image/png' | 'image/jpeg';

export interface RenderOptions {
  /** 1-based frame number. */
  frame: number;
  mediaType: RenderedMediaType;
  window?: Window;
  viewport?: Viewport;
  /** JPEG quality 1..100. */
  quality?: number;
}

/** The frame rendered to an 8-bit raster (before encoding). */
export async function renderRaster(part10: Uint8Array, o: Omit<RenderOptions, 'mediaType' | 'quality'>, limits: DecodeLimits): Promise<Raster> {
  const p = parsePart10(Buffer.isBuffer(part10) ? part10 : Buffer.from(part10.buffer, part10.byteOffset, part10.byteLength));
  const ds = p.dataset;
  if (!ds.has(Tags.PixelData) || !ds.has(Tags.Rows)) throw new RampartError('not-acceptable', 'the instance has no image to render');
  const decoded = await decodeFrames(p, [o.frame], limits);
  const d = { ...frameDescription(ds), photometric: decoded.photometric, planarConfiguration: decoded.planarConfiguration };
  const frame = decoded.frames[0]!;
  const raster = d.samplesPerPixel === 1 && d.photometric !== 'PALETTE COLOR' ? renderGrayscale(frame, d, ds, o.window) : renderColor(frame, d, ds);
  return applyViewport(raster, o.viewport);
}

/** PNG is lossless; JPEG quality defaults to 90. */
export async function encodeRaster(r: Raster, mediaType: RenderedMediaType, quality = 90): Promise<Buffer> {
  if (mediaType === 'image/png') return encodePng(r.width, r.height, r.channels, r.data);
  return encodeJpeg(r.width, r.height, r.channels, r.data, quality);
}

export async function renderPart10(part10: Uint8Array, o: RenderOptions, limits: DecodeLimits): Promise<Buffer> {
  return encodeRaster(await renderRaster(part10, o, limits), o.mediaType, o.quality);
}

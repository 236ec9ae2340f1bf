// JPEG output of rendered images: baseline 8-bit, gray or YCbCr, by libjpeg-turbo's encoder (the
// WebAssembly build Cornerstone publishes, the same package as our JPEG decoder), about 30 ms for
// a 512x512 frame here. That build sizes its output buffer as the raw image, so a JPEG larger than
// its pixels (tiny images, noise at high quality) aborts it; those go to jpeg-js, pure JavaScript
// and correct but with a fixed cost of about 450 ms per image here.
import { createRequire } from 'node:module';
import jpegJs from 'jpeg-js';

const require = createRequire(import.meta.url);

interface Encoder {
  getDecodedBuffer(info: { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean }): Uint8Array;
  setQuality(quality: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  delete(): void;
}
type Module = { JPEGEncoder: new () => Encoder };

let loaded: Promise<Module> | undefined;
function load(): Promise<Module> {
  if (!loaded) {
    const factory = require('@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs') as (o: object) => Promise<Module>;
    loaded = factory({ print: () => undefined, printErr: () => undefined });
    loaded.catch(() => { loaded = undefined; });
  }
  return loaded;
}

/** Below this many raw bytes the header alone may outgrow libjpeg-turbo's output buffer. */
const SMALL = 4096;

/** width x height pixels of 1 (gray) or 3 (RGB, interleaved) 8-bit channels as a JPEG file. */
export async function encodeJpeg(width: number, height: number, channels: 1 | 3, pixels: Uint8Array, quality: number): Promise<Buffer> {
  if (pixels.length !== width * height * channels) throw new RangeError('pixel buffer does not match the image size');
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  if (pixels.length < SMALL) return encodeJs(width, height, channels, pixels, q);
  const m = await load();
  const e = new m.JPEGEncoder();
  try {
    e.getDecodedBuffer({ width, height, bitsPerSample: 8, componentCount: channels, isSigned: false }).set(pixels);
    e.setQuality(q);
    e.encode();
    return Buffer.from(e.getEncodedBuffer());
  } catch {
    loaded = undefined; // an abort leaves the instance unusable
    return encodeJs(width, height, channels, pixels, q);
  } finally {
    try { e.delete(); } catch { /* module discarded */ }
  }
}

function encodeJs(width: number, height: number, channels: 1 | 3, pixels: Uint8Array, quality: number): Buffer {
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0, n = width * height; i < n; i++) {
    if (channels === 1) rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = pixels[i]!;
    else { rgba[4 * i] = pixels[3 * i]!; rgba[4 * i + 1] = pixels[3 * i + 1]!; rgba[4 * i + 2] = pixels[3 * i + 2]!; }
    rgba[4 * i + 3] = 255;
  }
  return jpegJs.encode({ data: rgba, width, height }, quality).data;
}

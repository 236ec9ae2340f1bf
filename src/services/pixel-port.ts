// The port through which services have pixel data decoded and rendered. The work is CPU-heavy,
// so app.ts plugs in a pool of worker threads (src/workers/pixel-pool.ts); tests and tools may
// run it in-thread (src/workers/pixel-job.ts).
import type { RenderOptions } from '../dicom/render/index.js';

export type PixelJob =
  | { kind: 'render'; part10: Uint8Array; options: RenderOptions }
  | { kind: 'frames'; part10: Uint8Array; frames: number[] }
  | { kind: 'convert'; part10: Uint8Array; transferSyntax: string };

export interface PixelJobs {
  /** One frame rendered to PNG or JPEG. */
  render(part10: Uint8Array, options: RenderOptions): Promise<Buffer>;
  /** Frames decoded to native little-endian pixels (Explicit VR Little Endian frames). */
  frames(part10: Uint8Array, frames: number[]): Promise<Buffer[]>;
  /** The whole object in a native transfer syntax, compressed pixel data decoded. */
  convert(part10: Uint8Array, transferSyntax: string): Promise<Buffer>;
  close(): Promise<void>;
}

// One pixel job (decode, render, convert), run wherever the caller is: in a worker thread of the
// pool, or in-thread for tools and tests (InlinePixelJobs).
import { decompressToPart10 } from '../dicom/codecs/decompress.js';
import { decodeFrames, type DecodeLimits } from '../dicom/codecs/index.js';
import { parsePart10 } from '../dicom/reader.js';
import { renderPart10, type RenderOptions } from '../dicom/render/index.js';
import type { PixelJob, PixelJobs } from '../services/pixel-port.js';

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

export async function runPixelJob(job: PixelJob, limits: DecodeLimits): Promise<Buffer | Buffer[]> {
  switch (job.kind) {
    case 'render': return renderPart10(job.part10, job.options, limits);
    case 'frames': return (await decodeFrames(parsePart10(asBuffer(job.part10)), job.frames, limits)).frames;
    case 'convert': return decompressToPart10(asBuffer(job.part10), job.transferSyntax, limits);
  }
}

/** Pixel jobs on the calling thread. */
export class InlinePixelJobs implements PixelJobs {
  constructor(private readonly limits: DecodeLimits) {}
  render(part10: Uint8Array, options: RenderOptions): Promise<Buffer> {
    return runPixelJob({ kind: 'render', part10, options }, this.limits) as Promise<Buffer>;
  }
  frames(part10: Uint8Array, frames: number[]): Promise<Buffer[]> {
    return runPixelJob({ kind: 'frames', part10, frames }, this.limits) as Promise<Buffer[]>;
  }
  convert(part10: Uint8Array, transferSyntax: string): Promise<Buffer> {
    return runPixelJob({ kind: 'convert', part10, transferSyntax }, this.limits) as Promise<Buffer>;
  }
  async close(): Promise<void> { /* nothing to stop */ }
}

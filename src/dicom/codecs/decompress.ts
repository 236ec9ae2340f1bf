// A compressed Part 10 object as a native one (PS3.5 8.2, A.4): every frame decoded, Pixel Data
// written as OB/OW, Photometric Interpretation and Planar Configuration changed to what the
// decoder produced (YBR_FULL_422 JPEG becomes RGB, color-by-pixel, as dcmdjpeg writes it), the
// offset tables that meant something only for fragments dropped, and Lossy Image Compression
// (0028,2110) set to 01 when the source syntax was lossy (PS3.3 C.7.6.1.1.5). Transcoding among
// native syntaxes, and RLE to native, stay with transcode.ts.
import { RampartError } from '../../errors.js';
import { MAX_FRAMES_PER_REQUEST, numberOfFrames } from '../frames.js';
import { parsePart10 } from '../reader.js';
import { Tags } from '../tag.js';
import { TS, isUncompressed } from '../transfer-syntax.js';
import { canTranscode, transcodePart10 } from '../transcode.js';
import { writePart10 } from '../writer.js';
import { canDecode, decodeFrames, type DecodeLimits } from './index.js';

const LOSSY = new Set<string>([TS.JPEGBaseline8Bit, TS.JPEGExtended12Bit, TS.JPEGLSNearLossless, TS.JPEG2000]);
const LossyImageCompression = 0x00282110;

/** Whether decompressToPart10 (or plain transcoding) can turn fromTs into toTs. */
export function canConvert(fromTs: string, toTs: string): boolean {
  return canTranscode(fromTs, toTs) || (isUncompressed(toTs) && canDecode(fromTs));
}

const cs = (s: string): Buffer => Buffer.from(s.length % 2 ? s + ' ' : s, 'latin1');

export async function decompressToPart10(buf: Buffer, toTs: string, limits: DecodeLimits): Promise<Buffer> {
  const p = parsePart10(buf);
  const from = p.transferSyntax.uid;
  if (canTranscode(from, toTs)) return transcodePart10(buf, toTs);
  if (!canConvert(from, toTs)) throw new RampartError('not-acceptable', `cannot convert transfer syntax ${from} to ${toTs}`);
  const ds = p.dataset;
  const count = numberOfFrames(ds);
  const parts: Buffer[] = [];
  let photometric = '';
  let planar: 0 | 1 = 0;
  for (let first = 1; first <= count; first += MAX_FRAMES_PER_REQUEST) {
    const numbers: number[] = [];
    for (let f = first; f <= count && f < first + MAX_FRAMES_PER_REQUEST; f++) numbers.push(f);
    const d = await decodeFrames(p, numbers, limits);
    parts.push(...d.frames);
    photometric = d.photometric;
    planar = d.planarConfiguration;
  }
  const value = Buffer.concat(parts);
  const bits = ds.number(Tags.BitsAllocated) ?? 8;
  ds.set({ tag: Tags.PixelData, vr: bits > 8 ? 'OW' : 'OB', length: value.length, valueOffset: 0, value });
  ds.elements.delete(0x7fe00001);
  ds.elements.delete(0x7fe00002);
  if (photometric && photometric !== ds.string(Tags.PhotometricInterpretation)) {
    const v = cs(photometric);
    ds.set({ tag: Tags.PhotometricInterpretation, vr: 'CS', length: v.length, valueOffset: 0, value: v });
  }
  if ((ds.number(Tags.SamplesPerPixel) ?? 1) > 1) {
    const v = Buffer.alloc(2);
    v.writeUInt16LE(planar); // as decodeFrames laid the frames out (color-by-pixel for codecs)
    ds.set({ tag: Tags.PlanarConfiguration, vr: 'US', length: 2, valueOffset: 0, value: v });
  }
  if (LOSSY.has(from)) {
    const v = cs('01');
    ds.set({ tag: LossyImageCompression, vr: 'CS', length: v.length, valueOffset: 0, value: v });
  }
  const native = writePart10(p.meta, ds, TS.ExplicitVRLittleEndian);
  return toTs === TS.ExplicitVRLittleEndian ? native : transcodePart10(native, toTs);
}

// Loading a series for the viewer: its WADO-RS metadata gives the stack order, and each frame is
// fetched as native explicit VR little endian (the server decodes JPEG, JPEG 2000, JPEG-LS, RLE
// and big endian), or as the server-rendered PNG when it cannot send raw pixels.
import { DICOMWEB, request } from '../api.js';
import { num, text, T, values, type JsonDataSet } from '../dicom-json.js';
import type { Frame } from './pixels.js';
import { boundaryOf, splitMultipart } from './multipart.js';

export interface Slice {
  study: string;
  series: string;
  sop: string;
  /** 1-based frame number within the instance. */
  frame: number;
  meta: JsonDataSet;
}

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const MAX_SLICES = 5000;

export async function loadSeries(study: string, series: string): Promise<Slice[]> {
  const metas = (await (await request('GET', `${DICOMWEB}/studies/${study}/series/${series}/metadata`, undefined, 'application/dicom+json')).json()) as JsonDataSet[];
  const ordered = sortInstances(metas.filter((m) => num(m, T.Rows) !== undefined));
  const slices: Slice[] = [];
  for (const meta of ordered) {
    const frames = Math.max(1, Math.min(num(meta, T.NumberOfFrames) ?? 1, MAX_SLICES));
    for (let f = 1; f <= frames && slices.length < MAX_SLICES; f++) slices.push({ study, series, sop: text(meta, T.SOPInstanceUID), frame: f, meta });
  }
  return slices;
}

/** Along the slice normal when positions are known (PS3.3 C.7.6.2), else by instance number. */
export function sortInstances(metas: JsonDataSet[]): JsonDataSet[] {
  const orient = values(metas[0], T.ImageOrientationPatient).map(Number);
  const withPos = metas.every((m) => values(m, T.ImagePositionPatient).length === 3);
  if (orient.length === 6 && orient.every(Number.isFinite) && withPos && metas.length > 1) {
    const [a, b, c, d, e, f] = orient as [number, number, number, number, number, number];
    const n = [b * f - c * e, c * d - a * f, a * e - b * d];
    const depth = (m: JsonDataSet) => values(m, T.ImagePositionPatient).map(Number).reduce((s, v, i) => s + v * n[i]!, 0);
    return [...metas].sort((x, y) => depth(x) - depth(y));
  }
  return [...metas].sort((x, y) => (num(x, T.InstanceNumber) ?? 0) - (num(y, T.InstanceNumber) ?? 0));
}

const frameUrl = (s: Slice) => `${DICOMWEB}/studies/${s.study}/series/${s.series}/instances/${s.sop}/frames/${s.frame}`;

export async function loadFrame(s: Slice): Promise<Frame> {
  try {
    return await nativeFrame(s);
  } catch {
    return renderedFrame(s);
  }
}

async function nativeFrame(s: Slice): Promise<Frame> {
  const m = s.meta;
  const rows = num(m, T.Rows)!, columns = num(m, T.Columns) ?? 0;
  const bits = num(m, T.BitsAllocated) ?? 16, samples = num(m, T.SamplesPerPixel) ?? 1;
  if ((bits !== 8 && bits !== 16) || (samples !== 1 && samples !== 3) || (samples === 3 && bits !== 8)) throw new Error('unsupported pixel layout');
  const res = await request('GET', frameUrl(s), undefined, `multipart/related; type="application/octet-stream"; transfer-syntax=${EXPLICIT_LE}`);
  const boundary = boundaryOf(res.headers.get('content-type') ?? '');
  if (!boundary) throw new Error('not multipart');
  const [part] = splitMultipart(new Uint8Array(await res.arrayBuffer()), boundary);
  if (!part) throw new Error('no frame');
  const n = rows * columns * samples;
  const bytes = part.body.slice(0, n * (bits / 8)); // a copy, aligned for the typed array
  if (bytes.length < n * (bits / 8)) throw new Error('short frame');
  const signed = num(m, T.PixelRepresentation) === 1;
  let data: Frame['data'] = bits === 16 ? (signed ? new Int16Array(bytes.buffer) : new Uint16Array(bytes.buffer)) : (signed && samples === 1 ? new Int8Array(bytes.buffer) : bytes);
  const bitsStored = num(m, T.BitsStored) ?? bits;
  if (samples === 1 && bitsStored < bits) data = maskBits(data, bitsStored, signed);
  if (samples === 3 && num(m, T.PlanarConfiguration) === 1) data = interleave(bytes, rows * columns);
  return {
    rows, columns, data, samples: samples as 1 | 3,
    slope: num(m, T.RescaleSlope) ?? 1, intercept: num(m, T.RescaleIntercept) ?? 0,
    monochrome1: text(m, T.PhotometricInterpretation) === 'MONOCHROME1',
  };
}

/** Keeps the BitsStored low bits (sign-extended when signed): high bits may carry overlays. */
function maskBits(d: Frame['data'], stored: number, signed: boolean): Frame['data'] {
  const mask = (1 << stored) - 1, sign = 1 << (stored - 1);
  for (let i = 0; i < d.length; i++) {
    let v = d[i]! & mask;
    if (signed && v & sign) v -= 1 << stored;
    d[i] = v;
  }
  return d;
}

function interleave(planar: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) { out[i * 3] = planar[i]!; out[i * 3 + 1] = planar[n + i]!; out[i * 3 + 2] = planar[2 * n + i]!; }
  return out;
}

/** The server's rendering of the frame (PS3.18 10.4.1.1.3), as RGB with an identity window. */
async function renderedFrame(s: Slice): Promise<Frame> {
  const res = await request('GET', `${frameUrl(s)}/rendered`, undefined, 'image/png');
  const bitmap = await createImageBitmap(await res.blob());
  const c = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const rgb = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, k = 0; i < rgba.length; i += 4) { rgb[k++] = rgba[i]!; rgb[k++] = rgba[i + 1]!; rgb[k++] = rgba[i + 2]!; }
  return { rows: bitmap.height, columns: bitmap.width, data: rgb, samples: 3, slope: 1, intercept: 0, monochrome1: false };
}

// WADO-RS rendered and thumbnail resources, compressed objects served decoded, and WADO-URI
// images, end to end on a real node: pydicom samples stored through STOW-RS, images fetched over
// HTTP and decoded by Pillow (an independent decoder).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameDescription } from '../../dicom/codecs/index.js';
import { getFrames } from '../../dicom/frames.js';
import { parsePart10 } from '../../dicom/reader.js';
import { Tags } from '../../dicom/tag.js';
import { PYDICOM_DATA, multipartBody, splitMultipart, startTestNode, type TestNode } from '../../../test/support/node.js';
import { pilDecode } from '../../../test/support/pil.js';

const DATA = `${PYDICOM_DATA}/test_files`;
interface Stored { bytes: Buffer; study: string; series: string; sop: string; url: string }

let t: TestNode;
let auth: Record<string, string>;
const files: Record<string, Stored> = {};

/** The file with its SOP Instance UID's last digits changed (same length), so that samples derived from one original are stored side by side. */
function withUid(bytes: Buffer, digits: string): Buffer {
  const uid = parsePart10(bytes).dataset.string(Tags.SOPInstanceUID)!;
  return Buffer.from(bytes.toString('latin1').replaceAll(uid, uid.slice(0, -digits.length) + digits), 'latin1');
}

async function store(name: string, bytes: Buffer = readFileSync(`${DATA}/${name}`)): Promise<Stored> {
  const { body, contentType } = multipartBody([bytes]);
  const r = await fetch(`${t.dicomweb}/studies`, { method: 'POST', body, headers: { ...auth, 'content-type': contentType } });
  expect(r.status).toBe(200);
  const ds = parsePart10(bytes).dataset;
  const [study, series, sop] = [Tags.StudyInstanceUID, Tags.SeriesInstanceUID, Tags.SOPInstanceUID].map((tag) => ds.string(tag));
  return { bytes, study: study!, series: series!, sop: sop!, url: `${t.dicomweb}/studies/${study}/series/${series}/instances/${sop}` };
}

async function get(url: string, accept?: string): Promise<{ status: number; type: string; body: Buffer }> {
  const r = await fetch(url, { headers: { ...auth, ...(accept ? { accept } : {}) } });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) };
}

const distinct = (px: Buffer): number => new Set(px).size;

beforeAll(async () => {
  t = await startTestNode({ 'render.workers': 2 });
  auth = { authorization: `Bearer ${await t.token()}` };
  const names = ['CT_small.dcm', 'MR_small_jp2klossless.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'SC_rgb_rle_2frame.dcm', 'MR_small_jpeg_ls_lossless.dcm'];
  for (const [k, f] of names.entries()) files[f] = await store(f, withUid(readFileSync(`${DATA}/${f}`), String(11 + k)));
});
afterAll(async () => t?.stop());

describe('rendered instances and frames', () => {
  it('renders a CT instance as PNG that decodes to 128x128 with varied content', async () => {
    const r = await get(`${files['CT_small.dcm']!.url}/rendered`, 'image/png');
    expect(r.status).toBe(200);
    expect(r.type).toBe('image/png');
    const img = pilDecode(r.body);
    expect(img).toMatchObject({ format: 'PNG', mode: 'L', width: 128, height: 128 });
    expect(distinct(img.pixels)).toBeGreaterThan(50);
  });

  it('applies the window from the query: air black, bone white, soft tissue grey', async () => {
    const r = await get(`${files['CT_small.dcm']!.url}/rendered?window=40,80,linear`, 'image/png');
    const px = pilDecode(r.body).pixels;
    expect(px[0]).toBe(0); // corner: air
    expect(px.some((v) => v === 255)).toBe(true);
    expect(px.some((v) => v > 20 && v < 235)).toBe(true);
    const wide = pilDecode((await get(`${files['CT_small.dcm']!.url}/rendered?window=40,4000,linear-exact`, 'image/png')).body).pixels;
    expect(wide.some((v) => v === 255)).toBe(false);
  });

  it('answers JPEG for image/jpeg and for */*', async () => {
    for (const accept of ['image/jpeg', '*/*', undefined]) {
      const r = await get(`${files['MR_small_jp2klossless.dcm']!.url}/rendered`, accept);
      expect(r.status).toBe(200);
      expect(r.type).toBe('image/jpeg');
      expect(pilDecode(r.body)).toMatchObject({ format: 'JPEG', width: 64, height: 64 });
    }
  });

  it('renders YBR_FULL_422 JPEG in color and scales it into the viewport', async () => {
    const r = await get(`${files['SC_rgb_jpeg_dcmtk.dcm']!.url}/rendered?viewport=50,20`, 'image/png');
    const img = pilDecode(r.body);
    expect(img).toMatchObject({ mode: 'RGB', width: 20, height: 20 });
  });

  it('renders several frames as multipart/related, one image each', async () => {
    const r = await get(`${files['SC_rgb_rle_2frame.dcm']!.url}/frames/1,2/rendered`, 'multipart/related; type="image/png"');
    expect(r.status).toBe(200);
    const parts = splitMultipart(r.body, r.type);
    expect(parts).toHaveLength(2);
    for (const p of parts) expect(pilDecode(p.body)).toMatchObject({ format: 'PNG', mode: 'RGB', width: 100, height: 100 });
    expect(Buffer.compare(parts[0]!.body, parts[1]!.body)).not.toBe(0);
  });

  it('renders a series as multipart/related of its instances', async () => {
    const s = files['CT_small.dcm']!;
    const r = await get(`${t.dicomweb}/studies/${s.study}/series/${s.series}/rendered`, 'multipart/related; type="image/jpeg"');
    expect(r.status).toBe(200);
    const parts = splitMultipart(r.body, r.type);
    expect(parts.length).toBeGreaterThanOrEqual(1);
    expect(parts[0]!.headers).toMatch(/content-location: .*\/rendered/i);
    expect(pilDecode(parts[0]!.body).format).toBe('JPEG');
  });

  it('answers 406 to an Accept it cannot render to and 400 to a bad window or viewport', async () => {
    const u = `${files['CT_small.dcm']!.url}/rendered`;
    expect((await get(u, 'image/gif')).status).toBe(406);
    expect((await get(`${u}?window=40`, 'image/png')).status).toBe(400);
    expect((await get(`${u}?window=40,0,linear`, 'image/png')).status).toBe(400);
    expect((await get(`${u}?viewport=0,10`, 'image/png')).status).toBe(400);
    expect((await get(`${u}?viewport=99999999,10`, 'image/png')).status).toBe(400);
    expect((await get(`${files['CT_small.dcm']!.url}/frames/2/rendered`, 'image/png')).status).toBe(404);
  });
});

describe('thumbnails', () => {
  it('gives a small image at study, series, instance and frame level', async () => {
    const s = files['MR_small_jpeg_ls_lossless.dcm']!;
    for (const u of [`${t.dicomweb}/studies/${s.study}`, `${t.dicomweb}/studies/${s.study}/series/${s.series}`, s.url, `${s.url}/frames/1`]) {
      const r = await get(`${u}/thumbnail`, 'image/png');
      expect(r.status, u).toBe(200);
      const img = pilDecode(r.body);
      expect(Math.max(img.width, img.height)).toBeLessThanOrEqual(128);
      expect(distinct(img.pixels)).toBeGreaterThan(10);
    }
    const ct = pilDecode((await get(`${files['CT_small.dcm']!.url}/thumbnail?viewport=32,32`, 'image/png')).body);
    expect(ct).toMatchObject({ width: 32, height: 32 });
  });
});

describe('compressed objects served decoded', () => {
  it('serves JPEG 2000 frames as native pixels equal to the uncompressed original', async () => {
    const r = await get(`${files['MR_small_jp2klossless.dcm']!.url}/frames/1`, 'multipart/related; type="application/octet-stream"');
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/transfer-syntax=1\.2\.840\.10008\.1\.2\.1(;|$)/);
    const [part] = splitMultipart(r.body, r.type);
    const original = getFrames(parsePart10(readFileSync(`${DATA}/MR_small.dcm`)), [1]).frames[0]!;
    expect(Buffer.compare(part!.body, original)).toBe(0);
  });

  it('still serves frames as stored when asked with transfer-syntax=*', async () => {
    const r = await get(`${files['MR_small_jp2klossless.dcm']!.url}/frames/1`, 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
    expect(r.status).toBe(200);
    const [part] = splitMultipart(r.body, r.type);
    expect(part!.body.subarray(0, 4).toString('hex')).toBe('ff4fff51');
  });

  it('serves a JPEG-LS instance as Explicit VR Little Endian', async () => {
    const r = await get(files['MR_small_jpeg_ls_lossless.dcm']!.url, 'application/dicom; transfer-syntax=1.2.840.10008.1.2.1');
    expect(r.status).toBe(200);
    const p = parsePart10(r.body);
    expect(p.transferSyntax.uid).toBe('1.2.840.10008.1.2.1');
    const original = getFrames(parsePart10(readFileSync(`${DATA}/MR_small.dcm`)), [1]).frames[0]!;
    expect(Buffer.compare(getFrames(p, [1]).frames[0]!, original)).toBe(0);
    expect(frameDescription(p.dataset).photometric).toBe('MONOCHROME2');
  });
});

describe('broken pixel data', () => {
  it('answers a clear 400 for a corrupt codestream and keeps serving', async () => {
    const bytes = Buffer.from(readFileSync(`${DATA}/MR_small_jp2klossless.dcm`));
    const at = bytes.lastIndexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    bytes.fill(0x00, at, at + 8);
    const s = await store('broken', withUid(bytes, '99'));
    const r = await fetch(`${s.url}/rendered`, { headers: { ...auth, accept: 'image/png' } });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/JPEG 2000/);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await get(`${files['CT_small.dcm']!.url}/rendered`, 'image/png')).status).toBe(200);
  });
});

describe('WADO-URI images', () => {
  it('renders image/jpeg by default and image/png when asked, with window and size', async () => {
    const s = files['CT_small.dcm']!;
    const q = `requestType=WADO&studyUID=${s.study}&seriesUID=${s.series}&objectUID=${s.sop}`;
    const jpeg = await get(`${t.dicomweb}/wado?${q}`);
    expect(jpeg.status).toBe(200);
    expect(pilDecode(jpeg.body)).toMatchObject({ format: 'JPEG', width: 128, height: 128 });
    const png = await get(`${t.dicomweb}/wado?${q}&contentType=image%2Fpng&windowCenter=40&windowWidth=80&rows=64`);
    const img = pilDecode(png.body);
    expect(img).toMatchObject({ format: 'PNG', width: 64, height: 64 });
    expect(img.pixels[0]).toBe(0);
    expect((await get(`${t.dicomweb}/wado?${q}&contentType=image%2Fgif`)).status).toBe(406);
  });
});

describe('limits', () => {
  it('answers 413 when a series has more instances than one rendered request may render', async () => {
    const small = await startTestNode({ 'render.maxRenderedInstances': 1, 'render.workers': 1 });
    try {
      const a = { authorization: `Bearer ${await small.token()}` };
      const two = [withUid(readFileSync(`${DATA}/CT_small.dcm`), '41'), withUid(readFileSync(`${DATA}/CT_small.dcm`), '42')];
      const { body, contentType } = multipartBody(two);
      expect((await fetch(`${small.dicomweb}/studies`, { method: 'POST', body, headers: { ...a, 'content-type': contentType } })).status).toBe(200);
      const ds = parsePart10(two[0]!).dataset;
      const series = `${small.dicomweb}/studies/${ds.string(Tags.StudyInstanceUID)}/series/${ds.string(Tags.SeriesInstanceUID)}`;
      const r = await fetch(`${series}/rendered`, { headers: { ...a, accept: 'image/png' } });
      expect(r.status).toBe(413);
      // One instance still renders, and the thumbnail of the series picks one.
      expect((await fetch(`${series}/thumbnail`, { headers: { ...a, accept: 'image/png' } })).status).toBe(200);
    } finally {
      await small.stop();
    }
  });
});

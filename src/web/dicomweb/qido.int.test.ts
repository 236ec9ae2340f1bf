// QIDO-RS matching (PS3.4 C.2.2.2 through PS3.18 10.6), STOW-RS responses and errors, DELETE,
// and transcoding on retrieve, against a real node with synthetic studies.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeInstance } from '../../../test/support/make-dicom.js';
import { multipartBody, splitMultipart, startTestNode, type TestNode } from '../../../test/support/node.js';

type Json = Record<string, { vr: string; Value?: unknown[] }>;
let t: TestNode;
let auth: Record<string, string>;

const A = makeInstance({ PatientName: 'Hernández^José', PatientID: 'PA', StudyDate: '20240115', StudyTime: '083015', AccessionNumber: 'ACC-A', Modality: 'CT' });
const A2 = makeInstance({ PatientName: 'Hernández^José', PatientID: 'PA', StudyInstanceUID: A.study, SeriesInstanceUID: A.series, InstanceNumber: 2, StudyDate: '20240115' });
const A3 = makeInstance({ PatientName: 'Hernández^José', PatientID: 'PA', StudyInstanceUID: A.study, Modality: 'SR', StudyDate: '20240115' });
const B = makeInstance({ PatientName: 'HERZOG^ANNA', PatientID: 'PB', StudyDate: '20231231', StudyTime: '235959', AccessionNumber: 'ACC-B', Modality: 'MR' });
const C = makeInstance({ PatientName: 'SMITH^JOHN', PatientID: 'P_C', StudyDate: '20250601', AccessionNumber: 'ACC%C', Modality: 'CR' });

async function qido(path: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Json[]; res: Response; text: string }> {
  const res = await fetch(`${t.dicomweb}${path}`, { headers: { ...auth, ...headers } });
  const text = await res.text();
  return { status: res.status, json: res.status === 200 ? JSON.parse(text) as Json[] : [], res, text };
}
const studyUids = (rows: Json[]) => rows.map((r) => r['0020000D']!.Value![0]).sort();

async function stow(parts: Buffer[], path = '/studies') {
  const { body, contentType } = multipartBody(parts);
  const res = await fetch(`${t.dicomweb}${path}`, { method: 'POST', body, headers: { ...auth, 'content-type': contentType } });
  return { status: res.status, json: await res.json() as Json, res };
}

beforeAll(async () => {
  t = await startTestNode();
  auth = { authorization: `Bearer ${await t.token()}` };
  const r = await stow([A.bytes, A2.bytes, A3.bytes, B.bytes, C.bytes]);
  expect(r.status).toBe(200);
});
afterAll(async () => t?.stop());

describe('QIDO-RS matching', () => {
  it('matches a PN wildcard case-insensitively, accents included', async () => {
    expect(studyUids((await qido('/studies?PatientName=her*')).json)).toEqual([A.study, B.study].sort());
    expect(studyUids((await qido('/studies?PatientName=HERNÁNDEZ*')).json)).toEqual([A.study]);
    expect(studyUids((await qido('/studies?00100010=*JOS%C3%A9')).json)).toEqual([A.study]);
  });

  it('matches ? as exactly one character and treats % and _ literally', async () => {
    expect(studyUids((await qido('/studies?PatientID=P?')).json)).toEqual([A.study, B.study].sort());
    expect(studyUids((await qido('/studies?PatientID=P_C')).json)).toEqual([C.study]);
    expect(studyUids((await qido('/studies?PatientID=P_*')).json)).toEqual([C.study]);
    expect(studyUids((await qido('/studies?AccessionNumber=ACC%25*')).json)).toEqual([C.study]);
  });

  it('matches date ranges, open on either side', async () => {
    expect(studyUids((await qido('/studies?StudyDate=20240101-20241231')).json)).toEqual([A.study]);
    expect(studyUids((await qido('/studies?StudyDate=-20231231')).json)).toEqual([B.study]);
    expect(studyUids((await qido('/studies?StudyDate=20240601-')).json)).toEqual([C.study]);
    expect(studyUids((await qido('/studies?StudyDate=20240115')).json)).toEqual([A.study]);
  });

  it('matches a partial time as the whole minute it names', async () => {
    expect(studyUids((await qido('/studies?StudyTime=0830')).json)).toEqual([A.study]);
    expect(studyUids((await qido('/studies?StudyTime=2300-')).json)).toEqual([B.study]);
  });

  it('matches a list of UIDs', async () => {
    expect(studyUids((await qido(`/studies?StudyInstanceUID=${A.study},${C.study}`)).json)).toEqual([A.study, C.study].sort());
    expect(studyUids((await qido(`/studies?StudyInstanceUID=${A.study}%5C${B.study}`)).json)).toEqual([A.study, B.study].sort());
  });

  it('matches ModalitiesInStudy against any series of the study', async () => {
    expect(studyUids((await qido('/studies?ModalitiesInStudy=SR')).json)).toEqual([A.study]);
  });

  it('returns the required study attributes with counts and modalities', async () => {
    const [row] = (await qido(`/studies?StudyInstanceUID=${A.study}`)).json;
    expect(row!['00201206']!.Value).toEqual([2]);
    expect(row!['00201208']!.Value).toEqual([3]);
    expect(row!['00080061']!.Value).toEqual(['CT', 'SR']);
    expect((row!['00100010']!.Value![0] as { Alphabetic: string }).Alphabetic).toBe('Hernández^José');
    expect(row!['00081190']!.Value![0]).toBe(`${t.dicomweb}/studies/${A.study}`);
    for (const k of ['00080020', '00080030', '00080050', '00100020', '00100030', '00100040', '00200010', '00080090']) expect(row, k).toHaveProperty(k);
  });

  it('pages with limit and offset, in a stable order', async () => {
    const all = studyUids((await qido('/studies')).json);
    expect(all).toHaveLength(3);
    const p1 = (await qido('/studies?limit=2')).json;
    const p2 = (await qido('/studies?limit=2&offset=2')).json;
    expect(p1).toHaveLength(2);
    expect(p2).toHaveLength(1);
    expect([...studyUids(p1), ...studyUids(p2)].sort()).toEqual(all);
  });

  it('searches series and instances, in a study and across studies', async () => {
    expect((await qido(`/studies/${A.study}/series`)).json).toHaveLength(2);
    expect((await qido('/series?Modality=MR')).json.map((r) => r['0020000E']!.Value![0])).toEqual([B.series]);
    const inst = (await qido(`/studies/${A.study}/series/${A.series}/instances`)).json;
    expect(inst.map((r) => r['00080018']!.Value![0]).sort()).toEqual([A.sop, A2.sop].sort());
    expect(inst[0]!['00280010']!.Value).toEqual([4]);
    expect((await qido(`/instances?SOPInstanceUID=${C.sop}`)).json).toHaveLength(1);
  });

  it('adds attributes named by includefield, and all of them with includefield=all', async () => {
    const [row] = (await qido(`/studies?StudyInstanceUID=${A.study}&includefield=StudyDescription`)).json;
    expect(row!['00081030']!.Value).toEqual(['CHEST']);
    const [inst] = (await qido(`/instances?SOPInstanceUID=${A.sop}&includefield=all`)).json;
    expect(inst!['00280100']!.Value).toEqual([16]);
    expect(inst).not.toHaveProperty('7FE00010');
  });

  it('warns that fuzzy matching is not done and that an unindexed key was ignored', async () => {
    const r = await qido('/studies?PatientName=her*&fuzzymatching=true&PatientWeight=70');
    expect(r.status).toBe(200);
    expect(r.res.headers.get('warning')).toMatch(/fuzzymatching/);
    expect(r.res.headers.get('warning')).toMatch(/00101030/);
  });

  it.each([
    ['/studies?StudyDate=2024', /YYYYMMDD/],
    ['/studies?StudyDate=20240101-2024', /range/],
    ['/studies?StudyInstanceUID=1.2.abc', /UID/],
    ['/studies?NotAnAttribute=1', /unknown query parameter/],
    ['/studies?limit=-1', /limit/],
    ['/studies?includefield=Nope', /includefield/],
    ['/studies?PatientID=a&PatientID=b', /twice/],
  ])('answers 400 with a reason to %s', async (path, reason) => {
    const r = await qido(path);
    expect(r.status).toBe(400);
    expect((JSON.parse(r.text) as { message: string }).message).toMatch(reason);
  });

  it('answers 406 when the client accepts only XML', async () => {
    expect((await qido('/studies', { accept: 'multipart/related; type="application/dicom+xml"' })).status).toBe(406);
  });
});

describe('STOW-RS responses', () => {
  it('reports a same-content resend as stored and a different one under the same UID as a 409 failure', async () => {
    expect((await stow([A.bytes])).status).toBe(200);
    const clash = makeInstance({ SOPInstanceUID: A.sop, StudyInstanceUID: A.study, PatientName: 'OTHER^ONE' });
    const r = await stow([clash.bytes]);
    expect(r.status).toBe(409);
    expect((r.json['00081198']!.Value![0] as Json)['00081197']!.Value).toEqual([0x0111]);
    const [row] = (await qido(`/instances?SOPInstanceUID=${A.sop}&includefield=PatientName`)).json;
    expect((row!['00100010']!.Value![0] as { Alphabetic: string }).Alphabetic).toBe('Hernández^José');
  });

  it('answers 202 with the failed part listed when only some parts are stored', async () => {
    const good = makeInstance();
    const r = await stow([good.bytes, Buffer.from('not dicom at all')]);
    expect(r.status).toBe(202);
    expect(r.json['00081199']!.Value).toHaveLength(1);
    expect((r.json['00081198']!.Value![0] as Json)['00081197']!.Value).toEqual([0xc000]);
  });

  it('refuses an instance of another study when the URL names a study', async () => {
    const other = makeInstance();
    const r = await stow([other.bytes], `/studies/${A.study}`);
    expect(r.status).toBe(409);
    expect((r.json['00081198']!.Value![0] as Json)['00081197']!.Value).toEqual([0xc409]);
  });

  it('refuses a large instance of another study too (its header is checked while its pixels still arrive)', async () => {
    const other = makeInstance({ rows: 512, columns: 512 });
    expect(other.bytes.length).toBeGreaterThan(256 * 1024);
    const before = (await t.node.index.counts()).instances;
    const r = await stow([other.bytes], `/studies/${A.study}`);
    expect(r.status).toBe(409);
    expect((r.json['00081198']!.Value![0] as Json)['00081197']!.Value).toEqual([0xc409]);
    expect((await t.node.index.counts()).instances).toBe(before);
  });

  it('indexes a large instance with the size and hash of every byte received', async () => {
    const big = makeInstance({ StudyInstanceUID: A.study, rows: 512, columns: 512 });
    const r = await stow([big.bytes], `/studies/${A.study}`);
    expect(r.status).toBe(200);
    const stored = await t.node.index.getInstance(big.sop);
    expect(stored).toMatchObject({ size: big.bytes.length, sha256: createHash('sha256').update(big.bytes).digest('hex') });
  });

  it('answers 415 to a body that is not multipart/related of application/dicom', async () => {
    const r1 = await fetch(`${t.dicomweb}/studies`, { method: 'POST', body: A.bytes as unknown as BodyInit, headers: { ...auth, 'content-type': 'application/dicom' } });
    expect(r1.status).toBe(415);
    const r2 = await fetch(`${t.dicomweb}/studies`, { method: 'POST', body: 'x', headers: { ...auth, 'content-type': 'multipart/related; type="application/dicom+json"; boundary=x' } });
    expect(r2.status).toBe(415);
  });

  it('answers 400 to a truncated multipart body and keeps nothing of it', async () => {
    const before = (await t.node.index.counts()).instances;
    const inst = makeInstance();
    const { body, contentType } = multipartBody([inst.bytes]);
    const bytes = Buffer.from(await body.arrayBuffer());
    const r = await fetch(`${t.dicomweb}/studies`, { method: 'POST', body: bytes.subarray(0, bytes.length - 40) as unknown as BodyInit, headers: { ...auth, 'content-type': contentType } });
    expect(r.status).toBe(400);
    expect((await t.node.index.counts()).instances).toBe(before);
  });

  it('answers 413 when the declared body is larger than the limit', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request(`${t.dicomweb}/studies`, { method: 'POST', headers: { ...auth, 'content-type': 'multipart/related; type="application/dicom"; boundary=x', 'content-length': String(9 * 1024 ** 3) } }, (r) => { r.resume(); resolve(r.statusCode!); });
        req.on('error', reject);
        req.write('--x\r\n');
      });
    });
    expect(res).toBe(413);
  });
});

describe('WADO-RS representations', () => {
  it('transcodes to explicit VR little endian by default and to implicit VR when asked', async () => {
    const url = `${t.dicomweb}/studies/${B.study}/series/${B.series}/instances/${B.sop}`;
    const r = await fetch(url, { headers: { ...auth, accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2' } });
    expect(r.status).toBe(200);
    const [part] = splitMultipart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!);
    expect(part!.headers).toMatch(/transfer-syntax=1.2.840.10008.1.2\b/);
    expect(part!.body.includes(Buffer.from('1.2.840.10008.1.2\0'))).toBe(true);
    const single = await fetch(url, { headers: { ...auth, accept: 'application/dicom' } });
    expect(single.headers.get('content-type')).toMatch(/^application\/dicom/);
    expect(Buffer.from(await single.arrayBuffer()).equals(B.bytes)).toBe(true);
  });

  it('returns frames of native pixel data as octet-stream', async () => {
    const r = await fetch(`${t.dicomweb}/studies/${B.study}/series/${B.series}/instances/${B.sop}/frames/1`, { headers: { ...auth, accept: 'multipart/related; type="application/octet-stream"' } });
    expect(r.status).toBe(200);
    const [part] = splitMultipart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!);
    expect(part!.body.length).toBe(4 * 4 * 2);
    expect(part!.body.readUInt16LE(2)).toBe(37);
  });

  it('answers 404 for a frame that does not exist and 400 for a malformed list', async () => {
    const base = `${t.dicomweb}/studies/${B.study}/series/${B.series}/instances/${B.sop}/frames`;
    expect((await fetch(`${base}/2`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/0`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${base}/1,x`, { headers: auth })).status).toBe(400);
  });

  it('serves metadata with BulkDataURIs that resolve to the bulk data', async () => {
    const r = await fetch(`${t.dicomweb}/studies/${B.study}/metadata`, { headers: auth });
    const [md] = await r.json() as { '7FE00010': { BulkDataURI: string } }[];
    const uri = md!['7FE00010'].BulkDataURI;
    expect(uri).toBe(`${t.dicomweb}/studies/${B.study}/series/${B.series}/instances/${B.sop}/bulkdata/7FE00010`);
    const bulk = await fetch(uri, { headers: auth });
    expect(bulk.status).toBe(200);
    const [part] = splitMultipart(Buffer.from(await bulk.arrayBuffer()), bulk.headers.get('content-type')!);
    expect(part!.body.length).toBe(32);
  });

  it('serves WADO-URI for application/dicom, as a rendered JPEG by default, and refuses other image types', async () => {
    const q = `requestType=WADO&studyUID=${B.study}&seriesUID=${B.series}&objectUID=${B.sop}`;
    const r = await fetch(`${t.dicomweb}/wado?${q}&contentType=application%2Fdicom`, { headers: auth });
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).equals(B.bytes)).toBe(true);
    const jpeg = await fetch(`${t.dicomweb}/wado?${q}`, { headers: auth });
    expect(jpeg.status).toBe(200);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await jpeg.arrayBuffer()).subarray(0, 2).toString('hex')).toBe('ffd8');
    expect((await fetch(`${t.dicomweb}/wado?${q}&contentType=image%2Fgif`, { headers: auth })).status).toBe(406);
  });

  it('answers 404 for a study that is not there, without saying more', async () => {
    const r = await fetch(`${t.dicomweb}/studies/1.2.3.4.5`, { headers: auth });
    expect(r.status).toBe(404);
  });
});

describe('DELETE', () => {
  it('removes a series, then its study when it is empty, and their blobs', async () => {
    const r1 = await fetch(`${t.dicomweb}/studies/${C.study}/series/${C.series}`, { method: 'DELETE', headers: auth });
    expect(r1.status).toBe(204);
    expect((await qido(`/studies?StudyInstanceUID=${C.study}`)).json).toHaveLength(0);
    expect((await fetch(`${t.dicomweb}/studies/${C.study}`, { method: 'DELETE', headers: auth })).status).toBe(404);
  });
});

// A third-party DICOMweb client (the dicomweb-client npm package, as OHIF uses it) against a real node.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import XHR from 'xhr2';
import { makeInstance } from '../../../test/support/make-dicom.js';
import { PYDICOM_DATA, startTestNode, type TestNode } from '../../../test/support/node.js';

// dicomweb-client speaks through XMLHttpRequest, which Node lacks.
(globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = XHR;
const { api } = await import('dicomweb-client');

let t: TestNode;
// The package's own typings ask for options it does not need; the tests call it loosely.
type Client = Record<string, (options?: Record<string, unknown>) => Promise<unknown>>;
let client: Client;

const toArrayBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

beforeAll(async () => {
  t = await startTestNode();
  client = new api.DICOMwebClient({ url: t.dicomweb, headers: { Authorization: `Bearer ${await t.token()}` }, singlepart: false }) as unknown as Client;
});
afterAll(async () => t?.stop());

describe('dicomweb-client', () => {
  const a = makeInstance({ PatientName: 'CLIENT^TEST', PatientID: 'DWC1' });
  const ct = readFileSync(`${PYDICOM_DATA}/test_files/CT_small.dcm`);

  it('stores instances with storeInstances', async () => {
    await client.storeInstances!({ datasets: [toArrayBuffer(a.bytes), toArrayBuffer(ct)] });
    expect((await t.node.index.counts()).instances).toBe(2);
  });

  it('finds the study with searchForStudies and a PN wildcard', async () => {
    const studies = await client.searchForStudies!({ queryParams: { PatientName: 'client*' } }) as Record<string, { Value: unknown[] }>[];
    expect(studies).toHaveLength(1);
    expect(studies[0]!['0020000D']!.Value[0]).toBe(a.study);
  });

  it('lists series and instances', async () => {
    const series = await client.searchForSeries!({ studyInstanceUID: a.study }) as unknown[];
    expect(series).toHaveLength(1);
    const instances = await client.searchForInstances!({ studyInstanceUID: a.study, seriesInstanceUID: a.series }) as unknown[];
    expect(instances).toHaveLength(1);
  });

  it('retrieves study metadata and the instance, byte-identical', async () => {
    const md = await client.retrieveStudyMetadata!({ studyInstanceUID: a.study }) as Record<string, { Value?: unknown[] }>[];
    expect(md[0]!['00100020']!.Value).toEqual(['DWC1']);
    const inst = await client.retrieveInstance!({ studyInstanceUID: a.study, seriesInstanceUID: a.series, sopInstanceUID: a.sop }) as ArrayBuffer | ArrayBuffer[];
    const buf = Buffer.from(Array.isArray(inst) ? inst[0]! : inst);
    expect(buf.equals(a.bytes)).toBe(true);
  });

  it('retrieves frames of the pydicom CT', async () => {
    const studies = await client.searchForStudies!({ queryParams: { PatientID: '1CT1' } }) as Record<string, { Value: string[] }>[];
    const study = studies[0]!['0020000D']!.Value[0]!;
    const [inst] = await client.searchForInstances!({ studyInstanceUID: study }) as Record<string, { Value: string[] }>[];
    const frames = await client.retrieveInstanceFrames!({
      studyInstanceUID: study, seriesInstanceUID: inst!['0020000E']!.Value[0]!, sopInstanceUID: inst!['00080018']!.Value[0]!, frameNumbers: [1],
    }) as ArrayBuffer[];
    expect(frames).toHaveLength(1);
    expect(frames[0]!.byteLength).toBe(128 * 128 * 2);
  });

  it('is refused without credentials', async () => {
    const anonymous = new api.DICOMwebClient({ url: t.dicomweb, singlepart: false }) as unknown as Client;
    await expect(anonymous.searchForStudies!({})).rejects.toBeTruthy();
  });
});

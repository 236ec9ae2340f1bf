// Test data for the browser tests: real pydicom files, a generated CT stack whose slices differ,
// a generated multi-frame object, and a study whose strings are an XSS corpus.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Node } from '../../src/app.js';
import { parsePart10 } from '../../src/dicom/reader.js';
import { Tags } from '../../src/dicom/tag.js';
import { newUid } from '../../src/dicom/uid.js';
import { buildMeta, writePart10 } from '../../src/dicom/writer.js';
import { systemPrincipal } from '../../src/security/principal.js';
import { CT_IMAGE_STORAGE, makeDataSet, makeInstance } from '../support/make-dicom.js';
import { PYDICOM_DATA } from '../support/node.js';

/** Each payload sets window.__xss (or navigates) if it ever runs as markup or script. */
export const XSS = {
  // No '=' here: in a person name it separates the alphabetic, ideographic and phonetic groups.
  name: '<script>window.__xss++</script>^<b>bold</b>',
  id: '"><svg onload=window.__xss=3>',
  description: '<img src=x onerror="window.__xss=4">',
  accession: 'javascript:window.__xss=5',
  series: '</td><iframe srcdoc="<script>parent.__xss=6</script>">',
  referring: "'><body onload>^<u>x</u>", // a person name too: no '='
};

export async function ingest(node: Node, bytes: Buffer): Promise<void> {
  const r = await node.ingest.ingest(systemPrincipal(), (async function* () { yield bytes; })());
  if (!r.ok) throw new Error('seed refused: 0x' + r.reason.toString(16));
}

export interface Seeded { ctStudy: string; ctSeries: string; ctSlices: number; mfStudy: string; mfSeries: string; xssStudy: string; pydicom: Record<string, { study: string; series: string }> }

/** A 64x64 CT slice in Hounsfield units: a disc whose radius and density change with the slice. */
function ctSlice(study: string, series: string, k: number): Buffer {
  const n = 64;
  const px = Buffer.alloc(n * n * 2);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const r = Math.hypot(x - 32, y - 32);
    const hu = r < 10 + k * 3 ? 400 + k * 100 : r < 28 ? -700 + ((x + y * 3) % 50) : -1000;
    px.writeInt16LE(hu, (y * n + x) * 2); // stored value = HU (slope 1, intercept 0)
  }
  const sop = newUid();
  const ds = makeDataSet({
    SOPClassUID: CT_IMAGE_STORAGE, SOPInstanceUID: sop, StudyInstanceUID: study, SeriesInstanceUID: series,
    PatientName: 'STACK^CT', PatientID: 'CT-STACK', PatientBirthDate: '19600214', PatientSex: 'F',
    StudyDate: '20240301', StudyTime: '080000', AccessionNumber: 'ACC-STACK', StudyDescription: 'CT chest stack', StudyID: '1',
    Modality: 'CT', SeriesNumber: '2', InstanceNumber: String(k + 1), SeriesDescription: 'Axial 2mm',
    PixelSpacing: '0.5\\0.5', ImagePositionPatient: `0\\0\\${k * 2}`, ImageOrientationPatient: '1\\0\\0\\0\\1\\0',
    RescaleIntercept: '0', RescaleSlope: '1', WindowCenter: '40', WindowWidth: '400',
    SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', Rows: n, Columns: n,
    BitsAllocated: 16, BitsStored: 16, HighBit: 15, PixelRepresentation: 1,
  });
  ds.set({ tag: 0x7fe00010, vr: 'OW', length: px.length, valueOffset: 0, value: px });
  return writePart10(buildMeta(CT_IMAGE_STORAGE, sop, '1.2.840.10008.1.2.1'), ds, '1.2.840.10008.1.2.1');
}

function multiFrame(study: string, series: string, frames: number): Buffer {
  const n = 32, sop = newUid();
  const px = Buffer.alloc(n * n * frames);
  for (let f = 0; f < frames; f++) for (let i = 0; i < n * n; i++) px[f * n * n + i] = ((i % n) * 8 + f * 40) & 0xff;
  const ds = makeDataSet({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7.2', SOPInstanceUID: sop, StudyInstanceUID: study, SeriesInstanceUID: series,
    PatientName: 'CINE^LOOP', PatientID: 'MF-1', StudyDate: '20240302', StudyTime: '090000', AccessionNumber: 'ACC-MF',
    Modality: 'XA', StudyDescription: 'Multi-frame', SeriesNumber: '1', InstanceNumber: '1', StudyID: '1',
    SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', Rows: n, Columns: n, NumberOfFrames: String(frames),
    BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0, FrameTime: '50',
  });
  ds.set({ tag: 0x7fe00010, vr: 'OB', length: px.length, valueOffset: 0, value: px });
  return writePart10(buildMeta('1.2.840.10008.5.1.4.1.1.7.2', sop, '1.2.840.10008.1.2.1'), ds, '1.2.840.10008.1.2.1');
}

/** One object per transfer syntax: explicit LE, big endian, RLE, JPEG-LS, JPEG 2000, JPEG baseline (colour), 12-bit JPEG Extended. */
export const PYDICOM_FILES = ['CT_small.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm', 'SC_rgb_rle_2frame.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'MR_small_jp2klossless.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'JPGExtended.dcm'];

export async function seed(node: Node): Promise<Seeded> {
  const ctStudy = newUid(), ctSeries = newUid(), ctSlices = 6;
  for (let k = 0; k < ctSlices; k++) await ingest(node, ctSlice(ctStudy, ctSeries, k));
  const mfStudy = newUid(), mfSeries = newUid();
  await ingest(node, multiFrame(mfStudy, mfSeries, 6));
  const xss = makeInstance({
    PatientName: XSS.name, PatientID: XSS.id, StudyDescription: XSS.description, AccessionNumber: XSS.accession,
    ReferringPhysicianName: XSS.referring, StudyDate: '20240303', extra: { SeriesDescription: XSS.series },
  });
  await ingest(node, xss.bytes);
  // Filler so that the worklist has more than one page.
  for (let i = 0; i < 30; i++) await ingest(node, makeInstance({ PatientName: `FILLER^P${String(i).padStart(2, '0')}`, PatientID: `F${i}`, StudyDate: `2023${String(1 + (i % 12)).padStart(2, '0')}15`, AccessionNumber: `F-${i}` }).bytes);
  const pydicom: Seeded['pydicom'] = {};
  for (const [k, f] of PYDICOM_FILES.entries()) {
    // Several pydicom files are one object in different transfer syntaxes, with the same UIDs:
    // each gets its own by changing the last digit in place (same length, so no length changes).
    let bytes: Buffer = await readFile(join(PYDICOM_DATA, 'test_files', f));
    const ds = parsePart10(bytes).dataset;
    const uids = [Tags.StudyInstanceUID, Tags.SeriesInstanceUID, Tags.SOPInstanceUID].map((t) => ds.string(t));
    for (const u of uids) bytes = replaceAll(bytes, u, u.slice(0, -1) + String((Number(u.slice(-1)) + k + 1) % 10));
    await ingest(node, bytes);
    const again = parsePart10(bytes).dataset;
    pydicom[f] = { study: again.string(Tags.StudyInstanceUID), series: again.string(Tags.SeriesInstanceUID) };
  }
  return { ctStudy, ctSeries, ctSlices, mfStudy, mfSeries, xssStudy: xss.study, pydicom };
}

function replaceAll(buf: Buffer, from: string, to: string): Buffer {
  const out = Buffer.from(buf);
  const needle = Buffer.from(from, 'latin1'), repl = Buffer.from(to, 'latin1');
  for (let i = out.indexOf(needle); i >= 0; i = out.indexOf(needle, i + needle.length)) repl.copy(out, i);
  return out;
}

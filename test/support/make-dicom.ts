// Builds small synthetic Part 10 objects for tests (explicit VR little endian, UTF-8 text).
import { DataSet } from '../../src/dicom/dataset.js';
import { lookupTag, tagForKeyword } from '../../src/dicom/dictionary.generated.js';
import { newUid } from '../../src/dicom/uid.js';
import { buildMeta, writePart10 } from '../../src/dicom/writer.js';
import type { VR } from '../../src/dicom/vr.js';

export type Attrs = Record<string, string | number | Buffer>;

export function makeDataSet(attrs: Attrs): DataSet {
  const ds = new DataSet(true, ['ISO_IR 192']);
  const put = (keyword: string, v: string | number | Buffer) => {
    const tag = tagForKeyword(keyword);
    if (tag === undefined) throw new Error('unknown keyword ' + keyword);
    const vr = (lookupTag(tag)!.vr) as VR;
    let value: Buffer;
    if (Buffer.isBuffer(v)) value = v;
    else if (vr === 'US') { value = Buffer.alloc(2); value.writeUInt16LE(Number(v)); }
    else if (vr === 'UL') { value = Buffer.alloc(4); value.writeUInt32LE(Number(v)); }
    else {
      value = Buffer.from(String(v), 'utf8');
      if (value.length & 1) value = Buffer.concat([value, Buffer.of(vr === 'UI' ? 0 : 0x20)]);
    }
    ds.set({ tag, vr, length: value.length, valueOffset: 0, value });
  };
  put('SpecificCharacterSet', 'ISO_IR 192');
  for (const [k, v] of Object.entries(attrs)) put(k, v);
  return ds;
}

export interface InstanceSpec {
  PatientName?: string; PatientID?: string; PatientBirthDate?: string; PatientSex?: string;
  StudyInstanceUID?: string; SeriesInstanceUID?: string; SOPInstanceUID?: string;
  StudyDate?: string; StudyTime?: string; AccessionNumber?: string; StudyDescription?: string;
  Modality?: string; SeriesNumber?: number; InstanceNumber?: number; ReferringPhysicianName?: string;
  rows?: number; columns?: number; extra?: Attrs;
}

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

export function makeInstance(s: InstanceSpec = {}): { bytes: Buffer; sop: string; study: string; series: string } {
  const study = s.StudyInstanceUID ?? newUid();
  const series = s.SeriesInstanceUID ?? newUid();
  const sop = s.SOPInstanceUID ?? newUid();
  const rows = s.rows ?? 4, cols = s.columns ?? 4;
  const pixels = Buffer.alloc(rows * cols * 2);
  for (let i = 0; i < rows * cols; i++) pixels.writeUInt16LE((i * 37) & 0xfff, i * 2);
  const attrs: Attrs = {
    SOPClassUID: CT_IMAGE_STORAGE, SOPInstanceUID: sop,
    StudyDate: s.StudyDate ?? '20240115', StudyTime: s.StudyTime ?? '101500',
    AccessionNumber: s.AccessionNumber ?? 'ACC1', Modality: s.Modality ?? 'CT',
    ReferringPhysicianName: s.ReferringPhysicianName ?? '', StudyDescription: s.StudyDescription ?? 'CHEST',
    PatientName: s.PatientName ?? 'DOE^JOHN', PatientID: s.PatientID ?? 'P1',
    PatientBirthDate: s.PatientBirthDate ?? '19700101', PatientSex: s.PatientSex ?? 'M',
    StudyInstanceUID: study, SeriesInstanceUID: series, StudyID: '1',
    SeriesNumber: String(s.SeriesNumber ?? 1), InstanceNumber: String(s.InstanceNumber ?? 1),
    SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', Rows: rows, Columns: cols,
    BitsAllocated: 16, BitsStored: 12, HighBit: 11, PixelRepresentation: 0, ...s.extra,
  };
  const ds = makeDataSet(attrs);
  ds.set({ tag: 0x7fe00010, vr: 'OW', length: pixels.length, valueOffset: 0, value: pixels });
  const bytes = writePart10(buildMeta(CT_IMAGE_STORAGE, sop, '1.2.840.10008.1.2.1'), ds, '1.2.840.10008.1.2.1');
  return { bytes, sop, study, series };
}

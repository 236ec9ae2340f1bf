// Reading DICOM JSON (PS3.18 Annex F) values for display: strings, numbers, person names, dates.

export type JsonAttr = { vr: string; Value?: unknown[]; BulkDataURI?: string; InlineBinary?: string };
export type JsonDataSet = Record<string, JsonAttr>;

export const T = {
  PatientName: '00100010', PatientID: '00100020', PatientBirthDate: '00100030', PatientSex: '00100040',
  StudyInstanceUID: '0020000D', StudyDate: '00080020', StudyTime: '00080030', AccessionNumber: '00080050',
  StudyDescription: '00081030', ModalitiesInStudy: '00080061', NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208', ReferringPhysicianName: '00080090',
  SeriesInstanceUID: '0020000E', SeriesNumber: '00200011', SeriesDescription: '0008103E', Modality: '00080060',
  NumberOfSeriesRelatedInstances: '00201209', SOPInstanceUID: '00080018', InstanceNumber: '00200013',
  Rows: '00280010', Columns: '00280011', BitsAllocated: '00280100', BitsStored: '00280101', PixelRepresentation: '00280103',
  SamplesPerPixel: '00280002', PhotometricInterpretation: '00280004', PlanarConfiguration: '00280006',
  RescaleSlope: '00281053', RescaleIntercept: '00281052', WindowCenter: '00281050', WindowWidth: '00281051',
  PixelSpacing: '00280030', NumberOfFrames: '00280008', ImagePositionPatient: '00200032', ImageOrientationPatient: '00200037',
  FrameTime: '00181063', TransferSyntaxUID: '00020010',
} as const;

export function values(ds: JsonDataSet | undefined, tag: string): unknown[] {
  return ds?.[tag]?.Value ?? [];
}

/** The first value as display text; person names by their alphabetic group, "^" shown as ", " then spaces. */
export function text(ds: JsonDataSet | undefined, tag: string): string {
  const v = values(ds, tag);
  return v.map((x) => {
    if (x !== null && typeof x === 'object') return personName(x as Record<string, unknown>);
    return x === null || x === undefined ? '' : String(x);
  }).join(', ');
}

function personName(pn: Record<string, unknown>): string {
  const a = typeof pn.Alphabetic === 'string' ? pn.Alphabetic : typeof pn.Ideographic === 'string' ? pn.Ideographic : '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = a.split('^');
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(' ');
  return rest ? `${family}, ${rest}` : family;
}

export function num(ds: JsonDataSet | undefined, tag: string, i = 0): number | undefined {
  const v = values(ds, tag)[i];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** YYYYMMDD -> YYYY-MM-DD for display; anything else as given. */
export function date(d: string): string {
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : d;
}

/** A UID is only ever put into a request path once it looks like one (digits and dots, at most 64). */
export function isUid(s: string): boolean {
  return /^[0-9]+(\.[0-9]+)*$/.test(s) && s.length <= 64;
}

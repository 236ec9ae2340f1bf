// Value Representations, PS3.5 section 6.2 and Table 7.1-1 (which VRs take a 4-byte length).

export type VR =
  | 'AE' | 'AS' | 'AT' | 'CS' | 'DA' | 'DS' | 'DT' | 'FD' | 'FL' | 'IS' | 'LO' | 'LT' | 'OB' | 'OD'
  | 'OF' | 'OL' | 'OV' | 'OW' | 'PN' | 'SH' | 'SL' | 'SQ' | 'SS' | 'ST' | 'SV' | 'TM' | 'UC' | 'UI'
  | 'UL' | 'UN' | 'UR' | 'US' | 'UT' | 'UV';

const ALL = new Set<string>([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV',
  'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
]);
export const isVR = (s: string): s is VR => ALL.has(s);

/** VRs whose explicit encoding has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
export const hasLongLength = (vr: VR): boolean => LONG.has(vr);

/** Character-string VRs whose bytes go through the Specific Character Set. */
const TEXT = new Set<VR>(['SH', 'LO', 'ST', 'LT', 'UC', 'UT', 'PN']);
export const isCharsetText = (vr: VR): boolean => TEXT.has(vr);

/** VRs whose value is a string (ASCII or charset text). */
const STRING = new Set<VR>(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
export const isStringVR = (vr: VR): boolean => STRING.has(vr);

/** Byte size of one binary number for VRs that are byte-swapped between endiannesses. */
export function swapSize(vr: VR): number {
  switch (vr) {
    case 'US': case 'SS': case 'OW': case 'AT': return 2;
    case 'UL': case 'SL': case 'FL': case 'OF': case 'OL': return 4;
    case 'FD': case 'OD': case 'SV': case 'UV': case 'OV': return 8;
    default: return 1;
  }
}

/** Bulk VRs: values that DICOM JSON may carry as BulkDataURI. */
const BULK = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
export const isBulkVR = (vr: VR): boolean => BULK.has(vr);

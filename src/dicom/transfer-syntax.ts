// Transfer syntaxes Rampart knows, PS3.5 section 10 and Annex A; PS3.6 Table A-1 for the UIDs.

export const TS = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  EncapsulatedUncompressedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.98',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JPEGBaseline8Bit: '1.2.840.10008.1.2.4.50',
  JPEGExtended12Bit: '1.2.840.10008.1.2.4.51',
  JPEGLossless: '1.2.840.10008.1.2.4.57',
  JPEGLosslessSV1: '1.2.840.10008.1.2.4.70',
  JPEGLSLossless: '1.2.840.10008.1.2.4.80',
  JPEGLSNearLossless: '1.2.840.10008.1.2.4.81',
  JPEG2000Lossless: '1.2.840.10008.1.2.4.90',
  JPEG2000: '1.2.840.10008.1.2.4.91',
  HTJ2KLossless: '1.2.840.10008.1.2.4.201',
  HTJ2KLosslessRPCL: '1.2.840.10008.1.2.4.202',
  HTJ2K: '1.2.840.10008.1.2.4.203',
  RLELossless: '1.2.840.10008.1.2.5',
} as const;

export interface TransferSyntaxInfo {
  uid: string;
  explicitVR: boolean;
  littleEndian: boolean;
  deflated: boolean;
  /** Pixel data is encapsulated (compressed or fragmented) */
  encapsulated: boolean;
}

const info = (uid: string, explicitVR: boolean, littleEndian: boolean, deflated: boolean, encapsulated: boolean): TransferSyntaxInfo =>
  ({ uid, explicitVR, littleEndian, deflated, encapsulated });

const KNOWN = new Map<string, TransferSyntaxInfo>([
  [TS.ImplicitVRLittleEndian, info(TS.ImplicitVRLittleEndian, false, true, false, false)],
  [TS.ExplicitVRLittleEndian, info(TS.ExplicitVRLittleEndian, true, true, false, false)],
  [TS.DeflatedExplicitVRLittleEndian, info(TS.DeflatedExplicitVRLittleEndian, true, true, true, false)],
  [TS.ExplicitVRBigEndian, info(TS.ExplicitVRBigEndian, true, false, false, false)],
]);

/**
 * What a transfer syntax UID means for parsing. Any other UID under 1.2.840.10008.1.2 is an
 * encapsulated (compressed) syntax with explicit VR little endian encoding (PS3.5 A.4), which
 * is enough to parse and store it as received, even for syntaxes newer than this table.
 */
export function transferSyntaxInfo(uid: string): TransferSyntaxInfo | undefined {
  const k = KNOWN.get(uid);
  if (k) return k;
  if (uid.startsWith('1.2.840.10008.1.2.')) return info(uid, true, true, false, true);
  return undefined;
}

export const isUncompressed = (uid: string): boolean => KNOWN.has(uid);

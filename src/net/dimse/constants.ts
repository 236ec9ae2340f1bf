// DIMSE constants: command fields (PS3.7 E.1), status codes (PS3.7 Annex C and PS3.4 C.4),
// and the SOP classes of the services Rampart offers (PS3.4 Annexes A and C).

export const CommandField = {
  CStoreRq: 0x0001, CStoreRsp: 0x8001,
  CGetRq: 0x0010, CGetRsp: 0x8010,
  CFindRq: 0x0020, CFindRsp: 0x8020,
  CMoveRq: 0x0021, CMoveRsp: 0x8021,
  CEchoRq: 0x0030, CEchoRsp: 0x8030,
  CCancelRq: 0x0fff,
} as const;

/** CommandDataSetType (0000,0800): 0x0101 means no data set follows. */
export const NO_DATA_SET = 0x0101;

export const DimseStatus = {
  Success: 0x0000,
  Pending: 0xff00,
  PendingWithWarnings: 0xff01,
  Cancel: 0xfe00,
  RefusedNotAuthorized: 0x0124,
  SOPClassNotSupported: 0x0122,
  DuplicateSOPInstance: 0x0111,
  ProcessingFailure: 0x0110,
  OutOfResources: 0xa700,
  /** C-MOVE: out of resources, unable to calculate number of matches. */
  MoveOutOfResourcesCalculate: 0xa701,
  /** C-MOVE/C-GET: out of resources, unable to perform sub-operations. */
  RetrieveOutOfResourcesSubOps: 0xa702,
  MoveDestinationUnknown: 0xa801,
  IdentifierDoesNotMatchSOPClass: 0xa900,
  DataSetDoesNotMatchSOPClass: 0xa900,
  CannotUnderstand: 0xc000,
  /** C-MOVE/C-GET: sub-operations complete, one or more failures or warnings. */
  SubOpsCompleteWithFailures: 0xb000,
  Coercion: 0xb000,
  UnableToProcess: 0xc001,
} as const;

export const SopClass = {
  Verification: '1.2.840.10008.1.1',
  PatientRootFind: '1.2.840.10008.5.1.4.1.2.1.1',
  PatientRootMove: '1.2.840.10008.5.1.4.1.2.1.2',
  PatientRootGet: '1.2.840.10008.5.1.4.1.2.1.3',
  StudyRootFind: '1.2.840.10008.5.1.4.1.2.2.1',
  StudyRootMove: '1.2.840.10008.5.1.4.1.2.2.2',
  StudyRootGet: '1.2.840.10008.5.1.4.1.2.2.3',
} as const;

export type QueryModel = 'patient' | 'study';
export const FIND_MODELS: Record<string, QueryModel> = { [SopClass.PatientRootFind]: 'patient', [SopClass.StudyRootFind]: 'study' };
export const MOVE_MODELS: Record<string, QueryModel> = { [SopClass.PatientRootMove]: 'patient', [SopClass.StudyRootMove]: 'study' };
export const GET_MODELS: Record<string, QueryModel> = { [SopClass.PatientRootGet]: 'patient', [SopClass.StudyRootGet]: 'study' };

/**
 * Storage SOP classes are recognised by their UID root (PS3.4 B.5: 1.2.840.10008.5.1.4.1.1.*),
 * so that a class newer than this code is still stored as received.
 */
export const isStorageSopClass = (uid: string): boolean =>
  uid.startsWith('1.2.840.10008.5.1.4.1.1.') || uid.startsWith('1.2.840.10008.5.1.4.34.') || uid.startsWith('1.2.840.10008.5.1.4.38.') || uid.startsWith('1.2.840.10008.5.1.4.43.') || uid.startsWith('1.2.840.10008.5.1.4.44.') || uid.startsWith('1.2.840.10008.5.1.4.45.');

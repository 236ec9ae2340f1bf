// The upper-layer PDUs and their items, as PS3.8 section 9.3 lays them out, and the user
// information sub-items of PS3.7 Annex D.3.3 (maximum length, implementation, asynchronous
// operations window, SCP/SCU role selection, extended negotiation, user identity).

export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PData: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;
export type PduTypeCode = (typeof PduType)[keyof typeof PduType];

export const DICOM_APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

export interface PresentationContextRq {
  /** Odd, 1..255. */
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

/** PS3.8 Table 9-18 result/reason. */
export const PcResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;

export interface PresentationContextAc {
  id: number;
  result: number;
  /** The accepted transfer syntax; meaningless (but present) when not accepted. */
  transferSyntax: string;
}

export interface RoleSelection { sopClassUid: string; scuRole: boolean; scpRole: boolean }

/** PS3.7 D.3.3.7.1: 1 username, 2 username and passcode, 3 Kerberos, 4 SAML, 5 JWT. */
export interface UserIdentityRq {
  type: number;
  positiveResponseRequested: boolean;
  primaryField: Buffer;
  secondaryField: Buffer;
}

export interface ExtendedNegotiation { sopClassUid: string; info: Buffer }

export interface UserInformation {
  maxPduLength: number; // 0 = unlimited
  implementationClassUid: string;
  implementationVersionName?: string;
  asyncOps?: { invoked: number; performed: number };
  roles: RoleSelection[];
  extended: ExtendedNegotiation[];
  /** In an A-ASSOCIATE-RQ. */
  userIdentity?: UserIdentityRq;
  /** In an A-ASSOCIATE-AC: the server response (PS3.7 D.3.3.7.2); may be empty. */
  userIdentityResponse?: Buffer;
}

export interface AssociateRq {
  type: typeof PduType.AssociateRq;
  protocolVersion: number;
  /** Trimmed of the space padding. */
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  contexts: PresentationContextRq[];
  userInfo: UserInformation;
}

export interface AssociateAc {
  type: typeof PduType.AssociateAc;
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  contexts: PresentationContextAc[];
  userInfo: UserInformation;
}

/** PS3.8 Table 9-21. result: 1 permanent, 2 transient. source: 1 service-user, 2 provider (ACSE), 3 provider (presentation). */
export interface AssociateRj { type: typeof PduType.AssociateRj; result: number; source: number; reason: number }

export const RejectReason = {
  // source 1 (service-user)
  NoReasonGiven: 1,
  ApplicationContextNotSupported: 2,
  CallingAeNotRecognized: 3,
  CalledAeNotRecognized: 7,
  // source 3 (service-provider, presentation related)
  TemporaryCongestion: 1,
  LocalLimitExceeded: 2,
} as const;

export interface Pdv {
  contextId: number;
  isCommand: boolean;
  isLast: boolean;
  data: Buffer;
}
export interface PData { type: typeof PduType.PData; pdvs: Pdv[] }
export interface ReleaseRq { type: typeof PduType.ReleaseRq }
export interface ReleaseRp { type: typeof PduType.ReleaseRp }
/** PS3.8 Table 9-26. source: 0 service-user, 2 service-provider. */
export interface Abort { type: typeof PduType.Abort; source: number; reason: number }

export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;

export type Pdu = AssociateRq | AssociateAc | AssociateRj | PData | ReleaseRq | ReleaseRp | Abort;

/** A malformed PDU: the association is aborted with this A-ABORT reason (source 2). */
export class PduError extends Error {
  constructor(readonly reason: number, message: string) {
    super(message);
    this.name = 'PduError';
  }
}

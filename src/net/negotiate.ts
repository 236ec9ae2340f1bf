// Presentation context negotiation on the acceptor side (PS3.8 9.3.3.2, PS3.7 D.3.3.4 roles):
// which abstract syntaxes we take, which of the proposed transfer syntaxes we pick, and the
// SCP/SCU role selection answer for C-GET.
import { transferSyntaxInfo, TS } from '../dicom/transfer-syntax.js';
import { ImplementationClassUID, ImplementationVersionName } from '../dicom/uid.js';
import { FIND_MODELS, GET_MODELS, MOVE_MODELS, SopClass, isStorageSopClass } from './dimse/constants.js';
import {
  DICOM_APPLICATION_CONTEXT, PcResult, PduType, type AssociateAc, type AssociateRq, type PresentationContextAc, type RoleSelection,
} from './pdu/types.js';

export type Service = 'echo' | 'store' | 'find' | 'move' | 'get';

export function serviceOf(abstractSyntax: string): Service | undefined {
  if (abstractSyntax === SopClass.Verification) return 'echo';
  if (FIND_MODELS[abstractSyntax]) return 'find';
  if (MOVE_MODELS[abstractSyntax]) return 'move';
  if (GET_MODELS[abstractSyntax]) return 'get';
  if (isStorageSopClass(abstractSyntax)) return 'store';
  return undefined;
}

/** Syntaxes we read commands' identifiers in, best first. */
const NATIVE_PREFERENCE = [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian, TS.ExplicitVRBigEndian];

export interface NegotiationOptions {
  /** Services this peer may use; contexts of other services are refused (abstract syntax not supported). */
  allowed: ReadonlySet<Service>;
  maxPduLength: number;
}

export function negotiate(rq: AssociateRq, opts: NegotiationOptions): AssociateAc {
  const contexts: PresentationContextAc[] = rq.contexts.map((pc) => {
    const service = serviceOf(pc.abstractSyntax);
    if (!service || !opts.allowed.has(service)) {
      return { id: pc.id, result: PcResult.AbstractSyntaxNotSupported, transferSyntax: TS.ImplicitVRLittleEndian };
    }
    let ts: string | undefined;
    if (service === 'store') {
      // Stored as received: take the peer's first proposal that we can parse.
      ts = pc.transferSyntaxes.find((t) => transferSyntaxInfo(t) !== undefined);
    } else {
      ts = NATIVE_PREFERENCE.find((t) => pc.transferSyntaxes.includes(t));
    }
    return ts
      ? { id: pc.id, result: PcResult.Acceptance, transferSyntax: ts }
      : { id: pc.id, result: PcResult.TransferSyntaxesNotSupported, transferSyntax: TS.ImplicitVRLittleEndian };
  });
  // C-GET: the requestor offers to be the SCP of storage classes; we accept what it proposes.
  const roles: RoleSelection[] = opts.allowed.has('get')
    ? rq.userInfo.roles.filter((r) => isStorageSopClass(r.sopClassUid)).map((r) => ({ sopClassUid: r.sopClassUid, scuRole: r.scuRole, scpRole: r.scpRole }))
    : [];
  return {
    type: PduType.AssociateAc,
    protocolVersion: 1,
    calledAeTitle: rq.calledAeTitle,
    callingAeTitle: rq.callingAeTitle,
    applicationContext: DICOM_APPLICATION_CONTEXT,
    contexts,
    userInfo: {
      maxPduLength: opts.maxPduLength,
      implementationClassUid: ImplementationClassUID,
      implementationVersionName: ImplementationVersionName,
      roles,
      extended: [],
    },
  };
}

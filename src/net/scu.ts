// The SCU side: opening associations as requestor (for C-MOVE sub-operations and for the
// `rampart dicom` commands), with the same Association class and state machine as the SCP.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { TS } from '../dicom/transfer-syntax.js';
import { ImplementationClassUID, ImplementationVersionName } from '../dicom/uid.js';
import { Association, DEFAULT_ASSOCIATION_LIMITS, type AssociationLimits, type AssociationUser } from './association.js';
import { DimseStatus } from './dimse/constants.js';
import type { Destination, SubOperation } from './handlers.js';
import {
  DICOM_APPLICATION_CONTEXT, PduType, type PresentationContextRq, type RoleSelection, type UserIdentityRq,
} from './pdu/types.js';
import { storeOver, type StoreSender } from './scp.js';

export interface AssociateOptions {
  host: string;
  port: number;
  callingAeTitle: string;
  calledAeTitle: string;
  contexts: PresentationContextRq[];
  roles?: RoleSelection[];
  identity?: UserIdentityRq;
  /** TLS options, or undefined for plain TCP. */
  tls?: ConnectionOptions;
  connectTimeoutMs?: number;
  limits?: AssociationLimits;
  user?: AssociationUser;
}

export async function openAssociation(o: AssociateOptions): Promise<Association> {
  const limits = o.limits ?? DEFAULT_ASSOCIATION_LIMITS;
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = o.tls
      ? tlsConnect({ host: o.host, port: o.port, ...o.tls }, () => resolve(s))
      : netConnect({ host: o.host, port: o.port }, () => resolve(s));
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`connection to ${o.host}:${o.port} timed out`)); }, o.connectTimeoutMs ?? 10_000);
    s.once('connect', () => clearTimeout(timer));
    s.once('secureConnect', () => clearTimeout(timer));
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  const assoc = new Association(socket, 'requestor', o.user ?? {}, limits);
  await assoc.associate({
    type: PduType.AssociateRq,
    protocolVersion: 1,
    calledAeTitle: o.calledAeTitle,
    callingAeTitle: o.callingAeTitle,
    applicationContext: DICOM_APPLICATION_CONTEXT,
    contexts: o.contexts,
    userInfo: {
      maxPduLength: limits.maxPduLength,
      implementationClassUid: ImplementationClassUID,
      implementationVersionName: ImplementationVersionName,
      roles: o.roles ?? [],
      extended: [],
      userIdentity: o.identity,
    },
  });
  return assoc;
}

/** Presentation contexts for sending these instances: one per (SOP class, stored syntax), at most 127. */
export function storeContexts(ops: { sopClassUid: string; transferSyntaxUid: string }[]): PresentationContextRq[] {
  const pairs = new Map<string, { sopClassUid: string; ts: string }>();
  for (const op of ops) pairs.set(`${op.sopClassUid} ${op.transferSyntaxUid}`, { sopClassUid: op.sopClassUid, ts: op.transferSyntaxUid });
  let list = [...pairs.values()];
  if (list.length > 127) list = [...new Map(list.map((p) => [p.sopClassUid, p])).values()].slice(0, 127);
  return list.map((p, i) => ({
    id: 2 * i + 1,
    abstractSyntax: p.sopClassUid,
    transferSyntaxes: [...new Set([p.ts, TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian])],
  }));
}

export class ScuConnector {
  constructor(private readonly tlsOptions: (dest: Destination) => ConnectionOptions | undefined = () => undefined, private readonly limits: AssociationLimits = DEFAULT_ASSOCIATION_LIMITS) {}

  /** Opens an association to a C-MOVE destination for these instances. */
  async storeSender(dest: Destination, callingAeTitle: string, ops: SubOperation[]): Promise<StoreSender> {
    const contexts = storeContexts(ops);
    const assoc = await openAssociation({
      host: dest.host, port: dest.port, callingAeTitle, calledAeTitle: dest.aeTitle, contexts,
      tls: dest.tls ? this.tlsOptions(dest) ?? {} : undefined, limits: this.limits,
    });
    return {
      send: async (op, origin) => {
        const accepted = assoc.ac!.contexts.filter((c) => c.result === 0);
        const candidates = accepted.filter((c) => contexts.find((r) => r.id === c.id)!.abstractSyntax === op.sopClassUid);
        const ctx = candidates.find((c) => c.transferSyntax === op.transferSyntaxUid) ?? candidates.find((c) => op.canConvertTo(c.transferSyntax));
        if (!ctx) return DimseStatus.SOPClassNotSupported;
        return storeOver(assoc, ctx.id, ctx.transferSyntax, op, origin);
      },
      close: async () => {
        try { await assoc.release(); } catch { assoc.abort('release failed'); }
      },
    };
  }
}

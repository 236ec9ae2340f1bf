// What net/ asks of the layer above: the interfaces the services implement. net/ knows nothing
// of storage, users or the index; it calls these with what arrived on the wire.
import type { DataSet } from '../dicom/dataset.js';
import type { QueryModel } from './dimse/constants.js';
import type { Service } from './negotiate.js';
import type { UserIdentityRq } from './pdu/types.js';

export interface PeerInfo {
  callingAeTitle: string;
  calledAeTitle: string;
  address: string;
  port: number;
  tls: boolean;
  /** SHA-256 of the client certificate (mutual TLS), upper-case hex with colons, when one was presented. */
  clientCertFingerprint?: string;
  identity?: UserIdentityRq;
}

export type AssociationVerdict<S> =
  | { accept: true; session: S; allowed: ReadonlySet<Service>; identityResponse?: Buffer }
  /** result 1 permanent / 2 transient; source 1 user / 2 ACSE provider / 3 presentation provider. */
  | { accept: false; result: number; source: number; reason: number; why: string };

export interface StoreRequest {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  moveOriginatorAe?: string;
}

export interface FindRequest { model: QueryModel; sopClassUid: string; identifier: DataSet }

export interface RetrieveRequest {
  kind: 'move' | 'get';
  model: QueryModel;
  identifier: DataSet;
  destination?: string;
}

/** One instance to send in a C-STORE sub-operation. */
export interface SubOperation {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  canConvertTo(tsUid: string): boolean;
  /** Starts reading the object ahead of its turn (a hint; dataset() works without it). */
  prefetch?(): void;
  /** The data set alone (no preamble or file meta), in tsUid. */
  dataset(tsUid: string): Promise<Buffer | AsyncIterable<Buffer>>;
}

export interface Destination {
  aeTitle: string;
  host: string;
  port: number;
  tls: boolean;
}

/** A DIMSE failure with its status, thrown by handlers. */
export class DimseFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface DimseHandlers<S> {
  associate(peer: PeerInfo): Promise<AssociationVerdict<S>>;
  echo(session: S): Promise<void>;
  store(session: S, req: StoreRequest, data: AsyncIterable<Buffer>): Promise<{ status: number; errorComment?: string }>;
  find(session: S, req: FindRequest, signal: AbortSignal): AsyncIterable<DataSet>;
  retrieve(session: S, req: RetrieveRequest): Promise<SubOperation[]>;
  moveDestination(session: S, aeTitle: string): Promise<Destination | undefined>;
  /** Outcome of a retrieve, for the audit trail. */
  retrieved?(session: S, req: RetrieveRequest, counts: { completed: number; failed: number; warning: number }): Promise<void>;
  closed?(session: S): void;
}

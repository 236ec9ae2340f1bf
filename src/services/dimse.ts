// The DIMSE door's use cases: who may associate (registered peers, from their host, with
// TLS and user identity where required), and C-ECHO/C-STORE/C-FIND/C-MOVE/C-GET through the
// same ingest, query and retrieve services as DICOMweb. Implements net/'s DimseHandlers.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DataSet } from '../dicom/dataset.js';
import { jsonToDataset } from '../dicom/json.js';
import { parsePart10 } from '../dicom/reader.js';
import { Tags, tagHex } from '../dicom/tag.js';
import { buildMeta, writePart10 } from '../dicom/writer.js';
import { DimseStatus } from '../net/dimse/constants.js';
import {
  DimseFailure, type AssociationVerdict, type DimseHandlers, type FindRequest, type PeerInfo, type RetrieveRequest, type StoreRequest, type SubOperation,
} from '../net/handlers.js';
import type { Service } from '../net/negotiate.js';
import { RejectReason } from '../net/pdu/types.js';
import type { Authenticator } from '../security/authenticate.js';
import type { Principal } from '../security/principal.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { Level, StoredInstance } from '../store/index/index-store.js';
import type { PeerRecord, PeerStore } from '../store/index/peer-store.js';
import type { AuditSink } from './audit-port.js';
import type { IngestService } from './ingest.js';
import { FailureReason } from './ingest.js';
import type { QueryService } from './query.js';
import type { RenderService, RetrieveService } from './retrieve.js';

export interface DimseSession {
  principal: Principal;
  peer: PeerRecord;
  aeTitle: string;
}

export interface DimseServiceOptions {
  aeTitle: string;
  /** Every peer must present a user identity, not only those registered with requireIdentity. */
  requireIdentity: boolean;
  /** A user identity (password or token) over plain TCP is refused. */
  identityRequiresTls: boolean;
  /** Most instances one C-MOVE/C-GET may send. */
  maxRetrieveInstances: number;
}

export interface DimseDeps {
  peers: PeerStore;
  authenticator: Authenticator;
  ingest: IngestService;
  query: QueryService;
  retrieve: RetrieveService;
  render: RenderService;
  blobs: BlobStore;
  audit: AuditSink;
}

const reject = <S>(reason: number, why: string, result = 1, source = 1): AssociationVerdict<S> => ({ accept: false, result, source, reason, why });

/** ::ffff:127.0.0.1 and 127.0.0.1 are the same peer. */
const normAddr = (a: string) => a.replace(/^::ffff:/, '');

export class DimseService implements DimseHandlers<DimseSession> {
  constructor(private readonly deps: DimseDeps, private readonly opts: DimseServiceOptions) {}

  async associate(peer: PeerInfo): Promise<AssociationVerdict<DimseSession>> {
    const audit = async (outcome: 'success' | 'failure', reason: string) =>
      this.deps.audit.record({ action: 'association', outcome, principal: { kind: 'peer', username: peer.callingAeTitle.slice(0, 16), door: 'dimse', ip: peer.address }, reason });
    if (peer.calledAeTitle !== this.opts.aeTitle) {
      await audit('failure', 'called-ae-title');
      return reject(RejectReason.CalledAeNotRecognized, 'called AE title is not ours');
    }
    const record = await this.deps.peers.getPeer(peer.callingAeTitle);
    if (!record) {
      await audit('failure', 'unknown-calling-ae');
      return reject(RejectReason.CallingAeNotRecognized, 'calling AE title is not registered');
    }
    if (!(await this.hostMatches(record.host, peer.address))) {
      await audit('failure', 'host-mismatch');
      return reject(RejectReason.CallingAeNotRecognized, 'calling AE title connects from another host than registered');
    }
    if (record.tls && !peer.tls) {
      await audit('failure', 'tls-required');
      return reject(RejectReason.NoReasonGiven, 'this peer must use DICOM TLS');
    }
    if (record.certFingerprint && record.certFingerprint.toUpperCase() !== peer.clientCertFingerprint) {
      await audit('failure', 'certificate-mismatch');
      return reject(RejectReason.NoReasonGiven, 'client certificate does not match the pinned one');
    }
    // A peer without a user identity holds the grants made to the group "peer:<AE title>".
    let principal: Principal = { kind: 'peer', userId: null, username: record.aeTitle, role: 'technologist', scopes: ['read', 'write'], ip: peer.address, door: 'dimse', groups: [`peer:${record.aeTitle}`] };
    if (peer.identity) {
      if (this.opts.identityRequiresTls && !peer.tls) {
        await audit('failure', 'identity-without-tls');
        return reject(RejectReason.NoReasonGiven, 'user identity is only accepted over TLS');
      }
      try {
        const id = peer.identity;
        principal = await this.deps.authenticator.authenticateIdentity(id.type, id.primaryField.toString('utf8'), id.secondaryField.toString('utf8'), peer.address);
        principal = { ...principal, door: 'dimse' };
      } catch {
        await audit('failure', 'identity-refused');
        return reject(RejectReason.NoReasonGiven, 'user identity refused');
      }
    } else if (record.requireIdentity || this.opts.requireIdentity) {
      await audit('failure', 'identity-required');
      return reject(RejectReason.NoReasonGiven, 'a user identity is required');
    }
    await audit('success', principal.kind === 'peer' ? 'peer' : 'user-identity');
    return {
      accept: true,
      session: { principal, peer: record, aeTitle: this.opts.aeTitle },
      allowed: new Set<Service>(record.allow),
      identityResponse: Buffer.alloc(0),
    };
  }

  private async hostMatches(host: string, address: string): Promise<boolean> {
    const a = normAddr(address);
    if (isIP(host)) return normAddr(host) === a;
    try {
      const addrs = await lookup(host, { all: true });
      return addrs.some((x) => normAddr(x.address) === a);
    } catch {
      return false;
    }
  }

  async echo(session: DimseSession): Promise<void> {
    void session;
  }

  async store(session: DimseSession, req: StoreRequest, data: AsyncIterable<Buffer>): Promise<{ status: number; errorComment?: string }> {
    // The data set arrives without a Part 10 header; stored objects are Part 10, so one is made
    // from the command (as DCMTK's storescp does). The data set bytes stay exactly as received.
    const meta = buildMeta(req.sopClassUid, req.sopInstanceUid, req.transferSyntaxUid, session.peer.aeTitle);
    const header = writePart10(meta, new DataSet(true, []), req.transferSyntaxUid);
    const headerBytes = req.transferSyntaxUid === '1.2.840.10008.1.2.1.99' ? header.subarray(0, header.length - deflatedEmptyLength(header)) : header;
    async function* source() {
      yield headerBytes;
      yield* data;
    }
    const outcome = await this.deps.ingest.ingest(session.principal, source(), { expectSopInstanceUid: req.sopInstanceUid, expectSopClassUid: req.sopClassUid });
    if (outcome.ok) return { status: DimseStatus.Success };
    const status = outcome.reason === FailureReason.NotAuthorized ? DimseStatus.RefusedNotAuthorized
      : outcome.reason === FailureReason.DuplicateSOPInstance ? DimseStatus.DuplicateSOPInstance
      : outcome.reason === FailureReason.OutOfResources ? DimseStatus.OutOfResources
        : outcome.reason === FailureReason.CannotUnderstand ? DimseStatus.CannotUnderstand
          : DimseStatus.DataSetDoesNotMatchSOPClass;
    return { status, errorComment: outcome.message };
  }

  async *find(session: DimseSession, req: FindRequest, signal: AbortSignal): AsyncIterable<DataSet> {
    const { level, keys } = identifierKeys(req.identifier, req.model);
    const result = await this.deps.query.search(session.principal, { level, keys, includeFields: new Set(keys.keys()) });
    for (const row of result.rows) {
      if (signal.aborted) return;
      // Answer exactly the keys asked (PS3.4 C.4.1.3.1.2), plus the level and our AE title.
      const answer: Record<string, NonNullable<typeof row[string]>> = {};
      for (const k of keys.keys()) answer[k] = row[k] ?? { vr: vrFromIdentifier(req.identifier, k) };
      answer['00080052'] = { vr: 'CS', Value: [level] };
      answer['00080054'] = { vr: 'AE', Value: [session.aeTitle] };
      const ds = jsonToDataset(answer);
      const cs = Buffer.from('ISO_IR 192');
      ds.set({ tag: Tags.SpecificCharacterSet, vr: 'CS', length: cs.length, valueOffset: 0, value: cs });
      yield ds;
    }
  }

  async retrieve(session: DimseSession, req: RetrieveRequest): Promise<SubOperation[]> {
    const { level, keys } = identifierKeys(req.identifier, req.model);
    const list = (k: string) => keys.get(k)?.split('\\').map((s) => s.trim()).filter(Boolean);
    const wanted = {
      PatientID: keys.get(tagHex(Tags.PatientID))?.trim() || undefined,
      StudyInstanceUID: list(tagHex(Tags.StudyInstanceUID)),
      SeriesInstanceUID: list(tagHex(Tags.SeriesInstanceUID)),
      SOPInstanceUID: list(tagHex(Tags.SOPInstanceUID)),
    };
    const need: Record<Level, boolean> = {
      PATIENT: Boolean(wanted.PatientID), STUDY: Boolean(wanted.StudyInstanceUID?.length),
      SERIES: Boolean(wanted.SeriesInstanceUID?.length), IMAGE: Boolean(wanted.SOPInstanceUID?.length),
    };
    if (!need[level]) throw new DimseFailure(DimseStatus.IdentifierDoesNotMatchSOPClass, `a ${level} retrieve needs its unique key`);
    const instances = await this.deps.retrieve.resolveKeys(session.principal, wanted, this.opts.maxRetrieveInstances);
    return instances.map((i) => this.subOperation(i));
  }

  private subOperation(i: StoredInstance): SubOperation {
    const { render, blobs } = this.deps;
    let ahead: Promise<Buffer> | undefined;
    const small = i.size <= 8 * 1024 * 1024;
    return {
      prefetch: () => {
        if (small && !ahead) {
          ahead = blobs.readAll(i.blobKey);
          ahead.catch(() => undefined); // observed in dataset()
        }
      },
      sopClassUid: i.SOPClassUID,
      sopInstanceUid: i.SOPInstanceUID,
      transferSyntaxUid: i.TransferSyntaxUID,
      canConvertTo: (ts) => render.canTranscode(i, ts),
      dataset: async (ts) => {
        if (ts === i.TransferSyntaxUID) {
          // Small objects are read once, whole; large ones streamed from after their file meta.
          if (small) {
            const all = await (ahead ?? blobs.readAll(i.blobKey));
            ahead = undefined;
            return all.subarray(datasetOffset(all.subarray(0, 64 * 1024)));
          }
          const head = await blobs.read(i.blobKey, 0, Math.min(i.size, 64 * 1024));
          const offset = datasetOffset(head);
          return blobs.open(i.blobKey, { start: offset, end: i.size }) as AsyncIterable<Buffer>;
        }
        const converted = await render.transcoded(i, ts);
        return converted.subarray(datasetOffset(converted));
      },
    };
  }

  async moveDestination(session: DimseSession, aeTitle: string) {
    void session;
    const p = await this.deps.peers.getPeer(aeTitle);
    return p ? { aeTitle: p.aeTitle, host: p.host, port: p.port, tls: p.tls } : undefined;
  }

  async retrieved(session: DimseSession, req: RetrieveRequest, counts: { completed: number; failed: number; warning: number }): Promise<void> {
    await this.deps.audit.record({
      action: 'retrieve', outcome: counts.failed ? 'failure' : 'success', principal: session.principal,
      instances: counts.completed, reason: req.kind === 'move' ? `c-move to ${req.destination}` : 'c-get',
    });
  }
}

/** Where the data set starts in a Part 10 file: after the preamble, DICM and the meta group. */
function datasetOffset(head: Buffer): number {
  try {
    return parsePart10(head, { partial: true, stopAtPixelData: true }).datasetOffset;
  } catch {
    // The meta group is near the start; the partial parse only fails past it, so read its length.
    let pos = 132;
    while (pos + 8 <= head.length && head.readUInt16LE(pos) === 0x0002) {
      const vr = head.toString('latin1', pos + 4, pos + 6);
      const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
      pos += long ? 12 + head.readUInt32LE(pos + 8) : 8 + head.readUInt16LE(pos + 6);
    }
    return pos;
  }
}

/** An empty data set deflates to a couple of bytes that must not precede the peer's own deflated stream. */
function deflatedEmptyLength(header: Buffer): number {
  return header.length - datasetOffset(header);
}

/** Query keys from a C-FIND/C-MOVE/C-GET identifier (PS3.4 C.4.1.1.3), checked for the model's hierarchy. */
function identifierKeys(identifier: DataSet, model: 'patient' | 'study'): { level: Level; keys: Map<string, string> } {
  const level = identifier.string(Tags.QueryRetrieveLevel).toUpperCase();
  if (level !== 'PATIENT' && level !== 'STUDY' && level !== 'SERIES' && level !== 'IMAGE') {
    throw new DimseFailure(DimseStatus.IdentifierDoesNotMatchSOPClass, 'Query/Retrieve Level missing or unknown');
  }
  if (level === 'PATIENT' && model === 'study') throw new DimseFailure(DimseStatus.IdentifierDoesNotMatchSOPClass, 'the Study Root model has no PATIENT level');
  const keys = new Map<string, string>();
  for (const el of identifier.sorted()) {
    const g = el.tag >>> 16;
    if (el.tag === Tags.QueryRetrieveLevel || el.tag === Tags.SpecificCharacterSet || g === 0x0000 || g === 0x0002 || (el.tag & 0xffff) === 0) continue;
    if (el.items) continue; // sequence matching is not supported; sequences are not returned
    keys.set(tagHex(el.tag), el.value ? identifier.text(el.tag) : '');
  }
  return { level: level as Level, keys };
}

function vrFromIdentifier(ds: DataSet, key: string): NonNullable<ReturnType<DataSet['get']>>['vr'] {
  return ds.get(parseInt(key, 16) >>> 0)?.vr ?? 'UN';
}


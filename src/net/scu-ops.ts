// The SCU operations an operator runs against any DICOM peer (`rampart dicom`): C-ECHO, C-STORE
// of stored objects sent byte for byte, C-FIND, C-MOVE and C-GET with SCP/SCU role selection
// (PS3.4 Annexes A, B and C; PS3.7 9.1 and D.3.3.4). Callers hand in bytes and receivers;
// nothing here reads files or knows about storage.
import type { ConnectionOptions } from 'node:tls';
import { badRequest, invalidDicom } from '../errors.js';
import { DataSet } from '../dicom/dataset.js';
import { lookupTag, tagForKeyword } from '../dicom/dictionary.generated.js';
import { NeedMoreBytes, parseDataSet, parsePart10 } from '../dicom/reader.js';
import { Tags, parseTagHex, tagHex } from '../dicom/tag.js';
import { canTranscode, transcodePart10 } from '../dicom/transcode.js';
import { TS, isUncompressed, transferSyntaxInfo } from '../dicom/transfer-syntax.js';
import { isCharsetText, isVR, type VR } from '../dicom/vr.js';
import { buildMeta, writeDataSet, writePart10 } from '../dicom/writer.js';
import {
  AssociationError, DEFAULT_ASSOCIATION_LIMITS, describe, type Association, type AssociationLimits, type AssociationUser, type CloseReason, type IncomingMessage,
} from './association.js';
import type { Command } from './dimse/command.js';
import { CommandField, DimseStatus, SopClass, isStorageSopClass, type QueryModel } from './dimse/constants.js';
import type { PresentationContextRq, RoleSelection, UserIdentityRq } from './pdu/types.js';
import { openAssociation, storeContexts } from './scu.js';

export interface ScuTarget {
  host: string;
  port: number;
  calledAeTitle: string;
  callingAeTitle: string;
  /** TLS options, or undefined for plain TCP. */
  tls?: ConnectionOptions;
  identity?: UserIdentityRq;
  /** Connect, ARTIM and idle (no message from the peer) timeout. */
  timeoutMs?: number;
}

/** A failure an operator can read: the rejection, abort or connection error in words. */
export class ScuError extends Error {}

const NATIVE = [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian];
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

function limitsFor(t: ScuTarget): AssociationLimits {
  const ms = t.timeoutMs ?? 30_000;
  return { ...DEFAULT_ASSOCIATION_LIMITS, artimMs: ms, idleMs: ms };
}

function explain(e: unknown): string {
  if (e instanceof ScuError) return e.message;
  if (e instanceof AssociationError && e.close) return describeClose(e.close);
  return describeConnectError(e);
}

interface Session { assoc: Association; associateMs: number; identityConfirmed: boolean }

/** Opens an association, runs fn, releases (or aborts on failure) and turns errors into words. */
async function session<T>(t: ScuTarget, contexts: PresentationContextRq[], fn: (s: Session) => Promise<T>, extra: { roles?: RoleSelection[]; user?: AssociationUser } = {}): Promise<T> {
  const t0 = performance.now();
  let assoc: Association;
  try {
    assoc = await openAssociation({
      host: t.host, port: t.port, callingAeTitle: t.callingAeTitle, calledAeTitle: t.calledAeTitle, contexts,
      roles: extra.roles, identity: t.identity, tls: t.tls, connectTimeoutMs: t.timeoutMs ?? 30_000, limits: limitsFor(t), user: extra.user,
    });
  } catch (e) {
    throw new ScuError(explain(e));
  }
  const s: Session = { assoc, associateMs: Math.round(performance.now() - t0), identityConfirmed: assoc.ac?.userInfo.userIdentityResponse !== undefined };
  try {
    const result = await fn(s);
    await releaseOrAbort(assoc, t.timeoutMs ?? 30_000);
    return result;
  } catch (e) {
    assoc.abort('operation failed');
    throw new ScuError(explain(e));
  }
}

async function releaseOrAbort(assoc: Association, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), ms); });
  try {
    const r = await Promise.race([assoc.release().then(() => 'ok' as const, () => 'failed' as const), late]);
    if (r !== 'ok') assoc.abort('release not confirmed');
  } finally {
    clearTimeout(timer);
  }
}

/** The transfer syntax a context was accepted with, or undefined. */
function acceptedTs(assoc: Association, id: number): string | undefined {
  const c = assoc.ac!.contexts.find((x) => x.id === id);
  return c && c.result === 0 ? c.transferSyntax : undefined;
}

async function readAll(data: AsyncIterable<Buffer>, max = MAX_RESPONSE_BYTES): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of data) {
    size += c.length;
    if (size > max) throw new ScuError(`a response data set is larger than ${max} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

// ----- C-ECHO -----

export interface EchoResult { status: number; ms: number; associateMs: number; identityConfirmed: boolean }

export async function echo(t: ScuTarget): Promise<EchoResult> {
  return session(t, [{ id: 1, abstractSyntax: SopClass.Verification, transferSyntaxes: NATIVE }], async (s) => {
    if (!acceptedTs(s.assoc, 1)) throw new ScuError('the peer accepted the association but not the Verification SOP class');
    const t0 = performance.now();
    let status: number = DimseStatus.ProcessingFailure;
    for await (const r of s.assoc.request(1, { commandField: CommandField.CEchoRq, affectedSopClassUid: SopClass.Verification, hasDataSet: false })) {
      status = r.command.status ?? status;
      if (r.data) await readAll(r.data);
    }
    return { status, ms: Math.round((performance.now() - t0) * 10) / 10, associateMs: s.associateMs, identityConfirmed: s.identityConfirmed };
  });
}

// ----- C-STORE -----

export interface StoreItem {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The data set bytes after the file meta, exactly as stored. */
  dataset(): AsyncIterable<Buffer>;
  /** The whole Part 10 file, used only to convert a native syntax when the peer takes no other. */
  part10?(): Promise<Buffer>;
}

export interface StoreResult {
  status: number;
  errorComment?: string;
  /** Set when nothing was sent (no context for it, or the association failed). */
  error?: string;
  /** The syntax it was sent in, when the peer did not take the stored one. */
  convertedTo?: string;
}

/**
 * Contexts for sending objects as stored: one per (SOP class, stored syntax) offering that
 * syntax alone, since an acceptor picks by its own preference (DCMTK's storescp prefers
 * explicit VR) and would otherwise make us re-encode; then, room permitting, one per SOP class
 * of native objects offering both little endian syntaxes, used only when the peer refuses the exact one.
 */
export function asIsContexts(items: Pick<StoreItem, 'sopClassUid' | 'transferSyntaxUid'>[]): PresentationContextRq[] {
  const exact = storeContexts(items).map((c) => ({ ...c, transferSyntaxes: [c.transferSyntaxes[0]!] }));
  const nativeClasses = [...new Set(items.filter((i) => isUncompressed(i.transferSyntaxUid)).map((i) => i.sopClassUid))];
  const fallback = nativeClasses.slice(0, 128 - exact.length).map((cls, i) => ({ id: 2 * (exact.length + i) + 1, abstractSyntax: cls, transferSyntaxes: NATIVE }));
  return [...exact, ...fallback];
}

/** Sends objects over one association; calls onResult after each. */
export async function store(t: ScuTarget, items: StoreItem[], onResult?: (item: StoreItem, r: StoreResult) => void): Promise<StoreResult[]> {
  const contexts = asIsContexts(items);
  return session(t, contexts, async ({ assoc }) => {
    const results: StoreResult[] = [];
    const accepted = contexts.map((c) => ({ id: c.id, cls: c.abstractSyntax, ts: acceptedTs(assoc, c.id) })).filter((c) => c.ts !== undefined);
    for (const item of items) {
      let r: StoreResult;
      if (!assoc.isEstablished) r = { status: DimseStatus.ProcessingFailure, error: 'the association ended before this object was sent' };
      else {
        try {
          r = await storeOne(assoc, accepted as { id: number; cls: string; ts: string }[], item);
        } catch (e) {
          r = { status: DimseStatus.ProcessingFailure, error: explain(e) };
        }
      }
      results.push(r);
      onResult?.(item, r);
    }
    return results;
  });
}

async function storeOne(assoc: Association, accepted: { id: number; cls: string; ts: string }[], item: StoreItem): Promise<StoreResult> {
  const mine = accepted.filter((c) => c.cls === item.sopClassUid);
  const exact = mine.find((c) => c.ts === item.transferSyntaxUid);
  let ctx = exact;
  let data: Buffer | AsyncIterable<Buffer> | undefined;
  if (exact) data = item.transferSyntaxUid === TS.DeflatedExplicitVRLittleEndian ? evenLength(item.dataset()) : item.dataset();
  else {
    ctx = mine.find((c) => canTranscode(item.transferSyntaxUid, c.ts));
    if (!ctx || !item.part10) {
      return { status: DimseStatus.SOPClassNotSupported, error: `the peer accepted no presentation context for SOP class ${item.sopClassUid} in transfer syntax ${item.transferSyntaxUid}` };
    }
    const converted = transcodePart10(await item.part10(), ctx.ts);
    data = converted.subarray(datasetOffsetOf(converted));
  }
  const command: Command = {
    commandField: CommandField.CStoreRq, affectedSopClassUid: item.sopClassUid, affectedSopInstanceUid: item.sopInstanceUid, priority: 0, hasDataSet: true,
  };
  const r: StoreResult = { status: DimseStatus.ProcessingFailure };
  if (!exact) r.convertedTo = ctx!.ts;
  for await (const rsp of assoc.request(ctx!.id, command, data)) {
    r.status = rsp.command.status ?? r.status;
    if (rsp.command.errorComment) r.errorComment = rsp.command.errorComment;
    if (rsp.data) await readAll(rsp.data);
  }
  return r;
}

/**
 * A deflated stream of odd length gets one trailing NUL (PS3.5 A.5): PDV fragments carry
 * even lengths and peers such as DCMTK abort on an odd one. Inflating ignores the pad.
 */
async function* evenLength(data: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let held: Buffer | undefined; // the pad joins the last chunk, so that no fragment is odd
  let n = 0;
  for await (const c of data) {
    if (held) yield held;
    held = c;
    n += c.length;
  }
  if (n & 1) yield Buffer.concat([held ?? Buffer.alloc(0), Buffer.of(0)]);
  else if (held) yield held;
}

// ----- C-FIND, C-MOVE, C-GET -----

const QR: Record<'find' | 'move' | 'get', Record<QueryModel, string>> = {
  find: { patient: SopClass.PatientRootFind, study: SopClass.StudyRootFind },
  move: { patient: SopClass.PatientRootMove, study: SopClass.StudyRootMove },
  get: { patient: SopClass.PatientRootGet, study: SopClass.StudyRootGet },
};

function qrTs(assoc: Association, kind: 'find' | 'move' | 'get', model: QueryModel): string {
  const ts = acceptedTs(assoc, 1);
  if (!ts) throw new ScuError(`the peer does not accept ${model === 'study' ? 'Study' : 'Patient'} Root C-${kind.toUpperCase()} (${QR[kind][model]})`);
  return ts;
}

export interface FindRequest { model: QueryModel; identifier: DataSet }
export interface FindOutcome { status: number; errorComment?: string; matches: number }

/** C-FIND: onMatch gets each answer decoded with its own Specific Character Set. */
export async function find(t: ScuTarget, req: FindRequest, onMatch: (ds: DataSet) => void | Promise<void>): Promise<FindOutcome> {
  const cls = QR.find[req.model];
  return session(t, [{ id: 1, abstractSyntax: cls, transferSyntaxes: NATIVE }], async ({ assoc }) => {
    const ts = qrTs(assoc, 'find', req.model);
    const out: FindOutcome = { status: DimseStatus.ProcessingFailure, matches: 0 };
    for await (const rsp of assoc.request(1, { commandField: CommandField.CFindRq, affectedSopClassUid: cls, priority: 0, hasDataSet: true }, writeDataSet(req.identifier, ts))) {
      out.status = rsp.command.status ?? out.status;
      if (rsp.command.errorComment) out.errorComment = rsp.command.errorComment;
      const bytes = rsp.data ? await readAll(rsp.data) : undefined;
      if (bytes && (out.status === DimseStatus.Pending || out.status === DimseStatus.PendingWithWarnings)) {
        out.matches++;
        await onMatch(parseDataSet(bytes, transferSyntaxInfo(ts)!, { limits: { maxDepth: 8, maxElements: 100_000 } }));
      }
    }
    return out;
  });
}

export interface RetrieveCounts { remaining?: number; completed: number; failed: number; warning: number }
export interface RetrieveOutcome extends RetrieveCounts {
  status: number;
  errorComment?: string;
  pendingResponses: number;
  /** Failed SOP Instance UID List (0008,0058) of the final response. */
  failedSopInstanceUids: string[];
}

async function retrieveLoop(assoc: Association, contextId: number, command: Command, identifier: Buffer, ts: string, onPending?: (c: RetrieveCounts) => void): Promise<RetrieveOutcome> {
  const out: RetrieveOutcome = { status: DimseStatus.ProcessingFailure, completed: 0, failed: 0, warning: 0, pendingResponses: 0, failedSopInstanceUids: [] };
  for await (const rsp of assoc.request(contextId, command, identifier)) {
    const c = rsp.command;
    out.status = c.status ?? out.status;
    out.errorComment = c.errorComment ?? out.errorComment;
    out.remaining = c.remaining;
    out.completed = c.completed ?? out.completed;
    out.failed = c.failed ?? out.failed;
    out.warning = c.warning ?? out.warning;
    const bytes = rsp.data ? await readAll(rsp.data) : undefined;
    if (c.status === DimseStatus.Pending || c.status === DimseStatus.PendingWithWarnings) {
      out.pendingResponses++;
      onPending?.({ remaining: c.remaining, completed: out.completed, failed: out.failed, warning: out.warning });
    } else if (bytes?.length) {
      try {
        out.failedSopInstanceUids = parseDataSet(bytes, transferSyntaxInfo(ts)!, { limits: { maxDepth: 2, maxElements: 1000 } }).strings(0x00080058);
      } catch {
        // A malformed failed-instance list does not change the counts the peer gave.
      }
    }
  }
  return out;
}

export interface MoveRequest { model: QueryModel; identifier: DataSet; destination: string }

export async function move(t: ScuTarget, req: MoveRequest, onPending?: (c: RetrieveCounts) => void): Promise<RetrieveOutcome> {
  const cls = QR.move[req.model];
  return session(t, [{ id: 1, abstractSyntax: cls, transferSyntaxes: NATIVE }], async ({ assoc }) => {
    const ts = qrTs(assoc, 'move', req.model);
    return retrieveLoop(assoc, 1, { commandField: CommandField.CMoveRq, affectedSopClassUid: cls, priority: 0, moveDestination: req.destination, hasDataSet: true }, writeDataSet(req.identifier, ts), ts, onPending);
  });
}

/** An instance the peer sends us during C-GET, as its C-STORE request names it. */
export interface IncomingInstance { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string }
/** Takes one incoming data set (bytes after the file meta, in transferSyntaxUid); returns the C-STORE status. */
export type InstanceReceiver = (inst: IncomingInstance, data: AsyncIterable<Buffer>) => Promise<{ status: number; errorComment?: string }>;

export interface GetRequest { model: QueryModel; identifier: DataSet; sopClasses: string[] }
export interface GetOutcome extends RetrieveOutcome { received: number; receiveFailed: number }

/** Storage classes a C-GET offers to receive by default (PS3.4 B.5), and which of them carry no pixel data. */
export const COMMON_STORAGE_CLASSES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.2': 'CT Image', '1.2.840.10008.5.1.4.1.1.2.1': 'Enhanced CT Image',
  '1.2.840.10008.5.1.4.1.1.4': 'MR Image', '1.2.840.10008.5.1.4.1.1.4.1': 'Enhanced MR Image',
  '1.2.840.10008.5.1.4.1.1.1': 'Computed Radiography Image',
  '1.2.840.10008.5.1.4.1.1.1.1': 'Digital X-Ray Image - For Presentation', '1.2.840.10008.5.1.4.1.1.1.1.1': 'Digital X-Ray Image - For Processing',
  '1.2.840.10008.5.1.4.1.1.1.2': 'Digital Mammography X-Ray Image - For Presentation', '1.2.840.10008.5.1.4.1.1.1.2.1': 'Digital Mammography X-Ray Image - For Processing',
  '1.2.840.10008.5.1.4.1.1.6.1': 'Ultrasound Image', '1.2.840.10008.5.1.4.1.1.3.1': 'Ultrasound Multi-frame Image',
  '1.2.840.10008.5.1.4.1.1.6.2': 'Enhanced US Volume',
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image',
  '1.2.840.10008.5.1.4.1.1.481.1': 'RT Image', '1.2.840.10008.5.1.4.1.1.481.2': 'RT Dose',
  '1.2.840.10008.5.1.4.1.1.481.3': 'RT Structure Set', '1.2.840.10008.5.1.4.1.1.481.5': 'RT Plan',
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR', '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR', '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.128': 'Positron Emission Tomography Image', '1.2.840.10008.5.1.4.1.1.130': 'Enhanced PET Image',
  '1.2.840.10008.5.1.4.1.1.20': 'Nuclear Medicine Image',
  '1.2.840.10008.5.1.4.1.1.12.1': 'X-Ray Angiographic Image', '1.2.840.10008.5.1.4.1.1.12.1.1': 'Enhanced XA Image',
};
const WITHOUT_PIXELS = new Set(['1.2.840.10008.5.1.4.1.1.481.3', '1.2.840.10008.5.1.4.1.1.481.5', '1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.88.22', '1.2.840.10008.5.1.4.1.1.88.33']);

/** Syntaxes a C-GET receives in, most common in archives first; each compressed one in a context of its own. */
const GET_SYNTAXES: string[][] = [
  NATIVE, [TS.JPEGLosslessSV1], [TS.JPEGBaseline8Bit], [TS.RLELossless], [TS.JPEG2000Lossless], [TS.JPEG2000],
  [TS.JPEGLSLossless], [TS.JPEGExtended12Bit], [TS.JPEGLossless], [TS.JPEGLSNearLossless], [TS.DeflatedExplicitVRLittleEndian],
];

/**
 * Contexts for a C-GET: the query/retrieve class as context 1, then for each storage class its
 * native syntaxes and as many compressed syntaxes (one context each, so that the peer can send
 * every object as it stores it) as fit in the 128 contexts an association may carry.
 */
export function getContexts(model: QueryModel, sopClasses: string[]): { contexts: PresentationContextRq[]; roles: RoleSelection[] } {
  const classes = [...new Set(sopClasses)].filter(isStorageSopClass).slice(0, 127);
  const imaging = classes.filter((c) => !WITHOUT_PIXELS.has(c));
  const budget = 127 - (classes.length - imaging.length);
  const perClass = Math.max(1, Math.min(GET_SYNTAXES.length, Math.floor(budget / Math.max(1, imaging.length))));
  const contexts: PresentationContextRq[] = [{ id: 1, abstractSyntax: QR.get[model], transferSyntaxes: NATIVE }];
  for (const cls of classes) {
    for (const syntaxes of GET_SYNTAXES.slice(0, WITHOUT_PIXELS.has(cls) ? 1 : perClass)) {
      if (contexts.length >= 128) break;
      contexts.push({ id: 2 * contexts.length + 1, abstractSyntax: cls, transferSyntaxes: syntaxes });
    }
  }
  // We take the SCP role (receive C-STORE) and not the SCU role for these classes (PS3.7 D.3.3.4).
  return { contexts, roles: classes.map((sopClassUid) => ({ sopClassUid, scuRole: false, scpRole: true })) };
}

/** PS3.7 C.4.2: a request we do not take on this association. */
const UNRECOGNIZED_OPERATION = 0x0211;

export async function get(t: ScuTarget, req: GetRequest, receive: InstanceReceiver, onPending?: (c: RetrieveCounts) => void): Promise<GetOutcome> {
  const { contexts, roles } = getContexts(req.model, req.sopClasses);
  let assoc: Association | undefined;
  let work = Promise.resolve();
  let received = 0, receiveFailed = 0;
  const handle = async (msg: IncomingMessage): Promise<void> => {
    const c = msg.command;
    const respond = (field: number, status: number, errorComment?: string) => assoc!.send(msg.contextId, {
      commandField: field, messageIdBeingRespondedTo: c.messageId, affectedSopClassUid: c.affectedSopClassUid,
      affectedSopInstanceUid: c.affectedSopInstanceUid, status, errorComment, hasDataSet: false,
    });
    if (c.commandField !== CommandField.CStoreRq || !msg.data) {
      msg.data?.discard();
      if (c.commandField !== CommandField.CCancelRq) await respond(c.commandField | 0x8000, UNRECOGNIZED_OPERATION);
      return;
    }
    const abstract = assoc!.rq!.contexts.find((x) => x.id === msg.contextId)?.abstractSyntax;
    let r: { status: number; errorComment?: string };
    if (!c.affectedSopInstanceUid || !abstract || c.affectedSopClassUid !== abstract) {
      r = { status: DimseStatus.CannotUnderstand, errorComment: 'SOP class or instance missing, or not the context\'s' };
    } else {
      try {
        r = await receive({ sopClassUid: abstract, sopInstanceUid: c.affectedSopInstanceUid, transferSyntaxUid: acceptedTs(assoc!, msg.contextId)! }, msg.data);
      } catch (e) {
        r = { status: DimseStatus.ProcessingFailure, errorComment: (e as Error).message.slice(0, 64) };
      }
    }
    msg.data.discard();
    if (r.status === DimseStatus.Success || (r.status & 0xf000) === 0xb000) received++;
    else receiveFailed++;
    await respond(CommandField.CStoreRsp, r.status, r.errorComment);
  };
  const user: AssociationUser = { onRequest: (msg) => { work = work.then(() => handle(msg)).catch(() => undefined); } };
  return session(t, contexts, async (s) => {
    assoc = s.assoc;
    const cls = QR.get[req.model];
    const ts = qrTs(s.assoc, 'get', req.model);
    const out = await retrieveLoop(s.assoc, 1, { commandField: CommandField.CGetRq, affectedSopClassUid: cls, priority: 0, hasDataSet: true }, writeDataSet(req.identifier, ts), ts, onPending);
    await work;
    return { ...out, received, receiveFailed };
  }, { roles, user });
}

/** The Part 10 header (preamble, "DICM", file meta) for a data set received as `inst` describes it. */
export function part10Header(inst: IncomingInstance, sourceAeTitle?: string): Buffer {
  const meta = buildMeta(inst.sopClassUid, inst.sopInstanceUid, inst.transferSyntaxUid, sourceAeTitle);
  const empty = new DataSet(true, []);
  const whole = writePart10(meta, empty, inst.transferSyntaxUid);
  // A deflated empty data set is still a couple of bytes, which must not precede the peer's own stream.
  return whole.subarray(0, whole.length - writeDataSet(empty, inst.transferSyntaxUid).length);
}

// ----- identifiers -----

export interface QueryKey { tag: number; vr: VR; value: string }

/**
 * "PatientName=SMITH*", "00100010=SMITH*", "(0010,0020)" (no value: a return key).
 * Throws a bad-request error naming what is wrong.
 */
export function parseQueryKey(spec: string): QueryKey {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  const value = eq < 0 ? '' : spec.slice(eq + 1);
  const hex = /^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$/.exec(name);
  const tag = hex ? parseTagHex(hex[1]! + hex[2]!) : tagForKeyword(name);
  if (tag === undefined) throw badRequest(`unknown attribute "${name.slice(0, 64)}": give a keyword (PatientName) or its tag (00100010)`);
  const group = tag >>> 16;
  if (group === 0x0000 || group === 0x0002 || (tag & 0xffff) === 0) throw badRequest(`${tagHex(tag)} is not a data set attribute`);
  const dictVr = lookupTag(tag)?.vr;
  const vr: VR = dictVr && isVR(dictVr) ? dictVr : 'UN';
  if (vr === 'SQ' && value !== '') throw badRequest(`${name} is a sequence: it can only be a return key (no value)`);
  if (value.length > 1024) throw badRequest(`the value of ${name} is longer than 1024 characters`);
  return { tag, vr, value };
}

function encodeValue(k: QueryKey): Buffer {
  if (k.value === '') return Buffer.alloc(0);
  const parts = k.value.split('\\');
  const num = (size: number, w: (b: Buffer, n: number, off: number) => void) => {
    const b = Buffer.alloc(size * parts.length);
    parts.forEach((p, i) => {
      const n = Number(p);
      if (p.trim() === '' || !Number.isFinite(n)) throw badRequest(`${tagHex(k.tag)} (${k.vr}) takes numbers`);
      w(b, n, i * size);
    });
    return b;
  };
  switch (k.vr) {
    case 'US': return num(2, (b, n, o) => b.writeUInt16LE(n & 0xffff, o));
    case 'SS': return num(2, (b, n, o) => b.writeInt16LE(n, o));
    case 'UL': return num(4, (b, n, o) => b.writeUInt32LE(n >>> 0, o));
    case 'SL': return num(4, (b, n, o) => b.writeInt32LE(n | 0, o));
    case 'FL': return num(4, (b, n, o) => b.writeFloatLE(n, o));
    case 'FD': return num(8, (b, n, o) => b.writeDoubleLE(n, o));
    case 'AT': {
      const b = Buffer.alloc(4 * parts.length);
      parts.forEach((p, i) => {
        const t = parseTagHex(p.replace(/[(),]/g, ''));
        if (t === undefined) throw badRequest(`${tagHex(k.tag)} (AT) takes tags as GGGGEEEE`);
        b.writeUInt16LE(t >>> 16, i * 4); b.writeUInt16LE(t & 0xffff, i * 4 + 2);
      });
      return b;
    }
    default: {
      // The identifier declares ISO_IR 192, so text is UTF-8; other string VRs are ASCII by definition.
      const b = Buffer.from(k.value, isCharsetText(k.vr) ? 'utf8' : 'latin1');
      return b.length & 1 ? Buffer.concat([b, Buffer.of(k.vr === 'UI' || k.vr === 'UN' ? 0 : 0x20)]) : b;
    }
  }
}

/** A C-FIND/C-MOVE/C-GET identifier: Specific Character Set ISO_IR 192, the level, then the keys. */
export function buildIdentifier(level: string, keys: QueryKey[]): DataSet {
  const ds = new DataSet(true, ['ISO_IR 192']);
  const put = (tag: number, vr: VR, value: Buffer) => ds.set({ tag, vr, length: value.length, valueOffset: 0, value });
  put(Tags.SpecificCharacterSet, 'CS', Buffer.from('ISO_IR 192'));
  put(Tags.QueryRetrieveLevel, 'CS', encodeValue({ tag: Tags.QueryRetrieveLevel, vr: 'CS', value: level }));
  for (const k of keys) {
    if (k.tag === Tags.SpecificCharacterSet) continue;
    if (k.vr === 'SQ') ds.set({ tag: k.tag, vr: 'SQ', length: 0, valueOffset: 0, items: [] });
    else put(k.tag, k.vr, encodeValue(k));
  }
  return ds;
}

// ----- reading stored objects -----

export interface StoredObject { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; datasetOffset: number }

/**
 * What a C-STORE of a Part 10 file needs, from as few of its first bytes as parse: the data set's
 * SOP Class and Instance UIDs (the file meta's when the data set has none; some files disagree
 * and receivers check the data set), its transfer syntax and where the data set starts.
 * read(n) returns the file's first n bytes. Throws an invalid-dicom error for anything else.
 */
export async function readPart10Head(read: (length: number) => Promise<Buffer>, size: number, maxHeaderBytes = 64 * 1024 * 1024): Promise<StoredObject> {
  let buf = await read(Math.min(size, 64 * 1024));
  for (;;) {
    try {
      const p = parsePart10(buf, { stopAtPixelData: true, partial: buf.length < size });
      const uid = (t: number, metaTag: number) => p.dataset.string(t) || p.meta.string(metaTag);
      return {
        sopClassUid: uid(Tags.SOPClassUID, Tags.MediaStorageSOPClassUID), sopInstanceUid: uid(Tags.SOPInstanceUID, Tags.MediaStorageSOPInstanceUID),
        transferSyntaxUid: p.transferSyntax.uid, datasetOffset: p.datasetOffset,
      };
    } catch (e) {
      if (!(e instanceof NeedMoreBytes)) throw e;
      const want = Math.min(size, Math.max(buf.length * 2, e.needed));
      if (want > maxHeaderBytes) throw invalidDicom(`the header is larger than ${maxHeaderBytes} bytes`);
      if (want <= buf.length) throw invalidDicom('truncated data set');
      buf = await read(want);
    }
  }
}

/** Where the data set starts in a whole Part 10 buffer. */
function datasetOffsetOf(part10: Buffer): number {
  return parsePart10(part10, { stopAtPixelData: true }).datasetOffset;
}

// ----- in words -----

const STATUS: Record<number, string> = {
  0x0000: 'Success', 0xff00: 'Pending', 0xff01: 'Pending (some optional keys not supported)', 0xfe00: 'Cancelled',
  0x0001: 'Warning', 0x0107: 'Warning: attribute list error', 0x0110: 'Failed: processing failure',
  0x0111: 'Failed: duplicate SOP instance', 0x0117: 'Failed: invalid SOP instance', 0x0122: 'Refused: SOP class not supported',
  0x0124: 'Refused: not authorized', 0x0211: 'Failed: unrecognized operation', 0xa700: 'Refused: out of resources',
  0xa701: 'Refused: out of resources (unable to calculate the number of matches)', 0xa702: 'Refused: out of resources (unable to perform sub-operations)',
  0xa801: 'Refused: move destination unknown', 0xa900: 'Failed: identifier or data set does not match the SOP class',
  0xb000: 'Warning: sub-operations complete, one or more failures', 0xb006: 'Warning: elements discarded',
  0xb007: 'Warning: data set does not match the SOP class', 0xc000: 'Failed: cannot understand', 0xc001: 'Failed: unable to process',
};

/** A DIMSE status in words, with its code (PS3.7 Annex C, PS3.4 Annexes B and C). */
export function statusText(status: number, service?: 'store'): string {
  const hex = `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
  if (service === 'store' && status === 0xb000) return `Warning: coercion of data elements (${hex})`;
  const words = STATUS[status]
    ?? ((status & 0xf000) === 0xa000 ? 'Refused' : (status & 0xf000) === 0xb000 ? 'Warning' : (status & 0xf000) === 0xc000 ? 'Failed: cannot understand' : 'Failed');
  return `${words} (${hex})`;
}

const RJ_SOURCE: Record<number, string> = { 1: 'the called application (service user)', 2: 'the upper layer (ACSE provider)', 3: 'the upper layer (presentation provider)' };
const RJ_REASON: Record<number, Record<number, string>> = {
  1: { 1: 'no reason given', 2: 'application context name not supported', 3: 'calling AE title not recognized', 7: 'called AE title not recognized' },
  2: { 1: 'no reason given', 2: 'protocol version not supported' },
  3: { 1: 'temporary congestion', 2: 'local limit exceeded' },
};
const ABORT_REASON: Record<number, string> = {
  0: 'reason not specified', 1: 'unrecognized PDU', 2: 'unexpected PDU', 4: 'unrecognized PDU parameter', 5: 'unexpected PDU parameter', 6: 'invalid PDU parameter value',
};

/** How an association ended, in words an operator can act on (PS3.8 Tables 9-21 and 9-26). */
export function describeClose(r: CloseReason): string {
  switch (r.kind) {
    case 'rejected': {
      const { result, source, reason } = r.rj;
      return `association rejected (${result === 1 ? 'permanent' : 'transient'}) by ${RJ_SOURCE[source] ?? `source ${source}`}: ${RJ_REASON[source]?.[reason] ?? `reason ${reason}`} [result ${result}, source ${source}, reason ${reason}]`;
    }
    case 'aborted-by-peer':
      return `the peer aborted the association (${r.source === 0 ? 'service user' : 'service provider'}${r.source === 0 ? '' : `: ${ABORT_REASON[r.reason] ?? `reason ${r.reason}`}`})`;
    case 'timeout': return 'the peer did not answer in time (--timeout)';
    default: return describe(r);
  }
}

const TLS_TRUST = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** A connection or TLS error in words. */
export function describeConnectError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? '';
  if (TLS_TRUST.has(code)) return `TLS: the peer's certificate is not trusted (${err.message}); give the certificate or its CA with --tls-ca`;
  switch (code) {
    case 'ECONNREFUSED': return `connection refused (${err.message.replace(/^connect ECONNREFUSED /, '')}): nothing listens there`;
    case 'ECONNRESET': return 'the peer closed the connection (for DICOM TLS, check --tls and the port)';
    case 'ENOTFOUND': case 'EAI_AGAIN': return `host not found (${err.message})`;
    case 'EHOSTUNREACH': case 'ENETUNREACH': return `host unreachable (${err.message})`;
    default: return err instanceof Error ? err.message : String(e);
  }
}

// The retrieve use case shared by WADO-RS, WADO-URI, C-MOVE and C-GET: resolve a scope to
// stored instances the principal may read, audit the access, and hand out their bytes.
import type { Readable } from 'node:stream';
import { RampartError, badRequest, notFound } from '../errors.js';
import { decodeFramesToNative, getFrames } from '../dicom/frames.js';
import { parsePart10 } from '../dicom/reader.js';
import { Tags, parseTagHex } from '../dicom/tag.js';
import { canConvert } from '../dicom/codecs/decompress.js';
import type { RenderOptions } from '../dicom/render/index.js';
import { TS } from '../dicom/transfer-syntax.js';
import { canTranscode, transcodePart10 } from '../dicom/transcode.js';
import { isPlausibleUid } from '../dicom/uid.js';
import { swapSize } from '../dicom/vr.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { Condition, IndexStore, RetrieveScope, StoredInstance } from '../store/index/index-store.js';
import type { Principal } from '../security/principal.js';
import { authorizeAudited } from './guard.js';
import type { AccessControl } from './access.js';
import { patientsFromJson, type AuditSink } from './audit-port.js';
import type { PixelJobs } from './pixel-port.js';
import { throttle, type RateLimiter } from './rate-limit.js';

export interface RetrieveDeps { index: IndexStore; blobs: BlobStore; audit: AuditSink; access: AccessControl; limits?: RateLimiter }

export function checkScope(scope: RetrieveScope): void {
  for (const v of [scope.StudyInstanceUID, scope.SeriesInstanceUID, scope.SOPInstanceUID]) {
    if (v !== undefined && !isPlausibleUid(v)) throw badRequest('not a valid UID (digits and dots, at most 64)');
  }
}

export class RetrieveService {
  constructor(private readonly deps: RetrieveDeps) {}

  /**
   * The instances of a scope, after the access check; throws not-found when there are none. An
   * object outside the caller's data scope is not found either: the answer never says it exists.
   */
  async resolve(principal: Principal, scope: RetrieveScope, action: 'view' | 'download' = 'download'): Promise<StoredInstance[]> {
    checkScope(scope);
    await authorizeAudited(this.deps.audit, principal, action, 'retrieve', { studyInstanceUid: scope.StudyInstanceUID });
    await throttle(this.deps.limits, this.deps.audit, principal, 'retrieve', true);
    const list = await this.deps.index.listInstances({ ...scope, within: this.deps.access.scope(principal) });
    if (list.length === 0) {
      await this.deps.audit.record({ action: 'retrieve', outcome: 'failure', principal, studies: [scope.StudyInstanceUID], reason: 'not-found' });
      throw notFound();
    }
    await this.deps.audit.record({ action: 'retrieve', outcome: 'success', principal, studies: [scope.StudyInstanceUID], instances: list.length, ...auditScope(scope, list) });
    this.deps.limits?.charge(principal, list.reduce((n, i) => n + i.size, 0));
    return list;
  }

  /**
   * The instances a C-MOVE/C-GET identifier names (PS3.4 C.4.2.2.1: unique keys at and above the
   * retrieve level, UID lists allowed), after the access check. Bounded by `max`.
   */
  async resolveKeys(principal: Principal, keys: { PatientID?: string; StudyInstanceUID?: string[]; SeriesInstanceUID?: string[]; SOPInstanceUID?: string[] }, max: number): Promise<StoredInstance[]> {
    const conditions: Condition[] = [];
    const uidList = (column: 'StudyInstanceUID' | 'SeriesInstanceUID' | 'SOPInstanceUID', v: string[] | undefined) => {
      if (!v || v.length === 0) return;
      for (const u of v) if (!isPlausibleUid(u)) throw badRequest(`${column}: not a valid UID`);
      conditions.push({ column, match: v.length === 1 ? { kind: 'single', value: v[0]! } : { kind: 'list', values: v } });
    };
    if (keys.PatientID) conditions.push({ column: 'PatientID', match: { kind: 'single', value: keys.PatientID } });
    uidList('StudyInstanceUID', keys.StudyInstanceUID);
    uidList('SeriesInstanceUID', keys.SeriesInstanceUID);
    uidList('SOPInstanceUID', keys.SOPInstanceUID);
    if (conditions.length === 0) throw badRequest('no unique key to retrieve by');
    await authorizeAudited(this.deps.audit, principal, 'download', 'retrieve');
    await throttle(this.deps.limits, this.deps.audit, principal, 'retrieve', true);
    // Instances outside the caller's scope are not matched at all, as if they were not stored.
    const rows = await this.deps.index.query({ level: 'IMAGE', conditions, limit: max + 1, offset: 0, within: this.deps.access.scope(principal) });
    if (rows.length > max) throw new RampartError('too-large', `more than ${max} instances in one retrieve`);
    const list = rows.map((r) => r.instance!).filter(Boolean);
    const studies = [...new Set(list.map((i) => i.StudyInstanceUID))];
    await this.deps.audit.record({ action: 'retrieve', outcome: 'success', principal, studies, instances: list.length, ...auditScope({}, list) });
    this.deps.limits?.charge(principal, list.reduce((n, i) => n + i.size, 0));
    return list;
  }

  /** Stored metadata JSON strings (with bulk markers) of a scope. */
  async metadata(principal: Principal, scope: RetrieveScope): Promise<{ instance: StoredInstance; json: string }[]> {
    checkScope(scope);
    await authorizeAudited(this.deps.audit, principal, 'view', 'metadata', { studyInstanceUid: scope.StudyInstanceUID });
    await throttle(this.deps.limits, this.deps.audit, principal, 'retrieve');
    const list = await this.deps.index.listInstanceJson({ ...scope, within: this.deps.access.scope(principal) });
    if (list.length === 0) {
      await this.deps.audit.record({ action: 'metadata', outcome: 'failure', principal, studies: [scope.StudyInstanceUID], reason: 'not-found' });
      throw notFound();
    }
    await this.deps.audit.record({ action: 'metadata', outcome: 'success', principal, studies: [scope.StudyInstanceUID], instances: list.length, ...auditScope(scope, list.map((x) => x.instance)) });
    return list;
  }

  open(inst: StoredInstance, range?: { start: number; end: number }): Readable {
    return this.deps.blobs.open(inst.blobKey, range);
  }
  read(inst: StoredInstance, offset: number, length: number): Promise<Buffer> {
    return this.deps.blobs.read(inst.blobKey, offset, length);
  }
  readAll(inst: StoredInstance): Promise<Buffer> {
    return this.deps.blobs.readAll(inst.blobKey);
  }
}

/** The series and SOP classes of an access, for the audit trail (PS3.15 A.5.3.5 SOPClass/NumberOfInstances). */
function auditScope(scope: Partial<RetrieveScope>, list: StoredInstance[]): { series?: string[]; sopClasses: Record<string, number> } {
  const sopClasses: Record<string, number> = {};
  for (const i of list) sopClasses[i.SOPClassUID] = (sopClasses[i.SOPClassUID] ?? 0) + 1;
  return { series: scope.SeriesInstanceUID ? [scope.SeriesInstanceUID] : undefined, sopClasses };
}

export class DeleteService {
  constructor(private readonly deps: RetrieveDeps) {}

  async delete(principal: Principal, scope: RetrieveScope): Promise<number> {
    checkScope(scope);
    await authorizeAudited(this.deps.audit, principal, 'delete', 'delete', { studyInstanceUid: scope.StudyInstanceUID });
    const within = this.deps.access.scope(principal);
    // Who the study belonged to, asked before the rows go: the trail must still name the patient.
    const patients = patientsFromJson((await this.deps.index.query({
      level: 'STUDY', limit: 1, offset: 0, within, conditions: [{ column: 'StudyInstanceUID', match: { kind: 'single', value: scope.StudyInstanceUID } }],
    })).map((r) => r.patientJson));
    const removed = await this.deps.index.deleteScope({ ...scope, within });
    if (removed.length === 0) {
      await this.deps.audit.record({ action: 'delete', outcome: 'failure', principal, studies: [scope.StudyInstanceUID], reason: 'not-found' });
      throw notFound();
    }
    // The index no longer refers to these blobs; a blob left by a crash here is an orphan fsck removes.
    for (const r of removed) await this.deps.blobs.delete(r.blobKey).catch(() => false);
    await this.deps.audit.record({ action: 'delete', outcome: 'success', principal, studies: [scope.StudyInstanceUID], instances: removed.length, patients, series: scope.SeriesInstanceUID ? [scope.SeriesInstanceUID] : undefined });
    return removed.length;
  }
}

/** Syntaxes whose frames need a codec (not a byte shuffle) to become native. */
const needsCodec = (ts: string): boolean => !canTranscode(ts, TS.ExplicitVRLittleEndian) && ts !== TS.EncapsulatedUncompressedExplicitVRLittleEndian;

/**
 * What a retrieve may hand out besides the stored bytes: converted objects, frames, rendered
 * images, bulk data. Callers resolve the instances through RetrieveService first (the access
 * check and the audit); decoding and rendering go to `pixels` (a worker pool in app.ts). Without
 * it, compressed pixel data cannot be decoded (as before codecs existed).
 */
export interface RenderLimits { maxRenderedInstances: number; thumbnailSize: number; maxViewport: number }

export class RenderService {
  constructor(
    private readonly retrieve: RetrieveService,
    private readonly pixels?: PixelJobs,
    readonly limits: RenderLimits = { maxRenderedInstances: 50, thumbnailSize: 128, maxViewport: 4096 },
  ) {}

  /** The object in another transfer syntax; the stored bytes when it is the same. */
  async transcoded(inst: StoredInstance, tsUid: string): Promise<Buffer> {
    const buf = await this.retrieve.readAll(inst);
    if (tsUid === inst.TransferSyntaxUID) return buf;
    if (canTranscode(inst.TransferSyntaxUID, tsUid) || !this.pixels) return transcodePart10(buf, tsUid);
    return this.pixels.convert(buf, tsUid);
  }

  canTranscode(inst: StoredInstance, tsUid: string): boolean {
    return tsUid === inst.TransferSyntaxUID || canTranscode(inst.TransferSyntaxUID, tsUid) ||
      (this.pixels !== undefined && canConvert(inst.TransferSyntaxUID, tsUid));
  }

  /** Frames as stored (compressed or native little endian), or decoded to native when asked. */
  async frames(inst: StoredInstance, numbers: number[], native: boolean): Promise<{ frames: Buffer[]; mediaType: string; transferSyntaxUid: string }> {
    const buf = await this.retrieve.readAll(inst);
    if (native && this.pixels && needsCodec(inst.TransferSyntaxUID)) {
      return { frames: await this.pixels.frames(buf, numbers), mediaType: 'application/octet-stream', transferSyntaxUid: TS.ExplicitVRLittleEndian };
    }
    const p = parsePart10(buf);
    return native ? decodeFramesToNative(p, numbers) : getFrames(p, numbers);
  }

  /** One frame rendered to PNG or JPEG (PS3.18 8.3.5): decode, LUTs, viewport, encode. */
  async rendered(inst: StoredInstance, options: RenderOptions): Promise<Buffer> {
    return (await this.renderedFrames(inst, [options.frame], options))[0]!;
  }

  /**
   * Several frames of one instance rendered, one after the other. The object is read once and put
   * in shared memory, so that each job hands the worker a view instead of a copy of the file.
   */
  async renderedFrames(inst: StoredInstance, frames: number[], options: Omit<RenderOptions, 'frame'>): Promise<Buffer[]> {
    if (!this.pixels) throw new RampartError('not-acceptable', 'rendering is not available on this node');
    const file = await this.retrieve.readAll(inst);
    const part10 = frames.length > 1 ? new Uint8Array(new SharedArrayBuffer(file.length)) : file;
    if (part10 !== file) part10.set(file);
    const out: Buffer[] = [];
    for (const frame of frames) out.push(await this.pixels.render(part10, { ...options, frame }));
    return out;
  }

  /** The value of one bulk attribute, by its path from the metadata's BulkDataURI ("7FE00010", "00540016/0/00181072"). */
  async bulk(inst: StoredInstance, path: string): Promise<{ parts: Buffer[]; mediaType: string }> {
    const segs = path.split('/');
    if (segs.length > 33 || segs.length % 2 !== 1) throw badRequest('bulk data path is not tag[/item/tag...]');
    const p = parsePart10(await this.retrieve.readAll(inst));
    let ds = p.dataset;
    for (let i = 0; i < segs.length; i++) {
      const t = parseTagHex(segs[i]!);
      if (t === undefined) throw badRequest('bulk data path has an invalid tag');
      const el = ds.get(t);
      if (!el) throw notFound('no such bulk data');
      if (i === segs.length - 1) {
        if (el.fragments) {
          const n = Math.max(1, p.dataset.number(Tags.NumberOfFrames) ?? 1);
          const f = getFrames(p, Array.from({ length: n }, (_, k) => k + 1));
          return { parts: f.frames, mediaType: f.mediaType };
        }
        if (!el.value) throw notFound('no such bulk data');
        let v = Buffer.from(el.value.buffer, el.value.byteOffset, el.value.byteLength);
        const size = swapSize(el.vr);
        if (!p.dataset.littleEndian && size > 1) {
          v = Buffer.from(v);
          if (size === 2) v.swap16(); else if (size === 4) v.swap32(); else v.swap64();
        }
        return { parts: [v], mediaType: 'application/octet-stream' };
      }
      const idx = Number(segs[++i]);
      const item = Number.isInteger(idx) && idx >= 0 ? el.items?.[idx] : undefined;
      if (!item) throw notFound('no such bulk data');
      ds = item;
    }
    throw notFound('no such bulk data');
  }
}

// The ingest use case: one path for STOW-RS, C-STORE and `rampart import`. An instance is
// staged and validated, then a batch is committed: blobs made durable, then indexed, and
// only then is success reported. Failures carry a PS3.4 / PS3.18 failure reason code.
import { createHash } from 'node:crypto';
import { RampartError, isRampartError } from '../errors.js';
import { NeedMoreBytes, parsePart10, type Part10 } from '../dicom/reader.js';
import { datasetToJson, jsonString, type JsonDataSet } from '../dicom/json.js';
import { Tags, tagHex } from '../dicom/tag.js';
import { isPlausibleUid } from '../dicom/uid.js';
import type { BlobStore, StagedBlob } from '../store/blobs/blob-store.js';
import type { IndexStore, InstanceIndexEntry, OverwritePolicy } from '../store/index/index-store.js';
import type { Principal } from '../security/principal.js';
import { authorizeAudited } from './guard.js';
import type { AccessControl } from './access.js';
import type { AuditPatient, AuditSink } from './audit-port.js';
import { PATIENT_KEYS, SERIES_KEYS, STUDY_KEYS } from './level-attributes.js';
import { normalizePN } from './normalize.js';

/** Failure reasons (PS3.4 Annex B.2.3 statuses, as STOW-RS reports them in 00081197). */
export const FailureReason = {
  OutOfResources: 0xa700,
  DataSetDoesNotMatchSOPClass: 0xa900,
  CannotUnderstand: 0xc000,
  /** The instance belongs to another study than the one in the request URL (dcm4chee uses the same code). */
  StudyInstanceUIDMismatch: 0xc409,
  DuplicateSOPInstance: 0x0111,
  NotAuthorized: 0x0124,
} as const;

/** Bytes received before the header is first parsed (it is usually a few kB, then pixel data). */
const EARLY_PARSE_BYTES = 32 * 1024;

type Validated = { ok: true; ids: InstanceIds; entry: Prepared['entry'] };

/** Most instances merged into one group commit. */
const GROUP_LIMIT = 256;

export interface IngestLimits {
  /** Largest instance accepted, in bytes. */
  maxInstanceBytes: number;
  /** Bytes read to parse the header before growing (doubling) up to maxHeaderBytes. */
  headBytes: number;
  maxHeaderBytes: number;
}
export const DEFAULT_INGEST_LIMITS: IngestLimits = { maxInstanceBytes: 4 * 1024 ** 3, headBytes: 256 * 1024, maxHeaderBytes: 64 * 1024 ** 2 };

export interface IngestOptions {
  /** STOW-RS to /studies/{study}: the instance must belong to it. */
  expectStudyUid?: string;
  /** C-STORE: the data set must carry the UIDs its command names. */
  expectSopInstanceUid?: string;
  expectSopClassUid?: string;
}

export interface InstanceIds { sopClassUid: string; sopInstanceUid: string; studyUid: string; seriesUid: string }

export interface Prepared {
  ok: true;
  ids: InstanceIds;
  staged: StagedBlob;
  entry: Omit<InstanceIndexEntry, 'instance'> & { instance: Omit<InstanceIndexEntry['instance'], 'blobKey'> };
}
export interface Failed {
  ok: false;
  ids: Partial<InstanceIds>;
  reason: number;
  /** Plain-language reason without PHI. */
  message: string;
}
export type StoreOutcome =
  | { ok: true; ids: InstanceIds; status: 'stored' | 'duplicate' | 'replaced' }
  | Failed;

export interface IngestDeps {
  blobs: BlobStore;
  index: IndexStore;
  audit: AuditSink;
  overwrite: OverwritePolicy;
  limits?: Partial<IngestLimits>;
  /**
   * Most milliseconds an index commit may wait to become durable. 0: every commit is durable
   * before success is reported. Above 0, success waits for the blob (file and name) to be
   * durable and the index row to be committed; the index reaches the disk at the next barrier,
   * and until then the blob store's journal says where recover() finds blobs to index again.
   */
  indexSyncMs?: number;
  access: AccessControl;
}

export class IngestService {
  private readonly limits: IngestLimits;
  constructor(private readonly deps: IngestDeps) {
    this.limits = { ...DEFAULT_INGEST_LIMITS, ...deps.limits };
  }

  /**
   * Streams one object into staging and validates it. Never throws for bad data: the failure
   * is returned with a reason. Throws only when the caller's principal may not store at all.
   */
  async prepare(principal: Principal, source: AsyncIterable<Buffer | Uint8Array>, opts: IngestOptions = {}): Promise<Prepared | Failed> {
    await authorizeAudited(this.deps.audit, principal, 'store', 'store');
    const staged = await this.deps.blobs.stage();
    try {
      const head: Buffer[] = [];
      let headLen = 0;
      let total = 0;
      // The header is parsed and checked while the rest of the object (its pixel data) still
      // arrives: `early` holds that result and how many bytes it was read from.
      let early: { from: number; result: Validated | Failed } | undefined;
      let nextTry = EARLY_PARSE_BYTES;
      for await (const chunk of source) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        total += b.length;
        if (total > this.limits.maxInstanceBytes) {
          await staged.abort();
          return fail({}, FailureReason.OutOfResources, `object larger than the ${this.limits.maxInstanceBytes}-byte limit`);
        }
        if (headLen < this.limits.headBytes) {
          head.push(b);
          headLen += b.length;
        }
        await staged.write(b);
        if (early === undefined && headLen >= nextTry && nextTry <= this.limits.headBytes) {
          const buf = Buffer.concat(head);
          try {
            early = { from: buf.length, result: this.validate(parsePart10(buf, { stopAtPixelData: true, partial: true }), opts, 0, '') };
          } catch (e) {
            // Not enough yet, or not valid: the parse after the last byte decides.
            nextTry = e instanceof NeedMoreBytes ? Math.max(headLen * 2, Math.min(e.needed, Number.MAX_SAFE_INTEGER)) : Infinity;
          }
        }
      }
      const { size, sha256 } = await staged.finish();
      let result: Validated | Failed;
      if (early && size > early.from) {
        // The same parse the whole object would give: both stop at the pixel data.
        result = early.result;
        if (result.ok) Object.assign(result.entry.instance, { size, sha256 });
      } else {
        const parsed = await this.parseHeader(Buffer.concat(head), (o, l) => staged.read(o, l), size);
        result = this.validate(parsed, opts, size, sha256);
      }
      if (!result.ok) {
        await staged.abort();
        return result;
      }
      // A store must neither add to nor replace data in a study the caller may not see.
      if (!(await this.deps.access.mayStoreInto(principal, result.ids.studyUid, result.ids.sopInstanceUid))) {
        await staged.abort();
        return fail(result.ids, FailureReason.NotAuthorized, 'not authorized to store into this study');
      }
      return { ok: true, ids: result.ids, staged, entry: result.entry };
    } catch (e) {
      await staged.abort();
      if (isRampartError(e, 'invalid-dicom')) return fail({}, FailureReason.CannotUnderstand, e.message);
      throw e;
    }
  }

  private async parseHeader(head: Buffer, read: (offset: number, length: number) => Promise<Buffer>, size: number): Promise<Part10> {
    let buf = head.length >= size ? head : head.subarray(0, Math.min(head.length, size));
    for (;;) {
      const whole = buf.length >= size;
      try {
        return parsePart10(buf, { stopAtPixelData: true, partial: !whole });
      } catch (e) {
        if (!(e instanceof NeedMoreBytes)) throw e;
        const want = Math.min(size, Math.max(buf.length * 2, Math.min(e.needed, this.limits.maxHeaderBytes)));
        if (want > this.limits.maxHeaderBytes && want < size) {
          throw new RampartError('invalid-dicom', `header larger than ${this.limits.maxHeaderBytes} bytes`);
        }
        if (want <= buf.length) throw new RampartError('invalid-dicom', 'truncated data set');
        buf = await read(0, want);
      }
    }
  }

  private validate(p: Part10, opts: IngestOptions, size: number, sha256: string): Validated | Failed {
    const ds = p.dataset;
    const ids: Partial<InstanceIds> = {
      sopClassUid: ds.string(Tags.SOPClassUID),
      sopInstanceUid: ds.string(Tags.SOPInstanceUID),
      studyUid: ds.string(Tags.StudyInstanceUID),
      seriesUid: ds.string(Tags.SeriesInstanceUID),
    };
    const safeIds: Partial<InstanceIds> = {};
    for (const [k, v] of Object.entries(ids) as [keyof InstanceIds, string][]) if (isPlausibleUid(v)) safeIds[k] = v;
    for (const [k, name] of [['sopClassUid', 'SOP Class UID'], ['sopInstanceUid', 'SOP Instance UID'], ['studyUid', 'Study Instance UID'], ['seriesUid', 'Series Instance UID']] as const) {
      const v = ids[k];
      if (!v) return fail(safeIds, FailureReason.DataSetDoesNotMatchSOPClass, `${name} is missing`);
      if (!isPlausibleUid(v)) return fail(safeIds, FailureReason.DataSetDoesNotMatchSOPClass, `${name} is not a valid UID (digits and dots, at most 64)`);
    }
    const full = ids as InstanceIds;
    // Real files sometimes carry a file meta SOP Instance/Class UID that differs from the data
    // set's (pydicom's rtdose.dcm, chrJapMulti.dcm). The data set is authoritative; the stored
    // bytes stay as received, so nothing is lost by accepting them.
    if (opts.expectSopInstanceUid !== undefined && opts.expectSopInstanceUid !== full.sopInstanceUid) {
      return fail(safeIds, FailureReason.DataSetDoesNotMatchSOPClass, 'SOP Instance UID of the data set differs from the one in the command');
    }
    if (opts.expectSopClassUid !== undefined && opts.expectSopClassUid !== full.sopClassUid) {
      return fail(safeIds, FailureReason.DataSetDoesNotMatchSOPClass, 'SOP Class UID of the data set differs from the one in the command');
    }
    if (opts.expectStudyUid && opts.expectStudyUid !== full.studyUid) {
      return fail(safeIds, FailureReason.StudyInstanceUIDMismatch, 'instance belongs to another study than the one in the request');
    }
    const json = datasetToJson(ds);
    const pick = (keys: readonly string[]) => {
      const o: JsonDataSet = {};
      for (const k of keys) { const a = json[k]; if (a) o[k] = a; }
      return JSON.stringify(o);
    };
    const s = (t: number) => jsonString(json, tagHex(t));
    const entry: Prepared['entry'] = {
      patient: {
        PatientID: s(Tags.PatientID), IssuerOfPatientID: s(Tags.IssuerOfPatientID),
        PatientName: s(Tags.PatientName), PatientNameNorm: normalizePN(ds.text(Tags.PatientName)),
        PatientBirthDate: s(Tags.PatientBirthDate), PatientSex: s(Tags.PatientSex), json: pick(PATIENT_KEYS),
      },
      study: {
        StudyInstanceUID: full.studyUid, StudyDate: s(Tags.StudyDate), StudyTime: s(Tags.StudyTime),
        AccessionNumber: s(Tags.AccessionNumber), StudyID: s(Tags.StudyID),
        ReferringPhysicianNameNorm: normalizePN(ds.text(Tags.ReferringPhysicianName)),
        StudyDescription: s(Tags.StudyDescription), json: pick(STUDY_KEYS),
      },
      series: {
        SeriesInstanceUID: full.seriesUid, Modality: s(Tags.Modality), SeriesNumber: s(Tags.SeriesNumber),
        SeriesDescription: s(Tags.SeriesDescription), SeriesDate: s(Tags.SeriesDate), json: pick(SERIES_KEYS),
      },
      instance: {
        SOPInstanceUID: full.sopInstanceUid, SOPClassUID: full.sopClassUid, InstanceNumber: s(Tags.InstanceNumber),
        TransferSyntaxUID: p.transferSyntax.uid, size, sha256, json: JSON.stringify(json),
      },
    };
    return { ok: true, ids: full, entry };
  }

  /**
   * Makes a batch durable and indexed; returns outcomes in order. Batches committed at the same
   * time (several associations or uploads) are merged into one round: one directory sync and one
   * index transaction for all of them (group commit). A lone batch is committed at once.
   */
  commit(principal: Principal, batch: Prepared[]): Promise<StoreOutcome[]> {
    if (batch.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.waiting.push({ principal, batch, resolve, reject });
      if (!this.committing) void this.drain();
    });
  }

  private waiting: { principal: Principal; batch: Prepared[]; resolve: (r: StoreOutcome[]) => void; reject: (e: unknown) => void }[] = [];
  private committing = false;
  /** Index commits not yet known durable, the barrier timer, and who waits for the next barrier. */
  private undurable = false;
  private barrierDue = false;
  private barrierTimer: NodeJS.Timeout | undefined;
  private barrierWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Blobs of replaced instances: removed only once the index that stopped naming them is durable. */
  private deleteAfterBarrier: string[] = [];

  private get deferred(): boolean {
    return (this.deps.indexSyncMs ?? 0) > 0;
  }

  private scheduleBarrier(): void {
    this.undurable = true;
    if (this.barrierTimer) return;
    this.barrierTimer = setTimeout(() => {
      this.barrierTimer = undefined;
      this.barrierDue = true;
      if (!this.committing) void this.drain();
    }, this.deps.indexSyncMs);
    this.barrierTimer.unref();
  }

  /** Runs between commit rounds: index durable, then the blob journal and replaced blobs forgotten. */
  private async barrier(): Promise<void> {
    const waiters = this.barrierWaiters.splice(0);
    const deletes = this.deleteAfterBarrier.splice(0);
    try {
      if (this.undurable) {
        this.undurable = false;
        await this.deps.index.syncBarrier();
      }
      await this.deps.blobs.forgetRecent({ all: this.closing });
    } catch (e) {
      // Nothing is lost: the journal still names the folders. Try again at the next tick.
      this.deleteAfterBarrier.unshift(...deletes);
      this.scheduleBarrier();
      for (const w of waiters) w.reject(e);
      return;
    }
    for (const k of deletes) await this.deps.blobs.delete(k).catch(() => false);
    for (const w of waiters) w.resolve();
  }

  private closing = false;

  /** At shutdown: everything durable in the index, and nothing left for the next start to check. */
  close(): Promise<void> {
    this.closing = true;
    return this.sync();
  }

  /** Makes every acknowledged store durable in the index now. */
  sync(): Promise<void> {
    if (this.barrierTimer) { clearTimeout(this.barrierTimer); this.barrierTimer = undefined; }
    return new Promise((resolve, reject) => {
      this.barrierWaiters.push({ resolve, reject });
      this.barrierDue = true;
      if (!this.committing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.committing = true;
    try {
      while (this.waiting.length || this.barrierDue) {
        if (this.barrierDue) {
          this.barrierDue = false;
          await this.barrier();
          continue;
        }
        // One round takes what is waiting, up to GROUP_LIMIT instances (at least one batch).
        let n = 0, take = 0;
        while (take < this.waiting.length && (take === 0 || n + this.waiting[take]!.batch.length <= GROUP_LIMIT)) n += this.waiting[take++]!.batch.length;
        const group = this.waiting.splice(0, take);
        let results: StoreOutcome[];
        try {
          results = await this.commitNow(group.flatMap((g) => g.batch));
        } catch (e) {
          for (const g of group) g.reject(e);
          continue;
        }
        let k = 0;
        for (const g of group) {
          const mine = results.slice(k, k + g.batch.length);
          k += g.batch.length;
          try {
            const studies = [...new Set(mine.filter((r) => r.ok).map((r) => r.ids.studyUid!))];
            const stored = g.batch.filter((_, i) => mine[i]?.ok);
            await this.deps.audit.record({
              action: 'store', outcome: mine.every((r) => r.ok) ? 'success' : 'failure', principal: g.principal,
              studies, instances: stored.length, ...auditDetail(stored),
            });
            g.resolve(mine);
          } catch (e) {
            g.reject(e);
          }
        }
      }
    } finally {
      this.committing = false;
    }
  }

  private async commitNow(batch: Prepared[]): Promise<StoreOutcome[]> {
    let keys: string[];
    let placed: Promise<void>;
    try {
      ({ keys, placed } = await this.deps.blobs.placeMany(batch.map((b) => b.staged)));
    } catch (e) {
      await Promise.all(batch.map((b) => b.staged.abort()));
      throw e;
    }
    const entries: InstanceIndexEntry[] = batch.map((b, i) => ({ ...b.entry, instance: { ...b.entry.instance, blobKey: keys[i]! } }));
    let outcomes;
    try {
      // The index is written while the blob directories sync; success waits for both. A crash
      // between the two leaves an index row whose blob name was not yet durable: nothing was
      // acknowledged, and fsck reports (and repairs) it like any other orphan.
      outcomes = await this.deps.index.insertInstances(entries, this.deps.overwrite, { deferDurability: this.deferred });
    } catch (e) {
      // The index refused the batch: remove the blobs so nothing is left half-written.
      await placed.catch(() => undefined);
      await Promise.all(keys.map((k) => this.deps.blobs.delete(k).catch(() => false)));
      throw e;
    }
    try {
      await placed;
    } catch (e) {
      // The names did not become durable: take the new rows back out, then the blobs.
      for (const [i, o] of outcomes.entries()) {
        if (o.status === 'duplicate') continue;
        const inst = entries[i]!;
        await this.deps.index.deleteScope({ StudyInstanceUID: inst.study.StudyInstanceUID, SeriesInstanceUID: inst.series.SeriesInstanceUID, SOPInstanceUID: inst.instance.SOPInstanceUID }).catch(() => []);
      }
      await Promise.all(keys.map((k) => this.deps.blobs.delete(k).catch(() => false)));
      throw e;
    }
    if (this.deferred) this.scheduleBarrier();
    const results: StoreOutcome[] = [];
    for (const [i, o] of outcomes.entries()) {
      const b = batch[i]!;
      if (o.status === 'stored') results.push({ ok: true, ids: b.ids, status: 'stored' });
      else if (o.status === 'replaced') {
        if (this.deferred) this.deleteAfterBarrier.push(o.replaced.blobKey);
        else await this.deps.blobs.delete(o.replaced.blobKey).catch(() => false);
        results.push({ ok: true, ids: b.ids, status: 'replaced' });
      } else {
        // The same blob when recovery already indexed it: it must stay.
        if (o.existing.blobKey !== keys[i]) await this.deps.blobs.delete(keys[i]!).catch(() => false);
        if (o.existing.sha256 === b.entry.instance.sha256 || this.deps.overwrite === 'keep') {
          results.push({ ok: true, ids: b.ids, status: 'duplicate' });
        } else {
          results.push(fail(b.ids, FailureReason.DuplicateSOPInstance, 'an instance with this SOP Instance UID is already stored with other content'));
        }
      }
    }
    return results;
  }

  /**
   * At start-up: indexes again what writers that stopped before their last barrier had placed,
   * in the order they placed it (a power failure may have taken those index rows). A blob the
   * index already names is skipped; one that is not a valid object is left for fsck.
   */
  async recover(principal: Principal): Promise<{ checked: number; reindexed: number; unreadable: number; torn: number }> {
    const counts = { checked: 0, reindexed: 0, unreadable: 0, torn: 0 };
    for (const set of await this.deps.blobs.orphanedRecent()) {
      const known = await this.deps.index.indexedBlobKeys(set.keys);
      const studies = new Set<string>();
      let reindexed = 0;
      for (const key of set.keys) {
        counts.checked++;
        if (known.has(key)) continue;
        const read = await this.entryOf(key).catch(() => undefined);
        if (read && !set.intact(key, read.sha256)) {
          // Its name reached the disk before its bytes: the store was never acknowledged. Left
          // for fsck (an orphan blob), never indexed.
          counts.torn++;
          continue;
        }
        const entry = read?.entry;
        if (!entry) { counts.unreadable++; continue; }
        const [o] = await this.deps.index.insertInstances([entry], this.deps.overwrite);
        if (o!.status === 'duplicate') {
          if (o!.existing.blobKey !== key) await this.deps.blobs.delete(key).catch(() => false);
          continue;
        }
        if (o!.status === 'replaced') await this.deps.blobs.delete(o!.replaced.blobKey).catch(() => false);
        studies.add(entry.study.StudyInstanceUID);
        reindexed++;
      }
      if (reindexed > 0) {
        await this.deps.audit.record({ action: 'store', outcome: 'success', principal, studies: [...studies], instances: reindexed, reason: 'recovered' });
      }
      counts.reindexed += reindexed;
      await set.release();
    }
    return counts;
  }

  /** The content hash of a placed blob and, when it is a valid object, its index entry. */
  private async entryOf(key: string): Promise<{ sha256: string; entry: InstanceIndexEntry | undefined }> {
    const { blobs } = this.deps;
    const hash = createHash('sha256');
    for await (const chunk of blobs.open(key)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    try {
      const size = await blobs.size(key);
      const head = await blobs.read(key, 0, Math.min(size, this.limits.headBytes));
      const parsed = await this.parseHeader(head, (o, l) => blobs.read(key, o, l), size);
      const r = this.validate(parsed, {}, size, sha256);
      return { sha256, entry: r.ok ? { ...r.entry, instance: { ...r.entry.instance, blobKey: key } } : undefined };
    } catch {
      return { sha256, entry: undefined };
    }
  }

  /** prepare + commit of one object. */
  async ingest(principal: Principal, source: AsyncIterable<Buffer | Uint8Array>, opts: IngestOptions = {}): Promise<StoreOutcome> {
    const p = await this.prepare(principal, source, opts);
    if (!p.ok) {
      await this.deps.audit.record({ action: 'store', outcome: 'failure', principal, reason: p.reason.toString(16) });
      return p;
    }
    return (await this.commit(principal, [p]))[0]!;
  }
}

/** Patients and SOP classes of stored instances, for the audit trail (PS3.15 A.5.3.5). */
function auditDetail(stored: Prepared[]): { patients: AuditPatient[]; sopClasses: Record<string, number> } {
  const patients = new Map<string, AuditPatient>();
  const sopClasses: Record<string, number> = {};
  for (const b of stored) {
    const p = b.entry.patient;
    if (!patients.has(p.PatientID)) patients.set(p.PatientID, p.PatientName ? { id: p.PatientID, name: p.PatientName } : { id: p.PatientID });
    sopClasses[b.ids.sopClassUid] = (sopClasses[b.ids.sopClassUid] ?? 0) + 1;
  }
  return { patients: [...patients.values()], sopClasses };
}

function fail(ids: Partial<InstanceIds>, reason: number, message: string): Failed {
  return { ok: false, ids, reason, message };
}

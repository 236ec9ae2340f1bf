// STOW-RS (PS3.18 10.5): multipart/related; type="application/dicom" uploads, streamed part by
// part into staging, committed in batches (durable blobs, then the index), answered with the
// Store Instances Response (PS3.18 10.5.3: 200 all stored, 202 some failed, 409 none stored).
import { RampartError, badRequest, isRampartError, tooLarge } from '../../errors.js';
import type { JsonDataSet } from '../../dicom/json.js';
import { FailureReason, type Prepared, type StoreOutcome } from '../../services/ingest.js';
import type { Principal } from '../../security/principal.js';
import { parseMediaType } from '../media-type.js';
import { readMultipart } from '../multipart-reader.js';
import type { Router, RouteContext } from '../router.js';
import type { DicomWebDeps } from './context.js';

/** Staged parts committed together: bounds open files while keeping one directory sync and transaction per batch. */
const BATCH = 32;

export function registerStow(router: Router<Principal>, deps: DicomWebDeps): void {
  const stow = async ({ req, res, params, principal }: RouteContext & { principal: Principal }) => {
    const ct = req.headers['content-type'];
    if (!ct) throw new RampartError('unsupported-media-type', 'Content-Type is required: multipart/related; type="application/dicom"');
    const mt = parseMediaType(ct);
    if (mt.type !== 'multipart' || mt.subtype !== 'related') {
      throw new RampartError('unsupported-media-type', 'STOW-RS takes multipart/related; type="application/dicom"');
    }
    const partType = (mt.params.type ?? 'application/dicom').toLowerCase();
    if (partType !== 'application/dicom') {
      throw new RampartError('unsupported-media-type', `parts of type ${partType.slice(0, 64)} are not supported; send application/dicom`);
    }
    const boundary = mt.params.boundary;
    if (!boundary) throw badRequest('multipart Content-Type has no boundary');
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > deps.limits.maxBodyBytes) throw tooLarge(`request body larger than ${deps.limits.maxBodyBytes} bytes`);
    const expectStudyUid = params.study;
    if (expectStudyUid !== undefined && !/^[0-9.]{1,64}$/.test(expectStudyUid)) throw badRequest('study UID in the path is not a valid UID');

    const outcomes: StoreOutcome[] = [];
    let batch: Prepared[] = [];
    let committing: Promise<void> = Promise.resolve();
    const commitBatch = async (b: Prepared[]) => {
      try {
        outcomes.push(...(await deps.ingest.commit(principal, b)));
      } catch (e) {
        // The batch could not be made durable (disk, database): its parts are reported failed,
        // and ingest removed whatever it had placed.
        const message = isRampartError(e) ? e.message : 'could not be stored';
        outcomes.push(...b.map((p): StoreOutcome => ({ ok: false, ids: p.ids, reason: FailureReason.OutOfResources, message })));
      }
    };
    // Batch N is committed while batch N+1 is being received; at most one commit runs at a time.
    const flush = async () => {
      const b = batch;
      batch = [];
      const previous = committing;
      committing = previous.then(() => (b.length ? commitBatch(b) : undefined));
      await previous;
    };
    try {
      await readMultipart(req, boundary, async (part) => {
        const pct = part.headers['content-type'];
        if (pct && parseMediaType(pct).type + '/' + parseMediaType(pct).subtype !== 'application/dicom') {
          part.body.resume();
          outcomes.push({ ok: false, ids: {}, reason: FailureReason.CannotUnderstand, message: 'part is not application/dicom' });
          return;
        }
        const p = await deps.ingest.prepare(principal, part.body, { expectStudyUid });
        if (p.ok) {
          batch.push(p);
          if (batch.length >= BATCH) await flush();
        } else outcomes.push(p);
      }, { maxParts: deps.limits.maxParts, maxPartBytes: deps.limits.maxInstanceBytes, maxHeaderBytes: 16 * 1024, maxTotalBytes: deps.limits.maxBodyBytes });
      await flush();
      await committing;
    } catch (e) {
      // The body was bad (or a limit was hit): nothing of the unfinished batch is kept; what was
      // committed before stays committed and is reported only if we can still answer.
      await Promise.all(batch.map((b) => b.staged.abort()));
      await committing;
      if (isRampartError(e) && outcomes.length === 0) throw e;
      if (!isRampartError(e)) throw e;
      outcomes.push({ ok: false, ids: {}, reason: FailureReason.CannotUnderstand, message: e.message });
    }
    if (outcomes.length === 0) throw badRequest('the request holds no parts');

    const base = deps.baseUrl(req);
    const ok = outcomes.filter((o) => o.ok);
    const failed = outcomes.filter((o) => !o.ok);
    const body: JsonDataSet = {};
    const studies = new Set(ok.map((o) => o.ids.studyUid!));
    if (studies.size === 1) body['00081190'] = { vr: 'UR', Value: [`${base}/studies/${[...studies][0]}`] };
    if (ok.length) {
      body['00081199'] = {
        vr: 'SQ', Value: ok.map((o) => ({
          '00081150': { vr: 'UI', Value: [o.ids.sopClassUid] },
          '00081155': { vr: 'UI', Value: [o.ids.sopInstanceUid] },
          '00081190': { vr: 'UR', Value: [`${base}/studies/${o.ids.studyUid}/series/${o.ids.seriesUid}/instances/${o.ids.sopInstanceUid}`] },
        })),
      };
    }
    if (failed.length) {
      body['00081198'] = {
        vr: 'SQ', Value: failed.map((o) => {
          const item: JsonDataSet = {};
          if (o.ids.sopClassUid) item['00081150'] = { vr: 'UI', Value: [o.ids.sopClassUid] };
          if (o.ids.sopInstanceUid) item['00081155'] = { vr: 'UI', Value: [o.ids.sopInstanceUid] };
          item['00081197'] = { vr: 'US', Value: [o.ok ? 0 : o.reason] };
          return item;
        }),
      };
    }
    const status = failed.length === 0 ? 200 : ok.length === 0 ? 409 : 202;
    const text = JSON.stringify(body);
    const headers: Record<string, string | string[]> = { 'content-type': 'application/dicom+json', 'content-length': String(Buffer.byteLength(text)) };
    // Each failure's reason in words, for people reading the response (no PHI: UIDs and rules only).
    const reasons = [...new Set(failed.map((f) => (f.ok ? '' : f.message)))].slice(0, 10);
    if (reasons.length) headers.warning = reasons.map((r) => `299 rampart "${r.replace(/["\\\r\n]/g, ' ')}"`);
    res.writeHead(status, headers);
    res.end(text);
  };
  router.add('POST', '/studies', stow);
  router.add('POST', '/studies/:study', stow);
}

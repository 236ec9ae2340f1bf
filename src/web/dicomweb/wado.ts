// WADO-RS (PS3.18 10.4): retrieve studies, series and instances (multipart/related of
// application/dicom), their metadata (DICOM JSON), frames and bulk data.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { badRequest, RampartError } from '../../errors.js';
import { BULK_MARKER } from '../../dicom/json.js';
import type { RetrieveScope, StoredInstance } from '../../store/index/index-store.js';
import type { Principal } from '../../security/principal.js';
import { AS_STORED, negotiate, parseAccept, type Offer } from '../media-type.js';
import { newBoundary, writeMultipart, type MultipartOutPart } from '../multipart-writer.js';
import type { Router, RouteContext } from '../router.js';
import type { DicomWebDeps } from './context.js';
import { registerRendered } from './rendered.js';

type Ctx = RouteContext & { principal: Principal };

/** Objects up to this size are read in one go rather than streamed. */
const WHOLE_READ_BYTES = 8 * 1024 * 1024;

const scopeOf = (p: Record<string, string>): RetrieveScope => ({
  StudyInstanceUID: p.study!, SeriesInstanceUID: p.series, SOPInstanceUID: p.instance,
});

export function instanceUrl(base: string, i: StoredInstance): string {
  return `${base}/studies/${i.StudyInstanceUID}/series/${i.SeriesInstanceUID}/instances/${i.SOPInstanceUID}`;
}

async function sendMultipart(req: IncomingMessage, res: ServerResponse, type: string, extra: string, parts: AsyncIterable<MultipartOutPart> | Iterable<MultipartOutPart>): Promise<void> {
  const boundary = newBoundary();
  res.writeHead(200, { 'content-type': `multipart/related; type="${type}"; boundary=${boundary}${extra}` });
  if (req.method === 'HEAD') { res.end(); return; }
  await writeMultipart(res, boundary, parts);
  res.end();
}

export function registerWado(router: Router<Principal>, deps: DicomWebDeps): void {
  const retrieve = (instanceLevel: boolean) => async ({ req, res, params, principal }: Ctx) => {
    const offers: Offer[] = [{ mediaType: 'multipart/related', type: 'application/dicom', transferSyntaxes: '*' }];
    if (instanceLevel) offers.push({ mediaType: 'application/dicom', transferSyntaxes: '*' });
    const neg = negotiate(parseAccept(req.headers.accept), offers);
    if (!neg) throw new RampartError('not-acceptable', 'this resource is available as multipart/related; type="application/dicom" (or application/dicom for one instance)');
    const list = await deps.retrieve.resolve(principal, scopeOf(params));
    const ts = neg.transferSyntax ?? AS_STORED;
    if (ts !== AS_STORED) {
      const cannot = list.find((i) => !deps.render.canTranscode(i, ts));
      if (cannot) throw new RampartError('not-acceptable', `an instance stored as ${cannot.TransferSyntaxUID} cannot be converted to ${ts}; ask with transfer-syntax=*`);
    }
    const base = deps.baseUrl(req);
    const body = async (i: StoredInstance): Promise<Buffer | Readable> =>
      ts === AS_STORED || ts === i.TransferSyntaxUID ? deps.retrieve.open(i) : deps.render.transcoded(i, ts);
    if (neg.mediaType === 'application/dicom') {
      const i = list[0]!;
      res.writeHead(200, { 'content-type': `application/dicom; transfer-syntax=${ts === AS_STORED ? i.TransferSyntaxUID : ts}` });
      if (req.method === 'HEAD') { res.end(); return; }
      const b = await body(i);
      if (Buffer.isBuffer(b)) res.end(b);
      else { for await (const c of b) if (!res.write(c)) await new Promise((r) => res.once('drain', r)); res.end(); }
      return;
    }
    // Small objects are read whole, one read each, and the next is read while this one is sent;
    // large ones are streamed.
    const load = (i: StoredInstance): Promise<Buffer | Readable> =>
      i.size <= WHOLE_READ_BYTES && (ts === AS_STORED || ts === i.TransferSyntaxUID) ? deps.retrieve.readAll(i) : body(i);
    async function* parts(): AsyncIterable<MultipartOutPart> {
      let next = list.length ? load(list[0]!) : undefined;
      for (let k = 0; k < list.length; k++) {
        const i = list[k]!;
        const current = await next!;
        next = k + 1 < list.length ? load(list[k + 1]!) : undefined;
        next?.catch(() => undefined); // observed on the next turn
        yield {
          contentType: `application/dicom; transfer-syntax=${ts === AS_STORED ? i.TransferSyntaxUID : ts}`,
          headers: { 'content-location': instanceUrl(base, i) },
          body: current,
        };
      }
    }
    await sendMultipart(req, res, 'application/dicom', ts === AS_STORED ? '' : `; transfer-syntax=${ts}`, parts());
  };

  const metadata = async ({ req, res, params, principal }: Ctx) => {
    const neg = negotiate(parseAccept(req.headers.accept), [{ mediaType: 'application/dicom+json' }, { mediaType: 'application/json' }]);
    if (!neg) throw new RampartError('not-acceptable', 'metadata is available as application/dicom+json');
    const list = await deps.retrieve.metadata(principal, scopeOf(params));
    const base = deps.baseUrl(req);
    const marker = `"BulkDataURI":"${BULK_MARKER}`;
    const body = '[' + list.map(({ instance, json }) =>
      json.replaceAll(marker, `"BulkDataURI":"${instanceUrl(base, instance)}/bulkdata/`)).join(',') + ']';
    res.writeHead(200, { 'content-type': neg.mediaType, 'content-length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const frames = async ({ req, res, params, principal }: Ctx) => {
    const numbers = params.frames!.split(',').map((s) => (/^\d{1,9}$/.test(s) ? Number(s) : NaN));
    if (numbers.length === 0 || numbers.some((n) => !Number.isInteger(n) || n < 1)) throw badRequest('frame list must be positive integers separated by commas');
    if (numbers.length > 10_000) throw badRequest('more than 10000 frames requested');
    const [inst] = await deps.retrieve.resolve(principal, scopeOf(params), 'view');
    const accept = parseAccept(req.headers.accept);
    // Offer the stored form first only when the client names it; the default is native (PS3.18 8.7.3.4).
    const storedNative = ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99'].includes(inst!.TransferSyntaxUID);
    const offers: Offer[] = [
      { mediaType: 'multipart/related', type: 'application/octet-stream', transferSyntaxes: storedNative ? [inst!.TransferSyntaxUID, '1.2.840.10008.1.2.1'] : ['1.2.840.10008.1.2.1'] },
    ];
    let neg = negotiate(accept, offers);
    let native = true;
    if (!neg || (neg.transferSyntax === AS_STORED && !storedNative)) {
      // The client takes the frames as stored (compressed): `transfer-syntax=*` or the frame's own media type.
      const asStored = (await deps.render.frames(inst!, [numbers[0]!], false)).mediaType;
      neg = negotiate(accept, [
        { mediaType: 'multipart/related', type: asStored, transferSyntaxes: [inst!.TransferSyntaxUID], defaultTransferSyntax: inst!.TransferSyntaxUID },
        { mediaType: 'multipart/related', type: 'application/octet-stream', transferSyntaxes: [inst!.TransferSyntaxUID], defaultTransferSyntax: inst!.TransferSyntaxUID },
      ]);
      if (!neg) throw new RampartError('not-acceptable', `frames are stored as ${inst!.TransferSyntaxUID}; ask for type="${asStored}" or transfer-syntax=*`);
      native = false;
    }
    const out = await deps.render.frames(inst!, numbers, native);
    const type = native ? 'application/octet-stream' : neg.type ?? out.mediaType;
    await sendMultipart(req, res, type, `; transfer-syntax=${out.transferSyntaxUid}`, out.frames.map((f, k) => ({
      contentType: `${type}; transfer-syntax=${out.transferSyntaxUid}`,
      headers: { 'content-location': `${instanceUrl(deps.baseUrl(req), inst!)}/frames/${numbers[k]}` },
      body: f,
    })));
  };

  const bulkdata = async ({ req, res, params, principal }: Ctx) => {
    const [inst] = await deps.retrieve.resolve(principal, scopeOf(params), 'view');
    const b = await deps.render.bulk(inst!, params.path!);
    await sendMultipart(req, res, b.mediaType, '', b.parts.map((p) => ({ contentType: b.mediaType, body: p })));
  };

  // Rendered resources (PS3.18 10.4.1.1.3) need image codecs Rampart does not ship yet. The
  // access check still comes first, so outside the caller's scope the answer is 404, not 406.
  const rendered = async ({ params, principal }: Ctx) => {
    await deps.retrieve.resolve(principal, scopeOf(params), 'view');
    throw new RampartError('not-acceptable', 'rendered images are not available yet; retrieve the instances or frames');
  };

  router.add('GET', '/studies/:study', retrieve(false));
  router.add('GET', '/studies/:study/rendered', rendered);
  router.add('GET', '/studies/:study/series/:series/rendered', rendered);
  router.add('GET', '/studies/:study/series/:series/instances/:instance/rendered', rendered);
  router.add('GET', '/studies/:study/series/:series/instances/:instance/frames/:frames/rendered', rendered);
  router.add('GET', '/studies/:study/series/:series', retrieve(false));
  router.add('GET', '/studies/:study/series/:series/instances/:instance', retrieve(true));
  router.add('GET', '/studies/:study/metadata', metadata);
  router.add('GET', '/studies/:study/series/:series/metadata', metadata);
  router.add('GET', '/studies/:study/series/:series/instances/:instance/metadata', metadata);
  router.add('GET', '/studies/:study/series/:series/instances/:instance/frames/:frames', frames);
  router.add('GET', '/studies/:study/series/:series/instances/:instance/bulkdata/*path', bulkdata);
  registerRendered(router, deps);
}

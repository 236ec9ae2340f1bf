// WADO-RS rendered and thumbnail resources (PS3.18 8.3.5, 10.4.1.1.3 and 10.4.1.1.4): a study,
// series, instance or frames as consumer-format images, image/jpeg (the default, also for * / *)
// or image/png. Query parameters (8.3.5.1): window=center,width[,linear|linear-exact|sigmoid],
// viewport=vw,vh[,sx,sy,sw,sh], quality=1..100; annotation, charset and iccprofile are accepted
// and ignored. A study or series gives multipart/related, one image per instance (its first
// frame), at most render.maxRenderedInstances; an instance gives its first frame; frames give one
// image, or multipart/related for several. A thumbnail is one small image of a representative
// frame: the middle instance of the study's first series (or the next that has an image), the
// first frame of an instance, the frame named, at most render.thumbnailSize pixels on its longer side unless a viewport says otherwise.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RampartError, badRequest, isRampartError } from '../../errors.js';
import type { RenderedMediaType, RenderOptions } from '../../dicom/render/index.js';
import { parseViewport } from '../../dicom/render/viewport.js';
import type { VoiFunction, Window } from '../../dicom/render/voi.js';
import type { Principal } from '../../security/principal.js';
import type { RetrieveScope, StoredInstance } from '../../store/index/index-store.js';
import { negotiate, parseAccept, type Offer } from '../media-type.js';
import { newBoundary, writeMultipart } from '../multipart-writer.js';
import type { Router, RouteContext } from '../router.js';
import type { DicomWebDeps } from './context.js';

type Ctx = RouteContext & { principal: Principal };
const IMAGE_TYPES: RenderedMediaType[] = ['image/jpeg', 'image/png'];
/** How many instances a thumbnail tries before giving up (non-image objects are skipped). */
const THUMBNAIL_TRIES = 8;

const FUNCTIONS: Record<string, VoiFunction> = { linear: 'LINEAR', 'linear-exact': 'LINEAR_EXACT', sigmoid: 'SIGMOID' };

/** window=center,width[,function] (PS3.18 8.3.5.1.4); undefined when absent. */
export function parseWindow(s: string | null): Window | undefined {
  if (s === null) return undefined;
  const [c, w, f, ...rest] = s.split(',').map((x) => x.trim());
  const num = (x: string | undefined) => (x !== undefined && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?$/.test(x) ? Number(x) : NaN);
  const center = num(c), width = num(w);
  const fn = f === undefined || f === '' ? 'LINEAR' : FUNCTIONS[f.toLowerCase()];
  if (rest.length || !Number.isFinite(center) || !Number.isFinite(width) || !fn) throw badRequest('window is center,width[,linear|linear-exact|sigmoid]');
  if (fn === 'LINEAR' ? width < 1 : width <= 0) throw badRequest('window width must be at least 1 (linear) or above 0');
  return { center, width, fn };
}

export function parseQuality(s: string | null): number | undefined {
  if (s === null) return undefined;
  if (!/^\d{1,3}$/.test(s) || Number(s) < 1 || Number(s) > 100) throw badRequest('quality is an integer from 1 to 100');
  return Number(s);
}

export function registerRendered(router: Router<Principal>, deps: DicomWebDeps): void {
  const limits = deps.render.limits;

  /** The image type to answer with and whether the client wants multipart/related. */
  function negotiateImage(req: IncomingMessage, many: boolean): { mediaType: RenderedMediaType; multipart: boolean } {
    const offers: Offer[] = [
      ...IMAGE_TYPES.map((t) => ({ mediaType: many ? 'multipart/related' : t, type: many ? t : undefined })),
      ...IMAGE_TYPES.map((t) => ({ mediaType: many ? t : 'multipart/related', type: many ? undefined : t })),
    ];
    const neg = negotiate(parseAccept(req.headers.accept), offers);
    if (!neg) throw new RampartError('not-acceptable', 'rendered resources are available as image/jpeg or image/png (or multipart/related of them)');
    const mediaType = (neg.type ?? neg.mediaType) as RenderedMediaType;
    return { mediaType, multipart: neg.mediaType === 'multipart/related' };
  }

  function options(query: URLSearchParams, mediaType: RenderedMediaType, thumbnail: boolean): Omit<RenderOptions, 'frame'> {
    const vp = query.get('viewport');
    return {
      mediaType,
      window: parseWindow(query.get('window')),
      viewport: vp !== null ? parseViewport(vp, limits.maxViewport) : thumbnail ? { vw: limits.thumbnailSize, vh: limits.thumbnailSize } : undefined,
      quality: parseQuality(query.get('quality')),
    };
  }

  async function send(req: IncomingMessage, res: ServerResponse, mediaType: string, multipart: boolean, images: { body: Buffer; location?: string }[]): Promise<void> {
    if (!multipart) {
      const body = images[0]!.body;
      res.writeHead(200, { 'content-type': mediaType, 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const boundary = newBoundary();
    res.writeHead(200, { 'content-type': `multipart/related; type="${mediaType}"; boundary=${boundary}` });
    if (req.method === 'HEAD') { res.end(); return; }
    await writeMultipart(res, boundary, images.map((i) => ({ contentType: mediaType, headers: i.location ? { 'content-location': i.location } : undefined, body: i.body })));
    res.end();
  }

  const scopeOf = (p: Record<string, string>): RetrieveScope => ({ StudyInstanceUID: p.study!, SeriesInstanceUID: p.series, SOPInstanceUID: p.instance });
  const where = (req: IncomingMessage, i: StoredInstance) =>
    `${deps.baseUrl(req)}/studies/${i.StudyInstanceUID}/series/${i.SeriesInstanceUID}/instances/${i.SOPInstanceUID}`;

  // Study and series: every instance's first frame, one part each.
  const renderedMany = async ({ req, res, params, query, principal }: Ctx) => {
    const { mediaType } = negotiateImage(req, true);
    const o = options(query, mediaType, false);
    const list = await deps.retrieve.resolve(principal, scopeOf(params), 'view');
    if (list.length > limits.maxRenderedInstances) {
      throw new RampartError('too-large', `${list.length} instances: at most ${limits.maxRenderedInstances} are rendered in one request; ask per series or instance`);
    }
    const images: { body: Buffer; location: string }[] = [];
    for (const i of list) {
      try {
        images.push({ body: await deps.render.rendered(i, { ...o, frame: 1 }), location: `${where(req, i)}/rendered` });
      } catch (e) {
        if (!isRampartError(e, 'not-acceptable')) throw e; // objects without an image are left out
      }
    }
    if (images.length === 0) throw new RampartError('not-acceptable', 'no instance in this scope has an image to render');
    await send(req, res, mediaType, true, images);
  };

  const renderedInstance = async ({ req, res, params, query, principal }: Ctx) => {
    const { mediaType, multipart } = negotiateImage(req, false);
    const o = options(query, mediaType, false);
    const [inst] = await deps.retrieve.resolve(principal, scopeOf(params), 'view');
    await send(req, res, mediaType, multipart, [{ body: await deps.render.rendered(inst!, { ...o, frame: 1 }) }]);
  };

  const renderedFrames = async ({ req, res, params, query, principal }: Ctx) => {
    const numbers = frameList(params.frames!, limits.maxRenderedInstances);
    const { mediaType, multipart } = negotiateImage(req, numbers.length > 1);
    const o = options(query, mediaType, false);
    const [inst] = await deps.retrieve.resolve(principal, scopeOf(params), 'view');
    const bodies = await deps.render.renderedFrames(inst!, numbers, o);
    const images = bodies.map((body, k) => ({ body, location: `${where(req, inst!)}/frames/${numbers[k]}/rendered` }));
    await send(req, res, mediaType, multipart || numbers.length > 1, images);
  };

  const thumbnail = async ({ req, res, params, query, principal }: Ctx) => {
    const { mediaType, multipart } = negotiateImage(req, false);
    const o = options(query, mediaType, true);
    const scope = scopeOf(params);
    const list = await deps.retrieve.resolve(principal, scope, 'view');
    let frame = 1;
    if (params.frames !== undefined) {
      const numbers = frameList(params.frames, 1);
      if (numbers.length !== 1) throw badRequest('a thumbnail is of one frame');
      frame = numbers[0]!;
    }
    // The study's first series, then its middle instance first (list order is the index's).
    const series = list.filter((i) => i.SeriesInstanceUID === list[0]!.SeriesInstanceUID);
    const mid = Math.floor(series.length / 2);
    const order = [...series.slice(mid), ...series.slice(0, mid)].slice(0, THUMBNAIL_TRIES);
    let lastError: unknown;
    for (const i of order) {
      try {
        const body = await deps.render.rendered(i, { ...o, frame });
        await send(req, res, mediaType, multipart, [{ body }]);
        return;
      } catch (e) {
        if (!isRampartError(e, 'not-acceptable')) throw e;
        lastError = e;
      }
    }
    throw lastError ?? new RampartError('not-acceptable', 'nothing here has an image to show');
  };

  const base = '/studies/:study';
  router.add('GET', `${base}/rendered`, renderedMany);
  router.add('GET', `${base}/series/:series/rendered`, renderedMany);
  router.add('GET', `${base}/series/:series/instances/:instance/rendered`, renderedInstance);
  router.add('GET', `${base}/series/:series/instances/:instance/frames/:frames/rendered`, renderedFrames);
  router.add('GET', `${base}/thumbnail`, thumbnail);
  router.add('GET', `${base}/series/:series/thumbnail`, thumbnail);
  router.add('GET', `${base}/series/:series/instances/:instance/thumbnail`, thumbnail);
  router.add('GET', `${base}/series/:series/instances/:instance/frames/:frames/thumbnail`, thumbnail);
}

function frameList(s: string, max: number): number[] {
  const numbers = s.split(',').map((x) => (/^\d{1,9}$/.test(x) ? Number(x) : NaN));
  if (numbers.some((n) => !Number.isInteger(n) || n < 1)) throw badRequest('frame list must be positive integers separated by commas');
  if (numbers.length > max) throw new RampartError('too-large', `at most ${max} frames are rendered in one request`);
  return numbers;
}

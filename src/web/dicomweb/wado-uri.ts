// WADO-URI (PS3.18 9): ?requestType=WADO&studyUID=&seriesUID=&objectUID=&contentType=...
// application/dicom gives the object (transferSyntax converts it); image/jpeg (the default) and
// image/png render one frame through the same renderer as WADO-RS rendered resources, with
// frameNumber, windowCenter/windowWidth, rows/columns (fit within) and imageQuality (9.1.2).
import { RampartError, badRequest } from '../../errors.js';
import type { RenderedMediaType } from '../../dicom/render/index.js';
import type { Principal } from '../../security/principal.js';
import type { Router, RouteContext } from '../router.js';
import type { DicomWebDeps } from './context.js';
import { parseQuality, parseWindow } from './rendered.js';

const RENDERED: readonly string[] = ['image/jpeg', 'image/png'];

export function registerWadoUri(router: Router<Principal>, deps: DicomWebDeps): void {
  const wado = async ({ req, res, query, principal }: RouteContext & { principal: Principal }) => {
    if (query.get('requestType') !== 'WADO') throw badRequest('requestType=WADO is required');
    const study = query.get('studyUID'), series = query.get('seriesUID'), object = query.get('objectUID');
    if (!study || !series || !object) throw badRequest('studyUID, seriesUID and objectUID are required');
    const contentType = (query.get('contentType') ?? 'image/jpeg').split(',').map((s) => s.trim().split(';')[0]!.toLowerCase());
    const scope = { StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: object };
    if (!contentType.includes('application/dicom')) {
      const mediaType = contentType.find((t) => RENDERED.includes(t)) ?? (contentType.includes('*/*') || contentType.includes('image/*') ? 'image/jpeg' : undefined);
      if (!mediaType) throw new RampartError('not-acceptable', 'contentType may be application/dicom, image/jpeg or image/png');
      const frame = query.get('frameNumber') ?? '1';
      if (!/^\d{1,9}$/.test(frame) || Number(frame) < 1) throw badRequest('frameNumber is a positive integer');
      const wc = query.get('windowCenter'), ww = query.get('windowWidth');
      if ((wc === null) !== (ww === null)) throw badRequest('windowCenter and windowWidth go together');
      const size = (k: string): number | undefined => {
        const v = query.get(k);
        if (v === null) return undefined;
        if (!/^\d{1,6}$/.test(v) || Number(v) < 1 || Number(v) > deps.render.limits.maxViewport) throw badRequest(`${k} must be 1..${deps.render.limits.maxViewport}`);
        return Number(v);
      };
      const rows = size('rows'), columns = size('columns');
      const max = deps.render.limits.maxViewport;
      const [inst] = await deps.retrieve.resolve(principal, scope, 'view');
      const body = await deps.render.rendered(inst!, {
        frame: Number(frame), mediaType: mediaType as RenderedMediaType,
        window: wc !== null ? parseWindow(`${wc},${ww}`) : undefined,
        viewport: rows || columns ? { vw: columns ?? max, vh: rows ?? max } : undefined,
        quality: parseQuality(query.get('imageQuality')),
      });
      res.writeHead(200, { 'content-type': mediaType, 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const [inst] = await deps.retrieve.resolve(principal, scope);
    const ts = query.get('transferSyntax') ?? inst!.TransferSyntaxUID;
    if (!deps.render.canTranscode(inst!, ts)) throw new RampartError('not-acceptable', `cannot convert ${inst!.TransferSyntaxUID} to ${ts}`);
    res.writeHead(200, { 'content-type': 'application/dicom' });
    if (req.method === 'HEAD') { res.end(); return; }
    if (ts === inst!.TransferSyntaxUID) {
      for await (const c of deps.retrieve.open(inst!)) if (!res.write(c)) await new Promise((r) => res.once('drain', r));
      res.end();
    } else res.end(await deps.render.transcoded(inst!, ts));
  };
  router.add('GET', '/wado', wado);
}

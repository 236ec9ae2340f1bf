// WADO-URI (PS3.18 9): ?requestType=WADO&studyUID=&seriesUID=&objectUID=&contentType=application/dicom.
// Rendered images (image/jpeg, the default contentType) need codecs Rampart does not ship yet: 406.
import { RampartError, badRequest } from '../../errors.js';
import type { Principal } from '../../security/principal.js';
import type { Router, RouteContext } from '../router.js';
import type { DicomWebDeps } from './context.js';

export function registerWadoUri(router: Router<Principal>, deps: DicomWebDeps): void {
  const wado = async ({ req, res, query, principal }: RouteContext & { principal: Principal }) => {
    if (query.get('requestType') !== 'WADO') throw badRequest('requestType=WADO is required');
    const study = query.get('studyUID'), series = query.get('seriesUID'), object = query.get('objectUID');
    if (!study || !series || !object) throw badRequest('studyUID, seriesUID and objectUID are required');
    const contentType = (query.get('contentType') ?? 'image/jpeg').split(',').map((s) => s.trim());
    if (!contentType.includes('application/dicom')) {
      throw new RampartError('not-acceptable', 'only contentType=application/dicom is available (no rendered images yet)');
    }
    const [inst] = await deps.retrieve.resolve(principal, { StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: object });
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

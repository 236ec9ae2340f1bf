// DELETE of a study, series or instance (PS3.18 10.8 "Delete" is not standard for all servers;
// dcm4chee and Orthanc offer it). Admin scope only, through the access policy.
import type { Principal } from '../../security/principal.js';
import type { Router, RouteContext } from '../router.js';
import type { DicomWebDeps } from './context.js';

export function registerDelete(router: Router<Principal>, deps: DicomWebDeps): void {
  const del = async ({ res, params, principal }: RouteContext & { principal: Principal }) => {
    await deps.deleter.delete(principal, { StudyInstanceUID: params.study!, SeriesInstanceUID: params.series, SOPInstanceUID: params.instance });
    res.writeHead(204);
    res.end();
  };
  router.add('DELETE', '/studies/:study', del);
  router.add('DELETE', '/studies/:study/series/:series', del);
  router.add('DELETE', '/studies/:study/series/:series/instances/:instance', del);
}

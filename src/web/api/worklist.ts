// POST /api/worklist: the web app's study search. Same QueryService (and so the same matching,
// access checks and audit) as QIDO-RS, but the filters travel in the body, never in a URL that
// a proxy or access log could keep, and the list can be sorted by any column it shows.
import { badRequest } from '../../errors.js';
import type { QueryRequest } from '../../services/query.js';
import type { Principal } from '../../security/principal.js';
import type { StudyOrderColumn } from '../../store/index/index-store.js';
import type { Router } from '../router.js';
import type { DicomWebDeps } from '../dicomweb/context.js';
import { optText, readJson, sendJson } from './json.js';

const SORTABLE: Record<string, StudyOrderColumn> = {
  date: 'StudyDate', name: 'PatientNameNorm', id: 'PatientID', accession: 'AccessionNumber', description: 'StudyDescription',
};
const DATE = /^\d{8}$/;
export const WORKLIST_MAX_PAGE = 200;

/** The body's filters as QIDO match keys; a name without wildcard matches as a prefix, the way people type. */
export function worklistRequest(body: Record<string, unknown>): QueryRequest {
  const keys = new Map<string, string>();
  const name = optText(body.patientName, 'patientName', 128);
  if (name) keys.set('00100010', /[*?]/.test(name) ? name : `${name}*`);
  const id = optText(body.patientId, 'patientId', 64);
  if (id) keys.set('00100020', id);
  const acc = optText(body.accession, 'accession', 64);
  if (acc) keys.set('00080050', acc);
  const from = optText(body.dateFrom, 'dateFrom', 8), to = optText(body.dateTo, 'dateTo', 8);
  if ((from && !DATE.test(from)) || (to && !DATE.test(to))) throw badRequest('dates are YYYYMMDD');
  if (from || to) keys.set('00080020', `${from ?? ''}-${to ?? ''}`);
  const modality = optText(body.modality, 'modality', 16);
  if (modality) {
    if (!/^[A-Z0-9_]{1,16}$/.test(modality)) throw badRequest('modality is a code such as CT or MR');
    keys.set('00080061', modality);
  }
  const limit = body.limit ?? 50, offset = body.offset ?? 0;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > WORKLIST_MAX_PAGE) throw badRequest(`limit is 1-${WORKLIST_MAX_PAGE}`);
  if (!Number.isInteger(offset) || (offset as number) < 0 || (offset as number) > 1e9) throw badRequest('offset is a non-negative integer');
  const sort = optText(body.sort, 'sort', 16) ?? 'date';
  const column = SORTABLE[sort];
  if (!column) throw badRequest(`sort is one of ${Object.keys(SORTABLE).join(', ')}`);
  const descending = body.descending === undefined ? column === 'StudyDate' : body.descending === true;
  // ReferringPhysicianName and the study counters are added to what QIDO returns at study level.
  return { level: 'STUDY', keys, includeFields: new Set(['00081030', '00100030', '00100040']), limit: (limit as number) + 1, offset: offset as number, order: { column, descending } };
}

export function registerWorklist(router: Router<Principal>, deps: Pick<DicomWebDeps, 'query'>): void {
  router.add('POST', '/api/worklist', async ({ req, res, principal }) => {
    const request = worklistRequest(await readJson(req));
    const result = await deps.query.search(principal, request);
    const page = request.limit! - 1;
    sendJson(res, 200, { rows: result.rows.slice(0, page), more: result.rows.length > page });
  });
}

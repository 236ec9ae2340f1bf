// The audit API (read-only, 'read-audit' permission, every read itself audited):
//   GET /api/audit/fhir/AuditEvent?patient=&agent=&entity-id=&action=&outcome=&date=ge..&_count=
//       FHIR R4 searchset Bundle of AuditEvent (IHE BALP shape), newest first
//   GET /api/audit/disclosures?patient=ID[&format=json|csv|pdf][&since&until]  accounting of disclosures
//   GET /api/audit/accesses?user=NAME | ?study=UID [&format=...]                what a user saw / who saw a study
//   GET /api/audit/alerts                                                        unusual-access alerts
import type { ServerResponse } from 'node:http';
import { badRequest } from '../../errors.js';
import type { AuditSource } from '../../security/audit/dicom-xml.js';
import { fhirId, toFhirAuditEvent } from '../../security/audit/fhir.js';
import { renderReport } from '../../security/audit/report-format.js';
import type { AccessRow, AuditFilter, AuditReports } from '../../security/audit/reports.js';
import type { Principal } from '../../security/principal.js';
import type { Router } from '../router.js';

export interface AuditApiDeps { reports: AuditReports; source: AuditSource }

const MAX_PARAM = 256;
function param(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (v.length > MAX_PARAM) throw badRequest(`${name} is too long`);
  return v;
}

function time(v: string, name: string): Date {
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime())) throw badRequest(`${name}: not a date or date-time`);
  return d;
}

/** FHIR date search (ge, gt, le, lt, eq prefixes; a bare date means that day). */
function dateRange(q: URLSearchParams, f: AuditFilter): void {
  for (const v of q.getAll('date').slice(0, 4)) {
    const m = /^(eq|ge|gt|le|lt)?(.+)$/.exec(v)!;
    const op = m[1] ?? 'eq', d = time(m[2]!, 'date');
    const dayOnly = /^\d{4}-\d{2}-\d{2}$/.test(m[2]!);
    const end = new Date(d.getTime() + (dayOnly ? 86_400_000 : 1));
    if (op === 'ge') f.since = d;
    else if (op === 'gt') f.since = end;
    else if (op === 'lt') f.until = d;
    else if (op === 'le') f.until = end;
    else { f.since = d; f.until = end; }
  }
  const since = param(q, 'since'), until = param(q, 'until');
  if (since) f.since = time(since, 'since');
  if (until) f.until = time(until, 'until');
}

function sendRows(res: ServerResponse, format: string | undefined, title: string, rows: AccessRow[]): void {
  if (format !== undefined && format !== 'json' && format !== 'csv' && format !== 'pdf') throw badRequest('format must be json, csv or pdf');
  const { contentType, body } = renderReport(format ?? 'json', title, rows);
  res.writeHead(200, { 'content-type': contentType, ...(format === 'csv' || format === 'pdf' ? { 'content-disposition': `attachment; filename="audit.${format}"` } : {}) });
  res.end(body);
}

export function registerAuditApi(router: Router<Principal>, deps: AuditApiDeps): void {
  router.add('GET', '/api/audit/fhir/AuditEvent', async ({ res, query, principal, req }) => {
    const f: AuditFilter = {
      patient: param(query, 'patient') ?? param(query, 'entity-id'), agent: param(query, 'agent'), study: param(query, 'study'), action: param(query, 'action'),
    };
    const outcome = param(query, 'outcome');
    if (outcome) f.outcome = outcome === '0' || outcome === 'success' ? 'success' : 'failure';
    dateRange(query, f);
    const count = Number(param(query, '_count') ?? 100);
    if (!Number.isInteger(count) || count < 0) throw badRequest('_count must be a non-negative integer');
    const entries = await deps.reports.search(principal, f, count);
    res.writeHead(200, { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify({
      resourceType: 'Bundle', type: 'searchset', total: entries.length,
      link: [{ relation: 'self', url: req.url }],
      entry: entries.map((e) => ({ fullUrl: `AuditEvent/${fhirId(e)}`, resource: toFhirAuditEvent(e, deps.source), search: { mode: 'match' } })),
    }));
  });

  router.add('GET', '/api/audit/disclosures', async ({ res, query, principal }) => {
    const patient = param(query, 'patient');
    if (patient === undefined) throw badRequest('patient is required');
    const f: AuditFilter = {};
    dateRange(query, f);
    sendRows(res, param(query, 'format'), `Accounting of disclosures for patient ${patient}`, await deps.reports.disclosures(principal, patient, f));
  });

  router.add('GET', '/api/audit/accesses', async ({ res, query, principal }) => {
    const user = param(query, 'user'), study = param(query, 'study');
    if ((user === undefined) === (study === undefined)) throw badRequest('give exactly one of user and study');
    const f: AuditFilter = {};
    dateRange(query, f);
    const rows = user !== undefined ? await deps.reports.accessesByUser(principal, user, f) : await deps.reports.accessesOfStudy(principal, study!, f);
    sendRows(res, param(query, 'format'), user !== undefined ? `Accesses by user ${user}` : `Accesses to study ${study}`, rows);
  });

  router.add('GET', '/api/audit/alerts', async ({ res, query, principal }) => {
    const f: AuditFilter = {};
    dateRange(query, f);
    const alerts = await deps.reports.alerts(principal, f);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ alerts: alerts.map((a) => ({ time: a.time, kind: a.event.target, detail: a.event.detail, principal: a.event.principal.username, studies: a.event.studies ?? [] })) }));
  });
}

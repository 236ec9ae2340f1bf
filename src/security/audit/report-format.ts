// Access reports (accounting of disclosures, accesses by user or of a study) as JSON, CSV or PDF:
// one rendering for the HTTP API and the command line.
import { csvRow } from './csv.js';
import { textPdf } from './pdf.js';
import type { AccessRow } from './reports.js';

export type ReportFormat = 'json' | 'csv' | 'pdf';

const HEADER = ['time', 'user', 'kind', 'door', 'ip', 'action', 'outcome', 'patients', 'studies', 'instances', 'why', 'destination'];
const cells = (r: AccessRow) => [r.time, r.user, r.kind, r.door, r.ip, r.action, r.outcome, r.patients.join(' | '), r.studies.join(' | '), r.instances ?? '', r.why, r.destination];

export function renderReport(format: ReportFormat, title: string, rows: AccessRow[]): { contentType: string; body: Buffer } {
  if (format === 'csv') return { contentType: 'text/csv; charset=utf-8', body: Buffer.from(csvRow(HEADER) + rows.map((r) => csvRow(cells(r))).join('')) };
  if (format === 'pdf') {
    const lines = rows.map((r) => `${r.time}  ${r.user} (${r.kind}, ${r.door}${r.ip ? `, ${r.ip}` : ''})  ${r.action} ${r.outcome}  studies: ${r.studies.join(', ') || '-'}`
      + `${r.instances !== null ? `  instances: ${r.instances}` : ''}${r.destination ? `  to ${r.destination}` : ''}${r.why ? `  why: ${r.why}` : ''}`);
    return { contentType: 'application/pdf', body: textPdf(`${title} - ${rows.length} entries, newest first, produced ${new Date().toISOString()}`, lines) };
  }
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify({ title, entries: rows })) };
}

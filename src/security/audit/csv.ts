// Audit entries as CSV (RFC 4180) for spreadsheets: one row per entry, PHI included (the export is
// itself an audited read of the trail). Cells that a spreadsheet would run as a formula are quoted with '.
import type { ChainEntry } from './chain.js';

export const CSV_HEADER = ['time', 'seq', 'action', 'outcome', 'user', 'kind', 'door', 'ip', 'patient_ids', 'patient_names', 'studies', 'instances', 'reason', 'break_glass_reason', 'detail', 'hash'];

export function csvCell(v: unknown): string {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvRow = (cells: unknown[]) => cells.map(csvCell).join(',') + '\r\n';

export function toCsvRow(x: ChainEntry): string {
  const e = x.event;
  return csvRow([
    x.time, x.seq, e.action, e.outcome, e.principal.username, e.principal.kind, e.principal.door, e.principal.ip,
    (e.patients ?? []).map((p) => p.id).join(' | '), (e.patients ?? []).map((p) => p.name ?? '').join(' | '),
    (e.studies ?? []).join(' | '), e.instances, e.reason, e.breakGlassReason, [e.target, e.detail, e.destination && `to ${e.destination}`].filter(Boolean).join('; '), x.hash,
  ]);
}

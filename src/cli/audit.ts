// `rampart audit verify` and `rampart audit export --format dicom|fhir|csv [--since] [--until]`.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { relative } from 'node:path';
import { auditDir, auditSource, openAuditTrail } from '../security/audit/open.js';
import { listChains } from '../security/audit/files.js';
import { loadPublicKey } from '../security/audit/keys.js';
import { readTrail } from '../security/audit/reader.js';
import { describe, verifyTrail, type VerifyReport } from '../security/audit/verify.js';
import { toDicomXml } from '../security/audit/dicom-xml.js';
import { toFhirAuditEvent } from '../security/audit/fhir.js';
import { CSV_HEADER, csvRow, toCsvRow } from '../security/audit/csv.js';
import { systemPrincipal } from '../security/principal.js';
import { AuditReports } from '../security/audit/reports.js';
import { renderReport } from '../security/audit/report-format.js';
import { writeFile } from 'node:fs/promises';
import { configFrom, parse, parseDuration, type Io } from './common.js';

export const usage = 'rampart audit verify [--public-key FILE] [--json]\nrampart audit export --format dicom|fhir|csv [--since TIME] [--until TIME] [--out FILE]\nrampart audit disclosures --patient ID | --user NAME | --study UID [--format json|csv|pdf] [--since TIME] [--until TIME] [--out FILE]\n  TIME is an ISO date or date-time, or a duration back from now (24h, 30d)';

/** "2026-11-01", "2026-11-01T08:00:00Z" or "24h" (that long ago). */
export function parseTime(s: string, now = Date.now()): Date {
  if (/^\d+[smhd]$/.test(s)) return new Date(now - parseDuration(s));
  const d = new Date(s);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(d.getTime())) throw new Error(`time "${s}" must be an ISO date or date-time, or a duration like 24h`);
  return d;
}

export async function audit(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    'public-key': { type: 'string' }, format: { type: 'string' }, patient: { type: 'string' }, user: { type: 'string' }, study: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, out: { type: 'string' },
  });
  const [verb] = positionals;
  if (values.help || !verb) { io.out(usage); return values.help ? 0 : 2; }
  const config = configFrom(values);
  const dir = auditDir(config);
  switch (verb) {
    case 'verify': {
      const pub = await loadPublicKey(dir, values['public-key']);
      const reports: (VerifyReport & { chain: string })[] = [];
      for (const chain of await listChains(dir)) reports.push({ chain: relative(dir, chain) || '.', ...(await verifyTrail(chain, pub)) });
      const bad = reports.filter((r) => !r.ok);
      if (values.json) io.out(JSON.stringify({ ok: bad.length === 0, chains: reports.map((r) => ({ ...r, message: r.problem ? describe(r.problem) : undefined })) }));
      else if (bad.length === 0) io.out(`audit trail intact: ${reports.reduce((n, r) => n + r.entries, 0)} entries in ${reports.length} chain(s), ${reports.reduce((n, r) => n + r.checkpoints, 0)} signed checkpoint(s)`);
      for (const r of bad) io.err(`rampart audit verify: ${r.chain === '.' ? '' : `chain ${r.chain}: `}${describe(r.problem!)}`);
      return bad.length ? 1 : 0;
    }
    case 'export': {
      const format = values.format;
      if (format !== 'dicom' && format !== 'fhir' && format !== 'csv') { io.err(usage); return 2; }
      const range = { since: values.since ? parseTime(values.since) : undefined, until: values.until ? parseTime(values.until) : undefined };
      // Reading the trail is itself an audited event (PS3.15 A.5.3.2 Audit Log Used), written before the data goes out.
      const trail = await openAuditTrail(config);
      try {
        await trail.record({ action: 'audit-read', outcome: 'success', principal: systemPrincipal(), target: `export:${format}`, detail: `${values.since ?? ''}..${values.until ?? ''}` });
      } finally {
        await trail.close();
      }
      const entries = await readTrail(dir, range);
      const src = auditSource(config);
      const file = values.out ? createWriteStream(values.out, { mode: 0o600 }) : undefined;
      const write = async (s: string) => { if (file) { if (!file.write(s)) await once(file, 'drain'); } else io.out(s.replace(/\r?\n$/, '')); };
      if (format === 'csv') await write(csvRow(CSV_HEADER));
      // dicom: one AuditMessage per line; fhir: NDJSON of AuditEvent (the FHIR bulk data format).
      for (const e of entries) await write(format === 'csv' ? toCsvRow(e) : (format === 'dicom' ? toDicomXml(e, src) : JSON.stringify(toFhirAuditEvent(e, src))) + '\n');
      if (file) { file.end(); await once(file, 'finish'); }
      if (values.out) io.err(`${entries.length} audit entries written to ${values.out}`);
      return 0;
    }
    case 'disclosures': {
      // Accounting of disclosures (or accesses by a user / of a study) without the web app.
      const format = values.format ?? 'csv';
      const asked = [values.patient, values.user, values.study].filter((x) => x !== undefined).length;
      if ((format !== 'json' && format !== 'csv' && format !== 'pdf') || asked !== 1) { io.err(usage); return 2; }
      if (format === 'pdf' && !values.out) { io.err('rampart audit disclosures: a PDF needs --out FILE'); return 2; }
      const range = { since: values.since ? parseTime(values.since) : undefined, until: values.until ? parseTime(values.until) : undefined };
      const trail = await openAuditTrail(config);
      try {
        const reports = new AuditReports(dir, trail);
        const p = systemPrincipal();
        const rows = values.patient !== undefined ? await reports.disclosures(p, values.patient, range)
          : values.user !== undefined ? await reports.accessesByUser(p, values.user, range) : await reports.accessesOfStudy(p, values.study!, range);
        const title = values.patient !== undefined ? `Accounting of disclosures for patient ${values.patient}` : values.user !== undefined ? `Accesses by user ${values.user}` : `Accesses to study ${values.study}`;
        const { body } = renderReport(format, title, rows);
        if (values.out) { await writeFile(values.out, body, { mode: 0o600 }); io.err(`${rows.length} entries written to ${values.out}`); }
        else io.out(body.toString('utf8').replace(/\r?\n$/, ''));
      } finally {
        await trail.close();
      }
      return 0;
    }
    default: io.err(usage); return 2;
  }
}

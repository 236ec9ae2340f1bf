// Fills in the patients of the studies an event touched, from the index, when the service did
// not already know them: accounting of disclosures is asked by patient, so every access entry
// should name the patient while the index still knows who that is (before a delete).
import type { AuditEvent, AuditPatient } from '../../services/audit-port.js';
import type { IndexStore } from '../../store/index/index-store.js';

const MAX_STUDIES = 200;

/** A DICOM JSON (PS3.18 F) string value, or the Alphabetic group of a PN. */
function value(json: Record<string, { Value?: unknown[] }>, tag: string): string | undefined {
  const v = json[tag]?.Value?.[0];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic);
  return undefined;
}

export function patientsFromJson(jsons: Iterable<string>): AuditPatient[] {
  const out = new Map<string, AuditPatient>();
  for (const s of jsons) {
    try {
      const j = JSON.parse(s) as Record<string, { Value?: unknown[] }>;
      const id = value(j, '00100020') ?? '';
      const name = value(j, '00100010');
      if (!out.has(id)) out.set(id, name ? { id, name } : { id });
    } catch { /* not JSON: leave it out */ }
  }
  return [...out.values()];
}

export function patientEnricher(index: IndexStore): (e: AuditEvent) => Promise<AuditEvent> {
  return async (e) => {
    if (e.patients || !e.studies || e.studies.length === 0 || e.action === 'store' || e.action === 'delete' && e.outcome === 'success') return e;
    const studies = e.studies.filter((s) => typeof s === 'string' && s !== '').slice(0, MAX_STUDIES);
    if (studies.length === 0) return e;
    const rows = await index.query({
      level: 'STUDY', limit: MAX_STUDIES, offset: 0,
      conditions: [{ column: 'StudyInstanceUID', match: studies.length === 1 ? { kind: 'single', value: studies[0]! } : { kind: 'list', values: studies } }],
    });
    const patients = patientsFromJson(rows.map((r) => r.patientJson));
    return patients.length ? { ...e, patients } : e;
  };
}

// Fills in the patients of the studies an event touched, from the index, when the service did
// not already know them: accounting of disclosures is asked by patient, so every access entry
// should name the patient while the index still knows who that is (before a delete).
import { patientsFromJson, type AuditEvent } from '../../services/audit-port.js';
import type { IndexStore } from '../../store/index/index-store.js';

const MAX_STUDIES = 200;

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

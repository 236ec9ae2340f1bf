// The answers people ask the trail for: search (the FHIR API), accounting of disclosures for a
// patient, what a user accessed, who accessed a study, and the alerts. Every read needs the
// 'read-audit' permission and is itself recorded (PS3.15 A.5.3.2 Audit Log Used) before any
// entry is handed out.
import type { AuditAction, AuditEvent, AuditSink } from '../../services/audit-port.js';
import { authorize } from '../policy.js';
import type { Principal } from '../principal.js';
import type { ChainEntry } from './chain.js';
import { CODING } from './codes.js';
import { readTrail, type ReadRange } from './reader.js';

export interface AuditFilter extends ReadRange {
  patient?: string;
  /** User name or peer AE title of the requestor. */
  agent?: string;
  study?: string;
  /** A Rampart action name, or a FHIR/DICOM action code C, R, U, D, E. */
  action?: string;
  outcome?: 'success' | 'failure';
}

/** The actions that hand out or change a patient's data: what an accounting of disclosures lists. */
export const ACCESS_ACTIONS: ReadonlySet<AuditAction> = new Set<AuditAction>([
  'retrieve', 'metadata', 'query', 'store', 'import', 'export', 'delete', 'share-create', 'share-open', 'break-glass',
]);

export interface AccessRow {
  time: string; user: string; kind: string; door: string; ip: string; action: AuditAction; outcome: string;
  patients: string[]; studies: string[]; instances: number | null; why: string; destination: string;
}

export const toAccessRow = (x: ChainEntry): AccessRow => ({
  time: x.time, user: x.event.principal.username, kind: x.event.principal.kind, door: x.event.principal.door, ip: x.event.principal.ip ?? '',
  action: x.event.action, outcome: x.event.outcome, patients: (x.event.patients ?? []).map((p) => p.id), studies: x.event.studies ?? [],
  instances: x.event.instances ?? null, why: x.event.breakGlassReason ?? '', destination: x.event.destination ?? '',
});

export function matches(e: AuditEvent, f: AuditFilter): boolean {
  if (f.patient !== undefined && !(e.patients ?? []).some((p) => p.id === f.patient)) return false;
  if (f.agent !== undefined && e.principal.username !== f.agent) return false;
  if (f.study !== undefined && !(e.studies ?? []).includes(f.study)) return false;
  if (f.outcome !== undefined && e.outcome !== f.outcome) return false;
  if (f.action !== undefined) {
    const byCode = /^[CRUDE]$/.test(f.action);
    if (byCode ? CODING[e.action]?.action !== f.action : e.action !== f.action) return false;
  }
  return true;
}

export const MAX_RESULTS = 10_000;

export class AuditReports {
  constructor(private readonly auditDir: string, private readonly audit: AuditSink) {}

  /** Checks the permission and records the read (success or refusal) before reading. */
  private async read(principal: Principal, what: string, f: AuditFilter, keep: (e: AuditEvent) => boolean, limit: number): Promise<ChainEntry[]> {
    const base = { action: 'audit-read' as const, principal, target: what, patients: f.patient !== undefined ? [{ id: f.patient }] : undefined, studies: f.study ? [f.study] : undefined };
    try {
      authorize(principal, 'read-audit');
    } catch (e) {
      await this.audit.record({ ...base, outcome: 'failure', reason: 'access-denied' });
      throw e;
    }
    await this.audit.record({ ...base, outcome: 'success' });
    // Newest first: an auditor starts from the latest.
    return (await readTrail(this.auditDir, f, (x) => keep(x.event) && matches(x.event, f), limit)).reverse();
  }

  search(principal: Principal, f: AuditFilter, limit = 100): Promise<ChainEntry[]> {
    return this.read(principal, 'search', f, () => true, Math.min(limit, MAX_RESULTS));
  }

  /** Every access to a patient's data: who, when, what, and why for emergency access. */
  async disclosures(principal: Principal, patient: string, range: ReadRange = {}): Promise<AccessRow[]> {
    return (await this.read(principal, 'disclosures', { ...range, patient }, (e) => ACCESS_ACTIONS.has(e.action), MAX_RESULTS)).map(toAccessRow);
  }

  async accessesByUser(principal: Principal, user: string, range: ReadRange = {}): Promise<AccessRow[]> {
    return (await this.read(principal, 'accesses-by-user', { ...range, agent: user }, (e) => ACCESS_ACTIONS.has(e.action), MAX_RESULTS)).map(toAccessRow);
  }

  async accessesOfStudy(principal: Principal, study: string, range: ReadRange = {}): Promise<AccessRow[]> {
    return (await this.read(principal, 'accesses-of-study', { ...range, study }, (e) => ACCESS_ACTIONS.has(e.action), MAX_RESULTS)).map(toAccessRow);
  }

  async alerts(principal: Principal, range: ReadRange = {}): Promise<ChainEntry[]> {
    return this.read(principal, 'alerts', range, (e) => e.action === 'alert', MAX_RESULTS);
  }
}

// The audit port every service writes to, on success and on failure alike. The full trail
// (hash chain, signed checkpoints, DICOM and FHIR exports) is built behind this interface
// (src/security/audit/); services only describe what happened.
import type { Principal } from '../security/principal.js';

export type AuditAction =
  | 'store' | 'query' | 'retrieve' | 'metadata' | 'delete' | 'login' | 'token-create' | 'token-revoke'
  | 'user-create' | 'user-remove' | 'application-start' | 'application-stop' | 'import'
  | 'association' | 'peer-add' | 'peer-remove'
  // Reserved across sessions (authentication, authorization, audit, scan); see helper-common.md.
  | 'logout' | 'lockout' | 'mfa-enrol' | 'session-revoke' | 'break-glass' | 'rate-limit'
  | 'grant-add' | 'grant-remove' | 'share-create' | 'share-revoke' | 'share-open' | 'group-change'
  | 'config-change' | 'audit-read' | 'export' | 'identity-failure' | 'alert' | 'scan'
  // identity also records these two
  | 'mfa-reset' | 'password-change'
  // an administrator changed a user's role or disabled / enabled them (target: the user, detail: what)
  | 'user-change';

/** A patient an event touched, as the index knows it (the audit trail may hold PHI; logs may not). */
export interface AuditPatient { id: string; name?: string }

export interface AuditEvent {
  action: AuditAction;
  outcome: 'success' | 'failure';
  principal: Pick<Principal, 'kind' | 'username' | 'door' | 'ip'>;
  /** What was touched: UIDs the server indexed (they identify data, they are not names). */
  studies?: string[];
  instances?: number;
  /** Query keys as tag -> value, kept for the auditor (the audit trail is allowed to hold PHI; logs are not). */
  query?: Record<string, string>;
  /** Machine-readable reason code on failure. */
  reason?: string;
  /** Patients of the studies touched; filled by the service where it knows them, else by the trail from the index. */
  patients?: AuditPatient[];
  /** Series touched, when the access named them. */
  series?: string[];
  /** SOP classes with their instance counts (PS3.15 A.5.3 SOPClass/NumberOfInstances). */
  sopClasses?: Record<string, number>;
  /** Why emergency access was taken (break-glass), as the user typed it. */
  breakGlassReason?: string;
  /** DIMSE: the calling and called AE titles of the association. */
  callingAe?: string;
  calledAe?: string;
  /** Where data went or came from (C-MOVE destination AE, export target, import source). */
  destination?: string;
  source?: string;
  /** What an administrative change or an alert was about (user name, peer AE, grant, setting, alert kind). */
  target?: string;
  /** Free text for the auditor (an alert's explanation); never PHI beyond what the trail already holds. */
  detail?: string;
  /** A grant's or share link's server-made id, so the trail ties an opening to what allowed it. */
  grantId?: string;
}

export interface AuditSink {
  /** Resolves once the event is in the trail; rejects when it cannot be recorded (the access must then fail). */
  record(e: AuditEvent): Promise<void>;
}

export const noAudit: AuditSink = { record: async () => undefined };

/** A DICOM JSON (PS3.18 F) string value, or the Alphabetic group of a PN. */
function value(json: Record<string, { Value?: unknown[] }>, tag: string): string | undefined {
  const v = json[tag]?.Value?.[0];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic);
  return undefined;
}

/** The distinct patients (id, name) of stored patient-level DICOM JSON strings, for audit events. */
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

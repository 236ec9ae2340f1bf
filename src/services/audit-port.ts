// The audit port every service writes to, on success and on failure alike. The full trail
// (hash chain, signed checkpoints, DICOM and FHIR exports) is built behind this interface.
import type { Principal } from '../security/principal.js';

export type AuditAction =
  | 'store' | 'query' | 'retrieve' | 'metadata' | 'delete' | 'login' | 'token-create' | 'token-revoke'
  | 'user-create' | 'user-remove' | 'application-start' | 'application-stop' | 'import'
  | 'association' | 'peer-add' | 'peer-remove'
  // identity: sign-in, lockout, second factors, sessions
  | 'logout' | 'lockout' | 'mfa-enrol' | 'mfa-reset' | 'session-revoke' | 'password-change'
  | 'grant-add' | 'grant-remove' | 'break-glass' | 'group-change' | 'share-create' | 'share-revoke' | 'share-open' | 'rate-limit'
  | 'audit-read';

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
  /** The words a clinician gave to open a study outside their grants (break-glass), for the auditor. */
  justification?: string;
  /** A grant's or share link's server-made id, so the trail ties an opening to what allowed it. */
  grantId?: string;
}

export interface AuditSink {
  record(e: AuditEvent): Promise<void>;
}

export const noAudit: AuditSink = { record: async () => undefined };

// The access check of the data services, with a trace: a refusal is audited as a failure of the
// action it refused (PS3.15 A.5.3 records failures too; repeated ones raise an alert), then thrown.
import { accessDenied } from '../errors.js';
import { can, type Action } from '../security/policy.js';
import type { Principal } from '../security/principal.js';
import type { AuditAction, AuditSink } from './audit-port.js';

export async function authorizeAudited(audit: AuditSink, principal: Principal, action: Action, event: AuditAction, resource?: { studyInstanceUid?: string }): Promise<void> {
  if (can(principal, action)) return;
  // A refusal is refused whether or not it could be recorded (the trail fails closed anyway).
  await audit.record({
    action: event, outcome: 'failure', principal, reason: 'not-authorized',
    ...(resource?.studyInstanceUid ? { studies: [resource.studyInstanceUid] } : {}),
  }).catch(() => undefined);
  throw accessDenied();
}

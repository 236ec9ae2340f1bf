// What each Rampart audit action is in DICOM (PS3.15 A.5.3 event IDs, DCM event type codes of
// CID 8 / PS3.16, RFC 3881 action codes) and in FHIR R4 AuditEvent as IHE BALP uses it. One
// table, so a new action cannot be exported without deciding what it is.
import type { AuditAction } from '../../services/audit-port.js';

export interface Coded { code: string; system: 'DCM' | 'RFC-3881' | 'IHE'; display: string }

const dcm = (code: string, display: string): Coded => ({ code, system: 'DCM', display });

// PS3.15 A.5.3 event IDs (DCM).
export const EV = {
  applicationActivity: dcm('110100', 'Application Activity'),
  auditLogUsed: dcm('110101', 'Audit Log Used'),
  instancesAccessed: dcm('110103', 'DICOM Instances Accessed'),
  instancesTransferred: dcm('110104', 'DICOM Instances Transferred'),
  studyDeleted: dcm('110105', 'DICOM Study Deleted'),
  export: dcm('110106', 'Export'),
  import: dcm('110107', 'Import'),
  networkEntry: dcm('110108', 'Network Entry'),
  query: dcm('110112', 'Query'),
  securityAlert: dcm('110113', 'Security Alert'),
  userAuthentication: dcm('110114', 'User Authentication'),
};

// Event type codes (PS3.16 CID 8 Security Alert Type, and the application / login types).
export const TYPE = {
  applicationStart: dcm('110120', 'Application Start'),
  applicationStop: dcm('110121', 'Application Stop'),
  login: dcm('110122', 'Login'),
  logout: dcm('110123', 'Logout'),
  nodeAuthentication: dcm('110126', 'Node Authentication'),
  emergencyOverrideStarted: dcm('110127', 'Emergency Override Started'),
  networkConfiguration: dcm('110128', 'Network Configuration'),
  securityConfiguration: dcm('110129', 'Security Configuration'),
  softwareConfiguration: dcm('110131', 'Software Configuration'),
  useOfRestrictedFunction: dcm('110132', 'Use of Restricted Function'),
  objectSecurityAttributesChanged: dcm('110135', 'Object Security Attributes Changed'),
  securityRolesChanged: dcm('110136', 'Security Roles Changed'),
  userSecurityAttributesChanged: dcm('110137', 'User security Attributes Changed'),
};

/** RFC 3881 / PS3.15 EventActionCode: Create, Read, Update, Delete, Execute. */
export type ActionCode = 'C' | 'R' | 'U' | 'D' | 'E';

export interface EventCoding {
  eventId: Coded;
  /** Event type codes; a function when the type depends on the outcome. */
  types: (outcome: 'success' | 'failure') => Coded[];
  action: ActionCode;
}

const fixed = (...t: Coded[]) => () => t;
const none = () => [] as Coded[];
const alert = (t: Coded): Pick<EventCoding, 'eventId' | 'types' | 'action'> => ({ eventId: EV.securityAlert, types: fixed(t), action: 'E' });

export const CODING: Record<AuditAction, EventCoding> = {
  // A.5.3.1 Application Activity.
  'application-start': { eventId: EV.applicationActivity, types: fixed(TYPE.applicationStart), action: 'E' },
  'application-stop': { eventId: EV.applicationActivity, types: fixed(TYPE.applicationStop), action: 'E' },
  // A.5.3.2 Audit Log Used.
  'audit-read': { eventId: EV.auditLogUsed, types: none, action: 'R' },
  // A.5.3.4 DICOM Instances Accessed: read of metadata; C-STORE/STOW create is "Instances Transferred" (A.5.3.5).
  metadata: { eventId: EV.instancesAccessed, types: none, action: 'R' },
  // A.5.3.5 DICOM Instances Transferred: C for the receiver of a store, R for the sender of a retrieve.
  store: { eventId: EV.instancesTransferred, types: none, action: 'C' },
  retrieve: { eventId: EV.instancesTransferred, types: none, action: 'R' },
  // A.5.3.6 DICOM Study Deleted.
  delete: { eventId: EV.studyDeleted, types: none, action: 'D' },
  // A.5.3.7 Export and A.5.3.8 Import.
  export: { eventId: EV.export, types: none, action: 'R' },
  import: { eventId: EV.import, types: none, action: 'C' },
  // A.5.3.12 Query.
  query: { eventId: EV.query, types: none, action: 'E' },
  // A.5.3.14 User Authentication.
  login: { eventId: EV.userAuthentication, types: fixed(TYPE.login), action: 'E' },
  logout: { eventId: EV.userAuthentication, types: fixed(TYPE.logout), action: 'E' },
  // An association is node authentication (A.5.3.13 Security Alert, 110126) when refused, and
  // an accepted one is still the node authenticating: both are recorded with the same type.
  association: alert(TYPE.nodeAuthentication),
  'identity-failure': { eventId: EV.userAuthentication, types: fixed(TYPE.login), action: 'E' },
  // A.5.3.13 Security Alert, by CID 8 type.
  lockout: alert(TYPE.userSecurityAttributesChanged),
  'mfa-enrol': alert(TYPE.userSecurityAttributesChanged),
  'session-revoke': alert(TYPE.userSecurityAttributesChanged),
  'mfa-reset': alert(TYPE.userSecurityAttributesChanged),
  'password-change': alert(TYPE.userSecurityAttributesChanged),
  'token-create': alert(TYPE.userSecurityAttributesChanged),
  'token-revoke': alert(TYPE.userSecurityAttributesChanged),
  'user-create': alert(TYPE.securityRolesChanged),
  'user-remove': alert(TYPE.securityRolesChanged),
  'user-change': alert(TYPE.securityRolesChanged),
  'group-change': alert(TYPE.securityRolesChanged),
  'break-glass': alert(TYPE.emergencyOverrideStarted),
  'rate-limit': alert(TYPE.useOfRestrictedFunction),
  alert: alert(TYPE.useOfRestrictedFunction),
  scan: alert(TYPE.useOfRestrictedFunction),
  'grant-add': alert(TYPE.objectSecurityAttributesChanged),
  'grant-remove': alert(TYPE.objectSecurityAttributesChanged),
  'share-create': alert(TYPE.objectSecurityAttributesChanged),
  'share-revoke': alert(TYPE.objectSecurityAttributesChanged),
  // Opening a share link reads the shared study: an access, like WADO.
  'share-open': { eventId: EV.instancesAccessed, types: none, action: 'R' },
  'peer-add': alert(TYPE.networkConfiguration),
  'peer-remove': alert(TYPE.networkConfiguration),
  'config-change': alert(TYPE.softwareConfiguration),
};

/** PS3.15 A.5.1 EventOutcomeIndicator: 0 success, 4 minor failure, 8 serious failure. */
export function outcomeIndicator(outcome: 'success' | 'failure', action: AuditAction): '0' | '4' | '8' {
  if (outcome === 'success') return '0';
  // A refused access or sign-in is a serious failure of the request; a partial store is minor.
  return action === 'store' || action === 'retrieve' || action === 'import' ? '4' : '8';
}

// One audit entry as a DICOM Audit Message (PS3.15 A.5, XML valid against the A.5.1 schema),
// with the participants A.5.3 lists for its event: the requestor (user or peer AE, its IP),
// Rampart itself, the patients, studies and query involved.
import type { AuditEvent } from '../../services/audit-port.js';
import type { ChainEntry } from './chain.js';
import { CODING, outcomeIndicator, type Coded } from './codes.js';

export interface AuditSource {
  /** AuditSourceID: this node (its AE title, or a name the site chose). */
  id: string;
  /** The node's own AE title, for the application participant. */
  aeTitle: string;
  /** Host name or address of the node, for NetworkAccessPointID. */
  host?: string;
  siteId?: string;
}

// XML 1.0 cannot carry most control characters, even escaped: drop them.
const clean = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');
const esc = (s: string) => clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
const attrs = (a: Record<string, string | number | boolean | undefined>) =>
  Object.entries(a).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${esc(String(v))}"`).join('');
const code = (tag: string, c: Coded) => `<${tag}${attrs({ 'csd-code': c.code, codeSystemName: c.system, originalText: c.display })}/>`;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const ROLE = {
  application: { code: '110150', system: 'DCM', display: 'Application' } as Coded,
  destination: { code: '110152', system: 'DCM', display: 'Destination Role ID' } as Coded,
  source: { code: '110153', system: 'DCM', display: 'Source Role ID' } as Coded,
};
const ID_TYPE = {
  patient: { code: '2', system: 'RFC-3881', display: 'Patient Number' } as Coded,
  study: { code: '110180', system: 'DCM', display: 'Study Instance UID' } as Coded,
  sopClass: { code: '110181', system: 'DCM', display: 'SOP Class UID' } as Coded,
  node: { code: '110182', system: 'DCM', display: 'Node ID' } as Coded,
  user: { code: '11', system: 'RFC-3881', display: 'User Identifier' } as Coded,
  uri: { code: '12', system: 'RFC-3881', display: 'URI' } as Coded,
};
/** Study Root Query/Retrieve Information Model - FIND: the SOP class a query is recorded under (A.5.3.12). */
const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';

interface Participant { userId: string; alt?: string; name?: string; requestor: boolean; nap?: string; role?: Coded }

function participant(p: Participant): string {
  const nap = p.nap ? { NetworkAccessPointID: p.nap, NetworkAccessPointTypeCode: /^[\d.:a-fA-F]+$/.test(p.nap) ? '2' : '1' } : {};
  const inner = p.role ? code('RoleIDCode', p.role) : '';
  return `<ActiveParticipant${attrs({ UserID: p.userId, AlternativeUserID: p.alt, UserName: p.name, UserIsRequestor: p.requestor, ...nap })}>${inner}</ActiveParticipant>`;
}

interface ObjectParts { id: string; idType: Coded; type: '1' | '2' | '3' | '4'; role: string; name?: string; query?: string; details?: [string, string][]; description?: string; lifeCycle?: string }

function object(o: ObjectParts): string {
  const nameOrQuery = o.query !== undefined ? `<ParticipantObjectQuery>${b64(o.query)}</ParticipantObjectQuery>` : `<ParticipantObjectName>${esc(o.name ?? o.id)}</ParticipantObjectName>`;
  const details = (o.details ?? []).map(([t, v]) => `<ParticipantObjectDetail${attrs({ type: t, value: b64(v) })}/>`).join('');
  return `<ParticipantObjectIdentification${attrs({ ParticipantObjectID: o.id, ParticipantObjectTypeCode: o.type, ParticipantObjectTypeCodeRole: o.role, ParticipantObjectDataLifeCycle: o.lifeCycle })}>`
    + code('ParticipantObjectIDTypeCode', o.idType) + nameOrQuery + details + (o.description ?? '') + '</ParticipantObjectIdentification>';
}

/** The requestor: a user (by name) or a peer (by AE title), with the address it came from. */
function requestor(e: AuditEvent, role?: Coded): Participant {
  const p = e.principal;
  const ae = p.kind === 'peer' ? p.username : e.callingAe;
  return { userId: p.username, alt: ae ? `AETITLES=${ae}` : undefined, requestor: true, nap: p.ip?.replace(/^::ffff:/, ''), role };
}

function studyObjects(e: AuditEvent, lifeCycle?: string): string[] {
  const sop = e.sopClasses ? Object.entries(e.sopClasses) : [];
  return (e.studies ?? []).filter(Boolean).map((uid, i) => {
    // The instance count is known per event, not per study: it goes on the first study only.
    const classes = i > 0 ? '' : sop.length
      ? sop.map(([c, n]) => `<SOPClass${attrs({ UID: c, NumberOfInstances: n })}/>`).join('')
      : e.instances !== undefined ? `<SOPClass${attrs({ NumberOfInstances: e.instances })}/>` : '';
    return object({ id: uid, idType: ID_TYPE.study, type: '2', role: '3', lifeCycle, description: classes ? `<ParticipantObjectDescription>${classes}</ParticipantObjectDescription>` : undefined });
  });
}

const patientObjects = (e: AuditEvent) =>
  (e.patients ?? []).map((p) => object({ id: p.id, idType: ID_TYPE.patient, type: '1', role: '1', name: p.name || p.id }));

export function toDicomXml(entry: ChainEntry, src: AuditSource): string {
  const e = entry.event;
  const coding = CODING[e.action];
  const outcome = outcomeIndicator(e.outcome, e.action);
  const description = [e.reason, e.detail].filter(Boolean).join(': ');
  const eventIdent = `<EventIdentification${attrs({ EventActionCode: coding.action, EventDateTime: entry.time, EventOutcomeIndicator: outcome })}>`
    + code('EventID', coding.eventId) + coding.types(e.outcome).map((t) => code('EventTypeCode', t)).join('')
    + (description ? `<EventOutcomeDescription>${esc(description)}</EventOutcomeDescription>` : '') + '</EventIdentification>';
  const self: Participant = { userId: src.aeTitle, alt: `AETITLES=${src.aeTitle}`, requestor: false, nap: src.host };
  const parts: Participant[] = [];
  const objects: string[] = [];
  switch (e.action) {
    case 'store': case 'import':
      // Data came to Rampart: the sender is the source, Rampart the destination (A.5.3.5, A.5.3.8).
      parts.push(requestor(e, ROLE.source), { ...self, role: ROLE.destination });
      objects.push(...studyObjects(e, e.action === 'import' ? '2' : '1'), ...patientObjects(e));
      break;
    case 'retrieve': case 'export': {
      parts.push({ ...self, role: ROLE.source }, requestor(e, e.destination ? undefined : ROLE.destination));
      if (e.destination) parts.push({ userId: e.destination, alt: `AETITLES=${e.destination}`, requestor: false, role: ROLE.destination });
      objects.push(...studyObjects(e, e.action === 'export' ? '10' : '6'), ...patientObjects(e));
      break;
    }
    case 'metadata': case 'delete': case 'share-open':
      parts.push(requestor(e), self);
      objects.push(...studyObjects(e, e.action === 'delete' ? '14' : '6'), ...patientObjects(e));
      break;
    case 'query': {
      parts.push(requestor(e, ROLE.source), { ...self, role: ROLE.destination });
      const q = new URLSearchParams(Object.entries(e.query ?? {})).toString();
      objects.push(object({ id: STUDY_ROOT_FIND, idType: ID_TYPE.sopClass, type: '2', role: '3', query: q, details: [['TransferSyntax', '1.2.840.10008.1.2.1'], ['QueryEncoding', 'UTF-8']] }));
      objects.push(...patientObjects(e));
      break;
    }
    case 'audit-read':
      parts.push(requestor(e), self);
      objects.push(object({ id: e.target ?? 'rampart:audit', idType: ID_TYPE.uri, type: '2', role: '13', name: 'Security Audit Log' }));
      objects.push(...patientObjects(e));
      break;
    case 'application-start': case 'application-stop':
      parts.push({ ...self, role: ROLE.application }, requestor(e));
      break;
    case 'login': case 'logout': case 'identity-failure':
      parts.push(requestor(e), self);
      break;
    default: {
      // Security alerts (A.5.3.13): who did it, the node that reports it, and what it was about.
      parts.push(requestor(e), self);
      const details: [string, string][] = [];
      if (description) details.push(['Alert Description', description]);
      if (e.breakGlassReason) details.push(['Emergency Override Reason', e.breakGlassReason]);
      const target = e.target ?? (e.action === 'association' ? e.callingAe ?? e.principal.username : undefined);
      if (target !== undefined) {
        const isUser = ['user-create', 'user-remove', 'lockout', 'mfa-enrol', 'mfa-reset', 'password-change', 'session-revoke', 'token-create', 'token-revoke', 'group-change'].includes(e.action);
        objects.push(object({ id: target, idType: isUser ? ID_TYPE.user : e.action === 'association' || e.action.startsWith('peer-') ? ID_TYPE.node : ID_TYPE.uri, type: isUser ? '1' : '2', role: isUser ? '11' : '13', details }));
      } else if (details.length) {
        objects.push(object({ id: src.id, idType: ID_TYPE.node, type: '2', role: '13', details }));
      }
      objects.push(...studyObjects(e), ...patientObjects(e));
    }
  }
  const source = `<AuditSourceIdentification${attrs({ AuditEnterpriseSiteID: src.siteId, AuditSourceID: src.id })}><AuditSourceTypeCode csd-code="4"/></AuditSourceIdentification>`;
  return `<?xml version="1.0" encoding="UTF-8"?><AuditMessage>${eventIdent}${parts.map(participant).join('')}${source}${objects.join('')}</AuditMessage>`;
}

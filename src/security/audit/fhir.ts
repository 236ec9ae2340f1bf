// One audit entry as a FHIR R4 AuditEvent in the shape IHE Basic Audit Log Patterns (BALP) use:
// the DICOM event ID as type, event type codes as subtype (plus the Rampart action name), the
// requestor and Rampart as agents, patients, studies and the query as entities.
import type { ChainEntry } from './chain.js';
import { CODING, outcomeIndicator, type Coded } from './codes.js';
import type { AuditSource } from './dicom-xml.js';

export const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';
export const ACTION_SYSTEM = 'urn:rampart:audit-action';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const LIFECYCLE = 'http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle';

type Json = Record<string, unknown>;
const coding = (c: Coded) => ({ system: c.system === 'DCM' ? DCM_SYSTEM : `urn:rfc:3881`, code: c.code, display: c.display });

/** A FHIR id (at most 64 of [A-Za-z0-9-.]) that is unique across chains: sequence plus hash prefix. */
export const fhirId = (e: ChainEntry) => `${e.seq}-${e.hash.slice(0, 24)}`;

export function toFhirAuditEvent(entry: ChainEntry, src: AuditSource): Json {
  const e = entry.event;
  const c = CODING[e.action];
  const ip = e.principal.ip?.replace(/^::ffff:/, '');
  const requestor: Json = {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: e.principal.kind === 'peer' || e.principal.kind === 'system' ? 'dataprocessor' : 'humanuser' }] },
    who: { identifier: { value: e.principal.username }, display: e.principal.username },
    ...(e.principal.kind === 'peer' || e.callingAe ? { altId: `AETITLES=${e.principal.kind === 'peer' ? e.principal.username : e.callingAe}` } : {}),
    requestor: true,
    ...(ip ? { network: { address: ip, type: /^[\d.:a-fA-F]+$/.test(ip) ? '2' : '1' } } : {}),
    ...(e.breakGlassReason ? { purposeOfUse: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'ETREAT', display: 'Emergency Treatment' }], text: e.breakGlassReason }] } : {}),
  };
  const self: Json = { type: { coding: [{ system: DCM_SYSTEM, code: '110150', display: 'Application' }] }, who: { display: src.aeTitle }, altId: `AETITLES=${src.aeTitle}`, requestor: false };
  const agents: Json[] = [requestor, self];
  if (e.destination) agents.push({ type: { coding: [{ system: DCM_SYSTEM, code: '110152', display: 'Destination Role ID' }] }, who: { display: e.destination }, altId: `AETITLES=${e.destination}`, requestor: false });
  const entity: Json[] = [];
  for (const p of e.patients ?? []) {
    entity.push({ what: { identifier: { value: p.id }, ...(p.name ? { display: p.name } : {}) }, type: { system: ENTITY_TYPE, code: '1', display: 'Person' }, role: { system: OBJECT_ROLE, code: '1', display: 'Patient' } });
  }
  for (const uid of e.studies ?? []) {
    entity.push({ what: { identifier: { system: 'urn:dicom:uid', value: `urn:oid:${uid}` } }, type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, role: { system: OBJECT_ROLE, code: '3', display: 'Report' },
      ...(e.action === 'delete' ? { lifecycle: { system: LIFECYCLE, code: '14', display: 'Logical deletion' } } : {}) });
  }
  if (e.query) entity.push({ type: { system: ENTITY_TYPE, code: '2' }, role: { system: OBJECT_ROLE, code: '24', display: 'Query' }, query: Buffer.from(new URLSearchParams(Object.entries(e.query)).toString()).toString('base64') });
  const detail = [e.target !== undefined ? { type: 'target', valueString: e.target } : undefined, e.instances !== undefined ? { type: 'instances', valueString: String(e.instances) } : undefined].filter(Boolean);
  if (detail.length) entity.push({ type: { system: ENTITY_TYPE, code: '4', display: 'Other' }, detail });
  const desc = [e.reason, e.detail].filter(Boolean).join(': ');
  return {
    resourceType: 'AuditEvent',
    id: fhirId(entry),
    type: coding(c.eventId),
    subtype: [...c.types(e.outcome).map(coding), { system: ACTION_SYSTEM, code: e.action }],
    action: c.action,
    recorded: entry.time,
    outcome: outcomeIndicator(e.outcome, e.action),
    ...(desc ? { outcomeDesc: desc } : {}),
    ...(e.breakGlassReason ? { purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG', display: 'break the glass' }] }] } : {}),
    agent: agents,
    source: { ...(src.siteId ? { site: src.siteId } : {}), observer: { display: src.id }, type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }] },
    ...(entity.length ? { entity } : {}),
  };
}

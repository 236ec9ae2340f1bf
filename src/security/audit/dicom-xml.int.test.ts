// Every audit action, success and failure, becomes a DICOM Audit Message that the PS3.15 A.5.1
// schema accepts (validated by jing), with the event ID A.5.3 gives it.
import { describe, expect, it } from 'vitest';
import { validateAuditXml } from '../../../test/support/audit-schema.js';
import type { AuditAction, AuditEvent } from '../../services/audit-port.js';
import { makeEntry, GENESIS } from './chain.js';
import { CODING } from './codes.js';
import { toDicomXml } from './dicom-xml.js';

const SRC = { id: 'RAMPART', aeTitle: 'RAMPART', host: '127.0.0.1' };
const full = (action: AuditAction, outcome: 'success' | 'failure'): AuditEvent => ({
  action, outcome, principal: { kind: 'user', username: 'alice <&"\'>', door: 'dicomweb', ip: '::ffff:127.0.0.1' },
  studies: ['1.2.3.4', '1.2.3.5'], instances: 3, patients: [{ id: 'PID-1', name: 'Doe^Jane' }, { id: '' }],
  query: { '00100020': 'PID-1', '00100010': 'Do*' }, reason: outcome === 'failure' ? 'not-found' : undefined,
  breakGlassReason: 'trauma bay', callingAe: 'MODALITY', destination: 'VIEWER', target: 'bob', detail: 'line\u0001break',
  sopClasses: { '1.2.840.10008.5.1.4.1.1.2': 3 },
});
const bare = (action: AuditAction): AuditEvent => ({ action, outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' } });

describe('DICOM audit messages', () => {
  const actions = Object.keys(CODING) as AuditAction[];

  it('validate against the PS3.15 A.5.1 schema for every action, with and without details', async () => {
    const xml = actions.flatMap((a) => [full(a, 'success'), full(a, 'failure'), bare(a)]).map((e, i) => toDicomXml(makeEntry(i, GENESIS, e), SRC));
    expect(await validateAuditXml(xml)).toBe('');
  });

  it('carry the A.5.3 event ID, the outcome and the requestor', () => {
    const x = toDicomXml(makeEntry(0, GENESIS, full('retrieve', 'failure')), SRC);
    expect(x).toContain('<EventID csd-code="110104" codeSystemName="DCM" originalText="DICOM Instances Transferred"/>');
    expect(x).toContain('EventOutcomeIndicator="4"');
    expect(x).toContain('UserID="alice &lt;&amp;&quot;&apos;&gt;"');
    expect(x).toContain('NetworkAccessPointID="127.0.0.1"');
    expect(x).toContain('ParticipantObjectID="PID-1"');
  });

  it('are caught by the schema when a required part is missing', async () => {
    const x = toDicomXml(makeEntry(0, GENESIS, bare('login')), SRC).replace(/<AuditSourceIdentification.*?<\/AuditSourceIdentification>/, '');
    expect(await validateAuditXml([x])).toContain('AuditSourceIdentification');
  });
});

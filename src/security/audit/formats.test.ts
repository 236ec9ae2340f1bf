// The small formats of the trail: syslog framing, CSV cells, the FHIR shape, the PDF skeleton.
import { describe, expect, it } from 'vitest';
import { GENESIS, makeEntry } from './chain.js';
import { csvCell } from './csv.js';
import { toFhirAuditEvent } from './fhir.js';
import { textPdf } from './pdf.js';
import { frame, syslogMessage, unframe } from './syslog.js';

const entry = makeEntry(41, GENESIS, {
  action: 'break-glass', outcome: 'success', principal: { kind: 'user', username: 'dr who', door: 'web', ip: '::ffff:10.0.0.1' },
  studies: ['1.2.3'], patients: [{ id: 'P1', name: 'Doe^Jane' }], breakGlassReason: 'cardiac arrest, bay 3',
}, '2026-11-28T10:00:00.000Z');

describe('syslog framing (RFC 5424 / RFC 5425)', () => {
  it('frames with the octet count and splits a stream back into whole messages', () => {
    const m = syslogMessage(entry, '<AuditMessage/>', 'pacs 1.example');
    expect(m.toString('utf8')).toBe(`<85>1 2026-11-28T10:00:00.000Z pacs1.example rampart ${process.pid} DICOM+RFC3881 [meta sequenceId="42"] \uFEFF<AuditMessage/>`);
    const two = Buffer.concat([frame(m), frame(Buffer.from('x'))]);
    const half = unframe(two.subarray(0, 10));
    expect(half.messages).toEqual([]);
    const all = unframe(two);
    expect(all.messages.map((b) => b.length)).toEqual([m.length, 1]);
    expect(all.rest.length).toBe(0);
  });

  it('refuses a frame longer than the limit', () => {
    expect(() => unframe(Buffer.from('99999999 x'), 1024)).toThrow(/frame length/);
  });
});

describe('CSV cells', () => {
  it('quote separators and neutralise what a spreadsheet would run as a formula', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(undefined)).toBe('');
  });
});

describe('FHIR AuditEvent', () => {
  it('carries the DICOM event as type, the patient as entity and the break-glass reason as purpose of use', () => {
    const r = toFhirAuditEvent(entry, { id: 'RAMPART', aeTitle: 'RAMPART' }) as Record<string, any>;
    expect(r).toMatchObject({ resourceType: 'AuditEvent', id: expect.stringMatching(/^41-[0-9a-f]{24}$/), action: 'E', outcome: '0', recorded: entry.time });
    expect(r.type).toEqual({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110113', display: 'Security Alert' });
    expect(r.subtype).toContainEqual({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110127', display: 'Emergency Override Started' });
    expect(r.agent[0]).toMatchObject({ requestor: true, network: { address: '10.0.0.1', type: '2' }, purposeOfUse: [{ text: 'cardiac arrest, bay 3' }] });
    expect(r.entity[0]).toMatchObject({ what: { identifier: { value: 'P1' }, display: 'Doe^Jane' }, role: { code: '1' } });
  });
});

describe('the PDF writer', () => {
  it('writes a PDF whose cross-reference offsets point at its objects, escaping parentheses', () => {
    const pdf = textPdf('Title (test)', Array.from({ length: 120 }, (_, i) => `line ${i} \\ ok`));
    const s = pdf.toString('latin1');
    expect(s.startsWith('%PDF-1.4')).toBe(true);
    expect(s).toContain('(Title \\(test\\)) \'');
    const startxref = Number(/startxref\n(\d+)/.exec(s)![1]);
    expect(s.slice(startxref, startxref + 4)).toBe('xref');
    const offsets = [...s.slice(startxref).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
    offsets.forEach((o, i) => expect(s.slice(o, o + `${i + 1} 0 obj`.length)).toBe(`${i + 1} 0 obj`));
    expect(/\/Count (\d+)/.exec(s)![1]).toBe('3');
  });
});

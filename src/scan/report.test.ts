import { describe, expect, it } from 'vitest';
import { CATALOGUE, clean, finding } from './findings.js';
import { exitCodeFor, reportJson } from './report-json.js';
import { reportText } from './report-text.js';
import { withFindings } from './scan.js';
import type { ScanReport } from './types.js';
import { scanReportValidator as schemaValidator } from '../../test/support/scan-schema.js';


function report(findings = [finding('dicom-plain', '127.0.0.1:11112', ['-> A-ASSOCIATE-RQ <- A-ASSOCIATE-RJ'], { severity: 'low' })]): ScanReport {
  return withFindings({
    format: 'rampart-scan/1', tool: { name: 'rampart', version: '0.1.0' }, mode: 'targets', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(),
    targets: ['127.0.0.1:11112'], web: [], findings: [], summary: { high: 0, medium: 0, low: 0, info: 0 },
    endpoints: [{ host: '127.0.0.1', address: '127.0.0.1', port: 11112, state: 'open', kind: 'dicom', errors: [],
      dicom: { anyCallingAeAccepted: false, anyCalledAeAccepted: false, firstAnswer: 'A-ASSOCIATE-RJ', acceptedServices: [], identityRequired: 'unknown' } }],
  }, findings);
}

describe('the finding catalogue', () => {
  it('gives every finding a severity, a title and a fix, with ids the schema allows', () => {
    for (const [id, e] of Object.entries(CATALOGUE)) {
      expect(id).toMatch(/^[a-z0-9-]+$/);
      expect(['high', 'medium', 'low', 'info']).toContain(e.severity);
      expect(e.title.length).toBeGreaterThan(10);
      expect(e.fix.length).toBeGreaterThan(10);
    }
  });
  it('rates stranger access to patient data high, and any-AE, no TLS and disclosed versions medium', () => {
    for (const id of ['dicom-query-open', 'dicom-store-open', 'dicom-retrieve-open', 'http-qido-open', 'http-patients-open', 'http-default-credentials'] as const) expect(CATALOGUE[id].severity).toBe('high');
    for (const id of ['dicom-any-ae', 'dicom-plain', 'http-plain', 'dicom-version-disclosed', 'http-version-disclosed'] as const) expect(CATALOGUE[id].severity).toBe('medium');
  });
  it('cleans peer text of terminal escapes and bounds it', () => {
    expect(clean('OFFIS\x1b[31m_DCMTK\n')).toBe('OFFIS?[31m_DCMTK?');
    expect(clean('x'.repeat(100), 8)).toBe('xxxxxxxx...');
  });
});

describe('the report', () => {
  it('sorts worst first and counts per severity', () => {
    const r = report([finding('dicom-plain', 'a:1', [], { severity: 'low' }), finding('dicom-query-open', 'b:2', []), finding('dicom-any-ae', 'b:2', [])]);
    expect(r.findings.map((f) => f.severity)).toEqual(['high', 'medium', 'low']);
    expect(r.summary).toEqual({ high: 1, medium: 1, low: 1, info: 0 });
  });

  it('exits 1 only for findings at or above --fail-on', () => {
    const low = report();
    expect(exitCodeFor(low, 'high')).toBe(0);
    expect(exitCodeFor(low, 'medium')).toBe(0);
    expect(exitCodeFor(low, 'low')).toBe(1);
    const medium = report([finding('dicom-any-ae', 'b:2', [])]);
    expect(exitCodeFor(medium, 'high')).toBe(0);
    expect(exitCodeFor(medium, 'medium')).toBe(1);
  });

  it('writes JSON that the documented schema accepts', () => {
    const validate = schemaValidator();
    const ok = validate(JSON.parse(reportJson(report())));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('has a schema that rejects what it does not document', () => {
    const validate = schemaValidator();
    const r = JSON.parse(reportJson(report()));
    r.findings[0].severity = 'critical';
    expect(validate(r)).toBe(false);
    const r2 = JSON.parse(reportJson(report()));
    r2.endpoints[0].patientNames = ['x'];
    expect(validate(r2)).toBe(false);
  });

  it('prints each finding with its evidence and its fix, info evidence only with --verbose', () => {
    const r = report([finding('dicom-plain', 'a:1', ['-> RQ <- RJ'], { severity: 'low' }), finding('dicom-rejects-unknown', 'a:1', ['secret evidence line'])]);
    const text = reportText(r);
    expect(text).toContain('LOW    DICOM without TLS');
    expect(text).toContain('| -> RQ <- RJ');
    expect(text).toContain(`fix: ${CATALOGUE['dicom-plain'].fix}`);
    expect(text).not.toContain('secret evidence line');
    expect(reportText(r, { verbose: true })).toContain('secret evidence line');
    expect(text).toContain('Findings: 0 high, 0 medium, 1 low, 1 info');
  });
});

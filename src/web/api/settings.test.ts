import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/schema.js';
import { describeSettings, redactUrl, securityStatus } from './settings.js';

const config = (o: Record<string, unknown> = {}) => loadConfig({ env: {}, overrides: { dataDir: '/tmp/x', ...o } });

describe('the settings page', () => {
  it('shows every key with a plain-language note on the security-relevant ones', () => {
    const s = describeSettings(config());
    expect(s.find((x) => x.key === 'dimse.identityRequiresTls')).toMatchObject({ value: 'true', note: expect.stringContaining('plain DICOM') });
    expect(s.find((x) => x.key === 'http.host')?.note).toContain('loopback');
  });

  it('never shows a database password', () => {
    expect(redactUrl('postgres://rampart:s3cret@db:5432/pacs')).toBe('postgres://rampart:***@db:5432/pacs');
    const s = describeSettings(config({ 'index.url': 'postgres://rampart:s3cret@db/pacs' }));
    expect(JSON.stringify(s)).not.toContain('s3cret');
  });
});

describe('the security status', () => {
  const peer = (ae: string, tls: boolean) => ({ aeTitle: ae, host: '10.0.0.5', port: 104, allow: ['store' as const], tls, certFingerprint: null, requireIdentity: false, createdAt: '' });

  it('lists what listens where and whether it is encrypted', () => {
    const s = securityStatus(config(), false, [], [], []);
    expect(s.exposures.map((e) => [e.service, e.encrypted])).toEqual([['web app and DICOMweb', false], ['DICOM (plain)', false], ['DICOM TLS', true]]);
  });

  it('reports peers that may use plain DICOM and accounts without a second factor', () => {
    const s = securityStatus(config(), true, [peer('CT1', false), peer('MR1', true)], [], ['alice']);
    expect(s.plainDicomPeers.map((p) => p.aeTitle)).toEqual(['CT1']);
    expect(s.findings.map((f) => f.text)).toEqual(expect.arrayContaining(['1 DICOM peer(s) may connect without TLS.', '1 account(s) sign in without a second factor.']));
  });

  it('warns about a plain DICOM port reachable from the network', () => {
    const s = securityStatus(config({ 'dimse.host': '0.0.0.0' }), true, [], [], null);
    expect(s.findings.some((f) => f.level === 'medium' && /plain DICOM port is reachable/.test(f.text))).toBe(true);
    expect(s.usersWithoutMfa).toBeNull();
  });
});

// The shared contract of the AccessStore port (groups, grants, share links) and of the DataScope
// every IndexStore read honours: each adapter runs this suite on a fresh, empty database.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GrantRecord, ShareRecord } from './access-store.js';
import type { DataScope, InstanceIndexEntry, Level } from './index-store.js';
import { KyselyAccessStore } from './kysely-access-store.js';
import type { OpenStore } from './index-store.contract.js';
import type { KyselyIndexStore } from './kysely-index-store.js';

function entry(patient: string, study: string, sop: string, series = `${study}.1`): InstanceIndexEntry {
  return {
    patient: { PatientID: patient, IssuerOfPatientID: '', PatientName: `N^${patient}`, PatientNameNorm: `N^${patient}`, PatientBirthDate: '', PatientSex: '', json: JSON.stringify({ patient }) },
    study: { StudyInstanceUID: study, StudyDate: '20240101', StudyTime: '120000', AccessionNumber: '', StudyID: '', ReferringPhysicianNameNorm: '', StudyDescription: '', json: JSON.stringify({ study }) },
    series: { SeriesInstanceUID: series, Modality: 'CT', SeriesNumber: '1', SeriesDescription: '', SeriesDate: '', json: JSON.stringify({ series }) },
    instance: { SOPInstanceUID: sop, SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', InstanceNumber: '1', TransferSyntaxUID: '1.2.840.10008.1.2.1', blobKey: `b-${sop}`, size: 10, sha256: 'ab'.repeat(32), json: JSON.stringify({ sop }) },
  };
}

const AT = '2025-06-01T00:00:00.000Z';

function grant(id: string, over: Partial<GrantRecord>): GrantRecord {
  return { id, subjectKind: 'user', subject: 'u1', studyInstanceUid: null, patientId: null, expiresAt: null, grantedBy: 'admin', createdAt: AT, kind: 'grant', reason: null, ...over };
}

function share(id: string, over: Partial<ShareRecord> = {}): ShareRecord {
  return {
    id, tokenHash: `hash-${id}`, studyInstanceUid: '1.1', access: 'view', expiresAt: '2099-01-01T00:00:00.000Z', singleUse: false,
    pinHash: null, createdBy: 'rad', createdAt: AT, revokedAt: null, lastUsedAt: null, useCount: 0, failedPinAttempts: 0, ...over,
  };
}

export function runAccessStoreContract(name: string, open: OpenStore): void {
  describe(`${name}: AccessStore and DataScope contract`, () => {
    let store: KyselyIndexStore;
    let access: KyselyAccessStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
      access = new KyselyAccessStore(store.db);
    });
    afterEach(async () => {
      await cleanup();
    });

    it('adds and removes group members, once each', async () => {
      expect(await access.addToGroup('u1', 'cardio')).toBe(true);
      expect(await access.addToGroup('u1', 'cardio')).toBe(false);
      await access.addToGroup('u1', 'ward-7');
      await access.addToGroup('u2', 'cardio');
      expect(await access.groupsOf('u1')).toEqual(['cardio', 'ward-7']);
      expect(await access.listGroups()).toEqual([{ group: 'cardio', userIds: ['u1', 'u2'] }, { group: 'ward-7', userIds: ['u1'] }]);
      expect(await access.removeFromGroup('u1', 'cardio')).toBe(true);
      expect(await access.removeFromGroup('u1', 'cardio')).toBe(false);
      expect(await access.groupsOf('u1')).toEqual(['ward-7']);
    });

    it('stores, filters and removes grants', async () => {
      await access.addGrant(grant('g1', { studyInstanceUid: '1.1' }));
      await access.addGrant(grant('g2', { subjectKind: 'group', subject: 'cardio', patientId: 'P2', expiresAt: '2030-01-01T00:00:00.000Z' }));
      await access.addGrant(grant('g3', { studyInstanceUid: '1.3', kind: 'break-glass', reason: 'trauma bay' }));
      expect((await access.listGrants()).map((g) => g.id)).toEqual(['g1', 'g2', 'g3']);
      expect(await access.getGrant('g2')).toEqual(grant('g2', { subjectKind: 'group', subject: 'cardio', patientId: 'P2', expiresAt: '2030-01-01T00:00:00.000Z' }));
      expect((await access.listGrants({ kind: 'break-glass' })).map((g) => g.reason)).toEqual(['trauma bay']);
      expect((await access.listGrants({ subjectKind: 'user', subject: 'u1' })).map((g) => g.id)).toEqual(['g1', 'g3']);
      expect((await access.listGrants({ studyInstanceUid: '1.1' })).map((g) => g.id)).toEqual(['g1']);
      expect(await access.removeGrant('g1')).toBe(true);
      expect(await access.removeGrant('g1')).toBe(false);
      expect(await access.getGrant('g1')).toBeUndefined();
    });

    it('stores share links by token hash, counts uses and lets a single-use link be used once', async () => {
      await access.addShare(share('s1', { singleUse: true }));
      expect((await access.getShareByHash('hash-s1'))?.id).toBe('s1');
      expect(await access.getShareByHash('hash-none')).toBeUndefined();
      expect(await access.useShare('s1', '2025-06-02T00:00:00.000Z', true)).toBe(true);
      expect(await access.useShare('s1', '2025-06-03T00:00:00.000Z', true)).toBe(false);
      const s = await access.getShare('s1');
      expect([s?.useCount, s?.lastUsedAt]).toEqual([1, '2025-06-02T00:00:00.000Z']);
      expect(await access.failSharePin('s1')).toBe(1);
      expect(await access.failSharePin('s1')).toBe(2);
    });

    it('revokes a share link once, and a revoked link cannot be used', async () => {
      await access.addShare(share('s2'));
      await access.addShare(share('s3', { createdBy: 'other' }));
      expect(await access.revokeShare('s2', '2025-06-02T00:00:00.000Z')).toBe(true);
      expect(await access.revokeShare('s2', '2025-06-09T00:00:00.000Z')).toBe(true);
      expect((await access.getShare('s2'))?.revokedAt).toBe('2025-06-02T00:00:00.000Z');
      expect(await access.useShare('s2', AT, false)).toBe(false);
      expect(await access.revokeShare('nope', AT)).toBe(false);
      expect((await access.listShares('rad')).map((x) => x.id)).toEqual(['s2']);
      expect((await access.listShares()).map((x) => x.id)).toEqual(['s2', 's3']);
    });

    describe('queries and listings within a scope', () => {
      beforeEach(async () => {
        await store.insertInstances([
          entry('P1', '1.1', '1.1.1.1'), entry('P1', '1.2', '1.2.1.1'),
          entry('P2', '2.1', '2.1.1.1'), entry('P2', '2.2', '2.2.1.1'), entry('P3', '3.1', '3.1.1.1'),
        ], 'reject');
      });
      const studies = async (within: DataScope | undefined, level: Level = 'STUDY', limit = 100, offset = 0) =>
        (await store.query({ level, conditions: [], limit, offset, within })).map((r) => {
          const j = JSON.parse((level === 'PATIENT' ? r.patientJson : r.studyJson) ?? '{}') as { study?: string; patient?: string };
          return j.study ?? j.patient;
        }).sort();
      const user = (groups: string[] = []): DataScope => ({ grantees: { userId: 'u1', groups, at: AT } });

      it('shows everything without a scope and nothing with an empty one', async () => {
        expect(await studies(undefined)).toEqual(['1.1', '1.2', '2.1', '2.2', '3.1']);
        expect(await studies(user())).toEqual([]);
        expect(await studies({})).toEqual([]);
      });

      it('shows the studies a user or one of the groups holds a live grant on, by study or by patient', async () => {
        await access.addGrant(grant('a', { studyInstanceUid: '1.2' }));
        await access.addGrant(grant('b', { subjectKind: 'group', subject: 'cardio', patientId: 'P2' }));
        await access.addGrant(grant('c', { studyInstanceUid: '3.1', expiresAt: '2025-05-31T23:59:59.999Z' })); // expired at AT
        await access.addGrant(grant('d', { subject: 'u2', studyInstanceUid: '1.1' })); // someone else's
        expect(await studies(user())).toEqual(['1.2']);
        expect(await studies(user(['cardio']))).toEqual(['1.2', '2.1', '2.2']);
        expect(await studies(user(['cardio']), 'SERIES')).toEqual(['1.2', '2.1', '2.2']);
        expect(await studies(user(['cardio']), 'IMAGE')).toEqual(['1.2', '2.1', '2.2']);
        expect(await studies({ studies: ['3.1'] })).toEqual(['3.1']);
      });

      it('pages through visible rows only', async () => {
        await access.addGrant(grant('b', { patientId: 'P2' }));
        const page1 = await studies(user(), 'STUDY', 1, 0);
        const page2 = await studies(user(), 'STUDY', 1, 1);
        const page3 = await studies(user(), 'STUDY', 1, 2);
        expect([...page1, ...page2].sort()).toEqual(['2.1', '2.2']);
        expect(page3).toEqual([]);
      });

      it('shows a patient with a visible study, counting only its visible studies', async () => {
        await access.addGrant(grant('a', { studyInstanceUid: '1.2' }));
        const rows = await store.query({ level: 'PATIENT', conditions: [], limit: 10, offset: 0, within: user() });
        expect(rows.map((r) => JSON.parse(r.patientJson) as unknown)).toEqual([{ patient: 'P1' }]);
        expect([rows[0]!.numberOfPatientRelatedStudies, rows[0]!.numberOfPatientRelatedSeries, rows[0]!.numberOfPatientRelatedInstances]).toEqual([1, 1, 1]);
        const all = await store.query({ level: 'PATIENT', conditions: [], limit: 10, offset: 0 });
        expect(all.length).toBe(3);
      });

      it('lists and deletes instances of a study outside the scope as if it did not exist', async () => {
        await access.addGrant(grant('a', { patientId: 'P1' }));
        expect((await store.listInstances({ StudyInstanceUID: '1.1', within: user() })).length).toBe(1);
        expect(await store.listInstances({ StudyInstanceUID: '2.1', within: user() })).toEqual([]);
        expect(await store.listInstanceJson({ StudyInstanceUID: '2.1', SeriesInstanceUID: '2.1.1', within: user() })).toEqual([]);
        expect(await store.deleteScope({ StudyInstanceUID: '2.1', within: user() })).toEqual([]);
        expect((await store.listInstances({ StudyInstanceUID: '2.1' })).length).toBe(1);
      });
    });
  });
}

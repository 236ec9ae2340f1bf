// The shared contract of the IndexStore and AccountStore ports: every adapter runs this suite.
// Matching rules follow PS3.4 C.2.2.2; each test gets a fresh, empty store.

import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRampartError } from '../../errors.js';
import type { TokenRecord, UserRecord } from './account-store.js';
import type { Condition, IndexQuery, InstanceIndexEntry, Level, Match, StudyOrderColumn } from './index-store.js';
import type { KyselyIndexStore } from './kysely-index-store.js';

export type OpenStore = () => Promise<{ store: KyselyIndexStore; cleanup: () => Promise<void> }>;

interface Spec {
  patient?: string; issuer?: string; name?: string; birthDate?: string;
  study?: string; date?: string; time?: string; accession?: string; referring?: string;
  series?: string; modality?: string; seriesNumber?: string;
  sop: string; instanceNumber?: string; tag?: string;
}

/** An index entry with plausible defaults; JSON strings say where they came from, for assertions. */
function entry(s: Spec): InstanceIndexEntry {
  const patient = s.patient ?? 'P1';
  const study = s.study ?? '1.2.3';
  const series = s.series ?? `${study}.1`;
  const tag = s.tag ?? 'first';
  return {
    patient: {
      PatientID: patient, IssuerOfPatientID: s.issuer ?? '', PatientName: s.name ?? 'Doe^Jane',
      PatientNameNorm: (s.name ?? 'Doe^Jane').toUpperCase(), PatientBirthDate: s.birthDate ?? '19700101',
      PatientSex: 'F', json: JSON.stringify({ patient, tag }),
    },
    study: {
      StudyInstanceUID: study, StudyDate: s.date ?? '20240101', StudyTime: s.time ?? '120000',
      AccessionNumber: s.accession ?? 'A1', StudyID: '1', ReferringPhysicianNameNorm: s.referring ?? 'HOUSE^G',
      StudyDescription: 'Chest', json: JSON.stringify({ study, tag }),
    },
    series: {
      SeriesInstanceUID: series, Modality: s.modality ?? 'CT', SeriesNumber: s.seriesNumber ?? '1',
      SeriesDescription: 'Axial', SeriesDate: s.date ?? '20240101', json: JSON.stringify({ series, tag }),
    },
    instance: {
      SOPInstanceUID: s.sop, SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', InstanceNumber: s.instanceNumber ?? '1',
      TransferSyntaxUID: '1.2.840.10008.1.2.1', blobKey: `blob-${s.sop}-${tag}`, size: 1000, sha256: 'ab'.repeat(32),
      json: JSON.stringify({ sop: s.sop, tag }),
    },
  };
}

const q = (level: Level, conditions: Condition[] = [], limit = 100, offset = 0): IndexQuery => ({ level, conditions, limit, offset });
const c = (column: Condition['column'], match: Match): Condition => ({ column, match });
const single = (value: string): Match => ({ kind: 'single', value });
const wildcard = (pattern: string): Match => ({ kind: 'wildcard', pattern });
const range = (from?: string, to?: string): Match => ({ kind: 'range', ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
const list = (...values: string[]): Match => ({ kind: 'list', values });
const field = (json: string | undefined, key: string): unknown => (JSON.parse(json ?? '{}') as Record<string, unknown>)[key];

function user(username: string, id = `u-${username}`): UserRecord {
  return { id, username, role: 'radiologist', passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA', disabled: false, createdAt: '2024-01-01T00:00:00.000Z' };
}

function token(id: string, userId: string): TokenRecord {
  return { id, userId, tokenHash: `hash-${id}`, scopes: ['read', 'write'], createdAt: `2024-01-0${id.length % 9 + 1}T00:00:00.000Z`, expiresAt: null, revokedAt: null, lastUsedAt: null };
}

export function runIndexStoreContract(name: string, open: OpenStore): void {
  describe(`${name}: IndexStore and AccountStore contract`, () => {
    let store: KyselyIndexStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    const studyUids = async (conditions: Condition[], limit = 100, offset = 0) =>
      (await store.query(q('STUDY', conditions, limit, offset))).map((r) => field(r.studyJson, 'study'));
    const patientIds = async (conditions: Condition[]) =>
      (await store.query(q('PATIENT', conditions))).map((r) => field(r.patientJson, 'patient'));

    describe('inserting', () => {
      it('stores a new instance and reports where it is kept', async () => {
        const [out] = await store.insertInstances([entry({ sop: '1.2.3.1.1' })], 'reject');
        expect(out).toMatchObject({ status: 'stored', instance: { SOPInstanceUID: '1.2.3.1.1', StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.1', blobKey: 'blob-1.2.3.1.1-first', size: 1000 } });
        expect(await store.getInstance('1.2.3.1.1')).toEqual(out?.status === 'stored' ? out.instance : undefined);
      });

      it('shares one patient, study and series between the instances that belong to them', async () => {
        await store.insertInstances([entry({ sop: '1.2.3.1.1' }), entry({ sop: '1.2.3.1.2' })], 'reject');
        await store.insertInstances([entry({ sop: '1.2.3.2.1', series: '1.2.3.2' })], 'reject');
        expect(await store.counts()).toEqual({ patients: 1, studies: 1, series: 2, instances: 3 });
      });

      it('identifies a patient by PatientID and IssuerOfPatientID together', async () => {
        await store.insertInstances([
          entry({ sop: '1.1.1.1', study: '1.1', issuer: 'HOSP-A' }),
          entry({ sop: '1.2.1.1', study: '1.2', issuer: 'HOSP-B' }),
        ], 'reject');
        expect((await store.counts()).patients).toBe(2);
        expect(await patientIds([c('IssuerOfPatientID', single('HOSP-B'))])).toEqual(['P1']);
      });

      it('keeps the first study-level and series-level JSON when a study arrives again', async () => {
        await store.insertInstances([entry({ sop: '1.2.3.1.1', tag: 'first' })], 'reject');
        await store.insertInstances([entry({ sop: '1.2.3.1.2', tag: 'second' })], 'reject');
        const [row] = await store.query(q('SERIES'));
        expect(field(row?.studyJson, 'tag')).toBe('first');
        expect(field(row?.seriesJson, 'tag')).toBe('first');
        expect(field(row?.patientJson, 'tag')).toBe('first');
      });

      it('returns the outcomes in input order', async () => {
        await store.insertInstances([entry({ sop: '9.1' })], 'reject');
        const out = await store.insertInstances([entry({ sop: '9.2' }), entry({ sop: '9.1' }), entry({ sop: '9.3' })], 'keep');
        expect(out.map((o) => o.status)).toEqual(['stored', 'duplicate', 'stored']);
      });

      it('indexes concurrent batches into the same study without losing a count or a duplicate', async () => {
        const batch = (tag: string) => [entry({ sop: '8.1', tag }), entry({ sop: `8.${tag}`, tag }), entry({ sop: '8.2', series: '1.2.3.9', tag })];
        const [a, b] = await Promise.all([store.insertInstances(batch('a'), 'reject'), store.insertInstances(batch('b'), 'reject')]);
        expect([a?.[0]?.status, b?.[0]?.status].sort()).toEqual(['duplicate', 'stored']);
        expect(await store.counts()).toEqual({ patients: 1, studies: 1, series: 2, instances: 4 });
        expect(await store.query(q('STUDY'))).toMatchObject([{ numberOfStudyRelatedSeries: 2, numberOfStudyRelatedInstances: 4 }]);
      });

      it('indexes a batch in one transaction: a failing entry leaves nothing of the batch behind', async () => {
        const broken = entry({ sop: '1.2.3.1.2' });
        broken.instance.json = null as unknown as string; // violates NOT NULL
        await expect(store.insertInstances([entry({ sop: '1.2.3.1.1' }), broken], 'reject')).rejects.toThrow();
        expect(await store.counts()).toEqual({ patients: 0, studies: 0, series: 0, instances: 0 });
      });
    });

    describe('durability', () => {
      /** SQLite's synchronous level (2 = FULL) or PostgreSQL's synchronous_commit, as a later write sees it. */
      const syncSetting = async () => store.dialect === 'sqlite'
        ? String(Object.values((await sql`PRAGMA synchronous`.execute(store.db)).rows[0] as object)[0])
        : String(Object.values((await sql`SHOW synchronous_commit`.execute(store.db)).rows[0] as object)[0]);
      const durableSetting = () => (store.dialect === 'sqlite' ? '2' : 'on');

      it('commits a batch with deferred durability like any other, and every later write is durable again', async () => {
        const [out] = await store.insertInstances([entry({ sop: '7.1' })], 'reject', { deferDurability: true });
        expect(out?.status).toBe('stored');
        expect(await store.getInstance('7.1')).toMatchObject({ blobKey: 'blob-7.1-first' });
        expect(await syncSetting()).toBe(durableSetting());
        await store.syncBarrier();
        expect((await store.counts()).instances).toBe(1);
      });

      it('restores durable commits after a deferred batch fails, and keeps nothing of it', async () => {
        const broken = entry({ sop: '7.3' });
        broken.instance.json = null as unknown as string;
        await expect(store.insertInstances([entry({ sop: '7.2' }), broken], 'reject', { deferDurability: true })).rejects.toThrow();
        expect(await syncSetting()).toBe(durableSetting());
        expect((await store.counts()).instances).toBe(0);
      });

      it('interleaves deferred batches with other writes without losing any', async () => {
        await Promise.all([
          store.insertInstances([entry({ sop: '7.4' })], 'reject', { deferDurability: true }),
          store.insertInstances([entry({ sop: '7.5' })], 'reject'),
          store.createUser(user('dora')),
          store.insertInstances([entry({ sop: '7.6' })], 'reject', { deferDurability: true }),
          store.syncBarrier(),
        ]);
        await store.syncBarrier();
        expect((await store.counts()).instances).toBe(3);
        expect(await store.getUserByName('dora')).toBeDefined();
        expect(await syncSetting()).toBe(durableSetting());
      });

      it('says which blob keys it refers to', async () => {
        await store.insertInstances([entry({ sop: '7.7' }), entry({ sop: '7.8' })], 'reject');
        const found = await store.indexedBlobKeys(['blob-7.7-first', 'blob-nope', 'blob-7.8-first']);
        expect([...found].sort()).toEqual(['blob-7.7-first', 'blob-7.8-first']);
        expect((await store.indexedBlobKeys([])).size).toBe(0);
      });
    });

    describe('duplicates', () => {
      for (const policy of ['reject', 'keep'] as const) {
        it(`leaves the existing row and reports a duplicate under the ${policy} policy`, async () => {
          await store.insertInstances([entry({ sop: '1.2.3.1.1', tag: 'first' })], 'reject');
          const [out] = await store.insertInstances([entry({ sop: '1.2.3.1.1', tag: 'second' })], policy);
          expect(out).toMatchObject({ status: 'duplicate', existing: { blobKey: 'blob-1.2.3.1.1-first' } });
          expect((await store.getInstance('1.2.3.1.1'))?.blobKey).toBe('blob-1.2.3.1.1-first');
          expect((await store.counts()).instances).toBe(1);
        });
      }

      it('sees a duplicate within the same batch', async () => {
        const out = await store.insertInstances([entry({ sop: '5.1' }), entry({ sop: '5.1', tag: 'again' })], 'reject');
        expect(out.map((o) => o.status)).toEqual(['stored', 'duplicate']);
      });

      it('swaps the row under the replace policy and returns the old one so its blob can be deleted', async () => {
        await store.insertInstances([entry({ sop: '1.2.3.1.1', tag: 'first' })], 'reject');
        const [out] = await store.insertInstances([entry({ sop: '1.2.3.1.1', tag: 'second' })], 'replace');
        expect(out).toMatchObject({ status: 'replaced', instance: { blobKey: 'blob-1.2.3.1.1-second' }, replaced: { blobKey: 'blob-1.2.3.1.1-first' } });
        expect((await store.getInstance('1.2.3.1.1'))?.blobKey).toBe('blob-1.2.3.1.1-second');
        const [json] = await store.listInstanceJson({ StudyInstanceUID: '1.2.3' });
        expect(field(json?.json, 'tag')).toBe('second');
        expect((await store.counts()).instances).toBe(1);
        expect((await store.query(q('STUDY')))[0]?.numberOfStudyRelatedInstances).toBe(1);
      });

      it('moves a replaced instance to its new series and removes the series it left empty', async () => {
        await store.insertInstances([entry({ sop: '7.1', series: '1.2.3.1', modality: 'CT' })], 'reject');
        await store.insertInstances([entry({ sop: '7.1', series: '1.2.3.2', modality: 'MR', tag: 'second' })], 'replace');
        expect(await store.counts()).toEqual({ patients: 1, studies: 1, series: 1, instances: 1 });
        expect((await store.getInstance('7.1'))?.SeriesInstanceUID).toBe('1.2.3.2');
        const [study] = await store.query(q('STUDY'));
        expect(study).toMatchObject({ numberOfStudyRelatedSeries: 1, numberOfStudyRelatedInstances: 1, modalitiesInStudy: ['MR'] });
        expect(field(study?.studyJson, 'tag')).toBe('first');
        expect(field(study?.patientJson, 'tag')).toBe('first');
      });
    });

    describe('counters', () => {
      beforeEach(async () => {
        await store.insertInstances([
          entry({ sop: '1.1.1.1', study: '1.1', series: '1.1.1', modality: 'MR' }),
          entry({ sop: '1.1.1.2', study: '1.1', series: '1.1.1', modality: 'MR' }),
          entry({ sop: '1.1.2.1', study: '1.1', series: '1.1.2', modality: 'CT' }),
          entry({ sop: '1.1.3.1', study: '1.1', series: '1.1.3', modality: 'CT' }),
        ], 'reject');
        await store.insertInstances([entry({ sop: '1.2.1.1', study: '1.2', series: '1.2.1', modality: 'US' })], 'reject');
      });

      it('counts the studies, series and instances of a patient', async () => {
        expect(await store.query(q('PATIENT'))).toMatchObject([
          { numberOfPatientRelatedStudies: 2, numberOfPatientRelatedSeries: 4, numberOfPatientRelatedInstances: 5 },
        ]);
      });

      it('counts the series and instances of a study and lists its modalities once each, sorted', async () => {
        const [study] = await store.query(q('STUDY', [c('StudyInstanceUID', single('1.1'))]));
        expect(study).toMatchObject({ numberOfStudyRelatedSeries: 3, numberOfStudyRelatedInstances: 4, modalitiesInStudy: ['CT', 'MR'] });
      });

      it('counts the instances of a series', async () => {
        const [series] = await store.query(q('SERIES', [c('SeriesInstanceUID', single('1.1.1'))]));
        expect(series?.numberOfSeriesRelatedInstances).toBe(2);
      });

      it('decrements the counters when instances are deleted', async () => {
        await store.deleteScope({ StudyInstanceUID: '1.1', SeriesInstanceUID: '1.1.1', SOPInstanceUID: '1.1.1.1' });
        await store.deleteScope({ StudyInstanceUID: '1.1', SeriesInstanceUID: '1.1.2' });
        const [study] = await store.query(q('STUDY', [c('StudyInstanceUID', single('1.1'))]));
        expect(study).toMatchObject({ numberOfStudyRelatedSeries: 2, numberOfStudyRelatedInstances: 2, modalitiesInStudy: ['CT', 'MR'] });
        expect(await store.query(q('PATIENT'))).toMatchObject([
          { numberOfPatientRelatedStudies: 2, numberOfPatientRelatedSeries: 3, numberOfPatientRelatedInstances: 3 },
        ]);
      });
    });

    describe('matching', () => {
      beforeEach(async () => {
        await store.insertInstances([
          entry({ sop: '1.1.1.1', study: '1.1', patient: 'P1', name: 'Smith^John', date: '20230105', accession: 'ACC_1', modality: 'CT' }),
          entry({ sop: '1.2.1.1', study: '1.2', patient: 'P2', name: 'Smyth^Jane', date: '20230210', accession: 'ACC%1', modality: 'MR' }),
          entry({ sop: '1.2.2.1', study: '1.2', series: '1.2.2', patient: 'P2', modality: 'SR' }),
          entry({ sop: '1.3.1.1', study: '1.3', patient: 'P3', name: 'Jones^Ann', date: '20230315', accession: 'ACCX1', modality: 'MR' }),
          entry({ sop: '1.4.1.1', study: '1.4', patient: 'P4', name: 'Back\\Slash', date: '', accession: 'AC\\1', modality: 'US' }),
        ], 'reject');
      });

      it('matches a single value exactly and case-sensitively', async () => {
        expect(await patientIds([c('PatientID', single('P2'))])).toEqual(['P2']);
        expect(await patientIds([c('PatientID', single('p2'))])).toEqual([]);
      });

      it("matches a wildcard with '*' for any run of characters", async () => {
        expect(await patientIds([c('PatientNameNorm', wildcard('SM*'))])).toEqual(['P1', 'P2']);
        expect(await patientIds([c('PatientNameNorm', wildcard('*^J*'))])).toEqual(['P1', 'P2']);
      });

      it("matches a wildcard with '?' for exactly one character", async () => {
        expect(await patientIds([c('PatientNameNorm', wildcard('SM?TH^JOHN'))])).toEqual(['P1']);
        expect(await patientIds([c('PatientNameNorm', wildcard('*J?N*'))])).toEqual(['P3', 'P2']);
        expect(await patientIds([c('PatientNameNorm', wildcard('SM??TH*'))])).toEqual([]);
      });

      it('treats a lone * as universal matching', async () => {
        expect(await studyUids([c('AccessionNumber', wildcard('*'))])).toHaveLength(4);
      });

      it("treats '%', '_' and '\\' in a wildcard pattern as literal characters", async () => {
        expect(await studyUids([c('AccessionNumber', wildcard('ACC%1'))])).toEqual(['1.2']);
        expect(await studyUids([c('AccessionNumber', wildcard('ACC_*'))])).toEqual(['1.1']);
        expect(await studyUids([c('AccessionNumber', wildcard('AC\\*'))])).toEqual(['1.4']);
        expect(await patientIds([c('PatientNameNorm', wildcard('BACK\\SLASH'))])).toEqual(['P4']);
      });

      it('matches a range inclusive of both ends', async () => {
        expect(await studyUids([c('StudyDate', range('20230105', '20230210'))])).toEqual(['1.2', '1.1']);
      });

      it('matches a range open at the start or at the end', async () => {
        expect(await studyUids([c('StudyDate', range(undefined, '20230210'))])).toEqual(['1.2', '1.1']);
        expect(await studyUids([c('StudyDate', range('20230210'))])).toEqual(['1.3', '1.2']);
      });

      it('never matches an empty value with a range', async () => {
        expect(await studyUids([c('StudyDate', range(undefined, '99991231'))])).not.toContain('1.4');
      });

      it('matches a UID list as any of its values, and an empty list as nothing', async () => {
        expect(await studyUids([c('StudyInstanceUID', list('1.3', '1.1', '9.9'))])).toEqual(['1.3', '1.1']);
        expect(await studyUids([c('StudyInstanceUID', list())])).toEqual([]);
      });

      it('requires every condition to hold', async () => {
        expect(await studyUids([c('StudyDate', range('20230101')), c('PatientNameNorm', wildcard('SM*'))])).toEqual(['1.2', '1.1']);
        expect(await studyUids([c('StudyDate', range('20230301')), c('PatientNameNorm', wildcard('SM*'))])).toEqual([]);
      });

      it('restricts a lower-level query by conditions on higher levels', async () => {
        const series = await store.query(q('SERIES', [c('PatientID', single('P2'))]));
        expect(series.map((r) => field(r.seriesJson, 'series'))).toEqual(['1.2.1', '1.2.2']);
        const images = await store.query(q('IMAGE', [c('StudyDate', single('20230315'))]));
        expect(images.map((r) => r.instance?.SOPInstanceUID)).toEqual(['1.3.1.1']);
      });

      it('matches ModalitiesInStudy when any series of the study has that modality', async () => {
        expect(await studyUids([c('ModalitiesInStudy', single('SR'))])).toEqual(['1.2']);
        expect(await studyUids([c('ModalitiesInStudy', list('CT', 'US'))])).toEqual(['1.1', '1.4']);
        const [study] = await store.query(q('STUDY', [c('ModalitiesInStudy', single('SR'))]));
        expect(study?.modalitiesInStudy).toEqual(['MR', 'SR']);
      });

      it('refuses a condition on a level below the one asked', async () => {
        const err = await store.query(q('PATIENT', [c('Modality', single('CT'))])).catch((e: unknown) => e);
        expect(isRampartError(err, 'bad-request')).toBe(true);
      });

      it('orders studies newest first and applies limit and offset', async () => {
        expect(await studyUids([])).toEqual(['1.3', '1.2', '1.1', '1.4']);
        expect(await studyUids([], 2, 1)).toEqual(['1.2', '1.1']);
        expect(await studyUids([], 2, 4)).toEqual([]);
      });

      it('sorts studies by the worklist column asked for, either way, with date as the tie-breaker', async () => {
        const sorted = async (column: StudyOrderColumn, descending: boolean) =>
          (await store.query({ ...q('STUDY'), order: { column, descending } })).map((r) => field(r.studyJson, 'study'));
        expect(await sorted('PatientNameNorm', false)).toEqual(['1.4', '1.3', '1.1', '1.2']);
        expect(await sorted('PatientNameNorm', true)).toEqual(['1.2', '1.1', '1.3', '1.4']);
        expect(await sorted('PatientID', true)).toEqual(['1.4', '1.3', '1.2', '1.1']);
        expect(await sorted('StudyDate', false)).toEqual(['1.4', '1.1', '1.2', '1.3']);
        expect((await store.query({ ...q('STUDY', [], 2, 1), order: { column: 'PatientNameNorm', descending: false } })).map((r) => field(r.studyJson, 'study'))).toEqual(['1.3', '1.1']);
      });

      it('returns the full metadata JSON and the storage record of each IMAGE row', async () => {
        const [row] = await store.query(q('IMAGE', [c('SOPInstanceUID', single('1.2.2.1'))]));
        expect(field(row?.instanceJson, 'sop')).toBe('1.2.2.1');
        expect(row?.instance).toMatchObject({ SOPInstanceUID: '1.2.2.1', SeriesInstanceUID: '1.2.2', StudyInstanceUID: '1.2' });
        expect(field(row?.seriesJson, 'series')).toBe('1.2.2');
      });
    });

    describe('retrieving', () => {
      beforeEach(async () => {
        await store.insertInstances([
          entry({ sop: '1.2.3.2.10', series: '1.2.3.2', seriesNumber: '2', instanceNumber: '10' }),
          entry({ sop: '1.2.3.2.9', series: '1.2.3.2', seriesNumber: '2', instanceNumber: '9' }),
          entry({ sop: '1.2.3.1.2', series: '1.2.3.1', seriesNumber: '1', instanceNumber: '1' }),
          entry({ sop: '1.2.3.1.1', series: '1.2.3.1', seriesNumber: '1', instanceNumber: '1' }),
        ], 'reject');
      });

      it('lists instances by series number, then instance number as a number, then UID', async () => {
        expect((await store.listInstances({ StudyInstanceUID: '1.2.3' })).map((i) => i.SOPInstanceUID))
          .toEqual(['1.2.3.1.1', '1.2.3.1.2', '1.2.3.2.9', '1.2.3.2.10']);
      });

      it('narrows the listing to a series or one instance', async () => {
        expect((await store.listInstances({ StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.2' })).map((i) => i.SOPInstanceUID))
          .toEqual(['1.2.3.2.9', '1.2.3.2.10']);
        expect(await store.listInstances({ StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.2', SOPInstanceUID: '1.2.3.1.1' })).toEqual([]);
      });

      it('lists the metadata JSON in the same order as the instances', async () => {
        const rows = await store.listInstanceJson({ StudyInstanceUID: '1.2.3' });
        expect(rows.map((r) => field(r.json, 'sop'))).toEqual(rows.map((r) => r.instance.SOPInstanceUID));
        expect(rows.map((r) => r.instance)).toEqual(await store.listInstances({ StudyInstanceUID: '1.2.3' }));
      });

      it('returns undefined for an instance it does not know', async () => {
        expect(await store.getInstance('9.9.9')).toBeUndefined();
      });
    });

    describe('deleting', () => {
      beforeEach(async () => {
        await store.insertInstances([
          entry({ sop: '1.1.1.1', study: '1.1', series: '1.1.1', modality: 'CT' }),
          entry({ sop: '1.1.1.2', study: '1.1', series: '1.1.1', modality: 'CT' }),
          entry({ sop: '1.1.2.1', study: '1.1', series: '1.1.2', modality: 'MR' }),
          entry({ sop: '1.2.1.1', study: '1.2', series: '1.2.1', patient: 'P2' }),
        ], 'reject');
      });

      it('removes one instance and keeps its series while others remain', async () => {
        const removed = await store.deleteScope({ StudyInstanceUID: '1.1', SOPInstanceUID: '1.1.1.1' });
        expect(removed.map((r) => r.blobKey)).toEqual(['blob-1.1.1.1-first']);
        expect(await store.counts()).toEqual({ patients: 2, studies: 2, series: 3, instances: 3 });
      });

      it('removes a series left empty and drops its modality from the study', async () => {
        await store.deleteScope({ StudyInstanceUID: '1.1', SeriesInstanceUID: '1.1.2' });
        expect(await store.counts()).toEqual({ patients: 2, studies: 2, series: 2, instances: 3 });
        expect((await store.query(q('STUDY', [c('StudyInstanceUID', single('1.1'))])))[0]?.modalitiesInStudy).toEqual(['CT']);
        expect(await studyUids([c('ModalitiesInStudy', single('MR'))])).toEqual([]);
      });

      it('removes the study and the patient left empty', async () => {
        const removed = await store.deleteScope({ StudyInstanceUID: '1.2' });
        expect(removed.map((r) => r.SOPInstanceUID)).toEqual(['1.2.1.1']);
        expect(await store.counts()).toEqual({ patients: 1, studies: 1, series: 2, instances: 3 });
        expect(await patientIds([])).toEqual(['P1']);
      });

      it('removes a whole study with all its series, and then nothing more', async () => {
        expect(await store.deleteScope({ StudyInstanceUID: '1.1' })).toHaveLength(3);
        expect(await store.deleteScope({ StudyInstanceUID: '1.1' })).toEqual([]);
        expect(await store.counts()).toEqual({ patients: 1, studies: 1, series: 1, instances: 1 });
      });

      it('indexes a study again after it was deleted', async () => {
        await store.deleteScope({ StudyInstanceUID: '1.2' });
        const [out] = await store.insertInstances([entry({ sop: '1.2.1.1', study: '1.2', series: '1.2.1', patient: 'P2', tag: 'again' })], 'reject');
        expect(out?.status).toBe('stored');
        expect(await store.query(q('PATIENT', [c('PatientID', single('P2'))]))).toMatchObject([{ numberOfPatientRelatedInstances: 1 }]);
      });
    });

    describe('scanning and counting', () => {
      it('streams every instance in pages larger and smaller than the page size', async () => {
        const entries = Array.from({ length: 25 }, (_, n) => entry({ sop: `2.${n}`, study: `3.${n % 4}`, instanceNumber: String(n) }));
        await store.insertInstances(entries, 'reject');
        const seen: string[] = [];
        for await (const i of store.allInstances(10)) seen.push(i.SOPInstanceUID);
        expect(seen.sort()).toEqual(entries.map((e) => e.instance.SOPInstanceUID).sort());
        const all: string[] = [];
        for await (const i of store.allInstances()) all.push(i.blobKey);
        expect(all).toHaveLength(25);
      });

      it('yields nothing from an empty index', async () => {
        for await (const i of store.allInstances()) throw new Error(`unexpected ${i.SOPInstanceUID}`);
        expect(await store.counts()).toEqual({ patients: 0, studies: 0, series: 0, instances: 0 });
      });

      it('can migrate again without losing data', async () => {
        await store.insertInstances([entry({ sop: '4.1' })], 'reject');
        await store.migrate();
        expect((await store.counts()).instances).toBe(1);
      });
    });

    describe('accounts', () => {
      it('creates a user and finds it by name and by id', async () => {
        await store.createUser(user('alice'));
        expect(await store.getUserByName('alice')).toEqual(user('alice'));
        expect(await store.getUserById('u-alice')).toEqual(user('alice'));
        expect(await store.getUserByName('bob')).toBeUndefined();
      });

      it('refuses a username that is taken with already-exists', async () => {
        await store.createUser(user('alice'));
        const err = await store.createUser(user('alice', 'u-other')).catch((e: unknown) => e);
        expect(isRampartError(err, 'already-exists')).toBe(true);
      });

      it('lists users by username and keeps the disabled flag', async () => {
        await store.createUser({ ...user('carol'), disabled: true });
        await store.createUser(user('alice'));
        expect((await store.listUsers()).map((u) => [u.username, u.disabled])).toEqual([['alice', false], ['carol', true]]);
      });

      it('sets a new password hash, and refuses an unknown user with not-found', async () => {
        await store.createUser(user('alice'));
        await store.setPassword('u-alice', '$argon2id$new');
        expect((await store.getUserById('u-alice'))?.passwordHash).toBe('$argon2id$new');
        const err = await store.setPassword('u-nobody', 'x').catch((e: unknown) => e);
        expect(isRampartError(err, 'not-found')).toBe(true);
      });

      it('changes a user\'s role and disables and re-enables them, and says false for an unknown user', async () => {
        await store.createUser(user('alice'));
        await store.createUser(user('bob'));
        expect(await store.setRole('u-alice', 'admin')).toBe(true);
        expect(await store.setDisabled('u-alice', true)).toBe(true);
        expect(await store.getUserById('u-alice')).toEqual({ ...user('alice'), role: 'admin', disabled: true });
        expect(await store.setDisabled('u-alice', false)).toBe(true);
        expect((await store.getUserByName('alice'))?.disabled).toBe(false);
        expect(await store.getUserById('u-bob')).toEqual(user('bob'));
        expect([await store.setRole('u-nobody', 'admin'), await store.setDisabled('u-nobody', true)]).toEqual([false, false]);
      });

      it('never leaves no enabled administrator when asked to keep one, even for two changes at once', async () => {
        await store.createUser({ ...user('ann'), role: 'admin' });
        await store.createUser({ ...user('ben'), role: 'admin' });
        // Each demotes the other at the same moment: exactly one of the two may pass.
        const both = await Promise.all([
          store.setRole('u-ann', 'radiologist', { keepAnAdmin: true }),
          store.setDisabled('u-ben', true, { keepAnAdmin: true }),
        ]);
        expect(both.filter(Boolean)).toHaveLength(1);
        const admins = (await store.listUsers()).filter((u) => u.role === 'admin' && !u.disabled);
        expect(admins).toHaveLength(1);
        // The last one stays; without the guard the store does as told.
        expect(await store.setRole(admins[0]!.id, 'auditor', { keepAnAdmin: true })).toBe(false);
        expect(await store.setDisabled(admins[0]!.id, true, { keepAnAdmin: true })).toBe(false);
        expect(await store.setRole(admins[0]!.id, 'auditor')).toBe(true);
      });

      it('creates tokens, finds one by hash and lists them for one user or all', async () => {
        await store.createUser(user('alice'));
        await store.createUser(user('bob'));
        await store.createToken(token('t1', 'u-alice'));
        await store.createToken({ ...token('t22', 'u-bob'), expiresAt: '2030-01-01T00:00:00.000Z' });
        expect(await store.getTokenByHash('hash-t1')).toEqual(token('t1', 'u-alice'));
        expect(await store.getTokenByHash('hash-none')).toBeUndefined();
        expect((await store.listTokens('u-bob')).map((t) => [t.id, t.expiresAt])).toEqual([['t22', '2030-01-01T00:00:00.000Z']]);
        expect((await store.listTokens()).map((t) => t.id)).toEqual(['t1', 't22']);
      });

      it('revokes a token once and keeps the first revocation time', async () => {
        await store.createToken(token('t1', 'u-alice'));
        expect(await store.revokeToken('t1', '2024-02-01T00:00:00.000Z')).toBe(true);
        expect(await store.revokeToken('t1', '2024-03-01T00:00:00.000Z')).toBe(true);
        expect((await store.getTokenByHash('hash-t1'))?.revokedAt).toBe('2024-02-01T00:00:00.000Z');
        expect(await store.revokeToken('t-unknown', '2024-02-01T00:00:00.000Z')).toBe(false);
      });

      it('records when a token was last used', async () => {
        await store.createToken(token('t1', 'u-alice'));
        await store.touchToken('t1', '2024-05-05T05:05:05.000Z');
        expect((await store.getTokenByHash('hash-t1'))?.lastUsedAt).toBe('2024-05-05T05:05:05.000Z');
      });

      it("removes a user and revokes that user's tokens, and says false for an unknown user", async () => {
        await store.createUser(user('alice'));
        await store.createUser(user('bob'));
        await store.createToken(token('t1', 'u-alice'));
        await store.createToken(token('t22', 'u-bob'));
        expect(await store.removeUser('alice')).toBe(true);
        expect(await store.getUserByName('alice')).toBeUndefined();
        expect((await store.getTokenByHash('hash-t1'))?.revokedAt).not.toBeNull();
        expect((await store.getTokenByHash('hash-t22'))?.revokedAt).toBeNull();
        expect(await store.removeUser('alice')).toBe(false);
      });
    });
  });
}

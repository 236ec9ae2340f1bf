// SQLite's direct insert path must leave exactly the rows the general (Kysely) path leaves, take
// only the batches it is meant for, and keep nothing of a batch that fails.
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InstanceIndexEntry, OverwritePolicy } from './index-store.js';
import { KyselyIndexStore, migrated } from './kysely-index-store.js';
import type { DB } from './schema.js';
import { SqliteFastInsert } from './sqlite-fast-insert.js';

const dirs: string[] = [];
afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }); });

async function open(fast: boolean): Promise<{ store: KyselyIndexStore; database: Database.Database; fastPath?: SqliteFastInsert }> {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-fast-'));
  dirs.push(dir);
  const database = new Database(join(dir, 'index.sqlite'));
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  const fastPath = fast ? new SqliteFastInsert(database) : undefined;
  const store = await migrated(new KyselyIndexStore(new Kysely<DB>({ dialect: new SqliteDialect({ database }) }), 'sqlite', fastPath));
  return { store, database, fastPath };
}

function entry(sop: string, o: { series?: string; study?: string; patient?: string; number?: string; tag?: string } = {}): InstanceIndexEntry {
  const study = o.study ?? '1.2.3';
  const series = o.series ?? `${study}.1`;
  const patient = o.patient ?? 'P1';
  const tag = o.tag ?? 'a';
  return {
    patient: { PatientID: patient, IssuerOfPatientID: '', PatientName: 'Doe^Jane', PatientNameNorm: 'DOE^JANE', PatientBirthDate: '19700101', PatientSex: 'F', json: `{"p":"${patient}"}` },
    study: { StudyInstanceUID: study, StudyDate: '20240101', StudyTime: '1200', AccessionNumber: 'A1', StudyID: '1', ReferringPhysicianNameNorm: '', StudyDescription: 'Chest', json: `{"st":"${study}"}` },
    series: { SeriesInstanceUID: series, Modality: 'CT', SeriesNumber: '1', SeriesDescription: 'Axial', SeriesDate: '20240101', json: `{"se":"${series}"}` },
    instance: {
      SOPInstanceUID: sop, SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', InstanceNumber: o.number ?? '7', TransferSyntaxUID: '1.2.840.10008.1.2.1',
      blobKey: `${sop}-${tag}`, size: 1234, sha256: tag.repeat(64).slice(0, 64), json: `{"i":"${sop}","t":"${tag}"}`,
    },
  };
}

/** Every row of the four levels, without creation times and with parents named by UID. */
function dump(db: Database.Database): unknown {
  return {
    patients: db.prepare('select patient_id, patient_name, json, num_studies, num_series, num_instances from patients order by patient_id').all(),
    studies: db.prepare('select study_instance_uid, modalities, json, num_series, num_instances, (select patient_id from patients p where p.pk = st.patient_pk) as patient from studies st order by study_instance_uid').all(),
    series: db.prepare('select series_instance_uid, json, num_instances, (select study_instance_uid from studies st where st.pk = se.study_pk) as study from series se order by series_instance_uid').all(),
    instances: db.prepare(`select sop_instance_uid, sop_class_uid, instance_number, instance_number_int, transfer_syntax_uid, blob_key, size, sha256, json,
      (select series_instance_uid from series se where se.pk = i.series_pk) as series from instances i order by sop_instance_uid`).all(),
  };
}

const script: [InstanceIndexEntry[], OverwritePolicy, boolean][] = [
  [[entry('1.1')], 'reject', true], // a new series, study and patient: the general path
  [[entry('1.2', { number: 'x' }), entry('1.3', { number: '12' })], 'reject', true], // known series: fast
  [[entry('1.4'), entry('1.4', { tag: 'b' })], 'reject', true], // the same SOP twice in one batch
  [[entry('1.2', { tag: 'b' })], 'reject', false], // already indexed, rejected
  [[entry('1.5'), entry('2.1', { series: '1.2.3.2' })], 'reject', true], // one new series in the batch
  [[entry('2.2', { series: '1.2.3.2' }), entry('3.1', { series: '9.9.1', study: '9.9', patient: 'P2' }), entry('1.6')], 'reject', false],
  [[entry('3.2', { series: '9.9.1', study: '9.9', patient: 'P2' }), entry('1.7')], 'replace', true], // two studies, two patients: fast
  [[entry('1.3', { tag: 'c' })], 'replace', true], // replaced: the general path
  [[entry('1.8', { series: '9.9.1', study: 'other' })], 'keep', false], // an existing series named from another study
];

describe('SQLite direct insert path', () => {
  it('leaves the same rows and outcomes as the general path, batch after batch', async () => {
    const a = await open(true);
    const b = await open(false);
    const taken = vi.spyOn(a.fastPath!, 'tryInsert');
    for (const [batch, policy, defer] of script) {
      const fast = await a.store.insertInstances(batch, policy, { deferDurability: defer });
      const general = await b.store.insertInstances(batch, policy, { deferDurability: defer });
      const strip = (o: unknown) => JSON.parse(JSON.stringify(o, (k, v) => (k === 'createdAt' ? undefined : v)));
      expect(strip(fast)).toEqual(strip(general));
      expect(dump(a.database)).toEqual(dump(b.database));
    }
    // Taken for the batches of new instances in known series only.
    const tookIt = taken.mock.results.map((r) => r.type === 'return' && r.value !== undefined);
    expect(tookIt).toEqual([false, true, false, false, false, false, true, false, true]);
    await a.store.close(); await b.store.close();
  });

  it('keeps nothing of a batch that fails half-way, and leaves the connection durable again', async () => {
    const a = await open(true);
    await a.store.insertInstances([entry('1.1')], 'reject');
    // A trigger makes the second insert of the next batch fail inside the transaction.
    a.database.exec(`create trigger refuse before insert on instances when new.sop_instance_uid = '1.3' begin select raise(abort, 'refused'); end`);
    const before = dump(a.database);
    const taken = vi.spyOn(a.fastPath!, 'tryInsert');
    await expect(a.store.insertInstances([entry('1.2'), entry('1.3')], 'reject', { deferDurability: true })).rejects.toThrow('refused');
    expect(taken.mock.results.map((r) => r.type)).toEqual(['throw']); // it was the direct path that failed
    expect(dump(a.database)).toEqual(before);
    expect(a.database.pragma('synchronous', { simple: true })).toBe(2); // FULL
    await a.store.close();
  });
});

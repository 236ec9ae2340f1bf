// The common case of indexing on SQLite, without the query builder: every instance of the batch
// is new and belongs to a series the index already has. Then the transaction is one synchronous
// better-sqlite3 call with prepared statements: look the instances and series up, insert the
// rows, add to the counters. Anything else (a SOP Instance UID seen before, in the index or twice
// in the batch; a new series, study or patient) is left to the general path in
// kysely-index-store.ts, which makes the same rows. Through Kysely the same work cost about 1 ms
// of CPU per instance, most of a C-STORE's CPU on four associations (bench/README.md, session 4).
import type Database from 'better-sqlite3';
import { RampartError } from '../../errors.js';
import type { InsertOutcome, InstanceIndexEntry } from './index-store.js';
import { instanceRow, storedInstance } from './instance-row.js';

interface SeriesPlace { pk: number; study: number; patient: number }

export class SqliteFastInsert {
  private statements: ReturnType<SqliteFastInsert['prepare']> | undefined;

  constructor(private readonly database: Database.Database) {}

  /** Prepared once the schema exists (on first use, after migration). */
  private prepare() {
    const db = this.database;
    const st = {
      known: db.prepare<[string], { pk: number }>('select pk from instances where sop_instance_uid = ?'),
      series: db.prepare<[string], SeriesPlace>(
        'select se.pk as pk, se.study_pk as study, st.patient_pk as patient from series se inner join studies st on st.pk = se.study_pk where se.series_instance_uid = ?'),
      insert: db.prepare<[ReturnType<typeof instanceRow> & { series_pk: number }]>(
        'insert into instances (sop_instance_uid, sop_class_uid, instance_number, instance_number_int, transfer_syntax_uid, blob_key, size, sha256, created_at, json, series_pk) '
        + 'values (@sop_instance_uid, @sop_class_uid, @instance_number, @instance_number_int, @transfer_syntax_uid, @blob_key, @size, @sha256, @created_at, @json, @series_pk) '
        + 'on conflict (sop_instance_uid) do nothing'),
      seriesCount: db.prepare('update series set num_instances = num_instances + ? where pk = ?'),
      studyCount: db.prepare('update studies set num_instances = num_instances + ? where pk = ?'),
      patientCount: db.prepare('update patients set num_instances = num_instances + ? where pk = ?'),
      lazy: db.prepare('PRAGMA synchronous = NORMAL'),
      full: db.prepare('PRAGMA synchronous = FULL'),
    };
    const write = db.transaction((entries: InstanceIndexEntry[], places: SeriesPlace[], now: string) => {
      const series = new Map<number, number>();
      const studies = new Map<number, number>();
      const patients = new Map<number, number>();
      const add = (m: Map<number, number>, pk: number) => m.set(pk, (m.get(pk) ?? 0) + 1);
      entries.forEach((e, k) => {
        const place = places[k]!;
        const r = st.insert.run({ ...instanceRow(e, now), series_pk: place.pk });
        // Checked just before on the connection we hold, so this cannot happen; if it does, nothing is kept.
        if (r.changes !== 1) throw new RampartError('internal', 'instance appeared during its insert');
        add(series, place.pk); add(studies, place.study); add(patients, place.patient);
      });
      // In primary-key order, like the general path.
      const byPk = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
      for (const [pk, n] of byPk(series)) st.seriesCount.run(n, pk);
      for (const [pk, n] of byPk(studies)) st.studyCount.run(n, pk);
      for (const [pk, n] of byPk(patients)) st.patientCount.run(n, pk);
    });
    return { ...st, write };
  }

  /**
   * Indexes the batch in one transaction and returns its outcomes, or returns undefined without
   * writing anything when the batch needs the general path. The caller holds the connection.
   * With `deferDurability`, the commit does not wait for the WAL to reach the disk (the caller's
   * barrier makes it durable later), as on the general path.
   */
  tryInsert(entries: InstanceIndexEntry[], deferDurability: boolean): InsertOutcome[] | undefined {
    const st = (this.statements ??= this.prepare());
    const seen = new Set<string>();
    const places: SeriesPlace[] = [];
    for (const e of entries) {
      const uid = e.instance.SOPInstanceUID;
      if (seen.has(uid) || st.known.get(uid) !== undefined) return undefined;
      seen.add(uid);
      const se = st.series.get(e.series.SeriesInstanceUID);
      if (se === undefined) return undefined;
      places.push(se);
    }
    const now = new Date().toISOString();
    if (deferDurability) st.lazy.run();
    try {
      st.write(entries, places, now);
    } finally {
      if (deferDurability) st.full.run();
    }
    return entries.map((e) => ({ status: 'stored', instance: storedInstance(e, now) }));
  }
}

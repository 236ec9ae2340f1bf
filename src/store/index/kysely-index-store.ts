// The IndexStore and AccountStore adapter over Kysely, shared by SQLite and PostgreSQL.
// Matching follows PS3.4 C.2.2.2 (single value, wildcard, range, UID list); counters are
// columns kept up to date inside the insert/delete transactions, so queries read them directly.

import { sql, type RawBuilder, type Expression, type ExpressionBuilder, type Kysely, type SelectQueryBuilder, type SqlBool, type Transaction } from 'kysely';
import { alreadyExists, badRequest, notFound } from '../../errors.js';
import type { AccountStore, KeepAnAdmin, Role, TokenRecord, TokenScope, UserRecord } from './account-store.js';
import type {
  Column, Condition, DataScope, IndexQuery, IndexStore, InsertOptions, InsertOutcome, InstanceIndexEntry, Level, Match,
  OverwritePolicy, QueryRow, RetrieveScope, StudyOrder, StoredInstance,
} from './index-store.js';
import {
  migrate, NO_NUMBER, toInt, type DB, type Dialect, type InstanceTable, type PatientTable, type SeriesTable,
  type StudyTable, type TokenTable, type UserTable,
} from './schema.js';
import { instanceRow, storedInstance } from './instance-row.js';
import type { SqliteFastInsert } from './sqlite-fast-insert.js';

/** The aliases every query uses: p patients, st studies, se series, i instances, ms series (modality subquery). */
type Aliased = DB & { p: PatientTable; st: StudyTable; se: SeriesTable; i: InstanceTable; ms: SeriesTable };
type EB = ExpressionBuilder<Aliased, 'p' | 'st' | 'se' | 'i'>;
type TextRef<A extends string, T> = { [K in keyof T]: T[K] extends string ? `${A}.${K & string}` : never }[keyof T];
type Ref = TextRef<'p', PatientTable> | TextRef<'st', StudyTable> | TextRef<'se', SeriesTable> | TextRef<'i', InstanceTable>;

const RANK: Record<Level, number> = { PATIENT: 0, STUDY: 1, SERIES: 2, IMAGE: 3 };

const COLUMNS: Record<Exclude<Column, 'ModalitiesInStudy'>, { level: Level; ref: Ref }> = {
  PatientID: { level: 'PATIENT', ref: 'p.patient_id' },
  IssuerOfPatientID: { level: 'PATIENT', ref: 'p.issuer_of_patient_id' },
  PatientNameNorm: { level: 'PATIENT', ref: 'p.patient_name_norm' },
  PatientBirthDate: { level: 'PATIENT', ref: 'p.patient_birth_date' },
  PatientSex: { level: 'PATIENT', ref: 'p.patient_sex' },
  StudyInstanceUID: { level: 'STUDY', ref: 'st.study_instance_uid' },
  StudyDate: { level: 'STUDY', ref: 'st.study_date' },
  StudyTime: { level: 'STUDY', ref: 'st.study_time' },
  AccessionNumber: { level: 'STUDY', ref: 'st.accession_number' },
  StudyID: { level: 'STUDY', ref: 'st.study_id' },
  ReferringPhysicianNameNorm: { level: 'STUDY', ref: 'st.referring_physician_name_norm' },
  StudyDescription: { level: 'STUDY', ref: 'st.study_description' },
  SeriesInstanceUID: { level: 'SERIES', ref: 'se.series_instance_uid' },
  Modality: { level: 'SERIES', ref: 'se.modality' },
  SeriesNumber: { level: 'SERIES', ref: 'se.series_number' },
  SeriesDescription: { level: 'SERIES', ref: 'se.series_description' },
  SeriesDate: { level: 'SERIES', ref: 'se.series_date' },
  SOPInstanceUID: { level: 'IMAGE', ref: 'i.sop_instance_uid' },
  SOPClassUID: { level: 'IMAGE', ref: 'i.sop_class_uid' },
  InstanceNumber: { level: 'IMAGE', ref: 'i.instance_number' },
};

/** DICOM wildcard to LIKE: escape the LIKE specials first, then '*' -> '%', '?' -> '_'. */
export function wildcardToLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

/** The SQL for one Match on one column; undefined when it matches everything (universal). */
function matchExpr<T extends keyof Aliased>(
  eb: ExpressionBuilder<Aliased, T>, ref: Expression<string>, m: Match,
): Expression<SqlBool> | undefined {
  switch (m.kind) {
    case 'single':
      return eb(ref, '=', m.value);
    case 'wildcard':
      if (/^\**$/.test(m.pattern)) return undefined;
      // Kysely has no ESCAPE clause; this form is the same in SQLite and PostgreSQL.
      return sql<SqlBool>`${ref} like ${wildcardToLike(m.pattern)} escape '\\'`;
    case 'range': {
      if (m.from === undefined && m.to === undefined) return undefined;
      // An empty value is not "before" or "after" anything.
      const parts = [eb(ref, '<>', '')];
      if (m.from !== undefined) parts.push(eb(ref, '>=', m.from));
      if (m.to !== undefined) parts.push(eb(ref, '<=', m.to));
      return eb.and(parts);
    }
    case 'list':
      return m.values.length === 0 ? eb.or([]) : eb(ref, 'in', m.values);
  }
}

function whereAll(eb: EB, conditions: Condition[], level: Level): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = [];
  for (const c of conditions) {
    if (c.column === 'ModalitiesInStudy') {
      if (RANK[level] < RANK.STUDY) throw badRequest('ModalitiesInStudy cannot restrict a PATIENT query');
      const m = c.match;
      parts.push(eb.exists(eb.selectFrom('series as ms').select('ms.pk')
        .whereRef('ms.study_pk', '=', 'st.pk')
        .where((e2) => matchExpr(e2, e2.ref('ms.modality'), m) ?? e2.and([]))));
      continue;
    }
    const col = COLUMNS[c.column];
    if (col === undefined) throw badRequest('unknown query column');
    if (RANK[col.level] > RANK[level]) throw badRequest(`${c.column} cannot restrict a ${level} query`);
    const e = matchExpr(eb, eb.ref(col.ref), c.match);
    if (e !== undefined) parts.push(e);
  }
  return eb.and(parts);
}

/** Who holds a grant: the user by id, or any of the groups by name. */
function grantSubject(g: NonNullable<DataScope['grantees']>): RawBuilder<SqlBool> {
  const parts: RawBuilder<SqlBool>[] = [];
  if (g.userId !== null) parts.push(sql<SqlBool>`(g.subject_kind = 'user' and g.subject = ${g.userId})`);
  if (g.groups.length > 0) parts.push(sql<SqlBool>`(g.subject_kind = 'group' and g.subject in (${sql.join([...g.groups])}))`);
  return parts.length === 0 ? sql<SqlBool>`1 = 0` : sql<SqlBool>`(${sql.join(parts, sql` or `)})`;
}

/**
 * The pks of the studies within the scope: listed by UID, or named (by study, or by Patient ID)
 * by a live grant of the grantee. Driven from the grants side, so a principal with a few grants
 * costs a few index lookups, however large the archive.
 */
function visibleStudyPks(w: DataScope): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  if (w.studies !== undefined && w.studies.length > 0) {
    parts.push(sql`select s3.pk from studies s3 where s3.study_instance_uid in (${sql.join([...w.studies])})`);
  }
  if (w.grantees !== undefined) {
    const who = grantSubject(w.grantees);
    const live = sql<SqlBool>`(g.expires_at is null or g.expires_at > ${w.grantees.at})`;
    parts.push(sql`select s3.pk from grants g join studies s3 on s3.study_instance_uid = g.study_instance_uid where ${who} and ${live}`);
    parts.push(sql`select s3.pk from grants g join patients p3 on p3.patient_id = g.patient_id join studies s3 on s3.patient_pk = p3.pk where ${who} and ${live}`);
  }
  return parts.length === 0 ? sql`select s3.pk from studies s3 where 1 = 0` : sql.join(parts, sql` union `);
}

/** True for rows whose study (by pk) is within the scope. */
export function visibleExpr(w: DataScope, studyPk: RawBuilder<unknown>): RawBuilder<SqlBool> {
  return sql<SqlBool>`${studyPk} in (${visibleStudyPks(w)})`;
}

const ST_PK = sql.ref('st.pk');

/** `\CT\MR\` <-> ['CT', 'MR']. */
const parseModalities = (s: string): string[] => s.split('\\').filter((m) => m !== '');
const formatModalities = (ms: Iterable<string>): string => {
  const sorted = [...new Set(ms)].filter((m) => m !== '').sort();
  return sorted.length === 0 ? '' : `\\${sorted.join('\\')}\\`;
};

const instanceColumns = [
  'st.study_instance_uid', 'se.series_instance_uid', 'i.sop_instance_uid', 'i.sop_class_uid',
  'i.transfer_syntax_uid', 'i.blob_key', 'i.size', 'i.sha256', 'i.created_at',
] as const;

interface InstanceRow {
  study_instance_uid: string; series_instance_uid: string; sop_instance_uid: string; sop_class_uid: string;
  transfer_syntax_uid: string; blob_key: string; size: number | string; sha256: string; created_at: string;
}

function toStored(r: InstanceRow): StoredInstance {
  return {
    StudyInstanceUID: r.study_instance_uid, SeriesInstanceUID: r.series_instance_uid,
    SOPInstanceUID: r.sop_instance_uid, SOPClassUID: r.sop_class_uid, TransferSyntaxUID: r.transfer_syntax_uid,
    blobKey: r.blob_key, size: Number(r.size), sha256: r.sha256, createdAt: r.created_at,
  };
}

/** Where an instance row sits in the hierarchy: what a delete must decrement. */
interface Placement { pk: number; series_pk: number; study_pk: number; patient_pk: number }

/** Counter increments gathered during a batch and written once per row at the end. */
class Deltas {
  series = new Map<number, number>();
  studies = new Map<number, { series: number; instances: number }>();
  patients = new Map<number, { studies: number; series: number; instances: number }>();

  add(where: { series?: number; study: number; patient: number }, d: { studies?: number; series?: number; instances?: number }): void {
    if (where.series !== undefined && d.instances) this.series.set(where.series, (this.series.get(where.series) ?? 0) + d.instances);
    const st = this.studies.get(where.study) ?? { series: 0, instances: 0 };
    st.series += d.series ?? 0; st.instances += d.instances ?? 0;
    this.studies.set(where.study, st);
    const p = this.patients.get(where.patient) ?? { studies: 0, series: 0, instances: 0 };
    p.studies += d.studies ?? 0; p.series += d.series ?? 0; p.instances += d.instances ?? 0;
    this.patients.set(where.patient, p);
  }

  /** Writes in pk order, so concurrent PostgreSQL batches lock rows in the same order. */
  async flush(trx: Kysely<DB>): Promise<void> {
    const byPk = <V>(m: Map<number, V>) => [...m].sort((a, b) => a[0] - b[0]);
    for (const [pk, n] of byPk(this.series)) {
      await trx.updateTable('series').set((eb) => ({ num_instances: eb('num_instances', '+', n) })).where('pk', '=', pk).execute();
    }
    for (const [pk, d] of byPk(this.studies)) {
      await trx.updateTable('studies').set((eb) => ({
        num_series: eb('num_series', '+', d.series), num_instances: eb('num_instances', '+', d.instances),
      })).where('pk', '=', pk).execute();
    }
    for (const [pk, d] of byPk(this.patients)) {
      await trx.updateTable('patients').set((eb) => ({
        num_studies: eb('num_studies', '+', d.studies), num_series: eb('num_series', '+', d.series),
        num_instances: eb('num_instances', '+', d.instances),
      })).where('pk', '=', pk).execute();
    }
    this.series.clear(); this.studies.clear(); this.patients.clear();
  }
}

/** Splits a list so that IN (...) stays well under every driver's parameter limit. */
function* chunks<T>(xs: T[], size = 500): Generator<T[]> {
  for (let i = 0; i < xs.length; i += size) yield xs.slice(i, i + size);
}

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Migrates a freshly opened store; on failure closes it, so no connection is left behind. */
export async function migrated(store: KyselyIndexStore): Promise<KyselyIndexStore> {
  try {
    await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

export class KyselyIndexStore implements IndexStore, AccountStore {
  /** `fast`: SQLite's direct path for batches of new instances in known series (sqlite-fast-insert.ts). */
  constructor(readonly db: Kysely<DB>, readonly dialect: Dialect, private readonly fast?: SqliteFastInsert) {}

  migrate(): Promise<void> {
    return migrate(this.db, this.dialect);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // ---- IndexStore: writes ----

  insertInstances(entries: InstanceIndexEntry[], policy: OverwritePolicy, opts: InsertOptions = {}): Promise<InsertOutcome[]> {
    const insert = (db: Kysely<DB>) => db.transaction().execute(async (trx) => {
      // PostgreSQL: this transaction's commit returns before its WAL is flushed.
      if (opts.deferDurability && this.dialect === 'postgres') await sql`SET LOCAL synchronous_commit TO OFF`.execute(trx);
      const batch = new InsertBatch(trx);
      const out: InsertOutcome[] = [];
      for (const e of entries) out.push(await batch.insert(e, policy));
      await batch.deltas.flush(trx);
      return out;
    });
    if (this.dialect !== 'sqlite' || (!opts.deferDurability && !this.fast)) return insert(this.db);
    // SQLite: the setting is per connection, so it is lowered only while this one connection
    // is held, and every other write keeps synchronous=FULL.
    return this.db.connection().execute(async (conn) => {
      const done = this.fast?.tryInsert(entries, opts.deferDurability === true);
      if (done) return done;
      if (!opts.deferDurability) return insert(conn);
      await sql`PRAGMA synchronous = NORMAL`.execute(conn);
      try {
        return await insert(conn);
      } finally {
        await sql`PRAGMA synchronous = FULL`.execute(conn);
      }
    });
  }

  async syncBarrier(): Promise<void> {
    if (this.dialect === 'postgres') {
      // An assigned transaction id makes the commit wait for the WAL flush, which covers every
      // earlier commit made with synchronous_commit off.
      await this.db.transaction().execute((trx) => sql`SELECT txid_current()`.execute(trx));
      return;
    }
    // A checkpoint syncs the WAL before it copies it into the database, then syncs that.
    const { rows } = await sql<{ busy: number; log: number; checkpointed: number }>`PRAGMA wal_checkpoint(PASSIVE)`.execute(this.db);
    const r = rows[0];
    if (!r || r.busy !== 0 || (r.log >= 0 && r.checkpointed < r.log)) {
      // Not everything could be copied: a commit in FULL mode still syncs the whole WAL (an
      // UPDATE writes its page even when the value does not change).
      await this.db.transaction().execute((trx) => sql`UPDATE schema_version SET version = version`.execute(trx));
    }
  }

  async indexedBlobKeys(keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const part of chunks([...keys])) {
      const rows = await this.db.selectFrom('instances').select('blob_key').where('blob_key', 'in', part).execute();
      for (const r of rows) found.add(r.blob_key);
    }
    return found;
  }

  deleteScope(scope: RetrieveScope): Promise<StoredInstance[]> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await scoped(trx, scope)
        .select([...instanceColumns, 'i.pk', 'i.series_pk', 'se.study_pk', 'st.patient_pk'])
        .execute();
      await removeInstances(trx, rows);
      return rows.map(toStored);
    });
  }

  // ---- IndexStore: reads ----

  async query(q: IndexQuery): Promise<QueryRow[]> {
    const w = q.within;
    const where = (eb: EB) => {
      const e = whereAll(eb, q.conditions, q.level);
      return w === undefined || q.level === 'PATIENT' ? e : eb.and([e, visibleExpr(w, ST_PK)]);
    };
    const db = this.db as unknown as Kysely<Aliased>;
    switch (q.level) {
      case 'PATIENT': {
        const w = q.within;
        // Within a scope, a patient shows when one of its studies is visible, and its counts
        // count only the visible studies (a grant on one study says nothing of the others).
        const seen = w && visibleExpr(w, sql.ref('s2.pk'));
        const rows = w && seen
          ? await db.selectFrom('patients as p')
            .where((eb) => where(eb as unknown as EB))
            .where(sql<SqlBool>`p.pk in (select s4.patient_pk from studies s4 where ${visibleExpr(w, sql.ref('s4.pk'))})`)
            .select([
              'p.json',
              sql<number>`(select count(*) from studies s2 where s2.patient_pk = p.pk and ${seen})`.as('num_studies'),
              sql<number>`(select coalesce(sum(s2.num_series), 0) from studies s2 where s2.patient_pk = p.pk and ${seen})`.as('num_series'),
              sql<number>`(select coalesce(sum(s2.num_instances), 0) from studies s2 where s2.patient_pk = p.pk and ${seen})`.as('num_instances'),
            ])
            .orderBy('p.patient_name_norm').orderBy('p.pk')
            .limit(q.limit).offset(q.offset).execute()
          : await db.selectFrom('patients as p')
            .where((eb) => where(eb as unknown as EB))
            .select(['p.json', 'p.num_studies', 'p.num_series', 'p.num_instances'])
            .orderBy('p.patient_name_norm').orderBy('p.pk')
            .limit(q.limit).offset(q.offset).execute();
        return rows.map((r) => ({
          patientJson: r.json, numberOfPatientRelatedStudies: Number(r.num_studies),
          numberOfPatientRelatedSeries: Number(r.num_series), numberOfPatientRelatedInstances: Number(r.num_instances),
        }));
      }
      case 'STUDY': {
        const rows = await db.selectFrom('studies as st').innerJoin('patients as p', 'p.pk', 'st.patient_pk')
          .where((eb) => where(eb as unknown as EB))
          .select(['p.json as patient_json', 'st.json as study_json', 'st.num_series', 'st.num_instances', 'st.modalities'])
          .$call((qb) => orderStudies(qb, q.order))
          .limit(q.limit).offset(q.offset).execute();
        return rows.map((r) => ({
          patientJson: r.patient_json, studyJson: r.study_json, numberOfStudyRelatedSeries: r.num_series,
          numberOfStudyRelatedInstances: r.num_instances, modalitiesInStudy: parseModalities(r.modalities),
        }));
      }
      case 'SERIES': {
        const rows = await db.selectFrom('series as se').innerJoin('studies as st', 'st.pk', 'se.study_pk')
          .innerJoin('patients as p', 'p.pk', 'st.patient_pk')
          .where((eb) => where(eb as unknown as EB))
          .select(['p.json as patient_json', 'st.json as study_json', 'se.json as series_json', 'se.num_instances'])
          .orderBy('se.study_pk').orderBy('se.series_number_int').orderBy('se.pk')
          .limit(q.limit).offset(q.offset).execute();
        return rows.map((r) => ({
          patientJson: r.patient_json, studyJson: r.study_json, seriesJson: r.series_json,
          numberOfSeriesRelatedInstances: r.num_instances,
        }));
      }
      case 'IMAGE': {
        const rows = await db.selectFrom('instances as i').innerJoin('series as se', 'se.pk', 'i.series_pk')
          .innerJoin('studies as st', 'st.pk', 'se.study_pk').innerJoin('patients as p', 'p.pk', 'st.patient_pk')
          .where((eb) => where(eb))
          .select([...instanceColumns, 'p.json as patient_json', 'st.json as study_json', 'se.json as series_json', 'i.json as instance_json'])
          .orderBy('se.study_pk').orderBy('se.series_number_int').orderBy('se.pk')
          .orderBy('i.instance_number_int').orderBy('i.sop_instance_uid')
          .limit(q.limit).offset(q.offset).execute();
        return rows.map((r) => ({
          patientJson: r.patient_json, studyJson: r.study_json, seriesJson: r.series_json,
          instanceJson: r.instance_json, instance: toStored(r),
        }));
      }
    }
  }

  async listInstances(scope: RetrieveScope): Promise<StoredInstance[]> {
    const rows = await ordered(scoped(this.db, scope).select(instanceColumns)).execute();
    return rows.map(toStored);
  }

  async listInstanceJson(scope: RetrieveScope): Promise<{ instance: StoredInstance; json: string }[]> {
    const rows = await ordered(scoped(this.db, scope).select([...instanceColumns, 'i.json'])).execute();
    return rows.map((r) => ({ instance: toStored(r), json: r.json }));
  }

  async getInstance(sopInstanceUid: string): Promise<StoredInstance | undefined> {
    const r = await joined(this.db).where('i.sop_instance_uid', '=', sopInstanceUid).select(instanceColumns).executeTakeFirst();
    return r && toStored(r);
  }

  /** Keyset pagination on the instance pk, so a large index is never held in memory. */
  async *allInstances(pageSize = 1000): AsyncIterable<StoredInstance> {
    let after = 0;
    for (;;) {
      const rows = await joined(this.db).where('i.pk', '>', after).select([...instanceColumns, 'i.pk'])
        .orderBy('i.pk').limit(pageSize).execute();
      for (const r of rows) yield toStored(r);
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < pageSize) return;
      after = last.pk;
    }
  }

  async counts(): Promise<{ patients: number; studies: number; series: number; instances: number }> {
    const count = async (t: 'patients' | 'studies' | 'series' | 'instances') =>
      Number((await this.db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return { patients: await count('patients'), studies: await count('studies'), series: await count('series'), instances: await count('instances') };
  }

  // ---- AccountStore ----

  async createUser(u: UserRecord): Promise<void> {
    try {
      await this.db.insertInto('users').values({
        id: u.id, username: u.username, role: u.role, password_hash: u.passwordHash,
        disabled: u.disabled ? 1 : 0, created_at: u.createdAt,
      }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyExists('a user with this username already exists');
      throw e;
    }
  }

  async getUserByName(username: string): Promise<UserRecord | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return r && toUser(r);
  }

  async getUserById(id: string): Promise<UserRecord | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toUser(r);
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('username').execute()).map(toUser);
  }

  removeUser(username: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const u = await trx.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
      if (u === undefined) return false;
      await trx.updateTable('tokens').set({ revoked_at: new Date().toISOString() })
        .where('user_id', '=', u.id).where('revoked_at', 'is', null).execute();
      await trx.deleteFrom('users').where('id', '=', u.id).execute();
      return true;
    });
  }

  async setPassword(userId: string, passwordHash: string): Promise<void> {
    const r = await this.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound('no such user');
  }

  setRole(userId: string, role: Role, opts: KeepAnAdmin = {}): Promise<boolean> {
    return this.changeUser(userId, { role }, opts);
  }

  setDisabled(userId: string, disabled: boolean, opts: KeepAnAdmin = {}): Promise<boolean> {
    return this.changeUser(userId, { disabled: disabled ? 1 : 0 }, opts);
  }

  private changeUser(userId: string, values: { role?: Role; disabled?: number }, opts: KeepAnAdmin): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (opts.keepAnAdmin) {
        // PostgreSQL: the enabled administrators' rows stay locked until commit, so a concurrent
        // change of another administrator waits and then sees this one. SQLite writers are
        // serialized already (and a stale read cannot upgrade to a write in WAL mode).
        const q = trx.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled', '=', 0);
        const admins = await (this.dialect === 'postgres' ? q.forUpdate() : q).execute();
        if (!admins.some((a) => a.id !== userId)) return false;
      }
      const r = await trx.updateTable('users').set(values).where('id', '=', userId).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  async createToken(t: TokenRecord): Promise<void> {
    try {
      await this.db.insertInto('tokens').values({
        id: t.id, user_id: t.userId, token_hash: t.tokenHash, scopes: JSON.stringify(t.scopes),
        created_at: t.createdAt, expires_at: t.expiresAt, revoked_at: t.revokedAt, last_used_at: t.lastUsedAt,
      }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyExists('a token with this id or hash already exists');
      throw e;
    }
  }

  async getTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const r = await this.db.selectFrom('tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return r && toToken(r);
  }

  async listTokens(userId?: string): Promise<TokenRecord[]> {
    let q = this.db.selectFrom('tokens').selectAll();
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(toToken);
  }

  /** True when the token exists; a token already revoked keeps its first revocation time. */
  async revokeToken(id: string, at: string): Promise<boolean> {
    const t = await this.db.selectFrom('tokens').select('id').where('id', '=', id).executeTakeFirst();
    if (t === undefined) return false;
    await this.db.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    return true;
  }

  async touchToken(id: string, at: string): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}

function toUser(r: UserTable): UserRecord {
  return {
    id: r.id, username: r.username, role: r.role as Role, passwordHash: r.password_hash,
    disabled: Number(r.disabled) !== 0, createdAt: r.created_at,
  };
}

function toToken(r: TokenTable): TokenRecord {
  return {
    id: r.id, userId: r.user_id, tokenHash: r.token_hash, scopes: JSON.parse(r.scopes) as TokenScope[],
    createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at,
  };
}

// ---- query helpers shared by reads and deletes ----

function joined(db: Kysely<DB>) {
  return db.selectFrom('instances as i').innerJoin('series as se', 'se.pk', 'i.series_pk')
    .innerJoin('studies as st', 'st.pk', 'se.study_pk');
}

function scoped(db: Kysely<DB>, scope: RetrieveScope) {
  let q = joined(db).where('st.study_instance_uid', '=', scope.StudyInstanceUID);
  if (scope.within !== undefined) q = q.where(visibleExpr(scope.within, ST_PK));
  if (scope.SeriesInstanceUID !== undefined) q = q.where('se.series_instance_uid', '=', scope.SeriesInstanceUID);
  if (scope.SOPInstanceUID !== undefined) q = q.where('i.sop_instance_uid', '=', scope.SOPInstanceUID);
  return q;
}

/** Series by number then pk, instances by number then UID: the order every listing uses. */
function ordered<O>(q: SelectQueryBuilder<Aliased, 'i' | 'se' | 'st', O>) {
  return q.orderBy('se.series_number_int').orderBy('se.pk').orderBy('i.instance_number_int').orderBy('i.sop_instance_uid');
}

/**
 * Deletes instance rows, decrements their parents' counters, then deletes the series, studies and
 * patients left empty (children before parents, as the foreign keys require).
 */
async function removeInstances(trx: Kysely<DB>, rows: Placement[]): Promise<void> {
  if (rows.length === 0) return;
  const bySeries = new Map<number, number>();
  const byStudy = new Map<number, number>();
  const byPatient = new Map<number, number>();
  for (const r of rows) {
    bySeries.set(r.series_pk, (bySeries.get(r.series_pk) ?? 0) + 1);
    byStudy.set(r.study_pk, (byStudy.get(r.study_pk) ?? 0) + 1);
    byPatient.set(r.patient_pk, (byPatient.get(r.patient_pk) ?? 0) + 1);
  }
  for (const pks of chunks(rows.map((r) => r.pk))) await trx.deleteFrom('instances').where('pk', 'in', pks).execute();
  for (const [pk, n] of bySeries) await trx.updateTable('series').set((eb) => ({ num_instances: eb('num_instances', '-', n) })).where('pk', '=', pk).execute();
  for (const [pk, n] of byStudy) await trx.updateTable('studies').set((eb) => ({ num_instances: eb('num_instances', '-', n) })).where('pk', '=', pk).execute();
  for (const [pk, n] of byPatient) await trx.updateTable('patients').set((eb) => ({ num_instances: eb('num_instances', '-', n) })).where('pk', '=', pk).execute();

  const emptySeries: { pk: number; study_pk: number; patient_pk: number }[] = [];
  for (const pks of chunks([...bySeries.keys()])) {
    emptySeries.push(...await trx.selectFrom('series as se').innerJoin('studies as st', 'st.pk', 'se.study_pk')
      .select(['se.pk', 'se.study_pk', 'st.patient_pk']).where('se.pk', 'in', pks).where('se.num_instances', '=', 0).execute());
  }
  if (emptySeries.length === 0) return;
  for (const pks of chunks(emptySeries.map((s) => s.pk))) await trx.deleteFrom('series').where('pk', 'in', pks).execute();
  const seriesByStudy = new Map<number, number>();
  const seriesByPatient = new Map<number, number>();
  for (const s of emptySeries) {
    seriesByStudy.set(s.study_pk, (seriesByStudy.get(s.study_pk) ?? 0) + 1);
    seriesByPatient.set(s.patient_pk, (seriesByPatient.get(s.patient_pk) ?? 0) + 1);
  }
  for (const [pk, n] of seriesByStudy) {
    const left = await trx.selectFrom('series').select('modality').distinct().where('study_pk', '=', pk).execute();
    await trx.updateTable('studies').set((eb) => ({
      num_series: eb('num_series', '-', n), modalities: formatModalities(left.map((l) => l.modality)),
    })).where('pk', '=', pk).execute();
  }
  for (const [pk, n] of seriesByPatient) await trx.updateTable('patients').set((eb) => ({ num_series: eb('num_series', '-', n) })).where('pk', '=', pk).execute();

  const emptyStudies: { pk: number; patient_pk: number }[] = [];
  for (const pks of chunks([...seriesByStudy.keys()])) {
    emptyStudies.push(...await trx.selectFrom('studies').select(['pk', 'patient_pk']).where('pk', 'in', pks).where('num_series', '=', 0).execute());
  }
  if (emptyStudies.length === 0) return;
  for (const pks of chunks(emptyStudies.map((s) => s.pk))) await trx.deleteFrom('studies').where('pk', 'in', pks).execute();
  const studiesByPatient = new Map<number, number>();
  for (const s of emptyStudies) studiesByPatient.set(s.patient_pk, (studiesByPatient.get(s.patient_pk) ?? 0) + 1);
  for (const [pk, n] of studiesByPatient) await trx.updateTable('patients').set((eb) => ({ num_studies: eb('num_studies', '-', n) })).where('pk', '=', pk).execute();
  for (const pks of chunks([...studiesByPatient.keys()])) await trx.deleteFrom('patients').where('pk', 'in', pks).where('num_studies', '=', 0).execute();
}

/**
 * One insertInstances call: parents are looked up once per batch and created on first sight
 * (a study or series arriving again keeps its first JSON); counters are summed and written at the end.
 */
class InsertBatch {
  readonly deltas = new Deltas();
  private series = new Map<string, { pk: number; study: number; patient: number }>();
  private studies = new Map<string, { pk: number; patient: number }>();
  private readonly now = new Date().toISOString();

  constructor(private readonly trx: Transaction<DB>) {}

  async insert(e: InstanceIndexEntry, policy: OverwritePolicy): Promise<InsertOutcome> {
    const trx = this.trx;
    const old = await joined(trx).where('i.sop_instance_uid', '=', e.instance.SOPInstanceUID)
      .select([...instanceColumns, 'i.pk', 'i.series_pk', 'se.study_pk', 'st.patient_pk']).executeTakeFirst();
    if (old !== undefined) {
      if (policy !== 'replace') return { status: 'duplicate', existing: toStored(old) };
      if (old.series_instance_uid === e.series.SeriesInstanceUID) {
        await trx.updateTable('instances').set(instanceRow(e, this.now)).where('pk', '=', old.pk).execute();
        return { status: 'replaced', instance: storedInstance(e, this.now), replaced: toStored(old) };
      }
    }
    const se = await this.ensureSeries(e);
    if (old !== undefined) {
      // Moving to another series. The new parents exist first (and counted), so removing the old
      // row and whatever it leaves empty never drops the study or patient the instance moves into.
      await this.deltas.flush(trx);
      await removeInstances(trx, [old]);
      this.series.clear(); this.studies.clear();
    }
    const inserted = await trx.insertInto('instances').values({ ...instanceRow(e, this.now), series_pk: se.pk })
      .onConflict((oc) => oc.column('sop_instance_uid').doNothing()).returning('pk').executeTakeFirst();
    // PostgreSQL only: another transaction indexed the same instance since our lookup; decide again.
    if (inserted === undefined) return this.insert(e, policy);
    this.deltas.add({ series: se.pk, study: se.study, patient: se.patient }, { instances: 1 });
    const instance = storedInstance(e, this.now);
    return old === undefined ? { status: 'stored', instance } : { status: 'replaced', instance, replaced: toStored(old) };
  }

  private async ensureSeries(e: InstanceIndexEntry): Promise<{ pk: number; study: number; patient: number }> {
    const uid = e.series.SeriesInstanceUID;
    let se = this.series.get(uid) ?? await this.trx.selectFrom('series as se').innerJoin('studies as st', 'st.pk', 'se.study_pk')
      .select(['se.pk', 'se.study_pk as study', 'st.patient_pk as patient'])
      .where('se.series_instance_uid', '=', uid).executeTakeFirst();
    if (se === undefined) {
      const st = await this.ensureStudy(e);
      const s = e.series;
      const pk = await this.insertOrFind(
        this.trx.insertInto('series').values({
          study_pk: st.pk, series_instance_uid: uid, modality: s.Modality, series_number: s.SeriesNumber,
          series_number_int: toInt(s.SeriesNumber), series_description: s.SeriesDescription, series_date: s.SeriesDate,
          json: s.json, num_instances: 0,
        }).onConflict((oc) => oc.column('series_instance_uid').doNothing()).returning('pk'),
        () => this.trx.selectFrom('series').select('pk').where('series_instance_uid', '=', uid),
      );
      if (pk.created) {
        this.deltas.add({ study: st.pk, patient: st.patient }, { series: 1 });
        await this.addModality(st.pk, s.Modality);
      }
      se = { pk: pk.pk, study: st.pk, patient: st.patient };
    }
    this.series.set(uid, se);
    return se;
  }

  private async ensureStudy(e: InstanceIndexEntry): Promise<{ pk: number; patient: number }> {
    const uid = e.study.StudyInstanceUID;
    let st = this.studies.get(uid) ?? await this.trx.selectFrom('studies').select(['pk', 'patient_pk as patient'])
      .where('study_instance_uid', '=', uid).executeTakeFirst();
    if (st === undefined) {
      const patient = await this.ensurePatient(e);
      const s = e.study;
      const pk = await this.insertOrFind(
        this.trx.insertInto('studies').values({
          patient_pk: patient, study_instance_uid: uid, study_date: s.StudyDate, study_time: s.StudyTime,
          accession_number: s.AccessionNumber, study_id: s.StudyID, referring_physician_name_norm: s.ReferringPhysicianNameNorm,
          study_description: s.StudyDescription, modalities: '', json: s.json, num_series: 0, num_instances: 0,
        }).onConflict((oc) => oc.column('study_instance_uid').doNothing()).returning('pk'),
        () => this.trx.selectFrom('studies').select('pk').where('study_instance_uid', '=', uid),
      );
      if (pk.created) this.deltas.add({ study: pk.pk, patient }, { studies: 1 });
      st = { pk: pk.pk, patient };
    }
    this.studies.set(uid, st);
    return st;
  }

  private async ensurePatient(e: InstanceIndexEntry): Promise<number> {
    const p = e.patient;
    const find = () => this.trx.selectFrom('patients').select('pk')
      .where('patient_id', '=', p.PatientID).where('issuer_of_patient_id', '=', p.IssuerOfPatientID);
    const found = await find().executeTakeFirst();
    if (found !== undefined) return found.pk;
    const r = await this.insertOrFind(this.trx.insertInto('patients').values({
      patient_id: p.PatientID, issuer_of_patient_id: p.IssuerOfPatientID, patient_name: p.PatientName,
      patient_name_norm: p.PatientNameNorm, patient_birth_date: p.PatientBirthDate, patient_sex: p.PatientSex,
      json: p.json, num_studies: 0, num_series: 0, num_instances: 0,
    }).onConflict((oc) => oc.columns(['patient_id', 'issuer_of_patient_id']).doNothing()).returning('pk'), find);
    return r.pk;
  }

  /** INSERT .. ON CONFLICT DO NOTHING, then SELECT if another writer got there first (PostgreSQL). */
  private async insertOrFind(
    insert: { executeTakeFirst(): Promise<{ pk: number } | undefined> },
    find: () => { executeTakeFirstOrThrow(): Promise<{ pk: number }> },
  ): Promise<{ pk: number; created: boolean }> {
    const inserted = await insert.executeTakeFirst();
    if (inserted !== undefined) return { pk: inserted.pk, created: true };
    return { pk: (await find().executeTakeFirstOrThrow()).pk, created: false };
  }

  private async addModality(studyPk: number, modality: string): Promise<void> {
    if (modality === '') return;
    const st = await this.trx.selectFrom('studies').select('modalities').where('pk', '=', studyPk).executeTakeFirstOrThrow();
    const next = formatModalities([...parseModalities(st.modalities), modality]);
    if (next !== st.modalities) await this.trx.updateTable('studies').set({ modalities: next }).where('pk', '=', studyPk).execute();
  }
}

/** Study rows in the worklist's order; ties broken by date, time and row, so paging is stable. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function orderStudies<QB extends { orderBy: (...a: any[]) => QB }>(qb: QB, order: StudyOrder | undefined): QB {
  const dir = order?.descending === false ? 'asc' : 'desc';
  if (order && order.column !== 'StudyDate') qb = qb.orderBy(COLUMNS[order.column].ref, dir);
  return qb.orderBy('st.study_date', order?.column === 'StudyDate' ? dir : 'desc')
    .orderBy('st.study_time', order?.column === 'StudyDate' ? dir : 'desc').orderBy('st.pk', 'desc');
}

// The index database schema: Kysely table types and migrate(), portable between SQLite and PostgreSQL.
// Counters live in columns, kept up to date by the insert/delete transactions, so queries need no
// per-row subqueries. Every *json column is TEXT holding DICOM JSON (PS3.18 Annex F).

import { sql, type ColumnType, type Generated, type Kysely } from 'kysely';
import { migrateAuth, type AuthTables } from './auth-schema.js';

export type Dialect = 'sqlite' | 'postgres';

/** PostgreSQL returns int8 as a string; SQLite as a number. Read it through Number(). */
type Int8 = ColumnType<number | string, number, number>;

export interface PatientTable {
  pk: Generated<number>;
  patient_id: string;
  issuer_of_patient_id: string;
  patient_name: string;
  patient_name_norm: string;
  patient_birth_date: string;
  patient_sex: string;
  json: string;
  num_studies: number;
  num_series: number;
  num_instances: number;
}

export interface StudyTable {
  pk: Generated<number>;
  patient_pk: number;
  study_instance_uid: string;
  study_date: string;
  study_time: string;
  accession_number: string;
  study_id: string;
  referring_physician_name_norm: string;
  study_description: string;
  /** The distinct sorted modalities of the study's series, as `\CT\MR\` ('' when none). */
  modalities: string;
  json: string;
  num_series: number;
  num_instances: number;
}

export interface SeriesTable {
  pk: Generated<number>;
  study_pk: number;
  series_instance_uid: string;
  modality: string;
  series_number: string;
  /** SeriesNumber as an integer for ordering; NO_NUMBER when absent or not a number. */
  series_number_int: number;
  series_description: string;
  series_date: string;
  json: string;
  num_instances: number;
}

export interface InstanceTable {
  pk: Generated<number>;
  series_pk: number;
  sop_instance_uid: string;
  sop_class_uid: string;
  instance_number: string;
  /** InstanceNumber as an integer for ordering; NO_NUMBER when absent or not a number. */
  instance_number_int: number;
  transfer_syntax_uid: string;
  blob_key: string;
  size: Int8;
  sha256: string;
  created_at: string;
  json: string;
}

export interface UserTable {
  id: string;
  username: string;
  role: string;
  password_hash: string;
  /** 0 or 1: a portable boolean. */
  disabled: number;
  created_at: string;
}

export interface TokenTable {
  id: string;
  user_id: string;
  token_hash: string;
  /** JSON array of scopes. */
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface SchemaVersionTable {
  version: number;
}

// Identity tables (sessions, MFA, passkeys, lockout, SSO links) live in auth-schema.ts.
export interface DB extends AuthTables {
  patients: PatientTable;
  studies: StudyTable;
  series: SeriesTable;
  instances: InstanceTable;
  users: UserTable;
  tokens: TokenTable;
  peers: PeerTable;
  schema_version: SchemaVersionTable;
  user_groups: UserGroupTable;
  grants: GrantTable;
  shares: ShareTable;
}

// ---- authorization: groups, grants, share links (added without a version bump: new tables only) ----

export interface UserGroupTable {
  user_id: string;
  group_name: string;
}

export interface GrantTable {
  id: string;
  /** 'user' (subject is a user id) or 'group' (subject is a group name). */
  subject_kind: string;
  subject: string;
  study_instance_uid: string | null;
  patient_id: string | null;
  expires_at: string | null;
  granted_by: string;
  created_at: string;
  /** 'grant' or 'break-glass'. */
  kind: string;
  reason: string | null;
}

export interface ShareTable {
  id: string;
  token_hash: string;
  study_instance_uid: string;
  /** 'view' or 'download'. */
  access: string;
  expires_at: string;
  single_use: number; // 0/1
  pin_hash: string | null;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  use_count: number;
  failed_pin_attempts: number;
}

export interface PeerTable {
  ae_title: string;
  host: string;
  port: number;
  /** Comma-separated services: echo,store,find,move,get. */
  allow: string;
  tls: number; // 0/1
  cert_fingerprint: string | null;
  require_identity: number; // 0/1
  created_at: string;
}

/** Sorts after every real number (IS values fit in 32 bits). */
export const NO_NUMBER = 2_147_483_647;

/** An IS value as the integer its `*_int` column orders by (NO_NUMBER when it is not one). */
export const toInt = (s: string): number => (/^\s*[+-]?\d{1,9}\s*$/.test(s) ? parseInt(s, 10) : NO_NUMBER);

export const SCHEMA_VERSION = 1;

/**
 * Creates the schema (idempotent) and records its version. Later versions add steps keyed by
 * the version they upgrade from.
 */
export async function migrate(db: Kysely<DB>, dialect: Dialect): Promise<void> {
  // PostgreSQL: byte-order collation, so ordering matches SQLite and a btree index serves
  // prefix LIKE patterns whatever the database's locale is.
  const text = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  const pk = dialect === 'postgres' ? sql`integer generated by default as identity` : sql`integer`;

  await db.transaction().execute(async (trx) => {
    await trx.schema.createTable('schema_version').ifNotExists()
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();

    await trx.schema.createTable('patients').ifNotExists()
      .addColumn('pk', pk, (c) => c.primaryKey())
      .addColumn('patient_id', text, (c) => c.notNull())
      .addColumn('issuer_of_patient_id', text, (c) => c.notNull())
      .addColumn('patient_name', text, (c) => c.notNull())
      .addColumn('patient_name_norm', text, (c) => c.notNull())
      .addColumn('patient_birth_date', text, (c) => c.notNull())
      .addColumn('patient_sex', text, (c) => c.notNull())
      .addColumn('json', 'text', (c) => c.notNull())
      .addColumn('num_studies', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('num_series', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('num_instances', 'integer', (c) => c.notNull().defaultTo(0))
      .addUniqueConstraint('patients_identity', ['patient_id', 'issuer_of_patient_id'])
      .execute();

    await trx.schema.createTable('studies').ifNotExists()
      .addColumn('pk', pk, (c) => c.primaryKey())
      .addColumn('patient_pk', 'integer', (c) => c.notNull().references('patients.pk'))
      .addColumn('study_instance_uid', text, (c) => c.notNull().unique())
      .addColumn('study_date', text, (c) => c.notNull())
      .addColumn('study_time', text, (c) => c.notNull())
      .addColumn('accession_number', text, (c) => c.notNull())
      .addColumn('study_id', text, (c) => c.notNull())
      .addColumn('referring_physician_name_norm', text, (c) => c.notNull())
      .addColumn('study_description', text, (c) => c.notNull())
      .addColumn('modalities', text, (c) => c.notNull().defaultTo(''))
      .addColumn('json', 'text', (c) => c.notNull())
      .addColumn('num_series', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('num_instances', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();

    await trx.schema.createTable('series').ifNotExists()
      .addColumn('pk', pk, (c) => c.primaryKey())
      .addColumn('study_pk', 'integer', (c) => c.notNull().references('studies.pk'))
      .addColumn('series_instance_uid', text, (c) => c.notNull().unique())
      .addColumn('modality', text, (c) => c.notNull())
      .addColumn('series_number', text, (c) => c.notNull())
      .addColumn('series_number_int', 'integer', (c) => c.notNull())
      .addColumn('series_description', text, (c) => c.notNull())
      .addColumn('series_date', text, (c) => c.notNull())
      .addColumn('json', 'text', (c) => c.notNull())
      .addColumn('num_instances', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();

    await trx.schema.createTable('instances').ifNotExists()
      .addColumn('pk', pk, (c) => c.primaryKey())
      .addColumn('series_pk', 'integer', (c) => c.notNull().references('series.pk'))
      .addColumn('sop_instance_uid', text, (c) => c.notNull().unique())
      .addColumn('sop_class_uid', text, (c) => c.notNull())
      .addColumn('instance_number', text, (c) => c.notNull())
      .addColumn('instance_number_int', 'integer', (c) => c.notNull())
      .addColumn('transfer_syntax_uid', text, (c) => c.notNull())
      .addColumn('blob_key', text, (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', text, (c) => c.notNull())
      .addColumn('created_at', text, (c) => c.notNull())
      .addColumn('json', 'text', (c) => c.notNull())
      .execute();

    await trx.schema.createTable('users').ifNotExists()
      .addColumn('id', text, (c) => c.primaryKey())
      .addColumn('username', text, (c) => c.notNull().unique())
      .addColumn('role', text, (c) => c.notNull())
      .addColumn('password_hash', text, (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', text, (c) => c.notNull())
      .execute();

    // No foreign key to users: a removed user's tokens stay, revoked, as a record of what existed.
    await trx.schema.createTable('tokens').ifNotExists()
      .addColumn('id', text, (c) => c.primaryKey())
      .addColumn('user_id', text, (c) => c.notNull())
      .addColumn('token_hash', text, (c) => c.notNull().unique())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', text, (c) => c.notNull())
      .addColumn('expires_at', text)
      .addColumn('revoked_at', text)
      .addColumn('last_used_at', text)
      .execute();

    await trx.schema.createTable('peers').ifNotExists()
      .addColumn('ae_title', text, (c) => c.primaryKey())
      .addColumn('host', text, (c) => c.notNull())
      .addColumn('port', 'integer', (c) => c.notNull())
      .addColumn('allow', text, (c) => c.notNull())
      .addColumn('tls', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('cert_fingerprint', text)
      .addColumn('require_identity', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', text, (c) => c.notNull())
      .execute();

    // ---- authorization tables (groups, grants, share links): new tables, created if missing ----
    await trx.schema.createTable('user_groups').ifNotExists()
      .addColumn('user_id', text, (c) => c.notNull())
      .addColumn('group_name', text, (c) => c.notNull())
      .addPrimaryKeyConstraint('user_groups_pk', ['user_id', 'group_name'])
      .execute();
    await trx.schema.createTable('grants').ifNotExists()
      .addColumn('id', text, (c) => c.primaryKey())
      .addColumn('subject_kind', text, (c) => c.notNull())
      .addColumn('subject', text, (c) => c.notNull())
      .addColumn('study_instance_uid', text)
      .addColumn('patient_id', text)
      .addColumn('expires_at', text)
      .addColumn('granted_by', text, (c) => c.notNull())
      .addColumn('created_at', text, (c) => c.notNull())
      .addColumn('kind', text, (c) => c.notNull())
      .addColumn('reason', 'text')
      .execute();
    await trx.schema.createTable('shares').ifNotExists()
      .addColumn('id', text, (c) => c.primaryKey())
      .addColumn('token_hash', text, (c) => c.notNull().unique())
      .addColumn('study_instance_uid', text, (c) => c.notNull())
      .addColumn('access', text, (c) => c.notNull())
      .addColumn('expires_at', text, (c) => c.notNull())
      .addColumn('single_use', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('pin_hash', 'text')
      .addColumn('created_by', text, (c) => c.notNull())
      .addColumn('created_at', text, (c) => c.notNull())
      .addColumn('revoked_at', text)
      .addColumn('last_used_at', text)
      .addColumn('use_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed_pin_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    // ---- end of authorization tables ----
    // ---- identity (authentication) tables: additive, see auth-schema.ts ----
    await migrateAuth(trx as unknown as Kysely<AuthTables>, text);
    // ---- end identity tables ----

    const indexes: [string, keyof DB, string[]][] = [
      ['patients_patient_name_norm', 'patients', ['patient_name_norm']],
      ['patients_birth_date', 'patients', ['patient_birth_date']],
      ['studies_patient_pk', 'studies', ['patient_pk']],
      ['studies_date_time', 'studies', ['study_date', 'study_time']],
      ['studies_accession_number', 'studies', ['accession_number']],
      ['studies_study_id', 'studies', ['study_id']],
      ['studies_referring_physician', 'studies', ['referring_physician_name_norm']],
      ['series_study_pk', 'series', ['study_pk', 'series_number_int']],
      // Serves the ModalitiesInStudy EXISTS probe; without it SQLite probes by modality alone.
      ['series_study_modality', 'series', ['study_pk', 'modality']],
      ['series_modality', 'series', ['modality']],
      ['instances_series_pk', 'instances', ['series_pk', 'instance_number_int']],
      ['instances_sop_class_uid', 'instances', ['sop_class_uid']],
      // Start-up recovery asks which recently written blobs the index knows.
      ['instances_blob_key', 'instances', ['blob_key']],
      ['tokens_user_id', 'tokens', ['user_id']],
      // authorization: the scope subqueries look grants up by subject, then study or patient
      ['grants_subject_study', 'grants', ['subject_kind', 'subject', 'study_instance_uid']],
      ['grants_subject_patient', 'grants', ['subject_kind', 'subject', 'patient_id']],
      ['user_groups_group', 'user_groups', ['group_name']],
      ['shares_created_by', 'shares', ['created_by']],
    ];
    for (const [name, table, columns] of indexes) {
      await trx.schema.createIndex(name).ifNotExists().on(table).columns(columns).execute();
    }

    const current = await trx.selectFrom('schema_version').select('version').executeTakeFirst();
    if (current === undefined) {
      await trx.insertInto('schema_version').values({ version: SCHEMA_VERSION }).execute();
    } else if (current.version > SCHEMA_VERSION) {
      throw new Error(`index schema version ${current.version} is newer than this build (${SCHEMA_VERSION})`);
    }
  });
}

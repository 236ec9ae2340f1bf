// The identity tables (sessions, MFA, passkeys, login failures, external identities): added to the
// index database beside `users`, whose columns stay untouched. Created idempotently by migrate().
import type { ColumnType, Kysely, RawBuilder } from 'kysely';

/** PostgreSQL returns int8 as a string; SQLite as a number. Read it through Number(). */
type Int8 = ColumnType<number | string, number, number>;

export interface AuthSessionTable {
  /** Public id, shown in the session list and used to revoke; not a credential. */
  id: string;
  /** hex SHA-256 of the cookie secret. */
  secret_hash: string;
  user_id: string;
  /** 'mfa': password checked, second factor pending; 'full': a signed-in session. */
  stage: string;
  /** 'password', 'password+totp', 'password+recovery', 'password+passkey', 'oidc'. */
  method: string;
  /** The role and groups this session acts with (for SSO: mapped from the provider's claims at login). */
  role: string;
  groups: string;
  /** Fingerprint of the password hash at login: a changed password ends the session. */
  password_tag: string;
  ip: string;
  user_agent: string;
  /** A pending WebAuthn challenge, bound to this session. */
  challenge: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface AuthMfaTable {
  user_id: string;
  /** base32 TOTP secret (RFC 4648), needed in clear to compute codes. */
  totp_secret: string;
  /** 0 until the user proved the authenticator app with a first code. */
  confirmed: number;
  /** The last TOTP time step accepted: a code of this step or earlier is a replay. */
  last_step: Int8;
  created_at: string;
}

export interface AuthRecoveryCodeTable {
  user_id: string;
  /** hex SHA-256 of the normalised code (codes carry 80 random bits, so no slow hash is needed). */
  code_hash: string;
  used_at: string | null;
}

export interface AuthWebauthnTable {
  /** base64url credential id. */
  credential_id: string;
  user_id: string;
  /** base64url COSE public key. */
  public_key: string;
  counter: Int8;
  transports: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export interface AuthLoginFailureTable {
  /** 'u:<username>' or 'ip:<address>'. */
  key: string;
  failures: number;
  first_at: string;
  last_at: string;
  locked_until: string | null;
}

export interface AuthExternalIdentityTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: string;
}

export interface AuthTables {
  auth_sessions: AuthSessionTable;
  auth_mfa: AuthMfaTable;
  auth_recovery_codes: AuthRecoveryCodeTable;
  auth_webauthn: AuthWebauthnTable;
  auth_login_failures: AuthLoginFailureTable;
  auth_external_identities: AuthExternalIdentityTable;
}

/** Creates the identity tables inside migrate()'s transaction; `text` is the dialect's text type. */
export async function migrateAuth(trx: Kysely<AuthTables>, text: RawBuilder<unknown>): Promise<void> {
  await trx.schema.createTable('auth_sessions').ifNotExists()
    .addColumn('id', text, (c) => c.primaryKey())
    .addColumn('secret_hash', text, (c) => c.notNull().unique())
    .addColumn('user_id', text, (c) => c.notNull())
    .addColumn('stage', text, (c) => c.notNull())
    .addColumn('method', text, (c) => c.notNull())
    .addColumn('role', text, (c) => c.notNull())
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('password_tag', text, (c) => c.notNull())
    .addColumn('ip', text, (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull())
    .addColumn('challenge', text)
    .addColumn('created_at', text, (c) => c.notNull())
    .addColumn('last_seen_at', text, (c) => c.notNull())
    .addColumn('expires_at', text, (c) => c.notNull())
    .addColumn('revoked_at', text)
    .execute();
  await trx.schema.createTable('auth_mfa').ifNotExists()
    .addColumn('user_id', text, (c) => c.primaryKey())
    .addColumn('totp_secret', text, (c) => c.notNull())
    .addColumn('confirmed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_step', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', text, (c) => c.notNull())
    .execute();
  await trx.schema.createTable('auth_recovery_codes').ifNotExists()
    .addColumn('user_id', text, (c) => c.notNull())
    .addColumn('code_hash', text, (c) => c.primaryKey())
    .addColumn('used_at', text)
    .execute();
  await trx.schema.createTable('auth_webauthn').ifNotExists()
    .addColumn('credential_id', text, (c) => c.primaryKey())
    .addColumn('user_id', text, (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', text, (c) => c.notNull())
    .addColumn('name', text, (c) => c.notNull())
    .addColumn('created_at', text, (c) => c.notNull())
    .addColumn('last_used_at', text)
    .execute();
  await trx.schema.createTable('auth_login_failures').ifNotExists()
    .addColumn('key', text, (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('first_at', text, (c) => c.notNull())
    .addColumn('last_at', text, (c) => c.notNull())
    .addColumn('locked_until', text)
    .execute();
  await trx.schema.createTable('auth_external_identities').ifNotExists()
    .addColumn('issuer', text, (c) => c.notNull())
    .addColumn('subject', text, (c) => c.notNull())
    .addColumn('user_id', text, (c) => c.notNull())
    .addColumn('created_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('auth_external_identities_pk', ['issuer', 'subject'])
    .execute();
  for (const [name, table, columns] of [
    ['auth_sessions_user_id', 'auth_sessions', ['user_id']],
    ['auth_recovery_codes_user_id', 'auth_recovery_codes', ['user_id']],
    ['auth_webauthn_user_id', 'auth_webauthn', ['user_id']],
    ['auth_external_identities_user_id', 'auth_external_identities', ['user_id']],
  ] as const) {
    await trx.schema.createIndex(name).ifNotExists().on(table).columns([...columns]).execute();
  }
}

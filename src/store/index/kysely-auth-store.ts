// AuthStore on the index database (SQLite or PostgreSQL), through Kysely.
import type { Kysely } from 'kysely';
import { alreadyExists } from '../../errors.js';
import type { Role } from './account-store.js';
import type { Selectable } from 'kysely';
import type { AuthSessionTable, AuthWebauthnTable } from './auth-schema.js';
import type {
  AuthStore, ExternalIdentityRecord, LoginFailureRecord, MfaRecord, PasskeyRecord, SessionRecord, SessionStage,
} from './auth-store.js';
import type { DB } from './schema.js';

const toSession = (r: AuthSessionTable): SessionRecord => ({
  id: r.id, secretHash: r.secret_hash, userId: r.user_id, stage: r.stage as SessionStage, method: r.method,
  role: r.role as Role, groups: JSON.parse(r.groups) as string[], passwordTag: r.password_tag, ip: r.ip,
  userAgent: r.user_agent, challenge: r.challenge, createdAt: r.created_at, lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at, revokedAt: r.revoked_at,
});

const toPasskey = (r: Selectable<AuthWebauthnTable>): PasskeyRecord => ({
  credentialId: r.credential_id, userId: r.user_id, publicKey: r.public_key, counter: Number(r.counter),
  transports: r.transports.split(',').filter(Boolean), name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at,
});

/** Same test as the index store's: both drivers name a unique violation in their own way. */
function isUnique(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

export class KyselyAuthStore implements AuthStore {
  constructor(private readonly db: Kysely<DB>) {}

  // ---- sessions ----
  async createSession(s: SessionRecord): Promise<void> {
    await this.db.insertInto('auth_sessions').values({
      id: s.id, secret_hash: s.secretHash, user_id: s.userId, stage: s.stage, method: s.method, role: s.role,
      groups: JSON.stringify(s.groups), password_tag: s.passwordTag, ip: s.ip, user_agent: s.userAgent,
      challenge: s.challenge, created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt, revoked_at: s.revokedAt,
    }).execute();
  }
  async getSessionByHash(secretHash: string): Promise<SessionRecord | undefined> {
    const r = await this.db.selectFrom('auth_sessions').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
    return r && toSession(r);
  }
  async getSession(id: string): Promise<SessionRecord | undefined> {
    const r = await this.db.selectFrom('auth_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toSession(r);
  }
  async listSessions(userId: string): Promise<SessionRecord[]> {
    const rows = await this.db.selectFrom('auth_sessions').selectAll().where('user_id', '=', userId)
      .where('revoked_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    return rows.map(toSession);
  }
  async listAllSessions(): Promise<SessionRecord[]> {
    const rows = await this.db.selectFrom('auth_sessions').selectAll().where('revoked_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    return rows.map(toSession);
  }
  async touchSession(id: string, at: string): Promise<void> {
    await this.db.updateTable('auth_sessions').set({ last_seen_at: at }).where('id', '=', id).execute();
  }
  async promoteSession(id: string, method: string): Promise<void> {
    await this.db.updateTable('auth_sessions').set({ stage: 'full', method, challenge: null }).where('id', '=', id).execute();
  }
  async setSessionChallenge(id: string, challenge: string | null): Promise<void> {
    await this.db.updateTable('auth_sessions').set({ challenge }).where('id', '=', id).execute();
  }
  async revokeSession(id: string, at: string): Promise<boolean> {
    const r = await this.db.updateTable('auth_sessions').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
  async revokeUserSessions(userId: string, at: string, exceptId?: string): Promise<number> {
    let q = this.db.updateTable('auth_sessions').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null);
    if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  }

  async pruneSessions(before: string): Promise<void> {
    await this.db.deleteFrom('auth_sessions')
      .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before)])).execute();
  }

  // ---- TOTP and recovery codes ----
  async getMfa(userId: string): Promise<MfaRecord | undefined> {
    const r = await this.db.selectFrom('auth_mfa').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return r && { userId: r.user_id, totpSecret: r.totp_secret, confirmed: Number(r.confirmed) !== 0, lastStep: Number(r.last_step), createdAt: r.created_at };
  }
  async putMfa(m: MfaRecord): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('auth_mfa').where('user_id', '=', m.userId).execute();
      await trx.insertInto('auth_mfa').values({
        user_id: m.userId, totp_secret: m.totpSecret, confirmed: m.confirmed ? 1 : 0, last_step: m.lastStep, created_at: m.createdAt,
      }).execute();
    });
  }
  async confirmMfa(userId: string): Promise<void> {
    await this.db.updateTable('auth_mfa').set({ confirmed: 1 }).where('user_id', '=', userId).execute();
  }
  async advanceTotpStep(userId: string, step: number): Promise<boolean> {
    const r = await this.db.updateTable('auth_mfa').set({ last_step: step })
      .where('user_id', '=', userId).where('last_step', '<', step).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
  async deleteMfa(userId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('auth_mfa').where('user_id', '=', userId).execute();
      await trx.deleteFrom('auth_recovery_codes').where('user_id', '=', userId).execute();
      await trx.deleteFrom('auth_webauthn').where('user_id', '=', userId).execute();
    });
  }
  async replaceRecoveryCodes(userId: string, codeHashes: string[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('auth_recovery_codes').where('user_id', '=', userId).execute();
      if (codeHashes.length > 0) {
        await trx.insertInto('auth_recovery_codes').values(codeHashes.map((h) => ({ user_id: userId, code_hash: h, used_at: null }))).execute();
      }
    });
  }
  async useRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean> {
    const r = await this.db.updateTable('auth_recovery_codes').set({ used_at: at })
      .where('user_id', '=', userId).where('code_hash', '=', codeHash).where('used_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
  async countRecoveryCodes(userId: string): Promise<number> {
    const r = await this.db.selectFrom('auth_recovery_codes').select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  // ---- passkeys ----
  async addPasskey(p: PasskeyRecord): Promise<void> {
    try {
      await this.db.insertInto('auth_webauthn').values({
        credential_id: p.credentialId, user_id: p.userId, public_key: p.publicKey, counter: p.counter,
        transports: p.transports.join(','), name: p.name, created_at: p.createdAt, last_used_at: p.lastUsedAt,
      }).execute();
    } catch (e) {
      if (isUnique(e)) throw alreadyExists('this passkey is already registered');
      throw e;
    }
  }
  async getPasskey(credentialId: string): Promise<PasskeyRecord | undefined> {
    const r = await this.db.selectFrom('auth_webauthn').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
    return r && toPasskey(r);
  }
  async listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    const rows = await this.db.selectFrom('auth_webauthn').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map(toPasskey);
  }
  async updatePasskeyCounter(credentialId: string, counter: number, at: string): Promise<boolean> {
    // WebAuthn L2 6.1.1: a counter that does not grow signals a cloned authenticator, except that
    // authenticators without a counter (many synced passkeys) always report 0.
    const r = await this.db.updateTable('auth_webauthn').set({ counter, last_used_at: at })
      .where('credential_id', '=', credentialId)
      .where('counter', counter === 0 ? '=' : '<', counter)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // ---- failed logins ----
  async getLoginFailure(key: string): Promise<LoginFailureRecord | undefined> {
    const r = await this.db.selectFrom('auth_login_failures').selectAll().where('key', '=', key).executeTakeFirst();
    return r && { key: r.key, failures: Number(r.failures), firstAt: r.first_at, lastAt: r.last_at, lockedUntil: r.locked_until };
  }
  async putLoginFailure(f: LoginFailureRecord): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('auth_login_failures').where('key', '=', f.key).execute();
      await trx.insertInto('auth_login_failures').values({
        key: f.key, failures: f.failures, first_at: f.firstAt, last_at: f.lastAt, locked_until: f.lockedUntil,
      }).execute();
    });
  }
  async clearLoginFailure(key: string): Promise<void> {
    await this.db.deleteFrom('auth_login_failures').where('key', '=', key).execute();
  }

  async pruneLoginFailures(before: string): Promise<void> {
    await this.db.deleteFrom('auth_login_failures').where('last_at', '<', before)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', before)])).execute();
  }

  // ---- external identities ----
  async getExternalIdentity(issuer: string, subject: string): Promise<ExternalIdentityRecord | undefined> {
    const r = await this.db.selectFrom('auth_external_identities').selectAll()
      .where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    return r && { issuer: r.issuer, subject: r.subject, userId: r.user_id, createdAt: r.created_at };
  }
  async linkExternalIdentity(x: ExternalIdentityRecord): Promise<void> {
    try {
      await this.db.insertInto('auth_external_identities').values({
        issuer: x.issuer, subject: x.subject, user_id: x.userId, created_at: x.createdAt,
      }).execute();
    } catch (e) {
      if (isUnique(e)) throw alreadyExists('this external identity is already linked');
      throw e;
    }
  }
}

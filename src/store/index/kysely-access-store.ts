// AccessStore on the index database (SQLite or PostgreSQL), through Kysely: groups, grants, share links.
import type { Kysely } from 'kysely';
import { alreadyExists } from '../../errors.js';
import type { AccessStore, GrantFilter, GrantKind, GrantRecord, GrantSubjectKind, ShareAccess, ShareRecord } from './access-store.js';
import type { DB, GrantTable, ShareTable } from './schema.js';

const toGrant = (r: GrantTable): GrantRecord => ({
  id: r.id, subjectKind: r.subject_kind as GrantSubjectKind, subject: r.subject,
  studyInstanceUid: r.study_instance_uid, patientId: r.patient_id, expiresAt: r.expires_at,
  grantedBy: r.granted_by, createdAt: r.created_at, kind: r.kind as GrantKind, reason: r.reason,
});

const toShare = (r: ShareTable): ShareRecord => ({
  id: r.id, tokenHash: r.token_hash, studyInstanceUid: r.study_instance_uid, access: r.access as ShareAccess,
  expiresAt: r.expires_at, singleUse: Number(r.single_use) === 1, pinHash: r.pin_hash, createdBy: r.created_by,
  createdAt: r.created_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at, useCount: Number(r.use_count),
  failedPinAttempts: Number(r.failed_pin_attempts),
});

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export class KyselyAccessStore implements AccessStore {
  constructor(private readonly db: Kysely<DB>) {}

  async addToGroup(userId: string, group: string): Promise<boolean> {
    const r = await this.db.insertInto('user_groups').values({ user_id: userId, group_name: group })
      .onConflict((oc) => oc.columns(['user_id', 'group_name']).doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async removeFromGroup(userId: string, group: string): Promise<boolean> {
    const r = await this.db.deleteFrom('user_groups').where('user_id', '=', userId).where('group_name', '=', group).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async groupsOf(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('user_groups').select('group_name').where('user_id', '=', userId).orderBy('group_name').execute();
    return rows.map((r) => r.group_name);
  }

  async listGroups(): Promise<{ group: string; userIds: string[] }[]> {
    const rows = await this.db.selectFrom('user_groups').selectAll().orderBy('group_name').orderBy('user_id').execute();
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.group_name, [...(out.get(r.group_name) ?? []), r.user_id]);
    return [...out].map(([group, userIds]) => ({ group, userIds }));
  }

  async addGrant(g: GrantRecord): Promise<void> {
    try {
      await this.db.insertInto('grants').values({
        id: g.id, subject_kind: g.subjectKind, subject: g.subject, study_instance_uid: g.studyInstanceUid,
        patient_id: g.patientId, expires_at: g.expiresAt, granted_by: g.grantedBy, created_at: g.createdAt,
        kind: g.kind, reason: g.reason,
      }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyExists('a grant with this id already exists');
      throw e;
    }
  }

  async listGrants(f: GrantFilter = {}): Promise<GrantRecord[]> {
    let q = this.db.selectFrom('grants').selectAll();
    if (f.subjectKind !== undefined) q = q.where('subject_kind', '=', f.subjectKind);
    if (f.subject !== undefined) q = q.where('subject', '=', f.subject);
    if (f.kind !== undefined) q = q.where('kind', '=', f.kind);
    if (f.studyInstanceUid !== undefined) q = q.where('study_instance_uid', '=', f.studyInstanceUid);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(toGrant);
  }

  async getGrant(id: string): Promise<GrantRecord | undefined> {
    const r = await this.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toGrant(r);
  }

  async removeGrant(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('grants').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async addShare(s: ShareRecord): Promise<void> {
    try {
      await this.db.insertInto('shares').values({
        id: s.id, token_hash: s.tokenHash, study_instance_uid: s.studyInstanceUid, access: s.access,
        expires_at: s.expiresAt, single_use: s.singleUse ? 1 : 0, pin_hash: s.pinHash, created_by: s.createdBy,
        created_at: s.createdAt, revoked_at: s.revokedAt, last_used_at: s.lastUsedAt, use_count: s.useCount,
        failed_pin_attempts: s.failedPinAttempts,
      }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyExists('a share with this id or token already exists');
      throw e;
    }
  }

  async getShareByHash(tokenHash: string): Promise<ShareRecord | undefined> {
    const r = await this.db.selectFrom('shares').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return r && toShare(r);
  }

  async getShare(id: string): Promise<ShareRecord | undefined> {
    const r = await this.db.selectFrom('shares').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toShare(r);
  }

  async listShares(createdBy?: string): Promise<ShareRecord[]> {
    let q = this.db.selectFrom('shares').selectAll();
    if (createdBy !== undefined) q = q.where('created_by', '=', createdBy);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(toShare);
  }

  /** True when the share exists; a revoked share keeps its first revocation time. */
  async revokeShare(id: string, at: string): Promise<boolean> {
    if (!(await this.getShare(id))) return false;
    await this.db.updateTable('shares').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    return true;
  }

  async useShare(id: string, at: string, singleUse: boolean): Promise<boolean> {
    let q = this.db.updateTable('shares').set((eb) => ({ use_count: eb('use_count', '+', 1), last_used_at: at }))
      .where('id', '=', id).where('revoked_at', 'is', null);
    if (singleUse) q = q.where('use_count', '=', 0);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async failSharePin(id: string): Promise<number> {
    await this.db.updateTable('shares').set((eb) => ({ failed_pin_attempts: eb('failed_pin_attempts', '+', 1) })).where('id', '=', id).execute();
    const r = await this.db.selectFrom('shares').select('failed_pin_attempts').where('id', '=', id).executeTakeFirst();
    return Number(r?.failed_pin_attempts ?? 0);
  }
}

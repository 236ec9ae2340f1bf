// Data grants (a user or group -> a study or a patient, with expiry), group membership and
// break-glass openings: who may make them, their validation, and their audit events.
import { randomUUID } from 'node:crypto';
import { accessDenied, badRequest, isRampartError, notFound } from '../errors.js';
import { isPlausibleUid } from '../dicom/uid.js';
import type { Principal } from '../security/principal.js';
import { authorize, can, CLINICAL_ROLES } from '../security/policy.js';
import type { AccessStore, GrantKind, GrantRecord } from '../store/index/access-store.js';
import type { AccountStore } from '../store/index/account-store.js';
import type { AccessControl } from './access.js';
import type { AuditSink } from './audit-port.js';

const GROUP_RE = /^[A-Za-z0-9._@:/-]{1,128}$/;
export const checkGroup = (g: string): string => {
  if (!GROUP_RE.test(g)) throw badRequest('group must be 1-128 characters of A-Z a-z 0-9 . _ @ : / -');
  return g;
};

/** A Patient ID as the index holds it: LO, at most 64 characters, no backslash or control characters. */
const checkPatientId = (id: string): string => {
  if (id.length === 0 || id.length > 64 || /[\\\x00-\x1f]/.test(id)) throw badRequest('patient ID must be 1-64 characters without backslash');
  return id;
};

const MAX_REASON = 500;

export interface GrantRequest {
  user?: string; // username
  group?: string;
  studyInstanceUid?: string;
  patientId?: string;
  /** Lifetime in ms; undefined = no expiry. */
  ttlMs?: number;
}

/** A grant as shown to people: the user's name rather than its id. */
export interface GrantView extends GrantRecord { subjectName: string }

export interface GrantDeps { accounts: AccountStore; store: AccessStore; access: AccessControl; audit: AuditSink; breakGlassMinutes: number; clock?: () => Date }

export class GrantService {
  constructor(private readonly deps: GrantDeps) {}

  private now(): Date { return (this.deps.clock ?? (() => new Date()))(); }

  /**
   * Grants a study or patient to a user or group. Administrators (and the CLI) may grant anything;
   * a user with the share permission may grant a study it can itself see, and nothing else.
   */
  async add(p: Principal, r: GrantRequest): Promise<GrantView> {
    if ((r.user === undefined) === (r.group === undefined)) throw badRequest('name either a user or a group');
    if ((r.studyInstanceUid === undefined) === (r.patientId === undefined)) throw badRequest('name either a study or a patient');
    if (r.studyInstanceUid !== undefined && !isPlausibleUid(r.studyInstanceUid)) throw badRequest('not a valid Study Instance UID');
    if (r.patientId !== undefined) checkPatientId(r.patientId);
    if (r.ttlMs !== undefined && !(Number.isSafeInteger(r.ttlMs) && r.ttlMs > 0 && r.ttlMs <= 10 * 366 * 86_400_000)) throw badRequest('expiry must be in the next ten years');
    if (!can(p, 'administer')) {
      authorize(p, 'share');
      // Only what one may see oneself can be passed on; an unknown study reads as not found.
      if (r.studyInstanceUid === undefined) throw accessDenied('only an administrator may grant a whole patient');
      if (!(await this.deps.access.seesStudy(p, r.studyInstanceUid))) throw notFound();
    }
    let subject: string;
    if (r.user !== undefined) {
      const u = await this.deps.accounts.getUserByName(r.user);
      if (!u) throw notFound('no such user');
      subject = u.id;
    } else subject = checkGroup(r.group!);
    const now = this.now();
    const g: GrantRecord = {
      id: randomUUID(), subjectKind: r.user !== undefined ? 'user' : 'group', subject,
      studyInstanceUid: r.studyInstanceUid ?? null, patientId: r.patientId ?? null,
      expiresAt: r.ttlMs === undefined ? null : new Date(now.getTime() + r.ttlMs).toISOString(),
      grantedBy: p.username, createdAt: now.toISOString(), kind: 'grant', reason: null,
    };
    await this.deps.store.addGrant(g);
    await this.deps.audit.record({ action: 'grant-add', outcome: 'success', principal: p, studies: g.studyInstanceUid ? [g.studyInstanceUid] : undefined, grantId: g.id });
    return { ...g, subjectName: r.user ?? g.subject };
  }

  /** Administrators see every grant; others the ones they made or hold. */
  async list(p: Principal, filter: { kind?: GrantKind } = {}): Promise<GrantView[]> {
    const all = await this.deps.store.listGrants(filter);
    const mine = can(p, 'administer') || can(p, 'read-audit') ? all
      : all.filter((g) => g.grantedBy === p.username || (g.subjectKind === 'user' && g.subject === p.userId) || (g.subjectKind === 'group' && (p.groups ?? []).includes(g.subject)));
    return this.named(mine);
  }

  /** Administrators may remove any grant; others only those they made. */
  async remove(p: Principal, id: string): Promise<void> {
    const g = await this.deps.store.getGrant(id);
    if (!g || !(can(p, 'administer') || g.grantedBy === p.username)) {
      await this.deps.audit.record({ action: 'grant-remove', outcome: 'failure', principal: p, reason: 'not-found' });
      throw notFound('no such grant');
    }
    await this.deps.store.removeGrant(id);
    await this.deps.audit.record({ action: 'grant-remove', outcome: 'success', principal: p, studies: g.studyInstanceUid ? [g.studyInstanceUid] : undefined, grantId: id });
  }

  /**
   * Break-glass: a clinician opens a study outside their grants by giving a reason. It is always
   * allowed, lasts access.breakGlassMinutes, and is flagged in the audit trail with the reason.
   * Whether the study exists is not checked, so the answer reveals nothing about it.
   */
  async breakGlass(p: Principal, studyInstanceUid: string, reason: string): Promise<GrantRecord> {
    if (p.userId === null || p.share || !CLINICAL_ROLES.has(p.role) || !can(p, 'view')) {
      await this.deps.audit.record({ action: 'break-glass', outcome: 'failure', principal: p, reason: 'not-a-clinician' });
      throw accessDenied('break-glass is for clinicians signed in as themselves');
    }
    if (!isPlausibleUid(studyInstanceUid)) throw badRequest('not a valid Study Instance UID');
    const why = reason.trim();
    if (why.length < 10 || why.length > MAX_REASON) throw badRequest(`give a reason of 10-${MAX_REASON} characters`);
    const now = this.now();
    const g: GrantRecord = {
      id: randomUUID(), subjectKind: 'user', subject: p.userId, studyInstanceUid, patientId: null,
      expiresAt: new Date(now.getTime() + this.deps.breakGlassMinutes * 60_000).toISOString(),
      grantedBy: p.username, createdAt: now.toISOString(), kind: 'break-glass', reason: why,
    };
    await this.deps.store.addGrant(g);
    await this.deps.audit.record({ action: 'break-glass', outcome: 'success', principal: p, studies: [studyInstanceUid], breakGlassReason: why, grantId: g.id });
    return g;
  }

  /** Every break-glass opening, for auditors (and administrators). */
  async listBreakGlass(p: Principal): Promise<GrantView[]> {
    if (!can(p, 'read-audit')) throw accessDenied();
    await this.deps.audit.record({ action: 'audit-read', outcome: 'success', principal: p, reason: 'break-glass-list' });
    return this.named(await this.deps.store.listGrants({ kind: 'break-glass' }));
  }

  private async named(gs: GrantRecord[]): Promise<GrantView[]> {
    const users = new Map((await this.deps.accounts.listUsers()).map((u) => [u.id, u.username]));
    return gs.map((g) => ({ ...g, subjectName: g.subjectKind === 'user' ? users.get(g.subject) ?? `(removed user ${g.subject})` : g.subject }));
  }

  // ---- groups ----

  /**
   * A change of group membership, audited as 'group-change' whichever way it ends: the group is
   * the target, the member the detail; the reason says what was done, or why it failed.
   */
  private async groupChange<T>(p: Principal, what: string, group: string, member: string | undefined, work: () => Promise<T>, ok: (out: T) => boolean = () => true): Promise<T> {
    const base = { action: 'group-change' as const, principal: p, target: group.slice(0, 128) };
    let out: T;
    try {
      authorize(p, 'administer');
      out = await work();
    } catch (e) {
      await this.deps.audit.record({ ...base, outcome: 'failure', reason: isRampartError(e) ? e.code : 'internal', detail: [what, member].filter(Boolean).join(' ') });
      throw e;
    }
    await this.deps.audit.record({ ...base, outcome: ok(out) ? 'success' : 'failure', reason: what, detail: member });
    return out;
  }

  private async userId(username: string): Promise<string> {
    const u = await this.deps.accounts.getUserByName(username);
    if (!u) throw notFound('no such user');
    return u.id;
  }

  async addToGroup(p: Principal, username: string, group: string): Promise<boolean> {
    return this.groupChange(p, 'member-add', group, username, async () => this.deps.store.addToGroup(await this.userId(username), checkGroup(group)));
  }

  /** False (audited as a failure) when the user was not a member. */
  async removeFromGroup(p: Principal, username: string, group: string): Promise<boolean> {
    return this.groupChange(p, 'member-remove', group, username, async () => this.deps.store.removeFromGroup(await this.userId(username), group), (removed) => removed);
  }

  /**
   * Deletes a local group: every member leaves it. Grants to the group's name stay (SSO users may
   * carry the group from their provider's claims); they are listed and revoked on their own.
   */
  async deleteGroup(p: Principal, group: string): Promise<number> {
    return this.groupChange(p, 'group-delete', group, undefined, async () => {
      const members = (await this.deps.store.listGroups()).find((g) => g.group === group)?.userIds ?? [];
      if (members.length === 0) throw notFound('no such group');
      let removed = 0;
      for (const id of members) if (await this.deps.store.removeFromGroup(id, group)) removed++;
      return removed;
    });
  }

  async listGroups(p: Principal): Promise<{ group: string; members: string[] }[]> {
    authorize(p, 'administer');
    const users = new Map((await this.deps.accounts.listUsers()).map((u) => [u.id, u.username]));
    return (await this.deps.store.listGroups()).map((g) => ({ group: g.group, members: g.userIds.map((id) => users.get(id) ?? id) }));
  }
}

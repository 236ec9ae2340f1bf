// Share links: a user with the share permission and sight of a study makes a link for someone
// without an account (random capability token stored hashed, expiry, optional single use and
// PIN, view-only or download), lists and revokes them. Opening one yields a short share session
// whose principal sees only that study.
import { accessDenied, badRequest, notFound, RampartError } from '../errors.js';
import { isPlausibleUid } from '../dicom/uid.js';
import { hashPassword, verifyPassword } from '../security/password.js';
import type { Principal } from '../security/principal.js';
import { authorize, can } from '../security/policy.js';
import { generateShareToken, hashShareToken, looksLikeShareToken, newId, newSessionId } from '../security/share-tokens.js';
import type { AccessStore, ShareAccess, ShareRecord } from '../store/index/access-store.js';
import type { AccessControl } from './access.js';
import type { AuditSink } from './audit-port.js';

export interface ShareOptions { maxDays: number; defaultDays: number; pinAttempts: number }

export interface ShareRequest { studyInstanceUid: string; ttlMs?: number; singleUse?: boolean; pin?: string; access?: ShareAccess }

/** A share as listed: never its hashes. */
export type ShareView = Omit<ShareRecord, 'tokenHash' | 'pinHash'> & { hasPin: boolean };
const view = ({ tokenHash: _t, pinHash, ...s }: ShareRecord): ShareView => ({ ...s, hasPin: pinHash !== null });

/** Why a link cannot be opened, in words the page shows. */
export type ShareRefusal = 'invalid' | 'expired' | 'revoked' | 'used' | 'locked' | 'pin-required' | 'wrong-pin';

export class ShareRefused extends RampartError {
  constructor(readonly refusal: ShareRefusal) {
    super(refusal === 'invalid' ? 'not-found' : 'access-denied', `share link ${refusal}`);
  }
}

/** A share session lasts at most this long, and never beyond the link's expiry. */
const SESSION_MS = 60 * 60_000;
const MAX_SESSIONS = 10_000;

interface Session { shareId: string; tokenHash: string; studyInstanceUid: string; access: ShareAccess; expiresAt: number }

export interface ShareDeps { store: AccessStore; access: AccessControl; audit: AuditSink; options: ShareOptions; clock?: () => Date }

export class ShareService {
  private readonly sessions = new Map<string, Session>();
  constructor(private readonly deps: ShareDeps) {}

  private now(): Date { return (this.deps.clock ?? (() => new Date()))(); }

  async create(p: Principal, r: ShareRequest): Promise<{ share: ShareView; token: string }> {
    authorize(p, 'share');
    if (p.share) throw accessDenied();
    if (!isPlausibleUid(r.studyInstanceUid)) throw badRequest('not a valid Study Instance UID');
    const o = this.deps.options;
    const ttl = r.ttlMs ?? o.defaultDays * 86_400_000;
    if (!(Number.isSafeInteger(ttl) && ttl > 0 && ttl <= o.maxDays * 86_400_000)) throw badRequest(`a share link lasts at most ${o.maxDays} days`);
    if (r.pin !== undefined && !/^[0-9]{4,12}$/.test(r.pin)) throw badRequest('a PIN is 4-12 digits');
    const access = r.access ?? 'view';
    if (access !== 'view' && access !== 'download') throw badRequest('access must be view or download');
    if (access === 'download') authorize(p, 'download');
    // Only a study one can see can be shared; an unknown one reads as not found.
    if (!(await this.deps.access.seesStudy(p, r.studyInstanceUid))) {
      await this.deps.audit.record({ action: 'share-create', outcome: 'failure', principal: p, reason: 'not-found' });
      throw notFound();
    }
    const now = this.now();
    const { token, hash } = generateShareToken();
    const s: ShareRecord = {
      id: newId(), tokenHash: hash, studyInstanceUid: r.studyInstanceUid, access,
      expiresAt: new Date(now.getTime() + ttl).toISOString(), singleUse: r.singleUse === true,
      pinHash: r.pin === undefined ? null : await hashPassword(r.pin), createdBy: p.username, createdAt: now.toISOString(),
      revokedAt: null, lastUsedAt: null, useCount: 0, failedPinAttempts: 0,
    };
    await this.deps.store.addShare(s);
    await this.deps.audit.record({ action: 'share-create', outcome: 'success', principal: p, studies: [s.studyInstanceUid], grantId: s.id });
    return { share: view(s), token };
  }

  /** Administrators see every link; others the links they made. */
  async list(p: Principal): Promise<ShareView[]> {
    authorize(p, can(p, 'administer') ? 'administer' : 'share');
    return (await this.deps.store.listShares(can(p, 'administer') ? undefined : p.username)).map(view);
  }

  async revoke(p: Principal, id: string): Promise<void> {
    const s = await this.deps.store.getShare(id);
    if (!s || !(can(p, 'administer') || (can(p, 'share') && s.createdBy === p.username))) {
      await this.deps.audit.record({ action: 'share-revoke', outcome: 'failure', principal: p, reason: 'not-found' });
      throw notFound('no such share link');
    }
    await this.deps.store.revokeShare(id, this.now().toISOString());
    for (const [sid, x] of this.sessions) if (x.shareId === id) this.sessions.delete(sid);
    await this.deps.audit.record({ action: 'share-revoke', outcome: 'success', principal: p, studies: [s.studyInstanceUid], grantId: id });
  }

  /** The link's state without using it: for the landing page (does it want a PIN?). */
  async inspect(token: string): Promise<{ needsPin: boolean }> {
    const s = await this.usable(token);
    return { needsPin: s.pinHash !== null };
  }

  /**
   * Opens a link (counts one use, checks the PIN) and starts a share session. Throws ShareRefused
   * saying why. Each refusal and each opening is audited as 'share-open'.
   */
  async open(token: string, pin: string | undefined, ip: string): Promise<{ sessionId: string; principal: Principal; expiresAt: Date }> {
    const who = (id = 'unknown'): Principal => ({ kind: 'token', userId: null, username: `share:${id}`, role: 'external', scopes: ['read'], ip, door: 'web' });
    let s: ShareRecord;
    try {
      s = await this.usable(token);
    } catch (e) {
      await this.deps.audit.record({ action: 'share-open', outcome: 'failure', principal: who(), reason: (e as ShareRefused).refusal });
      throw e;
    }
    const refuse = async (why: ShareRefusal): Promise<never> => {
      await this.deps.audit.record({ action: 'share-open', outcome: 'failure', principal: who(s.id), studies: [s.studyInstanceUid], reason: why, grantId: s.id });
      throw new ShareRefused(why);
    };
    if (s.pinHash !== null) {
      if (pin === undefined || pin === '') return refuse('pin-required');
      if (pin.length > 64 || !(await verifyPassword(pin, s.pinHash))) {
        const n = await this.deps.store.failSharePin(s.id);
        return refuse(n >= this.deps.options.pinAttempts ? 'locked' : 'wrong-pin');
      }
    }
    const now = this.now();
    if (!(await this.deps.store.useShare(s.id, now.toISOString(), s.singleUse))) return refuse(s.singleUse ? 'used' : 'revoked');
    const expiresAt = new Date(Math.min(Date.parse(s.expiresAt), now.getTime() + SESSION_MS));
    const sessionId = newSessionId();
    this.prune(now.getTime());
    this.sessions.set(sessionId, { shareId: s.id, tokenHash: s.tokenHash, studyInstanceUid: s.studyInstanceUid, access: s.access, expiresAt: expiresAt.getTime() });
    const principal = this.principalOf(s.id, s.studyInstanceUid, s.access, ip);
    await this.deps.audit.record({ action: 'share-open', outcome: 'success', principal, studies: [s.studyInstanceUid], grantId: s.id });
    return { sessionId, principal, expiresAt };
  }

  /**
   * The principal of a live share session for this link's token, or undefined. The link is read
   * again, so revoking it ends its sessions at once.
   */
  async session(token: string, sessionId: string | undefined, ip: string): Promise<Principal | undefined> {
    if (!sessionId || !looksLikeShareToken(token)) return undefined;
    const x = this.sessions.get(sessionId);
    if (!x || x.tokenHash !== hashShareToken(token)) return undefined;
    if (x.expiresAt <= this.now().getTime()) { this.sessions.delete(sessionId); return undefined; }
    const s = await this.deps.store.getShare(x.shareId);
    if (!s || s.revokedAt !== null || Date.parse(s.expiresAt) <= this.now().getTime()) { this.sessions.delete(sessionId); return undefined; }
    return this.principalOf(s.id, s.studyInstanceUid, s.access, ip);
  }

  private principalOf(id: string, studyInstanceUid: string, access: ShareAccess, ip: string): Principal {
    return {
      kind: 'token', userId: null, username: `share:${id}`, role: 'external', scopes: ['read'], ip, door: 'web',
      share: { id, studyInstanceUid, access },
    };
  }

  /** The link if it can still be opened; else why not. */
  private async usable(token: string): Promise<ShareRecord> {
    const s = looksLikeShareToken(token) ? await this.deps.store.getShareByHash(hashShareToken(token)) : undefined;
    if (!s) throw new ShareRefused('invalid');
    if (s.revokedAt !== null) throw new ShareRefused('revoked');
    if (Date.parse(s.expiresAt) <= this.now().getTime()) throw new ShareRefused('expired');
    if (s.singleUse && s.useCount > 0) throw new ShareRefused('used');
    if (s.failedPinAttempts >= this.deps.options.pinAttempts) throw new ShareRefused('locked');
    return s;
  }

  private prune(now: number): void {
    for (const [sid, x] of this.sessions) if (x.expiresAt <= now) this.sessions.delete(sid);
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
  }
}

// Web sessions: a random secret in an HttpOnly cookie, only its SHA-256 in the database, idle and
// absolute timeouts (automatic logoff), ended server-side by logout, revocation, a password change
// or the user's removal. The CSRF token is derived from the secret, so it needs no storage and a
// page on another origin, which cannot read the cookie, cannot compute it.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { RampartError, unauthenticated } from '../errors.js';
import type { AccountStore, UserRecord } from '../store/index/account-store.js';
import type { AuthStore, SessionRecord, SessionStage } from '../store/index/auth-store.js';
import { ALL_SCOPES, type Door, type Principal } from './principal.js';

export const SESSION_PREFIX = 'rps_';
const SESSION_RE = /^rps_[A-Za-z0-9_-]{43}$/;
/** A pending sign-in (password accepted, second factor not yet) lasts at most this long. */
export const PENDING_SECONDS = 300;
/** last_seen_at is written at most this often per session; the idle timeout is this coarse. */
const TOUCH_INTERVAL_MS = 15_000;
/** Ended sessions stay a day (for the list and for inspection), then are deleted; checked at most hourly. */
const KEEP_ENDED_MS = 86_400_000;
const PRUNE_INTERVAL_MS = 3_600_000;

export interface SessionPolicy { idleSeconds: number; absoluteSeconds: number }

export interface StartOptions {
  stage: SessionStage;
  method: string;
  ip: string;
  userAgent: string;
  /** For SSO: the role and groups mapped from the provider's claims; local users use their own. */
  role?: UserRecord['role'];
  groups?: string[];
}

export interface ActiveSession { session: SessionRecord; user: UserRecord; secret: string }

export class SessionManager {
  private prunedAt = 0;

  constructor(
    private readonly store: AuthStore,
    private readonly accounts: AccountStore,
    private readonly policy: SessionPolicy,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async start(user: UserRecord, o: StartOptions): Promise<{ secret: string; session: SessionRecord }> {
    const now = this.clock();
    const secret = SESSION_PREFIX + randomBytes(32).toString('base64url');
    const lifetime = o.stage === 'full' ? this.policy.absoluteSeconds : PENDING_SECONDS;
    const session: SessionRecord = {
      id: randomUUID(), secretHash: hashSecret(secret), userId: user.id, stage: o.stage, method: o.method,
      role: o.role ?? user.role, groups: o.groups ?? [], passwordTag: passwordTag(user.passwordHash),
      ip: o.ip.slice(0, 64), userAgent: o.userAgent.slice(0, 256), challenge: null,
      createdAt: now.toISOString(), lastSeenAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + lifetime * 1000).toISOString(), revokedAt: null,
    };
    await this.store.createSession(session);
    if (now.getTime() - this.prunedAt > PRUNE_INTERVAL_MS) {
      this.prunedAt = now.getTime();
      await this.store.pruneSessions(new Date(now.getTime() - KEEP_ENDED_MS).toISOString());
    }
    return { secret, session };
  }

  /**
   * The live session for a cookie value, or unauthenticated. A session past its idle or
   * absolute limit, of a removed or disabled user, or from before a password change is ended.
   */
  async resolve(secret: string | undefined, stage: SessionStage = 'full'): Promise<ActiveSession> {
    if (typeof secret !== 'string' || !SESSION_RE.test(secret)) throw unauthenticated();
    const session = await this.store.getSessionByHash(hashSecret(secret));
    if (!session || session.revokedAt !== null) throw unauthenticated();
    const now = this.clock();
    const t = now.getTime();
    const idle = session.stage === 'full' && t - Date.parse(session.lastSeenAt) > this.policy.idleSeconds * 1000;
    const user = await this.accounts.getUserById(session.userId);
    const stale = !user || user.disabled || passwordTag(user.passwordHash) !== session.passwordTag;
    if (idle || t >= Date.parse(session.expiresAt) || stale) {
      await this.store.revokeSession(session.id, now.toISOString());
      throw unauthenticated('session ended');
    }
    // A live session of the other stage: refused here, but not ended.
    if (session.stage !== stage) throw new RampartError('unauthenticated', 'authentication required', { reason: 'stage' });
    if (t - Date.parse(session.lastSeenAt) >= TOUCH_INTERVAL_MS) {
      await this.store.touchSession(session.id, now.toISOString());
      session.lastSeenAt = now.toISOString();
    }
    return { session, user: user!, secret };
  }

  /** The principal a live session acts as: SSO sessions keep the role mapped at sign-in; local users act with their current role. */
  principal(a: ActiveSession, ip: string, door: Door): Principal {
    const role = a.session.method === 'oidc' ? a.session.role : a.user.role;
    return { kind: 'user', userId: a.user.id, username: a.user.username, role, scopes: [...ALL_SCOPES], groups: [...a.session.groups], ip, door };
  }

  /** Second factor passed: the pending session becomes a full one with a new secret (no fixation of the pending cookie). */
  async complete(pending: ActiveSession, method: string, ip: string, userAgent: string): Promise<{ secret: string; session: SessionRecord }> {
    await this.store.revokeSession(pending.session.id, this.clock().toISOString());
    return this.start(pending.user, { stage: 'full', method, ip, userAgent, role: pending.session.role, groups: pending.session.groups });
  }

  async end(sessionId: string): Promise<boolean> {
    return this.store.revokeSession(sessionId, this.clock().toISOString());
  }

  /** Ends every session of the user, but the one named. */
  async endAll(userId: string, exceptId?: string): Promise<number> {
    return this.store.revokeUserSessions(userId, this.clock().toISOString(), exceptId);
  }

  /** The user's live, fully signed-in sessions. */
  async list(userId: string): Promise<SessionRecord[]> {
    return this.live(await this.store.listSessions(userId));
  }

  /** Every user's live, fully signed-in sessions (the administrator's view). */
  async listAll(): Promise<SessionRecord[]> {
    return this.live(await this.store.listAllSessions());
  }

  private live(list: SessionRecord[]): SessionRecord[] {
    const t = this.clock().getTime();
    return list.filter((s) => s.stage === 'full' && t < Date.parse(s.expiresAt) && t - Date.parse(s.lastSeenAt) <= this.policy.idleSeconds * 1000);
  }

  setChallenge(sessionId: string, challenge: string | null): Promise<void> {
    return this.store.setSessionChallenge(sessionId, challenge);
  }
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The CSRF token of a session (synchroniser token derived from the secret, OWASP CSRF cheat sheet). */
export function csrfToken(secret: string): string {
  return createHash('sha256').update('rampart-csrf\0' + secret, 'utf8').digest('base64url');
}

export function csrfMatches(secret: string, header: string | undefined): boolean {
  if (typeof header !== 'string' || header.length !== 43) return false;
  return timingSafeEqual(Buffer.from(csrfToken(secret)), Buffer.from(header));
}

/** A short fingerprint of the password hash: a new password makes older sessions stale. */
function passwordTag(passwordHash: string): string {
  return createHash('sha256').update(passwordHash, 'utf8').digest('hex').slice(0, 16);
}

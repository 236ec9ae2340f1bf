// The administration use cases behind the web app's admin pages: users (role, disabled), API
// tokens, DICOM peers and everyone's web sessions. Every call needs the 'administer' permission
// and every change is audited on success and failure.
import { badRequest, isRampartError, notFound } from '../errors.js';
import { createUser } from '../security/authenticate.js';
import type { Principal } from '../security/principal.js';
import { authorize } from '../security/policy.js';
import { ROLES, type AccountStore, type Role, type TokenScope, type UserRecord } from '../store/index/account-store.js';
import type { SessionRecord } from '../store/index/auth-store.js';
import { PEER_SERVICES, type PeerRecord, type PeerService, type PeerStore } from '../store/index/peer-store.js';
import type { AuditAction, AuditSink } from './audit-port.js';

export interface UserView { id: string; username: string; role: Role; disabled: boolean; createdAt: string }
export interface TokenView { id: string; username: string; scopes: TokenScope[]; createdAt: string; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null }

/** A live web session as an administrator sees it: its id names it, it is not a credential. */
export interface SessionView { id: string; username: string; method: string; createdAt: string; lastSeenAt: string; expiresAt: string; ip: string; userAgent: string }

export interface PeerInput { aeTitle: string; host: string; port: number; allow: string[]; tls: boolean; certFingerprint?: string | null; requireIdentity?: boolean }

const AE_RE = /^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/;
const HOST_RE = /^[A-Za-z0-9.:\-[\]]{1,253}$/;

/** The web sessions the service may list and end (the SessionManager). */
export interface SessionControl {
  listAll(): Promise<SessionRecord[]>;
  end(sessionId: string): Promise<boolean>;
  endAll(userId: string): Promise<number>;
}

export interface AdminDeps { accounts: AccountStore; peers: PeerStore; audit: AuditSink; sessions: SessionControl }

/** What an audit event of a change names: filled in by the work as it learns it. */
interface AuditNote { target?: string; detail?: string }

const view = ({ id, username, role, disabled, createdAt }: UserRecord): UserView => ({ id, username, role, disabled, createdAt });

export class AdminService {
  constructor(private readonly deps: AdminDeps) {}

  /** Runs an administrative change, auditing it whichever way it ends. */
  private async audited<T>(p: Principal, action: AuditAction, work: (note: AuditNote) => Promise<T>, target?: string): Promise<T> {
    const note: AuditNote = { target };
    try {
      authorize(p, 'administer');
      const out = await work(note);
      await this.deps.audit.record({ action, outcome: 'success', principal: p, ...note });
      return out;
    } catch (e) {
      await this.deps.audit.record({ action, outcome: 'failure', principal: p, reason: isRampartError(e) ? e.code : 'internal', ...note });
      throw e;
    }
  }

  private async user(username: string): Promise<UserRecord> {
    const u = await this.deps.accounts.getUserByName(username);
    if (!u) throw notFound('no such user');
    return u;
  }

  /**
   * Why a guarded change was not written: the store checks, in the same transaction as the
   * write, that another enabled administrator remains (nobody could administer the node else).
   */
  private async refusal(u: UserRecord, guarded: boolean): Promise<Error> {
    if (guarded && (await this.deps.accounts.getUserById(u.id))) {
      return badRequest('this is the last enabled administrator: make another user an administrator first');
    }
    return notFound('no such user');
  }

  async listUsers(p: Principal): Promise<UserView[]> {
    authorize(p, 'administer');
    return (await this.deps.accounts.listUsers()).map(view);
  }

  /** Creates a user with a generated password, returned once for the administrator to hand over. */
  async createUser(p: Principal, username: string, role: Role): Promise<{ user: UserView; password: string }> {
    return this.audited(p, 'user-create', async () => {
      const { user, password } = await createUser(this.deps.accounts, username, role);
      return { user: view(user), password };
    }, username);
  }

  async removeUser(p: Principal, username: string): Promise<void> {
    return this.audited(p, 'user-remove', async () => {
      if (username === p.username) throw badRequest('an administrator cannot remove their own account');
      if (!(await this.deps.accounts.removeUser(username))) throw notFound('no such user');
    }, username);
  }

  /**
   * Gives a user another role. It takes effect at their next request (tokens, passwords and local
   * web sessions read the role then); SSO sessions keep the role the provider's claims gave them.
   */
  async setRole(p: Principal, username: string, role: Role): Promise<UserView> {
    return this.audited(p, 'user-change', async (note) => {
      if (!ROLES.includes(role)) throw badRequest(`role is one of ${ROLES.join(', ')}`);
      const u = await this.user(username);
      note.detail = `role ${u.role} -> ${role}`;
      if (u.role === 'admin' && role !== 'admin' && u.id === p.userId) throw badRequest('an administrator cannot take the admin role from themselves');
      const guarded = u.role === 'admin' && role !== 'admin' && !u.disabled;
      if (!(await this.deps.accounts.setRole(u.id, role, { keepAnAdmin: guarded }))) throw await this.refusal(u, guarded);
      return view({ ...u, role });
    }, username);
  }

  /**
   * Disables a user (no sign-in through any door; their web sessions end at once, their API
   * tokens are refused while disabled) or enables them again.
   */
  async setDisabled(p: Principal, username: string, disabled: boolean): Promise<UserView> {
    return this.audited(p, 'user-change', async (note) => {
      const u = await this.user(username);
      note.detail = disabled ? 'disable' : 'enable';
      if (disabled && u.id === p.userId) throw badRequest('an administrator cannot disable their own account');
      const guarded = disabled && u.role === 'admin' && !u.disabled;
      if (!(await this.deps.accounts.setDisabled(u.id, disabled, { keepAnAdmin: guarded }))) throw await this.refusal(u, guarded);
      if (disabled) note.detail = `disable; ${await this.deps.sessions.endAll(u.id)} web session(s) ended`;
      return view({ ...u, disabled });
    }, username);
  }

  /** Every user's live web sessions, oldest first. */
  async listSessions(p: Principal): Promise<SessionView[]> {
    authorize(p, 'administer');
    const names = new Map((await this.deps.accounts.listUsers()).map((u) => [u.id, u.username]));
    return (await this.deps.sessions.listAll()).map((s) => ({
      id: s.id, username: names.get(s.userId) ?? '(removed user)', method: s.method, createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt, expiresAt: s.expiresAt, ip: s.ip, userAgent: s.userAgent,
    }));
  }

  /** Ends one web session of any user: its next request answers 401. */
  async revokeSession(p: Principal, id: string): Promise<void> {
    return this.audited(p, 'session-revoke', async (note) => {
      const s = (await this.deps.sessions.listAll()).find((x) => x.id === id);
      if (!s) throw notFound('no such session');
      note.target = (await this.deps.accounts.getUserById(s.userId))?.username ?? s.userId;
      if (!(await this.deps.sessions.end(id))) throw notFound('no such session');
    });
  }

  async listTokens(p: Principal): Promise<TokenView[]> {
    authorize(p, 'administer');
    const names = new Map((await this.deps.accounts.listUsers()).map((u) => [u.id, u.username]));
    return (await this.deps.accounts.listTokens()).map((t) => ({
      id: t.id, username: names.get(t.userId) ?? '(removed user)', scopes: t.scopes, createdAt: t.createdAt,
      expiresAt: t.expiresAt, revokedAt: t.revokedAt, lastUsedAt: t.lastUsedAt,
    }));
  }

  async revokeToken(p: Principal, id: string): Promise<void> {
    return this.audited(p, 'token-revoke', async () => {
      if (!(await this.deps.accounts.revokeToken(id, new Date().toISOString()))) throw notFound('no such token');
    }, id);
  }

  async listPeers(p: Principal): Promise<PeerRecord[]> {
    authorize(p, 'administer');
    return this.deps.peers.listPeers();
  }

  async addPeer(p: Principal, input: PeerInput): Promise<PeerRecord> {
    return this.audited(p, 'peer-add', async () => {
      const peer = checkPeer(input);
      await this.deps.peers.addPeer(peer);
      return peer;
    }, typeof input.aeTitle === 'string' ? input.aeTitle.slice(0, 16) : undefined);
  }

  async removePeer(p: Principal, aeTitle: string): Promise<void> {
    return this.audited(p, 'peer-remove', async () => {
      if (!(await this.deps.peers.removePeer(aeTitle))) throw notFound('no such peer');
    }, aeTitle);
  }
}

/** The same rules as `rampart peer add`. */
export function checkPeer(i: PeerInput): PeerRecord {
  if (typeof i.aeTitle !== 'string' || !AE_RE.test(i.aeTitle)) throw badRequest('the AE title must be 1-16 printable characters without backslash');
  if (typeof i.host !== 'string' || !HOST_RE.test(i.host)) throw badRequest('host must be a host name or address');
  if (!Number.isInteger(i.port) || i.port < 1 || i.port > 65535) throw badRequest('port must be 1-65535');
  if (!Array.isArray(i.allow) || i.allow.length === 0 || i.allow.some((a) => !PEER_SERVICES.includes(a as PeerService))) {
    throw badRequest(`allowed services are some of ${PEER_SERVICES.join(', ')}`);
  }
  let fingerprint: string | null = null;
  if (i.certFingerprint) {
    const hex = String(i.certFingerprint).replace(/:/g, '').toUpperCase();
    if (!/^[0-9A-F]{64}$/.test(hex)) throw badRequest('the certificate fingerprint is a SHA-256 (64 hex digits, colons allowed)');
    fingerprint = hex.match(/../g)!.join(':');
  }
  return {
    aeTitle: i.aeTitle, host: i.host, port: i.port, allow: [...new Set(i.allow as PeerService[])],
    tls: i.tls === true || fingerprint !== null, certFingerprint: fingerprint, requireIdentity: i.requireIdentity === true,
    createdAt: new Date().toISOString(),
  };
}

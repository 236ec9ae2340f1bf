// The administration use cases behind the web app's admin pages: users, API tokens and DICOM
// peers. Every call needs the 'administer' permission and is audited on success and failure.
import { badRequest, isRampartError, notFound } from '../errors.js';
import { createUser } from '../security/authenticate.js';
import type { Principal } from '../security/principal.js';
import { authorize } from '../security/policy.js';
import type { AccountStore, Role, TokenScope } from '../store/index/account-store.js';
import { PEER_SERVICES, type PeerRecord, type PeerService, type PeerStore } from '../store/index/peer-store.js';
import type { AuditAction, AuditSink } from './audit-port.js';

export interface UserView { id: string; username: string; role: Role; disabled: boolean; createdAt: string }
export interface TokenView { id: string; username: string; scopes: TokenScope[]; createdAt: string; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null }

export interface PeerInput { aeTitle: string; host: string; port: number; allow: string[]; tls: boolean; certFingerprint?: string | null; requireIdentity?: boolean }

const AE_RE = /^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/;
const HOST_RE = /^[A-Za-z0-9.:\-[\]]{1,253}$/;

export interface AdminDeps { accounts: AccountStore; peers: PeerStore; audit: AuditSink }

export class AdminService {
  constructor(private readonly deps: AdminDeps) {}

  /** Runs an administrative change, auditing it whichever way it ends. */
  private async audited<T>(p: Principal, action: AuditAction, work: () => Promise<T>): Promise<T> {
    try {
      authorize(p, 'administer');
      const out = await work();
      await this.deps.audit.record({ action, outcome: 'success', principal: p });
      return out;
    } catch (e) {
      await this.deps.audit.record({ action, outcome: 'failure', principal: p, reason: isRampartError(e) ? e.code : 'internal' });
      throw e;
    }
  }

  async listUsers(p: Principal): Promise<UserView[]> {
    authorize(p, 'administer');
    return (await this.deps.accounts.listUsers()).map(({ id, username, role, disabled, createdAt }) => ({ id, username, role, disabled, createdAt }));
  }

  /** Creates a user with a generated password, returned once for the administrator to hand over. */
  async createUser(p: Principal, username: string, role: Role): Promise<{ user: UserView; password: string }> {
    return this.audited(p, 'user-create', async () => {
      const { user, password } = await createUser(this.deps.accounts, username, role);
      return { user: { id: user.id, username: user.username, role: user.role, disabled: user.disabled, createdAt: user.createdAt }, password };
    });
  }

  async removeUser(p: Principal, username: string): Promise<void> {
    return this.audited(p, 'user-remove', async () => {
      if (username === p.username) throw badRequest('an administrator cannot remove their own account');
      if (!(await this.deps.accounts.removeUser(username))) throw notFound('no such user');
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
    });
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
    });
  }

  async removePeer(p: Principal, aeTitle: string): Promise<void> {
    return this.audited(p, 'peer-remove', async () => {
      if (!(await this.deps.peers.removePeer(aeTitle))) throw notFound('no such peer');
    });
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

// An in-memory AccountStore for unit tests (and anything else that needs one without a database).

import { alreadyExists } from '../errors.js';
import type { AccountStore, KeepAnAdmin, Role, TokenRecord, UserRecord } from '../store/index/account-store.js';

export class MemoryAccountStore implements AccountStore {
  private readonly users = new Map<string, UserRecord>(); // by id
  private readonly tokens = new Map<string, TokenRecord>(); // by id

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async createUser(u: UserRecord): Promise<void> {
    if ([...this.users.values()].some((x) => x.username === u.username)) throw alreadyExists('username is taken');
    if (this.users.has(u.id)) throw alreadyExists('user id is taken');
    this.users.set(u.id, { ...u });
  }

  async getUserByName(username: string): Promise<UserRecord | undefined> {
    const u = [...this.users.values()].find((x) => x.username === username);
    return u && { ...u };
  }

  async getUserById(id: string): Promise<UserRecord | undefined> {
    const u = this.users.get(id);
    return u && { ...u };
  }

  async listUsers(): Promise<UserRecord[]> {
    return [...this.users.values()].map((u) => ({ ...u })).sort((a, b) => a.username.localeCompare(b.username));
  }

  async removeUser(username: string): Promise<boolean> {
    const u = [...this.users.values()].find((x) => x.username === username);
    if (!u) return false;
    const at = this.clock().toISOString();
    for (const t of this.tokens.values()) if (t.userId === u.id && t.revokedAt === null) t.revokedAt = at;
    this.users.delete(u.id);
    return true;
  }

  async setPassword(userId: string, passwordHash: string): Promise<void> {
    const u = this.users.get(userId);
    if (u) u.passwordHash = passwordHash;
  }

  async setRole(userId: string, role: Role, opts: KeepAnAdmin = {}): Promise<boolean> {
    const u = this.users.get(userId);
    if (!u || (opts.keepAnAdmin && !this.otherAdmin(userId))) return false;
    u.role = role;
    return true;
  }

  async setDisabled(userId: string, disabled: boolean, opts: KeepAnAdmin = {}): Promise<boolean> {
    const u = this.users.get(userId);
    if (!u || (opts.keepAnAdmin && !this.otherAdmin(userId))) return false;
    u.disabled = disabled;
    return true;
  }

  private otherAdmin(userId: string): boolean {
    return [...this.users.values()].some((x) => x.role === 'admin' && !x.disabled && x.id !== userId);
  }

  async createToken(t: TokenRecord): Promise<void> {
    if (this.tokens.has(t.id)) throw alreadyExists('token id is taken');
    if ([...this.tokens.values()].some((x) => x.tokenHash === t.tokenHash)) throw alreadyExists('token hash is taken');
    this.tokens.set(t.id, { ...t, scopes: [...t.scopes] });
  }

  async getTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const t = [...this.tokens.values()].find((x) => x.tokenHash === tokenHash);
    return t && { ...t, scopes: [...t.scopes] };
  }

  async listTokens(userId?: string): Promise<TokenRecord[]> {
    return [...this.tokens.values()]
      .filter((t) => userId === undefined || t.userId === userId)
      .map((t) => ({ ...t, scopes: [...t.scopes] }));
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    const t = this.tokens.get(id);
    if (!t) return false;
    t.revokedAt ??= at; // the first revocation time stands
    return true;
  }

  async touchToken(id: string, at: string): Promise<void> {
    const t = this.tokens.get(id);
    if (t) t.lastUsedAt = at;
  }
}

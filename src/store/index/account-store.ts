// The AccountStore port: local users and API tokens. Kept in the same database as the index.
// Only hashes are stored: password hashes (argon2id, PHC string) and SHA-256 of API tokens.

export type Role = 'admin' | 'radiologist' | 'technologist' | 'referring' | 'auditor' | 'external';
export const ROLES: readonly Role[] = ['admin', 'radiologist', 'technologist', 'referring', 'auditor', 'external'];

export interface UserRecord {
  id: string; // server-made
  username: string;
  role: Role;
  passwordHash: string; // PHC string
  disabled: boolean;
  createdAt: string; // ISO 8601
}

export type TokenScope = 'read' | 'write' | 'admin';

export interface TokenRecord {
  id: string; // server-made, shown in `token list`, used by `token revoke`
  userId: string;
  /** hex SHA-256 of the secret token; the secret itself is never stored */
  tokenHash: string;
  scopes: TokenScope[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface KeepAnAdmin { keepAnAdmin?: boolean }

export interface AccountStore {
  createUser(u: UserRecord): Promise<void>; // throws AlreadyExists (see errors) when the username is taken
  getUserByName(username: string): Promise<UserRecord | undefined>;
  getUserById(id: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  removeUser(username: string): Promise<boolean>; // also revokes the user's tokens
  setPassword(userId: string, passwordHash: string): Promise<void>;
  /**
   * False when there is no such user, or with `keepAnAdmin` when no other enabled administrator
   * would be left: checked and written in one transaction, so two administrators demoting or
   * disabling each other at once cannot both succeed.
   */
  setRole(userId: string, role: Role, opts?: KeepAnAdmin): Promise<boolean>;
  /** As setRole. A disabled user keeps their data but cannot sign in anywhere. */
  setDisabled(userId: string, disabled: boolean, opts?: KeepAnAdmin): Promise<boolean>;
  createToken(t: TokenRecord): Promise<void>;
  getTokenByHash(tokenHash: string): Promise<TokenRecord | undefined>;
  listTokens(userId?: string): Promise<TokenRecord[]>;
  revokeToken(id: string, at: string): Promise<boolean>;
  touchToken(id: string, at: string): Promise<void>;
}

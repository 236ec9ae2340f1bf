// The AuthStore port: web sessions, TOTP and recovery codes, passkeys, failed-login counters and
// links to external (OpenID Connect) identities. Only hashes of secrets that can be hashed are kept.
import type { Role } from './account-store.js';

export type SessionStage = 'mfa' | 'full';

export interface SessionRecord {
  id: string;
  secretHash: string;
  userId: string;
  stage: SessionStage;
  method: string;
  role: Role;
  groups: string[];
  passwordTag: string;
  ip: string;
  userAgent: string;
  challenge: string | null;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface MfaRecord {
  userId: string;
  totpSecret: string;
  confirmed: boolean;
  lastStep: number;
  createdAt: string;
}

export interface PasskeyRecord {
  credentialId: string;
  userId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface LoginFailureRecord {
  key: string;
  failures: number;
  firstAt: string;
  lastAt: string;
  lockedUntil: string | null;
}

export interface ExternalIdentityRecord {
  issuer: string;
  subject: string;
  userId: string;
  createdAt: string;
}

export interface AuthStore {
  createSession(s: SessionRecord): Promise<void>;
  getSessionByHash(secretHash: string): Promise<SessionRecord | undefined>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** Sessions of one user that are not revoked (expired ones included; callers filter by time). */
  listSessions(userId: string): Promise<SessionRecord[]>;
  /** Every user's sessions that are not revoked, oldest first (for the administrator's view). */
  listAllSessions(): Promise<SessionRecord[]>;
  touchSession(id: string, at: string): Promise<void>;
  /** Moves a pending session to 'full' with the method that completed it. */
  promoteSession(id: string, method: string): Promise<void>;
  setSessionChallenge(id: string, challenge: string | null): Promise<void>;
  /** True when the session existed and was not already revoked. */
  revokeSession(id: string, at: string): Promise<boolean>;
  /** Revokes every live session of a user but `exceptId`; returns how many. */
  revokeUserSessions(userId: string, at: string, exceptId?: string): Promise<number>;
  /** Deletes sessions that expired or were revoked before `before`. */
  pruneSessions(before: string): Promise<void>;

  getMfa(userId: string): Promise<MfaRecord | undefined>;
  /** Replaces the user's TOTP enrolment (a new, unconfirmed secret). */
  putMfa(m: MfaRecord): Promise<void>;
  confirmMfa(userId: string): Promise<void>;
  /** Atomically moves last_step forward; false when `step` is not after it (a replayed code). */
  advanceTotpStep(userId: string, step: number): Promise<boolean>;
  /** Removes TOTP, recovery codes and passkeys of the user. */
  deleteMfa(userId: string): Promise<void>;

  replaceRecoveryCodes(userId: string, codeHashes: string[]): Promise<void>;
  /** Marks an unused code as used; false when the code does not exist, is another user's or was used. */
  useRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean>;
  countRecoveryCodes(userId: string): Promise<number>;

  addPasskey(p: PasskeyRecord): Promise<void>;
  getPasskey(credentialId: string): Promise<PasskeyRecord | undefined>;
  listPasskeys(userId: string): Promise<PasskeyRecord[]>;
  /** Stores a new signature counter; false when the stored one is not lower (a cloned authenticator or a replay). */
  updatePasskeyCounter(credentialId: string, counter: number, at: string): Promise<boolean>;

  getLoginFailure(key: string): Promise<LoginFailureRecord | undefined>;
  putLoginFailure(f: LoginFailureRecord): Promise<void>;
  clearLoginFailure(key: string): Promise<void>;
  /** Forgets counters whose last failure is before `before` (keeps the table small). */
  pruneLoginFailures(before: string): Promise<void>;

  getExternalIdentity(issuer: string, subject: string): Promise<ExternalIdentityRecord | undefined>;
  linkExternalIdentity(x: ExternalIdentityRecord): Promise<void>;
}

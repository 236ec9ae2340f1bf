// The AccessStore port: local group membership, data grants (user or group -> study or patient,
// with expiry; break-glass openings are grants too) and share links. Kept in the index database,
// so the index can restrict queries to what a principal may see in the same SQL statement.

export type GrantSubjectKind = 'user' | 'group';
/** 'grant': given by someone with the right to; 'break-glass': opened by the clinician with a reason. */
export type GrantKind = 'grant' | 'break-glass';

export interface GrantRecord {
  id: string; // server-made
  subjectKind: GrantSubjectKind;
  /** The user's id (not name: a re-created name must not inherit) or the group's name. */
  subject: string;
  /** Exactly one of these two is set. */
  studyInstanceUid: string | null;
  patientId: string | null;
  expiresAt: string | null;
  grantedBy: string; // username of who made it
  createdAt: string;
  kind: GrantKind;
  /** The clinician's reason for a break-glass opening; null for ordinary grants. */
  reason: string | null;
}

export interface GrantFilter {
  subjectKind?: GrantSubjectKind;
  subject?: string;
  kind?: GrantKind;
  studyInstanceUid?: string;
}

export type ShareAccess = 'view' | 'download';

export interface ShareRecord {
  id: string; // server-made, shown in listings and used to revoke
  /** hex SHA-256 of the capability token; the token itself is never stored. */
  tokenHash: string;
  studyInstanceUid: string;
  access: ShareAccess;
  expiresAt: string;
  singleUse: boolean;
  /** argon2id PHC string of the PIN, or null when the link has none. */
  pinHash: string | null;
  createdBy: string; // username
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  useCount: number;
  failedPinAttempts: number;
}

export interface AccessStore {
  // ---- groups ----
  addToGroup(userId: string, group: string): Promise<boolean>; // false when already a member
  removeFromGroup(userId: string, group: string): Promise<boolean>;
  groupsOf(userId: string): Promise<string[]>;
  /** Every group with its members' user ids, by group name. */
  listGroups(): Promise<{ group: string; userIds: string[] }[]>;

  // ---- grants ----
  addGrant(g: GrantRecord): Promise<void>;
  listGrants(filter?: GrantFilter): Promise<GrantRecord[]>;
  getGrant(id: string): Promise<GrantRecord | undefined>;
  removeGrant(id: string): Promise<boolean>;

  // ---- share links ----
  addShare(s: ShareRecord): Promise<void>;
  getShareByHash(tokenHash: string): Promise<ShareRecord | undefined>;
  getShare(id: string): Promise<ShareRecord | undefined>;
  listShares(createdBy?: string): Promise<ShareRecord[]>;
  revokeShare(id: string, at: string): Promise<boolean>;
  /**
   * Counts one use at `at`. For a single-use link this succeeds only for the first caller
   * (checked and counted in one statement, so two concurrent opens cannot both pass).
   */
  useShare(id: string, at: string, singleUse: boolean): Promise<boolean>;
  /** Adds one failed PIN attempt; returns the new count. */
  failSharePin(id: string): Promise<number>;
}

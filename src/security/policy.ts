// The one access policy: every service asks authorize() before it touches patient data, and
// visibleScope() says which data that is (everything, or what grants and share links open).

import { accessDenied } from '../errors.js';
import type { Role, TokenScope } from '../store/index/account-store.js';
import type { DataScope } from '../store/index/index-store.js';
import type { Principal } from './principal.js';

export type Action = 'query' | 'view' | 'download' | 'store' | 'delete' | 'share' | 'administer' | 'read-audit';

export const ACTIONS: readonly Action[] = ['query', 'view', 'download', 'store', 'delete', 'share', 'administer', 'read-audit'];

/**
 * Which data a clinical role sees: 'role' = everything its role may touch; 'grants' = only the
 * studies and patients granted to the user or one of its groups. Referring and external users
 * are always limited to their grants, whatever the mode.
 */
export type AccessMode = 'role' | 'grants';

export interface Resource {
  studyInstanceUid?: string;
  patientId?: string;
}

/** What each role may do, on the data its scope lets it see. */
export const ROLE_RIGHTS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  admin: new Set(ACTIONS),
  radiologist: new Set<Action>(['query', 'view', 'download', 'store', 'share']),
  technologist: new Set<Action>(['query', 'view', 'download', 'store']),
  // Both only ever see what was granted to them (see visibleScope).
  referring: new Set<Action>(['query', 'view', 'download']),
  auditor: new Set<Action>(['read-audit']),
  external: new Set<Action>(['query', 'view', 'download']),
};

/** Roles that may open a study outside their grants by giving a reason (break-glass). */
export const CLINICAL_ROLES: ReadonlySet<Role> = new Set<Role>(['radiologist', 'technologist', 'referring']);

/** Roles whose data scope the site's access mode decides; the others are fixed. */
const MODE_ROLES: ReadonlySet<Role> = new Set<Role>(['radiologist', 'technologist']);

const READ: readonly Action[] = ['query', 'view', 'download'];

/** The ceiling a token scope puts on its holder's role rights. */
export const SCOPE_RIGHTS: Readonly<Record<TokenScope, ReadonlySet<Action>>> = {
  read: new Set(READ),
  write: new Set<Action>([...READ, 'store']),
  admin: new Set(ACTIONS),
};

/** True when the principal may perform the action (which data it may do it on is visibleScope's). */
export function can(p: Principal, action: Action): boolean {
  if (p.share) return action === 'query' || action === 'view' || (action === 'download' && p.share.access === 'download');
  const byRole = ROLE_RIGHTS[p.role]?.has(action) === true;
  const byScope = p.scopes.some((s) => SCOPE_RIGHTS[s]?.has(action) === true);
  return byRole && byScope;
}

/** Throws access-denied unless the principal may perform the action. */
export function authorize(p: Principal, action: Action): void {
  if (!can(p, action)) throw accessDenied();
}

/**
 * The data the principal may see: undefined for everything (no cost to any query), otherwise the
 * scope the index pushes into its SQL. A share link sees its one study; admins and the system
 * everything; radiologists and technologists everything in 'role' mode; everyone else (and they,
 * in 'grants' mode) the live grants of the user and its groups. A peer without a user identity
 * holds no grants, so in 'grants' mode it sees nothing.
 */
export function visibleScope(p: Principal, mode: AccessMode, now: Date): DataScope | undefined {
  if (p.share) return { studies: [p.share.studyInstanceUid] };
  if (p.kind === 'system' || p.role === 'admin') return undefined;
  if (mode === 'role' && MODE_ROLES.has(p.role)) return undefined;
  return { grantees: { userId: p.userId, groups: p.groups ?? [], at: now.toISOString() } };
}

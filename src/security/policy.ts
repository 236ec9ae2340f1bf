// The one access policy: every service asks authorize() before it touches patient data.

import { accessDenied } from '../errors.js';
import type { Role, TokenScope } from '../store/index/account-store.js';
import type { Principal } from './principal.js';

export type Action = 'query' | 'view' | 'download' | 'store' | 'delete' | 'share' | 'administer' | 'read-audit';

export const ACTIONS: readonly Action[] = ['query', 'view', 'download', 'store', 'delete', 'share', 'administer', 'read-audit'];

export interface Resource {
  studyInstanceUid?: string;
  patientId?: string;
}

/** What each role may do anywhere, before any per-study grant. */
export const ROLE_RIGHTS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  admin: new Set(ACTIONS),
  radiologist: new Set<Action>(['query', 'view', 'download', 'store', 'share']),
  technologist: new Set<Action>(['query', 'view', 'download', 'store']),
  // Will be narrowed to granted studies by the identity work; allowed everywhere for now.
  referring: new Set<Action>(['query', 'view']),
  auditor: new Set<Action>(['read-audit']),
  // Sees nothing until per-study grants exist.
  external: new Set<Action>(),
};

const READ: readonly Action[] = ['query', 'view', 'download'];

/** The ceiling a token scope puts on its holder's role rights. */
export const SCOPE_RIGHTS: Readonly<Record<TokenScope, ReadonlySet<Action>>> = {
  read: new Set(READ),
  write: new Set<Action>([...READ, 'store']),
  admin: new Set(ACTIONS),
};

/** True when the principal may perform the action (on the resource, when one is named). */
export function can(p: Principal, action: Action, resource?: Resource): boolean {
  const byRole = ROLE_RIGHTS[p.role]?.has(action) === true || grantAllows(p, action, resource);
  const byScope = p.scopes.some((s) => SCOPE_RIGHTS[s]?.has(action) === true);
  return byRole && byScope;
}

/** Throws access-denied unless the principal may perform the action. */
export function authorize(p: Principal, action: Action, resource?: Resource): void {
  if (!can(p, action, resource)) throw accessDenied();
}

/**
 * Per-study grants (a referring physician's own patients, an external reader's shared study)
 * plug in here: rights a principal holds on one resource beyond its role. None exist yet.
 */
function grantAllows(_p: Principal, _action: Action, _resource: Resource | undefined): boolean {
  return false;
}

// From an OpenID Provider's claims to a Rampart role and groups (by configuration), and the
// just-in-time account linked to the provider's iss + sub. An identity is never linked to an
// existing local account by name: a provider user called "admin" gets an account of its own.
import { createHash, randomUUID } from 'node:crypto';
import { isRampartError, unauthenticated } from '../../errors.js';
import { ROLES, type AccountStore, type Role, type UserRecord } from '../../store/index/account-store.js';
import type { AuthStore } from '../../store/index/auth-store.js';

export interface ClaimMapping {
  rolesClaim: string;
  groupsClaim: string;
  usernameClaim: string;
  roleMap: Readonly<Record<string, string>>;
}

/** A password hash that no password matches (parsePhc refuses it): SSO accounts sign in through the provider only. */
export const NO_PASSWORD = '!external';
const MAX_VALUES = 256;

/** The value at a dotted path (Keycloak puts roles at realm_access.roles). */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  let cur: unknown = claims;
  for (const part of path.split('.')) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A claim as a list of strings: an array, or a space- or comma-separated string. */
export function claimList(claims: Record<string, unknown>, path: string): string[] {
  const v = claimAt(claims, path);
  const list = typeof v === 'string' ? v.split(/[\s,]+/) : Array.isArray(v) ? v : [];
  return list.filter((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= 256).slice(0, MAX_VALUES);
}

/**
 * The most capable Rampart role any of the claim's values maps to (ROLES is ordered from admin
 * down), or undefined when none maps: such a user is refused.
 */
export function mapRole(claims: Record<string, unknown>, m: ClaimMapping): Role | undefined {
  const mapped = new Set<string>();
  for (const v of claimList(claims, m.rolesClaim)) if (Object.hasOwn(m.roleMap, v)) mapped.add(m.roleMap[v]!);
  return ROLES.find((r) => mapped.has(r));
}

export function mapGroups(claims: Record<string, unknown>, m: ClaimMapping): string[] {
  return [...new Set(claimList(claims, m.groupsClaim))];
}

/** The user linked to iss + sub, created on first sight with a name taken from the claims. */
export async function linkedUser(
  accounts: AccountStore, auth: AuthStore, issuer: string, subject: string, claims: Record<string, unknown>, m: ClaimMapping, role: Role, now: Date,
): Promise<UserRecord> {
  const link = await auth.getExternalIdentity(issuer, subject);
  if (link) {
    const u = await accounts.getUserById(link.userId);
    if (!u || u.disabled) throw unauthenticated();
    return u;
  }
  const base = usernameFrom(claimAt(claims, m.usernameClaim));
  const suffix = createHash('sha256').update(`${issuer}\0${subject}`).digest('hex').slice(0, 8);
  for (const username of [base, `${base.slice(0, 55)}-${suffix}`]) {
    if (await accounts.getUserByName(username)) continue;
    const user: UserRecord = { id: randomUUID(), username, role, passwordHash: NO_PASSWORD, disabled: false, createdAt: now.toISOString() };
    try {
      await accounts.createUser(user);
      await auth.linkExternalIdentity({ issuer, subject, userId: user.id, createdAt: now.toISOString() });
      return user;
    } catch (e) {
      if (!isRampartError(e, 'already-exists')) throw e;
      // A concurrent first sign-in of the same identity won the race: use its account.
      const raced = await auth.getExternalIdentity(issuer, subject);
      if (raced) return (await accounts.getUserById(raced.userId)) ?? user;
    }
  }
  throw unauthenticated();
}

/** A valid Rampart username from a claim: other characters become '_', at most 48 characters. */
function usernameFrom(v: unknown): string {
  const s = typeof v === 'string' ? v.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 48) : '';
  return s.length > 0 ? s : 'sso-user';
}

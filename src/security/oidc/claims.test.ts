import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KyselyAuthStore } from '../../store/index/kysely-auth-store.js';
import type { KyselyIndexStore } from '../../store/index/kysely-index-store.js';
import { openSqliteIndex } from '../../store/index/sqlite.js';
import { createUser } from '../authenticate.js';
import { claimList, linkedUser, mapGroups, mapRole, NO_PASSWORD, type ClaimMapping } from './claims.js';

const M: ClaimMapping = {
  rolesClaim: 'realm_access.roles', groupsClaim: 'groups', usernameClaim: 'preferred_username',
  roleMap: { 'pacs-ref': 'referring', 'pacs-rad': 'radiologist', 'pacs-admin': 'admin' },
};

describe('mapping claims to roles and groups', () => {
  it('reads a nested claim and picks the most capable mapped role', () => {
    expect(mapRole({ realm_access: { roles: ['offline_access', 'pacs-ref', 'pacs-rad'] } }, M)).toBe('radiologist');
    expect(mapRole({ realm_access: { roles: ['pacs-admin', 'pacs-ref'] } }, M)).toBe('admin');
  });

  it('maps nothing when no value is in the map, when the claim is missing, or when the path walks into a prototype', () => {
    expect(mapRole({ realm_access: { roles: ['visitor'] } }, M)).toBeUndefined();
    expect(mapRole({}, M)).toBeUndefined();
    expect(mapRole({ realm_access: { roles: ['constructor', 'toString'] } }, M)).toBeUndefined();
    expect(claimList({ a: {} }, 'a.constructor')).toEqual([]);
  });

  it('takes a list from an array or a space- or comma-separated string, and drops what is not a string', () => {
    expect(claimList({ scope: 'rampart.read openid' }, 'scope')).toEqual(['rampart.read', 'openid']);
    expect(claimList({ groups: ['a', 7, 'b', null, 'a'] }, 'groups')).toEqual(['a', 'b', 'a']);
    expect(mapGroups({ groups: ['a', 'b', 'a'] }, M)).toEqual(['a', 'b']);
  });
});

describe('just-in-time accounts', () => {
  let index: KyselyIndexStore;
  let auth: KyselyAuthStore;
  const now = new Date('2026-03-01T10:00:00Z');
  beforeEach(async () => { index = await openSqliteIndex(':memory:'); auth = new KyselyAuthStore(index.db); });
  afterEach(async () => { await index.close(); });

  it('creates an account without a usable password on first sight and finds it again by iss + sub', async () => {
    const u = await linkedUser(index, auth, 'https://idp', 'sub-1', { preferred_username: 'Dr House' }, M, 'radiologist', now);
    expect(u).toMatchObject({ username: 'Dr_House', role: 'radiologist', passwordHash: NO_PASSWORD });
    const again = await linkedUser(index, auth, 'https://idp', 'sub-1', { preferred_username: 'renamed' }, M, 'admin', now);
    expect(again.id).toBe(u.id);
  });

  it('never takes over a local account of the same name', async () => {
    const local = await createUser(index, 'admin', 'admin', 'correct stapler violet 9', now);
    const u = await linkedUser(index, auth, 'https://idp', 'sub-9', { preferred_username: 'admin' }, M, 'referring', now);
    expect(u.id).not.toBe(local.user.id);
    expect(u.username).toMatch(/^admin-[0-9a-f]{8}$/);
  });

  it('refuses a linked account that was disabled or removed', async () => {
    const u = await linkedUser(index, auth, 'https://idp', 'sub-2', { preferred_username: 'gone' }, M, 'referring', now);
    await index.removeUser(u.username);
    await expect(linkedUser(index, auth, 'https://idp', 'sub-2', {}, M, 'referring', now)).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});

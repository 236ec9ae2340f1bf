import { describe, expect, it } from 'vitest';
import { isRampartError } from '../errors.js';
import { MemoryAccountStore } from '../security/memory-account-store.js';
import { systemPrincipal, type Principal } from '../security/principal.js';
import type { PeerRecord, PeerStore } from '../store/index/peer-store.js';
import type { Role } from '../store/index/account-store.js';
import type { SessionRecord } from '../store/index/auth-store.js';
import { AdminService, checkPeer, type SessionControl } from './admin.js';
import type { AuditEvent } from './audit-port.js';

class MemoryPeers implements PeerStore {
  readonly peers = new Map<string, PeerRecord>();
  async addPeer(p: PeerRecord) { this.peers.set(p.aeTitle, p); }
  async getPeer(ae: string) { return this.peers.get(ae); }
  async listPeers() { return [...this.peers.values()]; }
  async removePeer(ae: string) { return this.peers.delete(ae); }
}

/** Web sessions as the SessionManager keeps them, held in memory: only what the service calls. */
class MemorySessions implements SessionControl {
  readonly live: SessionRecord[] = [];
  async listAll() { return [...this.live]; }
  async end(id: string) { const i = this.live.findIndex((s) => s.id === id); if (i >= 0) this.live.splice(i, 1); return i >= 0; }
  async endAll(userId: string) { const before = this.live.length; this.live.splice(0, before, ...this.live.filter((s) => s.userId !== userId)); return before - this.live.length; }
}

const who = (role: Principal['role'], scopes: Principal['scopes'] = ['read', 'write', 'admin'], username: string = role): Principal =>
  ({ kind: 'user', userId: `u-${username}`, username, role, scopes, door: 'api' });

function setup() {
  const events: AuditEvent[] = [];
  const accounts = new MemoryAccountStore();
  const sessions = new MemorySessions();
  const admin = new AdminService({ accounts, peers: new MemoryPeers(), audit: { record: async (e) => { events.push(e); } }, sessions });
  /** A user with a known id (u-NAME), as the principals above name them. */
  const add = (username: string, role: Role, disabled = false) => accounts.createUser({ id: `u-${username}`, username, role, passwordHash: 'x', disabled, createdAt: '2026-01-01T00:00:00.000Z' });
  const session = (id: string, userId: string): SessionRecord => ({
    id, secretHash: `h-${id}`, userId, stage: 'full', method: 'password', role: 'radiologist', groups: [], passwordTag: 't', ip: '127.0.0.1',
    userAgent: 'test', challenge: null, createdAt: '2026-01-01T00:00:00.000Z', lastSeenAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-02T00:00:00.000Z', revokedAt: null,
  });
  return { admin, events, accounts, sessions, add, session };
}

describe('AdminService', () => {
  it('creates a user with a generated password and audits user-create', async () => {
    const { admin, events } = setup();
    const r = await admin.createUser(who('admin'), 'alice', 'radiologist');
    expect(r.password.length).toBeGreaterThanOrEqual(12);
    expect(r.user).toMatchObject({ username: 'alice', role: 'radiologist', disabled: false });
    expect(r.user).not.toHaveProperty('passwordHash');
    expect(events).toMatchObject([{ action: 'user-create', outcome: 'success', principal: { username: 'admin' } }]);
  });

  it('refuses a non-administrator, and a token without the admin scope, and audits the failure', async () => {
    const { admin, events } = setup();
    for (const p of [who('radiologist'), who('admin', ['read', 'write'])]) {
      const e = await admin.createUser(p, 'bob', 'admin').catch((x: unknown) => x);
      expect(isRampartError(e, 'access-denied')).toBe(true);
    }
    await expect(admin.listUsers(who('auditor'))).rejects.toThrow();
    expect(events.map((e) => [e.action, e.outcome, e.reason])).toEqual([['user-create', 'failure', 'access-denied'], ['user-create', 'failure', 'access-denied']]);
  });

  it('will not let administrators remove their own account', async () => {
    const { admin } = setup();
    await admin.createUser(who('admin'), 'admin', 'admin');
    await expect(admin.removeUser(who('admin'), 'admin')).rejects.toThrow(/own account/);
  });

  it('adds, lists and removes peers, auditing each change', async () => {
    const { admin, events } = setup();
    await admin.addPeer(who('admin'), { aeTitle: 'CT1', host: '10.0.0.5', port: 104, allow: ['echo', 'store', 'store'], tls: false });
    expect(await admin.listPeers(who('admin'))).toMatchObject([{ aeTitle: 'CT1', allow: ['echo', 'store'], tls: false }]);
    await admin.removePeer(who('admin'), 'CT1');
    await expect(admin.removePeer(who('admin'), 'CT1')).rejects.toThrow(/no such peer/);
    expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual(['peer-add:success', 'peer-remove:success', 'peer-remove:failure']);
  });
});

describe('checkPeer', () => {
  const base = { aeTitle: 'CT1', host: 'ct.example', port: 104, allow: ['store'], tls: true };
  it('refuses what `rampart peer add` refuses', () => {
    expect(() => checkPeer({ ...base, aeTitle: 'A\\B' })).toThrow(/AE title/);
    expect(() => checkPeer({ ...base, aeTitle: 'X'.repeat(17) })).toThrow(/AE title/);
    expect(() => checkPeer({ ...base, host: 'a b' })).toThrow(/host/);
    expect(() => checkPeer({ ...base, port: 70000 })).toThrow(/port/);
    expect(() => checkPeer({ ...base, allow: ['store', 'delete'] })).toThrow(/allowed services/);
    expect(() => checkPeer({ ...base, allow: [] })).toThrow(/allowed services/);
    expect(() => checkPeer({ ...base, certFingerprint: 'abc' })).toThrow(/fingerprint/);
  });

  it('normalises a pinned certificate fingerprint and then requires TLS', () => {
    const p = checkPeer({ ...base, tls: false, certFingerprint: 'ab'.repeat(32) });
    expect(p.certFingerprint).toBe(Array(32).fill('AB').join(':'));
    expect(p.tls).toBe(true);
  });

  it('changes a user\'s role and audits user-change with who and what', async () => {
    const { admin, events, accounts, add } = setup();
    await add('admin', 'admin');
    await add('bob', 'referring');
    expect(await admin.setRole(who('admin'), 'bob', 'radiologist')).toMatchObject({ username: 'bob', role: 'radiologist' });
    expect((await accounts.getUserByName('bob'))?.role).toBe('radiologist');
    expect(events).toMatchObject([{ action: 'user-change', outcome: 'success', principal: { username: 'admin' }, target: 'bob', detail: 'role referring -> radiologist' }]);
    await expect(admin.setRole(who('admin'), 'bob', 'superuser' as Role)).rejects.toThrow(/role is one of/);
    await expect(admin.setRole(who('admin'), 'ghost', 'admin')).rejects.toThrow(/no such user/);
    expect(events.slice(1).map((e) => [e.action, e.outcome, e.reason])).toEqual([['user-change', 'failure', 'bad-request'], ['user-change', 'failure', 'not-found']]);
  });

  it('refuses role changes and disabling to non-administrators, and audits the refusal', async () => {
    const { admin, events, accounts, add } = setup();
    await add('bob', 'referring');
    for (const p of [who('radiologist'), who('admin', ['read', 'write'])]) {
      expect(isRampartError(await admin.setRole(p, 'bob', 'admin').catch((x: unknown) => x), 'access-denied')).toBe(true);
      expect(isRampartError(await admin.setDisabled(p, 'bob', true).catch((x: unknown) => x), 'access-denied')).toBe(true);
    }
    await expect(admin.listSessions(who('auditor'))).rejects.toThrow();
    expect(await accounts.getUserByName('bob')).toMatchObject({ role: 'referring', disabled: false });
    expect(events.map((e) => `${e.action}:${e.outcome}:${e.reason}`)).toEqual(Array(4).fill('user-change:failure:access-denied'));
  });

  it('will not let administrators demote or disable themselves', async () => {
    const { admin, add } = setup();
    await add('admin', 'admin');
    await add('other', 'admin');
    await expect(admin.setRole(who('admin'), 'admin', 'radiologist')).rejects.toThrow(/from themselves/);
    await expect(admin.setDisabled(who('admin'), 'admin', true)).rejects.toThrow(/own account/);
  });

  it('refuses to demote or disable the last enabled administrator, and allows it once another exists', async () => {
    const { admin, add, accounts } = setup();
    await add('root', 'admin');
    await add('spare', 'admin', true); // a disabled administrator does not count
    const cli = systemPrincipal(); // what the CLI acts as: it too must leave an administrator
    await expect(admin.setRole(cli, 'root', 'auditor')).rejects.toThrow(/last enabled administrator/);
    await expect(admin.setDisabled(cli, 'root', true)).rejects.toThrow(/last enabled administrator/);
    await admin.setDisabled(cli, 'spare', false);
    await admin.setRole(cli, 'root', 'auditor');
    await expect(admin.setDisabled(cli, 'spare', true)).rejects.toThrow(/last enabled administrator/);
    expect((await accounts.listUsers()).map((u) => [u.username, u.role, u.disabled])).toEqual([['root', 'auditor', false], ['spare', 'admin', false]]);
  });

  it('disables a user and ends their web sessions at once, and enables them again', async () => {
    const { admin, events, accounts, sessions, add, session } = setup();
    await add('admin', 'admin');
    await add('bob', 'radiologist');
    sessions.live.push(session('s1', 'u-bob'), session('s2', 'u-bob'), session('s3', 'u-admin'));
    expect(await admin.setDisabled(who('admin'), 'bob', true)).toMatchObject({ username: 'bob', disabled: true });
    expect((await accounts.getUserByName('bob'))?.disabled).toBe(true);
    expect(sessions.live.map((s) => s.id)).toEqual(['s3']);
    await admin.setDisabled(who('admin'), 'bob', false);
    expect((await accounts.getUserByName('bob'))?.disabled).toBe(false);
    expect(events.map((e) => [e.action, e.target, e.detail])).toEqual([['user-change', 'bob', 'disable; 2 web session(s) ended'], ['user-change', 'bob', 'enable']]);
  });

  it('lists everyone\'s sessions without their secret hashes, and revokes one with session-revoke', async () => {
    const { admin, events, sessions, add, session } = setup();
    await add('admin', 'admin');
    await add('bob', 'radiologist');
    sessions.live.push(session('s1', 'u-bob'), session('s2', 'u-admin'));
    const list = await admin.listSessions(who('admin'));
    expect(list.map((s) => [s.id, s.username, s.ip])).toEqual([['s1', 'bob', '127.0.0.1'], ['s2', 'admin', '127.0.0.1']]);
    expect(JSON.stringify(list)).not.toContain('h-s1');
    await admin.revokeSession(who('admin'), 's1');
    await expect(admin.revokeSession(who('admin'), 's1')).rejects.toThrow(/no such session/);
    expect(sessions.live.map((s) => s.id)).toEqual(['s2']);
    expect(events.map((e) => [e.action, e.outcome, e.target])).toEqual([['session-revoke', 'success', 'bob'], ['session-revoke', 'failure', undefined]]);
  });
});

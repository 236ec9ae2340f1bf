import { describe, expect, it } from 'vitest';
import { isRampartError } from '../errors.js';
import { MemoryAccountStore } from '../security/memory-account-store.js';
import type { Principal } from '../security/principal.js';
import type { PeerRecord, PeerStore } from '../store/index/peer-store.js';
import { AdminService, checkPeer } from './admin.js';
import type { AuditEvent } from './audit-port.js';

class MemoryPeers implements PeerStore {
  readonly peers = new Map<string, PeerRecord>();
  async addPeer(p: PeerRecord) { this.peers.set(p.aeTitle, p); }
  async getPeer(ae: string) { return this.peers.get(ae); }
  async listPeers() { return [...this.peers.values()]; }
  async removePeer(ae: string) { return this.peers.delete(ae); }
}

const who = (role: Principal['role'], scopes: Principal['scopes'] = ['read', 'write', 'admin']): Principal =>
  ({ kind: 'user', userId: `u-${role}`, username: role, role, scopes, door: 'api' });

function setup() {
  const events: AuditEvent[] = [];
  const admin = new AdminService({ accounts: new MemoryAccountStore(), peers: new MemoryPeers(), audit: { record: async (e) => { events.push(e); } } });
  return { admin, events };
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
});

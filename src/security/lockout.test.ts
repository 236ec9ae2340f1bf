import { beforeEach, afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditEvent } from '../services/audit-port.js';
import { KyselyAuthStore } from '../store/index/kysely-auth-store.js';
import type { KyselyIndexStore } from '../store/index/kysely-index-store.js';
import { openSqliteIndex } from '../store/index/sqlite.js';
import { Authenticator, createUser } from './authenticate.js';
import { backoffMs, type LockoutPolicy } from './lockout.js';
import * as password from './password.js';

const PW = 'correct stapler violet 9';
const basic = (user: string, pw: string) => 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64');
const POLICY: LockoutPolicy = { maxFailures: 5, ipMaxFailures: 8, freeFailures: 2, backoffMaxSeconds: 30, windowSeconds: 900, lockSeconds: 600 };

let now: Date;
let index: KyselyIndexStore;
let auth: Authenticator;
let events: AuditEvent[];

const login = (user: string, pw: string, ip = '10.0.0.1') => auth.passwords.check(user, pw, ip, 'web');
const refusedAs = async (p: Promise<unknown>, message: RegExp) => {
  const e = await p.catch((x: unknown) => x);
  expect(e).toMatchObject({ code: 'unauthenticated' });
  expect((e as Error).message).toMatch(message);
};
const advance = (ms: number) => { now = new Date(now.getTime() + ms); };

beforeEach(async () => {
  now = new Date('2026-03-01T10:00:00Z');
  events = [];
  index = await openSqliteIndex(':memory:');
  auth = new Authenticator(index, () => now, {
    auth: new KyselyAuthStore(index.db), lockout: POLICY, audit: { record: async (e) => { events.push(e); } },
  });
  await createUser(index, 'alice', 'radiologist', PW, now);
});
afterEach(async () => { await index.close(); });

describe('lockout and back-off after failed passwords', () => {
  it('lets the free failures through, then makes the next attempt wait, doubling the wait each time', async () => {
    await refusedAs(login('alice', 'wrong-1'), /authentication required/);
    await refusedAs(login('alice', 'wrong-2'), /authentication required/);
    // Two failures are free; the next attempt must wait 1 s, and after a third failure 2 s.
    await refusedAs(login('alice', PW), /too many failed attempts/);
    advance(1_001);
    await refusedAs(login('alice', 'wrong-3'), /authentication required/);
    advance(1_000);
    await refusedAs(login('alice', PW), /too many failed attempts/);
    advance(1_001);
    await expect(login('alice', PW)).resolves.toMatchObject({ username: 'alice' });
  });

  it('does not verify a password while the account is backing off', async () => {
    for (const pw of ['w1', 'w2']) await refusedAs(login('alice', pw), /authentication required/);
    const spy = vi.spyOn(password, 'verifyPassword');
    await refusedAs(login('alice', PW), /too many/);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('locks the account after the maximum failures, audits the lockout once, and refuses even the right password until the lock ends', async () => {
    for (let i = 0; i < POLICY.maxFailures; i++) {
      await refusedAs(login('alice', `wrong-${i}`), /authentication required/);
      advance(POLICY.backoffMaxSeconds * 1000);
    }
    await refusedAs(login('alice', PW), /too many/);
    expect(events.filter((e) => e.action === 'lockout')).toEqual([
      { action: 'lockout', outcome: 'failure', principal: { kind: 'user', username: 'alice', ip: '10.0.0.1', door: 'web' }, reason: 'account-locked' },
    ]);
    expect(events.filter((e) => e.action === 'login' && e.reason === 'locked')).toHaveLength(1);
    advance(POLICY.lockSeconds * 1000 - POLICY.backoffMaxSeconds * 1000 + 1);
    await expect(login('alice', PW)).resolves.toMatchObject({ username: 'alice' });
  });

  it('locks a name that does not exist in the same way, so locking tells nothing about which accounts exist', async () => {
    for (let i = 0; i < POLICY.maxFailures; i++) {
      await refusedAs(login('nobody', `wrong-${i}`), /authentication required/);
      advance(POLICY.backoffMaxSeconds * 1000);
    }
    await refusedAs(login('nobody', PW), /too many/);
    expect(events.filter((e) => e.action === 'lockout').map((e) => e.principal.username)).toEqual(['nobody']);
  });

  it('locks a source address that sprays many names, and leaves other addresses alone', async () => {
    for (let i = 0; i < POLICY.ipMaxFailures; i++) await refusedAs(login(`user${i}`, 'wrong', '10.9.9.9'), /authentication required/);
    await refusedAs(login('alice', PW, '10.9.9.9'), /too many/);
    await refusedAs(login('alice', PW, '::ffff:10.9.9.9'), /too many/);
    await expect(login('alice', PW, '10.0.0.2')).resolves.toMatchObject({ username: 'alice' });
    expect(events.some((e) => e.action === 'lockout' && e.reason === 'address-locked')).toBe(true);
  });

  it('forgets the account counter after a success', async () => {
    for (const pw of ['w1', 'w2']) await refusedAs(login('alice', pw), /authentication required/);
    advance(1_001);
    await login('alice', PW);
    // Two free failures again, not an immediate back-off.
    for (const pw of ['w3', 'w4']) await refusedAs(login('alice', pw), /authentication required/);
    await refusedAs(login('alice', PW), /too many/);
  });

  it('counts parallel guesses as they run, so a burst cannot verify more passwords than the limit', async () => {
    const spy = vi.spyOn(password, 'verifyPassword');
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => login('alice', `burst-${i}`)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(spy.mock.calls.length).toBeLessThanOrEqual(POLICY.maxFailures);
    spy.mockRestore();
  });

  it('applies at HTTP Basic and at the DIMSE user identity alike, with audited failures', async () => {
    for (let i = 0; i < 2; i++) await expect(auth.authenticateHttp(basic('alice', `bad-${i}`), '10.0.0.7')).rejects.toMatchObject({ code: 'unauthenticated' });
    await refusedAs(auth.authenticateIdentity(2, 'alice', PW, '10.0.0.8'), /too many/);
    expect(events.filter((e) => e.action === 'login').map((e) => [e.principal.door, e.reason])).toEqual([
      ['dicomweb', 'bad-credentials'], ['dicomweb', 'bad-credentials'], ['dimse', 'locked'],
    ]);
  });

  it('caps the back-off delay', () => {
    expect([0, 1, 2, 10, 40].map((n) => backoffMs(n, 30))).toEqual([1_000, 2_000, 4_000, 30_000, 30_000]);
  });
});

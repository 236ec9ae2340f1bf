// The shared contract of the AuthStore port: every adapter runs this suite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthStore, SessionRecord } from './auth-store.js';

export interface AuthStoreUnderTest { store: AuthStore; cleanup(): Promise<void> }

function session(id: string, userId = 'u1'): SessionRecord {
  return {
    id, secretHash: `hash-${id}`, userId, stage: 'full', method: 'password', role: 'radiologist', groups: ['cardio'],
    passwordTag: 'tag', ip: '127.0.0.1', userAgent: 'test', challenge: null, createdAt: `2026-01-01T00:00:0${id.length}.000Z`,
    lastSeenAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T12:00:00.000Z', revokedAt: null,
  };
}

export function runAuthStoreContract(name: string, open: () => Promise<AuthStoreUnderTest>): void {
  describe(`${name}: AuthStore contract`, () => {
    let t: AuthStoreUnderTest;
    let store: AuthStore;
    beforeEach(async () => { t = await open(); store = t.store; });
    afterEach(async () => { await t.cleanup(); });

    it('creates a session, finds it by secret hash and by id, and keeps its groups', async () => {
      await store.createSession(session('s1'));
      expect(await store.getSessionByHash('hash-s1')).toEqual(session('s1'));
      expect(await store.getSession('s1')).toEqual(session('s1'));
      expect(await store.getSessionByHash('hash-nothing')).toBeUndefined();
    });

    it('touches, promotes and binds a challenge to a session', async () => {
      await store.createSession({ ...session('s1'), stage: 'mfa' });
      await store.setSessionChallenge('s1', 'chal');
      expect((await store.getSession('s1'))?.challenge).toBe('chal');
      await store.touchSession('s1', '2026-01-01T00:05:00.000Z');
      await store.promoteSession('s1', 'password+totp');
      const s = await store.getSession('s1');
      expect([s?.stage, s?.method, s?.challenge, s?.lastSeenAt]).toEqual(['full', 'password+totp', null, '2026-01-01T00:05:00.000Z']);
    });

    it('revokes one session once, and all of a user but one', async () => {
      for (const id of ['s1', 's22', 's333']) await store.createSession(session(id));
      await store.createSession(session('other', 'u2'));
      expect(await store.revokeSession('s1', '2026-01-01T01:00:00.000Z')).toBe(true);
      expect(await store.revokeSession('s1', '2026-01-01T02:00:00.000Z')).toBe(false);
      expect(await store.revokeUserSessions('u1', '2026-01-01T03:00:00.000Z', 's333')).toBe(1);
      expect((await store.listSessions('u1')).map((s) => s.id)).toEqual(['s333']);
      expect((await store.getSession('s1'))?.revokedAt).toBe('2026-01-01T01:00:00.000Z');
      expect((await store.listSessions('u2')).map((s) => s.id)).toEqual(['other']);
    });

    it('lists every user\'s live sessions, oldest first, without the revoked ones', async () => {
      await store.createSession(session('s22', 'u2'));
      await store.createSession(session('s1', 'u1'));
      await store.createSession(session('s333', 'u1'));
      await store.revokeSession('s333', '2026-01-01T01:00:00.000Z');
      expect((await store.listAllSessions()).map((s) => [s.id, s.userId])).toEqual([['s1', 'u1'], ['s22', 'u2']]);
    });

    it('prunes sessions that expired or were revoked before a time, and keeps the rest', async () => {
      await store.createSession({ ...session('old'), expiresAt: '2026-01-01T01:00:00.000Z' });
      await store.createSession({ ...session('gone'), revokedAt: '2026-01-01T01:00:00.000Z' });
      await store.createSession(session('live'));
      await store.pruneSessions('2026-01-01T02:00:00.000Z');
      expect([await store.getSession('old'), await store.getSession('gone'), (await store.getSession('live'))?.id]).toEqual([undefined, undefined, 'live']);
    });

    it('stores a TOTP enrolment, confirms it and only moves the last step forward', async () => {
      await store.putMfa({ userId: 'u1', totpSecret: 'JBSWY3DPEHPK3PXP', confirmed: false, lastStep: 0, createdAt: '2026-01-01T00:00:00.000Z' });
      await store.confirmMfa('u1');
      expect(await store.advanceTotpStep('u1', 100)).toBe(true);
      expect(await store.advanceTotpStep('u1', 100)).toBe(false);
      expect(await store.advanceTotpStep('u1', 99)).toBe(false);
      expect(await store.getMfa('u1')).toEqual({ userId: 'u1', totpSecret: 'JBSWY3DPEHPK3PXP', confirmed: true, lastStep: 100, createdAt: '2026-01-01T00:00:00.000Z' });
    });

    it('uses a recovery code once, only for its own user, and counts the unused ones', async () => {
      await store.replaceRecoveryCodes('u1', ['c1', 'c2', 'c3']);
      expect(await store.useRecoveryCode('u2', 'c1', 'now')).toBe(false);
      expect(await store.useRecoveryCode('u1', 'c1', 'now')).toBe(true);
      expect(await store.useRecoveryCode('u1', 'c1', 'now')).toBe(false);
      expect(await store.countRecoveryCodes('u1')).toBe(2);
      await store.replaceRecoveryCodes('u1', ['c4']);
      expect(await store.useRecoveryCode('u1', 'c2', 'now')).toBe(false);
      expect(await store.countRecoveryCodes('u1')).toBe(1);
    });

    it('keeps passkeys, refuses a counter that does not grow, and accepts 0 from counterless authenticators', async () => {
      const pk = { credentialId: 'cred', userId: 'u1', publicKey: 'pub', counter: 5, transports: ['internal', 'hybrid'], name: 'laptop', createdAt: '2026-01-01T00:00:00.000Z', lastUsedAt: null };
      await store.addPasskey(pk);
      expect(await store.getPasskey('cred')).toEqual(pk);
      expect(await store.updatePasskeyCounter('cred', 5, 'now')).toBe(false);
      expect(await store.updatePasskeyCounter('cred', 6, 'now')).toBe(true);
      expect((await store.listPasskeys('u1')).map((p) => p.counter)).toEqual([6]);
      await store.addPasskey({ ...pk, credentialId: 'zero', counter: 0 });
      expect(await store.updatePasskeyCounter('zero', 0, 'now')).toBe(true);
      const err = await store.addPasskey(pk).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('already-exists');
    });

    it('removes TOTP, recovery codes and passkeys together', async () => {
      await store.putMfa({ userId: 'u1', totpSecret: 'S', confirmed: true, lastStep: 0, createdAt: 'now' });
      await store.replaceRecoveryCodes('u1', ['c1']);
      await store.addPasskey({ credentialId: 'cred', userId: 'u1', publicKey: 'pub', counter: 0, transports: [], name: 'k', createdAt: 'now', lastUsedAt: null });
      await store.deleteMfa('u1');
      expect([await store.getMfa('u1'), await store.countRecoveryCodes('u1'), await store.listPasskeys('u1')]).toEqual([undefined, 0, []]);
    });

    it('records, replaces and clears login failures', async () => {
      await store.putLoginFailure({ key: 'u:alice', failures: 1, firstAt: 'a', lastAt: 'a', lockedUntil: null });
      await store.putLoginFailure({ key: 'u:alice', failures: 2, firstAt: 'a', lastAt: 'b', lockedUntil: 'c' });
      expect(await store.getLoginFailure('u:alice')).toEqual({ key: 'u:alice', failures: 2, firstAt: 'a', lastAt: 'b', lockedUntil: 'c' });
      await store.clearLoginFailure('u:alice');
      expect(await store.getLoginFailure('u:alice')).toBeUndefined();
    });

    it('prunes old failure counters but keeps a lock that still runs', async () => {
      await store.putLoginFailure({ key: 'old', failures: 1, firstAt: '2026-01-01T00:00:00.000Z', lastAt: '2026-01-01T00:00:00.000Z', lockedUntil: null });
      await store.putLoginFailure({ key: 'locked', failures: 9, firstAt: '2026-01-01T00:00:00.000Z', lastAt: '2026-01-01T00:00:00.000Z', lockedUntil: '2026-01-02T00:00:00.000Z' });
      await store.putLoginFailure({ key: 'new', failures: 1, firstAt: '2026-01-01T10:00:00.000Z', lastAt: '2026-01-01T10:00:00.000Z', lockedUntil: null });
      await store.pruneLoginFailures('2026-01-01T05:00:00.000Z');
      expect([await store.getLoginFailure('old'), (await store.getLoginFailure('locked'))?.failures, (await store.getLoginFailure('new'))?.failures]).toEqual([undefined, 9, 1]);
    });

    it('links an external identity once', async () => {
      const x = { issuer: 'https://idp', subject: 'sub-1', userId: 'u1', createdAt: 'now' };
      await store.linkExternalIdentity(x);
      expect(await store.getExternalIdentity('https://idp', 'sub-1')).toEqual(x);
      expect(await store.getExternalIdentity('https://other', 'sub-1')).toBeUndefined();
      const err = await store.linkExternalIdentity({ ...x, userId: 'u2' }).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('already-exists');
    });
  });
}

import { describe, expect, it } from 'vitest';
import { isRampartError } from '../errors.js';
import type { Principal } from '../security/principal.js';
import { systemPrincipal } from '../security/principal.js';
import { RateLimiter, limitKey } from './rate-limit.js';

const user = (id: string): Principal => ({ kind: 'token', userId: id, username: id, role: 'radiologist', scopes: ['read'], door: 'dicomweb' });
const limits = { queryPerMinute: 60, queryBurst: 3, retrievePerMinute: 6, retrieveBurst: 1, retrieveBytesPerHour: 1000 };

function retryAfter(f: () => void): number | undefined {
  try { f(); return undefined; } catch (e) {
    if (!isRampartError(e, 'rate-limited')) throw e;
    return e.detail?.retryAfterSeconds as number;
  }
}

describe('the per-principal rate limiter', () => {
  it('allows a burst, then refuses until the bucket refills, saying when to retry', () => {
    let now = 0;
    const l = new RateLimiter(limits, () => now);
    for (let i = 0; i < 3; i++) l.take(user('a'), 'query');
    expect(retryAfter(() => l.take(user('a'), 'query'))).toBe(1);
    now += 1000; // one query per second refills
    expect(retryAfter(() => l.take(user('a'), 'query'))).toBeUndefined();
    expect(retryAfter(() => l.take(user('a'), 'query'))).toBe(1);
  });

  it('keeps one bucket per principal and per kind', () => {
    const l = new RateLimiter(limits, () => 0);
    l.take(user('a'), 'retrieve');
    expect(retryAfter(() => l.take(user('a'), 'retrieve'))).toBe(10);
    expect(retryAfter(() => l.take(user('b'), 'retrieve'))).toBeUndefined();
    expect(retryAfter(() => l.take(user('a'), 'query'))).toBeUndefined();
  });

  it('never limits the operator at the command line, and a rate of 0 turns a limit off', () => {
    const l = new RateLimiter({ ...limits, queryPerMinute: 0 }, () => 0);
    for (let i = 0; i < 100; i++) { l.take(systemPrincipal(), 'retrieve'); l.take(user('a'), 'query'); }
    expect(limitKey(systemPrincipal())).toBeUndefined();
  });

  it('refuses retrievals once the hour\'s volume is used, until the hour is over', () => {
    let now = 0;
    const l = new RateLimiter(limits, () => now);
    l.checkVolume(user('a'));
    l.charge(user('a'), 1200);
    expect(retryAfter(() => l.checkVolume(user('a')))).toBe(3600);
    expect(retryAfter(() => l.checkVolume(user('b')))).toBeUndefined();
    now += 3_600_000;
    expect(retryAfter(() => l.checkVolume(user('a')))).toBeUndefined();
  });

  it('counts a peer by its AE title and a share link by its id', () => {
    expect(limitKey({ kind: 'peer', userId: null, username: 'CT1', role: 'technologist', scopes: ['read'], door: 'dimse' })).toBe('peer:CT1');
    expect(limitKey({ ...user('x'), userId: null, share: { id: 's1', studyInstanceUid: '1.2', access: 'view' } })).toBe('share:s1');
  });
});

// Lockout and back-off after failed password attempts, per account name and per source address.
// OWASP Authentication Cheat Sheet ("Account Lockout") and NIST SP 800-63B 5.2.2 (rate limiting):
// a few free failures, then exponential back-off between attempts, then a lock for a while.
// Counters are kept by name whether or not the account exists, so locking says nothing about
// which accounts exist.
import { DEFAULTS, type Config } from '../config/schema.js';
import { unauthenticated } from '../errors.js';
import type { AuditSink } from '../services/audit-port.js';
import type { AuthStore, LoginFailureRecord } from '../store/index/auth-store.js';
import type { Door } from './principal.js';

/** The policy is configuration (auth.lockout); its defaults are the configuration's. */
export type LockoutPolicy = Config['auth']['lockout'];
export const DEFAULT_LOCKOUT: LockoutPolicy = DEFAULTS.auth.lockout;

const PRUNE_INTERVAL_MS = 60_000;
/** Longer names are cut before they become keys; real names are at most 64 characters. */
const MAX_KEY_PART = 128;

export const tooManyAttempts = () => unauthenticated('too many failed attempts; try again later');

export class LoginThrottle {
  /** Attempts being verified now, per key: counted as failures until they end, so a burst of parallel guesses cannot slip past the limit. */
  private readonly pending = new Map<string, number>();
  private prunedAt = 0;

  constructor(
    private readonly store: AuthStore,
    private readonly policy: LockoutPolicy,
    private readonly audit: AuditSink,
    private readonly clock: () => Date,
  ) {}

  /**
   * Throws (too many attempts) while the name or the address is locked or backing off;
   * otherwise reserves the attempt, which must be ended with succeeded() or failed().
   */
  async begin(username: string, ip: string): Promise<void> {
    const now = this.clock().getTime();
    const keys = [accountKey(username), ipKey(ip)];
    const [account, address] = await Promise.all(keys.map((k) => this.store.getLoginFailure(k)));
    const acc = this.effective(account, keys[0]!, now);
    const adr = this.effective(address, keys[1]!, now);
    // Back-off is per account; an address is only locked, so a shared NAT is not slowed by one user's typos.
    if (this.blocked(acc, now, this.policy.maxFailures, true) || this.blocked(adr, now, this.policy.ipMaxFailures, false)) throw tooManyAttempts();
    for (const k of keys) this.pending.set(k, (this.pending.get(k) ?? 0) + 1);
  }

  async succeeded(username: string, ip: string): Promise<void> {
    this.release(username, ip);
    // The address keeps its count: one good password must not wipe a spray across other names.
    await this.store.clearLoginFailure(accountKey(username));
  }

  async failed(username: string, ip: string, door: Door): Promise<void> {
    this.release(username, ip);
    const now = this.clock();
    await this.bump(accountKey(username), this.policy.maxFailures, now, { username: username.slice(0, 64), ip, door });
    await this.bump(ipKey(ip), this.policy.ipMaxFailures, now, { username: '-', ip, door });
    if (now.getTime() - this.prunedAt > PRUNE_INTERVAL_MS) {
      this.prunedAt = now.getTime();
      await this.store.pruneLoginFailures(new Date(now.getTime() - this.policy.windowSeconds * 1000).toISOString());
    }
  }

  /** The stored counter plus attempts in flight; a counter past its window counts as none. */
  private effective(r: LoginFailureRecord | undefined, key: string, now: number): { failures: number; lastAt: number; lockedUntil: number } {
    const inFlight = this.pending.get(key) ?? 0;
    if (!r) return { failures: inFlight, lastAt: 0, lockedUntil: 0 };
    const lockedUntil = r.lockedUntil ? Date.parse(r.lockedUntil) : 0;
    const lastAt = Date.parse(r.lastAt);
    const stale = now - lastAt > this.policy.windowSeconds * 1000 && lockedUntil <= now;
    return { failures: (stale ? 0 : r.failures) + inFlight, lastAt, lockedUntil };
  }

  private blocked(c: { failures: number; lastAt: number; lockedUntil: number }, now: number, max: number, backoff: boolean): boolean {
    if (c.lockedUntil > now) return true;
    if (c.failures >= max && c.lockedUntil === 0) return true; // in flight past the limit
    if (!backoff) return false;
    const over = c.failures - this.policy.freeFailures;
    if (over < 0 || c.lockedUntil !== 0) return false; // a lock that ran out starts afresh on the next failure
    return now < c.lastAt + backoffMs(over, this.policy.backoffMaxSeconds);
  }

  private async bump(key: string, max: number, now: Date, who: { username: string; ip: string; door: Door }): Promise<void> {
    const t = now.getTime();
    const old = await this.store.getLoginFailure(key);
    const lockExpired = old?.lockedUntil != null && Date.parse(old.lockedUntil) <= t;
    const fresh = !old || lockExpired || t - Date.parse(old.lastAt) > this.policy.windowSeconds * 1000;
    const failures = fresh ? 1 : old.failures + 1;
    const lock = failures >= max;
    await this.store.putLoginFailure({
      key, failures, firstAt: fresh ? now.toISOString() : old.firstAt, lastAt: now.toISOString(),
      lockedUntil: lock ? new Date(t + this.policy.lockSeconds * 1000).toISOString() : null,
    });
    if (lock && (fresh || old.lockedUntil === null)) {
      await this.audit.record({ action: 'lockout', outcome: 'failure', principal: { kind: 'user', ...who }, reason: key.startsWith('ip:') ? 'address-locked' : 'account-locked' });
    }
  }

  private release(username: string, ip: string): void {
    for (const k of [accountKey(username), ipKey(ip)]) {
      const n = (this.pending.get(k) ?? 1) - 1;
      if (n <= 0) this.pending.delete(k);
      else this.pending.set(k, n);
    }
  }
}

/** Delay before the next attempt after `over` failures past the free ones: 1 s, 2 s, 4 s ... capped. */
export function backoffMs(over: number, maxSeconds: number): number {
  return Math.min(2 ** Math.min(over, 30), maxSeconds) * 1000;
}

const accountKey = (username: string) => 'u:' + username.toLowerCase().slice(0, MAX_KEY_PART);
/** IPv4-mapped IPv6 addresses are the IPv4 address. */
const ipKey = (ip: string) => 'ip:' + ip.replace(/^::ffff:(?=\d+\.)/, '').slice(0, MAX_KEY_PART);

// Rate limits and quotas per principal: a token bucket for queries and one for retrieval
// requests, and a retrieval volume quota per hour. A refusal is a 'rate-limited' error carrying
// when to retry (HTTP 429 + Retry-After; DIMSE 0xA700/0xA701/0xA702, out of resources).
import { RampartError } from '../errors.js';
import type { Principal } from '../security/principal.js';

export interface RateLimits {
  queryPerMinute: number;
  queryBurst: number;
  retrievePerMinute: number;
  retrieveBurst: number;
  /** 0 = no quota. */
  retrieveBytesPerHour: number;
}

export type LimitKind = 'query' | 'retrieve';

/** Distinct principals remembered; the least recently seen are forgotten first (their buckets refill anyway). */
const MAX_KEYS = 50_000;
const HOUR_MS = 3_600_000;

interface Bucket { tokens: number; at: number }
interface Volume { windowStart: number; bytes: number }

export const rateLimited = (retryAfterSeconds: number, what: string): RampartError =>
  new RampartError('rate-limited', `too many ${what}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });

/** Who is counted: the user, else the peer's AE title or the share link. The system principal never is. */
export function limitKey(p: Principal): string | undefined {
  if (p.kind === 'system') return undefined;
  if (p.share) return `share:${p.share.id}`;
  return p.userId !== null ? `user:${p.userId}` : `${p.kind}:${p.username}`;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly volumes = new Map<string, Volume>();

  constructor(private readonly limits: RateLimits, private readonly clock: () => number = Date.now) {}

  /** Takes one request from the principal's bucket, or throws rate-limited. */
  take(p: Principal, kind: LimitKind): void {
    const key = limitKey(p);
    if (key === undefined) return;
    const perMinute = kind === 'query' ? this.limits.queryPerMinute : this.limits.retrievePerMinute;
    const burst = Math.max(1, kind === 'query' ? this.limits.queryBurst : this.limits.retrieveBurst);
    if (perMinute <= 0) return; // 0 turns the limit off
    const now = this.clock();
    const id = `${kind}|${key}`;
    const b = this.buckets.get(id) ?? { tokens: burst, at: now };
    this.buckets.delete(id);
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) * perMinute) / 60_000);
    b.at = now;
    this.remember(this.buckets, id, b);
    if (b.tokens < 1) throw rateLimited(Math.max(1, Math.ceil(((1 - b.tokens) * 60_000) / perMinute / 1000)), kind === 'query' ? 'queries' : 'retrievals');
    b.tokens -= 1;
  }

  /** Throws rate-limited when the principal has used this hour's retrieval volume. */
  checkVolume(p: Principal): void {
    const v = this.volume(p);
    if (v && v.bytes >= this.limits.retrieveBytesPerHour) {
      throw rateLimited(Math.max(1, Math.ceil((v.windowStart + HOUR_MS - this.clock()) / 1000)), 'bytes retrieved this hour');
    }
  }

  /** Counts bytes handed out to the principal in the current hour. */
  charge(p: Principal, bytes: number): void {
    const v = this.volume(p);
    if (v) v.bytes += bytes;
  }

  private volume(p: Principal): Volume | undefined {
    const key = limitKey(p);
    if (key === undefined || this.limits.retrieveBytesPerHour <= 0) return undefined;
    const now = this.clock();
    let v = this.volumes.get(key);
    if (!v || now - v.windowStart >= HOUR_MS) v = { windowStart: now, bytes: 0 };
    this.volumes.delete(key);
    this.remember(this.volumes, key, v);
    return v;
  }

  private remember<V>(m: Map<string, V>, key: string, v: V): void {
    while (m.size >= MAX_KEYS) m.delete(m.keys().next().value as string);
    m.set(key, v);
  }
}

/** Takes one request (and checks the volume quota for retrievals of bytes), auditing a refusal as 'rate-limit'. */
export async function throttle(
  limiter: RateLimiter | undefined, audit: { record(e: import('./audit-port.js').AuditEvent): Promise<void> },
  p: Principal, kind: LimitKind, bytes = false,
): Promise<void> {
  if (!limiter) return;
  try {
    limiter.take(p, kind);
    if (bytes) limiter.checkVolume(p);
  } catch (e) {
    await audit.record({ action: 'rate-limit', outcome: 'failure', principal: p, reason: kind });
    throw e;
  }
}

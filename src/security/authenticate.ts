// Authentication at the HTTP doors (Bearer API tokens, Basic passwords) and the account helpers
// that create users and tokens with validated inputs.

import { createHash, randomUUID } from 'node:crypto';
import { alreadyExists, badRequest, notFound, unauthenticated } from '../errors.js';
import { noAudit, type AuditSink } from '../services/audit-port.js';
import type { AccessStore } from '../store/index/access-store.js';
import { ROLES } from '../store/index/account-store.js';
import type { AccountStore, Role, TokenRecord, TokenScope, UserRecord } from '../store/index/account-store.js';
import type { AuthStore } from '../store/index/auth-store.js';
import { DEFAULT_LOCKOUT, LoginThrottle, type LockoutPolicy } from './lockout.js';
import { checkPasswordRules, generatePassword, hashPassword, PASSWORD_MAX_LENGTH } from './password.js';
import { PasswordLogin } from './password-login.js';
import { ALL_SCOPES } from './principal.js';
import type { Door, Principal } from './principal.js';
import { generateToken, hashToken, looksLikeToken } from './tokens.js';

export type HttpDoor = Extract<Door, 'dicomweb' | 'api' | 'web'>;

/** lastUsedAt is bookkeeping: one write per token per minute is plenty. */
const TOUCH_INTERVAL_MS = 60_000;
/** DICOMweb clients send Basic on every request; argon2 costs ~50 ms, so successes are cached briefly. */
const BASIC_CACHE_TTL_MS = 60_000;
const BASIC_CACHE_MAX = 1000;
/** Longer headers are refused before any work: a Basic header for a maximal password fits well within. */
const MAX_HEADER_LENGTH = 4 * PASSWORD_MAX_LENGTH + 512;

interface CachedLogin {
  userId: string;
  /** The hash the password was verified against: a password change invalidates the entry. */
  passwordHash: string;
  expiresAt: number;
}

/** A verifier of bearer JWTs from the configured OpenID Provider (see jwt-bearer.ts). */
export interface JwtVerifier {
  verify(jwt: string, ip: string, door: Door): Promise<Principal>;
}

export interface AuthenticatorOptions {
  /** Sessions, second factors and failure counters; without it there is no lockout and no MFA check. */
  auth?: AuthStore;
  audit?: AuditSink;
  lockout?: LockoutPolicy;
  jwt?: JwtVerifier;
}

export class Authenticator {
  private readonly touchedAt = new Map<string, number>(); // token id -> ms of last touch
  private readonly basicCache = new Map<string, CachedLogin>(); // SHA-256(header) -> login, in LRU order
  private readonly inFlight = new Map<string, Promise<UserRecord | undefined>>();
  /** The password check shared with the web login. */
  readonly passwords: PasswordLogin;
  private readonly auth: AuthStore | undefined;
  private jwt: JwtVerifier | undefined;

  constructor(
    private readonly accounts: AccountStore,
    private readonly clock: () => Date = () => new Date(),
    opts: AuthenticatorOptions = {},
    /** Local group membership, loaded into the principal at each authentication. */
    private readonly groups?: Pick<AccessStore, 'groupsOf'>,
  ) {
    const audit = opts.audit ?? noAudit;
    this.auth = opts.auth;
    this.jwt = opts.jwt;
    const throttle = opts.auth ? new LoginThrottle(opts.auth, opts.lockout ?? DEFAULT_LOCKOUT, audit, clock) : undefined;
    this.passwords = new PasswordLogin(accounts, audit, throttle);
  }

  /** Set once at start-up, when the OpenID Provider is configured. */
  useJwtVerifier(jwt: JwtVerifier): void {
    this.jwt = jwt;
  }

  /** True when the user has a confirmed second factor (TOTP or a passkey). */
  async hasSecondFactor(userId: string): Promise<boolean> {
    if (!this.auth) return false;
    const [mfa, keys] = await Promise.all([this.auth.getMfa(userId), this.auth.listPasskeys(userId)]);
    return mfa?.confirmed === true || keys.length > 0;
  }

  private async groupsOf(userId: string): Promise<string[]> {
    return this.groups ? this.groups.groupsOf(userId) : [];
  }

  /** Resolves to the caller's Principal or throws unauthenticated; never says which part was wrong. */
  async authenticateHttp(authorizationHeader: string | undefined, ip: string, door: HttpDoor = 'dicomweb'): Promise<Principal> {
    if (typeof authorizationHeader !== 'string' || authorizationHeader.length > MAX_HEADER_LENGTH) throw unauthenticated();
    const match = /^([A-Za-z]+) +(\S+) *$/.exec(authorizationHeader);
    if (!match) throw unauthenticated();
    const scheme = match[1]!.toLowerCase();
    const credentials = match[2]!;
    if (scheme === 'bearer') return this.bearer(credentials, ip, door);
    if (scheme === 'basic') return this.basic(authorizationHeader, credentials, ip, door);
    throw unauthenticated();
  }

  /**
   * DIMSE User Identity Negotiation (PS3.7 D.3.3.7): type 2 (username and passcode) is checked
   * like a password login, type 5 (JWT) carries a Rampart API token. Other types are refused.
   */
  async authenticateIdentity(type: number, primary: string, secondary: string, ip: string): Promise<Principal> {
    if (type === 2) {
      const b64 = Buffer.from(`${primary}:${secondary}`, 'utf8').toString('base64');
      return this.basic(`Basic ${b64}`, b64, ip, 'dimse');
    }
    if (type === 5) return this.bearer(primary.trim(), ip, 'dimse');
    throw unauthenticated();
  }

  private async bearer(secret: string, ip: string, door: Door): Promise<Principal> {
    if (this.jwt && looksLikeJwt(secret)) return this.jwt.verify(secret, ip, door);
    if (!looksLikeToken(secret)) throw unauthenticated();
    const token = await this.accounts.getTokenByHash(hashToken(secret));
    const now = this.clock();
    if (!token || token.revokedAt !== null) throw unauthenticated();
    if (token.expiresAt !== null && !(Date.parse(token.expiresAt) > now.getTime())) throw unauthenticated();
    const user = await this.accounts.getUserById(token.userId);
    if (!user || user.disabled) throw unauthenticated();
    await this.touch(token, now);
    return { kind: 'token', userId: user.id, username: user.username, role: user.role, scopes: [...token.scopes], ip, door, groups: await this.groupsOf(user.id) };
  }

  private async touch(token: TokenRecord, now: Date): Promise<void> {
    const last = this.touchedAt.get(token.id);
    if (last !== undefined && now.getTime() - last < TOUCH_INTERVAL_MS) return;
    this.touchedAt.set(token.id, now.getTime()); // set first so concurrent requests touch once
    await this.accounts.touchToken(token.id, now.toISOString());
  }

  private async basic(header: string, credentials: string, ip: string, door: Door): Promise<Principal> {
    const key = createHash('sha256').update(header, 'utf8').digest('hex');
    const user = (await this.fromCache(key)) ?? (await this.verifyOnce(key, credentials, ip, door));
    if (!user) throw unauthenticated();
    return { kind: 'user', userId: user.id, username: user.username, role: user.role, scopes: [...ALL_SCOPES], ip, door, groups: await this.groupsOf(user.id) };
  }

  /** A cached login still counts only while the user exists, is enabled and has the same password. */
  private async fromCache(key: string): Promise<UserRecord | undefined> {
    const hit = this.basicCache.get(key);
    if (!hit) return undefined;
    this.basicCache.delete(key);
    if (hit.expiresAt <= this.clock().getTime()) return undefined;
    const user = await this.accounts.getUserById(hit.userId);
    if (!user || user.disabled || user.passwordHash !== hit.passwordHash) return undefined;
    this.basicCache.set(key, hit); // re-insert: most recently used goes last
    return user;
  }

  /** Concurrent requests with the same header share one argon2 verification. */
  private verifyOnce(key: string, credentials: string, ip: string, door: Door): Promise<UserRecord | undefined> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.verifyBasic(key, credentials, ip, door).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async verifyBasic(key: string, credentials: string, ip: string, door: Door): Promise<UserRecord | undefined> {
    const decoded = decodeBasic(credentials);
    const user = await this.passwords.check(decoded?.username ?? '', decoded?.password ?? '', ip, door);
    // A password alone cannot pass where a second factor cannot be asked for: such users use API tokens.
    if (await this.hasSecondFactor(user.id)) throw unauthenticated();
    this.remember(key, user);
    return user;
  }

  private remember(key: string, user: UserRecord): void {
    this.basicCache.delete(key);
    while (this.basicCache.size >= BASIC_CACHE_MAX) {
      const oldest = this.basicCache.keys().next().value as string;
      this.basicCache.delete(oldest);
    }
    this.basicCache.set(key, {
      userId: user.id,
      passwordHash: user.passwordHash,
      expiresAt: this.clock().getTime() + BASIC_CACHE_TTL_MS,
    });
  }
}

/** Three base64url parts: the compact JWS form (RFC 7515 7.1). */
export function looksLikeJwt(s: string): boolean {
  return s.length <= 16_384 && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(s);
}

function decodeBasic(credentials: string): { username: string; password: string } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined;
  const text = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

const USERNAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export function checkUsername(username: string): string | undefined {
  return USERNAME_RE.test(username) ? undefined : 'username must be 1-64 characters of A-Z a-z 0-9 . _ @ -';
}

/**
 * Creates a local user. Without a password one is generated; the password is returned so the
 * caller can print it once. Throws bad-request for invalid input, already-exists for a taken name.
 */
export async function createUser(
  accounts: AccountStore,
  username: string,
  role: Role,
  password?: string,
  now: Date = new Date(),
): Promise<{ user: UserRecord; password: string }> {
  const badName = checkUsername(username);
  if (badName) throw badRequest(badName);
  if (!ROLES.includes(role)) throw badRequest(`role must be one of ${ROLES.join(', ')}`);
  const pw = password ?? generatePassword();
  const badPassword = checkPasswordRules(pw, username);
  if (badPassword) throw badRequest(badPassword);
  if (await accounts.getUserByName(username)) throw alreadyExists('username is taken');
  const user: UserRecord = {
    id: randomUUID(),
    username,
    role,
    passwordHash: await hashPassword(pw),
    disabled: false,
    createdAt: now.toISOString(),
  };
  await accounts.createUser(user);
  return { user, password: pw };
}

/**
 * Issues an API token for an existing, enabled user. `ttlMs` null means no expiry.
 * Returns the record and the secret, which is never stored and must be printed once.
 */
export async function createToken(
  accounts: AccountStore,
  username: string,
  scopes: TokenScope[],
  ttlMs: number | null,
  now: Date = new Date(),
): Promise<{ token: TokenRecord; secret: string }> {
  if (scopes.length === 0) throw badRequest('at least one scope is required');
  const bad = scopes.find((s) => !ALL_SCOPES.includes(s));
  if (bad !== undefined) throw badRequest(`scope must be one of ${ALL_SCOPES.join(', ')}`);
  if (ttlMs !== null && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) throw badRequest('token lifetime must be a positive number of milliseconds');
  const user = await accounts.getUserByName(username);
  if (!user) throw notFound('no such user');
  if (user.disabled) throw badRequest('user is disabled');
  const expiresAt = ttlMs === null ? null : new Date(now.getTime() + ttlMs);
  if (expiresAt !== null && Number.isNaN(expiresAt.getTime())) throw badRequest('token lifetime is too long');
  const { secret, hash } = generateToken();
  const token: TokenRecord = {
    id: randomUUID(),
    userId: user.id,
    tokenHash: hash,
    scopes: ALL_SCOPES.filter((s) => scopes.includes(s)),
    createdAt: now.toISOString(),
    expiresAt: expiresAt?.toISOString() ?? null,
    revokedAt: null,
    lastUsedAt: null,
  };
  await accounts.createToken(token);
  return { token, secret };
}

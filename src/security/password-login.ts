// The one password check behind every door that takes a password (HTTP Basic, the web login,
// DIMSE user identity type 2): lockout and back-off first, then exactly one argon2 verification
// whether or not the account exists, then an audit event for the outcome.
import type { AuditSink } from '../services/audit-port.js';
import type { AccountStore, UserRecord } from '../store/index/account-store.js';
import { unauthenticated, isRampartError } from '../errors.js';
import { LoginThrottle } from './lockout.js';
import { generatePassword, hashPassword, parsePhc, verifyPassword } from './password.js';
import type { Door } from './principal.js';

export class PasswordLogin {
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly accounts: AccountStore,
    private readonly audit: AuditSink,
    readonly throttle: LoginThrottle | undefined,
  ) {}

  /** Resolves to the enabled user whose password this is; throws unauthenticated otherwise, never saying which part was wrong. */
  async check(username: string, password: string, ip: string, door: Door): Promise<UserRecord> {
    const who = { kind: 'user' as const, username: username.slice(0, 64), door, ip };
    try {
      await this.throttle?.begin(username, ip);
    } catch (e) {
      if (isRampartError(e)) await this.audit.record({ action: 'login', outcome: 'failure', principal: who, reason: 'locked' });
      throw e;
    }
    let user: UserRecord | undefined;
    let ok = false;
    try {
      user = username.length > 0 ? await this.accounts.getUserByName(username) : undefined;
      // Always run one argon2 verification, so response time does not reveal whether the user
      // exists or has a password at all (SSO accounts have none).
      const usable = user !== undefined && parsePhc(user.passwordHash) !== undefined;
      ok = (await verifyPassword(password, usable ? user!.passwordHash : await this.dummy())) && usable;
    } finally {
      if (!(user && ok && !user.disabled)) await this.throttle?.failed(username, ip, door);
    }
    if (!user || !ok || user.disabled) {
      await this.audit.record({ action: 'login', outcome: 'failure', principal: who, reason: 'bad-credentials' });
      throw unauthenticated();
    }
    await this.throttle?.succeeded(username, ip);
    return user;
  }

  /** A hash of a random password: verifying against it costs what a real verification costs. */
  dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(generatePassword());
    return this.dummyHash;
  }
}

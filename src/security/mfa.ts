// Second factors for local accounts: TOTP enrolment (otpauth:// URI and a QR code as SVG),
// confirmation with a first code, one use per code, and single-use recovery codes shown once and
// stored as SHA-256 (they carry 60 random bits, and guessing is bounded by the login throttle).
import { createHash, randomBytes } from 'node:crypto';
import QRCode from 'qrcode-svg';
import { RampartError } from '../errors.js';
import type { AuthStore } from '../store/index/auth-store.js';
import type { UserRecord } from '../store/index/account-store.js';
import { base32Decode, base32Encode, generateTotpSecret, matchTotp, otpauthUri } from './totp.js';

export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_RE = /^[A-Z2-7]{12}$/;

export interface TotpEnrolment { secret: string; uri: string; qrSvg: string }
export interface MfaState { totp: boolean; passkeys: number; recoveryCodesLeft: number }

export class MfaService {
  constructor(
    private readonly store: AuthStore,
    private readonly issuer: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async state(userId: string): Promise<MfaState> {
    const [m, keys, left] = await Promise.all([this.store.getMfa(userId), this.store.listPasskeys(userId), this.store.countRecoveryCodes(userId)]);
    return { totp: m?.confirmed === true, passkeys: keys.length, recoveryCodesLeft: left };
  }

  /** A new, unconfirmed secret. Refused while a confirmed one exists: replacing it needs a reset. */
  async beginTotp(user: UserRecord): Promise<TotpEnrolment> {
    const existing = await this.store.getMfa(user.id);
    if (existing?.confirmed) throw new RampartError('conflict', 'TOTP is already set up; reset it first');
    const secret = generateTotpSecret();
    await this.store.putMfa({ userId: user.id, totpSecret: secret, confirmed: false, lastStep: 0, createdAt: this.clock().toISOString() });
    const uri = otpauthUri(this.issuer, user.username, secret);
    const qrSvg = new QRCode({ content: uri, ecl: 'M', join: true, container: 'svg-viewbox', padding: 4 }).svg();
    return { secret, uri, qrSvg };
  }

  /** The first code proves the app holds the secret; answers the recovery codes, shown this once. */
  async confirmTotp(userId: string, code: string): Promise<string[]> {
    const m = await this.store.getMfa(userId);
    if (!m || m.confirmed) throw new RampartError('conflict', 'no TOTP enrolment is waiting for confirmation');
    if (!(await this.acceptCode(userId, m.totpSecret, code))) throw new RampartError('bad-request', 'the code is not valid');
    await this.store.confirmMfa(userId);
    return this.newRecoveryCodes(userId);
  }

  /** True for a valid code of a confirmed enrolment that was not used before (RFC 6238 5.2). */
  async verifyTotp(userId: string, code: string): Promise<boolean> {
    const m = await this.store.getMfa(userId);
    if (!m?.confirmed) return false;
    return this.acceptCode(userId, m.totpSecret, code);
  }

  async useRecoveryCode(userId: string, code: string): Promise<boolean> {
    const norm = normaliseRecoveryCode(code);
    if (!RECOVERY_RE.test(norm)) return false;
    return this.store.useRecoveryCode(userId, recoveryHash(userId, norm), this.clock().toISOString());
  }

  /** Replaces all recovery codes; the old ones stop working. */
  async newRecoveryCodes(userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => base32Encode(randomBytes(8)).slice(0, 12));
    await this.store.replaceRecoveryCodes(userId, codes.map((c) => recoveryHash(userId, c)));
    return codes.map((c) => `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8)}`.toLowerCase());
  }

  /** Removes TOTP, recovery codes and passkeys (an administrator's reset for a lost device). */
  reset(userId: string): Promise<void> {
    return this.store.deleteMfa(userId);
  }

  private async acceptCode(userId: string, secret: string, code: string): Promise<boolean> {
    if (typeof code !== 'string' || code.length > 16) return false;
    const step = matchTotp(base32Decode(secret), code, this.clock());
    // The step only moves forward, atomically: a code, or an older one, is never accepted twice.
    return step !== undefined && (await this.store.advanceTotpStep(userId, step));
  }
}

function normaliseRecoveryCode(code: string): string {
  return typeof code === 'string' && code.length <= 32 ? code.replace(/[\s-]/g, '').toUpperCase() : '';
}

function recoveryHash(userId: string, norm: string): string {
  return createHash('sha256').update(`${userId}:${norm}`, 'utf8').digest('hex');
}

// TOTP one-time codes: RFC 6238 (time steps over RFC 4226 HOTP), base32 secrets (RFC 4648 6),
// and the otpauth:// URI that authenticator apps read from a QR code (Google Authenticator's
// "Key Uri Format", the de-facto standard).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpParams {
  /** Seconds per step: RFC 6238 4.1 X, default 30. */
  period: number;
  digits: number;
  algorithm: TotpAlgorithm;
}

/** What every authenticator app understands: SHA-1, 6 digits, 30 s. */
export const TOTP_DEFAULTS: TotpParams = { period: 30, digits: 6, algorithm: 'sha1' };

/** RFC 4226 5.3: HMAC of the 8-byte big-endian counter, dynamic truncation, modulo 10^digits. */
export function hotp(key: Uint8Array, counter: number, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** RFC 6238 4.2: T = floor((unix time - T0) / X), T0 = 0. */
export function timeStep(at: Date, period = TOTP_DEFAULTS.period): number {
  return Math.floor(at.getTime() / 1000 / period);
}

export function totp(key: Uint8Array, at: Date, p: TotpParams = TOTP_DEFAULTS): string {
  return hotp(key, timeStep(at, p.period), p.digits, p.algorithm);
}

/**
 * The time step whose code matches, looking one step either side for clock drift
 * (RFC 6238 5.2 recommends at most one step of network delay); undefined when none does.
 * The caller refuses a step it has already accepted (RFC 6238 5.2: one use per code).
 */
export function matchTotp(key: Uint8Array, code: string, at: Date, p: TotpParams = TOTP_DEFAULTS): number | undefined {
  const typed = code.replace(/\s+/g, '');
  if (!new RegExp(`^\\d{${p.digits}}$`).test(typed)) return undefined;
  const now = timeStep(at, p.period);
  let found: number | undefined;
  for (const step of [now - 1, now, now + 1]) {
    // Compare every candidate in constant time and keep going, so timing does not tell which step matched.
    const ok = timingSafeEqual(Buffer.from(hotp(key, step, p.digits, p.algorithm)), Buffer.from(typed));
    if (ok && found === undefined) found = step;
  }
  return found;
}

/** A new 160-bit secret (RFC 4226 4 recommends 160 bits for HMAC-SHA-1), base32. */
export function generateTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 without padding, ignoring case and spaces; throws on any other character. */
export function base32Decode(s: string): Buffer {
  const clean = s.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) throw new Error('not base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return Buffer.from(out);
}

/** otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30 */
export function otpauthUri(issuer: string, account: string, secret: string, p: TotpParams = TOTP_DEFAULTS): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const q = new URLSearchParams({ secret, issuer, algorithm: p.algorithm.toUpperCase(), digits: String(p.digits), period: String(p.period) });
  return `otpauth://totp/${label}?${q.toString().replace(/\+/g, '%20')}`;
}

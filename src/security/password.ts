// Local passwords: argon2id hashing as PHC strings, verification, the password rules.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { argon2id } from 'hash-wasm';
import { COMMON_PASSWORDS } from './common-passwords.js';

/**
 * OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
 * Costs roughly 30-60 ms per hash on a current CPU.
 */
export const ARGON2_PARAMS = { memorySize: 19456, iterations: 2, parallelism: 1, hashLength: 32, saltLength: 16 } as const;

export const PASSWORD_MIN_LENGTH = 12;
/** A cap so a peer cannot make us hash megabytes; far above any real passphrase. */
export const PASSWORD_MAX_LENGTH = 1024;

// Bounds on parameters read back from a stored hash, so a tampered or corrupt row cannot make
// one verification allocate gigabytes or spin for minutes.
const LIMITS = { mMax: 1 << 20, tMax: 16, pMax: 16, saltMin: 8, saltMax: 64, hashMin: 16, hashMax: 64 };

/** Hashes a password with argon2id and a fresh 16-byte salt; returns a PHC string. */
export async function hashPassword(pw: string): Promise<string> {
  const { memorySize: m, iterations: t, parallelism: p, hashLength, saltLength } = ARGON2_PARAMS;
  const salt = randomBytes(saltLength);
  const hash = await derive(pw, salt, m, t, p, hashLength);
  return `$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(salt)}$${b64(hash)}`;
}

/** True when `pw` matches the PHC string; false for a wrong password or a malformed string. */
export async function verifyPassword(pw: string, phc: string): Promise<boolean> {
  // An empty password never matches (hash-wasm refuses it anyway); the early return does not
  // depend on the account, so it reveals nothing about whether one exists.
  if (typeof pw !== 'string' || pw.length === 0 || pw.length > PASSWORD_MAX_LENGTH) return false;
  const parsed = parsePhc(phc);
  if (!parsed) return false;
  const derived = await derive(pw, parsed.salt, parsed.m, parsed.t, parsed.p, parsed.hash.length);
  return timingSafeEqual(derived, parsed.hash);
}

interface ParsedPhc {
  m: number;
  t: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const PHC_RE = /^\$argon2id\$v=19\$m=([1-9]\d{0,7}),t=([1-9]\d{0,2}),p=([1-9]\d{0,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Strict parser for the one PHC form we write: argon2id, version 19, m,t,p in that order. */
export function parsePhc(phc: string): ParsedPhc | undefined {
  if (typeof phc !== 'string' || phc.length > 512) return undefined;
  const match = PHC_RE.exec(phc);
  if (!match) return undefined;
  const [, ms, ts, ps, saltB64, hashB64] = match as unknown as [string, string, string, string, string, string];
  const m = Number(ms);
  const t = Number(ts);
  const p = Number(ps);
  if (t > LIMITS.tMax || p > LIMITS.pMax || m > LIMITS.mMax || m < 8 * p) return undefined;
  const salt = unb64(saltB64);
  const hash = unb64(hashB64);
  if (!salt || !hash) return undefined;
  if (salt.length < LIMITS.saltMin || salt.length > LIMITS.saltMax) return undefined;
  if (hash.length < LIMITS.hashMin || hash.length > LIMITS.hashMax) return undefined;
  return { m, t, p, salt, hash };
}

/**
 * Returns why a password is not acceptable, or undefined when it is.
 * Rules: 12 to 1024 characters, does not contain the username, not a well-known common password.
 */
export function checkPasswordRules(pw: string, username: string): string | undefined {
  const length = [...pw].length; // count code points, not UTF-16 units
  if (length < PASSWORD_MIN_LENGTH) return `password must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `password must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const lower = pw.toLowerCase();
  const user = username.toLowerCase();
  if (user.length > 0 && lower.includes(user)) return 'password must not contain the username';
  if (COMMON_PASSWORDS.has(lower)) return 'password is too common';
  return undefined;
}

/** A random 24-character base64url password (144 bits), for the initial admin. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

async function derive(pw: string, salt: Uint8Array, m: number, t: number, p: number, hashLength: number): Promise<Buffer> {
  // NFC so the same passphrase typed on different systems hashes the same (RFC 8265 spirit).
  const out = await argon2id({
    password: pw.normalize('NFC'),
    salt,
    memorySize: m,
    iterations: t,
    parallelism: p,
    hashLength,
    outputType: 'binary',
  });
  return Buffer.from(out);
}

// PHC strings use standard base64 without padding.
function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

function unb64(s: string): Buffer | undefined {
  if (s.length % 4 === 1) return undefined;
  const bytes = Buffer.from(s, 'base64');
  // Node's decoder is lenient; accept only the canonical encoding.
  return b64(bytes) === s ? bytes : undefined;
}

// API tokens: `rpt_` + 32 random bytes base64url. Only the hex SHA-256 of a token is stored.

import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'rpt_';
/** `rpt_` + 43 base64url characters (32 bytes, unpadded). */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + 43;

const TOKEN_RE = /^rpt_[A-Za-z0-9_-]{43}$/;

/** A new token: the secret is shown once to the operator, the hash goes to the AccountStore. */
export function generateToken(): { secret: string; hash: string } {
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashToken(secret) };
}

/** Hex SHA-256 of the secret: the lookup key in the AccountStore. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * True when the string has the shape of a Rampart token. Checked before any lookup so that
 * garbage never reaches the store; the lookup by hash itself needs no constant-time compare.
 */
export function looksLikeToken(s: string): boolean {
  return s.length === TOKEN_LENGTH && TOKEN_RE.test(s);
}

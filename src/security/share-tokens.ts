// Share-link capability tokens (`rsh_` + 32 random bytes base64url) and share-session ids.
// Only the hex SHA-256 of a link's token is stored; a session id lives only in memory.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

const SHARE_RE = /^rsh_[A-Za-z0-9_-]{43}$/;

export function generateShareToken(): { token: string; hash: string } {
  const token = 'rsh_' + randomBytes(32).toString('base64url');
  return { token, hash: hashShareToken(token) };
}

export function hashShareToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Checked before any lookup, so garbage never reaches the store. */
export const looksLikeShareToken = (s: string): boolean => SHARE_RE.test(s);

export const newSessionId = (): string => randomBytes(32).toString('base64url');
export const newId = (): string => randomUUID();

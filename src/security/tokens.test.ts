import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, looksLikeToken, TOKEN_LENGTH } from './tokens.js';

describe('API tokens', () => {
  it('are rpt_ followed by 32 random bytes in base64url', () => {
    const { secret } = generateToken();
    expect(secret).toMatch(/^rpt_[A-Za-z0-9_-]{43}$/);
    expect(secret.length).toBe(TOKEN_LENGTH);
    expect(Buffer.from(secret.slice(4), 'base64url').length).toBe(32);
    expect(generateToken().secret).not.toBe(secret);
  });

  it('are stored as the hex SHA-256 of the secret', () => {
    const { secret, hash } = generateToken();
    expect(hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(hashToken(secret)).toBe(hash);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('are recognised by shape before any lookup', () => {
    const { secret } = generateToken();
    expect(looksLikeToken(secret)).toBe(true);
    expect(looksLikeToken('xyz_' + secret.slice(4))).toBe(false);
    expect(looksLikeToken(secret + 'A')).toBe(false);
    expect(looksLikeToken(secret.slice(0, -1))).toBe(false);
    expect(looksLikeToken(secret.slice(0, -1) + '=')).toBe(false);
    expect(looksLikeToken('')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, generateTotpSecret, hotp, matchTotp, otpauthUri, totp } from './totp.js';

// RFC 6238 Appendix B: the seeds are the ASCII strings below, one per hash.
const SEED = {
  sha1: Buffer.from('12345678901234567890'),
  sha256: Buffer.from('12345678901234567890123456789012'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
};
const VECTORS: [number, string, string, string][] = [
  // time (s), SHA-1, SHA-256, SHA-512 (8 digits)
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(VECTORS)('matches the RFC 6238 test vectors at %i s', (t, sha1, sha256, sha512) => {
    const at = new Date(t * 1000);
    expect(totp(SEED.sha1, at, { period: 30, digits: 8, algorithm: 'sha1' })).toBe(sha1);
    expect(totp(SEED.sha256, at, { period: 30, digits: 8, algorithm: 'sha256' })).toBe(sha256);
    expect(totp(SEED.sha512, at, { period: 30, digits: 8, algorithm: 'sha512' })).toBe(sha512);
  });

  it('matches the RFC 4226 Appendix D HOTP values', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expect(expected.map((_, i) => hotp(SEED.sha1, i))).toEqual(expected);
  });

  it('accepts the code of the current step and one step either side, and says which step matched', () => {
    const at = new Date(1111111111 * 1000);
    const step = Math.floor(1111111111 / 30);
    expect(matchTotp(SEED.sha1, hotp(SEED.sha1, step), at)).toBe(step);
    expect(matchTotp(SEED.sha1, hotp(SEED.sha1, step - 1), at)).toBe(step - 1);
    expect(matchTotp(SEED.sha1, hotp(SEED.sha1, step + 1), at)).toBe(step + 1);
    expect(matchTotp(SEED.sha1, hotp(SEED.sha1, step - 2), at)).toBeUndefined();
    expect(matchTotp(SEED.sha1, hotp(SEED.sha1, step + 2), at)).toBeUndefined();
  });

  it('refuses codes of the wrong shape without comparing', () => {
    const at = new Date(59_000);
    for (const bad of ['', '12345', '1234567', 'abcdef', '28708２']) expect(matchTotp(SEED.sha1, bad, at)).toBeUndefined();
    expect(matchTotp(SEED.sha1, '287 082', at)).toBe(1); // spaces people type are ignored
  });
});

describe('base32 and otpauth URIs', () => {
  it('round-trips bytes through RFC 4648 base32', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI'); // RFC 4648 10, without padding
    expect(base32Decode('mzxw6ytboi').toString()).toBe('foobar');
    expect(() => base32Decode('MZXW1')).toThrow();
    const secret = generateTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Decode(secret)).toHaveLength(20);
  });

  it('builds an otpauth URI that names the issuer and the account', () => {
    expect(otpauthUri('Rampart PACS', 'alice@example', 'JBSWY3DPEHPK3PXP')).toBe(
      'otpauth://totp/Rampart%20PACS:alice%40example?secret=JBSWY3DPEHPK3PXP&issuer=Rampart%20PACS&algorithm=SHA1&digits=6&period=30',
    );
  });
});

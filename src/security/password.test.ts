import { argon2id, argon2Verify } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { checkPasswordRules, generatePassword, hashPassword, parsePhc, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('writes an argon2id PHC string with the OWASP parameters and verifies it back', async () => {
    const phc = await hashPassword('a long enough passphrase');
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword('a long enough passphrase', phc)).toBe(true);
  });

  it('rejects a wrong password', async () => {
    const phc = await hashPassword('a long enough passphrase');
    expect(await verifyPassword('a long enough passphrasf', phc)).toBe(false);
    expect(await verifyPassword('', phc)).toBe(false);
  });

  it('salts every hash afresh', async () => {
    expect(await hashPassword('same passphrase here')).not.toBe(await hashPassword('same passphrase here'));
  });

  it('verifies hashes written by another argon2 implementation, and theirs verify ours', async () => {
    const theirs = await argon2id({
      password: 'interop passphrase',
      salt: new Uint8Array(16).fill(7),
      memorySize: 19456,
      iterations: 2,
      parallelism: 1,
      hashLength: 32,
      outputType: 'encoded',
    });
    expect(await verifyPassword('interop passphrase', theirs)).toBe(true);
    const ours = await hashPassword('interop passphrase');
    expect(await argon2Verify({ password: 'interop passphrase', hash: ours })).toBe(true);
  });

  it.each([
    ['an empty string', ''],
    ['a bcrypt hash', '$2b$12$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234'],
    ['argon2i instead of argon2id', '$argon2i$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an old version', '$argon2id$v=16$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['parameters out of order', '$argon2id$v=19$t=2,m=19456,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a huge memory cost', '$argon2id$v=19$m=99999999,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a zero time cost', '$argon2id$v=19$m=19456,t=0,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a salt that is too short', '$argon2id$v=19$m=19456,t=2,p=1$BwcH$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a hash that is too short', '$argon2id$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAA'],
    ['padded base64', '$argon2id$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['base64url characters', '$argon2id$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcH-_$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['non-canonical base64', '$argon2id$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBx$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['trailing text', '$argon2id$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$x'],
  ])('rejects a malformed PHC string safely: %s', async (_what, phc) => {
    expect(parsePhc(phc)).toBeUndefined();
    expect(await verifyPassword('anything at all', phc)).toBe(false);
  });

  it('parses the form it writes', () => {
    const parsed = parsePhc('$argon2id$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(parsed).toMatchObject({ m: 19456, t: 2, p: 1 });
    expect(parsed?.salt.length).toBe(16);
    expect(parsed?.hash.length).toBe(32);
  });
});

describe('password rules', () => {
  it('accepts a long, uncommon passphrase', () => {
    expect(checkPasswordRules('violet kettle harbour 42', 'alice')).toBeUndefined();
  });

  it('rejects a password shorter than 12 characters', () => {
    expect(checkPasswordRules('Xk9#mQ2$vL7', 'alice')).toMatch(/at least 12/);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(checkPasswordRules('😀'.repeat(11), 'alice')).toMatch(/at least 12/);
    expect(checkPasswordRules('😀'.repeat(12), 'alice')).toBeUndefined();
  });

  it('rejects a password equal to or containing the username, in any case', () => {
    expect(checkPasswordRules('radiologist.smith', 'Radiologist.Smith')).toMatch(/username/);
    expect(checkPasswordRules('my name is ALICE-the-great', 'alice')).toMatch(/username/);
  });

  it('rejects a common password, in any case', () => {
    expect(checkPasswordRules('Password1234', 'alice')).toMatch(/too common/);
    expect(checkPasswordRules('1QAZ2WSX3EDC', 'alice')).toMatch(/too common/);
  });

  it('rejects an absurdly long password', () => {
    expect(checkPasswordRules('x'.repeat(1025), 'alice')).toMatch(/at most/);
  });
});

describe('generated passwords', () => {
  it('are 24 base64url characters, different every time, and pass the rules', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(generatePassword()).not.toBe(a);
    expect(checkPasswordRules(a, 'admin')).toBeUndefined();
  });
});

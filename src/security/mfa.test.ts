import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KyselyAuthStore } from '../store/index/kysely-auth-store.js';
import type { KyselyIndexStore } from '../store/index/kysely-index-store.js';
import { openSqliteIndex } from '../store/index/sqlite.js';
import type { UserRecord } from '../store/index/account-store.js';
import { createUser } from './authenticate.js';
import { MfaService } from './mfa.js';
import { base32Decode, totp } from './totp.js';

let now: Date;
let index: KyselyIndexStore;
let mfa: MfaService;
let alice: UserRecord;

beforeEach(async () => {
  now = new Date('2026-03-01T10:00:00Z');
  index = await openSqliteIndex(':memory:');
  mfa = new MfaService(new KyselyAuthStore(index.db), 'Rampart', () => now);
  alice = (await createUser(index, 'alice', 'radiologist', 'correct stapler violet 9', now)).user;
});
afterEach(async () => { await index.close(); });

const codeAt = (secret: string, at: Date) => totp(base32Decode(secret), at);

describe('TOTP enrolment and use', () => {
  it('enrols with an otpauth URI and an SVG QR code, and is not active before a first code confirms it', async () => {
    const e = await mfa.beginTotp(alice);
    expect(e.uri).toBe(`otpauth://totp/Rampart:alice?secret=${e.secret}&issuer=Rampart&algorithm=SHA1&digits=6&period=30`);
    expect(e.qrSvg).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*<path/);
    expect(await mfa.state(alice.id)).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    expect(await mfa.verifyTotp(alice.id, codeAt(e.secret, now))).toBe(false);
  });

  it('refuses a wrong first code, and on a right one returns ten recovery codes', async () => {
    const e = await mfa.beginTotp(alice);
    await expect(mfa.confirmTotp(alice.id, '000000' === codeAt(e.secret, now) ? '111111' : '000000')).rejects.toMatchObject({ code: 'bad-request' });
    const codes = await mfa.confirmTotp(alice.id, codeAt(e.secret, now));
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect(await mfa.state(alice.id)).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
    await expect(mfa.beginTotp(alice)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('refuses a code used once already, and an older one, but takes the next step', async () => {
    const e = await mfa.beginTotp(alice);
    await mfa.confirmTotp(alice.id, codeAt(e.secret, now));
    expect(await mfa.verifyTotp(alice.id, codeAt(e.secret, now))).toBe(false); // the confirming code was used
    now = new Date(now.getTime() + 30_000);
    const code = codeAt(e.secret, now);
    expect(await mfa.verifyTotp(alice.id, code)).toBe(true);
    expect(await mfa.verifyTotp(alice.id, code)).toBe(false);
    expect(await mfa.verifyTotp(alice.id, codeAt(e.secret, new Date(now.getTime() - 30_000)))).toBe(false);
    now = new Date(now.getTime() + 30_000);
    expect(await mfa.verifyTotp(alice.id, codeAt(e.secret, now))).toBe(true);
  });

  it('accepts each recovery code once, in any case and with or without dashes', async () => {
    const e = await mfa.beginTotp(alice);
    const [first, second] = await mfa.confirmTotp(alice.id, codeAt(e.secret, now));
    expect(await mfa.useRecoveryCode(alice.id, first!.toUpperCase())).toBe(true);
    expect(await mfa.useRecoveryCode(alice.id, first!)).toBe(false);
    expect(await mfa.useRecoveryCode(alice.id, second!.replace(/-/g, ''))).toBe(true);
    expect(await mfa.useRecoveryCode(alice.id, 'aaaa-bbbb-cccc')).toBe(false);
    expect((await mfa.state(alice.id)).recoveryCodesLeft).toBe(8);
  });

  it('forgets everything on reset, so the user can enrol again', async () => {
    const e = await mfa.beginTotp(alice);
    await mfa.confirmTotp(alice.id, codeAt(e.secret, now));
    await mfa.reset(alice.id);
    expect(await mfa.state(alice.id)).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    await expect(mfa.beginTotp(alice)).resolves.toHaveProperty('secret');
  });
});

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { Authenticator, createToken, createUser } from './authenticate.js';
import { MemoryAccountStore } from './memory-account-store.js';
import { generateToken } from './tokens.js';
import * as password from './password.js';

const PW = 'correct stapler violet 9';
const basic = (user: string, pw: string) => 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64');
const rejects = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'unauthenticated' });

let now: Date;
let accounts: MemoryAccountStore;
let auth: Authenticator;

beforeEach(async () => {
  now = new Date('2025-03-01T10:00:00Z');
  const clock = () => now;
  accounts = new MemoryAccountStore(clock);
  auth = new Authenticator(accounts, clock);
  await createUser(accounts, 'alice', 'radiologist', PW, now);
});

describe('Basic authentication', () => {
  it('accepts the right password and gives the user every scope of their role', async () => {
    const p = await auth.authenticateHttp(basic('alice', PW), '10.0.0.1');
    expect(p).toMatchObject({ kind: 'user', username: 'alice', role: 'radiologist', scopes: ['read', 'write', 'admin'], ip: '10.0.0.1', door: 'dicomweb' });
    expect(p.userId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects a wrong password', async () => {
    await rejects(auth.authenticateHttp(basic('alice', PW + 'x'), '10.0.0.1'));
  });

  it('rejects an unknown user after running an argon2 verification all the same', async () => {
    const spy = vi.spyOn(password, 'verifyPassword');
    await rejects(auth.authenticateHttp(basic('mallory', PW), '10.0.0.1'));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });

  it('takes about as long for an unknown user as for a wrong password', async () => {
    await rejects(auth.authenticateHttp(basic('warmup', PW), '10.0.0.1')); // builds the dummy hash once
    const time = async (h: string) => {
      const t0 = performance.now();
      await auth.authenticateHttp(h, '10.0.0.1').catch(() => undefined);
      return performance.now() - t0;
    };
    const unknown = await time(basic('mallory', PW));
    const wrong = await time(basic('alice', 'not the password at all'));
    expect(unknown).toBeGreaterThan(wrong / 4);
  });

  it('rejects a disabled user even with the right password', async () => {
    const u = (await accounts.getUserByName('alice'))!;
    await accounts.removeUser('alice');
    await accounts.createUser({ ...u, disabled: true });
    await rejects(auth.authenticateHttp(basic('alice', PW), '10.0.0.1'));
  });

  it('rejects a password without a username, and a header without a colon', async () => {
    await rejects(auth.authenticateHttp(basic('', PW), '10.0.0.1'));
    await rejects(auth.authenticateHttp('Basic ' + Buffer.from('alice').toString('base64'), '10.0.0.1'));
    await rejects(auth.authenticateHttp('Basic !!!notbase64', '10.0.0.1'));
  });

  it('caches a successful login so the next requests skip the password check', async () => {
    await auth.authenticateHttp(basic('alice', PW), '10.0.0.1');
    const lookups = vi.spyOn(accounts, 'getUserByName'); // only a full verification looks the user up by name
    for (let i = 0; i < 20; i++) await auth.authenticateHttp(basic('alice', PW), '10.0.0.1');
    expect(lookups).not.toHaveBeenCalled();
  });

  it('shares one verification among concurrent requests with the same header', async () => {
    const lookups = vi.spyOn(accounts, 'getUserByName');
    const all = await Promise.all([1, 2, 3, 4].map(() => auth.authenticateHttp(basic('alice', PW), '10.0.0.1')));
    expect(all.map((p) => p.username)).toEqual(['alice', 'alice', 'alice', 'alice']);
    expect(lookups).toHaveBeenCalledTimes(1);
  });

  it('does not cache a failed login', async () => {
    const lookups = vi.spyOn(accounts, 'getUserByName');
    await rejects(auth.authenticateHttp(basic('alice', 'wrong password here'), '10.0.0.1'));
    await rejects(auth.authenticateHttp(basic('alice', 'wrong password here'), '10.0.0.1'));
    expect(lookups).toHaveBeenCalledTimes(2);
  });

  it('forgets a cached login once the user is removed', async () => {
    await auth.authenticateHttp(basic('alice', PW), '10.0.0.1');
    await accounts.removeUser('alice');
    await rejects(auth.authenticateHttp(basic('alice', PW), '10.0.0.1'));
  });

  it('forgets a cached login once the password changes', async () => {
    const u = (await accounts.getUserByName('alice'))!;
    await auth.authenticateHttp(basic('alice', PW), '10.0.0.1');
    await accounts.setPassword(u.id, await password.hashPassword('another good passphrase'));
    await rejects(auth.authenticateHttp(basic('alice', PW), '10.0.0.1'));
    await expect(auth.authenticateHttp(basic('alice', 'another good passphrase'), '10.0.0.1')).resolves.toMatchObject({ username: 'alice' });
  });

  it('lets a cached login expire after 60 seconds and then verifies again', async () => {
    await auth.authenticateHttp(basic('alice', PW), '10.0.0.1');
    const lookups = vi.spyOn(accounts, 'getUserByName');
    now = new Date(now.getTime() + 59_000);
    await auth.authenticateHttp(basic('alice', PW), '10.0.0.1');
    expect(lookups).not.toHaveBeenCalled();
    now = new Date(now.getTime() + 2_000);
    await expect(auth.authenticateHttp(basic('alice', PW), '10.0.0.1')).resolves.toMatchObject({ username: 'alice' });
    expect(lookups).toHaveBeenCalledTimes(1);
  });
});

describe('Bearer authentication', () => {
  it('accepts a valid token and carries its scopes', async () => {
    const { secret } = await createToken(accounts, 'alice', ['read'], null, now);
    const p = await auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2', 'api');
    expect(p).toMatchObject({ kind: 'token', username: 'alice', role: 'radiologist', scopes: ['read'], ip: '10.0.0.2', door: 'api' });
  });

  it('rejects an unknown token', async () => {
    await rejects(auth.authenticateHttp(`Bearer ${generateToken().secret}`, '10.0.0.2'));
  });

  it('rejects a token of the wrong shape without looking it up', async () => {
    const spy = vi.spyOn(accounts, 'getTokenByHash');
    await rejects(auth.authenticateHttp('Bearer abc', '10.0.0.2'));
    await rejects(auth.authenticateHttp('Bearer xyz_' + 'A'.repeat(43), '10.0.0.2'));
    expect(spy).not.toHaveBeenCalled();
  });

  it('rejects a revoked token', async () => {
    const { token, secret } = await createToken(accounts, 'alice', ['read'], null, now);
    await accounts.revokeToken(token.id, now.toISOString());
    await rejects(auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2'));
  });

  it('rejects an expired token', async () => {
    const { secret } = await createToken(accounts, 'alice', ['read'], 60_000, now);
    await expect(auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2')).resolves.toBeDefined();
    now = new Date(now.getTime() + 60_000);
    await rejects(auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2'));
  });

  it('rejects the token of a removed user', async () => {
    const { secret } = await createToken(accounts, 'alice', ['read', 'write'], null, now);
    await accounts.removeUser('alice');
    await rejects(auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2'));
  });

  it('rejects the token of a user whose record is gone though the token was not revoked', async () => {
    const { token, secret } = await createToken(accounts, 'alice', ['read'], null, now);
    vi.spyOn(accounts, 'getUserById').mockResolvedValue(undefined);
    expect(token.revokedAt).toBeNull();
    await rejects(auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2'));
  });

  it('records lastUsedAt at most once a minute per token', async () => {
    const { token, secret } = await createToken(accounts, 'alice', ['read'], null, now);
    const touch = vi.spyOn(accounts, 'touchToken');
    await auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2');
    now = new Date(now.getTime() + 30_000);
    await auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2');
    expect(touch).toHaveBeenCalledTimes(1);
    now = new Date(now.getTime() + 30_000);
    await auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.2');
    expect(touch).toHaveBeenCalledTimes(2);
    expect((await accounts.listTokens())[0]?.lastUsedAt).toBe(now.toISOString());
    expect(touch).toHaveBeenLastCalledWith(token.id, now.toISOString());
  });
});

describe('other Authorization headers', () => {
  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['an unknown scheme', 'Digest username="alice"'],
    ['a scheme without credentials', 'Bearer'],
    ['an oversized header', 'Basic ' + 'A'.repeat(10_000)],
  ])('rejects %s', async (_what, header) => {
    await rejects(auth.authenticateHttp(header, '10.0.0.3'));
  });
});

describe('creating users', () => {
  it('stores an argon2id hash, never the password', async () => {
    const { user } = await createUser(accounts, 'bob.smith@example', 'technologist', 'sturdy lantern orbit 7', now);
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(await accounts.listUsers())).not.toContain('sturdy lantern');
  });

  it('generates a password when none is given and returns it once', async () => {
    const { password: pw } = await createUser(accounts, 'admin', 'admin', undefined, now);
    expect(pw).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await expect(auth.authenticateHttp(basic('admin', pw), '10.0.0.1')).resolves.toMatchObject({ role: 'admin' });
  });

  it.each([
    ['an empty username', '', 'radiologist', PW],
    ['a username with a space', 'bob smith', 'radiologist', PW],
    ['a username with a colon', 'bob:smith', 'radiologist', PW],
    ['a username over 64 characters', 'b'.repeat(65), 'radiologist', PW],
    ['an unknown role', 'bob', 'superuser', PW],
    ['a short password', 'bob', 'radiologist', 'short'],
    ['a common password', 'bob', 'radiologist', 'qwertyuiop123'],
    ['a password containing the username', 'bob', 'radiologist', 'bob is my name forever'],
  ])('refuses %s as a bad request', async (_what, username, role, pw) => {
    await expect(createUser(accounts, username, role as never, pw, now)).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('refuses a taken username', async () => {
    await expect(createUser(accounts, 'alice', 'admin', 'another good passphrase', now)).rejects.toMatchObject({ code: 'already-exists' });
  });
});

describe('creating tokens', () => {
  it('stores only the hash and returns the secret once', async () => {
    const { token, secret } = await createToken(accounts, 'alice', ['write', 'read', 'read'], 3_600_000, now);
    expect(secret).toMatch(/^rpt_/);
    expect(token.scopes).toEqual(['read', 'write']);
    expect(token.expiresAt).toBe('2025-03-01T11:00:00.000Z');
    expect(JSON.stringify(await accounts.listTokens())).not.toContain(secret);
  });

  it.each([
    ['no scopes', [], null],
    ['an unknown scope', ['superuser'], null],
    ['a zero lifetime', ['read'], 0],
    ['a negative lifetime', ['read'], -5],
    ['a fractional lifetime', ['read'], 1.5],
    ['an infinite lifetime', ['read'], Infinity],
  ])('refuses %s as a bad request', async (_what, scopes, ttl) => {
    await expect(createToken(accounts, 'alice', scopes as never, ttl, now)).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('refuses a token for an unknown user', async () => {
    await expect(createToken(accounts, 'nobody', ['read'], null, now)).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('a user disabled after signing in', () => {
  it('is refused at once at every door (cached Basic, API token, DIMSE identity types 2 and 5), and passes again once enabled', async () => {
    const u = (await accounts.getUserByName('alice'))!;
    const { secret } = await createToken(accounts, 'alice', ['read'], null, now);
    await auth.authenticateHttp(basic('alice', PW), '10.0.0.1'); // now cached
    await auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.1');
    expect(await accounts.setDisabled(u.id, true)).toBe(true);
    await rejects(auth.authenticateHttp(basic('alice', PW), '10.0.0.1'));
    await rejects(auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.1'));
    await rejects(auth.authenticateIdentity(2, 'alice', PW, '10.0.0.1'));
    await rejects(auth.authenticateIdentity(5, secret, '', '10.0.0.1'));
    await accounts.setDisabled(u.id, false);
    expect((await auth.authenticateIdentity(2, 'alice', PW, '10.0.0.1')).username).toBe('alice');
    expect((await auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.1')).scopes).toEqual(['read']);
  });

  it('acts with a changed role from the next request on', async () => {
    const u = (await accounts.getUserByName('alice'))!;
    const { secret } = await createToken(accounts, 'alice', ['read'], null, now);
    expect((await auth.authenticateHttp(basic('alice', PW), '10.0.0.1')).role).toBe('radiologist');
    await accounts.setRole(u.id, 'auditor');
    expect((await auth.authenticateHttp(basic('alice', PW), '10.0.0.1')).role).toBe('auditor');
    expect((await auth.authenticateHttp(`Bearer ${secret}`, '10.0.0.1')).role).toBe('auditor');
  });
});

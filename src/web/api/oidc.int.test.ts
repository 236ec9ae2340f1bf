// Single sign-on and bearer JWTs against a real OpenID Provider (`oidc-provider`) on 127.0.0.1:
// the code + PKCE flow through its login and consent forms, the just-in-time account with the
// mapped role and groups, and the refusals: wrong audience, expired, bad signature, alg none,
// wrong issuer, a role that maps to nothing, a state that is not the browser's.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateKeyPair, SignJWT, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemPrincipal } from '../../security/principal.js';
import { startTestNode, type TestNode } from '../../../test/support/node.js';
import { browse, freePort, Jar, startTestProvider, type TestProvider } from '../../../test/support/oidc-provider.js';

let idp: TestProvider;
let t: TestNode;
const AUDIENCE = 'urn:rampart:dicomweb';

beforeAll(async () => {
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/api/auth/oidc/callback`;
  idp = await startTestProvider(redirectUri);
  const secretFile = join(tmpdir(), `rampart-oidc-secret-${port}`);
  await writeFile(secretFile, idp.clientSecret + '\n', { mode: 0o600 });
  t = await startTestNode({
    'http.port': port, 'oidc.issuer': idp.issuer, 'oidc.clientId': idp.clientId, 'oidc.clientSecretFile': secretFile,
    'oidc.redirectUri': redirectUri, 'oidc.audience': AUDIENCE,
    'oidc.roleMap': { 'pacs-radiologist': 'radiologist', 'pacs-technologist': 'technologist' },
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await idp?.stop();
});

async function signIn(account: string): Promise<{ jar: Jar; res: Response; body: string }> {
  const jar = new Jar();
  const { res, body } = await browse(jar, `${t.url}/api/auth/oidc/login`, account);
  return { jar, res, body };
}

describe('single sign-on with OpenID Connect', () => {
  it('sends the browser to the provider with PKCE S256, state and nonce', async () => {
    const res = await fetch(`${t.url}/api/auth/oidc/login`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin).toBe(idp.issuer);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      response_type: 'code', client_id: 'rampart', code_challenge_method: 'S256', scope: 'openid profile email',
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(res.headers.get('set-cookie')).toMatch(/^rampart_oidc=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600$/);
  });

  it('signs a provider user in, creating an account with the mapped role and the groups of the claims', async () => {
    const { jar, res, body } = await signIn('dr.house');
    expect(res.status).toBe(200);
    expect(body).toContain('Signed in');
    const cookie = jar.get(t.url, 'rampart_session');
    expect(cookie).toMatch(/^rps_/);
    const me = await (await fetch(`${t.url}/api/auth/me`, { headers: { cookie: `rampart_session=${cookie}` } })).json();
    expect(me).toMatchObject({ username: 'dr.house', role: 'radiologist', groups: ['cardiology', 'teaching'], method: 'oidc' });
    const user = await t.node.index.getUserByName('dr.house');
    expect(user).toMatchObject({ role: 'radiologist', passwordHash: '!external' });
    // The account has no password that works.
    const basic = 'Basic ' + Buffer.from('dr.house:!external').toString('base64');
    expect((await fetch(`${t.dicomweb}/studies`, { headers: { authorization: basic } })).status).toBe(401);
    // A second sign-in finds the same account.
    await signIn('dr.house');
    expect((await t.node.index.listUsers()).filter((u) => u.username.startsWith('dr.house'))).toHaveLength(1);
  });

  it('refuses the SSO sign-in of an account an administrator disabled, and lets it in once enabled again', async () => {
    await t.node.admin.setDisabled(systemPrincipal(), 'dr.house', true);
    const refused = await signIn('dr.house');
    expect(refused.res.status).toBe(401);
    expect(refused.jar.get(t.url, 'rampart_session')).toBeUndefined();
    await t.node.admin.setDisabled(systemPrincipal(), 'dr.house', false);
    expect((await signIn('dr.house')).res.status).toBe(200);
  });

  it('refuses a user whose role claim maps to no Rampart role, and creates no account', async () => {
    const { jar, res } = await signIn('guest-user');
    expect(res.status).toBe(401);
    expect(jar.get(t.url, 'rampart_session')).toBeUndefined();
    expect(await t.node.index.getUserByName('guest-user')).toBeUndefined();
  });

  it('refuses a callback whose state is not the one bound to this browser, and a callback used twice', async () => {
    const jar = new Jar();
    let callback = '';
    await browse(jar, `${t.url}/api/auth/oidc/login`, 'dr.house', (u) => { if (u.includes('/api/auth/oidc/callback')) { callback = u; return true; } return false; });
    expect(callback).toContain('code=');
    // Another browser (no state cookie) cannot use the code: login CSRF.
    expect((await fetch(callback)).status).toBe(401);
    // And the state was spent: the rightful browser cannot replay it either.
    expect((await fetch(callback, { headers: { cookie: jar.header(t.url) } })).status).toBe(401);
  });
});

describe('bearer JWTs from the provider (IHE IUA)', () => {
  const key = () => importJWK(idp.privateJwk as JWK, 'RS256');
  async function craft(claims: Record<string, unknown>, opts: { exp?: number; iss?: string; aud?: string; signWith?: CryptoKey | Uint8Array } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: 'rampart.read', roles: ['pacs-technologist'], ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt' })
      .setIssuer(opts.iss ?? idp.issuer).setAudience(opts.aud ?? AUDIENCE).setSubject('modality-7')
      .setIssuedAt(now - 10).setExpirationTime(opts.exp ?? now + 300)
      .sign(opts.signWith ?? (await key()));
  }
  const qido = (jwt: string) => fetch(`${t.dicomweb}/studies`, { headers: { authorization: `Bearer ${jwt}` } });

  it('accepts an access token the provider issued, with the scope, role and groups it carries', async () => {
    const basic = 'Basic ' + Buffer.from(`${idp.clientId}:${idp.clientSecret}`).toString('base64');
    const r = await fetch(`${idp.issuer}/token`, {
      method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'rampart.read', resource: AUDIENCE }).toString(),
    });
    const { access_token: jwt } = (await r.json()) as { access_token: string };
    expect(jwt.split('.')).toHaveLength(3);
    expect([200, 204]).toContain((await qido(jwt)).status);
    const me = await (await fetch(`${t.url}/api/auth/me`, { headers: { authorization: `Bearer ${jwt}` } })).json();
    expect(me).toMatchObject({ kind: 'token', role: 'technologist', groups: ['ct-team'] });
    // The same token opens a DIMSE association as user identity type 5 (PS3.7 D.3.3.7).
    const p = await t.node.authenticator.authenticateIdentity(5, jwt, '', '127.0.0.1');
    expect(p).toMatchObject({ kind: 'token', role: 'technologist', scopes: ['read'], door: 'dimse' });
  });

  it('accepts a well-formed token signed with the provider key (the baseline for the refusals below)', async () => {
    expect([200, 204]).toContain((await qido(await craft({}))).status);
  });

  it('refuses a token for another audience', async () => {
    expect((await qido(await craft({}, { aud: 'some-other-api' }))).status).toBe(401);
  });

  it('refuses an expired token', async () => {
    expect((await qido(await craft({}, { exp: Math.floor(Date.now() / 1000) - 3600 }))).status).toBe(401);
  });

  it('refuses a token signed with another key under the same key id', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    expect((await qido(await craft({}, { signWith: privateKey }))).status).toBe(401);
  });

  it('refuses an unsigned token (alg none), at DICOMweb and at DIMSE', async () => {
    const good = await craft({});
    const [, payload] = good.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    expect((await qido(none)).status).toBe(401);
    await expect(t.node.authenticator.authenticateIdentity(5, none, '', '127.0.0.1')).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it("refuses an ID token (audience: Rampart's client id) presented as a bearer token", async () => {
    expect((await qido(await craft({}, { aud: idp.clientId }))).status).toBe(401);
  });

  it('refuses a token from another issuer', async () => {
    expect((await qido(await craft({}, { iss: 'http://127.0.0.1:1/not-our-provider' }))).status).toBe(401);
  });

  it('refuses a token whose roles map to nothing, or that carries no Rampart scope', async () => {
    expect((await qido(await craft({ roles: ['visitor'] }))).status).toBe(401);
    expect((await qido(await craft({ scope: 'openid email' }))).status).toBe(401);
  });

  it('still accepts Rampart API tokens as user identity type 5', async () => {
    const token = await t.token(['read']);
    await expect(t.node.authenticator.authenticateIdentity(5, token, '', '127.0.0.1')).resolves.toMatchObject({ kind: 'token', username: 'admin' });
  });
});

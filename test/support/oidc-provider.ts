// A real OpenID Provider (the `oidc-provider` package) on 127.0.0.1 for tests: one confidential
// client, accounts chosen by name at its development login form, RS256 keys the test can also
// sign with (to craft refused tokens), JWT access tokens for client credentials.
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface TestAccount { roles: string[]; groups: string[] }
export interface TestProvider { issuer: string; privateJwk: JWK; clientId: string; clientSecret: string; stop(): Promise<void> }

export const ACCOUNTS: Record<string, TestAccount> = {
  'dr.house': { roles: ['pacs-radiologist', 'offline_access'], groups: ['cardiology', 'teaching'] },
  'guest-user': { roles: ['visitor'], groups: [] },
};

export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startTestProvider(redirectUri: string): Promise<TestProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const clientId = 'rampart';
  const clientSecret = 'a-long-client-secret-for-the-test-provider';
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'client_credentials'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [privateJwk] },
    claims: { openid: ['sub'], profile: ['preferred_username', 'roles', 'groups'], email: ['email'] },
    conformIdTokenClaims: false, // the scope's claims go into the ID token itself
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, preferred_username: sub, email: `${sub}@hospital.test`, ...(ACCOUNTS[sub] ?? { roles: [], groups: [] }) }),
    }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: async () => ({ scope: 'rampart.read rampart.write', audience: 'urn:rampart:dicomweb', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    // A machine client (IHE IUA) acts as a technologist of the CT team.
    extraTokenClaims: async () => ({ roles: ['pacs-technologist'], groups: ['ct-team'] }),
  } as never);
  const server: Server = createServer(provider.callback());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    issuer, privateJwk, clientId, clientSecret,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A browser's cookie jar, one per origin (cookies ignore ports, but our two servers should not share). */
export class Jar {
  private readonly byOrigin = new Map<string, Map<string, string>>();
  header(url: string): string {
    return [...(this.byOrigin.get(new URL(url).origin) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  take(url: string, res: Response): void {
    const jar = this.byOrigin.get(new URL(url).origin) ?? new Map<string, string>();
    this.byOrigin.set(new URL(url).origin, jar);
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || attrs.some((a) => /max-age=0/i.test(a.trim()) || /expires=Thu, 01 Jan 1970/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
  }
  get(url: string, name: string): string | undefined {
    return this.byOrigin.get(new URL(url).origin)?.get(name);
  }
}

/**
 * Drives a browser from `start` through the provider's development login and consent forms,
 * following redirects, until a response that is not a redirect and not a provider form.
 */
export async function browse(jar: Jar, start: string, account: string, stopAt?: (url: string) => boolean): Promise<{ url: string; res: Response; body: string }> {
  let url = start;
  let init: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 30; hop++) {
    if (stopAt?.(url)) return { url, res: new Response(null), body: '' };
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header(url) } });
    jar.take(url, res);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).toString();
      init = { method: 'GET' };
      continue;
    }
    const body = await res.text();
    const form = /<form[^>]*action="([^"]+)"[^>]*method="post"/.exec(body);
    const prompt = /name="prompt" value="(\w+)"/.exec(body)?.[1];
    if (!form || !prompt) return { url, res, body };
    const fields = new URLSearchParams(prompt === 'login' ? { prompt, login: account, password: 'anything' } : { prompt });
    url = new URL(form[1]!.replace(/&amp;/g, '&'), url).toString();
    init = { method: 'POST', body: fields.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('too many hops');
}

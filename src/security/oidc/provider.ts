// One OpenID Provider: discovery (OpenID Connect Discovery 1.0, 4), its JWKS, and JWT checks
// shared by SSO ID tokens and IHE IUA bearer tokens: signature from the JWKS with an allowlist of
// asymmetric algorithms (so `alg: none` and HMAC with the public key are refused), iss, aud,
// exp/nbf with a small tolerance.
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { RampartError, unauthenticated } from '../../errors.js';

export interface ProviderConfig {
  issuer: string;
  algorithms: readonly string[];
  clockToleranceSeconds: number;
}

export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

const DISCOVERY_TTL_MS = 3_600_000;
const FETCH_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export class OidcProvider {
  private discovered: { doc: Discovery; at: number } | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private jwksUri: string | undefined;

  constructor(readonly cfg: ProviderConfig, private readonly clock: () => Date = () => new Date()) {}

  async discovery(): Promise<Discovery> {
    const now = this.clock().getTime();
    if (this.discovered && now - this.discovered.at < DISCOVERY_TTL_MS) return this.discovered.doc;
    const url = this.cfg.issuer.replace(/\/$/, '') + '/.well-known/openid-configuration';
    const doc = (await fetchJson(url)) as Partial<Discovery>;
    // Discovery 4.3: the issuer in the document must be exactly the one configured.
    if (doc.issuer !== this.cfg.issuer) throw new RampartError('unavailable', 'the OpenID Provider names another issuer');
    for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      if (typeof doc[k] !== 'string' || !/^https?:\/\//.test(doc[k]!)) throw new RampartError('unavailable', `the OpenID Provider gives no ${k}`);
    }
    this.discovered = { doc: doc as Discovery, at: now };
    if (this.jwksUri !== doc.jwks_uri) {
      this.jwksUri = doc.jwks_uri;
      this.jwks = createRemoteJWKSet(new URL(doc.jwks_uri!), { timeoutDuration: FETCH_TIMEOUT_MS });
    }
    return doc as Discovery;
  }

  /** Verifies a JWT from this provider for `audience`; throws unauthenticated with a reason in `detail`. */
  async verify(jwt: string, audience: string): Promise<JWTPayload & { sub: string }> {
    await this.discovery();
    try {
      const { payload } = await jwtVerify(jwt, this.jwks!, {
        issuer: this.cfg.issuer,
        audience,
        algorithms: [...this.cfg.algorithms],
        clockTolerance: this.cfg.clockToleranceSeconds,
        currentDate: this.clock(),
        requiredClaims: ['exp', 'sub'],
      });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) throw new Error('bad sub');
      return payload as JWTPayload & { sub: string };
    } catch (e) {
      throw new RampartError('unauthenticated', 'authentication required', { reason: (e as { code?: string }).code ?? 'invalid-jwt' });
    }
  }
}

/** GET or POST for JSON with a timeout and a size cap. */
export async function fetchJson(url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch {
    throw new RampartError('unavailable', 'the OpenID Provider cannot be reached');
  }
  const text = await res.text();
  if (text.length > MAX_RESPONSE_BYTES) throw new RampartError('unavailable', 'the OpenID Provider answered too much');
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = undefined; }
  if (!res.ok || !body || typeof body !== 'object' || Array.isArray(body)) {
    throw res.status >= 400 && res.status < 500 ? unauthenticated() : new RampartError('unavailable', 'the OpenID Provider answered with an error');
  }
  return body as Record<string, unknown>;
}

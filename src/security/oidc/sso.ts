// Single sign-on: OpenID Connect Core 1.0 3.1 authorization code flow with PKCE (RFC 7636, S256),
// state against login CSRF and nonce against ID token replay, then a just-in-time account
// linked to iss + sub, acting with the role and groups mapped from the claims.
import { createHash, randomBytes } from 'node:crypto';
import { RampartError } from '../../errors.js';
import type { AccountStore, Role, UserRecord } from '../../store/index/account-store.js';
import type { AuthStore } from '../../store/index/auth-store.js';
import { linkedUser, mapGroups, mapRole, type ClaimMapping } from './claims.js';
import { fetchJson, type OidcProvider } from './provider.js';

export interface SsoConfig extends ClaimMapping {
  clientId: string;
  clientSecret: string | null;
  redirectUri: string;
  scopes: readonly string[];
}

interface Pending { verifier: string; nonce: string; at: number }

/** A sign-in started at the provider must come back within this long. */
const PENDING_TTL_MS = 600_000;
const MAX_PENDING = 10_000;

export interface SsoResult { user: UserRecord; role: Role; groups: string[] }

export class OidcLogin {
  private readonly pending = new Map<string, Pending>(); // state -> PKCE verifier and nonce, oldest first

  constructor(
    private readonly provider: OidcProvider,
    private readonly cfg: SsoConfig,
    private readonly accounts: AccountStore,
    private readonly auth: AuthStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The provider's authorization URL and the state, which the caller also binds to the browser (a cookie). */
  async begin(): Promise<{ url: string; state: string }> {
    const d = await this.provider.discovery();
    const state = randomBytes(32).toString('base64url');
    const nonce = randomBytes(32).toString('base64url');
    const verifier = randomBytes(32).toString('base64url'); // 43 characters: RFC 7636 4.1
    this.prune();
    this.pending.set(state, { verifier, nonce, at: this.clock().getTime() });
    const url = new URL(d.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: this.cfg.clientId, redirect_uri: this.cfg.redirectUri, scope: this.cfg.scopes.join(' '),
      state, nonce, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();
    return { url: url.toString(), state };
  }

  /** The callback: `boundState` is the state the browser's cookie carries; it must be the one returned. */
  async finish(state: string, code: string, boundState: string | undefined): Promise<SsoResult> {
    const p = this.pending.get(state);
    this.pending.delete(state); // one use, whatever happens next
    if (!p || boundState !== state || this.clock().getTime() - p.at > PENDING_TTL_MS) throw new RampartError('unauthenticated', 'authentication required', { reason: 'oidc-state' });
    const d = await this.provider.discovery();
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.cfg.redirectUri, code_verifier: p.verifier });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (this.cfg.clientSecret !== null) {
      // RFC 6749 2.3.1: client_secret_basic, each part form-encoded first.
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      headers.authorization = 'Basic ' + Buffer.from(`${enc(this.cfg.clientId)}:${enc(this.cfg.clientSecret)}`).toString('base64');
    } else {
      form.set('client_id', this.cfg.clientId);
    }
    const tokens = await fetchJson(d.token_endpoint, { method: 'POST', headers, body: form.toString() });
    if (typeof tokens.id_token !== 'string') throw new RampartError('unauthenticated', 'authentication required', { reason: 'oidc-no-id-token' });
    const claims = await this.provider.verify(tokens.id_token, this.cfg.clientId);
    if (claims.nonce !== p.nonce) throw new RampartError('unauthenticated', 'authentication required', { reason: 'oidc-nonce' });
    // Core 3.1.3.7: with several audiences, azp must name us.
    if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp !== this.cfg.clientId) throw new RampartError('unauthenticated', 'authentication required', { reason: 'oidc-azp' });
    return this.resolveUser(claims as Record<string, unknown> & { sub: string });
  }

  /** Role, groups and the linked account for verified claims; a user whose claims map to no role is refused. */
  async resolveUser(claims: Record<string, unknown> & { sub: string }): Promise<SsoResult> {
    const role = mapRole(claims, this.cfg);
    if (role === undefined) throw new RampartError('unauthenticated', 'authentication required', { reason: 'oidc-no-role' });
    const user = await linkedUser(this.accounts, this.auth, this.provider.cfg.issuer, claims.sub, claims, this.cfg, role, this.clock());
    return { user, role, groups: mapGroups(claims, this.cfg) };
  }

  private prune(): void {
    const now = this.clock().getTime();
    for (const [state, p] of this.pending) {
      if (now - p.at <= PENDING_TTL_MS && this.pending.size < MAX_PENDING) break;
      this.pending.delete(state);
    }
  }
}


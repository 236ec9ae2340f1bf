// Bearer JWTs from the configured OpenID Provider (IHE ITI-71/72 IUA style), at DICOMweb and as
// DIMSE user identity type 5: signature from the provider's JWKS, iss, aud, exp/nbf, and at least
// one scope that maps to a Rampart scope; the user is mapped from the claims as for SSO.
import { RampartError } from '../../errors.js';
import type { AuditSink } from '../../services/audit-port.js';
import type { TokenScope } from '../../store/index/account-store.js';
import type { JwtVerifier } from '../authenticate.js';
import { ALL_SCOPES, type Door, type Principal } from '../principal.js';
import { claimList } from './claims.js';
import type { OidcProvider } from './provider.js';
import type { OidcLogin } from './sso.js';

export interface BearerConfig {
  /** The aud bearer tokens must carry. */
  audience: string;
  /** Token scope value -> Rampart scope. */
  scopeMap: Readonly<Record<string, string>>;
}

export class JwtBearer implements JwtVerifier {
  constructor(
    private readonly provider: OidcProvider,
    private readonly users: OidcLogin,
    private readonly cfg: BearerConfig,
    private readonly audit: AuditSink,
  ) {}

  async verify(jwt: string, ip: string, door: Door): Promise<Principal> {
    try {
      const claims = await this.provider.verify(jwt, this.cfg.audience);
      // RFC 9068 2.2.3 / RFC 8693 4.2: `scope` is space-separated; some providers send `scp` as an array.
      const granted = new Set([...claimList(claims, 'scope'), ...claimList(claims, 'scp')]);
      const scopes = ALL_SCOPES.filter((s) => [...granted].some((g) => Object.hasOwn(this.cfg.scopeMap, g) && this.cfg.scopeMap[g] === s));
      if (scopes.length === 0) throw new RampartError('unauthenticated', 'authentication required', { reason: 'jwt-no-scope' });
      const { user, role, groups } = await this.users.resolveUser(claims as Record<string, unknown> & { sub: string });
      return { kind: 'token', userId: user.id, username: user.username, role, scopes: scopes as TokenScope[], groups, ip, door };
    } catch (e) {
      const reason = (e as RampartError).detail?.reason;
      await this.audit.record({ action: 'login', outcome: 'failure', principal: { kind: 'token', username: '-', door, ip }, reason: typeof reason === 'string' ? reason.slice(0, 64) : 'invalid-jwt' });
      throw e instanceof RampartError && e.code === 'unavailable' ? e : new RampartError('unauthenticated', 'authentication required');
    }
  }
}

// Sessions at the HTTP edge: the cookie (HttpOnly, SameSite=Strict, Secure with the __Host-
// prefix on HTTPS), and one authentication step for every route but the liveness check and the
// sign-in endpoints: an Authorization header (token, JWT, Basic) or the session cookie, with the
// CSRF header required on unsafe methods when the cookie is what authenticated.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accessDenied, isRampartError } from '../../errors.js';
import type { Authenticator } from '../../security/authenticate.js';
import type { Principal } from '../../security/principal.js';
import { csrfMatches, type ActiveSession, type SessionManager } from '../../security/sessions.js';

export interface Caller { principal: Principal; session?: ActiveSession }

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const MAX_COOKIE_HEADER = 8192;

export class SessionCookies {
  readonly name: string;
  constructor(private readonly tls: boolean, private readonly maxAgeSeconds: number) {
    // RFC 6265bis 4.1.3.2: __Host- cookies must be Secure, Path=/ and without Domain, so no
    // sibling host or plain-HTTP page can set or shadow them.
    this.name = tls ? '__Host-rampart_session' : 'rampart_session';
  }

  read(req: IncomingMessage): string | undefined {
    const header = req.headers.cookie;
    if (typeof header !== 'string' || header.length > MAX_COOKIE_HEADER) return undefined;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === this.name) return part.slice(eq + 1).trim();
    }
    return undefined;
  }

  set(secret: string, maxAgeSeconds = this.maxAgeSeconds): string {
    return `${this.name}=${secret}; Path=/; HttpOnly; SameSite=Strict${this.tls ? '; Secure' : ''}; Max-Age=${maxAgeSeconds}`;
  }

  clear(): string {
    return `${this.name}=; Path=/; HttpOnly; SameSite=Strict${this.tls ? '; Secure' : ''}; Max-Age=0`;
  }
}

/** The caller of a request, or unauthenticated; `door` names the route family for audit. */
export async function authenticateRequest(
  req: IncomingMessage, res: ServerResponse, authenticator: Authenticator, sessions: SessionManager, cookies: SessionCookies,
  door: 'dicomweb' | 'api',
): Promise<Caller> {
  const ip = req.socket.remoteAddress ?? '';
  const secret = cookies.read(req);
  if (req.headers.authorization !== undefined || secret === undefined) {
    return { principal: await authenticator.authenticateHttp(req.headers.authorization, ip, door) };
  }
  let session: ActiveSession;
  try {
    session = await sessions.resolve(secret);
  } catch (e) {
    // The browser forgets a cookie that no longer works; a pending sign-in's cookie still does.
    if (!(isRampartError(e) && e.detail?.reason === 'stage')) res.setHeader('set-cookie', cookies.clear());
    throw e;
  }
  if (!SAFE_METHODS.has(req.method ?? 'GET')) {
    const header = req.headers['x-csrf-token'];
    if (!csrfMatches(secret, typeof header === 'string' ? header : undefined)) throw accessDenied('missing or wrong x-csrf-token header');
  }
  return { principal: sessions.principal(session, ip, door), session };
}

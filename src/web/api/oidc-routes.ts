// /api/auth/oidc: single sign-on through the configured OpenID Provider. `login` sends the browser
// to the provider; `callback` takes the code back and opens a session. Both are reachable without
// a session and answer nothing about data.
import type { IncomingMessage } from 'node:http';
import { isRampartError, RampartError } from '../../errors.js';
import type { OidcLogin } from '../../security/oidc/sso.js';
import type { Router } from '../router.js';
import type { AuthApiDeps } from './auth-routes.js';

const STATE_MAX_AGE = 600;

export function registerOidcRoutes(router: Router<null>, deps: AuthApiDeps, sso: OidcLogin, tls: boolean): void {
  // The state cookie comes back on the provider's cross-site redirect, so it is SameSite=Lax
  // (Strict would not be sent); it holds only the state, which is worthless without the code.
  const name = tls ? '__Host-rampart_oidc' : 'rampart_oidc';
  const cookie = (v: string, age: number) => `${name}=${v}; Path=/; HttpOnly; SameSite=Lax${tls ? '; Secure' : ''}; Max-Age=${age}`;

  router.add('GET', '/api/auth/oidc/login', async ({ res }) => {
    const { url, state } = await sso.begin();
    res.writeHead(302, { location: url, 'set-cookie': cookie(state, STATE_MAX_AGE), 'cache-control': 'no-store' });
    res.end();
  });

  router.add('GET', '/api/auth/oidc/callback', async ({ req, res, query }) => {
    const ip = req.socket.remoteAddress ?? '';
    const state = query.get('state') ?? '';
    const code = query.get('code') ?? '';
    try {
      if (state.length === 0 || state.length > 128 || code.length === 0 || code.length > 4096) throw new RampartError('unauthenticated', 'authentication required', { reason: query.has('error') ? 'oidc-provider-error' : 'oidc-no-code' });
      const { user, role, groups } = await sso.finish(state, code, readCookie(req, name));
      const { secret } = await deps.sessions.start(user, { stage: 'full', method: 'oidc', ip, userAgent: String(req.headers['user-agent'] ?? ''), role, groups });
      await deps.audit.record({ action: 'login', outcome: 'success', principal: { kind: 'user', username: user.username, door: 'web', ip }, reason: 'oidc' });
      // A page that moves on by itself: a redirect would still be part of the provider's
      // cross-site navigation, on which the SameSite=Strict session cookie is not sent.
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'", 'set-cookie': [deps.cookies.set(secret), cookie('', 0)],
      });
      res.end('<!doctype html><meta http-equiv="refresh" content="0;url=/"><title>Signed in</title><p>Signed in. <a href="/">Continue</a></p>\n');
    } catch (e) {
      const reason = isRampartError(e) && typeof e.detail?.reason === 'string' ? e.detail.reason : 'oidc-failed';
      await deps.audit.record({ action: 'login', outcome: 'failure', principal: { kind: 'user', username: '-', door: 'web', ip }, reason });
      res.setHeader('set-cookie', cookie('', 0));
      throw isRampartError(e, 'unavailable') ? e : new RampartError('unauthenticated', 'authentication required');
    }
  });
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

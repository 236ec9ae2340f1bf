// /api/auth/passkeys: register passkeys for the signed-in user, and the assertion options for the
// second step of a sign-in (the assertion itself goes to POST /api/auth/mfa as {passkey}).
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../../errors.js';
import type { RelyingParty } from '../../security/passkeys.js';
import type { Router } from '../router.js';
import type { AuthApiDeps } from './auth-routes.js';
import { readJson, sendJson } from './json.js';

/** A registration response carries the authenticator's attestation, certificate chain included. */
const REGISTRATION_JSON_BYTES = 64 * 1024;
/** The label the user gives a passkey, shown in their account page. */
const MAX_PASSKEY_NAME = 64;
import type { Caller } from './session-http.js';

/**
 * The relying party: from configuration, or on loopback from the request. Beyond loopback it must
 * be configured: deriving the expected origin from a Host header would let a phishing proxy that
 * rewrites Host pass its own origin off as ours.
 */
export function relyingPartyFor(tls: boolean, rpId: string | null, origin: string | null): (req: IncomingMessage) => RelyingParty {
  return (req) => {
    if (rpId !== null && origin !== null) return { rpId, origin };
    const host = String(req.headers.host ?? '');
    const m = /^(localhost|127\.\d+\.\d+\.\d+)(:\d{1,5})?$/.exec(host);
    if (!m) throw badRequest('passkeys need auth.webauthnRpId and auth.webauthnOrigin to be configured');
    return { rpId: m[1]!, origin: `${tls ? 'https' : 'http'}://${host}` };
  };
}

export function registerPasskeyPublic(router: Router<null>, deps: AuthApiDeps): void {
  router.add('POST', '/api/auth/mfa/passkey-options', async ({ req, res }) => {
    const pending = await deps.sessions.resolve(deps.cookies.read(req), 'mfa');
    sendJson(res, 200, await deps.passkeys.authenticationOptions(pending, deps.relyingParty(req)));
  });
}

export function registerPasskeyApi(router: Router<Caller>, deps: AuthApiDeps): void {
  const sessionOf = (c: Caller) => {
    if (!c.session) throw badRequest('this needs a browser session');
    return c.session;
  };
  router.add('POST', '/api/auth/passkeys/options', async ({ req, res, principal: c }) => {
    sendJson(res, 200, await deps.passkeys.registrationOptions(sessionOf(c), deps.relyingParty(req)));
  });
  router.add('POST', '/api/auth/passkeys', async ({ req, res, principal: c }) => {
    const s = sessionOf(c);
    const body = await readJson(req, REGISTRATION_JSON_BYTES);
    if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > MAX_PASSKEY_NAME)) {
      throw badRequest(`name must be a string of at most ${MAX_PASSKEY_NAME} characters`);
    }
    const name = typeof body.name === 'string' && body.name.length > 0 ? body.name : 'passkey';
    await deps.passkeys.register(s, deps.relyingParty(req), body.response, name);
    await deps.audit.record({ action: 'mfa-enrol', outcome: 'success', principal: { kind: 'user', username: s.user.username, door: 'web', ip: req.socket.remoteAddress ?? '' }, reason: 'passkey' });
    sendJson(res, 201, { registered: true });
  });
  router.add('GET', '/api/auth/passkeys', async ({ res, principal: c }) => {
    if (!c.principal.userId) throw badRequest('this needs a user account');
    sendJson(res, 200, await deps.passkeys.list(c.principal.userId));
  });
}

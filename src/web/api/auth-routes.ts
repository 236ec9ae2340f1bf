// /api/auth: sign-in with a password and a second factor, sign-out, who am I, my sessions,
// TOTP enrolment and recovery codes, password change. Answers say nothing about data.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accessDenied, badRequest, notFound, unauthenticated } from '../../errors.js';
import type { AuditSink } from '../../services/audit-port.js';
import type { Authenticator } from '../../security/authenticate.js';
import type { MfaService } from '../../security/mfa.js';
import type { PasskeyService, RelyingParty } from '../../security/passkeys.js';
import { checkPasswordRules, hashPassword } from '../../security/password.js';
import type { Door } from '../../security/principal.js';
import { csrfToken, type ActiveSession, type SessionManager } from '../../security/sessions.js';
import type { AccountStore, UserRecord } from '../../store/index/account-store.js';
import type { Router } from '../router.js';
import { readJson, sendJson, str } from './json.js';
import type { Caller, SessionCookies } from './session-http.js';

export interface AuthApiDeps {
  authenticator: Authenticator;
  sessions: SessionManager;
  mfa: MfaService;
  accounts: AccountStore;
  audit: AuditSink;
  cookies: SessionCookies;
  passkeys: PasskeyService;
  relyingParty: (req: IncomingMessage) => RelyingParty;
}

const ip = (req: IncomingMessage) => req.socket.remoteAddress ?? '';
const ua = (req: IncomingMessage) => String(req.headers['user-agent'] ?? '').slice(0, 256);
const who = (username: string, req: IncomingMessage, door: Door = 'web') => ({ kind: 'user' as const, username, door, ip: ip(req) });

/** Signed in: set the cookie and answer what the app needs to go on. */
export async function signedIn(
  deps: AuthApiDeps, res: ServerResponse, req: IncomingMessage, user: UserRecord, secret: string, method: string, groups: readonly string[], role = user.role,
): Promise<void> {
  await deps.audit.record({ action: 'login', outcome: 'success', principal: who(user.username, req), reason: method });
  sendJson(res, 200, { username: user.username, role, groups, csrfToken: csrfToken(secret) }, { 'set-cookie': deps.cookies.set(secret) });
}

/** Routes reachable without a session: they are how one gets a session. */
export function registerAuthPublic(router: Router<null>, deps: AuthApiDeps): void {
  router.add('POST', '/api/auth/login', async ({ req, res }) => {
    const body = await readJson(req);
    const username = str(body, 'username', 256);
    const password = str(body, 'password', 4096);
    const user = await deps.authenticator.passwords.check(username, password, ip(req), 'web');
    if (await deps.authenticator.hasSecondFactor(user.id)) {
      const { secret } = await deps.sessions.start(user, { stage: 'mfa', method: 'password', ip: ip(req), userAgent: ua(req) });
      const state = await deps.mfa.state(user.id);
      const methods = [...(state.totp ? ['totp'] : []), ...(state.passkeys > 0 ? ['passkey'] : []), ...(state.recoveryCodesLeft > 0 ? ['recovery'] : [])];
      sendJson(res, 200, { mfaRequired: true, methods }, { 'set-cookie': deps.cookies.set(secret) });
      return;
    }
    const { secret } = await deps.sessions.start(user, { stage: 'full', method: 'password', ip: ip(req), userAgent: ua(req) });
    await signedIn(deps, res, req, user, secret, 'password', []);
  });

  // The second step: a TOTP code, a recovery code or a passkey assertion for the pending sign-in in the cookie.
  router.add('POST', '/api/auth/mfa', async ({ req, res }) => {
    const pending = await deps.sessions.resolve(deps.cookies.read(req), 'mfa');
    const body = await readJson(req);
    const throttle = deps.authenticator.passwords.throttle;
    const name = pending.user.username;
    await throttle?.begin(name, ip(req));
    let method: string | undefined;
    try {
      if (typeof body.code === 'string' && (await deps.mfa.verifyTotp(pending.user.id, body.code))) method = 'password+totp';
      else if (typeof body.recoveryCode === 'string' && (await deps.mfa.useRecoveryCode(pending.user.id, body.recoveryCode))) method = 'password+recovery';
      else if (body.passkey !== undefined && (await deps.passkeys.authenticate(pending, deps.relyingParty(req), body.passkey))) method = 'password+passkey';
    } finally {
      if (method) await throttle?.succeeded(name, ip(req));
      else await throttle?.failed(name, ip(req), 'web');
    }
    if (!method) {
      await deps.audit.record({ action: 'login', outcome: 'failure', principal: who(name, req), reason: 'bad-second-factor' });
      throw unauthenticated();
    }
    const { secret } = await deps.sessions.complete(pending, method, ip(req), ua(req));
    await signedIn(deps, res, req, pending.user, secret, method, pending.session.groups);
  });
}

/** Routes for a signed-in caller (session cookie, token or password). */
export function registerAuthApi(router: Router<Caller>, deps: AuthApiDeps): void {
  const sessionOf = (c: Caller): ActiveSession => {
    if (!c.session) throw badRequest('this needs a browser session');
    return c.session;
  };
  const userOf = async (c: Caller): Promise<UserRecord> => {
    const u = c.principal.userId ? await deps.accounts.getUserById(c.principal.userId) : undefined;
    if (!u) throw accessDenied('this needs a user account');
    return u;
  };

  router.add('GET', '/api/auth/me', async ({ res, principal: c }) => {
    const p = c.principal;
    const mfa = p.userId ? await deps.mfa.state(p.userId) : { totp: false, passkeys: 0, recoveryCodesLeft: 0 };
    sendJson(res, 200, {
      username: p.username, role: p.role, groups: p.groups ?? [], kind: p.kind, mfa,
      method: c.session?.session.method ?? null, csrfToken: c.session ? csrfToken(c.session.secret) : null,
    });
  });

  router.add('POST', '/api/auth/logout', async ({ req, res, principal: c }) => {
    const s = sessionOf(c);
    await deps.sessions.end(s.session.id);
    await deps.audit.record({ action: 'logout', outcome: 'success', principal: who(s.user.username, req) });
    sendJson(res, 200, { loggedOut: true }, { 'set-cookie': deps.cookies.clear() });
  });

  router.add('GET', '/api/auth/sessions', async ({ res, principal: c }) => {
    const u = await userOf(c);
    const list = await deps.sessions.list(u.id);
    sendJson(res, 200, list.map((s) => ({
      id: s.id, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, expiresAt: s.expiresAt, ip: s.ip, userAgent: s.userAgent,
      method: s.method, current: s.id === c.session?.session.id,
    })));
  });

  router.add('DELETE', '/api/auth/sessions/:id', async ({ req, res, params, principal: c }) => {
    const u = await userOf(c);
    // Another user's session id answers like an unknown one.
    const mine = (await deps.sessions.list(u.id)).some((s) => s.id === params.id);
    if (!mine || !(await deps.sessions.end(params.id!))) throw notFound('no such session');
    await deps.audit.record({ action: 'session-revoke', outcome: 'success', principal: who(u.username, req, c.principal.door) });
    const headers: Record<string, string> = params.id === c.session?.session.id ? { 'set-cookie': deps.cookies.clear() } : {};
    sendJson(res, 200, { revoked: params.id }, headers);
  });

  router.add('POST', '/api/auth/totp/enrol', async ({ res, principal: c }) => {
    const u = await userOf(c);
    sendJson(res, 200, await deps.mfa.beginTotp(u));
  });

  router.add('POST', '/api/auth/totp/confirm', async ({ req, res, principal: c }) => {
    const u = await userOf(c);
    const code = str(await readJson(req), 'code', 16);
    const recoveryCodes = await deps.mfa.confirmTotp(u.id, code);
    await deps.audit.record({ action: 'mfa-enrol', outcome: 'success', principal: who(u.username, req, c.principal.door), reason: 'totp' });
    sendJson(res, 200, { recoveryCodes });
  });

  router.add('POST', '/api/auth/recovery-codes', async ({ req, res, principal: c }) => {
    const u = await userOf(c);
    if (!(await deps.mfa.state(u.id)).totp && !(await deps.authenticator.hasSecondFactor(u.id))) throw badRequest('set up a second factor first');
    const recoveryCodes = await deps.mfa.newRecoveryCodes(u.id);
    await deps.audit.record({ action: 'mfa-enrol', outcome: 'success', principal: who(u.username, req, c.principal.door), reason: 'recovery-codes' });
    sendJson(res, 200, { recoveryCodes });
  });

  // A new password ends every session of the user; this one is replaced by a fresh session.
  router.add('POST', '/api/auth/password', async ({ req, res, principal: c }) => {
    const s = sessionOf(c);
    const body = await readJson(req);
    const current = str(body, 'currentPassword', 4096);
    const next = str(body, 'newPassword', 4096);
    await deps.authenticator.passwords.check(s.user.username, current, ip(req), 'web');
    const bad = checkPasswordRules(next, s.user.username);
    if (bad) throw badRequest(bad);
    await deps.accounts.setPassword(s.user.id, await hashPassword(next));
    await deps.sessions.endAll(s.user.id);
    await deps.audit.record({ action: 'password-change', outcome: 'success', principal: who(s.user.username, req) });
    const fresh = await deps.accounts.getUserById(s.user.id);
    const { secret } = await deps.sessions.start(fresh!, { stage: 'full', method: s.session.method, ip: ip(req), userAgent: ua(req), role: s.session.role, groups: s.session.groups });
    sendJson(res, 200, { csrfToken: csrfToken(secret) }, { 'set-cookie': deps.cookies.set(secret) });
  });
}

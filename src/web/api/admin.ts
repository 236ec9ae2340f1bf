// /api/admin/*: the JSON behind the web app's administration pages. Each route calls the
// AdminService, which checks the 'administer' permission and audits the change.
import type { Config } from '../../config/schema.js';
import { badRequest } from '../../errors.js';
import type { AdminService } from '../../services/admin.js';
import type { Principal } from '../../security/principal.js';
import { ACTIONS, authorize, can } from '../../security/policy.js';
import { ROLES, type Role } from '../../store/index/account-store.js';
import type { Router } from '../router.js';
import { optText, readJson, sendJson } from './json.js';
import { describeSettings, securityStatus } from './settings.js';

export interface AdminApiDeps {
  admin: AdminService;
  config: Readonly<Config>;
  httpTls: boolean;
  /** Usernames without a second factor, once the identity service can tell; null until then. */
  usersWithoutMfa?: () => Promise<string[]>;
}

export function registerAdminApi(router: Router<Principal>, deps: AdminApiDeps): void {
  const { admin } = deps;
  // Who is signed in and what the app may offer them; the app hides what the server would refuse anyway.
  router.add('GET', '/api/whoami', async ({ res, principal: p }) => {
    sendJson(res, 200, { username: p.username, role: p.role, kind: p.kind, permissions: ACTIONS.filter((a) => can(p, a)), idleSeconds: deps.config.auth.sessionIdleSeconds });
  });

  router.add('GET', '/api/admin/users', async ({ res, principal }) => sendJson(res, 200, await admin.listUsers(principal)));
  router.add('POST', '/api/admin/users', async ({ req, res, principal }) => {
    const body = await readJson(req);
    const username = optText(body.username, 'username', 64) ?? '';
    const role = optText(body.role, 'role', 32) as Role;
    if (!ROLES.includes(role)) throw badRequest(`role is one of ${ROLES.join(', ')}`);
    sendJson(res, 201, await admin.createUser(principal, username, role));
  });
  router.add('DELETE', '/api/admin/users/:name', async ({ res, params, principal }) => {
    await admin.removeUser(principal, params.name!);
    sendJson(res, 200, { removed: true });
  });

  router.add('POST', '/api/admin/users/:name/role', async ({ req, res, params, principal }) => {
    const role = optText((await readJson(req)).role, 'role', 32) as Role;
    sendJson(res, 200, await admin.setRole(principal, params.name!, role));
  });
  router.add('POST', '/api/admin/users/:name/disabled', async ({ req, res, params, principal }) => {
    const { disabled } = await readJson(req);
    if (typeof disabled !== 'boolean') throw badRequest('disabled is true or false');
    sendJson(res, 200, await admin.setDisabled(principal, params.name!, disabled));
  });

  // Everyone's web sessions: ids name them (the secret and its hash never leave the server).
  router.add('GET', '/api/admin/sessions', async ({ res, principal }) => sendJson(res, 200, await admin.listSessions(principal)));
  router.add('DELETE', '/api/admin/sessions/:id', async ({ res, params, principal }) => {
    await admin.revokeSession(principal, params.id!);
    sendJson(res, 200, { revoked: true });
  });

  router.add('GET', '/api/admin/tokens', async ({ res, principal }) => sendJson(res, 200, await admin.listTokens(principal)));
  router.add('DELETE', '/api/admin/tokens/:id', async ({ res, params, principal }) => {
    await admin.revokeToken(principal, params.id!);
    sendJson(res, 200, { revoked: true });
  });

  router.add('GET', '/api/admin/peers', async ({ res, principal }) => sendJson(res, 200, await admin.listPeers(principal)));
  router.add('POST', '/api/admin/peers', async ({ req, res, principal }) => {
    const b = await readJson(req);
    sendJson(res, 201, await admin.addPeer(principal, {
      aeTitle: b.aeTitle as string, host: b.host as string, port: Number(b.port), allow: b.allow as string[],
      tls: b.tls === true, certFingerprint: (b.certFingerprint as string | undefined) ?? null, requireIdentity: b.requireIdentity === true,
    }));
  });
  router.add('DELETE', '/api/admin/peers/:ae', async ({ res, params, principal }) => {
    await admin.removePeer(principal, params.ae!);
    sendJson(res, 200, { removed: true });
  });

  router.add('GET', '/api/admin/settings', async ({ res, principal }) => {
    authorize(principal, 'administer');
    sendJson(res, 200, describeSettings(deps.config));
  });
  router.add('GET', '/api/admin/security', async ({ res, principal }) => {
    const [peers, users] = await Promise.all([admin.listPeers(principal), admin.listUsers(principal)]);
    const withoutMfa = deps.usersWithoutMfa ? await deps.usersWithoutMfa() : null;
    sendJson(res, 200, securityStatus(deps.config, deps.httpTls, peers, users, withoutMfa));
  });
}

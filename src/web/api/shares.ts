// /api/shares: share links for people without an account. POST needs the share permission and
// sight of the study, and answers the link once; GET lists one's links (all, for administrators)
// with last use; DELETE revokes at once.
import type { IncomingMessage } from 'node:http';
import type { Node } from '../../app.js';
import { badRequest } from '../../errors.js';
import type { Principal } from '../../security/principal.js';
import type { Router } from '../router.js';
import { optString, readJson, sendJson } from './json.js';

export function registerSharesApi(router: Router<Principal>, node: Node, origin: (req: IncomingMessage) => string): void {
  router.add('POST', '/shares', async ({ req, res, principal }) => {
    const b = await readJson(req);
    const study = optString(b, 'studyInstanceUid');
    if (!study) throw badRequest('studyInstanceUid is required');
    const days = b.expiresInDays;
    if (days !== undefined && (typeof days !== 'number' || !Number.isInteger(days) || days < 1)) throw badRequest('expiresInDays must be a whole number of days');
    if (b.singleUse !== undefined && typeof b.singleUse !== 'boolean') throw badRequest('singleUse must be true or false');
    const access = optString(b, 'access');
    if (access !== undefined && access !== 'view' && access !== 'download') throw badRequest('access must be view or download');
    const { share, token } = await node.shares.create(principal, {
      studyInstanceUid: study, ttlMs: days === undefined ? undefined : (days as number) * 86_400_000,
      singleUse: b.singleUse === true, pin: optString(b, 'pin'), access,
    });
    sendJson(res, 201, { ...share, url: `${origin(req)}/s/${token}` });
  });
  router.add('GET', '/shares', async ({ res, principal }) => {
    sendJson(res, 200, await node.shares.list(principal));
  });
  router.add('DELETE', '/shares/:id', async ({ res, params, principal }) => {
    await node.shares.revoke(principal, params.id!);
    res.writeHead(204);
    res.end();
  });
}

// /api/grants: user-to-user and user-to-group sharing as grants. POST needs the share permission
// and sight of the study (administrators may grant anything); GET lists one's own; DELETE removes.
import type { Node } from '../../app.js';
import { badRequest } from '../../errors.js';
import type { Principal } from '../../security/principal.js';
import type { Router } from '../router.js';
import { optString, readJson, sendJson } from './json.js';

/** Days, as a whole number from 1 to 3660. */
function days(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 3660) throw badRequest('expiresInDays must be a whole number of days from 1 to 3660');
  return v * 86_400_000;
}

export function registerGrantsApi(router: Router<Principal>, node: Node): void {
  router.add('POST', '/grants', async ({ req, res, principal }) => {
    const b = await readJson(req);
    const g = await node.grants.add(principal, {
      user: optString(b, 'user'), group: optString(b, 'group'),
      studyInstanceUid: optString(b, 'studyInstanceUid'), patientId: optString(b, 'patientId'), ttlMs: days(b.expiresInDays),
    });
    sendJson(res, 201, g);
  });
  router.add('GET', '/grants', async ({ res, principal }) => {
    sendJson(res, 200, await node.grants.list(principal));
  });
  router.add('DELETE', '/grants/:id', async ({ res, params, principal }) => {
    await node.grants.remove(principal, params.id!);
    res.writeHead(204);
    res.end();
  });
}

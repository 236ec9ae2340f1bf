// /api/break-glass: POST {studyInstanceUid, reason} opens a study outside one's grants for
// access.breakGlassMinutes (clinicians only; always allowed, flagged, audited with the reason);
// GET lists every opening for those with the read-audit permission.
import type { Node } from '../../app.js';
import { badRequest } from '../../errors.js';
import type { Principal } from '../../security/principal.js';
import type { Router } from '../router.js';
import { optString, readJson, sendJson } from './json.js';

export function registerBreakGlassApi(router: Router<Principal>, node: Node): void {
  router.add('POST', '/break-glass', async ({ req, res, principal }) => {
    const b = await readJson(req);
    const study = optString(b, 'studyInstanceUid'), reason = optString(b, 'reason');
    if (!study || reason === undefined) throw badRequest('studyInstanceUid and reason are required');
    const g = await node.grants.breakGlass(principal, study, reason);
    sendJson(res, 201, { id: g.id, studyInstanceUid: g.studyInstanceUid, expiresAt: g.expiresAt });
  });
  router.add('GET', '/break-glass', async ({ res, principal }) => {
    const list = await node.grants.listBreakGlass(principal);
    sendJson(res, 200, list.map((g) => ({
      id: g.id, user: g.subjectName, studyInstanceUid: g.studyInstanceUid, reason: g.reason, openedAt: g.createdAt, expiresAt: g.expiresAt,
    })));
  });
}

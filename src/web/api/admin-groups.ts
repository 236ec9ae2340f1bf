// /api/admin/groups: the web app's Groups page. Local groups exist while they have members: a
// group is created with its first members and deleted by removing them all. The GrantService
// checks the 'administer' permission and audits each change as 'group-change'.
import { badRequest, notFound } from '../../errors.js';
import type { Principal } from '../../security/principal.js';
import type { GrantService } from '../../services/grants.js';
import type { Router } from '../router.js';
import { readJson, sendJson, str } from './json.js';

/** At most this many names in one request: the page adds a handful at a time. */
const MAX_MEMBERS = 100;

function members(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MEMBERS || v.some((m) => typeof m !== 'string' || m.length === 0 || m.length > 64)) {
    throw badRequest(`members is a list of 1-${MAX_MEMBERS} user names`);
  }
  return [...new Set(v as string[])];
}

export function registerAdminGroupsApi(router: Router<Principal>, grants: GrantService): void {
  router.add('GET', '/api/admin/groups', async ({ res, principal }) => sendJson(res, 200, await grants.listGroups(principal)));

  // Creates the group with its first members, or adds members to an existing one.
  router.add('POST', '/api/admin/groups', async ({ req, res, principal }) => {
    const b = await readJson(req);
    const group = str(b, 'group', 128);
    const added: string[] = [];
    for (const m of members(b.members)) if (await grants.addToGroup(principal, m, group)) added.push(m);
    sendJson(res, 200, { group, added });
  });

  router.add('DELETE', '/api/admin/groups/:group/members/:user', async ({ res, params, principal }) => {
    if (!(await grants.removeFromGroup(principal, params.user!, params.group!))) throw notFound('not a member of this group');
    sendJson(res, 200, { removed: true });
  });

  router.add('DELETE', '/api/admin/groups/:group', async ({ res, params, principal }) => {
    sendJson(res, 200, { removedMembers: await grants.deleteGroup(principal, params.group!) });
  });
}

// `rampart user add NAME --role ROLE` (password on stdin), `user list`, `user remove NAME`,
// `user mfa-reset NAME` (a lost authenticator: removes TOTP, recovery codes and passkeys, ends sessions),
// `user set-role NAME ROLE`, `user disable NAME` (ends their sessions), `user enable NAME`.
import { openNode } from '../app.js';
import { createUser } from '../security/authenticate.js';
import { systemPrincipal } from '../security/principal.js';
import type { Role } from '../store/index/account-store.js';
import { configFrom, parse, readSecret, type Io } from './common.js';

export const usage = 'rampart user add NAME --role admin|radiologist|technologist|referring|auditor|external [--group GROUP ...]  (password on stdin)\nrampart user list [--json]\nrampart user remove NAME\nrampart user mfa-reset NAME\nrampart user set-role NAME ROLE\nrampart user disable NAME\nrampart user enable NAME';

export async function user(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { role: { type: 'string' }, group: { type: 'string', multiple: true } });
  const [verb, name] = positionals;
  if (values.help || !verb) { io.out(usage); return values.help ? 0 : 2; }
  const node = await openNode(configFrom(values));
  try {
    switch (verb) {
      case 'add': {
        if (!name || !values.role) { io.err(usage); return 2; }
        const password = await readSecret(io, 'password:');
        if (!password) { io.err('rampart: give the password on standard input'); return 2; }
        await createUser(node.index, name, values.role as Role, password);
        await node.audit.record({ action: 'user-create', outcome: 'success', principal: systemPrincipal(), target: name });
        for (const g of values.group ?? []) await node.grants.addToGroup(systemPrincipal(), name, g);
        io.out(`user ${name} added with role ${values.role}${values.group?.length ? ` in ${values.group.join(', ')}` : ''}`);
        return 0;
      }
      case 'list': {
        const users = await node.index.listUsers();
        const groups = new Map(await Promise.all(users.map(async (u) => [u.id, await node.accessStore.groupsOf(u.id)] as const)));
        if (values.json) io.out(JSON.stringify(users.map(({ passwordHash: _, ...u }) => ({ ...u, groups: groups.get(u.id) ?? [] }))));
        else for (const u of users) io.out(`${u.username}\t${u.role}${u.disabled ? '\tdisabled' : ''}\t${u.createdAt}${groups.get(u.id)?.length ? `\tgroups ${groups.get(u.id)!.join(',')}` : ''}`);
        return 0;
      }
      case 'remove': {
        if (!name) { io.err(usage); return 2; }
        const ok = await node.index.removeUser(name);
        await node.audit.record({ action: 'user-remove', outcome: ok ? 'success' : 'failure', principal: systemPrincipal(), target: name });
        if (!ok) { io.err(`rampart: no user ${name}`); return 1; }
        io.out(`user ${name} removed; their tokens are revoked`);
        return 0;
      }
      case 'mfa-reset': {
        if (!name) { io.err(usage); return 2; }
        const u = await node.index.getUserByName(name);
        if (!u) { io.err(`rampart: no user ${name}`); return 1; }
        await node.mfa.reset(u.id);
        const ended = await node.sessions.endAll(u.id);
        await node.audit.record({ action: 'mfa-reset', outcome: 'success', principal: systemPrincipal() });
        io.out(`second factors of ${name} removed (TOTP, recovery codes, passkeys); ${ended} session(s) ended`);
        return 0;
      }
      case 'set-role': {
        const role = positionals[2];
        if (!name || !role) { io.err(usage); return 2; }
        const u = await node.admin.setRole(systemPrincipal(), name, role as Role);
        io.out(`user ${u.username} now has the role ${u.role}`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        if (!name) { io.err(usage); return 2; }
        const u = await node.admin.setDisabled(systemPrincipal(), name, verb === 'disable');
        io.out(u.disabled ? `user ${u.username} disabled: no sign-in through any door, web sessions ended, API tokens refused` : `user ${u.username} enabled`);
        return 0;
      }
      default: io.err(usage); return 2;
    }
  } finally {
    await node.close();
  }
}

// `rampart group add GROUP USER...`, `group remove GROUP USER...`, `group delete GROUP`, `group list`: local group
// membership. Grants to a group reach its members (SSO users get their groups from the login's claims).
import { openNode } from '../app.js';
import { systemPrincipal } from '../security/principal.js';
import { configFrom, parse, type Io } from './common.js';

export const usage = 'rampart group add GROUP USER...\nrampart group remove GROUP USER...\nrampart group delete GROUP\nrampart group list [--json]';

export async function group(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {});
  const [verb, name, ...users] = positionals;
  if (values.help || !verb) { io.out(usage); return values.help ? 0 : 2; }
  const node = await openNode(configFrom(values));
  const me = systemPrincipal();
  try {
    switch (verb) {
      case 'add':
      case 'remove': {
        if (!name || users.length === 0) { io.err(usage); return 2; }
        for (const u of users) {
          const changed = verb === 'add' ? await node.grants.addToGroup(me, u, name) : await node.grants.removeFromGroup(me, u, name);
          io.out(verb === 'add' ? `${u} ${changed ? 'added to' : 'is already in'} ${name}` : `${u} ${changed ? 'removed from' : 'was not in'} ${name}`);
        }
        return 0;
      }
      case 'delete': {
        if (!name || users.length > 0) { io.err(usage); return 2; }
        io.out(`group ${name} deleted: ${await node.grants.deleteGroup(me, name)} member(s) removed; grants to it stay until revoked`);
        return 0;
      }
      case 'list': {
        const groups = await node.grants.listGroups(me);
        if (values.json) io.out(JSON.stringify(groups));
        else for (const g of groups) io.out(`${g.group}\t${g.members.join(',')}`);
        return 0;
      }
      default: io.err(usage); return 2;
    }
  } finally {
    await node.close();
  }
}

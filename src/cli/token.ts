// `rampart token create --user NAME [--scope read|write|admin ...] [--ttl 8h]` prints the token
// once (only its hash is stored); `token list`; `token revoke ID`.
import { openNode } from '../app.js';
import { createToken } from '../security/authenticate.js';
import { systemPrincipal } from '../security/principal.js';
import type { TokenScope } from '../store/index/account-store.js';
import { configFrom, parse, parseDuration, type Io } from './common.js';

export const usage = 'rampart token create --user NAME [--scope read|write|admin ...] [--ttl 8h]\nrampart token list [--user NAME] [--json]\nrampart token revoke ID';

export async function token(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { user: { type: 'string' }, scope: { type: 'string', multiple: true }, ttl: { type: 'string' } });
  const [verb, id] = positionals;
  if (values.help || !verb) { io.out(usage); return values.help ? 0 : 2; }
  const node = await openNode(configFrom(values));
  try {
    switch (verb) {
      case 'create': {
        if (!values.user) { io.err(usage); return 2; }
        const scopes = (values.scope ?? ['read']).flatMap((s) => s.split(',')) as TokenScope[];
        const ttl = values.ttl ? parseDuration(values.ttl) : 8 * 3_600_000;
        const { token: t, secret } = await createToken(node.index, values.user, scopes, ttl);
        await node.audit.record({ action: 'token-create', outcome: 'success', principal: systemPrincipal(), target: values.user });
        if (values.json) io.out(JSON.stringify({ id: t.id, token: secret, expiresAt: t.expiresAt, scopes: t.scopes }));
        else {
          io.out(secret);
          io.err(`token ${t.id} for ${values.user}, scopes ${t.scopes.join(',')}, expires ${t.expiresAt}; it is shown only this once`);
        }
        return 0;
      }
      case 'list': {
        let userId: string | undefined;
        if (values.user) {
          const u = await node.index.getUserByName(values.user);
          if (!u) { io.err(`rampart: no user ${values.user}`); return 1; }
          userId = u.id;
        }
        const tokens = await node.index.listTokens(userId);
        if (values.json) io.out(JSON.stringify(tokens.map(({ tokenHash: _, ...t }) => t)));
        else for (const t of tokens) io.out(`${t.id}\t${t.scopes.join(',')}\texpires ${t.expiresAt ?? 'never'}\t${t.revokedAt ? 'revoked' : 'active'}\tlast used ${t.lastUsedAt ?? 'never'}`);
        return 0;
      }
      case 'revoke': {
        if (!id) { io.err(usage); return 2; }
        const ok = await node.index.revokeToken(id, new Date().toISOString());
        await node.audit.record({ action: 'token-revoke', outcome: ok ? 'success' : 'failure', principal: systemPrincipal(), target: `token:${id}` });
        if (!ok) { io.err(`rampart: no token ${id}`); return 1; }
        io.out(`token ${id} revoked`);
        return 0;
      }
      default: io.err(usage); return 2;
    }
  } finally {
    await node.close();
  }
}

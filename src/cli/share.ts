// `rampart share create --study UID [--expires 7d] [--single-use] [--pin] [--download]` prints the
// link once (PIN on stdin); `share list` shows links with last use; `share revoke ID` ends one at once.
import { openNode } from '../app.js';
import { isLoopback } from '../config/schema.js';
import { systemPrincipal } from '../security/principal.js';
import { configFrom, parse, parseDuration, readSecret, type Io } from './common.js';

export const usage = 'rampart share create --study UID [--expires 7d] [--single-use] [--pin] [--download]  (PIN on stdin)\nrampart share list [--json]\nrampart share revoke ID';

export async function share(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    study: { type: 'string' }, expires: { type: 'string' }, 'single-use': { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false }, download: { type: 'boolean', default: false },
  });
  const [verb, id] = positionals;
  if (values.help || !verb) { io.out(usage); return values.help ? 0 : 2; }
  const config = configFrom(values);
  const node = await openNode(config);
  const me = systemPrincipal();
  try {
    switch (verb) {
      case 'create': {
        if (!values.study) { io.err(usage); return 2; }
        const pin = values.pin ? await readSecret(io, 'PIN (4-12 digits):') : undefined;
        const { share: s, token } = await node.shares.create(me, {
          studyInstanceUid: values.study, ttlMs: values.expires ? parseDuration(values.expires) : undefined,
          singleUse: values['single-use'], pin, access: values.download ? 'download' : 'view',
        });
        const h = config.http;
        const tls = h.tls || !isLoopback(h.host) || h.tlsCert !== null;
        const base = config.access.publicUrl ?? `${tls ? 'https' : 'http'}://${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;
        const url = `${base}/s/${token}`;
        if (values.json) io.out(JSON.stringify({ ...s, url }));
        else {
          io.out(url);
          io.err(`share ${s.id}: ${s.access}${s.singleUse ? ', single use' : ''}${s.hasPin ? ', PIN' : ''}, expires ${s.expiresAt}; the link is shown only this once`);
        }
        return 0;
      }
      case 'list': {
        const list = await node.shares.list(me);
        if (values.json) io.out(JSON.stringify(list));
        else for (const s of list) {
          const state = s.revokedAt ? 'revoked' : Date.parse(s.expiresAt) <= Date.now() ? 'expired' : s.singleUse && s.useCount > 0 ? 'used' : 'active';
          io.out(`${s.id}\tstudy ${s.studyInstanceUid}\t${s.access}\t${state}\texpires ${s.expiresAt}\tby ${s.createdBy}\tuses ${s.useCount}\tlast used ${s.lastUsedAt ?? 'never'}`);
        }
        return 0;
      }
      case 'revoke': {
        if (!id) { io.err(usage); return 2; }
        await node.shares.revoke(me, id);
        io.out(`share ${id} revoked`);
        return 0;
      }
      default: io.err(usage); return 2;
    }
  } finally {
    await node.close();
  }
}

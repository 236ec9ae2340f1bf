// `rampart peer add AET --host H --port P [--allow echo,store,find,move,get] [--tls]
// [--cert-fingerprint SHA256] [--require-identity]`, `peer list`, `peer remove AET`.
import { openNode } from '../app.js';
import { systemPrincipal } from '../security/principal.js';
import { PEER_SERVICES, type PeerService } from '../store/index/peer-store.js';
import { configFrom, parse, type Io } from './common.js';

export const usage = `rampart peer add AET --host H --port P [--allow echo,store,find,move,get] [--tls] [--cert-fingerprint SHA256] [--require-identity]
rampart peer list [--json]
rampart peer remove AET`;

const AE_RE = /^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/;

export async function peer(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    host: { type: 'string' }, port: { type: 'string' }, allow: { type: 'string' }, tls: { type: 'boolean', default: false },
    'cert-fingerprint': { type: 'string' }, 'require-identity': { type: 'boolean', default: false },
  });
  const [verb, ae] = positionals;
  if (values.help || !verb) { io.out(usage); return values.help ? 0 : 2; }
  if ((verb === 'add' || verb === 'remove') && (!ae || !AE_RE.test(ae))) {
    io.err('rampart peer: the AE title must be 1-16 printable characters without backslash');
    return 2;
  }
  let allow: PeerService[] = ['echo', 'store'];
  let port = 0;
  let fingerprint: string | null = null;
  if (verb === 'add') {
    if (!values.host || !values.port) { io.err(usage); return 2; }
    if (!/^[A-Za-z0-9.:\-[\]]{1,253}$/.test(values.host)) { io.err('rampart peer: --host must be a host name or address'); return 2; }
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) { io.err('rampart peer: --port must be 1-65535'); return 2; }
    if (values.allow !== undefined) {
      allow = values.allow.split(',').map((s) => s.trim()).filter(Boolean) as PeerService[];
      const bad = allow.find((a) => !PEER_SERVICES.includes(a));
      if (bad !== undefined || allow.length === 0) { io.err(`rampart peer: --allow takes ${PEER_SERVICES.join(',')}`); return 2; }
    }
    if (values['cert-fingerprint'] !== undefined) {
      const hex = values['cert-fingerprint'].replace(/:/g, '').toUpperCase();
      if (!/^[0-9A-F]{64}$/.test(hex)) { io.err('rampart peer: --cert-fingerprint is the SHA-256 of the certificate (64 hex digits, colons allowed)'); return 2; }
      fingerprint = hex.match(/../g)!.join(':');
    }
  }
  const node = await openNode(configFrom(values));
  try {
    switch (verb) {
      case 'add':
        await node.peers.addPeer({
          aeTitle: ae!, host: values.host!, port, allow: [...new Set(allow)], tls: values.tls || fingerprint !== null,
          certFingerprint: fingerprint, requireIdentity: values['require-identity'], createdAt: new Date().toISOString(),
        });
        await node.audit.record({ action: 'peer-add', outcome: 'success', principal: systemPrincipal(), target: ae! });
        io.out(`peer ${ae} added: ${values.host}:${port}, allowed ${allow.join(',')}${values.tls || fingerprint ? ', TLS required' : ''}${fingerprint ? ', certificate pinned' : ''}${values['require-identity'] ? ', user identity required' : ''}`);
        return 0;
      case 'list': {
        const peers = await node.peers.listPeers();
        if (values.json) io.out(JSON.stringify(peers));
        else for (const p of peers) io.out(`${p.aeTitle}\t${p.host}:${p.port}\t${p.allow.join(',')}${p.tls ? '\ttls' : ''}${p.certFingerprint ? '\tpinned' : ''}${p.requireIdentity ? '\tidentity' : ''}`);
        return 0;
      }
      case 'remove': {
        const ok = await node.peers.removePeer(ae!);
        await node.audit.record({ action: 'peer-remove', outcome: ok ? 'success' : 'failure', principal: systemPrincipal(), target: ae! });
        if (!ok) { io.err(`rampart: no peer ${ae}`); return 1; }
        io.out(`peer ${ae} removed`);
        return 0;
      }
      default: io.err(usage); return 2;
    }
  } finally {
    await node.close();
  }
}

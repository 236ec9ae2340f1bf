// The DIMSE listener: TCP and TLS ports, each connection an Association in the acceptor role.
// Limits: associations in total and per calling address; the N+1th is rejected transient
// (local limit exceeded). Every handler error stays inside its operation.
import { createHash } from 'node:crypto';
import { createServer as createTcp, type Server, type Socket } from 'node:net';
import { createServer as createTls, type TLSSocket, type TlsOptions } from 'node:tls';
import { Association, DEFAULT_ASSOCIATION_LIMITS, type AssociationLimits } from './association.js';
import type { DimseHandlers } from './handlers.js';
import { negotiate, type Service } from './negotiate.js';
import { DICOM_APPLICATION_CONTEXT, PduType, RejectReason, type AssociateRj } from './pdu/types.js';
import { DEFAULT_SCP_LIMITS, ScpSession, type ScpLimits } from './scp.js';
import type { ScuConnector } from './scu.js';

const ALL_SERVICES: ReadonlySet<Service> = new Set(['echo', 'store', 'find', 'move', 'get']);

export interface ListenerOptions {
  host: string | string[];
  port?: number;
  tlsPort?: number;
  tls?: TlsOptions;
  maxAssociations: number;
  maxAssociationsPerPeer: number;
  association: AssociationLimits;
  scp: ScpLimits;
}

export const DEFAULT_LISTENER_OPTIONS: Omit<ListenerOptions, 'host'> = {
  maxAssociations: 64,
  maxAssociationsPerPeer: 8,
  association: DEFAULT_ASSOCIATION_LIMITS,
  scp: DEFAULT_SCP_LIMITS,
};

export interface DimseListener {
  servers: Server[];
  ports: { tcp?: number; tls?: number };
  active(): number;
  close(): Promise<void>;
}

const rj = (result: number, source: number, reason: number): AssociateRj => ({ type: PduType.AssociateRj, result, source, reason });

export async function listen<S>(handlers: DimseHandlers<S>, scu: ScuConnector, opts: ListenerOptions, log: (m: string) => void = () => undefined): Promise<DimseListener> {
  const live = new Set<Association>();
  const perPeer = new Map<string, number>();

  const accept = (socket: Socket, tls: boolean) => {
    socket.setNoDelay(true);
    // Connections past the association limit still get their A-ASSOCIATE-RJ (transient), but
    // only up to twice the limit: beyond that a flood of silent sockets is closed at once.
    if (live.size >= opts.maxAssociations * 2) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? '';
    const overTotal = live.size >= opts.maxAssociations;
    const overPeer = (perPeer.get(address) ?? 0) >= opts.maxAssociationsPerPeer;
    perPeer.set(address, (perPeer.get(address) ?? 0) + 1);
    let scp: ScpSession<S> | undefined;
    let session: S | undefined;
    const assoc: Association = new Association(socket, 'acceptor', {
      onAssociateRequest: async (rq) => {
        if (overTotal || overPeer) return { reject: rj(2, 3, RejectReason.LocalLimitExceeded) };
        // DICOM has one application context (PS3.7 A.2.1); any other is refused (PS3.8 Table 9-21, reason 2).
        if (rq.applicationContext !== DICOM_APPLICATION_CONTEXT) return { reject: rj(1, 1, RejectReason.ApplicationContextNotSupported) };
        let cert: string | undefined;
        if (tls) {
          const c = (socket as TLSSocket).getPeerCertificate?.();
          if (c && c.raw) cert = createHash('sha256').update(c.raw).digest('hex').toUpperCase().match(/../g)!.join(':');
        }
        const verdict = await handlers.associate({
          callingAeTitle: rq.callingAeTitle, calledAeTitle: rq.calledAeTitle, address, port: socket.remotePort ?? 0,
          tls, clientCertFingerprint: cert, identity: rq.userInfo.userIdentity,
        });
        if (!verdict.accept) {
          log(`association from ${address} rejected: ${verdict.why}`);
          return { reject: rj(verdict.result, verdict.source, verdict.reason) };
        }
        session = verdict.session;
        // Contexts of every service we offer are accepted; what this peer may not do is answered
        // per operation with 0x0124 (refused: not authorized), which a peer can act on.
        const ac = negotiate(rq, { allowed: ALL_SERVICES, maxPduLength: opts.association.maxPduLength });
        if (verdict.identityResponse && rq.userInfo.userIdentity?.positiveResponseRequested) ac.userInfo.userIdentityResponse = verdict.identityResponse;
        scp = new ScpSession(assoc, handlers, verdict.session, verdict.allowed, scu, opts.scp);
        return { accept: ac };
      },
      onRequest: (msg) => scp?.onRequest(msg),
      onReleaseRequest: () => scp?.drained() ?? Promise.resolve(),
      onClose: () => {
        live.delete(assoc);
        const n = (perPeer.get(address) ?? 1) - 1;
        if (n <= 0) perPeer.delete(address); else perPeer.set(address, n);
        if (session !== undefined) handlers.closed?.(session);
      },
    }, opts.association);
    live.add(assoc);
  };

  const servers: Server[] = [];
  const ports: { tcp?: number; tls?: number } = {};
  const hosts = Array.isArray(opts.host) ? opts.host : [opts.host];
  const bind = (server: Server, host: string, port: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
  for (const host of hosts) {
    if (opts.port !== undefined) {
      const s = createTcp((sock) => accept(sock, false));
      ports.tcp = await bind(s, host, opts.port);
      servers.push(s);
    }
    if (opts.tlsPort !== undefined && opts.tls) {
      // ARTIM bounds the TLS handshake too (Node's default is 120 s).
      const s = createTls({ handshakeTimeout: opts.association.artimMs, ...opts.tls }, (sock) => accept(sock, true));
      // A failed handshake never reaches the DICOM layer. Node only reports a handshake timeout
      // here and leaves the socket open, so it is closed here.
      s.on('tlsClientError', (_e, sock) => sock.destroy());
      ports.tls = await bind(s, host, opts.tlsPort);
      servers.push(s);
    }
  }
  return {
    servers,
    ports,
    active: () => live.size,
    close: async () => {
      for (const a of live) a.abort('shutting down');
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

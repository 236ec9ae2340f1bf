// Starts the DIMSE door of a node: plain and TLS listeners with the configured limits, the
// SCU used for C-MOVE sub-operations, and the node's certificate when the operator gave none.
import { readFile } from 'node:fs/promises';
import type { Node } from './app.js';
import { DEFAULT_ASSOCIATION_LIMITS } from './net/association.js';
import { listen, type DimseListener } from './net/listener.js';
import { DEFAULT_PDU_LIMITS } from './net/pdu/codec.js';
import { ScuConnector } from './net/scu.js';
import { ensureCertificate } from './security/crypto/node-cert.js';

/** BCP 195 (RFC 9325) strong suites for TLS 1.2; TLS 1.3 suites are all strong. */
export const DICOM_TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
].join(':');

export async function startDimse(node: Node, log: (m: string) => void): Promise<DimseListener> {
  const c = node.config.dimse;
  const host = (c.host ?? node.config.http.host).split(',').map((h) => h.trim()).filter(Boolean);
  let tls;
  if (c.tlsPort !== null) {
    const files = c.tlsCert && c.tlsKey ? { cert: c.tlsCert, key: c.tlsKey } : await ensureCertificate(node.config.dataDir);
    tls = {
      cert: await readFile(files.cert), key: await readFile(files.key),
      minVersion: 'TLSv1.2' as const, ciphers: DICOM_TLS_CIPHERS, honorCipherOrder: true,
      // A client certificate is asked for and pinned per peer by fingerprint, so self-signed ones are fine.
      requestCert: true, rejectUnauthorized: false,
    };
  }
  const limits = {
    ...DEFAULT_ASSOCIATION_LIMITS,
    maxPduLength: c.maxPduLength, artimMs: c.artimSeconds * 1000, idleMs: c.idleSeconds * 1000,
    pdu: { ...DEFAULT_PDU_LIMITS, maxPduLength: c.maxPduLength },
  };
  const scu = new ScuConnector(() => ({ rejectUnauthorized: false, minVersion: 'TLSv1.2', ciphers: DICOM_TLS_CIPHERS }), limits);
  return listen(node.dimse, scu, {
    host, port: c.port ?? undefined, tlsPort: c.tlsPort ?? undefined, tls,
    maxAssociations: c.maxAssociations, maxAssociationsPerPeer: c.maxAssociationsPerPeer,
    association: limits, scp: { maxIdentifierBytes: 1024 * 1024, maxPendingOperations: c.maxPendingOperations },
  }, log);
}

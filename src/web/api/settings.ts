// The effective configuration as the settings page shows it, each key with what it means for
// security in plain words, and the security status page's facts (what listens where, with or
// without TLS, and which peers may talk plain DICOM). Secrets in values are never shown.
import { isLoopback, type Config } from '../../config/schema.js';
import type { PeerRecord } from '../../store/index/peer-store.js';
import type { UserView } from '../../services/admin.js';

export interface Setting { key: string; value: string; note: string }

const NOTES: Record<string, string> = {
  dataDir: 'Where images, the index and the audit trail are kept. Anyone who can read this folder can read every study: keep it on an encrypted disk, owned by the service account only.',
  'http.host': 'The address the web app and DICOMweb listen on. Anything but loopback is reachable from the network and then always uses HTTPS.',
  'http.port': 'The web port.',
  'http.tls': 'Forces HTTPS even on loopback. Passwords and images cross the network encrypted only with HTTPS.',
  'http.tlsCert': 'Your certificate for HTTPS. Without one, a self-signed certificate is generated, which browsers warn about.',
  'http.tlsKey': 'The private key of that certificate; it must be readable by the service account only.',
  'dicomweb.prefix': 'The path DICOMweb answers under. Every request there needs credentials.',
  'dicomweb.maxBodyBytes': 'The largest upload accepted; limits how much one client can make the server read.',
  'dicomweb.maxPartsPerRequest': 'The most objects in one upload.',
  'dicomweb.maxResults': 'The most rows one search answers; limits how much one query can pull out at once.',
  'storage.overwrite': 'What happens when an object arrives again with other content. "reject" keeps the first copy, so nobody can silently replace an image.',
  'storage.maxInstanceBytes': 'The largest single object accepted.',
  'index.url': 'The database of the index. Its password is not shown here.',
  'dimse.enabled': 'Whether the DICOM network ports (for modalities and other PACS) are open at all.',
  'dimse.aeTitle': 'The AE title peers must call. Associations calling another title are refused.',
  'dimse.host': 'The addresses the DICOM ports listen on.',
  'dimse.port': 'The plain DICOM port. Traffic on it is not encrypted: prefer the TLS port, and allow only peers that cannot do TLS here.',
  'dimse.tlsPort': 'The DICOM TLS port (PS3.15 B.12): encrypted and, with pinned certificates, authenticated.',
  'dimse.tlsCert': 'The certificate of the DICOM TLS port.',
  'dimse.tlsKey': 'Its private key.',
  'dimse.maxAssociations': 'The most DICOM connections at once; bounds what a misbehaving peer can hold open.',
  'dimse.maxAssociationsPerPeer': 'The most connections one peer may hold.',
  'dimse.maxPduLength': 'The largest DICOM message fragment accepted.',
  'dimse.artimSeconds': 'How long a connection may wait before it negotiates.',
  'dimse.idleSeconds': 'How long an idle association stays open.',
  'dimse.maxPendingOperations': 'The most operations a peer may have in flight.',
  'dimse.requireIdentity': 'Every peer must present a user name and password or a token; knowing an AE title alone is then not enough.',
  'dimse.identityRequiresTls': 'Passwords sent by peers are refused over plain DICOM, where anyone on the path could read them.',
  'dimse.maxRetrieveInstances': 'The most objects one C-MOVE or C-GET may send.',
};

function flatten(o: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]]);
}

/** A database URL without its password. */
export function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return u === 'sqlite' ? u : '(not shown)';
  }
}

export function describeSettings(config: Readonly<Config>): Setting[] {
  return flatten(config as unknown as Record<string, unknown>).map(([key, v]) => ({
    key,
    value: key === 'index.url' ? redactUrl(String(v)) : v === null ? '(not set)' : String(v),
    note: NOTES[key] ?? '',
  }));
}

export interface Exposure { service: string; address: string; encrypted: boolean; note: string }
export interface SecurityStatus {
  exposures: Exposure[];
  plainDicomPeers: { aeTitle: string; host: string; allow: string[] }[];
  disabledUsers: number;
  usersWithoutMfa: string[] | null; // null: this build does not know MFA state yet
  findings: { level: 'high' | 'medium' | 'info'; text: string }[];
}

export function securityStatus(config: Readonly<Config>, httpTls: boolean, peers: PeerRecord[], users: UserView[], withoutMfa: string[] | null): SecurityStatus {
  const exposures: Exposure[] = [];
  const findings: SecurityStatus['findings'] = [];
  const web = `${config.http.host}:${config.http.port}`;
  exposures.push({ service: 'web app and DICOMweb', address: web, encrypted: httpTls, note: httpTls ? 'HTTPS' : 'plain HTTP (loopback only)' });
  if (!httpTls && !isLoopback(config.http.host)) findings.push({ level: 'high', text: 'The web port listens beyond loopback without TLS.' });
  if (config.dimse.enabled) {
    const host = config.dimse.host ?? config.http.host;
    const local = host.split(',').every((h) => isLoopback(h.trim()));
    if (config.dimse.port !== null) {
      exposures.push({ service: 'DICOM (plain)', address: `${host}:${config.dimse.port}`, encrypted: false, note: local ? 'loopback only' : 'reachable from the network, unencrypted' });
      if (!local) findings.push({ level: 'medium', text: 'The plain DICOM port is reachable from the network: images cross it unencrypted.' });
    }
    if (config.dimse.tlsPort !== null) exposures.push({ service: 'DICOM TLS', address: `${host}:${config.dimse.tlsPort}`, encrypted: true, note: 'PS3.15 B.12 profile' });
    if (!config.dimse.requireIdentity) findings.push({ level: 'info', text: 'DICOM peers are trusted by AE title and address; they need not present a user identity.' });
  }
  const plain = peers.filter((p) => !p.tls).map((p) => ({ aeTitle: p.aeTitle, host: p.host, allow: p.allow }));
  if (plain.length) findings.push({ level: 'medium', text: `${plain.length} DICOM peer(s) may connect without TLS.` });
  if (withoutMfa?.length) findings.push({ level: 'medium', text: `${withoutMfa.length} account(s) sign in without a second factor.` });
  return { exposures, plainDicomPeers: plain, disabledUsers: users.filter((u) => u.disabled).length, usersWithoutMfa: withoutMfa, findings };
}

// The finding catalogue: each kind of exposure the scan reports, with its stable id, its
// severity (high: patient data readable or writable by a stranger; medium: any AE accepted,
// no TLS, version disclosed; low and info otherwise) and the fix in plain words.
import type { Finding, Severity } from './types.js';

interface Entry { severity: Severity; title: string; fix: string }

export const CATALOGUE = {
  'dicom-query-open': {
    severity: 'high', title: 'Patient records can be queried by anyone (C-FIND from an unknown AE)',
    fix: 'Accept C-FIND only from registered calling AE titles, checked together with their IP address; better, require DICOM TLS with client certificates or user identity negotiation. In DCMTK dcmqrscp, list the allowed peers in the AETable instead of ANY; in Orthanc set DicomCheckCalledAet and register modalities; in Rampart add each peer with `rampart peer add`.',
  },
  'dicom-store-open': {
    severity: 'high', title: 'Anyone can store objects (storage accepted from an unknown AE)',
    fix: 'Accept C-STORE only from registered modalities (AE title and address), over DICOM TLS where the network is not trusted. A stranger who can store can plant or overwrite images. (The scan only saw the storage contexts accepted; it never stored anything.)',
  },
  'dicom-retrieve-open': {
    severity: 'high', title: 'Anyone can retrieve images (C-GET from an unknown AE is not refused)',
    fix: 'Refuse C-GET (and C-MOVE) to calling AE titles that are not registered, or require user identity over DICOM TLS. (The scan asked only for a study that does not exist; it retrieved nothing.)',
  },
  'dicom-move-unchecked': {
    severity: 'medium', title: 'C-MOVE to an unknown destination AE was not refused',
    fix: 'Configure the archive to send C-MOVE results only to destinations it knows (status 0xA801 for any other), never to an address taken from the request.',
  },
  'dicom-any-ae': {
    severity: 'medium', title: 'Any AE title is accepted (made-up calling and called AE titles)',
    fix: 'Check the called AE title and accept only registered calling AE titles from their registered addresses. nmap dicom-ping reports such a server as "Any AET is accepted (Insecure)".',
  },
  'dicom-default-ae': {
    severity: 'medium', title: 'A well-known default AE title opens an association from an unknown calling AE',
    fix: 'Change the default called AE title and, above all, accept only registered calling AE titles (with their addresses): a default title is the first thing a scanner tries.',
  },
  'dicom-version-disclosed': {
    severity: 'medium', title: 'The DICOM implementation version is disclosed to a stranger',
    fix: 'A version name tells an attacker which known vulnerabilities to try. Keep the software current and refuse associations from unknown AE titles, so that strangers never see the A-ASSOCIATE-AC that carries it.',
  },
  'dicom-implementation-disclosed': {
    severity: 'info', title: 'The DICOM implementation class UID is visible to a stranger',
    fix: 'The implementation class UID names the software. It is required in the A-ASSOCIATE-AC; only refusing unknown AE titles keeps it from strangers.',
  },
  'dicom-plain': {
    severity: 'medium', title: 'DICOM without TLS',
    fix: 'Plain DICOM sends patient data and AE titles in clear. Offer DICOM TLS (port 2762, PS3.15 B.12) and move peers to it; keep a plain port only on loopback or an isolated modality network.',
  },
  'dicom-plain-beside-tls': {
    severity: 'low', title: 'Plain DICOM is open beside DICOM TLS',
    fix: 'Once every peer speaks TLS, turn the plain port off (Rampart: dimse.port null), or limit it to loopback, so that a peer cannot fall back to clear text.',
  },
  'dicom-called-ae-revealed': {
    severity: 'low', title: 'The rejection reason confirms the right called AE title',
    fix: 'A stranger learns the called AE title from the A-ASSOCIATE-RJ reason (7 for a wrong called AE title, 3 once it is right) and can then guess calling AE titles. Harmless while calling AE titles are checked together with their addresses; to give nothing away, answer every refusal with the same reason (1, no reason given), which PS3.8 allows.',
  },
  'dicom-rejects-unknown': {
    severity: 'info', title: 'Unknown AE titles are rejected',
    fix: 'Nothing to do: keep registering each peer with its address.',
  },
  'tls-old-protocol': {
    severity: 'medium', title: 'TLS 1.0 or 1.1 is accepted',
    fix: 'Allow TLS 1.2 and 1.3 only (BCP 195, RFC 8996; PS3.15 B.12).',
  },
  'tls-weak-suites': {
    severity: 'low', title: 'TLS suites outside BCP 195 are accepted (no forward secrecy or CBC mode)',
    fix: 'Offer only ECDHE suites with AES-GCM or ChaCha20-Poly1305 for TLS 1.2 (RFC 9325).',
  },
  'tls-not-tested': {
    severity: 'info', title: 'Some TLS versions could not be tested from this machine',
    fix: 'The local TLS library refuses to offer them. Test from a client that still can (for example `openssl s_client -tls1` with a legacy security level) if the answer matters.',
  },
  'tls-cert-expired': {
    severity: 'medium', title: 'The TLS certificate has expired or is not yet valid',
    fix: 'Install a current certificate; peers that verify will refuse the connection, and peers that do not verify are not protected.',
  },
  'tls-cert-expiring': {
    severity: 'low', title: 'The TLS certificate expires within 30 days',
    fix: 'Renew the certificate before it expires.',
  },
  'tls-cert-self-signed': {
    severity: 'low', title: 'The TLS certificate is self-signed',
    fix: 'Peers can only trust it by pinning it (Rampart pins by SHA-256 fingerprint). Use a certificate from your organisation\'s CA where peers verify against a CA.',
  },
  'tls-cert-untrusted': {
    severity: 'low', title: 'The TLS certificate is not trusted by this machine',
    fix: 'Use a certificate from a CA the peers trust, or give peers the CA (or pin the certificate).',
  },
  'tls-cert-hostname': {
    severity: 'low', title: 'The TLS certificate does not name the scanned host',
    fix: 'Put every name and address peers use in the certificate\'s subjectAltName.',
  },
  'http-qido-open': {
    severity: 'high', title: 'DICOMweb search (QIDO-RS) answers without credentials',
    fix: 'Require authentication on every DICOMweb route (tokens or OIDC); never leave the archive\'s web API open "because it is on the internal network".',
  },
  'http-admin-open': {
    severity: 'medium', title: 'An administration or viewer endpoint answers without credentials',
    fix: 'Turn on authentication for the web interface and REST API (Orthanc: AuthenticationEnabled with RemoteAccessAllowed; dcm4chee: the secured archive with Keycloak), or keep it on loopback behind an authenticating proxy.',
  },
  'http-patients-open': {
    severity: 'high', title: 'A REST API lists patients without credentials',
    fix: 'Turn on authentication for the REST API (Orthanc: AuthenticationEnabled, and no default users), or keep it on loopback behind an authenticating proxy.',
  },
  'http-default-credentials': {
    severity: 'high', title: 'A default username and password are accepted',
    fix: 'Change the password at once, remove default accounts, and check the audit trail for logins with them.',
  },
  'http-plain': {
    severity: 'medium', title: 'HTTP without TLS',
    fix: 'Serve the web interface and DICOMweb over HTTPS only (Rampart does so on any address but loopback); redirect or close plain HTTP.',
  },
  'http-version-disclosed': {
    severity: 'medium', title: 'The web server discloses its software version',
    fix: 'Remove the version from the Server and X-Powered-By headers (nginx: server_tokens off; Apache: ServerTokens Prod).',
  },
  'http-authentication-required': {
    severity: 'info', title: 'The web endpoint requires authentication',
    fix: 'Nothing to do.',
  },
  'port-unknown': {
    severity: 'info', title: 'An open port that speaks neither DICOM nor HTTP',
    fix: 'Check what listens there and whether it needs to be reachable.',
  },
  'probe-incomplete': {
    severity: 'info', title: 'A probe could not complete',
    fix: 'Re-run the scan; if it persists, check the target by hand (timeouts and dropped connections are not proof of safety).',
  },
  'config-plain-dimse-beyond-loopback': {
    severity: 'medium', title: 'Plain DICOM listens beyond loopback',
    fix: 'Set dimse.port to null (DICOM TLS only) or bind dimse.host to loopback or an isolated modality network, and register peers with --tls.',
  },
  'config-peer-without-tls': {
    severity: 'low', title: 'Peers may connect without TLS',
    fix: 'Re-register the peer with `rampart peer add AET ... --tls` (and --cert-fingerprint to pin its certificate) once it speaks DICOM TLS.',
  },
  'config-identity-without-tls': {
    severity: 'medium', title: 'User identities (passwords, tokens) are accepted over plain DICOM',
    fix: 'Set dimse.identityRequiresTls to true (the default): a password or token sent in clear can be read on the network.',
  },
  'config-identity-not-required': {
    severity: 'info', title: 'Peers are trusted by AE title and address, without a user identity',
    fix: 'Where peers support it, require user identity (dimse.requireIdentity, or `rampart peer add ... --require-identity`) so that access is tied to a person or service account.',
  },
  'config-http-beyond-loopback': {
    severity: 'info', title: 'The web door listens beyond loopback (HTTPS)',
    fix: 'Nothing to do if the network needs it; HTTPS is on.',
  },
} as const satisfies Record<string, Entry>;

export type FindingId = keyof typeof CATALOGUE;

/** A finding of a catalogue kind; the severity may be lowered (never raised past high) for context, e.g. loopback. */
export function finding(id: FindingId, target: string, evidence: string[], opts: { severity?: Severity; title?: string } = {}): Finding {
  const e: Entry = CATALOGUE[id];
  return { id, severity: opts.severity ?? e.severity, title: opts.title ?? e.title, target, evidence, fix: e.fix };
}

/** Peer-controlled text (AE titles, banners, version names) made safe for a terminal and bounded. */
export function clean(s: string, max = 64): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[^\x20-\x7e]/g, '?').trim();
  return t.length > max ? t.slice(0, max) + '...' : t;
}

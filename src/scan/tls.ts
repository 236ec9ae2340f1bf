// TLS as a port offers it: each protocol version tried on its own (minVersion = maxVersion),
// the suite chosen for the client's defaults, suites outside BCP 195 (RFC 9325) that the server
// still agrees to, and the certificate (validity, self-signed, trusted, names the host). When
// this machine's TLS library will not offer a version, the answer is "not tested", never "refused".
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, connect, rootCertificates, type ConnectionOptions, type PeerCertificate, type SecureVersion } from 'node:tls';
import { clean, finding } from './findings.js';
import type { Finding, TlsInfo, TlsVersionResult } from './types.js';

const VERSIONS: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Errors that say the server would not take what we offered. */
const REFUSED = new Set([
  'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_TLSV1_ALERT_INSUFFICIENT_SECURITY', 'ERR_SSL_NO_SHARED_CIPHER', 'ECONNRESET',
]);
/** Errors that come from our own side's policy: the version or suite could not be offered. */
const NOT_TESTABLE = new Set([
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE', 'ERR_SSL_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED', 'ERR_SSL_NO_CIPHERS_AVAILABLE',
  'ERR_SSL_NO_CIPHER_MATCH', 'ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED', 'ERR_SSL_CA_MD_TOO_WEAK', 'ERR_SSL_EE_KEY_TOO_SMALL',
]);

/** TLS 1.2 suite families BCP 195 does not recommend: RSA key exchange (no forward secrecy), CBC mode. */
const WEAK_SUITES: { label: string; ciphers: string }[] = [
  { label: 'RSA key exchange (no forward secrecy)', ciphers: 'kRSA:@SECLEVEL=0' },
  { label: 'CBC-mode suites', ciphers: 'ECDHE+AES+SHA:ECDHE+AES+SHA256:ECDHE+AES+SHA384:DHE+AES+SHA:@SECLEVEL=0' },
  { label: '3DES', ciphers: '3DES:@SECLEVEL=0' },
];

interface Hello { ok: boolean; code?: string; protocol?: string | null; cipher?: string; cert?: PeerCertificate; authorized?: boolean; authError?: string }

function hello(address: string, port: number, servername: string | undefined, opts: ConnectionOptions, timeoutMs: number): Promise<Hello> {
  return new Promise((resolve) => {
    let done = false;
    let s: ReturnType<typeof connect>;
    try {
      s = connect({ host: address, port, servername, rejectUnauthorized: false, ...opts }, () => onSecure());
    } catch (e) {
      // Thrown before any byte is sent: this side cannot offer it (e.g. no cipher match).
      resolve({ ok: false, code: (e as NodeJS.ErrnoException).code ?? 'ERR_SSL_NO_CIPHER_MATCH' });
      return;
    }
    const onSecure = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const out: Hello = { ok: true, protocol: s.getProtocol(), cipher: s.getCipher()?.name, cert: s.getPeerCertificate(true), authorized: s.authorized, authError: s.authorizationError ? String(s.authorizationError) : undefined };
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(() => { if (!done) { done = true; s.destroy(); resolve({ ok: false, code: 'timeout' }); } }, timeoutMs);
    s.on('error', (e: NodeJS.ErrnoException) => { if (!done) { done = true; clearTimeout(timer); resolve({ ok: false, code: e.code ?? e.message }); } });
    s.on('close', () => { if (!done) { done = true; clearTimeout(timer); resolve({ ok: false, code: 'ECONNRESET' }); } });
  });
}

function judge(h: Hello): TlsVersionResult['result'] {
  if (h.ok) return 'accepted';
  if (h.code && NOT_TESTABLE.has(h.code)) return 'not-tested';
  if (h.code && (REFUSED.has(h.code) || /ALERT/.test(h.code))) return 'refused';
  return 'not-tested';
}

export async function probeTls(address: string, port: number, host: string, target: string, timeoutMs: number, beforeConnect: () => Promise<void>): Promise<{ info: TlsInfo; findings: Finding[] }> {
  const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
  const info: TlsInfo = { versions: [], weakSuitesAccepted: [] };
  const findings: Finding[] = [];
  for (const v of VERSIONS) {
    await beforeConnect();
    // Old versions need the legacy security level on this side, or OpenSSL 3 will not even offer them.
    const h = await hello(address, port, servername, { minVersion: v, maxVersion: v, ciphers: v === 'TLSv1.3' ? undefined : 'ALL:@SECLEVEL=0' }, timeoutMs);
    const r: TlsVersionResult = { version: v, result: judge(h) };
    if (h.ok && h.cipher) r.cipher = h.cipher;
    if (!h.ok && h.code) r.detail = h.code;
    info.versions.push(r);
  }
  await beforeConnect();
  const def = await hello(address, port, servername, { ca: [...rootCertificates] }, timeoutMs);
  if (def.ok) info.negotiated = { protocol: def.protocol ?? '?', cipher: def.cipher ?? '?' };
  if (info.versions.find((x) => x.version === 'TLSv1.2')?.result === 'accepted') {
    for (const w of WEAK_SUITES) {
      await beforeConnect();
      const h = await hello(address, port, servername, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: w.ciphers }, timeoutMs);
      if (h.ok) info.weakSuitesAccepted.push(`${w.label}: ${h.cipher}`);
    }
  }
  const old = info.versions.filter((x) => (x.version === 'TLSv1' || x.version === 'TLSv1.1') && x.result === 'accepted');
  if (old.length) findings.push(finding('tls-old-protocol', target, old.map((x) => `-> ClientHello ${x.version} only <- accepted, ${x.cipher ?? ''}`)));
  const untested = info.versions.filter((x) => x.result === 'not-tested');
  if (untested.length) findings.push(finding('tls-not-tested', target, untested.map((x) => `${x.version}: ${x.detail ?? 'not tested'} (this client's TLS library would not offer it)`)));
  if (info.weakSuitesAccepted.length) findings.push(finding('tls-weak-suites', target, info.weakSuitesAccepted.map((s) => `-> TLS 1.2 offering only ${s.split(':')[0]} <- accepted ${s.split(': ')[1]}`)));

  const cert = def.cert ?? (await anyCert(address, port, servername, timeoutMs, beforeConnect));
  if (cert?.raw) {
    const x = new X509Certificate(cert.raw);
    const now = Date.now();
    const validFrom = new Date(x.validFrom), validTo = new Date(x.validTo);
    const selfSigned = x.checkIssued(x) && x.verify(x.publicKey);
    const names = servername ?? address;
    const hostnameMatches = checkServerIdentity(names, cert) === undefined;
    info.certificate = {
      subject: clean(x.subject.replace(/\n/g, ', '), 200), issuer: clean(x.issuer.replace(/\n/g, ', '), 200),
      validFrom: validFrom.toISOString(), validTo: validTo.toISOString(), selfSigned, hostnameMatches,
      trusted: def.ok && def.authorized === true, fingerprint256: x.fingerprint256,
    };
    const c = info.certificate;
    const line = `certificate subject "${c.subject}", issuer "${c.issuer}", valid ${c.validFrom} to ${c.validTo}, SHA-256 ${c.fingerprint256}`;
    if (now > validTo.getTime() || now < validFrom.getTime()) findings.push(finding('tls-cert-expired', target, [line]));
    else if (validTo.getTime() - now < 30 * 86_400_000) findings.push(finding('tls-cert-expiring', target, [line]));
    if (selfSigned) findings.push(finding('tls-cert-self-signed', target, [line]));
    else if (!c.trusted) findings.push(finding('tls-cert-untrusted', target, [line, `verification: ${clean(def.authError ?? 'not trusted')}`]));
    if (!hostnameMatches) findings.push(finding('tls-cert-hostname', target, [line, `the certificate does not name ${names}`]));
  }
  return { info, findings };
}

async function anyCert(address: string, port: number, servername: string | undefined, timeoutMs: number, beforeConnect: () => Promise<void>): Promise<PeerCertificate | undefined> {
  await beforeConnect();
  const h = await hello(address, port, servername, { minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' }, timeoutMs);
  return h.cert;
}

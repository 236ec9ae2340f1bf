// The node's own TLS certificate (self-signed, P-256), made on first start when the operator
// gave none, for HTTPS beyond loopback and for DICOM TLS. Kept in DATA/tls, readable by us only.
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export async function ensureCertificate(dataDir: string): Promise<{ cert: string; key: string }> {
  const dir = join(dataDir, 'tls');
  const cert = join(dir, 'node-cert.pem'), key = join(dir, 'node-key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '825', '-subj', '/CN=rampart', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  }
  return { cert, key };
}

/** SHA-256 fingerprint of a PEM certificate as AA:BB:..., the form `peer add --cert-fingerprint` takes. */
export async function certificateFingerprint(pemFile: string): Promise<string> {
  const x = new X509Certificate(await readFile(pemFile));
  return createHash('sha256').update(x.raw).digest('hex').toUpperCase().match(/../g)!.join(':');
}

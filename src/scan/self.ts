// `rampart scan --self`: the running node's own listening addresses probed like any target,
// plus what its configuration and peer list say; the last result is kept in
// DATA/scan/last-self-scan.json (0600) for the security page of the web app.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isLoopback, type Config } from '../config/schema.js';
import { finding } from './findings.js';
import { isLoopbackAddress, type ScanTarget } from './targets.js';
import type { WebTarget } from './scan.js';
import type { Finding, ScanReport } from './types.js';

/** What the scan needs to know of a registered peer (the peer store's record has these fields). */
export interface PeerFacts { aeTitle: string; host: string; tls: boolean; certFingerprint: string | null; requireIdentity: boolean; allow: readonly string[] }

const ANY = new Set(['0.0.0.0', '::', '']);
/** An address to reach a listener bound to host from this machine. */
const reachable = (host: string): string => (host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host === 'localhost' ? '127.0.0.1' : host);

export interface SelfPlan { inputs: string[]; targets: ScanTarget[]; web: WebTarget[]; calledAes: string[]; findings: Finding[] }

export function selfPlan(c: Readonly<Config>, peers: readonly PeerFacts[]): SelfPlan {
  const findings: Finding[] = [];
  const targets: ScanTarget[] = [];
  const inputs: string[] = [];
  if (c.dimse.enabled) {
    const hosts = (c.dimse.host ?? c.http.host).split(',').map((h) => h.trim()).filter(Boolean);
    for (const host of hosts) {
      const ports = [c.dimse.port, c.dimse.tlsPort].filter((p): p is number => p !== null && p > 0);
      if (!ports.length) continue;
      targets.push({ input: host, host, address: reachable(host), ports });
      inputs.push(`${host}:${ports.join(',')}`);
      if (c.dimse.port !== null && !isLoopback(host)) {
        findings.push(finding('config-plain-dimse-beyond-loopback', 'config', [`dimse.host "${host}", dimse.port ${c.dimse.port}${ANY.has(host) ? ' (every address of this machine)' : ''}`]));
      }
    }
  }
  const httpTls = c.http.tls || !isLoopback(c.http.host) || c.http.tlsCert !== null;
  const httpHost = reachable(c.http.host);
  const web: WebTarget[] = c.http.port > 0
    ? [{ url: new URL(`${httpTls ? 'https' : 'http'}://${httpHost.includes(':') ? `[${httpHost}]` : httpHost}:${c.http.port}/`), address: httpHost }]
    : [];
  inputs.push(...web.map((w) => w.url.toString()));
  if (!isLoopback(c.http.host)) findings.push(finding('config-http-beyond-loopback', 'config', [`http.host "${c.http.host}", HTTPS with ${c.http.tlsCert ? 'the operator\'s certificate' : 'the node\'s own certificate'}`]));

  const plainPeers = peers.filter((p) => !p.tls);
  if (plainPeers.length) {
    const remote = plainPeers.filter((p) => !isLoopbackAddress(p.host) && p.host !== 'localhost');
    findings.push(finding('config-peer-without-tls', 'config', plainPeers.map((p) => `peer "${p.aeTitle}" from ${p.host}: plain DICOM allowed (${p.allow.join(',')})`),
      remote.length ? {} : { severity: 'info' }));
  }
  if (!c.dimse.identityRequiresTls) findings.push(finding('config-identity-without-tls', 'config', ['dimse.identityRequiresTls is false']));
  if (!c.dimse.requireIdentity && peers.some((p) => !p.requireIdentity)) {
    findings.push(finding('config-identity-not-required', 'config', [`dimse.requireIdentity is false; ${peers.filter((p) => !p.requireIdentity).length} of ${peers.length} peer(s) without --require-identity`]));
  }
  return { inputs, targets, web, calledAes: [c.dimse.aeTitle], findings };
}

/** Probed endpoints that did not answer: the node is probably not running. */
export function notListening(r: ScanReport): Finding[] {
  const closed = r.endpoints.filter((e) => e.state !== 'open');
  return closed.length
    ? [finding('probe-incomplete', 'config', closed.map((e) => `nothing answers on ${e.address}:${e.port} (${e.state}): is \`rampart serve\` running with this configuration?`))]
    : [];
}

const fileOf = (dataDir: string) => join(dataDir, 'scan', 'last-self-scan.json');

/** Keeps the report for the web app's security page; written whole (temp file and rename). */
export async function writeLastSelfScan(dataDir: string, r: ScanReport): Promise<string> {
  const dir = join(dataDir, 'scan');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = fileOf(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(r, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
  return file;
}

/** The last self-scan, or undefined when none has run. */
export async function readLastSelfScan(dataDir: string): Promise<ScanReport | undefined> {
  try {
    return JSON.parse(await readFile(fileOf(dataDir), 'utf8')) as ScanReport;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

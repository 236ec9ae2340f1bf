// Runs a scan: every named endpoint (host x port) and web URL, a few at a time and at a bounded
// connection rate, each probed by what it turns out to speak; then the findings, worst first.
import { readFileSync } from 'node:fs';
import { probeDicom } from './dicom-assoc.js';
import { finding } from './findings.js';
import { probeHttp } from './http.js';
import { Limiter } from './limiter.js';
import { PERMISSIVE_TLS, sniff, type Sniffed } from './sniff.js';
import { endpointName, isLoopbackAddress, type ScanTarget } from './targets.js';
import { probeTls } from './tls.js';
import { SEVERITIES, severityRank, type Endpoint, type Finding, type HttpInfo, type ScanReport } from './types.js';

export interface WebTarget { url: URL; address: string }

export interface ScanOptions {
  mode: 'targets' | 'self';
  inputs: string[];
  targets: ScanTarget[];
  web: WebTarget[];
  /** Called AE titles to try before the well-known defaults. */
  calledAes?: string[];
  tryDefaultCredentials?: boolean;
  /** Per connection and per answer. */
  timeoutMs?: number;
  /** New connections per second, across the scan. */
  rate?: number;
  /** Endpoints probed at once. */
  concurrency?: number;
  /** A universal C-FIND is cancelled after this many records. */
  maxFindRecords?: number;
  onProgress?: (done: number, total: number, current: string) => void;
  /** Findings made without probing (the configuration, for --self). */
  extraFindings?: Finding[];
}

export const SCAN_DEFAULTS = { timeoutMs: 5000, rate: 20, concurrency: 4, maxFindRecords: 10_000 } as const;

function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function runScan(o: ScanOptions): Promise<ScanReport> {
  const startedAt = new Date().toISOString();
  const timeoutMs = o.timeoutMs ?? SCAN_DEFAULTS.timeoutMs;
  const limiter = new Limiter(o.rate ?? SCAN_DEFAULTS.rate, o.concurrency ?? SCAN_DEFAULTS.concurrency);
  const beforeConnect = () => limiter.connection();
  const jobs: ({ kind: 'port'; t: ScanTarget; port: number } | { kind: 'web'; w: WebTarget })[] = [
    ...o.targets.flatMap((t) => t.ports.map((port) => ({ kind: 'port' as const, t, port }))),
    ...o.web.map((w) => ({ kind: 'web' as const, w })),
  ];
  let done = 0;
  const findings: Finding[] = [...(o.extraFindings ?? [])];
  const endpoints: Endpoint[] = [];
  const web: HttpInfo[] = [];
  await limiter.map(jobs, async (job) => {
    const label = job.kind === 'port' ? endpointName(job.t.address, job.port) : job.w.url.toString();
    o.onProgress?.(done, jobs.length, label);
    try {
      if (job.kind === 'port') {
        const r = await probePort(job.t, job.port, o, timeoutMs, beforeConnect);
        endpoints.push(r.endpoint);
        findings.push(...r.findings);
      } else {
        const h = await probeHttp(job.w.url, { address: job.w.address, timeoutMs, tryDefaultCredentials: o.tryDefaultCredentials ?? false, beforeConnect });
        web.push(h.info);
        findings.push(...h.findings);
        if (job.w.url.protocol === 'https:') {
          const port = Number(job.w.url.port || 443);
          findings.push(...(await probeTls(job.w.address, port, job.w.url.hostname, endpointName(job.w.address, port), timeoutMs, beforeConnect)).findings);
        }
      }
    } catch (e) {
      findings.push(finding('probe-incomplete', label, [`the probe stopped: ${(e as Error).message}`]));
    }
    done++;
    o.onProgress?.(done, jobs.length, label);
  });
  findings.push(...plainBesideTls(endpoints));
  endpoints.sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
  return withFindings({
    format: 'rampart-scan/1', tool: { name: 'rampart', version: toolVersion() }, mode: o.mode, startedAt, finishedAt: new Date().toISOString(),
    targets: o.inputs, endpoints, web, findings: [], summary: { high: 0, medium: 0, low: 0, info: 0 },
  }, findings);
}

/** The report with these findings added, sorted worst first, and the summary counted again. */
export function withFindings(r: ScanReport, more: Finding[]): ScanReport {
  const findings = [...r.findings, ...more];
  findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.target.localeCompare(b.target) || a.id.localeCompare(b.id));
  const summary = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length])) as ScanReport['summary'];
  return { ...r, findings, summary };
}

async function probePort(t: ScanTarget, port: number, o: ScanOptions, timeoutMs: number, beforeConnect: () => Promise<void>): Promise<{ endpoint: Endpoint; findings: Finding[] }> {
  const target = endpointName(t.address, port);
  const endpoint: Endpoint = { host: t.host, address: t.address, port, state: 'filtered', errors: [] };
  const findings: Finding[] = [];
  const s = await sniff(t.address, port, t.host, timeoutMs, beforeConnect);
  endpoint.state = s.state;
  if (s.state !== 'open') {
    if (s.state === 'filtered') endpoint.errors.push(...s.log);
    return { endpoint, findings };
  }
  endpoint.kind = s.kind;
  try {
    await probeOpenPort(t, port, s, endpoint, findings, o, timeoutMs, beforeConnect);
  } catch (e) {
    // What was learnt before the failure stays in the report; the failure is said, not hidden.
    endpoint.errors.push((e as Error).message);
    findings.push(finding('probe-incomplete', target, [`the ${s.kind} probe stopped: ${(e as Error).message}`]));
  }
  return { endpoint, findings };
}

async function probeOpenPort(t: ScanTarget, port: number, s: Sniffed, endpoint: Endpoint, findings: Finding[], o: ScanOptions, timeoutMs: number, beforeConnect: () => Promise<void>): Promise<void> {
  const target = endpointName(t.address, port);
  const loop = isLoopbackAddress(t.address);
  const assocOpts = { address: t.address, port, target, timeoutMs, calledAes: o.calledAes ?? [], maxFindRecords: o.maxFindRecords ?? SCAN_DEFAULTS.maxFindRecords, beforeConnect };
  switch (s.kind) {
    case 'dicom': {
      const d = await probeDicom(assocOpts, s);
      endpoint.dicom = d.info;
      findings.push(...d.findings);
      findings.push(finding('dicom-plain', target, [
        `-> A-ASSOCIATE-RQ in clear text <- ${d.info.firstAnswer}`,
        ...(loop ? ['the address is loopback: the traffic never leaves this machine'] : []),
      ], loop ? { severity: 'low' } : {}));
      break;
    }
    case 'dicom-tls': {
      const d = await probeDicom({ ...assocOpts, tls: { ...PERMISSIVE_TLS, servername: undefined } }, s);
      endpoint.dicom = d.info;
      findings.push(...d.findings);
      const tls = await probeTls(t.address, port, t.host, target, timeoutMs, beforeConnect);
      endpoint.tls = tls.info;
      findings.push(...tls.findings);
      break;
    }
    case 'http': case 'https': {
      const url = new URL(`${s.kind}://${t.address.includes(':') ? `[${t.address}]` : t.address}:${port}/`);
      const h = await probeHttp(url, { address: t.address, timeoutMs, tryDefaultCredentials: o.tryDefaultCredentials ?? false, beforeConnect });
      endpoint.http = h.info;
      findings.push(...h.findings);
      if (s.kind === 'https') {
        const tls = await probeTls(t.address, port, t.host, target, timeoutMs, beforeConnect);
        endpoint.tls = tls.info;
        findings.push(...tls.findings);
      }
      break;
    }
    case 'tls': {
      const tls = await probeTls(t.address, port, t.host, target, timeoutMs, beforeConnect);
      endpoint.tls = tls.info;
      findings.push(...tls.findings, finding('port-unknown', target, ['TLS, but neither DICOM nor HTTP inside', ...s.log]));
      break;
    }
    default:
      findings.push(finding('port-unknown', target, s.log));
  }
}

/** A host with plain DICOM and DICOM TLS both open. */
function plainBesideTls(endpoints: Endpoint[]): Finding[] {
  const out: Finding[] = [];
  const byAddress = new Map<string, Endpoint[]>();
  for (const e of endpoints) byAddress.set(e.address, [...(byAddress.get(e.address) ?? []), e]);
  for (const [address, list] of byAddress) {
    const plain = list.filter((e) => e.kind === 'dicom');
    const tls = list.filter((e) => e.kind === 'dicom-tls');
    if (plain.length && tls.length) {
      out.push(finding('dicom-plain-beside-tls', address, [`plain DICOM on port ${plain.map((e) => e.port).join(', ')}, DICOM TLS on port ${tls.map((e) => e.port).join(', ')}`],
        isLoopbackAddress(address) ? { severity: 'info' } : {}));
    }
  }
  return out;
}

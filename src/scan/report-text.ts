// The report for people: one line per endpoint, then the findings worst first, each with its
// evidence and its fix. Everything printed is either ours or cleaned peer text (findings.ts).
import { endpointName } from './targets.js';
import type { Endpoint, Finding, ScanReport } from './types.js';

const KIND: Record<string, string> = { dicom: 'DICOM', 'dicom-tls': 'DICOM TLS', http: 'HTTP', https: 'HTTPS', tls: 'TLS (unknown inside)', unknown: 'unknown protocol' };

function endpointLine(e: Endpoint): string {
  const where = endpointName(e.address, e.port).padEnd(22);
  if (e.state !== 'open') return `${where} ${e.state}`;
  const parts: string[] = [KIND[e.kind ?? 'unknown'] ?? 'unknown'];
  if (e.dicom) {
    const d = e.dicom;
    if (d.anyCalledAeAccepted) parts.push('accepts any AE title');
    else if (d.acceptedCalledAe) parts.push(`accepts any calling AE title for called AE "${d.acceptedCalledAe}"`);
    else parts.push('rejects unknown AE titles');
    if (d.acceptedServices.length) parts.push(`services: ${d.acceptedServices.join(', ')}`);
    if (d.findCounts) parts.push(`C-FIND returned ${[d.findCounts.patient !== undefined ? `${d.findCounts.patient} patient` : '', d.findCounts.study !== undefined ? `${d.findCounts.study} study` : ''].filter(Boolean).join(' and ')} record(s)${d.findCounts.truncated ? ' (capped)' : ''}`);
  }
  if (e.tls) {
    const ok = e.tls.versions.filter((v) => v.result === 'accepted').map((v) => v.version.replace('TLSv', 'TLS '));
    parts.push(`${ok.join(', ') || 'no TLS version accepted'}`);
    const c = e.tls.certificate;
    if (c) parts.push(`certificate ${c.selfSigned ? 'self-signed' : c.trusted ? 'trusted' : 'not trusted'}, valid until ${c.validTo.slice(0, 10)}`);
  }
  if (e.http) parts.push(`HTTP ${e.http.status ?? '?'} without credentials${e.http.server ? `, Server: ${e.http.server}` : ''}`);
  return `${where} open  ${parts.join('; ')}`;
}

function findingBlock(f: Finding, verbose: boolean): string[] {
  const head = `${f.severity.toUpperCase().padEnd(6)} ${f.title}`;
  const lines = [head, `       [${f.id}] ${f.target}`];
  if (f.severity === 'info' && !verbose) return lines;
  for (const e of f.evidence) lines.push(`       | ${e}`);
  lines.push(`       fix: ${f.fix}`);
  return lines;
}

export function reportText(r: ScanReport, opts: { verbose?: boolean } = {}): string {
  const out: string[] = [];
  out.push(`Rampart exposure scan (${r.mode === 'self' ? 'this node' : r.targets.join(' ')}), ${r.startedAt.slice(0, 19).replace('T', ' ')} UTC`);
  out.push('');
  for (const e of r.endpoints) out.push(endpointLine(e));
  for (const w of r.web) out.push(`${w.url.padEnd(22)} HTTP ${w.status ?? 'no answer'} without credentials${w.openQido.length ? `; QIDO-RS open (${w.openQido[0]!.studies} stud${w.openQido[0]!.studies === 1 ? 'y' : 'ies'})` : ''}${w.server ? `; Server: ${w.server}` : ''}`);
  out.push('');
  const s = r.summary;
  out.push(`Findings: ${s.high} high, ${s.medium} medium, ${s.low} low, ${s.info} info`);
  for (const f of r.findings) {
    out.push('');
    out.push(...findingBlock(f, opts.verbose ?? false));
  }
  if (!opts.verbose && s.info) out.push('', '(--verbose shows the evidence of info findings too)');
  out.push('', 'Nothing was stored, moved or changed on any target; query answers were counted, never read.');
  return out.join('\n');
}

// The web side, asked anonymously and read-only (GET only): what the server says about itself,
// whether a DICOMweb search (QIDO-RS /studies) answers without credentials, whether known admin
// endpoints of common PACS answer, and plain HTTP instead of HTTPS. Default passwords are tried
// only when the operator asks. Bodies are bounded and only counted, never kept or printed.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { clean, finding } from './findings.js';
import { isLoopbackAddress } from './targets.js';
import type { Finding, HttpInfo } from './types.js';

const MAX_BODY = 16 * 1024 * 1024;

export interface HttpAnswer { status: number; headers: IncomingHttpHeaders; body: Buffer; truncated: boolean }

/** GET through the one resolved address; TLS is not verified here (the TLS probe judges it). */
export function get(url: URL, address: string, headers: Record<string, string>, timeoutMs: number): Promise<HttpAnswer> {
  const family = isIP(address) || 4;
  const lookup = (_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) =>
    (o?.all ? cb(null, [{ address, family }]) : cb(null, address, family));
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'GET', headers: { 'user-agent': 'rampart-scan', ...headers }, lookup: lookup as never, rejectUnauthorized: false, timeout: timeoutMs, agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0, truncated = false;
      res.on('data', (c: Buffer) => {
        if (size + c.length > MAX_BODY) { truncated = true; res.destroy(); return; }
        size += c.length;
        chunks.push(c);
      });
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * How many elements a JSON array holds, counted on the bytes without building the values:
 * the answer is patient data and is never turned into strings. Undefined when it is not an array.
 */
export function countJsonArray(b: Buffer, opts: { partial?: boolean } = {}): number | undefined {
  let i = 0;
  const ws = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
  while (i < b.length && ws(b[i]!)) i++;
  if (b[i] !== 0x5b) return undefined; // '['
  let depth = 0, count = 0, inString = false, sawValue = false;
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) { inString = true; if (depth === 1) sawValue = true; }
    else if (c === 0x5b || c === 0x7b) { if (depth === 1) sawValue = true; depth++; }
    else if (c === 0x5d || c === 0x7d) { depth--; if (depth === 0) return count + (sawValue ? 1 : 0); }
    else if (c === 0x2c && depth === 1) count++;
    else if (depth === 1 && !ws(c)) sawValue = true;
  }
  // Unterminated: a body cut at our size cap still proves the array; count the elements it completed.
  return opts.partial && depth >= 1 ? count : undefined;
}

const isJson = (h: IncomingHttpHeaders) => /json/i.test(String(h['content-type'] ?? ''));
const hasVersion = (s: string | undefined) => Boolean(s && /\d+\.\d+/.test(s));

/** Paths a DICOMweb search is found at, on common PACS, relative to the origin. */
const QIDO_PATHS = ['/dicom-web/studies', '/dicomweb/studies', '/orthanc/dicom-web/studies', '/dcm4chee-arc/aets/DCM4CHEE/rs/studies', '/rs/studies'];

interface AdminCheck { path: string; product: string; kind: 'json-object' | 'json-array' | 'html'; marker?: RegExp; lists?: 'patients' }
const ADMIN: AdminCheck[] = [
  { path: '/system', product: 'Orthanc REST API', kind: 'json-object', marker: /"(Version|ApiVersion)"/ },
  { path: '/patients', product: 'Orthanc REST API (patient list)', kind: 'json-array', lists: 'patients' },
  { path: '/app/explorer.html', product: 'Orthanc Explorer', kind: 'html', marker: /orthanc/i },
  { path: '/ui2/', product: 'Orthanc Explorer 2', kind: 'html', marker: /orthanc/i },
  { path: '/dcm4chee-arc/ui2/', product: 'dcm4chee-arc UI', kind: 'html', marker: /dcm4che/i },
  { path: '/dcm4chee-arc/aets', product: 'dcm4chee-arc REST API', kind: 'json-array' },
];

export const DEFAULT_CREDENTIALS: readonly [string, string][] = [['orthanc', 'orthanc'], ['admin', 'admin'], ['admin', 'password'], ['alice', 'alicePassword'], ['root', 'root']];

export interface HttpProbeOptions { address: string; timeoutMs: number; tryDefaultCredentials: boolean; beforeConnect: () => Promise<void> }

export async function probeHttp(base: URL, o: HttpProbeOptions): Promise<{ info: HttpInfo; findings: Finding[] }> {
  const target = base.toString();
  const info: HttpInfo = { url: target, openQido: [], openAdmin: [] };
  const findings: Finding[] = [];
  const ask = async (u: URL, headers: Record<string, string> = {}) => {
    await o.beforeConnect();
    try { return await get(u, o.address, headers, o.timeoutMs); } catch { return undefined; }
  };
  const root = await ask(base);
  if (!root) {
    findings.push(finding('probe-incomplete', target, [`-> GET ${base.pathname} <- no HTTP answer`]));
    return { info, findings };
  }
  info.status = root.status;
  if (root.headers.server) info.server = clean(String(root.headers.server), 120);
  if (root.headers['x-powered-by']) info.poweredBy = clean(String(root.headers['x-powered-by']), 120);
  if (hasVersion(info.server) || hasVersion(info.poweredBy)) {
    findings.push(finding('http-version-disclosed', target, [`-> GET ${base.pathname} (no credentials)`, ...(info.server ? [`<- Server: ${info.server}`] : []), ...(info.poweredBy ? [`<- X-Powered-By: ${info.poweredBy}`] : [])]));
  }
  if (base.protocol === 'http:') {
    const loop = isLoopbackAddress(o.address);
    findings.push(finding('http-plain', target, [`-> GET ${base.pathname} over plain HTTP <- ${root.status}`, ...(loop ? ['the address is loopback: the traffic never leaves this machine'] : [])], loop ? { severity: 'low' } : {}));
  }

  const own = base.pathname.replace(/\/+$/, '');
  const qidoPaths = [...new Set([own.endsWith('/studies') ? own : `${own}/studies`, ...QIDO_PATHS])];
  const needAuth: URL[] = [];
  for (const p of qidoPaths) {
    const u = new URL(p, base);
    u.searchParams.set('limit', '1000');
    const r = await ask(u, { accept: 'application/dicom+json' });
    if (!r) continue;
    const studies = r.status === 204 ? 0 : r.status === 200 && isJson(r.headers) ? countJsonArray(r.body, { partial: r.truncated }) : undefined;
    r.body.fill(0); // the answer is patient data: counted, then gone
    if (studies !== undefined) {
      info.openQido.push({ url: u.toString(), status: r.status, studies });
      findings.push(finding('http-qido-open', target, [`-> GET ${u.pathname}${u.search} with no credentials`, `<- ${r.status}, ${studies}${r.truncated ? '+' : ''} stud${studies === 1 ? 'y' : 'ies'} (counted, not read)`], { title: `DICOMweb search (QIDO-RS) answers without credentials: ${studies}${studies >= 1000 || r.truncated ? '+' : ''} stud${studies === 1 ? 'y' : 'ies'} listed to a stranger` }));
      break;
    }
    if (r.status === 401 || r.status === 403) needAuth.push(u);
  }
  for (const a of ADMIN) {
    const u = new URL(a.path, base);
    const r = await ask(u);
    if (!r) continue;
    if (r.status === 401 || r.status === 403) { needAuth.push(u); continue; }
    if (r.status !== 200) continue;
    let hit = false;
    let count: number | undefined;
    const head = r.body.subarray(0, 64 * 1024).toString('utf8');
    if (a.kind === 'html') hit = /html/i.test(String(r.headers['content-type'] ?? '')) && Boolean(a.marker?.test(head));
    else if (a.kind === 'json-array') { count = isJson(r.headers) ? countJsonArray(r.body, { partial: r.truncated }) : undefined; hit = count !== undefined; }
    else hit = isJson(r.headers) && head.trimStart().startsWith('{') && Boolean(a.marker?.test(head));
    r.body.fill(0);
    if (!hit) continue;
    info.openAdmin.push({ url: u.toString(), product: a.product, status: r.status });
    if (a.lists === 'patients') findings.push(finding('http-patients-open', target, [`-> GET ${a.path} with no credentials`, `<- 200, a list of ${count} patient id(s) (counted, not read)`], { title: `${a.product} lists ${count} patient(s) without credentials` }));
    else findings.push(finding('http-admin-open', target, [`-> GET ${a.path} with no credentials`, `<- 200 ${a.product}${count !== undefined ? ` (${count} entries)` : ''}`], { title: `${a.product} answers without credentials` }));
  }
  if (!info.openQido.length && !info.openAdmin.length && (root.status === 401 || needAuth.length)) {
    findings.push(finding('http-authentication-required', target, [`-> GET ${base.pathname} and ${qidoPaths.length + ADMIN.length} known paths with no credentials`, `<- ${root.status}${needAuth.length ? `; 401/403 on ${needAuth.map((u) => u.pathname).join(', ')}` : ''}`]));
  }
  if (o.tryDefaultCredentials) {
    const u = needAuth[0] ?? (root.status === 401 ? base : undefined);
    if (u) {
      for (const [user, pass] of DEFAULT_CREDENTIALS) {
        const r = await ask(u, { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`, accept: 'application/dicom+json, application/json' });
        if (r) r.body.fill(0);
        if (r && r.status >= 200 && r.status < 300) {
          info.defaultCredentials = { url: u.toString(), username: user };
          findings.push(finding('http-default-credentials', target, [`-> GET ${u.pathname} with HTTP Basic "${user}" and its well-known default password`, `<- ${r.status}`]));
          break;
        }
      }
    }
  }
  return { info, findings };
}

// `rampart scan` against real peers on loopback, in-process through main(): Rampart with its
// defaults, DCMTK dcmqrscp configured to accept any calling AE with a few studies, DCMTK storescp
// with its defaults, Rampart's HTTP door, and a small open DICOMweb stand-in. Every report is
// checked against the documented schema and searched for the patients' names and ids.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitForPort } from '../../test/support/dcmtk.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { startTestNode, type TestNode } from '../../test/support/node.js';
import { scanReportValidator } from '../../test/support/scan-schema.js';
import type { Io } from '../cli/common.js';
import { main } from '../cli/main.js';
import type { ScanReport } from './types.js';

const host = '127.0.0.1';
let work: string;
const validate = scanReportValidator();

interface Ran { code: number; out: string; err: string; report?: ScanReport; json?: string }

/** Runs `rampart scan ...` in this process; the JSON report is also written to a file and read back. */
async function scan(args: string[]): Promise<Ran> {
  const out: string[] = [], err: string[] = [];
  const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdin: Readable.from([]), isTTY: false };
  const file = join(work, `report-${Math.random().toString(36).slice(2)}.json`);
  const code = await main(['scan', '--timeout', '5', ...args, '--json', file], io); // a later --timeout wins
  let json: string | undefined;
  try { json = await readFile(file, 'utf8'); } catch { /* usage errors write no report */ }
  const report = json ? (JSON.parse(json) as ScanReport) : undefined;
  if (report) {
    const ok = validate(report);
    expect(validate.errors ?? [], 'the report matches docs/scan-report.schema.json').toEqual([]);
    expect(ok).toBe(true);
    for (const d of [report.startedAt, report.finishedAt]) expect(Number.isNaN(Date.parse(d))).toBe(false);
  }
  return { code, out: out.join('\n'), err: err.join('\n'), report, json };
}

const ids = (r: ScanReport, severity?: string) => r.findings.filter((f) => !severity || f.severity === severity).map((f) => f.id);

function spawnPeer(cmd: string, args: string[]): { proc: ChildProcess; stop(): Promise<void> } {
  const proc = spawn(cmd, args, { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' });
  return { proc, stop: () => new Promise((r) => { if (proc.exitCode !== null) r(); else { proc.once('exit', () => r()); proc.kill('SIGTERM'); } }) };
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => join(d.parentPath ?? dir, d.name)).sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'rampart-scan-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('Rampart with its defaults', () => {
  let t: TestNode;
  beforeAll(async () => { t = await startTestNode({}, { dimse: true }); });
  afterAll(async () => { await t?.stop(); });

  it('has no high or medium finding on its DIMSE, DICOM TLS and HTTP ports', async () => {
    const http = new URL(t.url).port;
    const r = await scan([`${host}:${t.dimse!.ports.tcp},${t.dimse!.ports.tls},${http}`, '--fail-on', 'medium']);
    expect(r.code, r.out).toBe(0);
    const rep = r.report!;
    expect(ids(rep, 'high'), r.out).toEqual([]);
    expect(ids(rep, 'medium'), r.out).toEqual([]);
    const kinds = Object.fromEntries(rep.endpoints.map((e) => [e.port, e.kind]));
    expect(kinds).toEqual({ [t.dimse!.ports.tcp!]: 'dicom', [t.dimse!.ports.tls!]: 'dicom-tls', [Number(http)]: 'http' });
    // Made-up AE titles, every well-known default and our own AE title: all rejected.
    for (const e of rep.endpoints.filter((x) => x.dicom)) {
      expect(e.dicom!.anyCallingAeAccepted).toBe(false);
      expect(e.dicom!.acceptedServices).toEqual([]);
    }
    expect(rep.findings.filter((f) => f.id === 'dicom-rejects-unknown')).toHaveLength(2);
    expect(rep.findings.find((f) => f.id === 'dicom-rejects-unknown')!.evidence.join('\n')).toMatch(/"RAMPART"/);
    // A stranger hears "calling AE title not recognized" whatever called AE title it tries, so
    // the refusals do not confirm Rampart's AE title.
    expect(rep.findings.filter((f) => f.id === 'dicom-called-ae-revealed')).toEqual([]);
    // Plain DICOM on loopback is named, low, with its fix.
    const plain = rep.findings.find((f) => f.id === 'dicom-plain')!;
    expect(plain.severity).toBe('low');
    expect(plain.fix).toMatch(/DICOM TLS/);
    expect(ids(rep)).toContain('dicom-plain-beside-tls');
    expect(ids(rep)).toContain('http-authentication-required');
    expect(r.out).toContain('rejects unknown AE titles');
  });

  it('offers TLS 1.2 and 1.3 only on its DICOM TLS port, with its own self-signed certificate', async () => {
    const r = await scan([`${host}:${t.dimse!.ports.tls}`]);
    const tls = r.report!.endpoints[0]!.tls!;
    const by = Object.fromEntries(tls.versions.map((v) => [v.version, v.result]));
    expect(by['TLSv1.2']).toBe('accepted');
    expect(by['TLSv1.3']).toBe('accepted');
    // Refused, or honestly "not tested" where this machine's OpenSSL will not offer them.
    expect(['refused', 'not-tested']).toContain(by.TLSv1);
    expect(['refused', 'not-tested']).toContain(by['TLSv1.1']);
    expect(tls.weakSuitesAccepted).toEqual([]);
    expect(tls.certificate?.selfSigned).toBe(true);
    expect(tls.certificate?.hostnameMatches).toBe(true);
    expect(ids(r.report!)).toContain('tls-cert-self-signed');
    expect(ids(r.report!)).not.toContain('tls-old-protocol');
    expect(r.code).toBe(0);
  });

  it('exits 1 when --fail-on low meets its low findings', async () => {
    const r = await scan([`${host}:${t.dimse!.ports.tcp}`, '--fail-on', 'low']);
    expect(r.code).toBe(1);
  });
});

describe('DCMTK dcmqrscp accepting any calling AE, with studies', () => {
  const patients = [
    { PatientName: 'ZEBRAFINCH^AURELIA', PatientID: 'PIDZEBRA01' },
    { PatientName: 'QUOKKA^BARNABY', PatientID: 'PIDQUOKKA02' },
    { PatientName: 'AXOLOTL^CORDELIA', PatientID: 'PIDAXOLOTL03' },
  ];
  const instances = [...patients.map((p) => makeInstance(p)), makeInstance({ ...patients[0]!, AccessionNumber: 'ACCSECRET9' })];
  let peer: { stop(): Promise<void> };
  let p: number;
  let db: string;

  beforeAll(async () => {
    const root = await mkdtemp(join(work, 'dcmqrscp-'));
    db = join(root, 'db');
    await mkdir(db);
    const files: string[] = [];
    for (const [i, inst] of instances.entries()) {
      const f = join(db, `i${i}.dcm`);
      await writeFile(f, inst.bytes);
      files.push(f);
    }
    await promisify(execFile)('dcmqridx', [db, ...files]);
    p = await freePort();
    const cfg = join(root, 'dcmqrscp.cfg');
    // READWRITE ... ANY: the Debian sample's common storage area, open to any calling AE title.
    await writeFile(cfg, `NetworkTCPPort = ${p}\nMaxPDUSize = 16384\nMaxAssociations = 16\n\nHostTable BEGIN\nHostTable END\n\nVendorTable BEGIN\nVendorTable END\n\nAETable BEGIN\nREADWRITE ${db} RW (100, 64mb) ANY\nAETable END\n`);
    peer = spawnPeer('dcmqrscp', ['-c', cfg, String(p)]);
    await waitForPort(p);
  });
  afterAll(async () => { await peer?.stop(); });

  it('reports patient records readable by anyone, high, with the right counts and no names or ids', async () => {
    const before = await filesUnder(db);
    const r = await scan([`${host}:${p}`]);
    expect(r.code, r.out).toBe(1); // --fail-on high is the default
    const rep = r.report!;
    const q = rep.findings.find((f) => f.id === 'dicom-query-open')!;
    expect(q, r.out).toBeDefined();
    expect(q.severity).toBe('high');
    expect(q.title).toMatch(/3 patient record\(s\), 4 study record\(s\)/);
    expect(rep.endpoints[0]!.dicom!.findCounts).toEqual({ patient: 3, study: 4 });
    expect(rep.endpoints[0]!.dicom!.acceptedCalledAe).toBe('READWRITE');
    expect(ids(rep)).toContain('dicom-default-ae');
    expect(ids(rep)).toContain('dicom-store-open');
    // dcmqrscp answers a C-MOVE that matches nothing with Success, whatever the destination: low, explained.
    expect(rep.endpoints[0]!.dicom!.moveToUnknownStatus).toBe(0);
    const move = rep.findings.find((f) => f.id === 'dicom-move-unchecked')!;
    expect(move.severity).toBe('low');
    expect(move.evidence.join('\n')).toMatch(/matched nothing/);
    // C-GET is on in dcmqrscp by default: a stranger's C-GET (of a study that does not exist) is processed.
    const get = rep.findings.find((f) => f.id === 'dicom-retrieve-open')!;
    expect(get.severity).toBe('high');
    expect(get.evidence.join('\n')).toMatch(/matches nothing/);
    // No PHI anywhere: not in the terminal text, not in the JSON.
    for (const out of [r.out, r.err, r.json!]) {
      for (const pt of patients) {
        for (const v of [pt.PatientName, pt.PatientName.split('^')[0]!, pt.PatientID]) expect(out).not.toContain(v);
      }
      expect(out).not.toContain('ACCSECRET9');
      for (const inst of instances) expect(out).not.toContain(inst.study);
    }
    expect(r.out).toContain('Patient records can be queried by anyone');
    // Nothing was stored or changed.
    expect(await filesUnder(db)).toEqual(before);
  });
});

describe('DCMTK storescp with its defaults', () => {
  let peer: { stop(): Promise<void> };
  let p: number;
  let out: string;

  beforeAll(async () => {
    out = await mkdtemp(join(work, 'storescp-'));
    p = await freePort();
    peer = spawnPeer('storescp', ['-od', out, String(p)]);
    await waitForPort(p);
  });
  afterAll(async () => { await peer?.stop(); });

  it('reports storage accepted from anyone as high, without ever storing', async () => {
    const r = await scan([`${host}:${p}`, '--fail-on', 'high']);
    expect(r.code).toBe(1);
    const rep = r.report!;
    const s = rep.findings.find((f) => f.id === 'dicom-store-open')!;
    expect(s.severity).toBe('high');
    expect(s.evidence.join('\n')).toMatch(/never issues C-STORE/);
    expect(ids(rep, 'medium')).toEqual(expect.arrayContaining(['dicom-any-ae', 'dicom-version-disclosed']));
    expect(rep.endpoints[0]!.dicom!.implementationVersionName).toMatch(/^OFFIS_DCMTK/);
    expect(rep.endpoints[0]!.dicom!.echoStatus).toBe(0);
    expect(ids(rep)).not.toContain('dicom-query-open');
    expect(await readdir(out)).toEqual([]);
  });
});

describe('web endpoints', () => {
  let t: TestNode;
  let open: Server;
  let openUrl: string;
  const openNames = ['PLATYPUS^DESMOND', 'PIDPLATY77'];

  beforeAll(async () => {
    t = await startTestNode();
    // An honest stand-in for an open DICOMweb server: QIDO-RS /studies answered to anyone.
    open = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('server', 'OpenPACS/2.4.1');
      if (req.method !== 'GET') { res.writeHead(405).end(); return; }
      if (url.pathname === '/dicom-web/studies') {
        const study = (n: number) => ({ '00100010': { vr: 'PN', Value: [{ Alphabetic: openNames[0] }] }, '00100020': { vr: 'LO', Value: [openNames[1]] }, '0020000D': { vr: 'UI', Value: [`1.2.3.${n}`] } });
        res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify([study(1), study(2)]));
        return;
      }
      if (url.pathname === '/patients') {
        const auth = req.headers.authorization;
        if (auth !== `Basic ${Buffer.from('orthanc:orthanc').toString('base64')}`) { res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end(); return; }
        res.writeHead(200, { 'content-type': 'application/json' }).end('["a"]');
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => open.listen(0, host, () => r()));
    openUrl = `http://${host}:${(open.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.stop();
    await new Promise((r) => open?.close(r));
  });

  it('finds Rampart\'s HTTP door closed to strangers', async () => {
    const r = await scan(['--web', `${t.url}/dicom-web`, '--fail-on', 'medium']);
    expect(r.code, r.out).toBe(0);
    expect(ids(r.report!)).toContain('http-authentication-required');
    expect(r.report!.web[0]!.openQido).toEqual([]);
  });

  it('tries no password unless asked, and Rampart refuses the default ones', async () => {
    const r = await scan(['--web', `${t.url}/dicom-web`, '--try-default-credentials', '--fail-on', 'medium']);
    expect(r.code, r.out).toBe(0);
    expect(ids(r.report!)).not.toContain('http-default-credentials');
  });

  it('reports an open QIDO-RS as high with the number of studies, and the version in its banner', async () => {
    const r = await scan(['--web', openUrl]);
    expect(r.code).toBe(1);
    const q = r.report!.findings.find((f) => f.id === 'http-qido-open')!;
    expect(q.severity).toBe('high');
    expect(q.title).toMatch(/2 studies/);
    expect(r.report!.web[0]!.openQido[0]!.studies).toBe(2);
    expect(ids(r.report!, 'medium')).toContain('http-version-disclosed');
    // Loopback: plain HTTP is low here, with the reason.
    expect(r.report!.findings.find((f) => f.id === 'http-plain')!.severity).toBe('low');
    for (const out of [r.out, r.json!]) for (const v of [...openNames, 'PLATYPUS']) expect(out).not.toContain(v);
    expect(ids(r.report!)).not.toContain('http-default-credentials');
  });

  it('finds a default password only with --try-default-credentials', async () => {
    const r = await scan(['--web', openUrl, '--try-default-credentials']);
    const d = r.report!.findings.find((f) => f.id === 'http-default-credentials')!;
    expect(d.severity).toBe('high');
    expect(d.evidence.join('\n')).toContain('"orthanc"');
    expect(d.evidence.join('\n')).not.toContain('orthanc:orthanc');
  });
});

describe('TLS', () => {
  it('finds Rampart\'s HTTPS door (http.tls) closed to strangers, on TLS 1.2 and 1.3 only', async () => {
    const t = await startTestNode({ 'http.tls': true });
    try {
      const r = await scan([`${host}:${new URL(t.url).port}`, '--fail-on', 'medium']);
      expect(r.code, r.out).toBe(0);
      const e = r.report!.endpoints[0]!;
      expect(e.kind).toBe('https');
      expect(e.tls!.versions.filter((v) => v.result === 'accepted').map((v) => v.version)).toEqual(['TLSv1.2', 'TLSv1.3']);
      expect(ids(r.report!)).toContain('http-authentication-required');
      expect(ids(r.report!)).not.toContain('http-plain');
    } finally {
      await t.stop();
    }
  });

  it('reports TLS 1.0 accepted as medium, and a certificate that expires soon and names another host', async () => {
    const dir = await mkdtemp(join(work, 'tls-'));
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '10', '-subj', '/CN=oldpacs.invalid']);
    const p = await freePort();
    // OpenSSL's own test server, speaking TLS 1.0 only with the legacy suites allowed.
    const srv = spawnPeer('openssl', ['s_server', '-accept', `${host}:${p}`, '-cert', join(dir, 'c.pem'), '-key', join(dir, 'k.pem'), '-tls1', '-cipher', 'ALL:@SECLEVEL=0', '-www', '-quiet']);
    try {
      await waitForPort(p);
      const r = await scan([`${host}:${p}`]);
      const tls = r.report!.endpoints[0]!.tls!;
      const by = Object.fromEntries(tls.versions.map((v) => [v.version, v.result]));
      expect(by).toMatchObject({ TLSv1: 'accepted', 'TLSv1.2': 'refused', 'TLSv1.3': 'refused' });
      expect(r.report!.findings.find((f) => f.id === 'tls-old-protocol')?.severity).toBe('medium');
      expect(ids(r.report!)).toEqual(expect.arrayContaining(['tls-cert-expiring', 'tls-cert-hostname', 'tls-cert-self-signed']));
      expect(tls.certificate!.hostnameMatches).toBe(false);
    } finally {
      await srv.stop();
    }
  });
});

describe('rampart scan --self', () => {
  let t: TestNode;
  let cfg: string;

  beforeAll(async () => {
    const [httpPort, dimsePort, tlsPort] = [await freePort(), await freePort(), await freePort()];
    t = await startTestNode({ 'http.port': httpPort, 'dimse.port': dimsePort, 'dimse.tlsPort': tlsPort }, { dimse: true });
    cfg = join(t.dataDir, 'rampart.json');
    await writeFile(cfg, JSON.stringify({ dataDir: t.dataDir, http: { port: httpPort }, dimse: { port: dimsePort, tlsPort } }));
    await t.node.peers.addPeer({ aeTitle: 'MODALITY1', host: '127.0.0.1', port: 104, tls: false, certFingerprint: null, requireIdentity: false, createdAt: new Date().toISOString(), allow: ['echo', 'store'] });
  });
  afterAll(async () => { await t?.stop(); });

  it('probes the configured addresses, adds what the configuration says, and finds nothing high or medium', async () => {
    const r = await scan(['--self', '--config', cfg, '--fail-on', 'medium']);
    expect(r.code, r.out).toBe(0);
    const rep = r.report!;
    expect(rep.mode).toBe('self');
    expect(rep.endpoints.map((e) => e.kind).sort()).toEqual(['dicom', 'dicom-tls']);
    expect(rep.web[0]!.status).toBe(401);
    // Our own AE title was tried too, from a made-up calling AE title, and refused.
    expect(rep.findings.find((f) => f.id === 'dicom-rejects-unknown')!.evidence.join('\n')).toMatch(/"RAMPART"/);
    // A stranger hears "calling AE title not recognized" whatever called AE title it tries, so
    // the refusals do not confirm Rampart's AE title.
    expect(rep.findings.filter((f) => f.id === 'dicom-called-ae-revealed')).toEqual([]);
    const plainPeers = rep.findings.find((f) => f.id === 'config-peer-without-tls')!;
    expect(plainPeers.severity).toBe('info'); // the peer is on loopback
    expect(plainPeers.evidence.join('\n')).toContain('MODALITY1');
    expect(ids(rep)).toContain('config-identity-not-required');
    expect(ids(rep)).not.toContain('probe-incomplete');
  });

  it('keeps the result for the security page, readable by administrators only', async () => {
    await scan(['--self', '--config', cfg]);
    const file = join(t.dataDir, 'scan', 'last-self-scan.json');
    const kept = JSON.parse(await readFile(file, 'utf8')) as ScanReport;
    expect(kept.mode).toBe('self');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const url = `${t.url}/api/admin/security-scan`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${await t.token(['read'])}` } })).status).toBe(403);
    const res = await fetch(url, { headers: { authorization: `Bearer ${await t.token(['admin'])}` } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual(kept);
    expect(validate(body)).toBe(true);
  });

  it('says so when the configured node is not running', async () => {
    const data = await mkdtemp(join(work, 'self-down-'));
    const c = join(data, 'rampart.json');
    await writeFile(c, JSON.stringify({ dataDir: data, http: { port: await freePort() }, dimse: { port: await freePort(), tlsPort: await freePort() } }));
    const r = await scan(['--self', '--config', c]);
    const down = r.report!.findings.find((f) => f.id === 'probe-incomplete')!;
    expect(down.evidence.join('\n')).toMatch(/is `rampart serve` running/);
  });
});

describe('usage', () => {
  it('refuses a range of more than 256 addresses without --authorized-range (exit 2, nothing probed)', async () => {
    const r = await scan(['127.0.0.0/23:104']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--authorized-range/);
    expect(r.report).toBeUndefined();
  });

  it('refuses a bad --fail-on, a bad target and no target at all with exit 2', async () => {
    expect((await scan([`${host}:104`, '--fail-on', 'critical'])).code).toBe(2);
    expect((await scan(['bad host'])).code).toBe(2);
    expect((await scan([])).code).toBe(2);
    expect((await scan([`${host}:104`, '--rate', '0'])).code).toBe(2);
    expect((await scan([`${host}:104`, '--concurrency', '17'])).code).toBe(2);
    expect((await scan([`${host}:104`, '--called-ae', 'BAD\\AE'])).code).toBe(2);
    expect((await scan(['--web', 'ftp://127.0.0.1/'])).code).toBe(2);
    const creds = await scan(['--web', 'http://user:pw@127.0.0.1:1/']);
    expect(creds.code).toBe(2);
    expect(creds.err).toMatch(/no credentials/);
    expect((await scan(['--self', `${host}:104`])).code).toBe(2);
  });

  it('reports an open port that answers nothing as unknown, not as safe', async () => {
    const silent = createNetServer((sock) => { sock.on('error', () => undefined); sock.resume(); }); // reads and says nothing
    await new Promise<void>((r) => silent.listen(0, host, () => r()));
    try {
      const p = (silent.address() as AddressInfo).port;
      const r = await scan([`${host}:${p}`, '--timeout', '1']);
      expect(r.report!.endpoints).toMatchObject([{ port: p, state: 'open', kind: 'unknown' }]);
      expect(ids(r.report!)).toEqual(['port-unknown']);
    } finally {
      await new Promise((r) => silent.close(r));
    }
  });

  it('reports a closed port as closed, with nothing to fix', async () => {
    const p = await freePort();
    const r = await scan([`${host}:${p}`]);
    expect(r.code).toBe(0);
    expect(r.report!.endpoints).toMatchObject([{ port: p, state: 'closed' }]);
    expect(r.report!.findings).toEqual([]);
  });
});

// The audit trail driven through the real doors: DICOMweb over HTTP, DCMTK's echoscu, storescu,
// findscu, movescu and getscu over DIMSE, and `rampart serve`. Each action leaves the event it
// should, every entry is a schema-valid DICOM Audit Message, the chain verifies, the audit API
// answers who saw which patient, and an access that cannot be recorded is refused.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, createUser } from '../../security/authenticate.js';
import { toDicomXml } from '../../security/audit/dicom-xml.js';
import { loadPublicKey } from '../../security/audit/keys.js';
import { auditDir } from '../../security/audit/open.js';
import { readTrail } from '../../security/audit/reader.js';
import { verifyTrail } from '../../security/audit/verify.js';
import type { AuditAction } from '../../services/audit-port.js';
import { serve } from '../../cli/serve.js';
import { validateAuditXml } from '../../../test/support/audit-schema.js';
import { dcmtk, freePort, startStorescp } from '../../../test/support/dcmtk.js';
import { makeInstance } from '../../../test/support/make-dicom.js';
import { multipartBody, startTestNode, type TestNode } from '../../../test/support/node.js';

let t: TestNode;
let port: number;
let work: string;
let admin: string;
let dest: { stop(): Promise<void> };
const host = '127.0.0.1';
const base = (aet: string) => ['-aet', aet, '-aec', 'RAMPART'];
const A = makeInstance({ PatientName: 'AUDIT^ANNA', PatientID: 'AUD1' });
const B = makeInstance({ PatientName: 'AUDIT^ANNA', PatientID: 'AUD1' });
const CANARY = makeInstance({ PatientName: 'CANARY^CARL', PatientID: 'AUD2' });

beforeAll(async () => {
  t = await startTestNode({ 'audit.alerts.canaryStudies': CANARY.study, 'audit.alerts.failures': 3 }, { dimse: true });
  port = t.dimse!.ports.tcp!;
  work = await mkdtemp(join(tmpdir(), 'rampart-audit-doors-'));
  const destPort = await freePort();
  const now = new Date().toISOString();
  const peer = { host, port: 1, tls: false, certFingerprint: null, requireIdentity: false, createdAt: now };
  await t.node.peers.addPeer({ ...peer, aeTitle: 'MODALITY', allow: ['echo', 'store', 'find', 'move', 'get'] });
  await t.node.peers.addPeer({ ...peer, aeTitle: 'DEST', port: destPort, allow: ['store'] });
  dest = await startStorescp('DEST', destPort, work);
  await writeFile(join(work, 'b.dcm'), B.bytes);
  admin = await t.token();
}, 60_000);
afterAll(async () => {
  await dest?.stop();
  await t?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const http = (path: string, init: RequestInit = {}, token = admin) => fetch(t.url + path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
const trail = () => readTrail(auditDir(t.node.config));

describe('the audit trail through the real doors', () => {
  it('records stores, queries, retrieves, deletes, associations and alerts from DICOMweb and DIMSE', async () => {
    // DICOMweb: STOW-RS, QIDO-RS, WADO-RS, metadata, WADO-URI, DELETE.
    for (const inst of [A, CANARY]) {
      const { body, contentType } = multipartBody([inst.bytes]);
      expect((await http('/dicom-web/studies', { method: 'POST', body, headers: { 'content-type': contentType } })).status).toBe(200);
    }
    expect((await http('/dicom-web/studies?PatientID=AUD1')).status).toBe(200);
    expect((await http(`/dicom-web/studies/${A.study}`)).status).toBe(200);
    expect((await http(`/dicom-web/studies/${A.study}/metadata`)).status).toBe(200);
    expect((await http(`/dicom-web/wado?requestType=WADO&studyUID=${A.study}&seriesUID=${A.series}&objectUID=${A.sop}&contentType=application/dicom`)).status).toBe(200);
    expect((await http(`/dicom-web/studies/${CANARY.study}/metadata`)).status).toBe(200);
    // DIMSE: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET, and refused associations.
    expect((await dcmtk('echoscu', [...base('MODALITY'), host, String(port)])).code).toBe(0);
    expect((await dcmtk('storescu', [...base('MODALITY'), host, String(port), join(work, 'b.dcm')])).code).toBe(0);
    expect((await dcmtk('findscu', ['-v', '-S', ...base('MODALITY'), '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientID=AUD1', '-k', 'StudyInstanceUID', host, String(port)])).out).toMatch(/Response/);
    expect((await dcmtk('movescu', ['-v', '-S', ...base('MODALITY'), '-aem', 'DEST', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${B.study}`, host, String(port)])).out).toMatch(/Received Final Move Response \(Success\)/);
    expect((await dcmtk('getscu', ['-v', '-S', ...base('MODALITY'), '-od', work, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${B.study}`, host, String(port)])).out).toMatch(/Completed Suboperations\s*: 1/);
    for (let i = 0; i < 3; i++) expect((await dcmtk('echoscu', [...base('STRANGER'), host, String(port)])).code).not.toBe(0);
    expect((await http(`/dicom-web/studies/${A.study}`, { method: 'DELETE' })).status).toBeLessThan(300);

    const entries = await trail();
    const has = (action: AuditAction, door: string, outcome = 'success', extra: (e: (typeof entries)[number]['event']) => boolean = () => true) =>
      expect(entries.some((x) => x.event.action === action && x.event.principal.door === door && x.event.outcome === outcome && extra(x.event)), `${action} ${door} ${outcome}`).toBe(true);
    const annaIn = (e: { patients?: { id: string; name?: string }[] }) => (e.patients ?? []).some((p) => p.id === 'AUD1' && p.name === 'AUDIT^ANNA');
    has('store', 'dicomweb', 'success', annaIn);
    has('store', 'dimse', 'success', (e) => annaIn(e) && e.principal.username === 'MODALITY' && e.principal.ip === '127.0.0.1');
    has('query', 'dicomweb', 'success', (e) => e.query?.['00100020'] === 'AUD1' && annaIn(e));
    has('query', 'dimse', 'success', (e) => annaIn(e));
    has('retrieve', 'dicomweb', 'success', (e) => annaIn(e) && e.studies?.[0] === A.study);
    has('metadata', 'dicomweb', 'success', annaIn);
    has('retrieve', 'dimse', 'success', (e) => e.destination === 'DEST');
    has('retrieve', 'dimse', 'success', (e) => e.reason === 'c-get');
    has('association', 'dimse', 'success', (e) => e.callingAe === 'MODALITY');
    has('association', 'dimse', 'failure', (e) => e.callingAe === 'STRANGER' && e.reason === 'unknown-calling-ae');
    has('delete', 'dicomweb', 'success', annaIn);
    // Alerts are written just after the entry that raised them.
    for (let i = 0; i < 100 && !(await trail()).some((x) => x.event.action === 'alert' && x.event.target === 'repeated-failures'); i++) await new Promise((r) => setTimeout(r, 50));
    const alerts = (await trail()).filter((x) => x.event.action === 'alert');
    expect(alerts.map((a) => a.event.target)).toEqual(expect.arrayContaining(['canary-access', 'repeated-failures']));
    expect(alerts.find((a) => a.event.target === 'canary-access')!.event.studies).toEqual([CANARY.study]);
  }, 120_000);

  it('answers the FHIR search, the accounting of disclosures and the access reports, and audits each read', async () => {
    const bundle = await (await http('/api/audit/fhir/AuditEvent?patient=AUD1&action=R&date=ge2000-01-01')).json() as { resourceType: string; type: string; entry: { resource: { action: string; entity: { what?: { identifier: { value: string } } }[] } }[] };
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(bundle.entry.length).toBeGreaterThan(0);
    for (const e of bundle.entry) {
      expect(e.resource.action).toBe('R');
      expect(e.resource.entity.some((x) => x.what?.identifier.value === 'AUD1')).toBe(true);
    }
    const disclosures = await (await http('/api/audit/disclosures?patient=AUD1')).json() as { entries: { user: string; action: string; door: string }[] };
    expect(disclosures.entries).toEqual(expect.arrayContaining([
      expect.objectContaining({ user: 'MODALITY', action: 'retrieve', door: 'dimse' }),
      expect.objectContaining({ user: 'admin', action: 'retrieve', door: 'dicomweb' }),
      expect.objectContaining({ user: 'admin', action: 'delete' }),
    ]));
    const csv = await (await http('/api/audit/disclosures?patient=AUD1&format=csv')).text();
    expect(csv.split('\r\n')[0]).toBe('time,user,kind,door,ip,action,outcome,patients,studies,instances,why,destination');
    const pdf = Buffer.from(await (await http('/api/audit/disclosures?patient=AUD1&format=pdf')).arrayBuffer());
    await writeFile(join(work, 'd.pdf'), pdf);
    const text = (await promisify(execFile)('pdftotext', ['-layout', join(work, 'd.pdf'), '-'])).stdout;
    expect(text).toContain('Accounting of disclosures for patient AUD1');
    expect(text).toContain('MODALITY');
    const byStudy = await (await http(`/api/audit/accesses?study=${B.study}`)).json() as { entries: { user: string }[] };
    expect(byStudy.entries.map((e) => e.user)).toContain('MODALITY');
    const byUser = await (await http('/api/audit/accesses?user=MODALITY&format=json')).json() as { entries: { studies: string[] }[] };
    expect(byUser.entries.some((e) => e.studies.includes(B.study))).toBe(true);
    // Someone without the audit permission is refused, and the refusal is recorded too.
    await createUser(t.node.index, 'rita', 'radiologist', 'a long enough passphrase 1');
    const rita = (await createToken(t.node.index, 'rita', ['read'], 60_000)).secret;
    expect((await http('/api/audit/disclosures?patient=AUD1', {}, rita)).status).toBe(403);
    const reads = (await trail()).filter((x) => x.event.action === 'audit-read');
    expect(reads.some((x) => x.event.outcome === 'success' && x.event.target === 'disclosures' && x.event.patients?.[0]?.id === 'AUD1')).toBe(true);
    expect(reads.some((x) => x.event.outcome === 'failure' && x.event.principal.username === 'rita')).toBe(true);
  }, 60_000);

  it('writes every entry as a DICOM Audit Message the PS3.15 schema accepts, in a chain that verifies', async () => {
    const entries = await trail();
    expect(await validateAuditXml(entries.map((e) => toDicomXml(e, t.node.auditSource)))).toBe('');
    await t.node.audit.sync();
    const dir = auditDir(t.node.config);
    expect(await verifyTrail(dir, await loadPublicKey(dir))).toMatchObject({ ok: true });
  }, 60_000);

  it('refuses the access when the trail cannot be written: HTTP 503, and C-FIND ends without results', async () => {
    await t.node.audit.close();
    expect((await http('/dicom-web/studies?PatientID=AUD1')).status).toBe(503);
    const r = await dcmtk('findscu', ['-v', '-S', ...base('MODALITY'), '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientID=AUD1', '-k', 'StudyInstanceUID', host, String(port)]);
    expect(r.out).not.toMatch(/Find Response: \d+ \(Pending\)/);
  }, 60_000);
});

describe('rampart serve', () => {
  it('records application start and stop', async () => {
    const data = await mkdtemp(join(tmpdir(), 'rampart-audit-serve-'));
    try {
      const stop = new AbortController();
      const io = { out: () => undefined, err: () => undefined, stdin: Readable.from([]), isTTY: false };
      const running = serve(['--data', data, '--http-port', '0', '--dicom-port', '0', '--dicom-tls-port', 'off'], io, stop.signal);
      const dir = join(data, 'audit');
      for (let i = 0; i < 200 && !(await readTrail(dir).catch(() => [])).some((x) => x.event.action === 'application-start'); i++) await new Promise((r) => setTimeout(r, 50));
      stop.abort();
      expect(await running).toBe(0);
      const actions = (await readTrail(dir)).map((x) => x.event.action);
      expect(actions).toEqual(['application-start', 'application-stop']);
      expect(await validateAuditXml((await readTrail(dir)).map((e) => toDicomXml(e, { id: 'RAMPART', aeTitle: 'RAMPART' })))).toBe('');
      expect((await verifyTrail(dir, await loadPublicKey(dir))).ok).toBe(true);
      expect((await readFile(join(dir, 'signing-key.pem'))).length).toBeGreaterThan(0);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  }, 60_000);
});

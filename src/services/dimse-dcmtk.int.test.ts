// The DIMSE door against DCMTK's real tools: echoscu, storescu, findscu, movescu (with storescp
// as destination) and getscu; plain TCP, DICOM TLS and user identity; and the refusals.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetToJson } from '../dicom/json.js';
import { parsePart10 } from '../dicom/reader.js';
import { createUser } from '../security/authenticate.js';
import { certificateFingerprint } from '../security/crypto/node-cert.js';
import { dcmtk, freePort, startStorescp } from '../../test/support/dcmtk.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { PYDICOM_DATA, startTestNode, type TestNode } from '../../test/support/node.js';

let t: TestNode;
let port: number, tlsPort: number;
let work: string;
let destPort: number;
const AEC = 'RAMPART';
const files = ['CT_small.dcm'].map((f) => `${PYDICOM_DATA}/test_files/${f}`);
/**
 * Compressed samples, each with the storescu option that proposes its transfer syntax (pydicom's
 * MR_small_* variants share one SOP Instance UID, so only one of them goes in).
 */
const compressed: [string, string][] = [['JPEG2000.dcm', '-xw'], ['MR_small_RLE.dcm', '-xr'], ['SC_rgb_jpeg_dcmtk.dcm', '-xy']];
const A = makeInstance({ PatientName: 'DIMSE^ALICE', PatientID: 'DM1', AccessionNumber: 'DMACC1' });

const host = '127.0.0.1';
const base = (aet: string) => ['-aet', aet, '-aec', AEC];

beforeAll(async () => {
  t = await startTestNode({}, { dimse: true });
  port = t.dimse!.ports.tcp!;
  tlsPort = t.dimse!.ports.tls!;
  destPort = await freePort();
  work = await mkdtemp(join(tmpdir(), 'rampart-dimse-'));
  const add = (p: Parameters<typeof t.node.peers.addPeer>[0]) => t.node.peers.addPeer(p);
  const now = new Date().toISOString();
  const peer = { host, port: 1, tls: false, certFingerprint: null, requireIdentity: false, createdAt: now };
  await add({ ...peer, aeTitle: 'MODALITY', allow: ['echo', 'store', 'find', 'move', 'get'] });
  await add({ ...peer, aeTitle: 'ECHOONLY', allow: ['echo'] });
  await add({ ...peer, aeTitle: 'OTHERHOST', host: '127.0.0.99', allow: ['echo'] });
  await add({ ...peer, aeTitle: 'TLSONLY', allow: ['echo', 'store'], tls: true });
  await add({ ...peer, aeTitle: 'WHO', allow: ['echo', 'store', 'find'], requireIdentity: true });
  await add({ ...peer, aeTitle: 'DEST', port: destPort, allow: ['store'] });
  await writeFile(join(work, 'a.dcm'), A.bytes);
});
afterAll(async () => {
  await t?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('association control', () => {
  it('answers C-ECHO from a registered peer', async () => {
    const r = await dcmtk('echoscu', ['-v', ...base('MODALITY'), host, String(port)]);
    expect(r.out).toMatch(/Received Echo Response \(Success\)/);
    expect(r.code).toBe(0);
  });

  it('rejects an unknown calling AE title with "calling AE title not recognized"', async () => {
    const r = await dcmtk('echoscu', ['-v', ...base('STRANGER'), host, String(port)]);
    expect(r.out).toMatch(/Association Rejected/);
    expect(r.out).toMatch(/Calling AE Title Not Recognized/i);
    expect(r.code).not.toBe(0);
  });

  it('rejects a stranger whatever called AE title it tries, without confirming ours', async () => {
    for (const called of ['ANY-SCP', 'RAMPART']) {
      const r = await dcmtk('echoscu', ['-v', '-aet', 'ECHOSCU', '-aec', called, host, String(port)]);
      expect(r.out).toMatch(/Association Rejected/);
      expect(r.out).toMatch(/Calling AE Title Not Recognized/i);
    }
  });

  it('tells a registered peer that mistyped our AE title that the called AE title is wrong', async () => {
    const r = await dcmtk('echoscu', ['-v', '-aet', 'ECHOONLY', '-aec', 'ANY-SCP', host, String(port)]);
    expect(r.out).toMatch(/Called AE Title Not Recognized/i);
  });

  it('rejects a registered AE title connecting from another host', async () => {
    const r = await dcmtk('echoscu', ['-v', ...base('OTHERHOST'), host, String(port)]);
    expect(r.out).toMatch(/Association Rejected/);
  });

  it('answers 0x0124 to an operation the peer is not allowed', async () => {
    const r = await dcmtk('storescu', ['-v', ...base('ECHOONLY'), host, String(port), join(work, 'a.dcm')]);
    expect(r.out).toMatch(/Received Store Response \((Refused: Not Authorized|Unknown Status: 0x124)\)/i);
    expect((await t.node.index.counts()).instances).toBe(0);
  });
});

describe('storage, query and retrieve over plain TCP', () => {
  it('stores files with storescu, compressed ones in their own transfer syntaxes', async () => {
    const r = await dcmtk('storescu', ['-v', ...base('MODALITY'), host, String(port), join(work, 'a.dcm'), ...files]);
    expect(r.out.match(/Received Store Response \(Success\)/g)?.length, r.out).toBe(files.length + 1);
    for (const [name, option] of compressed) {
      const file = `${PYDICOM_DATA}/test_files/${name}`;
      const c = await dcmtk('storescu', ['-v', option, ...base('MODALITY'), host, String(port), file]);
      expect(c.out, name).toMatch(/Received Store Response \(Success\)/);
      const p = parsePart10(await readFile(file));
      const inst = await t.node.index.getInstance(p.dataset.string(0x00080018));
      expect(inst?.TransferSyntaxUID, name).toBe(p.transferSyntax.uid);
    }
  });

  it('keeps every attribute the peer sent, in the syntax it sent', async () => {
    // storescu re-encodes on sending (group lengths, sequence lengths), so the data set is compared
    // attribute by attribute with the file it read; byte equality is checked with our own SCU.
    for (const file of [files[0]!, `${PYDICOM_DATA}/test_files/JPEG2000.dcm`]) {
      const p = parsePart10(await readFile(file));
      const inst = await t.node.index.getInstance(p.dataset.string(0x00080018));
      const sp = parsePart10(await t.node.blobs.readAll(inst!.blobKey));
      expect(sp.transferSyntax.uid).toBe(p.transferSyntax.uid);
      const got = datasetToJson(sp.dataset), want = datasetToJson(p.dataset);
      delete want.FFFCFFFC; // Data Set Trailing Padding: storescu does not send it (PS3.5 7.7 lets it go)
      expect(Object.keys(want).filter((k) => !(k in got)), file).toEqual([]);
      expect(got).toEqual(want);
      expect(sp.dataset.get(0x7fe00010)?.value ?? Buffer.concat(sp.dataset.get(0x7fe00010)!.fragments!)).toEqual(p.dataset.get(0x7fe00010)?.value ?? Buffer.concat(p.dataset.get(0x7fe00010)!.fragments!));
    }
  });

  it('finds studies with findscu, matching a name wildcard case-insensitively', async () => {
    const r = await dcmtk('findscu', ['-v', '-S', ...base('MODALITY'), '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientName=dimse*', '-k', 'StudyInstanceUID', '-k', 'NumberOfStudyRelatedInstances', host, String(port)]);
    expect(r.out).toMatch(/DIMSE\^ALICE/);
    expect(r.out).toContain(A.study);
    expect(r.out).toMatch(/\(0020,1208\) IS \[1\s*\]/);
    expect(r.out).toMatch(/Received Final Find Response \(Success\)/);
  });

  it('finds patients with the Patient Root model', async () => {
    const r = await dcmtk('findscu', ['-v', '-P', ...base('MODALITY'), '-k', 'QueryRetrieveLevel=PATIENT', '-k', 'PatientID=DM1', '-k', 'PatientName', host, String(port)]);
    expect(r.out).toMatch(/DIMSE\^ALICE/);
  });

  it('moves a study to a registered destination (storescp)', async () => {
    const dir = await mkdtemp(join(work, 'move-'));
    const scp = await startStorescp('DEST', destPort, dir);
    try {
      const r = await dcmtk('movescu', ['-v', '-S', ...base('MODALITY'), '-aem', 'DEST', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${A.study}`, host, String(port)]);
      expect(r.out).toMatch(/Received Final Move Response \(Success\)/);
      const got = await readdir(dir);
      expect(got.length).toBe(1);
    } finally {
      await scp.stop();
    }
  });

  it('answers 0xA801 to a move to an unknown destination', async () => {
    const r = await dcmtk('movescu', ['-v', '-S', ...base('MODALITY'), '-aem', 'NOWHERE', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${A.study}`, host, String(port)]);
    expect(r.out).toMatch(/Received Final Move Response \(Refused: MoveDestinationUnknown\)/);
  });

  it('gets a study with getscu over the same association', async () => {
    const dir = await mkdtemp(join(work, 'get-'));
    const r = await dcmtk('getscu', ['-v', '-S', ...base('MODALITY'), '-od', dir, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${A.study}`, host, String(port)]);
    expect(r.out).toMatch(/Number of Completed Suboperations : 1/);
    expect(r.out).toMatch(/Number of Failed Suboperations\s+: 0/);
    const got = await readdir(dir);
    expect(got.length).toBe(1);
    const back = await readFile(join(dir, got[0]!));
    expect(back.subarray(parsePart10(back).datasetOffset).equals(A.bytes.subarray(parsePart10(A.bytes).datasetOffset))).toBe(true);
  });
});

describe('DICOM TLS and user identity', () => {
  const tlsArgs = () => ['+tla', '+cf', join(t.dataDir, 'tls', 'node-cert.pem')];

  it('answers C-ECHO over TLS, verifying the node certificate', async () => {
    const r = await dcmtk('echoscu', ['-v', ...tlsArgs(), ...base('TLSONLY'), host, String(tlsPort)]);
    expect(r.out).toMatch(/Received Echo Response \(Success\)/);
  });

  it('refuses a TLS-only peer over plain TCP', async () => {
    const r = await dcmtk('echoscu', ['-v', ...base('TLSONLY'), host, String(port)]);
    expect(r.out).toMatch(/Association Rejected/);
  });

  it('accepts the pinned client certificate of a peer and refuses another one', async () => {
    const mk = async (name: string) => {
      const key = join(work, `${name}-key.pem`), cert = join(work, `${name}-cert.pem`);
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
      return { key, cert };
    };
    const good = await mk('pinned'), other = await mk('other');
    await t.node.peers.addPeer({ aeTitle: 'PINNED', host, port: 1, allow: ['echo'], tls: true, certFingerprint: await certificateFingerprint(good.cert), requireIdentity: false, createdAt: new Date().toISOString() });
    const ok = await dcmtk('echoscu', ['-v', '+tls', good.key, good.cert, '+cf', join(t.dataDir, 'tls', 'node-cert.pem'), ...base('PINNED'), host, String(tlsPort)]);
    expect(ok.out).toMatch(/Received Echo Response \(Success\)/);
    const bad = await dcmtk('echoscu', ['-v', '+tls', other.key, other.cert, '+cf', join(t.dataDir, 'tls', 'node-cert.pem'), ...base('PINNED'), host, String(tlsPort)]);
    expect(bad.out).toMatch(/Association Rejected/);
    const none = await dcmtk('echoscu', ['-v', '+tla', '+cf', join(t.dataDir, 'tls', 'node-cert.pem'), ...base('PINNED'), host, String(tlsPort)]);
    expect(none.out).toMatch(/Association Rejected/);
  });

  it('does not fall back to plain DICOM on the TLS port', async () => {
    const r = await dcmtk('echoscu', ['-v', ...base('MODALITY'), host, String(tlsPort)]);
    expect(r.out).not.toMatch(/Received Echo Response/);
    expect(r.code).not.toBe(0);
  });

  // Of DCMTK's tools only storescu negotiates a user identity.
  it('accepts a username and password over TLS and refuses a wrong one', async () => {
    const c = makeInstance({ PatientName: 'IDENTITY^CAROL' });
    await writeFile(join(work, 'c.dcm'), c.bytes);
    const ok = await dcmtk('storescu', ['-v', ...tlsArgs(), ...base('WHO'), '--user', 'admin', '--password', t.adminPassword, host, String(tlsPort), join(work, 'c.dcm')]);
    expect(ok.out).toMatch(/Received Store Response \(Success\)/);
    const bad = await dcmtk('storescu', ['-v', ...tlsArgs(), ...base('WHO'), '--user', 'admin', '--password', 'wrong-password', host, String(tlsPort), join(work, 'c.dcm')]);
    expect(bad.out).toMatch(/Association Rejected/);
  });

  it('refuses a peer that must identify itself and does not', async () => {
    const r = await dcmtk('echoscu', ['-v', ...tlsArgs(), ...base('WHO'), host, String(tlsPort)]);
    expect(r.out).toMatch(/Association Rejected/);
  });

  it('refuses a password over plain TCP', async () => {
    const r = await dcmtk('storescu', ['-v', ...base('WHO'), '--user', 'admin', '--password', t.adminPassword, host, String(port), join(work, 'a.dcm')]);
    expect(r.out).toMatch(/Association Rejected/);
  });

  it('refuses the password and the token of a user an administrator disabled, and admits them once enabled', async () => {
    const { user, password } = await createUser(t.node.index, 'dimse-tech', 'technologist');
    const jwt = join(work, 'tech.jwt');
    await writeFile(jwt, await t.token(['read', 'write'], 'dimse-tech'));
    const d = makeInstance({ PatientName: 'DISABLED^DAN' });
    await writeFile(join(work, 'd.dcm'), d.bytes);
    const byPassword = () => dcmtk('storescu', ['-v', ...tlsArgs(), ...base('WHO'), '--user', 'dimse-tech', '--password', password, host, String(tlsPort), join(work, 'd.dcm')]);
    const byToken = () => dcmtk('storescu', ['-v', ...tlsArgs(), ...base('WHO'), '--jwt', jwt, host, String(tlsPort), join(work, 'd.dcm')]);
    await t.node.index.setDisabled(user.id, true);
    expect((await byPassword()).out).toMatch(/Association Rejected/);
    expect((await byToken()).out).toMatch(/Association Rejected/);
    expect(await t.node.index.getInstance(d.sop)).toBeUndefined();
    await t.node.index.setDisabled(user.id, false);
    expect((await byPassword()).out).toMatch(/Received Store Response \(Success\)/);
    expect((await byToken()).out).toMatch(/Received Store Response/);
  });

  it('accepts an API token as the JWT identity and stores as that user', async () => {
    const jwt = join(work, 'token.jwt');
    await writeFile(jwt, await t.token(['read', 'write']));
    const b = makeInstance({ PatientName: 'JWT^BOB' });
    await writeFile(join(work, 'b.dcm'), b.bytes);
    const r = await dcmtk('storescu', ['-v', ...tlsArgs(), ...base('WHO'), '--jwt', jwt, host, String(tlsPort), join(work, 'b.dcm')]);
    expect(r.out).toMatch(/Received Store Response \(Success\)/);
    const bad = join(work, 'bad.jwt');
    await writeFile(bad, 'rpt_' + 'x'.repeat(43));
    const r2 = await dcmtk('storescu', ['-v', ...tlsArgs(), ...base('WHO'), '--jwt', bad, host, String(tlsPort), join(work, 'b.dcm')]);
    expect(r2.out).toMatch(/Association Rejected/);
  });
});

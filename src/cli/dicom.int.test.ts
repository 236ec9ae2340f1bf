// `rampart dicom echo|store|find|move|get` as an operator runs it (in-process through main()),
// against a Rampart node with DIMSE on loopback and against DCMTK: storescp as a plain store
// target and C-MOVE destination, dcmqrscp as an old archive to pull from.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNode } from '../app.js';
import { loadConfig } from '../config/schema.js';
import { parsePart10 } from '../dicom/reader.js';
import { freePort, waitForPort } from '../../test/support/dcmtk.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { PYDICOM_DATA, startTestNode, type TestNode } from '../../test/support/node.js';
import type { Io } from './common.js';
import { main } from './main.js';

const SAMPLES = `${PYDICOM_DATA}/test_files`;
const host = '127.0.0.1';
let t: TestNode;
let port: number, tlsPort: number, destPort: number;
let work: string;

interface Ran { code: number; out: string; err: string }

/** Runs `rampart dicom ...` in this process, with stdin as given. */
async function rampart(args: string[], stdin = ''): Promise<Ran> {
  const out: string[] = [], err: string[] = [];
  const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stdin: Readable.from([Buffer.from(stdin)]), isTTY: false };
  const code = await main(['dicom', ...args], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const to = (p = port, aet = 'RAMPCLI') => ['--host', host, '--port', String(p), '--aec', 'RAMPART', '--aet', aet];
const tlsCa = () => ['--tls', '--tls-ca', join(t.dataDir, 'tls', 'node-cert.pem')];

/** The data set bytes of a Part 10 file: everything after its file meta. */
const datasetBytes = (b: Buffer) => b.subarray(parsePart10(b).datasetOffset);
const sopOf = (b: Buffer) => parsePart10(b).dataset.string(0x00080018);

/** DCMTK's storescp writing what it receives bit for bit (+B), so that data set bytes can be compared. */
async function storescp(aeTitle: string, p: number, dir: string, syntaxes = '+xa'): Promise<{ stop(): Promise<void> }> {
  const proc: ChildProcess = spawn('storescp', ['-aet', aeTitle, '-od', dir, syntaxes, '+B', String(p)], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' });
  await waitForPort(p);
  return { stop: () => new Promise((r) => { if (proc.exitCode !== null) r(); else { proc.once('exit', () => r()); proc.kill('SIGTERM'); } }) };
}

const A = makeInstance({ PatientName: 'CLI^ALICE', PatientID: 'CLI1', AccessionNumber: 'CLIACC1' });
const U = makeInstance({ PatientName: 'MÜLLER^JÖRG', PatientID: 'CLI2' });
/** Pydicom samples, each with its own SOP Instance UID: native (explicit, implicit, deflated), compressed, and rtdose, whose file meta names another instance than its data set. */
const STORE_SAMPLES = ['CT_small.dcm', 'MR_small_implicit.dcm', 'JPEG2000.dcm', 'SC_rgb_rle.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'rtplan.dcm', 'rtdose.dcm', 'image_dfl.dcm', 'test-SR.dcm'];

beforeAll(async () => {
  t = await startTestNode({}, { dimse: true });
  port = t.dimse!.ports.tcp!;
  tlsPort = t.dimse!.ports.tls!;
  destPort = await freePort();
  work = await mkdtemp(join(tmpdir(), 'rampart-dicom-cli-'));
  const now = new Date().toISOString();
  const peer = { host, port: 1, tls: false, certFingerprint: null, requireIdentity: false, createdAt: now };
  await t.node.peers.addPeer({ ...peer, aeTitle: 'RAMPCLI', allow: ['echo', 'store', 'find', 'move', 'get'] });
  await t.node.peers.addPeer({ ...peer, aeTitle: 'DEST', port: destPort, allow: ['store'] });
  await t.node.peers.addPeer({ ...peer, aeTitle: 'WHO', allow: ['echo', 'find'], requireIdentity: true });
  await mkdir(join(work, 'in', 'sub'), { recursive: true });
  await writeFile(join(work, 'in', 'a.dcm'), A.bytes);
  await writeFile(join(work, 'in', 'sub', 'u.dcm'), U.bytes);
  await writeFile(join(work, 'in', 'README.txt'), 'not DICOM');
});
afterAll(async () => {
  await t?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('rampart dicom echo', () => {
  it('prints the status and round-trip time and exits 0', async () => {
    const r = await rampart(['echo', ...to()]);
    expect(r.out).toMatch(/C-ECHO RAMPART@127\.0\.0\.1:\d+: Success \(0x0000\), [\d.]+ ms/);
    expect(r.code).toBe(0);
    const j = JSON.parse((await rampart(['echo', ...to(), '--json'])).out);
    expect(j).toMatchObject({ ok: true, status: 0 });
    expect(typeof j.ms).toBe('number');
  });

  it('says in words why an unknown calling AE title is rejected, and exits 1', async () => {
    const r = await rampart(['echo', ...to(port, 'STRANGER')]);
    expect(r.err).toMatch(/association rejected \(permanent\) by the called application \(service user\): calling AE title not recognized \[result 1, source 1, reason 3\]/);
    expect(r.code).toBe(1);
  });

  it('says so when nothing listens, and refuses bad flags with exit 2', async () => {
    const r = await rampart(['echo', ...to(await freePort())]);
    expect(r.err).toMatch(/connection refused/);
    expect(r.code).toBe(1);
    expect((await rampart(['echo', '--host', host])).code).toBe(2);
    expect((await rampart(['echo', ...to(), '--aec', 'BACK\\SLASH'])).code).toBe(2);
  });

  it('gives up after --timeout on a peer that never answers', async () => {
    const silent = createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, host, () => r()));
    try {
      const started = Date.now();
      const r = await rampart(['echo', ...to((silent.address() as AddressInfo).port), '--timeout', '1']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/did not answer in time|aborted/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      silent.close();
    }
  });
});

describe('rampart dicom store', () => {
  it('stores files and folders recursively, skipping what is not DICOM, with a summary', async () => {
    const r = await rampart(['store', ...to(), join(work, 'in'), '--verbose']);
    expect(r.out).toMatch(/2 stored, 0 with warnings, 0 failed, 1 skipped/);
    expect(r.out).toMatch(/ok .*a\.dcm: Success/);
    expect(r.err).toMatch(/skipped .*README\.txt/);
    expect(r.code).toBe(0);
    for (const x of [A, U]) {
      const inst = await t.node.index.getInstance(x.sop);
      expect(datasetBytes(await t.node.blobs.readAll(inst!.blobKey)).equals(datasetBytes(x.bytes))).toBe(true);
    }
  });

  it('sends pydicom samples to storescp with their data sets byte-identical, in their own syntaxes', async () => {
    const dir = await mkdtemp(join(work, 'storescp-'));
    const src = await mkdtemp(join(work, 'samples-'));
    for (const f of STORE_SAMPLES) await copyFile(join(SAMPLES, f), join(src, f));
    const p = await freePort();
    const scp = await storescp('STORESCP', p, dir);
    let r: Ran;
    try {
      r = await rampart(['store', '--host', host, '--port', String(p), '--aec', 'STORESCP', '--aet', 'RAMPCLI', src, '--json', '--verbose']);
    } finally {
      await scp.stop();
    }
    const summary = JSON.parse(r.out);
    expect(summary, r.err + r.out).toMatchObject({ sent: STORE_SAMPLES.length, failed: 0, skipped: 0 });
    expect(summary.files.filter((f: { convertedTo?: string }) => f.convertedTo)).toEqual([]);
    expect(r.code).toBe(0);
    const received = new Map<string, Buffer>();
    for (const name of await readdir(dir)) {
      const b = await readFile(join(dir, name));
      received.set(sopOf(b), b);
    }
    for (const f of STORE_SAMPLES) {
      const sent = await readFile(join(SAMPLES, f));
      const got = received.get(sopOf(sent));
      expect(got, f).toBeDefined();
      expect(parsePart10(got!).transferSyntax.uid, f).toBe(parsePart10(sent).transferSyntax.uid);
      // image_dfl.dcm's deflated stream has an odd length; PS3.5 A.5 pads it with one NUL on the wire.
      const want = datasetBytes(sent).length & 1 ? Buffer.concat([datasetBytes(sent), Buffer.of(0)]) : datasetBytes(sent);
      expect(datasetBytes(got!).equals(want), f).toBe(true);
    }
  });

  it('converts a native file for a peer that takes only implicit VR, and fails a compressed one it cannot', async () => {
    const dir = await mkdtemp(join(work, 'implicit-'));
    const p = await freePort();
    const scp = await storescp('STORESCP', p, dir, '+xi');
    let r: Ran;
    try {
      r = await rampart(['store', '--host', host, '--port', String(p), '--aec', 'STORESCP', '--aet', 'RAMPCLI', join(SAMPLES, 'CT_small.dcm'), join(SAMPLES, 'JPEG2000.dcm'), '--verbose']);
    } finally {
      await scp.stop();
    }
    expect(r.out).toMatch(/ok .*CT_small\.dcm: Success \(0x0000\) \(sent converted to 1\.2\.840\.10008\.1\.2\)/);
    expect(r.err).toMatch(/failed .*JPEG2000\.dcm: the peer accepted no presentation context for SOP class .* in transfer syntax 1\.2\.840\.10008\.1\.2\.4\.91/);
    expect(r.out).toMatch(/1 stored, 0 with warnings, 1 failed/);
    expect(r.code).toBe(1);
    const got = await readdir(dir);
    expect(got).toHaveLength(1);
    expect(parsePart10(await readFile(join(dir, got[0]!))).transferSyntax.uid).toBe('1.2.840.10008.1.2');
  });

  it('exits 1 when the peer rejects the association', async () => {
    // WHO may not connect without an identity: nothing is sent.
    const r = await rampart(['store', ...to(port, 'WHO'), join(work, 'in', 'a.dcm')]);
    expect(r.err).toMatch(/rejected/);
    expect(r.code).toBe(1);
  });
});

describe('rampart dicom find', () => {
  it('finds studies with a wildcard and prints a table', async () => {
    const r = await rampart(['find', ...to(), '-k', 'PatientName=cli*', '-k', 'PatientID', '-k', 'StudyInstanceUID']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^PatientName\s+PatientID\s+StudyInstanceUID$/);
    expect(lines.slice(1).join('\n')).toContain('CLI^ALICE');
    expect(r.out).toContain(A.study);
    expect(r.err).toMatch(/1 match\(es\); Success/);
  });

  it('sends UTF-8 in the identifier and decodes answers in their own character set (--json)', async () => {
    const r = await rampart(['find', ...to(), '-k', 'PatientName=MÜLLER*', '-k', '0020000D', '--json']);
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    expect(rows[0]['00100010'].Value[0].Alphabetic).toBe('MÜLLER^JÖRG');
    expect(rows[0]['0020000D'].Value[0]).toBe(U.study);
  });

  it('asks for sensible return keys when given none, and refuses an unknown keyword', async () => {
    const r = await rampart(['find', ...to(), '--level', 'SERIES', '-k', `StudyInstanceUID=${A.study}`]);
    expect(r.out).toContain(A.series);
    const d = await rampart(['find', ...to()]);
    expect(d.out.split('\n')[0]).toMatch(/^PatientName\s+PatientID\s+StudyDate/);
    expect((await rampart(['find', ...to(), '-k', 'NoSuchThing=1'])).code).toBe(2);
  });
});

describe('rampart dicom move and get', () => {
  it('moves a study to storescp and prints the counts', async () => {
    const dir = await mkdtemp(join(work, 'move-'));
    const scp = await storescp('DEST', destPort, dir);
    let r: Ran;
    try {
      r = await rampart(['move', ...to(), '--dest', 'DEST', '-k', `StudyInstanceUID=${A.study}`]);
    } finally {
      await scp.stop();
    }
    expect(r.out).toMatch(/C-MOVE final: Success \(0x0000\); 1 completed, 0 failed, 0 warning/);
    expect(r.code).toBe(0);
    const got = await readdir(dir);
    expect(got).toHaveLength(1);
    expect(datasetBytes(await readFile(join(dir, got[0]!))).equals(datasetBytes(A.bytes))).toBe(true);
  });

  it('exits 1 on a move to a destination the peer does not know', async () => {
    const r = await rampart(['move', ...to(), '--dest', 'NOWHERE', '-k', `StudyInstanceUID=${A.study}`]);
    expect(r.out).toMatch(/Refused: move destination unknown \(0xA801\)/);
    expect(r.code).toBe(1);
  });

  it('gets a study into a folder, with file names of its own making', async () => {
    const dir = join(work, 'get-out');
    const r = await rampart(['get', ...to(), '-k', `StudyInstanceUID=${A.study}`, '--out', dir]);
    expect(r.out).toMatch(/C-GET final: Success \(0x0000\); 1 completed, 0 failed/);
    expect(r.code).toBe(0);
    const got = await readdir(dir);
    expect(got).toEqual([`000001-${A.sop}.dcm`]);
    const b = await readFile(join(dir, got[0]!));
    expect(datasetBytes(b).equals(datasetBytes(A.bytes))).toBe(true);
    expect(parsePart10(b).meta.string(0x00020003)).toBe(A.sop);
  });

  it('gets studies into this node\'s archive with --import, compressed ones in their own syntaxes', async () => {
    const compressed = ['JPEG2000.dcm', 'SC_rgb_jpeg_dcmtk.dcm'];
    expect((await rampart(['store', ...to(), ...compressed.map((f) => join(SAMPLES, f))])).code).toBe(0);
    const studies = [A.study, ...await Promise.all(compressed.map(async (f) => parsePart10(await readFile(join(SAMPLES, f))).dataset.string(0x0020000d)))];
    const data = await mkdtemp(join(work, 'import-'));
    const r = await rampart(['get', ...to(), '--data', data, '-k', `StudyInstanceUID=${studies.join('\\')}`, '--import']);
    expect(r.out, r.err).toMatch(/3 imported, 0 duplicate/);
    expect(r.code).toBe(0);
    const node = await openNode(loadConfig({ env: {}, overrides: { dataDir: data } }));
    try {
      for (const bytes of [A.bytes, ...await Promise.all(compressed.map((f) => readFile(join(SAMPLES, f))))]) {
        const inst = await node.index.getInstance(sopOf(bytes));
        expect(inst).toBeDefined();
        const stored = await node.blobs.readAll(inst!.blobKey);
        expect(datasetBytes(stored).equals(datasetBytes(bytes))).toBe(true);
      }
    } finally {
      await node.close();
    }
    // A second pull finds them already there.
    const again = await rampart(['get', ...to(), '--data', data, '-k', `StudyInstanceUID=${A.study}`, '--import']);
    expect(again.out).toMatch(/0 imported, 1 duplicate/);
  });
});

describe('DICOM TLS and user identity', () => {
  it('echoes over TLS, verifying the node certificate with --tls-ca', async () => {
    const r = await rampart(['echo', ...to(tlsPort), ...tlsCa()]);
    expect(r.out).toMatch(/\(TLS\): Success/);
    expect(r.code).toBe(0);
  });

  it('refuses a certificate it cannot verify unless told to skip verification', async () => {
    const r = await rampart(['echo', ...to(tlsPort), '--tls']);
    expect(r.err).toMatch(/certificate is not trusted/);
    expect(r.code).toBe(1);
    const skip = await rampart(['echo', ...to(tlsPort), '--insecure-skip-verify']);
    expect(skip.code).toBe(0);
    expect(skip.err).toMatch(/not verified/);
  });

  it('sends a username with the password from stdin to a peer that requires an identity', async () => {
    const ok = await rampart(['echo', ...to(tlsPort, 'WHO'), ...tlsCa(), '--user', 'admin'], `${t.adminPassword}\n`);
    expect(ok.out).toMatch(/Success/);
    expect(ok.code).toBe(0);
    const found = await rampart(['find', ...to(tlsPort, 'WHO'), ...tlsCa(), '--user', 'admin', '-k', 'PatientID=CLI1'], `${t.adminPassword}\n`);
    expect(found.out).toContain('CLI1');
    const bad = await rampart(['echo', ...to(tlsPort, 'WHO'), ...tlsCa(), '--user', 'admin'], 'wrong-password\n');
    expect(bad.err).toMatch(/association rejected/);
    expect(bad.code).toBe(1);
  });

  it('sends an API token from stdin as the type 5 identity', async () => {
    const r = await rampart(['echo', ...to(tlsPort, 'WHO'), ...tlsCa(), '--token-stdin'], `${await t.token(['read'])}\n`);
    expect(r.code).toBe(0);
  });

  it('never sends a password over plain TCP', async () => {
    const r = await rampart(['echo', ...to(port, 'WHO'), '--user', 'admin'], `${t.adminPassword}\n`);
    expect(r.err).toMatch(/only over DICOM TLS/);
    expect(r.code).toBe(2);
  });
});

describe('pulling from an old archive (DCMTK dcmqrscp)', () => {
  it('gets a study out of dcmqrscp with --import', async () => {
    const root = await mkdtemp(join(work, 'dcmqrscp-'));
    const db = join(root, 'db');
    await mkdir(db);
    const p = await freePort();
    const cfg = join(root, 'dcmqrscp.cfg');
    await writeFile(cfg, `NetworkTCPPort = ${p}\nMaxPDUSize = 16384\nMaxAssociations = 4\n\nHostTable BEGIN\nHostTable END\n\nVendorTable BEGIN\nVendorTable END\n\nAETable BEGIN\nOLDPACS ${db} RW (100, 64mb) ANY\nAETable END\n`);
    const proc = spawn('dcmqrscp', ['-c', cfg, String(p)], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' });
    try {
      await waitForPort(p);
      const B = makeInstance({ PatientName: 'OLD^BOB', PatientID: 'OLD1' });
      await writeFile(join(root, 'b.dcm'), B.bytes);
      const old = ['--host', host, '--port', String(p), '--aec', 'OLDPACS', '--aet', 'RAMPCLI'];
      expect((await rampart(['store', ...old, join(root, 'b.dcm')])).code).toBe(0);
      expect((await rampart(['find', ...old, '-k', 'PatientID=OLD1', '-k', 'StudyInstanceUID'])).out).toContain(B.study);
      const data = await mkdtemp(join(work, 'import-old-'));
      const r = await rampart(['get', ...old, '--data', data, '-k', `StudyInstanceUID=${B.study}`, '--import']);
      expect(r.out, r.err).toMatch(/1 imported/);
      expect(r.code).toBe(0);
      const node = await openNode(loadConfig({ env: {}, overrides: { dataDir: data } }));
      try {
        const inst = await node.index.getInstance(B.sop);
        expect(inst?.StudyInstanceUID).toBe(B.study);
      } finally {
        await node.close();
      }
    } finally {
      await new Promise<void>((r) => { if (proc.exitCode !== null) r(); else { proc.once('exit', () => r()); proc.kill('SIGTERM'); } });
    }
  });
});

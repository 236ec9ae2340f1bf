// The access matrix of the DIMSE door: C-FIND, C-MOVE, C-GET and C-STORE x {no credential,
// expired token, revoked token, bad token, other user's grant, right grant} on a node in 'grants'
// mode. Identities are API tokens sent as the JWT user identity (PS3.7 D.3.3.7, type 5). DCMTK's
// storescu sends them itself; findscu, movescu and getscu cannot send an identity, so they play
// the registered peer without one, and the project's SCU sends the identities for those services.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DimseStatus } from '../net/dimse/constants.js';
import { buildIdentifier, find, get, move, parseQueryKey, type ScuTarget } from '../net/scu-ops.js';
import { createToken, createUser } from '../security/authenticate.js';
import { systemPrincipal } from '../security/principal.js';
import { dcmtk, freePort, startStorescp } from '../../test/support/dcmtk.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { startTestNode, type TestNode } from '../../test/support/node.js';

type Cred = 'none' | 'expired' | 'revoked' | 'bad' | 'other' | 'right';
const CREDS: Cred[] = ['none', 'expired', 'revoked', 'bad', 'other', 'right'];
const NAME: Record<Cred, string> = {
  none: 'no credential (the registered peer alone)', expired: 'an expired token', revoked: 'a revoked token',
  bad: 'a bad token', other: "another user's grant", right: 'the right grant',
};

/** What each service answers about study A: matches / instances sent, or 'rejected' (the association). */
const MATRIX: Record<'C-FIND' | 'C-MOVE' | 'C-GET' | 'C-STORE', Record<Cred, number | 'rejected' | 'refused' | 'stored'>> = {
  'C-FIND': { none: 0, expired: 'rejected', revoked: 'rejected', bad: 'rejected', other: 0, right: 1 },
  'C-MOVE': { none: 0, expired: 'rejected', revoked: 'rejected', bad: 'rejected', other: 0, right: 1 },
  'C-GET': { none: 0, expired: 'rejected', revoked: 'rejected', bad: 'rejected', other: 0, right: 1 },
  'C-STORE': { none: 'refused', expired: 'rejected', revoked: 'rejected', bad: 'rejected', other: 'refused', right: 'stored' },
};

let t: TestNode;
let port: number, destPort: number;
let work: string;
const A = makeInstance({ PatientID: 'DA', PatientName: 'GRANTED^DIMSE' });
const B = makeInstance({ PatientID: 'DB', PatientName: 'OTHER^DIMSE' });
const tokens: Partial<Record<Cred, string>> = {};

beforeAll(async () => {
  t = await startTestNode({ 'access.mode': 'grants', 'dimse.identityRequiresTls': false }, { dimse: true });
  port = t.dimse!.ports.tcp!;
  destPort = await freePort();
  work = await mkdtemp(join(tmpdir(), 'rampart-matrix-'));
  const now = new Date().toISOString();
  await t.node.peers.addPeer({ aeTitle: 'MATRIX', host: '127.0.0.1', port: 1, allow: ['echo', 'store', 'find', 'move', 'get'], tls: false, certFingerprint: null, requireIdentity: false, createdAt: now });
  await t.node.peers.addPeer({ aeTitle: 'DEST', host: '127.0.0.1', port: destPort, allow: ['store'], tls: false, certFingerprint: null, requireIdentity: false, createdAt: now });
  const me = systemPrincipal();
  for (const x of [A, B]) expect((await t.node.ingest.ingest(me, (async function* () { yield x.bytes; })())).ok).toBe(true);
  await createUser(t.node.index, 'alice', 'technologist', 'correct horse battery staple 1');
  await createUser(t.node.index, 'bob', 'technologist', 'correct horse battery staple 2');
  await t.node.grants.add(me, { user: 'alice', studyInstanceUid: A.study });
  await t.node.grants.add(me, { user: 'bob', studyInstanceUid: B.study });
  tokens.right = (await createToken(t.node.index, 'alice', ['read', 'write'], 3_600_000)).secret;
  tokens.other = (await createToken(t.node.index, 'bob', ['read', 'write'], 3_600_000)).secret;
  tokens.expired = (await createToken(t.node.index, 'alice', ['read', 'write'], 3_600_000, new Date(Date.now() - 7_200_000))).secret;
  const revoked = await createToken(t.node.index, 'alice', ['read', 'write'], 3_600_000);
  await t.node.index.revokeToken(revoked.token.id, now);
  tokens.revoked = revoked.secret;
  tokens.bad = tokens.right.slice(0, -4) + (tokens.right.endsWith('AAAA') ? 'BBBB' : 'AAAA');
});
afterAll(async () => {
  await t?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const target = (cred: Cred): ScuTarget => ({
  host: '127.0.0.1', port, calledAeTitle: 'RAMPART', callingAeTitle: 'MATRIX', timeoutMs: 20_000,
  identity: cred === 'none' ? undefined : { type: 5, positiveResponseRequested: false, primaryField: Buffer.from(tokens[cred]!), secondaryField: Buffer.alloc(0) },
});
const studyKeys = () => buildIdentifier('STUDY', [parseQueryKey(`StudyInstanceUID=${A.study}`)]);

/** Runs an SCU operation; a refused association becomes 'rejected'. */
async function orRejected<T>(f: () => Promise<T>): Promise<T | 'rejected'> {
  try { return await f(); } catch (e) {
    if (/reject/i.test((e as Error).message)) return 'rejected';
    throw e;
  }
}

describe('the DIMSE access matrix in grants mode (project SCU, JWT user identity)', () => {
  for (const cred of CREDS) {
    const want = MATRIX['C-FIND'][cred];
    it(`C-FIND of study A with ${NAME[cred]} ${want === 'rejected' ? 'is rejected at association' : `finds ${want}`}`, async () => {
      const seen: string[] = [];
      const r = await orRejected(() => find(target(cred), { model: 'study', identifier: buildIdentifier('STUDY', [parseQueryKey('StudyInstanceUID'), parseQueryKey('PatientName')]) }, (ds) => { seen.push(ds.string(0x0020000d)); }));
      if (want === 'rejected') { expect(r).toBe('rejected'); return; }
      expect(r).not.toBe('rejected');
      expect((r as { status: number }).status).toBe(DimseStatus.Success);
      expect(seen.filter((u) => u === A.study).length).toBe(want);
    });
  }

  for (const cred of CREDS) {
    const want = MATRIX['C-MOVE'][cred];
    it(`C-MOVE of study A with ${NAME[cred]} ${want === 'rejected' ? 'is rejected at association' : `sends ${want}`}`, async () => {
      const dir = await mkdtemp(join(work, `move-${cred}-`));
      const scp = await startStorescp('DEST', destPort, dir);
      try {
        const r = await orRejected(() => move(target(cred), { model: 'study', identifier: studyKeys(), destination: 'DEST' }));
        if (want === 'rejected') { expect(r).toBe('rejected'); return; }
        expect(r).not.toBe('rejected');
        expect((r as { completed: number }).completed).toBe(want);
        expect((await readdir(dir)).length).toBe(want);
      } finally {
        await scp.stop();
      }
    });
  }

  for (const cred of CREDS) {
    const want = MATRIX['C-GET'][cred];
    it(`C-GET of study A with ${NAME[cred]} ${want === 'rejected' ? 'is rejected at association' : `receives ${want}`}`, async () => {
      const r = await orRejected(() => get(target(cred), { model: 'study', identifier: studyKeys(), sopClasses: ['1.2.840.10008.5.1.4.1.1.2'] }, async (_i, data) => {
        for await (const _c of data) { /* drain */ }
        return { status: DimseStatus.Success };
      }));
      if (want === 'rejected') { expect(r).toBe('rejected'); return; }
      expect(r).not.toBe('rejected');
      expect((r as { received: number }).received).toBe(want);
    });
  }

  it('C-FIND at the PATIENT level (Patient Root) shows only the granted patient', async () => {
    const seen: string[] = [];
    const r = await find(target('right'), { model: 'patient', identifier: buildIdentifier('PATIENT', [parseQueryKey('PatientID'), parseQueryKey('NumberOfPatientRelatedStudies')]) }, (ds) => { seen.push(ds.string(0x00100020)); });
    expect(r.status).toBe(DimseStatus.Success);
    expect(seen).toEqual(['DA']);
  });

  it('does not move an instance of another study named by its SOP Instance UID', async () => {
    const r = await move(target('right'), { model: 'study', identifier: buildIdentifier('IMAGE', [parseQueryKey(`StudyInstanceUID=${B.study}`), parseQueryKey(`SeriesInstanceUID=${B.series}`), parseQueryKey(`SOPInstanceUID=${B.sop}`)]), destination: 'DEST' });
    expect(r.completed).toBe(0);
  });

  it('does not find an instance of another study by its SOP Instance UID', async () => {
    const seen: string[] = [];
    await find(target('right'), { model: 'study', identifier: buildIdentifier('IMAGE', [parseQueryKey(`StudyInstanceUID=${B.study}`), parseQueryKey(`SeriesInstanceUID=${B.series}`), parseQueryKey(`SOPInstanceUID=${B.sop}`)]) }, (ds) => { seen.push(ds.string(0x00080018)); });
    expect(seen).toEqual([]);
  });
});

describe('the DIMSE access matrix with DCMTK', () => {
  const base = ['-aet', 'MATRIX', '-aec', 'RAMPART'];

  it('C-FIND (findscu, the peer without identity) finds nothing in grants mode', async () => {
    const r = await dcmtk('findscu', ['-v', '-S', ...base, '-k', 'QueryRetrieveLevel=STUDY', '-k', 'StudyInstanceUID', '-k', 'PatientName', '127.0.0.1', String(port)]);
    expect(r.out).toMatch(/Received Final Find Response \(Success\)/);
    expect(r.out).not.toContain(A.study);
    expect(r.out).not.toContain('GRANTED');
  });

  it('C-MOVE (movescu, the peer without identity) moves nothing in grants mode', async () => {
    const dir = await mkdtemp(join(work, 'dcmtk-move-'));
    const scp = await startStorescp('DEST', destPort, dir);
    try {
      const r = await dcmtk('movescu', ['-v', '-S', ...base, '-aem', 'DEST', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${A.study}`, '127.0.0.1', String(port)]);
      expect(r.out).toMatch(/Received Final Move Response/);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await scp.stop();
    }
  });

  it('C-FIND and C-MOVE (findscu, movescu) from a peer granted a patient through its group "peer:AE" find and move that study only', async () => {
    await t.node.peers.addPeer({ aeTitle: 'WARDWS', host: '127.0.0.1', port: 1, allow: ['find', 'move'], tls: false, certFingerprint: null, requireIdentity: false, createdAt: new Date().toISOString() });
    await t.node.grants.add(systemPrincipal(), { group: 'peer:WARDWS', patientId: 'DA' });
    const ward = ['-aet', 'WARDWS', '-aec', 'RAMPART'];
    const f = await dcmtk('findscu', ['-v', '-S', ...ward, '-k', 'QueryRetrieveLevel=STUDY', '-k', 'StudyInstanceUID', '127.0.0.1', String(port)]);
    expect(f.out).toContain(A.study);
    expect(f.out).not.toContain(B.study);
    const dir = await mkdtemp(join(work, 'dcmtk-ward-'));
    const scp = await startStorescp('DEST', destPort, dir);
    try {
      const m = await dcmtk('movescu', ['-v', '-S', ...ward, '-aem', 'DEST', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${A.study}\\${B.study}`, '127.0.0.1', String(port)]);
      expect(m.out).toMatch(/Received Final Move Response \(Success\)/);
      expect((await readdir(dir)).length).toBe(1);
    } finally {
      await scp.stop();
    }
  });

  it('C-GET (getscu, the peer without identity) gets nothing in grants mode', async () => {
    const dir = await mkdtemp(join(work, 'dcmtk-get-'));
    const r = await dcmtk('getscu', ['-v', '-S', ...base, '-od', dir, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${A.study}`, '127.0.0.1', String(port)]);
    expect(r.out).toMatch(/Received Final Get Response|Number of Completed Suboperations\s*: 0/);
    expect(await readdir(dir)).toEqual([]);
  });

  for (const cred of CREDS) {
    const want = MATRIX['C-STORE'][cred];
    it(`C-STORE (storescu) into study A with ${NAME[cred]} is ${want}`, async () => {
      const x = makeInstance({ PatientID: 'DA', StudyInstanceUID: A.study, SeriesInstanceUID: A.series });
      const file = join(work, `${cred}.dcm`);
      await writeFile(file, x.bytes);
      const args = ['-v', ...base];
      if (cred !== 'none') {
        const jwt = join(work, `${cred}.jwt`);
        await writeFile(jwt, tokens[cred]!);
        args.push('--jwt', jwt);
      }
      const r = await dcmtk('storescu', [...args, '127.0.0.1', String(port), file]);
      if (want === 'rejected') expect(r.out).toMatch(/Association Rejected/);
      else if (want === 'refused') expect(r.out).toMatch(/Received Store Response \((Refused: Not Authorized|Unknown Status: 0x124)\)/i);
      else expect(r.out).toMatch(/Received Store Response \(Success\)/);
      expect(Boolean(await t.node.index.getInstance(x.sop))).toBe(want === 'stored');
    });
  }
});

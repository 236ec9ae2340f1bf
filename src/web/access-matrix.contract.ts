// The access matrix of the DICOMweb door: every route x {no credential, expired token, revoked
// token, bad token, other user's grant, right grant}, on a node in 'grants' mode, plus direct
// object references that reach from a granted study into another one. Outside one's grants the
// answer is the one a missing object gets (404, or a search without it), never 403.
// Kept as a .contract.ts so the build leaves it out. Run on SQLite (access-matrix.int.test.ts) and PostgreSQL (access-matrix-postgres.int.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, createUser } from '../security/authenticate.js';
import { systemPrincipal } from '../security/principal.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { multipartBody, startTestNode, type TestNode } from '../../test/support/node.js';

type Cred = 'none' | 'expired' | 'revoked' | 'bad' | 'other' | 'right';
const CREDS: Cred[] = ['none', 'expired', 'revoked', 'bad', 'other', 'right'];

/** 'sees' = 200 and study A is in the answer; 'hides' = 200 and it is not. */
type Expect = number | 'sees' | 'hides';

/**
 * Defines the matrix's tests on a node started with these overrides (the index adapter, say);
 * `after` runs once the node is stopped.
 */
export function dicomWebAccessMatrix(label: string, overrides: () => Promise<Record<string, unknown>>, after?: () => Promise<void>): void {
  let t: TestNode;
  const A = makeInstance({ PatientID: 'PA', PatientName: 'GRANTED^ANNA' });
  const B = makeInstance({ PatientID: 'PB', PatientName: 'OTHER^BORIS' });
  const auth: Partial<Record<Cred, string>> = {};

  beforeAll(async () => {
    t = await startTestNode({ 'access.mode': 'grants', ...(await overrides()) });
    const me = systemPrincipal();
    for (const x of [A, B]) {
      const r = await t.node.ingest.ingest(me, (async function* () { yield x.bytes; })());
      expect(r.ok).toBe(true);
    }
    // Technologists: in 'grants' mode they see (and may store into) only what they are granted.
    await createUser(t.node.index, 'alice', 'technologist', 'correct horse battery staple 1');
    await createUser(t.node.index, 'bob', 'technologist', 'correct horse battery staple 2');
    await t.node.grants.add(me, { user: 'alice', studyInstanceUid: A.study, ttlMs: 86_400_000 });
    await t.node.grants.add(me, { user: 'bob', studyInstanceUid: B.study });
    const bearer = (s: string) => `Bearer ${s}`;
    auth.right = bearer((await createToken(t.node.index, 'alice', ['read', 'write'], 3_600_000)).secret);
    auth.other = bearer((await createToken(t.node.index, 'bob', ['read', 'write'], 3_600_000)).secret);
    auth.expired = bearer((await createToken(t.node.index, 'alice', ['read', 'write'], 3_600_000, new Date(Date.now() - 7_200_000))).secret);
    const revoked = await createToken(t.node.index, 'alice', ['read', 'write'], 3_600_000);
    await t.node.index.revokeToken(revoked.token.id, new Date().toISOString());
    auth.revoked = bearer(revoked.secret);
    auth.bad = bearer(auth.right.slice(7, -4) + (auth.right.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
  });
  afterAll(async () => {
    await t?.stop();
    await after?.();
  });

  const DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*';
  const JSON_ = 'application/dicom+json';
  const FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

  interface Route { name: string; method?: string; path: () => string; accept?: string; body?: () => { body: Blob; contentType: string } }

  const a = () => `/studies/${A.study}`;
  const aSe = () => `${a()}/series/${A.series}`;
  const aIn = () => `${aSe()}/instances/${A.sop}`;

  /** STOW-RS of a new instance into study A: stored for its grantee, refused (409, none stored) for anyone else. */
  const stowIntoA = () => multipartBody([makeInstance({ PatientID: 'PA', StudyInstanceUID: A.study, SeriesInstanceUID: A.series }).bytes]);

  const MATRIX: [Route, Record<'other' | 'right', Expect>][] = [
    [{ name: 'QIDO-RS studies', path: () => '/studies' }, { other: 'hides', right: 'sees' }],
    [{ name: 'QIDO-RS studies by UID', path: () => `/studies?StudyInstanceUID=${A.study}` }, { other: 'hides', right: 'sees' }],
    [{ name: 'QIDO-RS studies by patient', path: () => '/studies?PatientID=PA' }, { other: 'hides', right: 'sees' }],
    [{ name: 'QIDO-RS series', path: () => '/series' }, { other: 'hides', right: 'sees' }],
    [{ name: 'QIDO-RS series of a study', path: () => `${a()}/series` }, { other: 'hides', right: 'sees' }],
    [{ name: 'QIDO-RS instances', path: () => '/instances' }, { other: 'hides', right: 'sees' }],
    [{ name: 'QIDO-RS instances of a study', path: () => `${a()}/instances` }, { other: 'hides', right: 'sees' }],
    [{ name: 'QIDO-RS instances of a series', path: () => `${aSe()}/instances` }, { other: 'hides', right: 'sees' }],
    [{ name: 'WADO-RS study', path: a, accept: DICOM }, { other: 404, right: 200 }],
    [{ name: 'WADO-RS series', path: aSe, accept: DICOM }, { other: 404, right: 200 }],
    [{ name: 'WADO-RS instance', path: aIn, accept: DICOM }, { other: 404, right: 200 }],
    [{ name: 'WADO-RS study metadata', path: () => `${a()}/metadata`, accept: JSON_ }, { other: 404, right: 200 }],
    [{ name: 'WADO-RS series metadata', path: () => `${aSe()}/metadata`, accept: JSON_ }, { other: 404, right: 200 }],
    [{ name: 'WADO-RS instance metadata', path: () => `${aIn()}/metadata`, accept: JSON_ }, { other: 404, right: 200 }],
    [{ name: 'WADO-RS frames', path: () => `${aIn()}/frames/1`, accept: FRAMES }, { other: 404, right: 200 }],
    [{ name: 'WADO-RS bulkdata', path: () => `${aIn()}/bulkdata/7FE00010` }, { other: 404, right: 200 }],
    [{ name: 'WADO-RS rendered study', path: () => `${a()}/rendered`, accept: 'image/jpeg' }, { other: 404, right: 406 }],
    [{ name: 'WADO-RS rendered instance', path: () => `${aIn()}/rendered`, accept: 'image/jpeg' }, { other: 404, right: 406 }],
    [{ name: 'WADO-RS rendered frame', path: () => `${aIn()}/frames/1/rendered`, accept: 'image/jpeg' }, { other: 404, right: 406 }],
    [{ name: 'WADO-URI', path: () => `/wado?requestType=WADO&studyUID=${A.study}&seriesUID=${A.series}&objectUID=${A.sop}&contentType=application/dicom` }, { other: 404, right: 200 }],
    [{ name: 'STOW-RS into the study', method: 'POST', path: a, accept: JSON_, body: stowIntoA }, { other: 409, right: 200 }],
    [{ name: 'STOW-RS', method: 'POST', path: () => '/studies', accept: JSON_, body: stowIntoA }, { other: 409, right: 200 }],
    // Deleting needs the delete permission, which no technologist has, whatever the grants.
    [{ name: 'DELETE instance', method: 'DELETE', path: aIn }, { other: 403, right: 403 }],
    [{ name: 'DELETE series', method: 'DELETE', path: aSe }, { other: 403, right: 403 }],
    [{ name: 'DELETE study', method: 'DELETE', path: a }, { other: 403, right: 403 }],
  ];

  async function call(r: Route, cred: Cred): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = {};
    if (cred !== 'none') headers.authorization = auth[cred]!;
    if (r.accept) headers.accept = r.accept;
    let body: Blob | undefined;
    if (r.body) {
      const b = r.body();
      body = b.body;
      headers['content-type'] = b.contentType;
    }
    const res = await fetch(t.dicomweb + r.path(), { method: r.method ?? 'GET', headers, body });
    return { status: res.status, text: Buffer.from(await res.arrayBuffer()).toString('latin1') };
  }

  describe(`the DICOMweb access matrix in grants mode (${label})`, () => {
    for (const [route, byUser] of MATRIX) {
      for (const cred of CREDS) {
        const want: Expect = cred === 'other' || cred === 'right' ? byUser[cred] : 401;
        it(`${route.name} with ${cred === 'none' ? 'no credential' : cred === 'other' ? "another user's grant" : cred === 'right' ? 'the right grant' : `a ${cred} token`} answers ${want}`, async () => {
          const r = await call(route, cred);
          if (want === 'sees' || want === 'hides') {
            expect(r.status).toBe(200);
            if (want === 'sees') expect(r.text).toContain(A.study);
            else {
              expect(r.text).not.toContain(A.study);
              expect(r.text).not.toContain('GRANTED');
            }
          } else {
            expect(r.status).toBe(want);
            if (want === 404) expect(r.text).not.toContain(A.study);
          }
        });
      }
    }
  });

  describe('direct object references from a granted study into another', () => {
    const b = () => `/studies/${B.study}`;
    const REFS: [string, () => string, string | undefined][] = [
      ["another study's series under the granted study", () => `${a()}/series/${B.series}`, DICOM],
      ["another study's instance under the granted series", () => `${aSe()}/instances/${B.sop}`, DICOM],
      ["another study's instance metadata", () => `${b()}/series/${B.series}/instances/${B.sop}/metadata`, JSON_],
      ["another study's series metadata under the granted study", () => `${a()}/series/${B.series}/metadata`, JSON_],
      ["another study's frames", () => `${b()}/series/${B.series}/instances/${B.sop}/frames/1`, FRAMES],
      ["another study's frames under the granted study", () => `${a()}/series/${B.series}/instances/${B.sop}/frames/1`, FRAMES],
      ["another study's bulk data", () => `${b()}/series/${B.series}/instances/${B.sop}/bulkdata/7FE00010`, undefined],
      ["another study's rendered instance", () => `${b()}/series/${B.series}/instances/${B.sop}/rendered`, 'image/jpeg'],
      ['another study by WADO-URI', () => `/wado?requestType=WADO&studyUID=${B.study}&seriesUID=${B.series}&objectUID=${B.sop}&contentType=application/dicom`, undefined],
      ['another instance by WADO-URI under the granted study', () => `/wado?requestType=WADO&studyUID=${A.study}&seriesUID=${A.series}&objectUID=${B.sop}&contentType=application/dicom`, undefined],
    ];
    for (const [name, path, accept] of REFS) {
      it(`refuses ${name} as not found`, async () => {
        const r = await call({ name, path, accept }, 'right');
        expect(r.status).toBe(404);
        expect(r.text).not.toContain('OTHER');
      });
    }

    it('finds nothing of another study by its UIDs in any search', async () => {
      for (const path of [`${b()}/series`, `${b()}/instances`, `/instances?SOPInstanceUID=${B.sop}`, `/series?SeriesInstanceUID=${B.series}`, '/studies?PatientID=PB']) {
        const r = await call({ name: path, path: () => path }, 'right');
        expect(r.status, path).toBe(200);
        expect(JSON.parse(r.text), path).toEqual([]);
      }
    });

    it('does not let a STOW-RS replace or join an instance of a study outside the grants', async () => {
      const intoB = makeInstance({ PatientID: 'PB', StudyInstanceUID: B.study, SeriesInstanceUID: B.series });
      const r = await call({ name: 'stow', method: 'POST', path: () => '/studies', accept: JSON_, body: () => multipartBody([intoB.bytes]) }, 'right');
      expect(r.status).toBe(409);
      expect(await t.node.index.getInstance(intoB.sop)).toBeUndefined();
      expect((await t.node.index.listInstances({ StudyInstanceUID: B.study })).length).toBe(1);
    });
  });

  describe('grants by group and by patient, and their expiry', () => {
    it('lets a group member see a patient granted to the group, and not after the grant is removed', async () => {
      await createUser(t.node.index, 'carol', 'referring', 'correct horse battery staple 3');
      await t.node.grants.addToGroup(systemPrincipal(), 'carol', 'ward-7');
      const g = await t.node.grants.add(systemPrincipal(), { group: 'ward-7', patientId: 'PB' });
      const carol = `Bearer ${(await createToken(t.node.index, 'carol', ['read'], 3_600_000)).secret}`;
      const get = async () => (await fetch(`${t.dicomweb}/studies`, { headers: { authorization: carol } })).text();
      expect(await get()).toContain(B.study);
      expect(await get()).not.toContain(A.study);
      await t.node.grants.remove(systemPrincipal(), g.id);
      expect(JSON.parse(await get())).toEqual([]);
    });

    it('shows an administrator everything whatever the mode', async () => {
      const r = await fetch(`${t.dicomweb}/studies`, { headers: { authorization: `Bearer ${await t.token()}` } });
      const text = await r.text();
      expect(text).toContain(A.study);
      expect(text).toContain(B.study);
    });
  });
}

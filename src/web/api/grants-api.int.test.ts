// /api/grants and /api/break-glass on a node in 'grants' mode: passing on a study one can see,
// refusing what one cannot, and break-glass opening a study with a reason auditors can read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../security/authenticate.js';
import { systemPrincipal } from '../../security/principal.js';
import { makeInstance } from '../../../test/support/make-dicom.js';
import { startTestNode, type TestNode } from '../../../test/support/node.js';

let t: TestNode;
const A = makeInstance({ PatientID: 'GA' });
const B = makeInstance({ PatientID: 'GB' });
/** A password that passes the rules (it must not contain the username). */
const pw = (u: string) => `correct horse battery staple #${[...u].map((c) => c.charCodeAt(0)).join('.')}`;
const basic = (u: string) => `Basic ${Buffer.from(`${u}:${pw(u)}`).toString('base64')}`;

beforeAll(async () => {
  t = await startTestNode({ 'access.mode': 'grants' });
  for (const x of [A, B]) expect((await t.node.ingest.ingest(systemPrincipal(), (async function* () { yield x.bytes; })())).ok).toBe(true);
  for (const [u, role] of [['rad', 'radiologist'], ['ref', 'referring'], ['tech', 'technologist'], ['aud', 'auditor'], ['ext', 'external']] as const) {
    await createUser(t.node.index, u, role, pw(u));
  }
  await t.node.grants.add(systemPrincipal(), { user: 'rad', studyInstanceUid: A.study });
});
afterAll(async () => {
  await t?.stop();
});

const post = (path: string, as: string, body: unknown) =>
  fetch(`${t.url}/api${path}`, { method: 'POST', headers: { authorization: basic(as), 'content-type': 'application/json' }, body: JSON.stringify(body) });
const sees = async (as: string, study: string) =>
  (await fetch(`${t.dicomweb}/studies/${study}/metadata`, { headers: { authorization: basic(as) } })).status === 200;

describe('sharing with a user or group through /api/grants', () => {
  it('lets a radiologist pass a study it sees on to a referring physician, for a while', async () => {
    expect(await sees('ref', A.study)).toBe(false);
    const r = await post('/grants', 'rad', { user: 'ref', studyInstanceUid: A.study, expiresInDays: 7 });
    expect(r.status).toBe(201);
    const g = await r.json() as { id: string; expiresAt: string; grantedBy: string };
    expect(g.grantedBy).toBe('rad');
    expect(Date.parse(g.expiresAt) - Date.now()).toBeGreaterThan(6 * 86_400_000);
    expect(await sees('ref', A.study)).toBe(true);
    expect(await sees('ref', B.study)).toBe(false);
    expect((await fetch(`${t.url}/api/grants/${g.id}`, { method: 'DELETE', headers: { authorization: basic('rad') } })).status).toBe(204);
    expect(await sees('ref', A.study)).toBe(false);
  });

  it('answers not found when the study is one the radiologist cannot see', async () => {
    expect((await post('/grants', 'rad', { user: 'ref', studyInstanceUid: B.study })).status).toBe(404);
    expect((await post('/grants', 'rad', { group: 'ward', patientId: 'GB' })).status).toBe(403);
  });

  it('refuses users without the share permission', async () => {
    expect((await post('/grants', 'tech', { user: 'ref', studyInstanceUid: A.study })).status).toBe(403);
    expect((await post('/grants', 'ref', { user: 'ext', studyInstanceUid: A.study })).status).toBe(403);
  });

  it('refuses a grant that names both a user and a group', async () => {
    expect((await post('/grants', 'rad', { user: 'ref', group: 'ward', studyInstanceUid: A.study })).status).toBe(400);
  });
});

describe('break-glass', () => {
  it('opens a study outside the grants for a clinician who gives a reason', async () => {
    expect(await sees('rad', B.study)).toBe(false);
    const r = await post('/break-glass', 'rad', { studyInstanceUid: B.study, reason: 'Trauma call, patient unconscious, prior imaging needed' });
    expect(r.status).toBe(201);
    expect(await sees('rad', B.study)).toBe(true);
  });

  it('wants a real reason', async () => {
    expect((await post('/break-glass', 'tech', { studyInstanceUid: B.study, reason: 'x' })).status).toBe(400);
    expect((await post('/break-glass', 'tech', { studyInstanceUid: B.study })).status).toBe(400);
  });

  it('is not for external users or auditors', async () => {
    expect((await post('/break-glass', 'ext', { studyInstanceUid: B.study, reason: 'I would like to see this please' })).status).toBe(403);
    expect((await post('/break-glass', 'aud', { studyInstanceUid: B.study, reason: 'I would like to see this please' })).status).toBe(403);
  });

  it('lists each opening with its reason for auditors, and for no one else', async () => {
    const r = await fetch(`${t.url}/api/break-glass`, { headers: { authorization: basic('aud') } });
    expect(r.status).toBe(200);
    const list = await r.json() as { user: string; studyInstanceUid: string; reason: string }[];
    expect(list).toEqual([expect.objectContaining({ user: 'rad', studyInstanceUid: B.study, reason: 'Trauma call, patient unconscious, prior imaging needed' })]);
    expect((await fetch(`${t.url}/api/break-glass`, { headers: { authorization: basic('rad') } })).status).toBe(403);
  });

  it('shows the opening, flagged, in the grant list', async () => {
    const list = await t.node.grants.list(systemPrincipal());
    expect(list.filter((g) => g.kind === 'break-glass').map((g) => g.subjectName)).toEqual(['rad']);
  });
});

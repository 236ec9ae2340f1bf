// Rate limits at both doors: HTTP answers 429 with Retry-After, DIMSE answers out of resources
// (C-FIND 0xA700, C-MOVE 0xA701, C-GET 0xA702), and each refusal is audited as 'rate-limit'.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdentifier, find, get, move, parseQueryKey, type ScuTarget } from '../net/scu-ops.js';
import { createToken, createUser } from '../security/authenticate.js';
import { systemPrincipal } from '../security/principal.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { startTestNode, type TestNode } from '../../test/support/node.js';

let t: TestNode;
const A = makeInstance({ PatientID: 'RL' });
let token: string;

beforeAll(async () => {
  t = await startTestNode({
    'dimse.identityRequiresTls': false, 'rateLimit.queryPerMinute': 1, 'rateLimit.queryBurst': 2,
    'rateLimit.retrievePerMinute': 1, 'rateLimit.retrieveBurst': 2, 'rateLimit.retrieveBytesPerHour': 1,
  }, { dimse: true });
  expect((await t.node.ingest.ingest(systemPrincipal(), (async function* () { yield A.bytes; })())).ok).toBe(true);
  await t.node.peers.addPeer({ aeTitle: 'LIMITED', host: '127.0.0.1', port: 1, allow: ['find', 'move', 'get'], tls: false, certFingerprint: null, requireIdentity: false, createdAt: new Date().toISOString() });
  await createUser(t.node.index, 'busy', 'radiologist', 'correct horse battery staple 9');
  token = (await createToken(t.node.index, 'busy', ['read'], 3_600_000)).secret;
});
afterAll(async () => {
  await t?.stop();
});

const auditLines = async () => (await readFile(join(t.dataDir, 'audit', 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { action: string; reason?: string });

describe('rate limits over HTTP', () => {
  it('answers 429 with Retry-After once a user has used its query burst', async () => {
    const q = () => fetch(`${t.dicomweb}/studies`, { headers: { authorization: `Bearer ${token}` } });
    expect((await q()).status).toBe(200);
    expect((await q()).status).toBe(200);
    const r = await q();
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await auditLines()).some((e) => e.action === 'rate-limit' && e.reason === 'query')).toBe(true);
  });

  it('refuses retrievals past the hourly volume quota', async () => {
    const w = () => fetch(`${t.dicomweb}/studies/${A.study}`, { headers: { authorization: `Bearer ${token}`, accept: 'multipart/related; type="application/dicom"' } });
    expect((await w()).status).toBe(200); // the first retrieval uses the whole (1-byte) quota
    const r = await w();
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(3000);
  });
});

describe('rate limits over DIMSE', () => {
  const target: () => ScuTarget = () => ({ host: '127.0.0.1', port: t.dimse!.ports.tcp!, calledAeTitle: 'RAMPART', callingAeTitle: 'LIMITED', timeoutMs: 20_000 });
  const ident = () => buildIdentifier('STUDY', [parseQueryKey(`StudyInstanceUID=${A.study}`)]);

  it('answers C-FIND with 0xA700 once the peer has used its burst', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await find(target(), { model: 'study', identifier: ident() }, () => undefined)).status);
    expect(statuses).toEqual([0, 0, 0xa700]);
  });

  it('answers C-MOVE with 0xA701 and C-GET with 0xA702 once retrievals are used up', async () => {
    await t.node.peers.addPeer({ aeTitle: 'NOWHERE', host: '127.0.0.1', port: 9, allow: ['store'], tls: false, certFingerprint: null, requireIdentity: false, createdAt: new Date().toISOString() });
    // Two retrievals take the burst (and the first the 1-byte volume quota).
    const first = await get(target(), { model: 'study', identifier: ident(), sopClasses: ['1.2.840.10008.5.1.4.1.1.2'] }, async (_i, d) => { for await (const _c of d) { /* drain */ } return { status: 0 }; });
    expect(first.received).toBe(1);
    const m = await move(target(), { model: 'study', identifier: ident(), destination: 'NOWHERE' });
    expect(m.status).toBe(0xa701);
    const g = await get(target(), { model: 'study', identifier: ident(), sopClasses: ['1.2.840.10008.5.1.4.1.1.2'] }, async () => ({ status: 0 }));
    expect(g.status).toBe(0xa702);
  });
});

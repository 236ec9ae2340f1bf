// A refused access leaves a trace: an auditor (no query or view right) and a read-only token that
// tries to store or delete are refused with 403, and each refusal is in the audit trail.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../security/authenticate.js';
import { readTrail } from '../security/audit/reader.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { multipartBody, startTestNode, type TestNode } from '../../test/support/node.js';

let t: TestNode;
let auditor: Record<string, string>;
let reader: Record<string, string>;
const study = makeInstance({ PatientID: 'GUARD' });

beforeAll(async () => {
  t = await startTestNode();
  await createUser(t.node.index, 'audrey', 'auditor');
  auditor = { authorization: `Bearer ${await t.token(['read', 'write', 'admin'], 'audrey')}` };
  reader = { authorization: `Bearer ${await t.token(['read'])}` };
});
afterAll(async () => t?.stop());

const refusals = async () => (await readTrail(join(t.dataDir, 'audit')))
  .map((e) => e.event).filter((e) => e.outcome === 'failure' && e.reason === 'not-authorized');

describe('refused accesses', () => {
  it('refuses a search by a role without the query right, and records the refusal', async () => {
    const r = await fetch(`${t.dicomweb}/studies`, { headers: auditor });
    expect(r.status).toBe(403);
    expect(await refusals()).toContainEqual(expect.objectContaining({ action: 'query', principal: expect.objectContaining({ username: 'audrey' }) }));
  });

  it('refuses a retrieve and a metadata request without the view right, naming the study asked for', async () => {
    expect((await fetch(`${t.dicomweb}/studies/${study.study}`, { headers: { ...auditor, accept: 'multipart/related; type="application/dicom"' } })).status).toBe(403);
    expect((await fetch(`${t.dicomweb}/studies/${study.study}/metadata`, { headers: auditor })).status).toBe(403);
    const seen = await refusals();
    expect(seen).toContainEqual(expect.objectContaining({ action: 'retrieve', studies: [study.study] }));
    expect(seen).toContainEqual(expect.objectContaining({ action: 'metadata', studies: [study.study] }));
  });

  it('refuses a store and a delete by a read-only token, and records both', async () => {
    const { body, contentType } = multipartBody([study.bytes]);
    expect((await fetch(`${t.dicomweb}/studies`, { method: 'POST', body, headers: { ...reader, 'content-type': contentType } })).status).toBe(403);
    expect((await fetch(`${t.dicomweb}/studies/${study.study}`, { method: 'DELETE', headers: reader })).status).toBe(403);
    const actions = (await refusals()).map((e) => e.action);
    expect(actions).toContain('store');
    expect(actions).toContain('delete');
  });
});

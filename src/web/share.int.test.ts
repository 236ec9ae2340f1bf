// Share links end to end: made through /api/shares by a radiologist, opened at /s/<token> by
// someone without an account, and held to that one study (view-only or download), with single
// use, PIN attempts, expiry and revocation refused on a clear page.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, createUser } from '../security/authenticate.js';
import { systemPrincipal } from '../security/principal.js';
import { generateShareToken } from '../security/share-tokens.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { startTestNode, type TestNode } from '../../test/support/node.js';

let t: TestNode;
let rad: string, tech: string;
const A = makeInstance({ PatientID: 'SA', PatientName: 'SHARED^SAM', StudyDescription: '<script>alert(1)</script> & HEAD', StudyDate: '20240305' });
const B = makeInstance({ PatientID: 'SB', PatientName: 'PRIVATE^PAT' });

beforeAll(async () => {
  t = await startTestNode();
  for (const x of [A, B]) expect((await t.node.ingest.ingest(systemPrincipal(), (async function* () { yield x.bytes; })())).ok).toBe(true);
  await createUser(t.node.index, 'rad', 'radiologist', 'correct horse battery staple 1');
  await createUser(t.node.index, 'tech', 'technologist', 'correct horse battery staple 2');
  // Sharing is not within a read or write token's scope: the radiologist signs in with a password.
  rad = `Basic ${Buffer.from('rad:correct horse battery staple 1').toString('base64')}`;
  tech = `Bearer ${(await createToken(t.node.index, 'tech', ['read', 'write'], 3_600_000)).secret}`;
});
afterAll(async () => {
  await t?.stop();
});

async function createShare(body: Record<string, unknown>, as = rad): Promise<Response> {
  return fetch(`${t.url}/api/shares`, { method: 'POST', headers: { authorization: as, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Opens a link as a browser would: POST the form, keep the cookie the answer sets. */
async function open(url: string, pin?: string): Promise<{ status: number; cookie?: string; text: string }> {
  const r = await fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: pin === undefined ? '' : `pin=${pin}` });
  const cookie = r.headers.get('set-cookie')?.split(';')[0];
  return { status: r.status, cookie, text: await r.text() };
}

const path = (url: string) => new URL(url).pathname;

describe('making share links', () => {
  it('lets a radiologist share a study and answers the link once, never its hash', async () => {
    const r = await createShare({ studyInstanceUid: A.study, expiresInDays: 2 });
    expect(r.status).toBe(201);
    const body = await r.json() as Record<string, unknown>;
    expect(body.url).toMatch(new RegExp(`^${t.url}/s/rsh_[A-Za-z0-9_-]{43}$`));
    expect(body).not.toHaveProperty('tokenHash');
    const list = await (await fetch(`${t.url}/api/shares`, { headers: { authorization: rad } })).json() as Record<string, unknown>[];
    expect(list.map((s) => s.id)).toContain(body.id);
    expect(JSON.stringify(list)).not.toContain(String(body.url).split('/s/')[1]);
  });

  it('refuses a technologist, who has no share permission', async () => {
    expect((await createShare({ studyInstanceUid: A.study }, tech)).status).toBe(403);
  });

  it('answers not found for a study that is not stored', async () => {
    expect((await createShare({ studyInstanceUid: '1.2.3.4.5.6.7' })).status).toBe(404);
  });

  it('refuses a lifetime beyond the configured maximum', async () => {
    expect((await createShare({ studyInstanceUid: A.study, expiresInDays: 365 })).status).toBe(400);
  });
});

describe('opening a view-only link', () => {
  let url: string;
  let cookie: string;
  beforeAll(async () => {
    url = (await (await createShare({ studyInstanceUid: A.study })).json() as { url: string }).url;
  });

  it('shows a form to open it, with a strict CSP, no script and no data yet', async () => {
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await r.text();
    expect(html).toContain('<form method="post">');
    expect(html).not.toContain('<script');
    expect(html).not.toContain(A.study);
  });

  it('opens into a session that shows only the study: date, escaped description and series', async () => {
    const o = await open(url);
    expect(o.status).toBe(303);
    expect(o.cookie).toMatch(/^rampart_share=/);
    cookie = o.cookie!;
    const r = await fetch(url, { headers: { cookie } });
    const html = await r.text();
    expect(r.status).toBe(200);
    expect(html).toContain('2024-03-05');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; HEAD');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('SHARED^SAM');
    expect(html).toContain('<td>CT</td>');
  });

  it('serves the study metadata, frames and a search that finds only this study', async () => {
    const base = `${path(url)}/dicom-web`;
    const meta = await fetch(`${t.url}${base}/studies/${A.study}/metadata`, { headers: { cookie, accept: 'application/dicom+json' } });
    expect(meta.status).toBe(200);
    const frames = await fetch(`${t.url}${base}/studies/${A.study}/series/${A.series}/instances/${A.sop}/frames/1`, { headers: { cookie, accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
    expect(frames.status).toBe(200);
    const found = await (await fetch(`${t.url}${base}/studies`, { headers: { cookie } })).text();
    expect(found).toContain(A.study);
    expect(found).not.toContain(B.study);
    // Retrieve URLs in the answer stay under the link.
    expect(found).toContain(`"${t.url}${base}/studies/${A.study}"`);
  });

  it('forbids downloading the instances of a view-only link', async () => {
    const r = await fetch(`${t.url}${path(url)}/dicom-web/studies/${A.study}`, { headers: { cookie, accept: 'multipart/related; type="application/dicom"' } });
    expect(r.status).toBe(403);
  });

  it('answers 404 for any other study, for writes, and without the session', async () => {
    const base = `${t.url}${path(url)}/dicom-web`;
    expect((await fetch(`${base}/studies/${B.study}/metadata`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${base}/studies/${A.study}/series/${B.series}/metadata`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${base}/studies/${A.study}`, { method: 'DELETE', headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${base}/studies/${A.study}/metadata`)).status).toBe(404);
    expect((await fetch(`${t.url}/s/rsh_${'A'.repeat(43)}/dicom-web/studies/${A.study}/metadata`, { headers: { cookie } })).status).toBe(404);
  });

  it('does not let the session reach the authenticated DICOMweb door', async () => {
    expect((await fetch(`${t.dicomweb}/studies`, { headers: { cookie } })).status).toBe(401);
  });

  it('counts the use and shows when it was last used', async () => {
    const list = await (await fetch(`${t.url}/api/shares`, { headers: { authorization: rad } })).json() as { url?: string; useCount: number; lastUsedAt: string | null; studyInstanceUid: string }[];
    const mine = list.filter((s) => s.useCount > 0);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[0]!.lastUsedAt).not.toBeNull();
  });

  it('ends the session and refuses the link once it is revoked', async () => {
    const list = await (await fetch(`${t.url}/api/shares`, { headers: { authorization: rad } })).json() as { id: string; useCount: number }[];
    const id = list.find((s) => s.useCount > 0)!.id;
    expect((await fetch(`${t.url}/api/shares/${id}`, { method: 'DELETE', headers: { authorization: rad } })).status).toBe(204);
    expect((await fetch(`${t.url}${path(url)}/dicom-web/studies/${A.study}/metadata`, { headers: { cookie } })).status).toBe(404);
    const page = await fetch(url, { headers: { cookie } });
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('withdrawn');
  });
});

describe('links that cannot be opened', () => {
  it('opens a single-use link once and then says it was used', async () => {
    const { url } = await (await createShare({ studyInstanceUid: A.study, singleUse: true, access: 'download' })).json() as { url: string };
    const first = await open(url);
    expect(first.status).toBe(303);
    const dl = await fetch(`${t.url}${path(url)}/dicom-web/studies/${A.study}`, { headers: { cookie: first.cookie!, accept: 'multipart/related; type="application/dicom"' } });
    expect(dl.status).toBe(200);
    const again = await open(url);
    expect(again.status).toBe(410);
    expect(again.text).toContain('only once');
  });

  it('asks for the PIN, refuses a wrong one and locks after the allowed attempts', async () => {
    const { url } = await (await createShare({ studyInstanceUid: A.study, pin: '4711' })).json() as { url: string };
    expect(await (await fetch(url)).text()).toContain('name="pin"');
    expect((await open(url)).status).toBe(401);
    for (let i = 0; i < 4; i++) expect((await open(url, '0000')).status).toBe(401);
    const locked = await open(url, '0000');
    expect(locked.status).toBe(403);
    expect((await open(url, '4711')).status).toBe(403);
  });

  it('opens with the right PIN', async () => {
    const { url } = await (await createShare({ studyInstanceUid: A.study, pin: '123456' })).json() as { url: string };
    expect((await open(url, '123456')).status).toBe(303);
  });

  it('says an expired link has expired, and an unknown one is not valid', async () => {
    const { token, hash } = generateShareToken();
    await t.node.accessStore.addShare({
      id: 'expired-1', tokenHash: hash, studyInstanceUid: A.study, access: 'view', expiresAt: new Date(Date.now() - 1000).toISOString(),
      singleUse: false, pinHash: null, createdBy: 'rad', createdAt: new Date(Date.now() - 86_400_000).toISOString(), revokedAt: null, lastUsedAt: null, useCount: 0, failedPinAttempts: 0,
    });
    const r = await fetch(`${t.url}/s/${token}`);
    expect(r.status).toBe(410);
    expect(await r.text()).toContain('expired');
    expect((await open(`${t.url}/s/${token}`)).status).toBe(410);
    const unknown = await fetch(`${t.url}/s/rsh_${'B'.repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('not valid');
  });
});

describe('the audit trail of share links', () => {
  it('records each link made and revoked, each opening and each refusal with its reason', async () => {
    const events = (await readFile(join(t.dataDir, 'audit', 'audit.jsonl'), 'utf8')).trim().split('\n')
      .map((l) => JSON.parse(l) as { action: string; outcome: string; reason?: string; studies?: string[] });
    const of = (action: string, outcome: string) => events.filter((e) => e.action === action && e.outcome === outcome);
    expect(of('share-create', 'success').length).toBeGreaterThanOrEqual(5);
    expect(of('share-revoke', 'success').length).toBe(1);
    expect(of('share-open', 'success').every((e) => e.studies?.[0] === A.study)).toBe(true);
    expect(of('share-open', 'success').length).toBeGreaterThanOrEqual(3);
    expect(of('share-open', 'failure').map((e) => e.reason)).toEqual(expect.arrayContaining(['used', 'wrong-pin', 'locked', 'pin-required', 'expired']));
  });
});

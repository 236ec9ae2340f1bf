// Storage that loses nothing: a node killed with SIGKILL in the middle of a STOW-RS upload
// leaves every instance whole or absent, keeps everything it acknowledged, and cleans up its
// staging folder on the next start (or through `rampart fsck --repair`).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, utimes } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce } from '../../test/support/build.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { multipartBody, splitMultipart } from '../../test/support/node.js';
import { rampart, running, serve, until, type Served } from '../../test/support/serve.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const BOUNDARY = 'crash-test-boundary-5d1f';
const partHead = Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`);

let data: string;
let auth: Record<string, string>;
let node: Served;
const staging = () => join(data, 'blobs', '.staging');

/** SOP Instance UIDs of a study the node shows through QIDO-RS. */
async function visible(url: string, study: string): Promise<string[]> {
  const r = await fetch(`${url}/dicom-web/studies/${study}/instances`, { headers: auth });
  if (r.status !== 200) throw new Error(`QIDO-RS answered ${r.status}`);
  const rows = await r.json() as Record<string, { Value: string[] }>[];
  return rows.map((row) => row['00080018']!.Value[0]!).sort();
}

/** The stored bytes of a whole study through WADO-RS, keyed by SHA-256. */
async function retrieved(url: string, study: string): Promise<Set<string>> {
  const r = await fetch(`${url}/dicom-web/studies/${study}`, { headers: { ...auth, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
  if (r.status !== 200) throw new Error(`WADO-RS answered ${r.status}`);
  return new Set(splitMultipart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!).map((p) => sha(p.body)));
}

// What was acknowledged before the crash: one complete STOW-RS request.
const firstAcked = makeInstance({ PatientID: 'ACKED', rows: 64, columns: 64 });
const ackedStudy = firstAcked.study;
const acked = [firstAcked, ...Array.from({ length: 4 }, (_, i) =>
  makeInstance({ StudyInstanceUID: ackedStudy, SeriesInstanceUID: firstAcked.series, InstanceNumber: i + 2, PatientID: 'ACKED', rows: 64, columns: 64 }))];

// The upload in flight when the node is killed: more whole parts than one commit batch (32),
// so one batch is committed while the request is still open, then half of a large last part.
const firstInflight = makeInstance({ PatientID: 'INFLIGHT', rows: 256, columns: 256 });
const inflightStudy = firstInflight.study;
const inflight = [firstInflight, ...Array.from({ length: 39 }, (_, i) =>
  makeInstance({ StudyInstanceUID: inflightStudy, SeriesInstanceUID: firstInflight.series, InstanceNumber: i + 2, PatientID: 'INFLIGHT', rows: 256, columns: 256 }))];
const cutOff = makeInstance({ StudyInstanceUID: inflightStudy, SeriesInstanceUID: firstInflight.series, InstanceNumber: 99, PatientID: 'INFLIGHT', rows: 1024, columns: 1024 });
const HALF = cutOff.bytes.length >> 1;

let seenBeforeKill: string[] = [];
let leftovers: string[] = [];
let restartStderr = '';
let keptAfterRestart: string[] = [];

beforeAll(async () => {
  await buildOnce();
  data = await mkdtemp(join(tmpdir(), 'rampart-crash-'));
  node = await serve(data);
  auth = { authorization: 'Basic ' + Buffer.from(`admin:${(await readFile(join(data, 'initial-admin-password'), 'utf8')).trim()}`).toString('base64') };

  const { body, contentType } = multipartBody(acked.map((x) => x.bytes), BOUNDARY);
  const ack = await fetch(`${node.url}/dicom-web/studies`, { method: 'POST', body, headers: { ...auth, 'content-type': contentType } });
  if (ack.status !== 200) throw new Error(`the acknowledged upload answered ${ack.status}`);

  // A slow client: every part of `inflight`, then the first half of `cutOff`, then nothing.
  const total = inflight.reduce((n, x) => n + partHead.length + x.bytes.length + 2, 0) + partHead.length + cutOff.bytes.length + 2 + BOUNDARY.length + 6;
  const req: ClientRequest = httpRequest({
    host: '127.0.0.1', port: Number(new URL(node.url).port), method: 'POST', path: '/dicom-web/studies',
    headers: { ...auth, 'content-type': `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`, 'content-length': String(total) },
  });
  req.on('error', () => undefined); // the server dies under it
  req.on('response', () => { throw new Error('the in-flight upload must not be answered'); });
  const write = (b: Buffer) => new Promise<void>((r) => { if (req.write(b)) r(); else req.once('drain', () => r()); });
  for (const x of inflight) { await write(partHead); await write(x.bytes); await write(Buffer.from('\r\n')); }
  await write(partHead);
  await write(cutOff.bytes.subarray(0, HALF));

  // Kill only once the node has committed a batch of this request and is writing the cut-off part.
  seenBeforeKill = await until(async () => { const v = await visible(node.url, inflightStudy); return v.length > 0 ? v : undefined; });
  await until(async () => {
    for (const f of await readdir(staging())) if (((await stat(join(staging(), f)).catch(() => undefined))?.size ?? 0) > HALF / 2) return true;
    return undefined;
  });
  node.child.kill('SIGKILL');
  const killed = await node.exited;
  if (killed.signal !== 'SIGKILL') throw new Error(`the node was not killed: ${JSON.stringify(killed)}`);
  req.destroy();

  // Everything staged is a leftover now. All but one are dated back past the 60 s the start-up
  // sweep waits for (an upload that young could still be in progress); that one stays for fsck.
  leftovers = (await readdir(staging())).sort();
  const past = new Date(Date.now() - 10 * 60_000);
  for (const f of leftovers.slice(1)) await utimes(join(staging(), f), past, past);

  node = await serve(data);
  restartStderr = node.stderr();
  keptAfterRestart = await visible(node.url, inflightStudy);
}, 600_000);

afterAll(async () => {
  for (const c of running) c.kill('SIGKILL');
  if (data) await rm(data, { recursive: true, force: true });
});

describe('a node killed (SIGKILL) in the middle of a STOW-RS upload, then started again', () => {
  it('had staged uploads left behind by the kill', () => {
    expect(leftovers.length).toBeGreaterThan(1);
  });

  it('sweeps staged leftovers older than 60 s at start, and says how many', async () => {
    expect(restartStderr).toContain(`removed ${leftovers.length - 1} staged upload(s) left by an earlier stop`);
    expect(await readdir(staging())).toEqual([leftovers[0]]);
  });

  it('still has every instance it acknowledged before, byte-identical', async () => {
    expect(await visible(node.url, ackedStudy)).toEqual(acked.map((x) => x.sop).sort());
    expect(await retrieved(node.url, ackedStudy)).toEqual(new Set(acked.map((x) => sha(x.bytes))));
  });

  it('keeps the batch it had committed during the killed request, each instance whole', async () => {
    const now = keptAfterRestart;
    expect(now).toEqual(expect.arrayContaining(seenBeforeKill));
    const sent = new Map(inflight.map((x) => [x.sop, x]));
    for (const sop of now) expect(sent.has(sop), sop).toBe(true);
    expect(await retrieved(node.url, inflightStudy)).toEqual(new Set(now.map((sop) => sha(sent.get(sop)!.bytes))));
  });

  it('shows nothing of the part it was receiving, through QIDO-RS or WADO-RS', async () => {
    expect(await visible(node.url, inflightStudy)).not.toContain(cutOff.sop);
    const q = await fetch(`${node.url}/dicom-web/instances?SOPInstanceUID=${cutOff.sop}`, { headers: auth });
    expect(q.status).toBe(200);
    expect(await q.json()).toEqual([]);
    const w = await fetch(`${node.url}/dicom-web/studies/${inflightStudy}/series/${cutOff.series}/instances/${cutOff.sop}`, { headers: { ...auth, accept: 'application/dicom; transfer-syntax=*' } });
    expect(w.status).toBe(404);
  });

  it('stops cleanly afterwards (SIGTERM, exit code 0)', async () => {
    node.child.kill('SIGTERM');
    expect(await node.exited).toEqual({ code: 0, signal: null });
  });

  it('leaves fsck no missing or corrupt blob to report', async () => {
    const r = await rampart(['fsck', '--json', '--data', data]);
    const report = JSON.parse(r.stdout) as { instances: number; missingBlobs: string[]; corrupt: string[]; orphanBlobs: string[] };
    expect(report.missingBlobs).toEqual([]);
    expect(report.corrupt).toEqual([]);
    expect(report.instances).toBe(acked.length + keptAfterRestart.length);
    // Orphans (blobs renamed into place whose batch never reached the index) are allowed here;
    // --repair below removes them.
  });

  it('lets fsck --repair empty the staging folder and leave a store with no problems', async () => {
    const repair = await rampart(['fsck', '--repair', '--json', '--data', data]);
    expect(JSON.parse(repair.stdout)).toMatchObject({ missingBlobs: [], corrupt: [], stagedLeftovers: 1 });
    expect(repair.code).toBe(0);
    expect(await readdir(staging())).toEqual([]);
    const after = await rampart(['fsck', '--data', data]);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('no problems found');
  });
});


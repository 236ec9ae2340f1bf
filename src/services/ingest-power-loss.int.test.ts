// Acknowledged means kept, even when the power fails before the index reaches the disk. A
// store is acknowledged once its blob (bytes and name) is durable and its index row committed;
// the index itself is synced at the next barrier (storage.indexSyncMs). Here the node is killed
// after acknowledging, and its index file is put back to what was on disk at the previous
// barrier, as a power loss would leave it: the next start indexes the lost rows again.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce } from '../../test/support/build.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { multipartBody, splitMultipart } from '../../test/support/node.js';
import { rampart, running, serve, type Served } from '../../test/support/serve.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const first = makeInstance({ PatientID: 'DURABLE', rows: 32, columns: 32 });
const durable = [first, makeInstance({ StudyInstanceUID: first.study, SeriesInstanceUID: first.series, InstanceNumber: 2, PatientID: 'DURABLE', rows: 32, columns: 32 })];
const late = makeInstance({ PatientID: 'LATE', rows: 32, columns: 32 });
/** Being stored when the power failed: its name reached the disk, only part of its bytes did. */
const torn = makeInstance({ PatientID: 'TORN', rows: 64, columns: 64 });
let tornKey = '';
const lost = [late, ...[2, 3, 4].map((n) => makeInstance({ StudyInstanceUID: late.study, SeriesInstanceUID: late.series, InstanceNumber: n, PatientID: 'LATE', rows: 32, columns: 32 }))];

let data: string;
let auth: Record<string, string>;
let node: Served;
let journalsAfterCleanStop: string[] = [];
let journalsAfterKill: string[] = [];
let indexedBeforeRecovery: number;
let restartStderr = '';

async function stow(url: string, objects: { bytes: Buffer }[]): Promise<number> {
  const { body, contentType } = multipartBody(objects.map((x) => x.bytes));
  return (await fetch(`${url}/dicom-web/studies`, { method: 'POST', body, headers: { ...auth, 'content-type': contentType } })).status;
}

async function instances(url: string, study: string): Promise<string[]> {
  const r = await fetch(`${url}/dicom-web/studies/${study}/instances`, { headers: auth });
  if (r.status !== 200) throw new Error(`QIDO-RS answered ${r.status}`);
  return ((await r.json()) as Record<string, { Value: string[] }>[]).map((row) => row['00080018']!.Value[0]!).sort();
}

const journals = () => readdir(join(data, 'blobs', '.recent')).catch(() => [] as string[]);

beforeAll(async () => {
  await buildOnce();
  data = await mkdtemp(join(tmpdir(), 'rampart-powerloss-'));
  node = await serve(data);
  auth = { authorization: 'Basic ' + Buffer.from(`admin:${(await readFile(join(data, 'initial-admin-password'), 'utf8')).trim()}`).toString('base64') };
  if (await stow(node.url, durable) !== 200) throw new Error('the first upload failed');
  node.child.kill('SIGTERM');
  await node.exited;
  journalsAfterCleanStop = await journals();
  // What the disk held at that barrier (a clean stop checkpoints the WAL into the file).
  await copyFile(join(data, 'index.sqlite'), join(data, 'index-at-barrier.sqlite'));

  node = await serve(data);
  if (await stow(node.url, lost) !== 200) throw new Error('the second upload failed');
  node.child.kill('SIGKILL');
  await node.exited;
  journalsAfterKill = await journals();
  // The torn one lands in the folder the journal names, under a name carrying its whole hash.
  const placed = (await readdir(join(data, 'blobs'))).filter((d) => /^[0-9a-f]{2}$/.test(d));
  const journal = (await readFile(join(data, 'blobs', '.recent', journalsAfterKill[0]!), 'latin1')).split('\n');
  const prefix = journal.find((l) => /^[0-9a-f]{4}$/.test(l))!;
  if (!placed.includes(prefix.slice(0, 2))) throw new Error('the journal names a folder that was not used');
  tornKey = prefix + randomBytes(6).toString('hex') + sha(torn.bytes).slice(0, 16);
  await writeFile(join(data, 'blobs', prefix.slice(0, 2), prefix.slice(2, 4), tornKey), torn.bytes.subarray(0, torn.bytes.length - 4096));

  // The power loss: the index rows committed after the barrier never reached the disk.
  await copyFile(join(data, 'index-at-barrier.sqlite'), join(data, 'index.sqlite'));
  await rm(join(data, 'index.sqlite-wal'), { force: true });
  await rm(join(data, 'index.sqlite-shm'), { force: true });
  // Read the file directly: any rampart command would open the node and recover at once.
  const db = new Database(join(data, 'index.sqlite'), { readonly: true });
  indexedBeforeRecovery = (db.prepare('SELECT count(*) AS n FROM instances').get() as { n: number }).n;
  db.close();

  node = await serve(data);
  restartStderr = node.stderr();
}, 300_000);

afterAll(async () => {
  for (const c of running) c.kill('SIGKILL');
  if (data) await rm(data, { recursive: true, force: true });
});

describe('a node that loses power after acknowledging stores, before its index barrier', () => {
  it('leaves no journal after a clean stop, and one after the kill', () => {
    expect(journalsAfterCleanStop).toEqual([]);
    expect(journalsAfterKill).toHaveLength(1);
  });

  it('had lost the index rows of the acknowledged upload', () => {
    expect(indexedBeforeRecovery).toBe(durable.length);
  });

  it('indexes them again at the next start, and says so', async () => {
    expect(restartStderr).toContain(`indexed again ${lost.length} stored instance(s)`);
    expect(await instances(node.url, late.study)).toEqual(lost.map((x) => x.sop).sort());
    expect(await instances(node.url, first.study)).toEqual(durable.map((x) => x.sop).sort());
  });

  it('serves the recovered instances byte-identical', async () => {
    const r = await fetch(`${node.url}/dicom-web/studies/${late.study}`, { headers: { ...auth, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    expect(r.status).toBe(200);
    const got = new Set(splitMultipart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!).map((p) => sha(p.body)));
    expect(got).toEqual(new Set(lost.map((x) => sha(x.bytes))));
  });

  it('never indexes a blob whose bytes were cut short, and says so', async () => {
    expect(restartStderr).toContain('1 blob(s) that an earlier stop was still writing were cut short');
    const q = await fetch(`${node.url}/dicom-web/instances?SOPInstanceUID=${torn.sop}`, { headers: auth });
    expect(await q.json()).toEqual([]);
  });

  it('releases the journal it recovered from', async () => {
    expect(await journals()).toEqual([]);
  });

  it('leaves fsck only the torn blob to report once stopped, which --repair removes', async () => {
    node.child.kill('SIGTERM');
    expect(await node.exited).toEqual({ code: 0, signal: null });
    const report = JSON.parse((await rampart(['fsck', '--json', '--data', data])).stdout) as { instances: number; missingBlobs: string[]; corrupt: string[]; orphanBlobs: string[] };
    expect(report).toMatchObject({ instances: durable.length + lost.length, missingBlobs: [], corrupt: [], orphanBlobs: [tornKey] });
    await rampart(['fsck', '--repair', '--data', data]);
    const after = JSON.parse((await rampart(['fsck', '--json', '--data', data])).stdout) as { orphanBlobs: string[] };
    expect(after.orphanBlobs).toEqual([]);
  });
});

// The whole node on PostgreSQL: STOW-RS, QIDO-RS (person names with non-ASCII letters),
// WADO-RS and DELETE through an in-process node, then `rampart serve --index postgres://...`
// as a process answering from the same database.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, buildOnce } from '../../../test/support/build.js';
import { makeInstance } from '../../../test/support/make-dicom.js';
import { multipartBody, splitMultipart, startTestNode, type TestNode } from '../../../test/support/node.js';
import { startPostgres, type RunningPostgres } from '../../../test/support/postgres.js';



// Three patients: two whose names start with Ŝtr in some case, one with a plain S.
const jurgen = makeInstance({ PatientName: 'Ŝtraße^Jürgen', PatientID: 'PG-1', Modality: 'MR' });
const jurgen2 = makeInstance({ PatientName: 'Ŝtraße^Jürgen', PatientID: 'PG-1', StudyInstanceUID: jurgen.study, SeriesInstanceUID: jurgen.series, InstanceNumber: 2, Modality: 'MR' });
const asa = makeInstance({ PatientName: 'ŝtrøm^Åsa', PatientID: 'PG-2', Modality: 'CT' });
const otto = makeInstance({ PatientName: 'Strasse^Otto', PatientID: 'PG-3', Modality: 'CR' });

let pg: RunningPostgres;
let t: TestNode;
let auth: Record<string, string>;

beforeAll(async () => {
  await buildOnce();
  pg = await startPostgres();
  t = await startTestNode({ 'index.url': pg.url });
  auth = { authorization: `Bearer ${await t.token()}` };
}, 600_000);

afterAll(async () => {
  await t?.stop();
  await pg?.stop();
});

const qido = async (query: string): Promise<Record<string, { Value?: unknown[] }>[]> => {
  const r = await fetch(`${t.dicomweb}/studies?${query}`, { headers: auth });
  expect(r.status).toBe(200);
  return await r.json() as Record<string, { Value?: unknown[] }>[];
};
const studiesOf = (rows: Record<string, { Value?: unknown[] }>[]) => rows.map((r) => r['0020000D']!.Value![0] as string).sort();
const blobCount = async () => {
  let n = 0;
  const root = join(t.dataDir, 'blobs');
  for (const a of (await readdir(root)).filter((d) => /^[0-9a-f]{2}$/.test(d))) for (const b of await readdir(join(root, a))) n += (await readdir(join(root, a, b))).length;
  return n;
};

describe('an in-process node whose index is PostgreSQL', () => {
  it('keeps its index in PostgreSQL, not in a SQLite file', () => {
    expect(t.node.config.index.url).toBe(pg.url);
    expect(existsSync(join(t.dataDir, 'index.sqlite'))).toBe(false);
  });

  it('stores studies sent through STOW-RS', async () => {
    const { body, contentType } = multipartBody([jurgen.bytes, jurgen2.bytes, asa.bytes, otto.bytes]);
    const r = await fetch(`${t.dicomweb}/studies`, { method: 'POST', body, headers: { ...auth, 'content-type': contentType } });
    expect(r.status).toBe(200);
    expect(await t.node.index.counts()).toMatchObject({ instances: 4 });
  });

  it('matches a lower-case PN wildcard against names with non-ASCII capitals (ŝtr* finds Ŝtraße and ŝtrøm, not Strasse)', async () => {
    expect(studiesOf(await qido(`PatientName=${encodeURIComponent('ŝtr*')}`))).toEqual([jurgen.study, asa.study].sort());
  });

  it('matches ß against its upper-case SS, and a name typed in decomposed form (NFD)', async () => {
    expect(studiesOf(await qido(`PatientName=${encodeURIComponent('ŜTRASSE*')}`))).toEqual([jurgen.study]);
    expect(studiesOf(await qido(`PatientName=${encodeURIComponent('*^jürgen'.normalize('NFD'))}`))).toEqual([jurgen.study]);
  });

  it('returns the names as stored, in UTF-8 DICOM JSON', async () => {
    const [row] = await qido(`PatientID=PG-2`);
    expect(row!['00100010']!.Value).toEqual([{ Alphabetic: 'ŝtrøm^Åsa' }]);
    expect(row!['00201208']!.Value).toEqual([1]);
  });

  it('retrieves a study byte-identical through WADO-RS', async () => {
    const r = await fetch(`${t.dicomweb}/studies/${jurgen.study}`, { headers: { ...auth, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    expect(r.status).toBe(200);
    const parts = splitMultipart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!).map((p) => p.body.toString('base64')).sort();
    expect(parts).toEqual([jurgen.bytes, jurgen2.bytes].map((b) => b.toString('base64')).sort());
  });

  it('deletes a study: gone from QIDO-RS and WADO-RS, its blobs removed, a second DELETE answered 404', async () => {
    const before = await blobCount();
    expect((await fetch(`${t.dicomweb}/studies/${jurgen.study}`, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect(studiesOf(await qido(`PatientName=${encodeURIComponent('ŝtr*')}`))).toEqual([asa.study]);
    expect((await fetch(`${t.dicomweb}/studies/${jurgen.study}`, { headers: { ...auth, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } })).status).toBe(404);
    expect(await blobCount()).toBe(before - 2);
    expect((await fetch(`${t.dicomweb}/studies/${jurgen.study}`, { method: 'DELETE', headers: auth })).status).toBe(404);
  });
});

describe('rampart serve --index postgres://... as a process', () => {
  let child: ChildProcess | undefined;
  afterAll(() => { if (child && child.exitCode === null) child.kill('SIGKILL'); });

  it('answers from the same PostgreSQL index (its token and its studies), with no SQLite file made', async () => {
    // No RAMPART_* settings from outside; no DIMSE door, whose fixed default ports parallel test nodes cannot share.
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAMPART_'))), RAMPART_DIMSE_ENABLED: 'false' };
    const proc = spawn(process.execPath, ['bin/rampart.js', 'serve', '--data', t.dataDir, '--http-port', '0', '--index', pg.url], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    let err = '';
    const url = await new Promise<string>((done, fail) => {
      proc.stderr.setEncoding('utf8').on('data', (s: string) => {
        err += s;
        const m = /DICOMweb at http:\/\/\S+?:(\d+)\/dicom-web/.exec(err);
        if (m) done(`http://127.0.0.1:${m[1]}`);
      });
      void exited.then((code) => fail(new Error(`rampart serve exited (${code}) before listening:\n${err}`)));
    });
    expect(err).toContain('index PostgreSQL');
    expect(err).not.toContain('created the administrator');

    const r = await fetch(`${url}/dicom-web/studies?PatientName=${encodeURIComponent('ŝtr*')}`, { headers: auth });
    expect(r.status).toBe(200);
    expect(studiesOf(await r.json() as Record<string, { Value?: unknown[] }>[])).toEqual([asa.study]);
    expect(existsSync(join(t.dataDir, 'index.sqlite'))).toBe(false);

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

// The `rampart` command as an operator runs it: the compiled bin/rampart.js in a child process
// with --data on a temporary folder, talking to the node it serves over loopback only.
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce } from '../../test/support/build.js';
import { parsePart10 } from '../dicom/reader.js';
import { Tags } from '../dicom/tag.js';
import { hashToken } from '../security/tokens.js';
import { makeInstance } from '../../test/support/make-dicom.js';
import { PYDICOM_DATA, multipartBody, splitMultipart } from '../../test/support/node.js';
import { rampart, running, serve, type Served } from '../../test/support/serve.js';

const SAMPLES = `${PYDICOM_DATA}/test_files`;

// ---- running the command (test/support/serve.ts) ------------------------------------------

type Run = Awaited<ReturnType<typeof rampart>>;

const basic = (user: string, password: string) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const adminPassword = async (data: string) => (await readFile(join(data, 'initial-admin-password'), 'utf8')).trim();

const temps: string[] = [];
async function tempDir(prefix = 'rampart-cli-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** Every blob file of a data folder: DATA/blobs/xx/yy/<key>. */
async function blobFiles(data: string): Promise<string[]> {
  const root = join(data, 'blobs'), out: string[] = [];
  for (const a of (await readdir(root)).filter((d) => /^[0-9a-f]{2}$/.test(d))) {
    for (const b of await readdir(join(root, a))) for (const k of await readdir(join(root, a, b))) out.push(join(root, a, b, k));
  }
  return out.sort();
}

/** Regular files under a path, as `rampart import` walks them (symbolic links are not followed). */
async function regularFiles(path: string): Promise<string[]> {
  const st = await lstat(path);
  if (st.isDirectory()) return (await Promise.all((await readdir(path)).map((n) => regularFiles(join(path, n))))).flat();
  return st.isFile() ? [path] : [];
}

function uidsOf(bytes: Buffer): { study: string; series: string; sop: string } {
  const ds = parsePart10(bytes, { stopAtPixelData: true }).dataset;
  return { study: ds.string(Tags.StudyInstanceUID)!, series: ds.string(Tags.SeriesInstanceUID)!, sop: ds.string(Tags.SOPInstanceUID)! };
}

beforeAll(async () => {
  await buildOnce();
}, 600_000);

afterAll(async () => {
  for (const c of running) c.kill('SIGKILL');
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

// ---- serve --------------------------------------------------------------------------------

describe('rampart serve on a fresh data folder', () => {
  let data: string;
  let node: Served;
  let password: string;
  beforeAll(async () => {
    data = await tempDir();
    node = await serve(data);
    password = await adminPassword(data);
  });
  afterAll(async () => { if (node?.child.exitCode === null) await node.stop(); });

  it('says where the initial administrator password is', () => {
    expect(node.stderr()).toContain(`its password is in ${join(data, 'initial-admin-password')}`);
    expect(node.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('writes that password to DATA/initial-admin-password readable by its owner only', async () => {
    expect((await stat(join(data, 'initial-admin-password'))).mode & 0o777).toBe(0o600);
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  it('accepts that password over HTTP Basic and refuses another', async () => {
    expect((await fetch(`${node.url}/dicom-web/studies`, { headers: basic('admin', password) })).status).toBe(200);
    expect((await fetch(`${node.url}/dicom-web/studies`, { headers: basic('admin', password + 'x') })).status).toBe(401);
  });

  it('answers the liveness check without credentials', async () => {
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });

  it.each([
    ['GET', '/'], ['GET', '/nothing-here'], ['GET', '/dicom-web/studies'], ['GET', '/dicom-web/series'],
    ['GET', '/dicom-web/studies/1.2.3/series/4.5/instances/6.7'], ['GET', '/dicom-web/studies/1.2.3/metadata'],
    ['GET', '/dicom-web/wado?requestType=WADO&studyUID=1&seriesUID=2&objectUID=3'], ['POST', '/dicom-web/studies'],
    ['DELETE', '/dicom-web/studies/1.2.3'], ['POST', '/healthz'],
  ])('answers 401 to an anonymous %s %s', async (method, path) => {
    const r = await fetch(node.url + path, { method });
    expect(r.status).toBe(401);
  });

  it('stops with exit code 0 on SIGTERM', async () => {
    expect(await node.stop()).toEqual({ code: 0, signal: null });
  });

  it('keeps the same administrator password on a second start', async () => {
    const again = await serve(data);
    try {
      expect(again.stderr()).not.toContain('created the administrator');
      expect(await adminPassword(data)).toBe(password);
      expect((await fetch(`${again.url}/dicom-web/studies`, { headers: basic('admin', password) })).status).toBe(200);
    } finally {
      expect((await again.stop()).code).toBe(0);
    }
  });
});

describe('rampart serve --host 0.0.0.0 (beyond loopback)', () => {
  let data: string;
  let node: Served;
  let ca: string;
  beforeAll(async () => {
    data = await tempDir();
    node = await serve(data, ['--host', '0.0.0.0']);
    ca = await readFile(join(data, 'tls', 'node-cert.pem'), 'utf8');
  });
  afterAll(async () => { if (node?.child.exitCode === null) await node.stop(); });

  const get = (path: string, opts: { ca?: string; headers?: Record<string, string> } = {}) =>
    new Promise<number>((done, fail) => {
      const req = httpsRequest({ host: '127.0.0.1', port: node.port, path, ca: opts.ca, headers: opts.headers }, (res) => { res.resume(); done(res.statusCode!); });
      req.once('error', fail);
      req.end();
    });

  it('says on stderr that it serves HTTPS with its own certificate in DATA/tls', () => {
    expect(node.url).toMatch(/^https:/);
    expect(node.stderr()).toContain(`requires HTTPS: using the node's own certificate in ${join(data, 'tls')}`);
  });

  it('generated a self-signed certificate for 127.0.0.1 and a private key only its owner reads', async () => {
    const cert = new X509Certificate(ca);
    expect(cert.subject).toBe(cert.issuer);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect((await stat(join(data, 'tls', 'node-key.pem'))).mode & 0o777).toBe(0o600);
  });

  it('answers over HTTPS verified against that certificate, still closed without credentials', async () => {
    expect(await get('/healthz', { ca })).toBe(200);
    expect(await get('/dicom-web/studies', { ca })).toBe(401);
    expect(await get('/dicom-web/studies', { ca, headers: basic('admin', await adminPassword(data)) })).toBe(200);
  });

  it('is not trusted by a client that does not know the certificate', async () => {
    await expect(get('/healthz')).rejects.toThrow(/self-signed|self signed/i);
  });

  it('gives no HTTP answer to a plain-HTTP request', async () => {
    const outcome = await new Promise<string>((done) => {
      const req = httpRequest({ host: '127.0.0.1', port: node.port, path: '/healthz' }, (res) => { res.resume(); done(`status ${res.statusCode}`); });
      req.once('error', (e) => done(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^error /);
  });
});

// ---- user and token -----------------------------------------------------------------------

describe('rampart user and rampart token against a running node', () => {
  let data: string;
  let node: Served;
  beforeAll(async () => {
    data = await tempDir();
    node = await serve(data);
  });
  afterAll(async () => { if (node?.child.exitCode === null) await node.stop(); });
  const studies = (headers: Record<string, string>) => fetch(`${node.url}/dicom-web/studies`, { headers }).then((r) => r.status);

  it.each([
    ['password123', /at least 12 characters/],
    ['password1234', /too common/],
    ['carol-is-my-password', /must not contain the username/],
    ['correct horse battery staple', /too common/],
  ])('refuses the weak password %s with a reason and exit code 2', async (pw, reason) => {
    // Another name than the account added next: these failed sign-ins put "carol" into back-off.
    const r = await rampart(['user', 'add', 'carol', '--role', 'radiologist', '--data', data], pw + '\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(reason);
    expect(await studies(basic('carol', pw))).toBe(401);
  });

  it('adds a user whose password comes on stdin, who can then sign in over HTTP Basic', async () => {
    const r = await rampart(['user', 'add', 'alice', '--role', 'radiologist', '--data', data], 'violet anchor drizzle 58\n');
    expect(r).toMatchObject({ code: 0, stdout: 'user alice added with role radiologist\n' });
    expect(await studies(basic('alice', 'violet anchor drizzle 58'))).toBe(200);
  });

  it('refuses an unknown role with exit code 2', async () => {
    const r = await rampart(['user', 'add', 'bob', '--role', 'emperor', '--data', data], 'violet anchor drizzle 58\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/role must be one of/);
  });

  it('lists users with their roles, and never their password hashes', async () => {
    const text = await rampart(['user', 'list', '--data', data]);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n').filter(Boolean).map((l) => l.split('\t').slice(0, 2))).toEqual(expect.arrayContaining([['admin', 'admin'], ['alice', 'radiologist']]));
    const json = await rampart(['user', 'list', '--json', '--data', data]);
    const users = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(users.map((u) => u.username).sort()).toEqual(['admin', 'alice']);
    expect(json.stdout).not.toMatch(/argon2|passwordHash/);
  });

  it('removes a user, who can then no longer sign in, and says so when there is no such user', async () => {
    expect((await rampart(['user', 'remove', 'alice', '--data', data])).code).toBe(0);
    expect(await studies(basic('alice', 'violet anchor drizzle 58'))).toBe(401);
    const again = await rampart(['user', 'remove', 'alice', '--data', data]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no user alice');
  });

  describe('tokens', () => {
    let secret: string;
    let id: string;

    it('prints a new token once, alone on stdout', async () => {
      const before = Date.now();
      const r = await rampart(['token', 'create', '--user', 'admin', '--scope', 'read', '--ttl', '1h', '--data', data]);
      const after = Date.now();
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^rpt_\S+\n$/);
      expect(r.stderr).toMatch(/shown only this once/);
      secret = r.stdout.trim();
      const list = JSON.parse((await rampart(['token', 'list', '--json', '--data', data])).stdout) as { id: string; scopes: string[]; expiresAt: string; revokedAt: string | null }[];
      expect(list).toHaveLength(1);
      id = list[0]!.id;
      expect(r.stderr).toContain(id);
      expect(list[0]!.scopes).toEqual(['read']);
      const expires = Date.parse(list[0]!.expiresAt);
      expect(expires).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(after + 3_600_000 + 1000);
    });

    it('works as a Bearer token within its scope, and only within it', async () => {
      expect(await studies(bearer(secret))).toBe(200);
      const { body, contentType } = multipartBody([makeInstance().bytes]);
      const r = await fetch(`${node.url}/dicom-web/studies`, { method: 'POST', body, headers: { ...bearer(secret), 'content-type': contentType } });
      expect(r.status).toBe(403);
    });

    it('is listed without its secret or the hash of it', async () => {
      const r = await rampart(['token', 'list', '--json', '--data', data]);
      expect(r.stdout).not.toContain(secret);
      expect(r.stdout).not.toContain(secret.slice(4));
      expect(r.stdout).not.toContain(hashToken(secret));
      expect(r.stdout).not.toMatch(/tokenHash/);
      const text = await rampart(['token', 'list', '--data', data]);
      expect(text.stdout).toMatch(new RegExp(`^${id}\\tread\\texpires \\S+\\tactive`));
      expect(text.stdout).not.toContain(secret);
    });

    it('stops working once revoked (401), and is listed as revoked', async () => {
      const r = await rampart(['token', 'revoke', id, '--data', data]);
      expect(r).toMatchObject({ code: 0, stdout: `token ${id} revoked\n` });
      expect(await studies(bearer(secret))).toBe(401);
      const list = JSON.parse((await rampart(['token', 'list', '--json', '--data', data])).stdout) as { revokedAt: string | null }[];
      expect(list[0]!.revokedAt).not.toBeNull();
    });

    it('says so (exit code 1) when asked to revoke a token that does not exist', async () => {
      const r = await rampart(['token', 'revoke', 'no-such-token', '--data', data]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('no token no-such-token');
    });
  });
});

// ---- import -------------------------------------------------------------------------------

describe('rampart import of pydicom\'s sample folder and a file that is not DICOM', () => {
  const SUMMARY = /^(\d+) stored, (\d+) duplicate\(s\), (\d+) replaced, (\d+) rejected$/m;
  let data: string;
  let notDicom: string;
  let first: Run;
  let counts: { stored: number; duplicates: number; replaced: number; rejected: number };
  let rejectedLines: { file: string; reason: string }[];

  beforeAll(async () => {
    if (!existsSync(SAMPLES)) throw new Error(`${SAMPLES} is missing: install python3-pydicom (Debian) to run this test`);
    data = await tempDir();
    notDicom = join(await tempDir('rampart-cli-extra-'), 'notes.txt');
    await writeFile(notDicom, 'not a DICOM file, only words\n'.repeat(20));
    first = await rampart(['import', SAMPLES, notDicom, '--data', data]);
    const m = SUMMARY.exec(first.stdout);
    if (!m) throw new Error(`no summary line in:\n${first.stdout}\n${first.stderr}`);
    counts = { stored: Number(m[1]), duplicates: Number(m[2]), replaced: Number(m[3]), rejected: Number(m[4]) };
    rejectedLines = first.stderr.split('\n').filter((l) => l.startsWith('rejected ')).map((l) => {
      const r = /^rejected (.+?): (.+)$/.exec(l)!;
      return { file: r[1]!, reason: r[2]! };
    });
  });

  it('exits 1 because something was rejected, after a summary line on stdout', () => {
    expect(first.code).toBe(1);
    expect(first.stdout.trim().split('\n').pop()).toMatch(SUMMARY);
    expect(counts.stored).toBeGreaterThan(50);
    expect(counts.replaced).toBe(0);
  });

  it('accounts for every file it walked exactly once', async () => {
    const files = [...await regularFiles(SAMPLES), notDicom];
    expect(counts.stored + counts.duplicates + counts.replaced + counts.rejected).toBe(files.length);
  });

  it('prints one "rejected <file>: <reason>" line per rejected file, the non-DICOM file among them', () => {
    expect(rejectedLines).toHaveLength(counts.rejected);
    expect(new Set(rejectedLines.map((r) => r.file)).size).toBe(counts.rejected);
    expect(rejectedLines).toContainEqual({ file: notDicom, reason: 'not a DICOM Part 10 file: no "DICM" prefix at byte 128' });
    for (const r of rejectedLines) expect(r.reason.length, r.file).toBeGreaterThan(5);
  });

  it('gives the same account as JSON with --json', async () => {
    const other = await tempDir();
    const r = await rampart(['import', SAMPLES, notDicom, '--data', other, '--json']);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as typeof counts & { rejectedFiles: { file: string; reason: string }[] };
    expect({ stored: json.stored, duplicates: json.duplicates, replaced: json.replaced, rejected: json.rejected }).toEqual(counts);
    expect([...json.rejectedFiles].sort((a, b) => a.file.localeCompare(b.file))).toEqual([...rejectedLines].sort((a, b) => a.file.localeCompare(b.file)));
    expect(r.stderr).not.toMatch(/^rejected /m);
  });

  it('stores nothing new when the same folder is imported again, and counts the duplicates', async () => {
    const r = await rampart(['import', SAMPLES, notDicom, '--data', data, '--json']);
    const json = JSON.parse(r.stdout) as typeof counts;
    expect(json.stored).toBe(0);
    expect(json.duplicates).toBe(counts.stored + counts.duplicates);
    expect(json.rejected).toBe(counts.rejected);
  });

  it('leaves imported objects retrievable byte-identical through WADO-RS with transfer-syntax=*', async () => {
    const rejected = new Set(rejectedLines.map((r) => r.file));
    const stored = (await regularFiles(SAMPLES)).filter((f) => !rejected.has(f)).sort();
    const picked = [stored[0]!, stored[Math.floor(stored.length / 2)]!, stored[stored.length - 1]!];
    const node = await serve(data);
    try {
      const auth = basic('admin', await adminPassword(data));
      for (const file of picked) {
        const bytes = await readFile(file);
        const { study, series, sop } = uidsOf(bytes);
        const r = await fetch(`${node.url}/dicom-web/studies/${study}/series/${series}/instances/${sop}`, {
          headers: { ...auth, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
        });
        expect(r.status, basename(file)).toBe(200);
        const parts = splitMultipart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!);
        expect(parts, basename(file)).toHaveLength(1);
        expect(parts[0]!.body.equals(bytes), basename(file)).toBe(true);
      }
    } finally {
      await node.stop();
    }
  });
});

// ---- fsck ---------------------------------------------------------------------------------

describe('rampart fsck', () => {
  interface Report { instances: number; blobs: number; missingBlobs: string[]; corrupt: string[]; orphanBlobs: string[]; stagedLeftovers: number; repaired: number }
  const instances = Array.from({ length: 5 }, (_, i) => makeInstance({ InstanceNumber: i + 1, rows: 16, columns: 16 }));
  let data: string;
  let blobs: string[];
  const missing = { sop: '', file: '' }, corrupt = { sop: '', file: '' };
  let orphan = { key: '', file: '' };

  const sopOfBlob = (bytes: Buffer) => instances.find((x) => x.bytes.equals(bytes))!.sop;
  const fsck = async (...args: string[]) => {
    const r = await rampart(['fsck', '--data', data, ...args]);
    return { ...r, report: args.includes('--json') ? JSON.parse(r.stdout) as Report : undefined };
  };

  beforeAll(async () => {
    data = await tempDir();
    const folder = await tempDir('rampart-cli-in-');
    await Promise.all(instances.map((x, i) => writeFile(join(folder, `${i}.dcm`), x.bytes)));
    const r = await rampart(['import', folder, '--data', data]);
    if (r.code !== 0) throw new Error(`import failed: ${r.stdout}${r.stderr}`);
    blobs = await blobFiles(data);
  });

  it('finds no problem in a clean store (exit code 0)', async () => {
    const r = await fsck();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('5 instances indexed, 5 blobs stored');
    expect(r.stdout).toContain('no problems found');
  });

  it('reports one missing blob, one corrupt blob and one orphan after damage (exit code 1)', async () => {
    expect(blobs).toHaveLength(5);
    missing.file = blobs[0]!;
    missing.sop = sopOfBlob(await readFile(missing.file));
    await unlink(missing.file);
    corrupt.file = blobs[1]!;
    const bytes = await readFile(corrupt.file);
    corrupt.sop = sopOfBlob(bytes);
    bytes[bytes.length - 3]! ^= 0xff; // a pixel, so the object still parses but its SHA-256 differs
    await writeFile(corrupt.file, bytes);
    // An orphan as a crash between blob and index would leave it: a server-made key, filed under its first 4 hex digits.
    const dir = dirname(blobs[2]!);
    orphan = { key: basename(dirname(dir)) + basename(dir) + 'f'.repeat(28), file: '' };
    orphan.file = join(dir, orphan.key);
    await writeFile(orphan.file, instances[0]!.bytes);

    const text = await fsck();
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('5 instances indexed, 5 blobs stored');
    expect(text.stdout).toContain('1 indexed instance(s) whose blob is missing');
    expect(text.stdout).toContain(`1 blob(s) whose SHA-256 no longer matches: ${corrupt.sop}`);
    expect(text.stdout).toContain('1 blob(s) that no index row refers to');
    expect(text.stdout).not.toContain('no problems found');

    const json = await fsck('--json');
    expect(json.code).toBe(1);
    expect(json.report).toEqual({ instances: 5, blobs: 5, missingBlobs: [missing.sop], corrupt: [corrupt.sop], orphanBlobs: [orphan.key], stagedLeftovers: 0, repaired: 0 });
  });

  it('with --repair removes the orphan and the index row of the missing blob, and still reports the corrupt one (exit code 1)', async () => {
    const repair = await fsck('--repair');
    expect(repair.code).toBe(1);
    expect(repair.stdout).toContain('whose blob is missing (removed from the index)');
    expect(repair.stdout).toContain('that no index row refers to (removed)');
    expect(existsSync(orphan.file)).toBe(false);
    expect(existsSync(corrupt.file)).toBe(true);

    const after = await fsck('--json');
    expect(after.code).toBe(1);
    expect(after.report).toEqual({ instances: 4, blobs: 4, missingBlobs: [], corrupt: [corrupt.sop], orphanBlobs: [], stagedLeftovers: 0, repaired: 0 });
    const again = await fsck('--repair', '--json');
    expect(again.code).toBe(1);
    expect(again.report).toMatchObject({ corrupt: [corrupt.sop], repaired: 0 });
  });

  it('removes staged leftovers with --repair and counts them', async () => {
    await writeFile(join(data, 'blobs', '.staging', 'a'.repeat(32)), 'half an upload');
    const r = await fsck('--repair', '--json');
    expect(r.report!.stagedLeftovers).toBe(1);
    expect(await readdir(join(data, 'blobs', '.staging'))).toEqual([]);
  });
});

// ---- mistakes -----------------------------------------------------------------------------

describe('mistakes on the command line', () => {
  it('answers an unknown command with the list of commands and exit code 2', async () => {
    const r = await rampart(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain('usage: rampart <command>');
  });

  it('treats a name Object happens to have ("constructor") as an unknown command', async () => {
    const r = await rampart(['constructor']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "constructor"');
  });

  it('answers a bad flag with the command\'s usage and exit code 2, touching no data folder', async () => {
    const data = join(await tempDir(), 'never-made');
    const r = await rampart(['fsck', '--frobnicate', '--data', data]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown option '--frobnicate'");
    expect(r.stderr).toContain('usage: rampart fsck [--repair]');
    expect(existsSync(data)).toBe(false);
  });

  it('answers a bad flag value with a reason naming it and exit code 2', async () => {
    const r = await rampart(['serve', '--http-port', 'eighty', '--data', await tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('http.port');
  });

  it('answers no command at all with the list of commands and exit code 2', async () => {
    const r = await rampart([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('usage: rampart <command>');
  });
});

// `rampart audit verify` and `rampart audit export`, run in-process against a real data directory.
import { Readable } from 'node:stream';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { openAuditTrail } from '../security/audit/open.js';
import { validateAuditXml } from '../../test/support/audit-schema.js';
import { main } from './main.js';
import { readTrail } from '../security/audit/reader.js';
import { toDicomXml } from '../security/audit/dicom-xml.js';
import { PYDICOM_DATA } from '../../test/support/node.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'rampart-audit-cli-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

async function run(...args: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main([...args, '--data', dir], { out: (s) => out.push(s), err: (s) => err.push(s), stdin: Readable.from([]), isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function seed() {
  const trail = await openAuditTrail(loadConfig({ env: {}, overrides: { dataDir: dir } }));
  await trail.record({ action: 'login', outcome: 'failure', principal: { kind: 'user', username: 'alice', door: 'web', ip: '10.0.0.7' }, reason: 'bad-password' });
  await trail.record({ action: 'retrieve', outcome: 'success', principal: { kind: 'user', username: 'alice', door: 'dicomweb', ip: '10.0.0.7' }, studies: ['1.2.3'], instances: 2, patients: [{ id: 'PID-9', name: 'Doe^John' }] });
  await trail.record({ action: 'query', outcome: 'success', principal: { kind: 'peer', username: 'MODALITY', door: 'dimse', ip: '10.0.0.8' }, query: { '00100020': 'PID-9' } });
  await trail.close();
}

describe('rampart audit', () => {
  it('verify reports an intact trail with exit code 0', async () => {
    await seed();
    const r = await run('audit', 'verify');
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/intact: 3 entries in 1 chain\(s\)/);
  });

  it('verify names the altered entry and exits non-zero', async () => {
    await seed();
    const f = join(dir, 'audit', (await readdir(join(dir, 'audit'))).find((n) => n.startsWith('audit-'))!);
    await writeFile(f, (await readFile(f, 'utf8')).replace('"instances":2', '"instances":1'));
    const r = await run('audit', 'verify');
    expect(r.code).toBe(1);
    expect(r.err).toContain('entry 1');
    expect(r.err).toContain('altered');
  });

  it('exports CSV, FHIR AuditEvents and schema-valid DICOM messages, and records that the trail was read', async () => {
    await seed();
    const csv = await run('audit', 'export', '--format', 'csv');
    expect(csv.code).toBe(0);
    expect(csv.out.split('\n')[0]).toMatch(/^time,seq,action,outcome,user/);
    expect(csv.out).toContain('PID-9');
    const fhir = (await run('audit', 'export', '--format', 'fhir', '--since', '1h')).out.split('\n').map((l) => JSON.parse(l));
    expect(fhir.find((x) => x.type.code === '110104')).toMatchObject({ resourceType: 'AuditEvent', action: 'R', outcome: '0' });
    // The second export sees the first one's audit-read event.
    expect(fhir.some((x) => x.type.code === '110101')).toBe(true);
    const dicom = (await run('audit', 'export', '--format', 'dicom', '--until', '2999-01-01')).out.split('\n');
    expect(dicom.length).toBeGreaterThanOrEqual(5);
    expect(await validateAuditXml(dicom)).toBe('');
    expect((await run('audit', 'export', '--format', 'csv', '--until', '2000-01-01')).out.split('\n')).toHaveLength(1);
    expect((await run('audit', 'verify')).code).toBe(0);
  });

  it('verifies the side chain a command writes while another process owns the main one', async () => {
    await seed();
    const owner = await openAuditTrail(loadConfig({ env: {}, overrides: { dataDir: dir } }));
    await owner.record({ action: 'application-start', outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' } });
    // The export records its audit-read into a side chain: the main one is held by `owner`.
    expect((await run('audit', 'export', '--format', 'csv')).code).toBe(0);
    expect(await readdir(join(dir, 'audit', 'side'))).toHaveLength(1);
    await owner.close();
    const r = await run('audit', 'verify');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/intact: 5 entries in 2 chain\(s\)/);
  });

  it('records, as an alert in the trail, that a torn last line was cut off after a crash', async () => {
    await seed();
    const f = join(dir, 'audit', (await readdir(join(dir, 'audit'))).find((n) => n.startsWith('audit-'))!);
    await writeFile(f, (await readFile(f, 'utf8')) + '{"seq":3,"ti');
    const trail = await openAuditTrail(loadConfig({ env: {}, overrides: { dataDir: dir } }));
    await trail.close();
    const csv = (await run('audit', 'export', '--format', 'csv')).out;
    expect(csv).toMatch(/,alert,success,system,.*audit-tail-repaired/);
    expect((await run('audit', 'verify')).code).toBe(0);
  });

  it('records the command-line doors: import with its patients, user and peer changes with their targets', async () => {
    const io = (stdin: string[] = []) => ({ out: () => undefined, err: () => undefined, stdin: Readable.from(stdin), isTTY: false });
    expect(await main(['import', `${PYDICOM_DATA}/test_files/CT_small.dcm`, '--data', dir], io())).toBe(0);
    expect(await main(['user', 'add', 'ivy', '--role', 'auditor', '--data', dir], io(['a long enough passphrase 2\n']))).toBe(0);
    expect(await main(['peer', 'add', 'CT01', '--host', '127.0.0.1', '--port', '104', '--allow', 'echo,store', '--data', dir], io())).toBe(0);
    const entries = await readTrail(join(dir, 'audit'));
    const find = (action: string) => entries.find((x) => x.event.action === action)?.event;
    expect(find('import')).toMatchObject({ outcome: 'success', instances: 1, principal: { door: 'cli' } });
    expect(find('store')?.patients?.[0]?.id).toBeTruthy();
    expect(find('user-create')).toMatchObject({ target: 'ivy' });
    expect(find('peer-add')).toMatchObject({ target: 'CT01' });
    expect(await validateAuditXml(entries.map((e) => toDicomXml(e, { id: 'RAMPART', aeTitle: 'RAMPART' })))).toBe('');
  });

  it('writes the accounting of disclosures for a patient as CSV and PDF from the command line', async () => {
    await seed();
    const csv = await run('audit', 'disclosures', '--patient', 'PID-9');
    expect(csv.code).toBe(0);
    expect(csv.out.split('\r\n')[1]).toMatch(/,alice,user,dicomweb,10\.0\.0\.7,retrieve,success,PID-9,1\.2\.3,2,,$/);
    const pdf = join(dir, 'd.pdf');
    expect((await run('audit', 'disclosures', '--patient', 'PID-9', '--format', 'pdf', '--out', pdf)).code).toBe(0);
    expect((await readFile(pdf)).subarray(0, 8).toString('latin1')).toBe('%PDF-1.4');
    expect((await run('audit', 'disclosures', '--patient', 'PID-9', '--user', 'alice')).code).toBe(2);
  });
});

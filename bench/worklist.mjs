// The web app's worklist at index scale: 100,000 studies indexed straight into a fresh SQLite
// index (no pixel data: this measures the query, not ingest), then the worklist's searches and
// sorts through the same QueryService the app's POST /api/worklist uses. Needs `npm run build`.
//
//   node bench/worklist.mjs [--studies 100000] [--n 20] [--data DIR]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteIndex } from '../dist/store/index/sqlite.js';
import { QueryService } from '../dist/services/query.js';
import { AccessControl } from '../dist/services/access.js';
import { RateLimiter } from '../dist/services/rate-limit.js';
import { worklistRequest } from '../dist/web/api/worklist.js';
import { systemPrincipal } from '../dist/security/principal.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const STUDIES = Number(arg('studies', 100_000)), N = Number(arg('n', 20));
const dir = arg('data', '') || await mkdtemp(join(tmpdir(), 'rampart-worklist-bench-'));
const index = await openSqliteIndex(join(dir, 'index.sqlite'));
const FAMILY = ['SMITH', 'JONES', 'MUELLER', 'GARCIA', 'NGUYEN', 'ROSSI', 'DUBOIS', 'TANAKA', 'KOWALSKI', 'SILVA'];
// The year is i % 15; the modality must not follow it (with MODS[i % 5], every CT study fell in
// 2010, 2015 or 2020, and "CT, newest first" walked ~27,000 newer studies before the first CT).
const MODS = ['CT', 'MR', 'CR', 'US', 'DX'];

const t0 = performance.now();
for (let b = 0; b < STUDIES; b += 1000) {
  const batch = [];
  for (let i = b; i < Math.min(STUDIES, b + 1000); i++) {
    const name = `${FAMILY[i % 10]}${i % 997}^P${i}`, pid = `PID${i % 40_000}`, study = `1.2.826.0.1.${i + 1}`;
    const date = `20${String(10 + (i % 15)).padStart(2, '0')}${String(1 + (i % 12)).padStart(2, '0')}${String(1 + (i % 28)).padStart(2, '0')}`;
    batch.push({
      patient: { PatientID: pid, IssuerOfPatientID: '', PatientName: name, PatientNameNorm: name, PatientBirthDate: '19700101', PatientSex: 'O', json: JSON.stringify({ '00100010': { vr: 'PN', Value: [{ Alphabetic: name }] }, '00100020': { vr: 'LO', Value: [pid] } }) },
      study: { StudyInstanceUID: study, StudyDate: date, StudyTime: '120000', AccessionNumber: `ACC${i}`, StudyID: '1', ReferringPhysicianNameNorm: '', StudyDescription: `DESC ${i % 50}`, json: JSON.stringify({ '0020000D': { vr: 'UI', Value: [study] }, '00080020': { vr: 'DA', Value: [date] } }) },
      series: { SeriesInstanceUID: `${study}.1`, Modality: MODS[Math.floor(i / 15) % 5], SeriesNumber: '1', SeriesDescription: '', SeriesDate: date, json: '{}' },
      instance: { SOPInstanceUID: `${study}.1.1`, SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', InstanceNumber: '1', TransferSyntaxUID: '1.2.840.10008.1.2.1', blobKey: `b${i}`, size: 1, sha256: '00'.repeat(32), json: '{}' },
    });
  }
  await index.insertInstances(batch, 'reject');
}
console.log(`indexed ${STUDIES} studies in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const audit = { record: async () => undefined };
const query = new QueryService({ index, audit, maxResults: 5000, access: new AccessControl(index, 'role'), limits: new RateLimiter({ queryPerMinute: 1e9, queryBurst: 1e9, retrievePerMinute: 1e9, retrieveBurst: 1e9, retrieveBytesPerHour: 0 }) });
const p = systemPrincipal('api');
const cases = {
  'newest first, page 1': {},
  'newest first, page 200': { offset: 200 * 25 },
  'sort by name': { sort: 'name' },
  'sort by name, descending': { sort: 'name', descending: true },
  'sort by patient ID': { sort: 'id' },
  'sort by accession': { sort: 'accession' },
  'sort by description': { sort: 'description' },
  'name prefix SMITH1': { patientName: 'SMITH1' },
  'name prefix, sorted by name': { patientName: 'SMITH1', sort: 'name' },
  'patient ID': { patientId: 'PID123' },
  'accession': { accession: 'ACC4242' },
  'date range (one month)': { dateFrom: '20200201', dateTo: '20200229' },
  'modality CT, newest first': { modality: 'CT' },
  'modality CT + date range, by name': { modality: 'CT', dateFrom: '20200101', dateTo: '20201231', sort: 'name' },
};
console.log('| search | median ms | p95 ms | rows |');
console.log('|---|---|---|---|');
for (const [label, body] of Object.entries(cases)) {
  const req = worklistRequest({ limit: 25, ...body });
  const times = [];
  let rows = 0;
  for (let k = 0; k < N + 2; k++) {
    const s = performance.now();
    rows = (await query.search(p, req)).rows.length;
    if (k >= 2) times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  console.log(`| ${label} | ${times[Math.floor(times.length / 2)].toFixed(1)} | ${times[Math.floor(times.length * 0.95)].toFixed(1)} | ${rows} |`);
}
await index.close();
if (!arg('data', '')) await rm(dir, { recursive: true, force: true });

// Cost of the data scope in index queries (SQLite): the same searches for a principal that sees
// everything and for one limited to 20 study grants and one patient grant via a group, on N
// studies (default 50,000; one instance each). Needs `npm run build`. Prints means of 5 runs.
// Usage: node bench/access-scope.mjs [N]
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { openSqliteIndex } from '../dist/store/index/sqlite.js';
import { KyselyAccessStore } from '../dist/store/index/kysely-access-store.js';
const dir = await mkdtemp(join(tmpdir(), 'rampart-scope-bench-'));
const s = await openSqliteIndex(join(dir, 'i.sqlite'));
const e = (n) => ({
  patient: { PatientID: `P${n % 5000}`, IssuerOfPatientID: '', PatientName: 'X', PatientNameNorm: 'X', PatientBirthDate: '', PatientSex: '', json: '{}' },
  study: { StudyInstanceUID: `1.2.${n}`, StudyDate: '2024' + String(n % 12 + 1).padStart(2, '0') + '01', StudyTime: '', AccessionNumber: '', StudyID: '', ReferringPhysicianNameNorm: '', StudyDescription: '', json: '{}' },
  series: { SeriesInstanceUID: `1.2.${n}.1`, Modality: 'CT', SeriesNumber: '1', SeriesDescription: '', SeriesDate: '', json: '{}' },
  instance: { SOPInstanceUID: `1.2.${n}.1.1`, SOPClassUID: '1.2', InstanceNumber: '1', TransferSyntaxUID: '1.2', blobKey: `b${n}`, size: 1, sha256: 'x', json: '{}' },
});
const N = Number(process.argv[2] ?? 50_000);
for (let i = 0; i < N; i += 1000) await s.insertInstances(Array.from({ length: 1000 }, (_, k) => e(i + k)), 'reject');
const a = new KyselyAccessStore(s.db);
for (let i = 0; i < 20; i++) await a.addGrant({ id: `g${i}`, subjectKind: 'user', subject: 'u1', studyInstanceUid: `1.2.${i * 997}`, patientId: null, expiresAt: null, grantedBy: 'x', createdAt: '', kind: 'grant', reason: null });
await a.addGrant({ id: 'gp', subjectKind: 'group', subject: 'ward', studyInstanceUid: null, patientId: 'P42', expiresAt: null, grantedBy: 'x', createdAt: '', kind: 'grant', reason: null });
const within = { grantees: { userId: 'u1', groups: ['ward'], at: '2025' } };
for (const level of ['PATIENT', 'STUDY', 'SERIES', 'IMAGE']) {
  for (const w of [undefined, within]) {
    const t0 = performance.now();
    let rows = 0;
    for (let k = 0; k < 5; k++) rows = (await s.query({ level, conditions: [], limit: 101, offset: 0, within: w })).length;
    console.log(level, w ? 'grants' : 'all   ', rows, ((performance.now() - t0) / 5).toFixed(1), 'ms');
  }
}
const t1 = performance.now();
for (let k = 0; k < 5; k++) await s.listInstances({ StudyInstanceUID: '1.2.997', within });
console.log('listInstances grants', ((performance.now() - t1) / 5).toFixed(2), 'ms');
await s.close();
await rm(dir, { recursive: true, force: true });

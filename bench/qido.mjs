// QIDO-RS study search at index scale: loads the `index` corpus (100k tiny instances) into a
// fresh Rampart, then times study-level searches over one keep-alive connection.
//
//   node bench/qido.mjs [--corpus /tmp/rampart-bench/index] [--load stow|import] [--load-parallel 4]
//                       [--n 50] [--warmup 5] [--budget-s 60] [--orthanc] [--data DIR] [--keep] [--cpu-prof]
//
// --load stow    one STOW-RS POST per study, --load-parallel POSTs in flight (server running)
// --load import  `rampart import CORPUS --data D` with the server stopped, then start it
// --data DIR     reuse (or create and keep) this Rampart data dir; when it already holds the
//                corpus (a marker file written after a load), loading is skipped
// --orthanc      the same searches against a private Orthanc loaded by STOW-RS the same way
// Each query: --warmup untimed requests, then --n timed ones (stopping early after
// --budget-s seconds once 10 are done). Printed: median, p95, and the number of studies
// returned next to the number the manifest predicts.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { renderSummary, summarize } from './cpuprof-top.mjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  REPO, WORK, args, cpuOf, duBytes, ensureCorpus, enterLoopbackNamespace, fmt, get, log, loadavg, loadCorpus, machine,
  median, memOf, MiB, p95, startOrthanc, startRampart, stow, table,
} from './lib.mjs';

const o = args({ corpus: join(WORK, 'index'), load: 'stow', loadParallel: 4, n: 50, warmup: 5, budgetS: 60, orthanc: false, data: '', keep: false, cpuProf: false });
const profDir = join(WORK, `cpuprof-qido-${Date.now()}`);
if (o.orthanc) await enterLoopbackNamespace();
ensureCorpus(o.corpus, ['--profile', 'index', '--count', '100000', '--seed', '7002']);
const corpus = await loadCorpus(o.corpus);
const out = [];
const print = (s = '') => { out.push(s); console.log(s); };

// ------------------------------------------------------------------------------- loading
async function loadByStow(server) {
  spawnSync('sync');
  const cpu0 = cpuOf(server.pid);
  const t0 = Date.now();
  let next = 0, done = 0, failures = 0, lastLog = Date.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= corpus.studies.length) return;
      const st = corpus.studies[i];
      const r = await stow(server, st.files);
      if (r.status !== 200 || r.referenced !== st.files.length) {
        failures++;
        if (failures <= 5) log(`  ${server.name} ${st.folder}: HTTP ${r.status} ${r.referenced}/${st.files.length} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
      done += r.referenced;
      if (Date.now() - lastLog > 15_000) { lastLog = Date.now(); log(`  ${server.name}: ${done} instances, ${fmt(done / ((Date.now() - t0) / 1000))} inst/s`); }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.loadParallel) }, worker));
  const s = (Date.now() - t0) / 1000;
  return { instances: done, seconds: s, rate: done / s, cpu: cpuOf(server.pid) - cpu0, failures, how: `STOW-RS, one POST per study, ${o.loadParallel} in flight` };
}

async function loadByImport(dataDir) {
  spawnSync('sync');
  const t0 = Date.now();
  const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, 'bin', 'rampart.js'), 'import', ...corpus.studies.map((st) => join(o.corpus, st.folder)), '--data', dataDir, '--json'],
    { timeout: 3_600_000, maxBuffer: 64 << 20 });
  const s = (Date.now() - t0) / 1000;
  const r = JSON.parse(stdout.trim().split('\n').pop());
  return { instances: r.stored + r.duplicates, seconds: s, rate: (r.stored + r.duplicates) / s, cpu: NaN, failures: r.rejected, how: '`rampart import` (server stopped), one process' };
}

// ------------------------------------------------------------------------------- queries
const studies = corpus.studies;
const byPatient = new Map();
for (const s of studies) byPatient.set(s.PatientID, [...(byPatient.get(s.PatientID) ?? []), s]);
const pid = [...byPatient.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))[0];
const acc = studies[Math.floor(studies.length / 2)].AccessionNumber;
const QUERIES = [
  { name: 'PatientName HER*', qs: 'PatientName=HER*', expect: studies.filter((s) => s.PatientName.startsWith('HER')).length },
  { name: 'PatientID exact', qs: `PatientID=${pid[0]}`, expect: pid[1].length },
  { name: 'StudyDate 2024 range', qs: 'StudyDate=20240101-20241231', expect: studies.filter((s) => s.StudyDate >= '20240101' && s.StudyDate <= '20241231').length },
  { name: 'AccessionNumber', qs: `AccessionNumber=${acc}`, expect: 1 },
  // diagnostic: the same date range with few rows returned separates matching from row building
  { name: 'StudyDate 2024 range, limit=25', qs: 'StudyDate=20240101-20241231&limit=25', expect: 25 },
  { name: 'universal, limit=100', qs: 'limit=100', expect: Math.min(100, studies.length) },
  { name: 'universal /studies', qs: '', expect: studies.length },
];

async function timeQueries(server) {
  const results = [];
  for (const q of QUERIES) {
    const path = '/studies' + (q.qs ? `?${q.qs}` : '');
    let count;
    for (let i = 0; i < o.warmup; i++) {
      const r = await get(server, path, { accept: 'application/dicom+json', sink: 'json', timeoutMs: 300_000 });
      if (r.status !== 200) throw new Error(`${server.name} ${path}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      count = Array.isArray(r.body) ? r.body.length : 0;
    }
    const ms = [];
    const t0 = Date.now();
    let bytes = 0;
    for (let i = 0; i < o.n; i++) {
      const r = await get(server, path, { accept: 'application/dicom+json', sink: 'count', timeoutMs: 300_000 });
      if (r.status !== 200) throw new Error(`${server.name} ${path}: HTTP ${r.status}`);
      ms.push(r.ms);
      bytes = r.bytes;
      if (ms.length >= 10 && Date.now() - t0 > o.budgetS * 1000) break;
    }
    results.push({ ...q, path, count, ms, bytes, median: median(ms), p95: p95(ms) });
    log(`  ${server.name} ${q.name}: median ${fmt(median(ms))} ms, p95 ${fmt(p95(ms))} ms, ${count} studies (expected ${q.expect}), n=${ms.length}`);
  }
  return results;
}

// ---------------------------------------------------------------------------------- main
print(`## QIDO-RS study search at ${fmt(corpus.instances, 0)} instances`);
print();
print(`- machine: ${machine()}`);
print(`- corpus: ${o.corpus}: ${fmt(corpus.instances, 0)} instances, ${fmt(studies.length, 0)} studies, ${corpus.patients} patients`);
print(`- load average before: ${loadavg()}`);

const runs = {};
const loads = {};
// Rampart
{
  let dataDir = o.data || undefined;
  const marker = dataDir && join(dataDir, '.bench-loaded');
  const preloaded = marker && existsSync(marker);
  if (dataDir) await mkdir(dataDir, { recursive: true });
  if (!preloaded && o.load === 'import') {
    if (!dataDir) dataDir = join(WORK, `run-rampart-import-${Date.now()}`);
    // first start creates the data dir layout and the admin, then stop and import
    const s0 = await startRampart({ dataDir });
    await s0.stop();
    loads.rampart = await loadByImport(dataDir);
    if (o.data) await writeFile(marker, JSON.stringify(loads.rampart));
  }
  const server = await startRampart({ dataDir, keep: o.keep, nodeArgs: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [] });
  try {
    if (!preloaded && o.load === 'stow') {
      loads.rampart = await loadByStow(server);
      if (o.data) await writeFile(marker, JSON.stringify(loads.rampart));
    }
    if (preloaded) loads.rampart = { how: `preloaded data dir ${dataDir}` };
    loads.rampart.rss = memOf(server.pid);
    runs.rampart = await timeQueries(server);
    loads.rampart.after = memOf(server.pid);
    loads.rampart.disk = await duBytes(server.dataDir);
    loads.rampart.index = await duBytes(join(server.dataDir, 'index.sqlite'));
  } finally {
    await server.stop();
    if (!o.data && !o.keep && o.load === 'import' && dataDir) spawnSync('rm', ['-rf', dataDir]);
  }
}
if (o.orthanc) {
  const server = await startOrthanc({ keep: o.keep });
  try {
    loads.orthanc = await loadByStow(server);
    loads.orthanc.rss = memOf(server.pid);
    runs.orthanc = await timeQueries(server);
    loads.orthanc.after = memOf(server.pid);
    loads.orthanc.disk = await duBytes(server.dataDir);
  } finally {
    await server.stop();
  }
}

print();
print('### Load');
print();
print(table(['server', 'how', 'inst/s', 'time', 'server CPU', 'failed', 'data on disk', 'VmHWM after queries'],
  Object.entries(loads).map(([n, l]) => [n, l.how, l.rate === undefined ? '–' : fmt(l.rate), l.seconds === undefined ? '–' : fmt(l.seconds) + ' s',
    l.cpu === undefined || Number.isNaN(l.cpu) ? '–' : fmt(l.cpu) + ' s', l.failures ?? '–', fmt(MiB(l.disk ?? NaN), 0) + ' MiB', fmt(MiB(l.after?.hwm ?? NaN), 0) + ' MiB'])));
print();
print('### Study searches (ms; keep-alive, sequential, Accept: application/dicom+json)');
print();
const names = Object.keys(runs);
const header = ['query', 'studies (expected)'];
for (const n of names) header.push(`${n} median`, `${n} p95`);
if (names.length === 2) header.push('Orthanc/Rampart');
header.push('n');
print(table(header, QUERIES.map((q, i) => {
  const row = [`\`/studies${q.qs ? '?' + q.qs : ''}\``.replace(/PatientID=[^&`]+/, 'PatientID=…').replace(/AccessionNumber=[^&`]+/, 'AccessionNumber=…') + ` (${q.name})`,
    names.map((n) => String(runs[n][i].count)).join(' / ') + ` (${q.expect})`];
  for (const n of names) row.push(fmt(runs[n][i].median), fmt(runs[n][i].p95));
  if (names.length === 2) row.push(fmt(runs.orthanc[i].median / runs.rampart[i].median, 1) + 'x');
  row.push(names.map((n) => runs[n][i].ms.length).join(' / '));
  return row;
})));
const targets = runs.rampart.slice(0, 4);
const rowOf = (name) => runs.rampart.find((r) => r.name === name);
print();
print(`Target "QIDO-RS study search under 5 ms median" (here at ${fmt(corpus.instances, 0)} instances): ${targets.every((r) => r.median < 5) ? 'met' : 'NOT met'} for the four filtered searches (${targets.map((r) => `${r.name} ${fmt(r.median)}`).join(', ')} ms). Unfiltered: limit=100 in ${fmt(rowOf('universal, limit=100').median)} ms; all ${studies.length} studies (${fmt(MiB(rowOf('universal /studies').bytes), 1)} MiB of JSON) in ${fmt(rowOf('universal /studies').median)} ms.`);
if (loads.rampart.index) print(`\nRampart's index.sqlite: ${fmt(MiB(loads.rampart.index), 0)} MiB of the ${fmt(MiB(loads.rampart.disk), 0)} MiB data dir.`);
print();
print(`- load average after: ${loadavg()}`);
if (o.cpuProf) {
  let files = [];
  try { files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')); } catch { /* none */ }
  for (const f of files) {
    print();
    print(`## Rampart CPU profile (${preloadedNote()}: ${join(profDir, f)})`);
    print();
    print(renderSummary(summarize(JSON.parse(readFileSync(join(profDir, f), 'utf8')), 25), 'self time'));
  }
}
function preloadedNote() { return loads.rampart.how?.startsWith('preloaded') ? 'queries only' : 'load + queries'; }

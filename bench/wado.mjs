// WADO-RS retrieve, Rampart vs Orthanc in the same run: whole-study multipart retrieve of the
// largest CT study (with and without transfer-syntax=*), study /metadata, one instance.
//
//   node bench/wado.mjs [--corpus /tmp/rampart-bench/ct] [--rounds 10] [--n 50] [--servers rampart,orthanc] [--cpu-prof]
//
// Both servers start empty and receive the whole CT corpus by STOW-RS first. The rounds
// interleave servers and variants. MB = 10^6 bytes of multipart body.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSummary, summarize } from './cpuprof-top.mjs';
import {
  WORK, args, ensureCorpus, enterLoopbackNamespace, fmt, get, log, loadavg, loadCorpus, machine, MB, median, memOf, MiB,
  p95, startOrthanc, startRampart, stow, table,
} from './lib.mjs';

const o = args({ corpus: join(WORK, 'ct'), rounds: 10, n: 50, servers: 'rampart,orthanc', keep: false, cpuProf: false });
const profDir = join(WORK, `cpuprof-wado-${Date.now()}`);
const names = o.servers.split(',').filter(Boolean);
if (names.includes('orthanc')) await enterLoopbackNamespace();
ensureCorpus(o.corpus, ['--profile', 'ct', '--count', '600', '--seed', '7001']);
const corpus = await loadCorpus(o.corpus);
const study = [...corpus.studies].sort((a, b) => b.bytes - a.bytes)[0];
const print = (s = '') => console.log(s);

const DICOM = 'multipart/related; type="application/dicom"';
const DICOM_ANY = 'multipart/related; type="application/dicom"; transfer-syntax=*';

function countParts(res) {
  const b = /boundary="?([^";]+)"?/i.exec(res.headers['content-type'] ?? '')?.[1];
  if (!b || !res.body) return -1;
  const needle = Buffer.from(`--${b}\r\n`);
  let n = 0;
  for (let i = res.body.indexOf(needle); i >= 0; i = res.body.indexOf(needle, i + needle.length)) n++;
  return n;
}

const servers = {};
const res = {};
try {
  let instancePath;
  for (const n of names) {
    servers[n] = n === 'rampart' ? await startRampart({ keep: o.keep, nodeArgs: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [] }) : await startOrthanc({ keep: o.keep });
    const s = servers[n];
    for (const st of corpus.studies) {
      const r = await stow(s, st.files);
      if (r.status !== 200 || r.referenced !== st.files.length) throw new Error(`${n}: STOW of ${st.folder} failed: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      if (st === study && !instancePath) {
        const url = r.body['00081199'].Value[Math.floor(st.files.length / 2)]['00081190'].Value[0];
        instancePath = url.slice(url.indexOf('/studies/'));
      }
    }
    log(`${n}: loaded ${corpus.instances} instances (pid ${s.pid})`);
    res[n] = { study: {}, meta: [], inst: [], instTtfb: [] };
  }

  const variants = [['no transfer-syntax', DICOM], ['transfer-syntax=*', DICOM_ANY]];
  for (const [label, accept] of variants) {
    for (const n of names) {
      const warm = await get(servers[n], `/studies/${study.StudyInstanceUID}`, { accept, sink: 'buffer', timeoutMs: 300_000 });
      const parts = countParts(warm);
      if (warm.status !== 200 || parts !== study.instances) throw new Error(`${n} ${label}: HTTP ${warm.status}, ${parts} parts (expected ${study.instances}), ${warm.headers['content-type']}`);
      res[n].study[label] = { ms: [], ttfb: [], bytes: warm.bytes, parts, ct: warm.headers['content-type'] };
    }
  }
  // Rounds interleave variants and servers (order flipped every round) so that noise from
  // the shared machine spreads over all cells alike.
  for (let r = 0; r < o.rounds; r++) {
    for (const [label, accept] of r % 2 ? [...variants].reverse() : variants) {
      for (const n of r % 2 ? [...names].reverse() : names) {
        const x = await get(servers[n], `/studies/${study.StudyInstanceUID}`, { accept, sink: 'count', timeoutMs: 300_000 });
        if (x.status !== 200) throw new Error(`${n}: HTTP ${x.status}`);
        res[n].study[label].ms.push(x.ms);
        res[n].study[label].ttfb.push(x.firstByteMs);
      }
    }
  }
  for (const n of names) {
    for (let i = 0; i < 3; i++) await get(servers[n], `/studies/${study.StudyInstanceUID}/metadata`, { accept: 'application/dicom+json' });
    for (let i = 0; i < 3; i++) await get(servers[n], instancePath, { accept: DICOM_ANY });
  }
  for (let r = 0; r < Math.max(o.rounds * 2, 20); r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      const x = await get(servers[n], `/studies/${study.StudyInstanceUID}/metadata`, { accept: 'application/dicom+json', sink: 'buffer' });
      if (x.status !== 200) throw new Error(`${n} metadata: HTTP ${x.status}`);
      res[n].meta.push(x.ms);
      res[n].metaBytes = x.bytes;
      if (r === 0) res[n].metaItems = JSON.parse(x.body.toString()).length;
    }
  }
  for (let r = 0; r < o.n; r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      const x = await get(servers[n], instancePath, { accept: DICOM_ANY });
      if (x.status !== 200) throw new Error(`${n} instance: HTTP ${x.status}`);
      res[n].inst.push(x.ms);
      res[n].instTtfb.push(x.firstByteMs);
      res[n].instBytes = x.bytes;
    }
  }
  for (const n of names) res[n].mem = memOf(servers[n].pid);
} finally {
  for (const n of names) await servers[n]?.stop();
}

print(`## WADO-RS retrieve`);
print();
print(`- machine: ${machine()}`);
print(`- study: ${study.folder} of ${o.corpus}: ${study.instances} instances, ${fmt(MB(study.bytes))} MB of files; ${o.rounds} rounds per variant, alternating servers`);
print(`- load average: ${loadavg()}`);
print();
const rows = [];
for (const label of ['no transfer-syntax', 'transfer-syntax=*']) {
  const r = {};
  for (const n of names) {
    const s = res[n].study[label];
    const rates = s.ms.map((ms) => MB(s.bytes) / (ms / 1000));
    r[n] = { mbs: median(rates), ms: median(s.ms), ttfb: median(s.ttfb), instS: median(s.ms.map((ms) => s.parts / (ms / 1000))) };
  }
  rows.push([`study retrieve (${label}) MB/s`, ...names.map((n) => r[n].mbs)]);
  rows.push([`study retrieve (${label}) inst/s`, ...names.map((n) => r[n].instS)]);
  rows.push([`study retrieve (${label}) ms`, ...names.map((n) => r[n].ms)]);
  rows.push([`study retrieve (${label}) first byte ms`, ...names.map((n) => r[n].ttfb)]);
}
rows.push([`/metadata ms median (${names.map((n) => `${n}: ${res[n].metaItems} items, ${fmt(res[n].metaBytes / 1000, 0)} KB`).join('; ')})`, ...names.map((n) => median(res[n].meta))]);
rows.push(['/metadata ms p95', ...names.map((n) => p95(res[n].meta))]);
rows.push([`one instance ms median (${fmt(MB(res[names[0]].instBytes), 2)} MB multipart)`, ...names.map((n) => median(res[n].inst))]);
rows.push(['one instance ms p95', ...names.map((n) => p95(res[n].inst))]);
rows.push(['one instance first byte ms', ...names.map((n) => median(res[n].instTtfb))]);
rows.push(['server VmHWM after (MiB)', ...names.map((n) => fmt(MiB(res[n].mem.hwm), 0))]);
print(table(['metric (median unless noted)', ...names], rows));
print();
print(`Response Content-Type: ${names.map((n) => `${n}: \`${res[n].study['transfer-syntax=*'].ct}\``).join('; ')}`);

if (o.cpuProf) {
  let files = [];
  try { files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')); } catch { /* none */ }
  for (const f of files) {
    print();
    print(`## Rampart CPU profile (load + retrieve: ${join(profDir, f)})`);
    print();
    print(renderSummary(summarize(JSON.parse(readFileSync(join(profDir, f), 'utf8')), 25), 'self time'));
  }
}

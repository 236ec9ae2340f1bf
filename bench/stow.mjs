// STOW-RS ingest, Rampart vs Orthanc in the same run, on the same CT corpus.
//
//   node bench/stow.mjs [--corpus /tmp/rampart-bench/ct] [--rounds 3] [--servers rampart,orthanc]
//                       [--big-mb 512] [--big-servers rampart,orthanc] [--cpu-prof] [--keep]
//
// Both servers start empty. The corpus's studies are split into --rounds groups of whole
// studies; in each round every server receives the round's studies, one POST per study,
// sequentially (the order of the servers alternates from round to round, and `sync` runs
// before each server's turn so that neither pays for the other's dirty pages). A round's rate
// is its instances (bytes) over its wall time; the table shows the median over rounds.
// Then the "memory flat" check: one POST of a single instance of --big-mb MB (generated once
// into WORK/big), with the server's peak RSS reset before (clear_refs) and read after.
// --cpu-prof runs Rampart under node --cpu-prof and prints its top functions at the end.
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  REPO, WORK, args, cpuOf, ensureCorpus, enterLoopbackNamespace, fmt, log, loadavg, loadCorpus, machine, MB, median, memOf, MiB,
  p95, resetPeak, sampleRss, splitInto, startOrthanc, startRampart, stow, sum, table,
} from './lib.mjs';
import { renderSummary, summarize } from './cpuprof-top.mjs';
import { readFileSync, statSync } from 'node:fs';

const o = args({ corpus: join(WORK, 'ct'), rounds: 3, servers: 'rampart,orthanc', bigMb: 512, bigServers: 'rampart,orthanc', cpuProf: false, keep: false, sink: true });
const names = o.servers.split(',').filter(Boolean);
if (names.includes('orthanc') || o.bigServers.includes('orthanc')) await enterLoopbackNamespace();

ensureCorpus(o.corpus, ['--profile', 'ct', '--count', '600', '--seed', '7001']);
const corpus = await loadCorpus(o.corpus);
const rounds = splitInto(corpus.studies, Math.max(1, Math.min(o.rounds, corpus.studies.length)));
const profDir = join(WORK, `cpuprof-${Date.now()}`);

const servers = {};
for (const n of names) {
  servers[n] = n === 'rampart'
    ? await startRampart({ keep: o.keep, nodeArgs: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [] })
    : await startOrthanc({ keep: o.keep });
  log(`${n}: pid ${servers[n].pid}, ${servers[n].base}`);
}
const out = [];
const print = (s = '') => { out.push(s); console.log(s); };

print(`## STOW-RS: one POST per study, sequential`);
print();
print(`- machine: ${machine()}`);
print(`- corpus: ${o.corpus}: ${corpus.instances} instances, ${corpus.studies.length} studies, ${fmt(MB(corpus.bytes))} MB; ${rounds.length} rounds of ${rounds.map((g) => g.length).join('/')} studies`);
if (servers.orthanc) print(`- Orthanc ${servers.orthanc.version} (DICOMweb plugin), SQLite index, filesystem storage, SyncStorageArea=true`);
print(`- load average before: ${loadavg()}`);

const per = Object.fromEntries(names.map((n) => [n, { rounds: [], reqMs: [], cpu: 0, failures: 0 }]));
try {
  for (const [r, group] of rounds.entries()) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      const s = servers[n];
      spawnSync('sync');
      const cpu0 = cpuOf(s.pid);
      const t0 = process.hrtime.bigint();
      let inst = 0, bytes = 0;
      for (const study of group) {
        const res = await stow(s, study.files);
        per[n].reqMs.push(res.ms);
        if (res.status !== 200 || res.referenced !== study.files.length) {
          per[n].failures++;
          log(`  ${n}: study ${study.folder}: HTTP ${res.status}, ${res.referenced}/${study.files.length} referenced, ${res.failed} failed ${JSON.stringify(res.body).slice(0, 300)}`);
        }
        inst += res.referenced;
        bytes += res.bytes;
      }
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = cpuOf(s.pid) - cpu0;
      per[n].cpu += cpu;
      per[n].rounds.push({ inst, bytes, wall, cpu, instPerS: inst / wall, mbPerS: MB(bytes) / wall });
      log(`  round ${r + 1} ${n}: ${inst} inst, ${fmt(MB(bytes))} MB in ${fmt(wall)} s = ${fmt(inst / wall)} inst/s, ${fmt(MB(bytes) / wall)} MB/s, server CPU ${fmt(cpu)} s`);
    }
  }
  const mem = Object.fromEntries(names.map((n) => [n, memOf(servers[n].pid)]));
  if (o.sink) per.sink = await sinkCeiling();

  print();
  const rows = names.map((n) => {
    const p = per[n];
    const inst = sum(p.rounds.map((x) => x.inst));
    return [n, median(p.rounds.map((x) => x.instPerS)), `${fmt(median(p.rounds.map((x) => x.mbPerS)))} [${p.rounds.map((x) => fmt(x.mbPerS)).join(', ')}]`,
      median(p.reqMs), p95(p.reqMs), `${fmt(p.cpu)} s (${fmt((1000 * p.cpu) / Math.max(1, inst))} ms/inst)`, fmt(MiB(mem[n].hwm), 0) + ' MiB', p.failures];
  });
  if (per.sink) rows.push([`(null server: the client's ceiling)`, per.sink.instPerS, fmt(per.sink.mbPerS), '', '', '', '', '']);
  print(table(['server', 'inst/s (median of rounds)', 'MB/s (median [each round])', 'POST ms median', 'POST ms p95', 'server CPU', 'peak RSS (VmHWM)', 'failed POSTs'], rows));
  if (per.rampart && per.orthanc) {
    const ratio = median(per.rampart.rounds.map((x) => x.instPerS)) / median(per.orthanc.rounds.map((x) => x.instPerS));
    const perRound = per.rampart.rounds.map((x, i) => x.instPerS / per.orthanc.rounds[i].instPerS);
    print();
    print(`**Rampart/Orthanc STOW-RS throughput: ${fmt(ratio, 2)}x** (per round: ${perRound.map((x) => fmt(x, 2)).join(', ')}; target >= 2x: ${ratio >= 2 ? 'met' : 'NOT met'})`);
  }

  // ------------------------------------------------------------------------ memory flat

  if (o.bigMb > 0) {
    const bigDir = join(WORK, 'big');
    const bigFile = join(bigDir, `big-${o.bigMb}mb.dcm`);
    try { statSync(bigFile); } catch {
      log(`generating ${bigFile} ...`);
      const g = spawnSync('/usr/bin/python3', [join(REPO, 'bench', 'gen-corpus.py'), '--profile', 'big', '--mb', String(o.bigMb), '--out', bigDir], { stdio: ['ignore', 2, 2] });
      if (g.status !== 0) throw new Error('could not generate the big instance');
    }
    const size = statSync(bigFile).size;
    print();
    print(`## Memory flat in the size of an upload: one POST of one ${fmt(MiB(size), 0)} MiB instance`);
    print();
    const rows2 = [];
    for (const n of o.bigServers.split(',').filter((x) => servers[x])) {
      const s = servers[n];
      spawnSync('sync');
      const before = memOf(s.pid);
      const reset = resetPeak(s.pid);
      const sampler = sampleRss(s.pid, 10);
      const res = await stow(s, [bigFile]);
      const sampled = sampler.stop();
      const after = memOf(s.pid);
      const peak = reset ? Math.max(after.hwm, sampled) : sampled;
      const growth = peak - before.rss;
      log(`  big ${n}: HTTP ${res.status}, ${fmt(res.ms / 1000)} s, RSS ${fmt(MiB(before.rss), 0)} -> peak ${fmt(MiB(peak), 0)} MiB`);
      rows2.push([n, `${res.status} (${res.referenced} stored)`, fmt(res.ms / 1000, 1) + ' s', fmt(MB(size) / (res.ms / 1000)),
        fmt(MiB(before.hwm), 0), fmt(MiB(before.rss), 0), fmt(MiB(peak), 0), fmt(MiB(after.rss), 0), `${fmt(MiB(growth), 0)} MiB (${fmt((100 * growth) / size, 1)}% of upload)`]);
    }
    print(table(['server', 'HTTP', 'time', 'MB/s', 'VmHWM before (since start) MiB', 'VmRSS before MiB', 'peak during upload MiB', 'VmRSS after MiB', 'peak growth'], rows2));
    print();
    print(`Peak during upload: VmHWM after resetting it through /proc/PID/clear_refs just before the POST, cross-checked by sampling VmRSS every 10 ms.`);
  }
  print();
  print(`- load average after: ${loadavg()}`);
} finally {
  for (const n of names) await servers[n].stop();
}

if (o.cpuProf && servers.rampart) {
  const files = (await readdir(profDir).catch(() => [])).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) log(`no .cpuprofile in ${profDir} (did Rampart exit cleanly?)`);
  for (const f of files) {
    print();
    print(`## Rampart CPU profile (whole server lifetime: ${join(profDir, f)})`);
    print();
    print(renderSummary(summarize(JSON.parse(readFileSync(join(profDir, f), 'utf8')), 25), 'self time'));
  }
}

/** The same POSTs into a Node server that only drains the body: what this client can send here. */
async function sinkCeiling() {
  const { spawn } = await import('node:child_process');
  const { freePort, sleep, request } = await import('./lib.mjs');
  const port = await freePort();
  const code = `require('http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, {'content-type': 'application/dicom+json'}); s.end('{}'); }); }).listen(${port}, '127.0.0.1'); setTimeout(() => process.exit(0), 600000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50; i++) { try { await request('GET', `http://127.0.0.1:${port}/`, { agent: false, timeoutMs: 1000 }); break; } catch { await sleep(100); } }
    const sink = { base: `http://127.0.0.1:${port}`, headers: {} };
    const t0 = process.hrtime.bigint();
    let inst = 0, bytes = 0;
    for (const st of corpus.studies) { const r = await stow(sink, st.files); inst += st.files.length; bytes += r.bytes; }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    log(`  null server: ${inst} inst in ${fmt(wall)} s`);
    return { instPerS: inst / wall, mbPerS: MB(bytes) / wall };
  } finally { child.kill(); }
}

// DIMSE benchmarks with DCMTK clients: Rampart vs Orthanc 1.10 vs DCMTK's own storescp, in
// the same run, on the same CT corpus. Loopback only (a private network namespace, see lib.mjs).
//
//   node bench/dimse.mjs [--corpus /tmp/rampart-bench/ct] [--rounds 3] [--parallel 4]
//                        [--phases echo,store,find,move,get,tls] [--find-n 30] [--move-n 10]
//                        [--echo-repeat 1000] [--echo-rounds 5] [--cpu-prof auto|on|off]
//                        [--index-data /tmp/rampart-bench/rampart-index-100k] [--index-corpus /tmp/rampart-bench/index]
//
// Every DCMTK client runs with TCP_NODELAY=1 (Debian's DCMTK leaves Nagle on otherwise) and
// `-to 60 -ta 60 -td 60`; Orthanc gets TCP_NODELAY=1 in its environment too, as in
// /work/shared/bench/results/orthanc-baseline.md.
//
// echo   `echoscu --repeat N` in one association, per echo (Rampart, Orthanc, storescp)
// store  C-STORE with storescu. Mode "1": each of --rounds groups of whole studies on one
//        association; mode "P": each round's files split over --parallel concurrent storescu.
//        Every mode starts fresh servers: Rampart (new data dir), Orthanc (new storage) and
//        `storescp --fork +xa -od DIR` (writes files, nothing else; the target is >= 80% of it).
//        The server order alternates by round and `sync` runs before each turn.
// find   findscu at study level (process per query, N timed after 2 warm-ups):
//        PatientName wildcard, PatientID, StudyDate range, universal; match counts checked.
// move   movescu of the largest study to a storescp (AE BENCHSCP); files counted per round.
// get    getscu of the same study into a temp dir.
// tls    Rampart only: C-STORE (modes 1 and P, fresh data dirs) and echo over DICOM TLS
//        (`+tla +cf DATA/tls/node-cert.pem`). Debian's Orthanc 1.10 is not set up for TLS here.
// For Rampart, each phase prints server CPU seconds and peak RSS (VmHWM, reset per phase).
// --cpu-prof auto: when Rampart's C-STORE misses a target (>= 2x Orthanc, >= 80% of storescp),
// one more fresh Rampart stores the corpus under node --cpu-prof and its top functions print.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { renderSummary, summarize } from './cpuprof-top.mjs';
import {
  REPO, WORK, args, cpuOf, ensureCorpus, enterLoopbackNamespace, fmt, freePort, log, loadavg, loadCorpus, machine, MB, median,
  memOf, MiB, p95, resetPeak, sleep, splitInto, startOrthanc, startRampart, sum, table,
} from './lib.mjs';

const o = args({
  corpus: join(WORK, 'ct'), rounds: 3, parallel: 4, phases: 'echo,store,find,move,get,tls', servers: 'rampart,orthanc,storescp',
  findN: 30, moveN: 10, echoRepeat: 1000, echoRounds: 5, cpuProf: 'auto', indexData: '', indexCorpus: join(WORK, 'index'), keep: false,
});
const phases = new Set(o.phases.split(',').filter(Boolean));
const names = o.servers.split(',').filter(Boolean);
if (names.includes('orthanc')) await enterLoopbackNamespace();
ensureCorpus(o.corpus, ['--profile', 'ct', '--count', '600', '--seed', '7001']);
const corpus = await loadCorpus(o.corpus);
const rounds = splitInto(corpus.studies, Math.max(1, Math.min(o.rounds, corpus.studies.length)));
const big = [...corpus.studies].sort((a, b) => b.bytes - a.bytes)[0];
const BIN = join(REPO, 'bin', 'rampart.js');
const TO = ['-to', '60', '-ta', '60', '-td', '60'];
const ENV = { ...process.env, TCP_NODELAY: '1' };
const print = (s = '') => console.log(s);
const tmpRoot = await mkdtemp(join(WORK, 'dimse-'));

// ------------------------------------------------------------------------------ processes
/** Runs a DCMTK tool; resolves { code, ms, out } (stdout + stderr). Killed after timeoutMs. */
function run(bin, argv, { timeoutMs = 600_000, keepOut = true } = {}) {
  return new Promise((resolveP) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(bin, argv, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    const take = (c) => { if (keepOut) chunks.push(c); };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, sig) => {
      clearTimeout(t);
      resolveP({ code: sig ? `signal ${sig}` : code, ms: Number(process.hrtime.bigint() - t0) / 1e6, out: Buffer.concat(chunks).toString('latin1') });
    });
  });
}
const count = (s, re) => (s.match(re) ?? []).length;

async function waitEcho(srv, ms = 30_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const r = await run('echoscu', [...TO, '-aet', 'BENCHSCU', '-aec', srv.aec, '127.0.0.1', String(srv.port)]);
    if (r.code === 0) return;
    await sleep(100);
  }
  throw new Error(`${srv.name}: no C-ECHO answer on port ${srv.port} within ${ms} ms`);
}

function peerAdd(dir, aet, port, allow, tls = false) {
  const r = spawnSync(process.execPath, [BIN, 'peer', 'add', aet, '--host', '127.0.0.1', '--port', String(port), '--allow', allow, ...(tls ? ['--tls'] : []), '--data', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`peer add ${aet}: ${r.stderr}`);
}

async function rampart({ moveDestPort, dataDir, nodeArgs = [] } = {}) {
  const port = await freePort();
  const tlsPort = await freePort();
  const s = await startRampart({
    keep: o.keep, dataDir, nodeArgs, serveArgs: ['--dicom-port', String(port), '--dicom-tls-port', String(tlsPort)],
    beforeStart: async (dir) => {
      const listed = spawnSync(process.execPath, [BIN, 'peer', 'list', '--data', dir], { encoding: 'utf8' }).stdout ?? '';
      if (!/BENCHSCU/.test(listed)) peerAdd(dir, 'BENCHSCU', 11113, 'echo,store,find,move,get');
      if (moveDestPort && !/BENCHSCP/.test(listed)) peerAdd(dir, 'BENCHSCP', moveDestPort, 'store');
    },
  });
  const srv = { ...s, name: 'rampart', aec: 'RAMPART', port, tlsPort, cert: join(s.dataDir, 'tls', 'node-cert.pem') };
  await waitEcho(srv);
  return srv;
}

async function orthanc({ moveDestPort } = {}) {
  const s = await startOrthanc({
    keep: o.keep, env: { TCP_NODELAY: '1' },
    config: { DicomModalities: { BENCHSCU: ['BENCHSCU', '127.0.0.1', 11113], ...(moveDestPort ? { BENCHSCP: ['BENCHSCP', '127.0.0.1', moveDestPort] } : {}) } },
  });
  const srv = { ...s, name: 'orthanc', aec: 'ORTHANC', port: s.dicomPort };
  await waitEcho(srv);
  return srv;
}

/** DCMTK storescp writing every received object into dir (no fsync, no index). */
async function storescp({ aet = 'STORESCP', fork = true, dir } = {}) {
  const port = await freePort();
  const out = dir ?? await mkdtemp(join(tmpRoot, 'storescp-'));
  const child = spawn('storescp', [...(fork ? ['--fork'] : []), '-aet', aet, ...TO.slice(2), '+xa', '-od', out, String(port)], { env: ENV, stdio: 'ignore' });
  const srv = {
    name: 'storescp', aec: aet, port, pid: child.pid, dir: out,
    async stop() {
      if (child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); }
      await rm(out, { recursive: true, force: true });
    },
  };
  await waitEcho(srv);
  return srv;
}

// ---------------------------------------------------------------------- per-phase server use
const usage = [];
function phaseStart(srv) { resetPeak(srv.pid); return { cpu: cpuOf(srv.pid), t: Date.now() }; }
function phaseEnd(label, srv, st) {
  const m = memOf(srv.pid);
  usage.push([label, srv.name, fmt((Date.now() - st.t) / 1000, 1), fmt(cpuOf(srv.pid) - st.cpu, 2), fmt(MiB(m.hwm), 0), fmt(MiB(m.rss), 0)]);
}

// ----------------------------------------------------------------------------------- store
/** One storescu per group of files, concurrently; { ms, ok, all, errors }. */
async function storeFiles(srv, groups, { tls = false } = {}) {
  const t0 = process.hrtime.bigint();
  const res = await Promise.all(groups.map((files) => run('storescu', [
    '-v', ...TO, '-aet', 'BENCHSCU', '-aec', srv.aec, ...(tls ? ['+tla', '+cf', srv.cert] : []),
    '127.0.0.1', String(tls ? srv.tlsPort : srv.port), ...files])));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const ok = sum(res.map((r) => count(r.out, /Received Store Response \(Success\)/g)));
  const all = sum(res.map((r) => count(r.out, /Received Store Response/g)));
  const errors = res.flatMap((r) => r.out.split('\n').filter((l) => /^(E|F):/.test(l))).slice(0, 3);
  return { ms, ok, all, errors, codes: res.map((r) => r.code) };
}

/** Stores the corpus round by round into each server; returns per-server round rates. */
async function storePhase(servers, assoc, { tls = false, label }) {
  const per = Object.fromEntries(servers.map((s) => [s.name, { rounds: [], failures: 0, cpu: 0 }]));
  for (const [r, group] of rounds.entries()) {
    const files = group.flatMap((st) => st.files);
    const bytes = sum(group.map((st) => st.bytes));
    const groups = assoc === 1 ? [files] : splitInto(files, assoc);
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) {
      spawnSync('sync');
      const st = phaseStart(s);
      const x = await storeFiles(s, groups, { tls });
      const cpu = cpuOf(s.pid) - st.cpu;
      per[s.name].cpu += cpu;
      if (x.ok !== files.length) { per[s.name].failures += files.length - x.ok; log(`  ${label} ${s.name}: ${x.ok}/${files.length} stored (${x.all} responses) exit ${x.codes} ${x.errors.join(' | ')}`); }
      per[s.name].rounds.push({ inst: x.ok, instPerS: x.ok / (x.ms / 1000), mbPerS: MB(bytes) / (x.ms / 1000), cpu });
      if (s.name === 'rampart') phaseEnd(`${label} round ${r + 1}`, s, st);
      log(`  ${label} round ${r + 1} ${s.name}: ${x.ok} inst, ${fmt(MB(bytes))} MB in ${fmt(x.ms / 1000)} s = ${fmt(x.ok / (x.ms / 1000))} inst/s, ${fmt(MB(bytes) / (x.ms / 1000))} MB/s, CPU ${fmt(cpu)} s`);
    }
  }
  return per;
}

// -------------------------------------------------------------------------------- results
const rows = []; // [phase, metric, rampart, orthanc, storescp, ratio R/O, ratio R/storescp]
const addRow = (phase, metric, v, { higherBetter = true } = {}) => {
  const r = v.rampart, ot = v.orthanc, sc = v.storescp;
  const ratio = (a, b) => (a && b ? (higherBetter ? a / b : b / a) : NaN);
  rows.push([phase, metric, fmt(r), fmt(ot), fmt(sc), fmt(ratio(r, ot), 2), fmt(ratio(r, sc), 2)]);
};
const targets = [];

print(`## DIMSE: Rampart vs Orthanc 1.10 vs DCMTK storescp (DCMTK clients, TCP_NODELAY=1)`);
print();
print(`- machine: ${machine()}`);
print(`- DCMTK: ${spawnSync('storescu', ['--version'], { encoding: 'utf8' }).stdout.split('\n').find((l) => /storescu|DCMTK|\$dcmtk/.test(l))?.trim()}`);
print(`- corpus: ${o.corpus}: ${corpus.instances} instances, ${corpus.studies.length} studies, ${fmt(MB(corpus.bytes))} MB; ${rounds.length} rounds of ${rounds.map((g) => g.length).join('/')} studies; largest study ${big.instances} inst / ${fmt(MB(big.bytes))} MB`);
print(`- load average before: ${loadavg()}`);

const cleanup = [];
try {
  // ------------------------------------------------------------------- echo + store (plain)
  let loaded = {}; // servers kept (loaded with the corpus) for find/move/get
  const moveDestPort = await freePort();
  if (phases.has('store') || phases.has('echo')) {
    for (const assoc of phases.has('store') ? [1, o.parallel] : [1]) {
      const servers = [];
      const keepForQueries = assoc === o.parallel || !phases.has('store');
      if (names.includes('rampart')) servers.push(await rampart({ moveDestPort }));
      if (names.includes('orthanc')) servers.push(await orthanc({ moveDestPort }));
      if (names.includes('storescp')) servers.push(await storescp());
      log(`store ${assoc} assoc: ${servers.map((s) => `${s.name} pid ${s.pid} port ${s.port}`).join(', ')}`);
      try {
        if (assoc === 1 && phases.has('echo')) {
          const e = Object.fromEntries(servers.map((s) => [s.name, []]));
          for (let r = 0; r < o.echoRounds; r++) {
            for (const s of r % 2 ? [...servers].reverse() : servers) {
              const st = r === 0 ? phaseStart(s) : null;
              const x = await run('echoscu', [...TO, '-aet', 'BENCHSCU', '-aec', s.aec, '--repeat', String(o.echoRepeat), '127.0.0.1', String(s.port)]);
              if (x.code !== 0) throw new Error(`${s.name} echo: exit ${x.code} ${x.out.slice(0, 300)}`);
              e[s.name].push(x.ms / o.echoRepeat);
              if (st && s.name === 'rampart') phaseEnd(`echo x${o.echoRepeat} (1 round)`, s, st);
            }
          }
          addRow('echo', `C-ECHO in one association (--repeat ${o.echoRepeat}), ms per echo`, Object.fromEntries(Object.entries(e).map(([k, v]) => [k, median(v)])), { higherBetter: false });
        }
        if (phases.has('store')) {
          const per = await storePhase(servers, assoc, { label: `store ${assoc}a` });
          const med = (n, k) => (per[n] ? median(per[n].rounds.map((x) => x[k])) : undefined);
          const v = (k) => Object.fromEntries(servers.map((s) => [s.name, med(s.name, k)]));
          addRow('store', `C-STORE ${assoc} assoc, inst/s`, v('instPerS'));
          addRow('store', `C-STORE ${assoc} assoc, MB/s`, v('mbPerS'));
          const cpuMs = Object.fromEntries(servers.filter((s) => s.name !== 'storescp').map((s) => [s.name, (1000 * per[s.name].cpu) / Math.max(1, sum(per[s.name].rounds.map((x) => x.inst)))]));
          addRow('store', `C-STORE ${assoc} assoc, server CPU ms/inst`, cpuMs, { higherBetter: false });
          const fails = servers.map((s) => `${s.name} ${per[s.name].failures}`).join(', ');
          const perRound = (a, b) => per[a] && per[b] ? per[a].rounds.map((x, i) => fmt(x.instPerS / per[b].rounds[i].instPerS, 2)).join('/') : '–';
          const rO = med('rampart', 'instPerS') / med('orthanc', 'instPerS');
          const rS = med('rampart', 'instPerS') / med('storescp', 'instPerS');
          targets.push(`C-STORE ${assoc} assoc: Rampart/Orthanc ${fmt(rO, 2)}x (rounds ${perRound('rampart', 'orthanc')}; target >= 2x: ${rO >= 2 ? 'met' : 'NOT met'}); Rampart/storescp ${fmt(rS, 2)} (rounds ${perRound('rampart', 'storescp')}; target >= 0.80: ${rS >= 0.8 ? 'met' : 'NOT met'}); failed stores: ${fails}`);
          per.missed = !(rO >= 2) || !(rS >= 0.8);
          if (per.missed) (loaded.missedModes ??= []).push(assoc);
        }
      } finally {
        for (const s of servers) {
          if (keepForQueries && s.name !== 'storescp') loaded[s.name] = s;
          else await s.stop();
        }
      }
    }
  }
  for (const n of ['rampart', 'orthanc']) if (loaded[n]) cleanup.push(loaded[n]);

  // ------------------------------------------------------------------------------- find
  const qservers = ['rampart', 'orthanc'].map((n) => loaded[n]).filter(Boolean);
  const FIND_RET = ['StudyInstanceUID', 'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'AccessionNumber',
    'StudyDescription', 'ModalitiesInStudy', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances'].flatMap((k) => ['-k', k]);
  const findOnce = (s, key, verbose = false) => run('findscu', [...(verbose ? ['-v'] : []), ...TO, '-S', '-aet', 'BENCHSCU', '-aec', s.aec,
    '-k', 'QueryRetrieveLevel=STUDY', ...FIND_RET, '-k', key, '127.0.0.1', String(s.port)]);
  async function findPhase(servers, man, label) {
    const pick = man.studies.find((s) => s.StudyInstanceUID === big.StudyInstanceUID) ?? man.studies[0];
    const prefix = pick.PatientName.slice(0, 3) + '*';
    const expect = (f) => man.studies.filter(f).length;
    const queries = [
      ['PatientName wildcard', `PatientName=${prefix}`, expect((s) => s.PatientName.startsWith(prefix.slice(0, -1)))],
      ['PatientID', `PatientID=${pick.PatientID}`, expect((s) => s.PatientID === pick.PatientID)],
      ['StudyDate 2024 range', 'StudyDate=20240101-20241231', expect((s) => s.StudyDate >= '20240101' && s.StudyDate <= '20241231')],
      ['universal', 'PatientName=*', man.studies.length],
    ];
    for (const [qname, key, expected] of queries) {
      const ms = Object.fromEntries(servers.map((s) => [s.name, []]));
      const got = {};
      for (const s of servers) {
        const v = await findOnce(s, key, true);
        got[s.name] = count(v.out, /Find Response: \d+ \(Pending\)/g);
        await findOnce(s, key);
      }
      const sts = Object.fromEntries(servers.map((s) => [s.name, phaseStart(s)]));
      for (let i = 0; i < o.findN; i++) {
        for (const s of i % 2 ? [...servers].reverse() : servers) {
          const x = await findOnce(s, key);
          if (x.code !== 0 || /^(E|F):/m.test(x.out)) throw new Error(`${s.name} find ${key}: exit ${x.code} ${x.out.slice(0, 300)}`);
          ms[s.name].push(x.ms);
        }
      }
      for (const s of servers) if (s.name === 'rampart') phaseEnd(`${label} ${qname} x${o.findN}`, s, sts[s.name]);
      addRow(label, `${qname} (${key}; ${servers.map((s) => `${s.name} ${got[s.name]}`).join(', ')} of ${expected} expected), median ms [p95]`,
        Object.fromEntries(servers.map((s) => [s.name, median(ms[s.name])])), { higherBetter: false });
      rows[rows.length - 1][2] += ` [${fmt(p95(ms.rampart ?? []))}]`;
      if (ms.orthanc) rows[rows.length - 1][3] += ` [${fmt(p95(ms.orthanc))}]`;
      log(`  ${label} ${qname}: ${servers.map((s) => `${s.name} ${fmt(median(ms[s.name]))} ms (${got[s.name]} matches)`).join(', ')} expected ${expected}`);
    }
  }
  if (phases.has('find') && qservers.length) {
    const spawnFloor = [];
    for (let i = 0; i < 20; i++) spawnFloor.push((await run('findscu', ['--version'])).ms);
    print(`- findscu process start (\`findscu --version\`), median of 20: ${fmt(median(spawnFloor))} ms; every C-FIND time below includes it`);
    await findPhase(qservers, corpus, 'find (CT corpus)');
  }

  // -------------------------------------------------------------------------- move / get
  if ((phases.has('move') || phases.has('get')) && qservers.length) {
    const uid = big.StudyInstanceUID;
    let recv = null; // the move destination listens on moveDestPort, which both servers were given at start
    if (phases.has('move')) {
      const dir = join(tmpRoot, 'move-dest');
      mkdirSync(dir, { recursive: true });
      const child = spawn('storescp', ['-aet', 'BENCHSCP', ...TO.slice(2), '+xa', '-od', dir, String(moveDestPort)], { env: ENV, stdio: 'ignore' });
      recv = { dir, child };
      await waitEcho({ name: 'move destination', aec: 'BENCHSCP', port: moveDestPort });
    }
    for (const op of ['move', 'get'].filter((p) => phases.has(p))) {
      const rates = Object.fromEntries(qservers.map((s) => [s.name, { inst: [], mb: [], n: [] }]));
      const sts = Object.fromEntries(qservers.map((s) => [s.name, phaseStart(s)]));
      for (let r = 0; r < o.moveN + 1; r++) { // round 0 warms the page cache and is not counted
        for (const s of r % 2 ? [...qservers].reverse() : qservers) {
          const out = op === 'move' ? recv.dir : join(tmpRoot, 'get');
          rmSync(out, { recursive: true, force: true });
          mkdirSync(out, { recursive: true });
          const argv = op === 'move'
            ? ['-S', ...TO, '-aet', 'BENCHSCU', '-aec', s.aec, '-aem', 'BENCHSCP', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${uid}`, '127.0.0.1', String(s.port)]
            : ['-S', ...TO, '-aet', 'BENCHSCU', '-aec', s.aec, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${uid}`, '-od', out, '127.0.0.1', String(s.port)];
          const x = await run(op === 'move' ? 'movescu' : 'getscu', argv);
          const n = readdirSync(out).length;
          if (x.code !== 0 || n !== big.instances) log(`  ${op} ${s.name}: exit ${x.code}, ${n}/${big.instances} files ${x.out.split('\n').filter((l) => /^(E|F|W):/.test(l)).slice(0, 3).join(' | ')}`);
          if (r > 0) { rates[s.name].inst.push(n / (x.ms / 1000)); rates[s.name].mb.push(MB(big.bytes) / (x.ms / 1000) * (n / big.instances)); rates[s.name].n.push(n); }
        }
      }
      for (const s of qservers) if (s.name === 'rampart') phaseEnd(`${op} x${o.moveN + 1}`, s, sts[s.name]);
      const what = op === 'move' ? 'C-MOVE study -> storescp' : 'C-GET study (getscu -od)';
      const files = qservers.map((s) => `${s.name} ${Math.min(...rates[s.name].n)}–${Math.max(...rates[s.name].n)}`).join(', ');
      addRow(op, `${what}, inst/s (${big.instances} inst; files received: ${files})`, Object.fromEntries(qservers.map((s) => [s.name, median(rates[s.name].inst)])));
      addRow(op, `${what}, MB/s (${fmt(MB(big.bytes))} MB)`, Object.fromEntries(qservers.map((s) => [s.name, median(rates[s.name].mb)])));
      log(`  ${op}: ${qservers.map((s) => `${s.name} ${fmt(median(rates[s.name].mb))} MB/s`).join(', ')}`);
    }
    if (recv) { recv.child.kill('SIGTERM'); await new Promise((r) => recv.child.once('exit', r)); }
  }
  for (const s of cleanup.splice(0)) await s.stop();

  // ------------------------------------------------------------- find at 100k (optional)
  if (o.indexData && phases.has('find') && existsSync(join(o.indexData, 'index.sqlite'))) {
    const man = await loadCorpus(o.indexCorpus);
    const s = await rampart({ dataDir: o.indexData });
    try { await findPhase([s], man, 'find (100k index, Rampart only)'); } finally { await s.stop(); }
  }

  // ---------------------------------------------------------------------------------- TLS
  if (phases.has('tls') && names.includes('rampart')) {
    for (const assoc of [1, o.parallel]) {
      const s = await rampart();
      try {
        if (assoc === 1) {
          const e = [];
          for (let r = 0; r < o.echoRounds; r++) {
            const st = r === 0 ? phaseStart(s) : null;
            const x = await run('echoscu', [...TO, '-aet', 'BENCHSCU', '-aec', s.aec, '+tla', '+cf', s.cert, '--repeat', String(o.echoRepeat), '127.0.0.1', String(s.tlsPort)]);
            if (x.code !== 0) throw new Error(`TLS echo: exit ${x.code} ${x.out.slice(0, 300)}`);
            e.push(x.ms / o.echoRepeat);
            if (st) phaseEnd(`TLS echo x${o.echoRepeat} (1 round)`, s, st);
          }
          addRow('tls', `C-ECHO over TLS in one association (--repeat ${o.echoRepeat}), ms per echo`, { rampart: median(e) }, { higherBetter: false });
        }
        const per = await storePhase([s], assoc, { tls: true, label: `TLS store ${assoc}a` });
        addRow('tls', `C-STORE over TLS ${assoc} assoc, inst/s`, { rampart: median(per.rampart.rounds.map((x) => x.instPerS)) });
        addRow('tls', `C-STORE over TLS ${assoc} assoc, MB/s`, { rampart: median(per.rampart.rounds.map((x) => x.mbPerS)) });
        addRow('tls', `C-STORE over TLS ${assoc} assoc, server CPU ms/inst`, { rampart: (1000 * per.rampart.cpu) / Math.max(1, sum(per.rampart.rounds.map((x) => x.inst))) }, { higherBetter: false });
      } finally { await s.stop(); }
    }
  }

  print(`- load average after: ${loadavg()}`);
  print();
  print(table(['phase', 'metric (median)', 'Rampart', 'Orthanc 1.10', 'storescp', 'Rampart vs Orthanc', 'Rampart vs storescp'], rows));
  print();
  print('Ratios are "how many times better" (throughput ratio, or inverse latency ratio). C-FIND times are whole findscu processes.');
  if (targets.length) { print(); print('**Targets**'); print(); for (const t of targets) print(`- ${t}`); }
  print();
  print('### Rampart server use per phase (CPU from /proc/PID/stat; VmHWM reset through clear_refs at phase start)');
  print();
  print(table(['phase', 'server', 'wall s', 'CPU s', 'peak RSS (VmHWM) MiB', 'RSS after MiB'], usage));

  // ------------------------------------------------------------------ CPU profile of store
  const profModes = o.cpuProf === 'on' ? [1, o.parallel] : o.cpuProf === 'auto' ? (loaded.missedModes ?? []) : [];
  for (const assoc of profModes) {
    const profDir = join(WORK, `cpuprof-dimse-${assoc}a-${Date.now()}`);
    const s = await rampart({ nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
    const files = corpus.studies.flatMap((st) => st.files);
    spawnSync('sync');
    const x = await storeFiles(s, assoc === 1 ? [files] : splitInto(files, assoc));
    await s.stop();
    const prof = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    print();
    print(`### Rampart CPU profile: C-STORE ${assoc} assoc, whole corpus (${x.ok} inst in ${fmt(x.ms / 1000)} s = ${fmt(x.ok / (x.ms / 1000))} inst/s under the profiler), whole server lifetime: ${prof.map((f) => join(profDir, f)).join(', ')}`);
    print();
    for (const f of prof) print(renderSummary(summarize(JSON.parse(readFileSync(join(profDir, f), 'utf8')), 20), 'self time'));
  }
} finally {
  for (const s of cleanup) await s.stop().catch(() => {});
  await rm(tmpRoot, { recursive: true, force: true });
}

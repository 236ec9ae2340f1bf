// Shared helpers of the benchmark scripts: start/stop Rampart and a private Orthanc on
// loopback, sample a process's memory and CPU from /proc, statistics, and HTTP clients (one
// keep-alive agent; STOW-RS bodies streamed from files with a computed Content-Length and no
// `Expect:` header). Node's http module only: no dependency beyond the repository's own.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, existsSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const WORK = process.env.RAMPART_BENCH_DIR ?? '/tmp/rampart-bench';
export const PY = '/usr/bin/python3'; // Debian's, with pydicom + numpy (not the pyenv shim)
export const ORTHANC_BIN = '/usr/sbin/Orthanc';
export const ORTHANC_DICOMWEB = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

export const log = (...a) => process.stderr.write(a.join(' ') + '\n');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------ arguments
/** --name value / --flag parsing against defaults (numbers stay numbers, booleans flags). */
export function args(defaults, argv = process.argv.slice(2)) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    const key = m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${m[1]}; known: ${Object.keys(defaults).map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(' ')}`);
    if (typeof defaults[key] === 'boolean') {
      const v = m[2] ?? (argv[i + 1] === 'true' || argv[i + 1] === 'false' ? argv[++i] : undefined);
      out[key] = v === undefined ? true : v !== 'false';
      continue;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new Error(`--${m[1]} needs a value`);
    out[key] = typeof defaults[key] === 'number' ? Number(v) : v;
    if (typeof defaults[key] === 'number' && !Number.isFinite(out[key])) throw new Error(`--${m[1]} must be a number`);
  }
  return out;
}

// ------------------------------------------------------------------ loopback-only namespace
/**
 * Orthanc 1.10 has no bind-address option: it listens on 0.0.0.0 (RemoteAccessAllowed=false
 * only refuses non-local peers). When a script will start Orthanc, it re-runs itself in a new
 * network namespace whose only interface is `lo` (unshare -n, as root), so that neither server
 * is reachable from anything but this process tree. Returns only inside the namespace (or
 * when unshare is impossible, after a warning).
 */
export async function enterLoopbackNamespace() {
  if (process.env.RAMPART_BENCH_NETNS === '1') {
    spawnSync('ip', ['link', 'set', 'lo', 'up']);
    return true;
  }
  if (spawnSync('unshare', ['-n', 'true']).status !== 0) {
    log('WARNING: cannot create a network namespace (unshare -n); Orthanc will listen on 0.0.0.0 with RemoteAccessAllowed=false and DICOM disabled');
    return false;
  }
  const child = spawn('unshare', ['-n', process.execPath, ...process.execArgv, resolve(process.argv[1]), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, RAMPART_BENCH_NETNS: '1' } });
  const [code, sig] = await once(child, 'exit');
  process.exit(sig ? 1 : code);
}

// ------------------------------------------------------------------------------ processes
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

async function waitHttp(url, ms, child) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited with ${child.exitCode}`);
    try {
      const r = await request('GET', url, { timeoutMs: 2000, agent: false });
      if (r.status === 200) return;
    } catch { /* not up yet */ }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

async function stopChild(child, ms = 30_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(t);
}

/**
 * A fresh Rampart: new data dir under WORK, free port, an admin token with all scopes.
 * nodeArgs go to node before the script (e.g. --cpu-prof --cpu-prof-dir=DIR).
 */
export async function startRampart({ nodeArgs = [], keep = false, dataDir, serveArgs = [], beforeStart } = {}) {
  await mkdir(WORK, { recursive: true });
  const dir = dataDir ?? await mkdtemp(join(WORK, 'run-rampart-'));
  if (beforeStart) await beforeStart(dir); // e.g. `rampart peer add` (peers are read at start)
  const port = await freePort();
  const logFile = join(WORK, `rampart-${port}.log`);
  const fd = openSync(logFile, 'w');
  const bin = join(REPO, 'bin', 'rampart.js');
  const child = spawn(process.execPath, [...nodeArgs, bin, 'serve', '--data', dir, '--http-port', String(port), ...serveArgs],
    // Benchmarks measure throughput: the per-principal rate limits and quota (on by default) are off.
    { stdio: ['ignore', fd, fd], cwd: WORK, env: { ...process.env, RAMPART_RATE_LIMIT_QUERY_PER_MINUTE: '0', RAMPART_RATE_LIMIT_RETRIEVE_PER_MINUTE: '0', RAMPART_RATE_LIMIT_RETRIEVE_BYTES_PER_HOUR: '0' } });
  closeSync(fd);
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, 60_000, child);
  } catch (e) {
    await stopChild(child);
    throw new Error(`${e.message}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
  }
  const { stdout } = await promisify(execFile)(process.execPath,
    [bin, 'token', 'create', '--user', 'admin', '--scope', 'read', '--scope', 'write', '--scope', 'admin', '--ttl', '8h', '--data', dir],
    { timeout: 60_000 });
  const token = stdout.trim().split('\n').pop();
  return {
    name: 'rampart', pid: child.pid, port, dataDir: dir, logFile,
    base: `http://127.0.0.1:${port}/dicom-web`,
    headers: { authorization: `Bearer ${token}` },
    async stop() {
      await stopChild(child);
      if (!keep && !dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Orthanc's own data-dir sizes, for the report. */
export async function duBytes(dir) {
  const r = spawnSync('du', ['-sb', dir]);
  return Number(r.stdout?.toString().split('\t')[0]) || 0;
}

/**
 * A private Orthanc with its DICOMweb plugin: fresh storage in a temp dir, HTTP on a free
 * port, no authentication, no remote access. The settings the Orthanc baseline ran with
 * (Debian's defaults: no compression, synced storage, 128 MB cache, 50 HTTP threads).
 */
export async function startOrthanc({ keep = false, dicom = true, dicomPort: wantDicomPort, config: extraConfig = {}, env = {} } = {}) {
  if (!existsSync(ORTHANC_BIN)) throw new Error(`${ORTHANC_BIN} is missing (apt-get install orthanc orthanc-dicomweb)`);
  await mkdir(WORK, { recursive: true });
  const dir = await mkdtemp(join(WORK, 'run-orthanc-'));
  const port = await freePort();
  const dicomPort = wantDicomPort ?? await freePort();
  const config = {
    Name: 'RampartBenchPeer',
    StorageDirectory: join(dir, 'db'), IndexDirectory: join(dir, 'db'),
    StorageCompression: false, SyncStorageArea: true, MaximumStorageCacheSize: 128,
    MaximumStorageSize: 0, MaximumPatientCount: 0,
    Plugins: [ORTHANC_DICOMWEB],
    ConcurrentJobs: 2,
    HttpServerEnabled: true, HttpPort: port, HttpThreadsCount: 50, KeepAlive: true, TcpNoDelay: true,
    HttpCompressionEnabled: true, HttpDescribeErrors: true, OrthancExplorerEnabled: false, WebDavEnabled: false,
    RemoteAccessAllowed: false, AuthenticationEnabled: false,
    DicomServerEnabled: dicom, DicomPort: dicomPort, DicomAet: 'ORTHANC', DicomCheckCalledAet: false,
    StorageAccessOnFind: 'Always', OverwriteInstances: false,
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, WadoRoot: '/wado', Ssl: false },
    ...extraConfig,
  };
  await writeFile(join(dir, 'orthanc.json'), JSON.stringify(config, null, 1));
  const logFile = join(dir, 'stdout.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(ORTHANC_BIN, [`--logdir=${dir}`, join(dir, 'orthanc.json')], { stdio: ['ignore', fd, fd], cwd: dir, env: { ...process.env, ...env } });
  closeSync(fd);
  try {
    await waitHttp(`http://127.0.0.1:${port}/system`, 60_000, child);
    const plugins = await request('GET', `http://127.0.0.1:${port}/plugins`, { sink: 'json' });
    if (!plugins.body.includes('dicom-web')) throw new Error(`DICOMweb plugin not loaded: ${JSON.stringify(plugins.body)}`);
  } catch (e) {
    await stopChild(child);
    throw new Error(`Orthanc: ${e.message}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
  }
  const sys = (await request('GET', `http://127.0.0.1:${port}/system`, { sink: 'json' })).body;
  return {
    name: 'orthanc', version: sys.Version, pid: child.pid, port, dicomPort, dataDir: dir, logFile,
    base: `http://127.0.0.1:${port}/dicom-web`, headers: {},
    async stop() {
      await stopChild(child);
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------- /proc sampling
/** VmRSS and VmHWM (peak RSS) in bytes. */
export function memOf(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS (Linux >= 4.0, needs write access to /proc/PID/clear_refs). */
export function resetPeak(pid) {
  try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); return true; } catch { return false; }
}

/** User + system CPU seconds the process has used. */
export function cpuOf(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Samples VmRSS every intervalMs; stop() returns the highest value seen (bytes). */
export function sampleRss(pid, intervalMs = 20) {
  let max = 0;
  const tick = () => { try { max = Math.max(max, memOf(pid).rss); } catch { /* exited */ } };
  tick();
  const t = setInterval(tick, intervalMs);
  return { stop() { clearInterval(t); tick(); return max; } };
}

// ----------------------------------------------------------------------------- statistics
export function quantile(xs, q) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  if (q === 0.5) { const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; }
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]; // nearest rank
}
export const median = (xs) => quantile(xs, 0.5);
export const p95 = (xs) => quantile(xs, 0.95);
export const sum = (xs) => xs.reduce((a, b) => a + b, 0);
export function fmt(x, digits) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  if (typeof x === 'string') return x;
  const d = digits ?? (Number.isInteger(x) || Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
export const MB = (bytes) => bytes / 1e6;
export const MiB = (bytes) => bytes / 1048576;

/** A markdown table from a header row and rows of cells. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.map((c) => (typeof c === 'number' ? fmt(c) : c ?? '')).join(' | ')} |`;
  return [line(header), `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map(line)].join('\n');
}

// ----------------------------------------------------------------------------------- HTTP
export const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * One HTTP request. body: a Buffer/string, or an async function (req) => void that writes the
 * body itself (with backpressure) and ends it. sink: 'count' (bytes only), 'buffer', 'json'.
 * Resolves when the whole response has been read; ms covers request start to last byte.
 */
export function request(method, url, { headers = {}, body, sink = 'buffer', timeoutMs = 120_000, agent: ag = agent } = {}) {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(url, { method, headers, agent: ag }, (res) => {
      const chunks = [];
      let bytes = 0;
      let firstByteMs;
      res.on('data', (c) => {
        if (firstByteMs === undefined) firstByteMs = Number(process.hrtime.bigint() - t0) / 1e6;
        bytes += c.length;
        if (sink !== 'count') chunks.push(c);
      });
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        let out = sink === 'count' ? undefined : Buffer.concat(chunks);
        if (sink === 'json') {
          try { out = out.length ? JSON.parse(out.toString('utf8')) : null; } catch { out = out.toString('utf8'); }
        }
        resolvePromise({ status: res.statusCode, headers: res.headers, ms, firstByteMs, bytes, body: out });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url}: no progress for ${timeoutMs} ms`)));
    req.on('error', reject);
    if (typeof body === 'function') body(req).catch((e) => req.destroy(e));
    else req.end(body);
  });
}

/**
 * STOW-RS of files in one multipart/related POST, streamed from disk. Content-Length is
 * computed up front (like curl --data-binary), no `Expect: 100-continue`.
 * Returns { status, ms, bytes (file bytes), referenced, failed, body }.
 */
export async function stow(server, files, { path = '/studies', timeoutMs = 600_000 } = {}) {
  const boundary = 'rampartbench' + randomBytes(8).toString('hex');
  const head = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const crlf = Buffer.from('\r\n');
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  const fileBytes = sum(sizes);
  const length = fileBytes + files.length * (head.length + crlf.length) + tail.length;
  const write = async (req) => {
    const put = async (b) => { if (!req.write(b)) await once(req, 'drain'); };
    for (const f of files) {
      await put(head);
      for await (const chunk of createReadStream(f, { highWaterMark: 1 << 20 })) await put(chunk);
      await put(crlf);
    }
    req.end(tail);
  };
  const r = await request('POST', server.base + path, {
    headers: {
      ...server.headers,
      'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      'content-length': String(length),
      accept: 'application/dicom+json',
    },
    body: write, sink: 'json', timeoutMs,
  });
  const j = r.body && typeof r.body === 'object' ? r.body : {};
  return {
    status: r.status, ms: r.ms, bytes: fileBytes,
    referenced: j['00081199']?.Value?.length ?? 0,
    failed: j['00081198']?.Value?.length ?? 0,
    body: r.body,
  };
}

/** GET with keep-alive; returns status, ms, bytes (body not kept unless sink says so). */
export const get = (server, path, { accept, sink = 'count', timeoutMs } = {}) =>
  request('GET', server.base + path, { headers: { ...server.headers, ...(accept ? { accept } : {}) }, sink, timeoutMs });

// --------------------------------------------------------------------------------- corpora
/** The manifest written by gen-corpus.py, with each study's files (absolute, sorted). */
export async function loadCorpus(dir) {
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  for (const s of m.studies) {
    const d = join(dir, s.folder);
    s.files = (await readdir(d)).filter((f) => f.endsWith('.dcm')).sort().map((f) => join(d, f));
  }
  return m;
}

/** Runs gen-corpus.py unless DIR already holds a manifest. */
export function ensureCorpus(dir, profileArgs) {
  if (existsSync(join(dir, 'manifest.json'))) return;
  log(`generating ${dir} (${profileArgs.join(' ')}) ...`);
  const r = spawnSync(PY, [join(REPO, 'bench', 'gen-corpus.py'), ...profileArgs, '--out', dir], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`gen-corpus.py failed (${r.status})`);
}

/** Splits items into n consecutive groups of near-equal size. */
export function splitInto(items, n) {
  const out = Array.from({ length: n }, () => []);
  items.forEach((x, i) => out[Math.floor((i * n) / items.length)].push(x));
  return out.filter((g) => g.length);
}

/** Machine facts for the report. */
export function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const memGiB = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1048576;
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const nproc = spawnSync('nproc').stdout?.toString().trim();
  const commit = spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']).stdout?.toString().trim();
  const dirty = spawnSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no', 'src']).stdout?.toString().trim() ? ' (src has uncommitted changes)' : '';
  return `${nproc} vCPU ${cpu}, ${memGiB.toFixed(0)} GiB RAM, kernel ${kernel}, Node ${process.version}, Rampart ${commit}${dirty}`;
}

/** Load average over the last minute (a noise indicator). */
export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

// Rendering cost per frame: decode + Modality/VOI LUT + encode, in-thread (the work one worker
// does per request), for a 512x512 CT (native, and compressed by DCMTK to JPEG Lossless, JPEG-LS
// and JPEG baseline), pydicom's JPEG 2000 sample and a multi-frame RLE dose grid; then the
// throughput of the worker pool with 1 and N workers on the CT. Uses the built dist/.
//
//   npm run build && node bench/render.mjs [--n 30] [--workers 2]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, WORK, args, ensureCorpus, fmt, loadCorpus, log, machine, median, table } from './lib.mjs';

const o = args({ n: 30, workers: 2 });
const { renderPart10 } = await import(join(REPO, 'dist/dicom/render/index.js'));
const { PixelPool } = await import(join(REPO, 'dist/workers/pixel-pool.js'));
const PYD = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const limits = { maxSamples: 1 << 28 };

ensureCorpus(join(WORK, 'ct-render'), ['--profile', 'ct', '--count', '60', '--seed', '7101']);
const corpus = await loadCorpus(join(WORK, 'ct-render'));
const ct = corpus.studies[0].files[30];
const dir = join(WORK, 'render-samples');
mkdirSync(dir, { recursive: true });
const compress = (tool, flags, name) => {
  const out = join(dir, name);
  if (!existsSync(out)) execFileSync(tool, [...flags, ct, out]);
  return out;
};

const samples = [
  ['CT 512x512 16-bit, native', ct, 1],
  ['CT 512x512, JPEG Lossless SV1 (dcmcjpeg)', compress('dcmcjpeg', ['+e1'], 'ct-jll.dcm'), 1],
  ['CT 512x512, JPEG-LS lossless (dcmcjpls)', compress('dcmcjpls', [], 'ct-jls.dcm'), 1],
  ['CT 512x512, JPEG 12-bit lossy (dcmcjpeg +ee)', compress('dcmcjpeg', ['+ee'], 'ct-jpeg12.dcm'), 1],
  ['JPEG 2000 lossy (pydicom JPEG2000.dcm, 1024x256)', join(PYD, 'JPEG2000.dcm'), 1],
  ['multi-frame RLE dose (pydicom rtdose_rle.dcm), each frame', join(PYD, 'rtdose_rle.dcm'), 15],
];

async function timeIt(fn, n) {
  for (let i = 0; i < 3; i++) await fn(i); // warm-up: WASM compile, JIT
  const ms = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await fn(i); ms.push(performance.now() - t); }
  return median(ms);
}

const rows = [];
for (const [name, file, frames] of samples) {
  const buf = readFileSync(file);
  const row = [name];
  for (const mediaType of ['image/png', 'image/jpeg']) {
    try {
      row.push(fmt(await timeIt((i) => renderPart10(buf, { frame: 1 + (i % frames), mediaType }, limits), o.n), 1));
    } catch (e) { row.push(`n/a (${e.code ?? e.message})`); }
  }
  rows.push(row);
}

const ctBuf = readFileSync(ct);
const pool = [];
for (const size of [1, o.workers]) {
  const p = new PixelPool({ size, maxQueue: 1000, timeoutMs: 60_000, limits });
  await Promise.all(Array.from({ length: size * 2 }, () => p.render(ctBuf, { frame: 1, mediaType: 'image/jpeg' })));
  const jobs = 40;
  const t = performance.now();
  await Promise.all(Array.from({ length: jobs }, () => p.render(ctBuf, { frame: 1, mediaType: 'image/jpeg' })));
  pool.push([`${size} worker(s)`, fmt((jobs * 1000) / (performance.now() - t), 1)]);
  await p.close();
}

log('done');
console.log(`# Rendering, ${new Date().toISOString()}\n\n${machine()}\n`);
console.log(`Median ms per rendered frame, in-thread, N=${o.n} after 3 warm-up:\n`);
console.log(table(['sample', 'PNG ms', 'JPEG ms'], rows));
console.log(`\nPool throughput, CT 512x512 to JPEG, 40 jobs:\n`);
console.log(table(['pool', 'frames/s'], pool));

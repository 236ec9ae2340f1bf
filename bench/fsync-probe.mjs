// What durable writes cost on this disk, in the two shapes a blob store can take. Not Rampart's
// code: a model of its write path (see bench/README.md), to size what batching would buy.
//
//   node bench/fsync-probe.mjs [--files 192] [--kb 525] [--batch 32] [--chunk-kb 64] [--dir /tmp/rampart-bench]
//
// Rampart-like  per file, one at a time: open, write in --chunk-kb pieces (each awaited), fsync,
//          close; per --batch files: mkdir -p + rename each into a random 2-level fan-out dir,
//          then fsync all those dirs concurrently (FsBlobStore.commitMany's shape)
// serial fsync, one dir per batch: files written and fsynced one at a time as above, but
//          renamed into one dir per --batch files and that dir fsynced once
// batched  per --batch files: write each in one call, fsync all of them concurrently, rename
//          all into one dir, fsync that dir once
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WORK, args, fmt, table } from './lib.mjs';

const o = args({ files: 192, kb: 525, batch: 32, chunkKb: 64, dir: WORK });
const files = Math.min(Math.max(1, o.files), 5000);
const payload = randomBytes(o.kb * 1024);
await mkdir(o.dir, { recursive: true });

async function syncDir(d) { const fh = await open(d, 'r'); try { await fh.sync(); } finally { await fh.close(); } }

async function serial(root) {
  const t0 = performance.now();
  for (let i = 0; i < files; i += o.batch) {
    const n = Math.min(o.batch, files - i);
    const staged = [];
    for (let k = 0; k < n; k++) {
      const tmp = join(root, 'staging', randomBytes(8).toString('hex'));
      const fh = await open(tmp, 'wx');
      for (let off = 0; off < payload.length; off += o.chunkKb * 1024) await fh.write(payload, off, Math.min(o.chunkKb * 1024, payload.length - off), off);
      await fh.sync();
      await fh.close();
      staged.push(tmp);
    }
    const dirs = new Set();
    for (const tmp of staged) {
      const key = randomBytes(16).toString('hex');
      const d = join(root, key.slice(0, 2), key.slice(2, 4));
      await mkdir(d, { recursive: true });
      await rename(tmp, join(d, key));
      dirs.add(d);
    }
    await Promise.all([...dirs].map(syncDir));
  }
  return performance.now() - t0;
}

async function serialOneDir(root) {
  const t0 = performance.now();
  for (let i = 0; i < files; i += o.batch) {
    const n = Math.min(o.batch, files - i);
    const staged = [];
    for (let k = 0; k < n; k++) {
      const tmp = join(root, 'staging', randomBytes(8).toString('hex'));
      const fh = await open(tmp, 'wx');
      for (let off = 0; off < payload.length; off += o.chunkKb * 1024) await fh.write(payload, off, Math.min(o.chunkKb * 1024, payload.length - off), off);
      await fh.sync();
      await fh.close();
      staged.push(tmp);
    }
    const d = join(root, 'b', String(i));
    await mkdir(d, { recursive: true });
    for (const tmp of staged) await rename(tmp, join(d, randomBytes(16).toString('hex')));
    await syncDir(d);
  }
  return performance.now() - t0;
}

async function batched(root) {
  const t0 = performance.now();
  for (let i = 0; i < files; i += o.batch) {
    const n = Math.min(o.batch, files - i);
    const staged = [];
    for (let k = 0; k < n; k++) {
      const tmp = join(root, 'staging', randomBytes(8).toString('hex'));
      const fh = await open(tmp, 'wx');
      await fh.write(payload, 0, payload.length, 0);
      staged.push({ tmp, fh });
    }
    await Promise.all(staged.map(async (s) => { await s.fh.sync(); await s.fh.close(); }));
    const d = join(root, 'b', String(i));
    await mkdir(d, { recursive: true });
    for (const s of staged) await rename(s.tmp, join(d, randomBytes(16).toString('hex')));
    await syncDir(d);
  }
  return performance.now() - t0;
}

const rows = [];
const shapes = [['per-file fsync, fan-out dirs (Rampart-like)', serial], ['serial fsync, one dir per batch', serialOneDir], ['batched', batched]];
for (const [name, fn] of [...shapes, ...shapes]) {
  const root = await mkdtemp(join(o.dir, 'fsync-probe-'));
  await mkdir(join(root, 'staging'));
  const ms = await fn(root);
  await rm(root, { recursive: true, force: true });
  rows.push([name, files, fmt(ms / files, 2), fmt(files / (ms / 1000), 0), fmt((files * payload.length) / 1e6 / (ms / 1000), 0)]);
}
console.log(`Durable write probe in ${o.dir}: ${files} files of ${o.kb} KiB, batch ${o.batch}, serial chunks ${o.chunkKb} KiB\n`);
console.log(table(['shape', 'files', 'ms per file', 'files/s', 'MB/s'], rows));

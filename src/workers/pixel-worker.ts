// A worker thread of the pixel pool: runs the jobs it is sent, one at a time, and answers each
// with its result or its error's code and message (never a stack: messages carry no PHI).
import { parentPort, workerData } from 'node:worker_threads';
import { isRampartError } from '../errors.js';
import type { PixelJob } from '../services/pixel-port.js';
import { runPixelJob } from './pixel-job.js';

const limits = (workerData as { limits: { maxSamples: number } }).limits;

parentPort!.on('message', (msg: { id: number; job: PixelJob }) => {
  runPixelJob(msg.job, limits).then(
    (result) => {
      const list = Array.isArray(result) ? result : [result];
      // Copies into fresh buffers that can be transferred without cloning.
      const out = list.map((b) => new Uint8Array(b));
      parentPort!.postMessage({ id: msg.id, ok: true, many: Array.isArray(result), result: out }, out.map((u) => u.buffer));
    },
    (e: unknown) => {
      const code = isRampartError(e) ? e.code : 'internal';
      const message = isRampartError(e) ? e.message : `decoding failed (${e instanceof Error ? e.name : typeof e})`;
      parentPort!.postMessage({ id: msg.id, ok: false, code, message });
    },
  );
});

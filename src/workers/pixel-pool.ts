// A pool of worker threads for pixel jobs, so that decoding and rendering never block the event
// loop. Bounded: `size` workers (started on first use), at most `maxQueue` jobs waiting (beyond
// that 'unavailable', which HTTP answers 503), and a job running longer than `timeoutMs` ends its
// worker (a hostile stream may keep a decoder busy) and is answered 'unavailable'. A worker that
// dies is replaced; the job it held fails with 'internal'.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RampartError, type ErrorCode } from '../errors.js';
import type { RenderOptions } from '../dicom/render/index.js';
import type { PixelJob, PixelJobs } from '../services/pixel-port.js';

export interface PixelPoolOptions {
  /** Worker threads; 0 means one per CPU. */
  size: number;
  maxQueue: number;
  timeoutMs: number;
  limits: { maxSamples: number };
}

interface Pending { id: number; job: PixelJob; resolve(v: Buffer | Buffer[]): void; reject(e: unknown): void }
interface Slot { worker: Worker; current?: Pending; timer?: NodeJS.Timeout }
type Reply = { id: number; ok: true; many: boolean; result: Uint8Array[] } | { id: number; ok: false; code: ErrorCode; message: string };

/**
 * The worker: the compiled .js beside this file, or, when running from source (tests), a small
 * bootstrap that registers tsx and imports the .ts (Node 20 will not load a .ts worker entry
 * through --import).
 */
function newWorker(workerData: unknown): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./pixel-worker.js', self), { workerData });
  const entry = JSON.stringify(new URL('./pixel-worker.ts', self).href);
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`, { eval: true, workerData });
}

export class PixelPool implements PixelJobs {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly size: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: PixelPoolOptions) {
    this.size = o.size > 0 ? o.size : Math.max(1, availableParallelism());
  }

  render(part10: Uint8Array, options: RenderOptions): Promise<Buffer> {
    return this.submit({ kind: 'render', part10, options }) as Promise<Buffer>;
  }
  frames(part10: Uint8Array, frames: number[]): Promise<Buffer[]> {
    return this.submit({ kind: 'frames', part10, frames }) as Promise<Buffer[]>;
  }
  convert(part10: Uint8Array, transferSyntax: string): Promise<Buffer> {
    return this.submit({ kind: 'convert', part10, transferSyntax }) as Promise<Buffer>;
  }

  /** Jobs waiting and running, for tests and metrics. */
  get load(): { queued: number; running: number; workers: number } {
    return { queued: this.queue.length, running: this.slots.filter((s) => s.current).length, workers: this.slots.length };
  }

  private submit(job: PixelJob): Promise<Buffer | Buffer[]> {
    if (this.closed) return Promise.reject(new RampartError('unavailable', 'the renderer is shutting down'));
    const busy = this.slots.filter((s) => s.current).length;
    if (busy >= this.size && this.queue.length >= this.o.maxQueue) {
      return Promise.reject(new RampartError('unavailable', 'the renderer is busy: try again shortly'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.current);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const p = this.queue.shift()!;
      slot.current = p;
      slot.timer = setTimeout(() => this.timeout(slot!), this.o.timeoutMs);
      slot.worker.postMessage({ id: p.id, job: p.job });
    }
  }

  private spawn(): Slot {
    const worker = newWorker({ limits: this.o.limits });
    const slot: Slot = { worker };
    worker.on('message', (r: Reply) => {
      const p = slot.current;
      if (!p || p.id !== r.id) return;
      this.finish(slot);
      if (r.ok) {
        const bufs = r.result.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength));
        p.resolve(r.many ? bufs : bufs[0]!);
      } else {
        p.reject(new RampartError(r.code, r.message));
      }
      this.pump();
    });
    worker.on('error', () => this.lost(slot, new RampartError('internal', 'the renderer failed')));
    worker.on('exit', () => this.lost(slot, new RampartError('internal', 'the renderer stopped')));
    this.slots.push(slot);
    return slot;
  }

  private finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.current = undefined;
  }

  private timeout(slot: Slot): void {
    const p = slot.current;
    this.remove(slot);
    void slot.worker.terminate();
    p?.reject(new RampartError('unavailable', `decoding took longer than ${Math.round(this.o.timeoutMs / 1000)} s and was stopped`));
    this.pump();
  }

  private lost(slot: Slot, e: RampartError): void {
    if (!this.slots.includes(slot)) return;
    const p = slot.current;
    this.remove(slot);
    p?.reject(e);
    if (!this.closed) this.pump();
  }

  private remove(slot: Slot): void {
    this.finish(slot);
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new RampartError('unavailable', 'the renderer is shutting down'));
    const slots = this.slots.splice(0);
    for (const s of slots) { s.current?.reject(new RampartError('unavailable', 'the renderer is shutting down')); this.finish(s); }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

// A bounded async byte queue between the socket and a consumer: the producer is told to pause
// when more than the high-water mark is waiting, so P-DATA is streamed with backpressure.

export class DataStream implements AsyncIterable<Buffer> {
  private queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failed: Error | undefined;
  private wake: (() => void) | undefined;
  private discarding = false;
  /** Called when the queue drops below the low-water mark after a pause. */
  onDrain: (() => void) | undefined;

  constructor(private readonly highWater = 4 * 1024 * 1024) {}

  /** Adds a chunk; returns false when the producer should pause. */
  push(chunk: Buffer): boolean {
    if (this.discarding || this.ended) return true;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.wake?.();
    return this.queued < this.highWater;
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  fail(e: Error): void {
    this.failed = e;
    this.ended = true;
    this.wake?.();
  }
  /** The consumer is gone: drop whatever else arrives. */
  discard(): void {
    this.discarding = true;
    this.queue = [];
    this.queued = 0;
    this.onDrain?.();
  }
  get isEnded(): boolean { return this.ended; }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    try {
      for (;;) {
        if (this.queue.length) {
          const c = this.queue.shift()!;
          const before = this.queued;
          this.queued -= c.length;
          if (before >= this.highWater && this.queued < this.highWater) this.onDrain?.();
          yield c;
          continue;
        }
        if (this.failed) throw this.failed;
        if (this.ended) return;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
      }
    } finally {
      if (!this.ended) this.discard();
    }
  }
}

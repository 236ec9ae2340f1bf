// Keeps a scan gentle: at most `concurrency` endpoints probed at once, and new connections no
// closer together than 1/rate seconds across the whole scan.

export class Limiter {
  private next = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly ratePerSecond: number, readonly concurrency: number) {}

  /** Resolves when the next connection may be opened. */
  connection(): Promise<void> {
    const gap = 1000 / this.ratePerSecond;
    const p = this.chain.then(async () => {
      const wait = this.next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.next = Date.now() + gap;
    });
    this.chain = p;
    return p;
  }

  /** Runs fn over items with at most `concurrency` running at once, keeping order in the result. */
  async map<T, R>(items: T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let i = 0;
    const worker = async () => {
      while (i < items.length) {
        const k = i++;
        out[k] = await fn(items[k]!, k);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker));
    return out;
  }
}

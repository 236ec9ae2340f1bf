import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { RampartError } from '../errors.js';
import { readMultipart, type MultipartLimits, type MultipartPart } from './multipart-reader.js';

const B = 'rampart-test-boundary';
const roomy: MultipartLimits = { maxParts: 100, maxPartBytes: 1 << 20, maxHeaderBytes: 1024, maxTotalBytes: 1 << 24 };

async function* chunksOf(bytes: Buffer, sizes: (i: number) => number = () => bytes.length) {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes(i));
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function bodyText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

async function collect(
  text: string | Buffer,
  limits = roomy,
  sizes?: (i: number) => number,
): Promise<{ headers: Record<string, string>; body: string }[]> {
  const seen: { headers: Record<string, string>; body: string }[] = [];
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const { parts } = await readMultipart(chunksOf(bytes, sizes), B, async (p) => {
    seen.push({ headers: p.headers, body: await bodyText(p.body) });
  }, limits);
  expect(parts).toBe(seen.length);
  return seen;
}

async function failure(promise: Promise<unknown>): Promise<RampartError> {
  const e = await promise.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(RampartError);
  return e as RampartError;
}

const twoParts =
  `--${B}\r\nContent-Type: application/dicom\r\nContent-Location: a\r\n\r\nfirst\r\n` +
  `--${B}\r\nCONTENT-TYPE: text/plain\r\n\r\nsecond part\r\nwith a line break\r\n--${B}--\r\n`;

/** A small deterministic PRNG so a failing random case can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

describe('readMultipart', () => {
  it('hands each part to onPart with lower-cased header names', async () => {
    expect(await collect(twoParts)).toEqual([
      { headers: { 'content-type': 'application/dicom', 'content-location': 'a' }, body: 'first' },
      { headers: { 'content-type': 'text/plain' }, body: 'second part\r\nwith a line break' },
    ]);
  });

  it('ignores the preamble and the epilogue', async () => {
    const parts = await collect(`preamble\r\nmore preamble\r\n${twoParts}epilogue --${B}\r\nnot a part`);
    expect(parts.map((p) => p.body)).toEqual(['first', 'second part\r\nwith a line break']);
  });

  it('accepts a closing boundary without a final CRLF', async () => {
    expect(await collect(`--${B}\r\n\r\nx\r\n--${B}--`)).toEqual([{ headers: {}, body: 'x' }]);
  });

  it('gives a part without headers an empty header map, and an empty body when there is none', async () => {
    expect(await collect(`--${B}\r\n\r\n\r\n--${B}--`)).toEqual([{ headers: {}, body: '' }]);
  });

  it('accepts transport padding after a boundary', async () => {
    expect(await collect(`--${B} \t\r\nA: 1\r\n\r\nx\r\n--${B}  \r\n\r\ny\r\n--${B}--`)).toEqual([
      { headers: { a: '1' }, body: 'x' },
      { headers: {}, body: 'y' },
    ]);
  });

  it('joins repeated headers and trims their values', async () => {
    const [part] = await collect(`--${B}\r\nX-A:  1 \r\nx-a:2\r\n\r\nz\r\n--${B}--`);
    expect(part?.headers).toEqual({ 'x-a': '1, 2' });
  });

  it('keeps near-misses of the delimiter inside a part body', async () => {
    const tricky = `--${B} not at a line start\r\n--${B.slice(0, -1)}\r\n\r\n-\r\n--\r`;
    expect(await collect(`--${B}\r\n\r\n${tricky}\r\n--${B}--`)).toEqual([{ headers: {}, body: tricky }]);
  });

  it('returns zero parts for a body that only closes', async () => {
    expect(await collect(`--${B}--\r\n`)).toEqual([]);
  });

  it('finds every boundary when fed one byte at a time', async () => {
    expect(await collect(`pre\r\n${twoParts}post`, roomy, () => 1)).toEqual(await collect(twoParts));
  });

  it('gives the same parts under any chunking of random bodies (property)', async () => {
    const rand = prng(42);
    const alphabet = ['a', '\r', '\n', '-', '\r\n', `--${B.slice(0, 5)}`, `\r\n--${B.slice(0, -2)}`, 'z'];
    for (let round = 0; round < 300; round++) {
      const expected = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => ({
        headers: { 'x-n': String(Math.floor(rand() * 1000)) },
        body: Array.from({ length: Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''),
      }));
      const text =
        'preamble' + expected.map((p) => `\r\n--${B}\r\nX-N: ${p.headers['x-n']}\r\n\r\n${p.body}`).join('') + `\r\n--${B}--\r\nend`;
      const maxChunk = 1 + Math.floor(rand() * 60);
      expect(await collect(text, roomy, () => 1 + Math.floor(rand() * maxChunk))).toEqual(expected);
    }
  });

  it('reads a Readable body too', async () => {
    const parts: string[] = [];
    await readMultipart(Readable.from([Buffer.from(twoParts)]), B, async (p) => void parts.push(await bodyText(p.body)), roomy);
    expect(parts).toHaveLength(2);
  });

  it('skips the rest of a part whose onPart returns without reading it', async () => {
    const big = 'x'.repeat(300_000);
    const seen: string[] = [];
    await readMultipart(
      chunksOf(Buffer.from(`--${B}\r\n\r\n${big}\r\n--${B}\r\n\r\nsecond\r\n--${B}--`), () => 1000),
      B,
      async (p) => {
        if (seen.length === 0) seen.push('ignored');
        else seen.push(await bodyText(p.body));
      },
      roomy,
    );
    expect(seen).toEqual(['ignored', 'second']);
  });

  it('does not read ahead of a slow consumer (backpressure)', async () => {
    let pulled = 0;
    async function* source() {
      yield Buffer.from(`--${B}\r\n\r\n`);
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield Buffer.alloc(16 * 1024, 0x61);
      }
      yield Buffer.from(`\r\n--${B}--`);
    }
    let pulledWhenPaused = -1;
    await readMultipart(source(), B, async (p) => {
      await new Promise((r) => setTimeout(r, 50)); // a consumer that has not started reading yet
      pulledWhenPaused = pulled;
      for await (const _ of p.body);
    }, { ...roomy, maxPartBytes: 1 << 30, maxTotalBytes: 1 << 30 });
    expect(pulledWhenPaused).toBeLessThan(10);
  });

  it('stops reading and rethrows when onPart throws', async () => {
    let pulled = 0;
    async function* source() {
      for (const piece of [`--${B}\r\n\r\nfirst`, `\r\n--${B}\r\n\r\nsecond`, `\r\n--${B}--`]) {
        pulled++;
        yield Buffer.from(piece);
      }
    }
    const seen: string[] = [];
    const boom = new Error('ingest failed');
    const err = await readMultipart(source(), B, async (p) => {
      seen.push(await bodyText(p.body));
      throw boom;
    }, roomy).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(seen).toEqual(['first']);
    expect(pulled).toBe(2);
  });

  it('does not destroy a Readable body it stops reading, so the caller can still answer', async () => {
    const body = Readable.from([Buffer.from(twoParts)]);
    await readMultipart(body, B, async () => Promise.reject(new Error('no')), roomy).catch(() => undefined);
    expect(body.destroyed).toBe(false);
  });

  describe('refuses', () => {
    it('a body with no boundary at all', async () => {
      const e = await failure(collect('just some text'));
      expect([e.code, e.message]).toEqual(['bad-request', 'multipart body has no boundary']);
    });

    it('a body truncated inside a part, and the part stream sees the error too', async () => {
      let streamError: unknown;
      const e = await failure(readMultipart(chunksOf(Buffer.from(`--${B}\r\n\r\nhalf a par`)), B, async (p) => {
        await bodyText(p.body).catch((err: unknown) => (streamError = err));
      }, roomy));
      expect([e.code, e.message]).toEqual(['bad-request', 'multipart body ended inside a part before the closing boundary']);
      expect(streamError).toBe(e);
    });

    it('a body that ends after a boundary without closing it', async () => {
      const e = await failure(collect(`--${B}\r\n\r\nx\r\n--${B}`));
      expect([e.code, e.message]).toEqual(['bad-request', 'multipart body ended after a boundary before the closing boundary']);
    });

    it('a body that ends inside part headers', async () => {
      const e = await failure(collect(`--${B}\r\n\r\nx\r\n--${B}\r\nContent-Type: a`));
      expect(e.message).toBe('multipart body ended inside part headers before the closing boundary');
    });

    it('a boundary line with other characters after it', async () => {
      const e = await failure(collect(`--${B}x\r\n\r\nx\r\n--${B}--`));
      expect([e.code, e.message]).toEqual(['bad-request', 'multipart boundary line has unexpected characters after it']);
    });

    it('a malformed part header line', async () => {
      const e = await failure(collect(`--${B}\r\nno colon here\r\n\r\nx\r\n--${B}--`));
      expect([e.code, e.message]).toEqual(['bad-request', 'multipart part has a malformed header line']);
    });

    it('part headers larger than maxHeaderBytes, even if they never end', async () => {
      const big = `--${B}\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\nx\r\n--${B}--`;
      const e = await failure(collect(big));
      expect([e.code, e.message]).toEqual(['too-large', 'multipart part headers exceed 1024 bytes']);
      const endless = await failure(collect(`--${B}\r\nX-Big: ${'a'.repeat(5000)}`, roomy, () => 7));
      expect(endless.code).toBe('too-large');
    });

    it('more parts than maxParts', async () => {
      const e = await failure(collect(twoParts, { ...roomy, maxParts: 1 }));
      expect([e.code, e.message]).toEqual(['too-large', 'multipart body has more than 1 parts']);
    });

    it('a part larger than maxPartBytes, and the part stream sees the error too', async () => {
      let streamError: unknown;
      const body = Buffer.from(`--${B}\r\n\r\n${'y'.repeat(5000)}\r\n--${B}--`);
      const e = await failure(readMultipart(chunksOf(body, () => 100), B, async (p) => {
        await bodyText(p.body).catch((err: unknown) => (streamError = err));
      }, { ...roomy, maxPartBytes: 4096 }));
      expect([e.code, e.message]).toEqual(['too-large', 'multipart part exceeds 4096 bytes']);
      expect(streamError).toBe(e);
    });

    it('a body larger than maxTotalBytes, epilogue included', async () => {
      const e = await failure(collect(twoParts + 'e'.repeat(100), { ...roomy, maxTotalBytes: twoParts.length + 10 }));
      expect([e.code, e.message]).toEqual(['too-large', `multipart body exceeds ${twoParts.length + 10} bytes`]);
    });

    it('a missing or invalid boundary parameter', async () => {
      for (const b of ['', 'x'.repeat(71), 'ends with space ', 'semi;colon']) {
        const e = await failure(readMultipart(chunksOf(Buffer.from(twoParts)), b, async () => undefined, roomy));
        expect(e.code).toBe('bad-request');
      }
    });
  });

  it('keeps memory flat while streaming a 200 MB part', async () => {
    const chunk = Buffer.alloc(64 * 1024);
    const rand = prng(7);
    for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(rand() * 256);
    const chunks = (200 * 1024 * 1024) / chunk.length;
    // Each chunk is a fresh copy, so a reader that held on to a part would show in RSS; collecting
    // garbage before each sample keeps the measure about retention, not about when V8 gets round to it.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let peak = 0;
    const sample = () => {
      gc();
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    async function* source() {
      yield Buffer.from(`--${B}\r\nContent-Type: application/dicom\r\n\r\n`);
      for (let i = 0; i < chunks; i++) {
        if (i % 128 === 0) sample();
        yield Buffer.from(chunk);
      }
      yield Buffer.from(`\r\n--${B}--\r\n`);
    }
    sample();
    const before = peak;
    let received = 0;
    const started = performance.now();
    await readMultipart(source(), B, async (p: MultipartPart) => {
      for await (const c of p.body) received += (c as Buffer).length;
    }, { maxParts: 1, maxPartBytes: 1 << 30, maxHeaderBytes: 1024, maxTotalBytes: 1 << 30 });
    const seconds = (performance.now() - started) / 1000;
    expect(received).toBe(chunks * chunk.length);
    expect(peak - before).toBeLessThan(50 * 1024 * 1024);
    expect(seconds).toBeLessThan(20); // generous: a sanity bound, not a benchmark
  });
});

import { PassThrough, Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { RampartError } from '../errors.js';
import { isValidBoundary, readMultipart } from './multipart-reader.js';
import { newBoundary, writeMultipart, type MultipartOutPart } from './multipart-writer.js';

/** A Writable that keeps what it is given and reports how many writes it had to wait for. */
function sink(highWaterMark = 16 * 1024) {
  const chunks: Buffer[] = [];
  const out = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      setImmediate(done); // a slow client: every write completes later
    },
  });
  /** Ends the stream (as the caller of writeMultipart would) and returns all it received. */
  const text = async () => {
    out.end();
    await finished(out);
    return Buffer.concat(chunks).toString('latin1');
  };
  return { out, text };
}

describe('newBoundary', () => {
  it('makes a valid boundary that differs every time', () => {
    const a = newBoundary();
    expect(isValidBoundary(a)).toBe(true);
    expect(a).not.toBe(newBoundary());
  });
});

describe('writeMultipart', () => {
  it('writes parts with their headers and the closing delimiter, and leaves the stream open', async () => {
    const { out, text } = sink();
    await writeMultipart(out, 'BND', [
      { contentType: 'application/dicom', headers: { 'Content-Location': '/a' }, body: Buffer.from('first') },
      { contentType: 'application/octet-stream', body: Readable.from([Buffer.from('sec'), Buffer.from('ond')]) },
    ]);
    expect(out.writableEnded).toBe(false);
    expect(await text()).toBe(
      '--BND\r\nContent-Type: application/dicom\r\nContent-Location: /a\r\n\r\nfirst' +
        '\r\n--BND\r\nContent-Type: application/octet-stream\r\n\r\nsecond' +
        '\r\n--BND--\r\n',
    );
  });

  it('writes only the closing delimiter when there are no parts', async () => {
    const { out, text } = sink();
    await writeMultipart(out, 'BND', []);
    expect(await text()).toBe('--BND--\r\n');
  });

  it('round-trips through readMultipart', async () => {
    const boundary = newBoundary();
    const pipe = new PassThrough();
    const bodies = ['\r\n--not-it\r\n', '', 'x'.repeat(100_000)];
    const writing = writeMultipart(pipe, boundary, bodies.map((b) => ({ contentType: 'text/plain', body: Buffer.from(b) })))
      .then(() => pipe.end());
    const read: string[] = [];
    await readMultipart(pipe, boundary, async (p) => {
      const chunks: Buffer[] = [];
      for await (const c of p.body) chunks.push(c as Buffer);
      read.push(Buffer.concat(chunks).toString());
    }, { maxParts: 10, maxPartBytes: 1 << 20, maxHeaderBytes: 1024, maxTotalBytes: 1 << 22 });
    await writing;
    expect(read).toEqual(bodies);
  });

  it('waits for drain instead of buffering a large part in the stream', async () => {
    const { out, text } = sink(1024);
    let maxBuffered = 0;
    async function* big(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 200; i++) {
        maxBuffered = Math.max(maxBuffered, out.writableLength);
        yield Buffer.alloc(4096, 0x61);
      }
    }
    await writeMultipart(out, 'BND', [{ contentType: 'application/octet-stream', body: Readable.from(big()) }]);
    expect(maxBuffered).toBeLessThanOrEqual(1024 + 4096);
    expect((await text()).length).toBe(200 * 4096 + '--BND\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--BND--\r\n'.length);
  });

  it('fails if the response stream closes while it waits to write', async () => {
    const out = new Writable({ highWaterMark: 1, write() {} }); // never completes a write
    const parts: MultipartOutPart[] = [{ contentType: 'a/b', body: Buffer.from('xyz') }];
    const writing = writeMultipart(out, 'BND', parts);
    out.destroy();
    const e = await writing.catch((err: unknown) => err);
    expect(e).toBeInstanceOf(RampartError);
    expect((e as RampartError).code).toBe('unavailable');
  });

  it('refuses a header value that would inject another header, and an invalid boundary', async () => {
    const { out } = sink();
    const injected = writeMultipart(out, 'BND', [{ contentType: 'a/b\r\nX-Evil: 1', body: Buffer.alloc(0) }]);
    await expect(injected).rejects.toThrow(/malformed or repeated/);
    const repeated = writeMultipart(out, 'BND', [{ contentType: 'a/b', headers: { 'content-type': 'c/d' }, body: Buffer.alloc(0) }]);
    await expect(repeated).rejects.toThrow(/malformed or repeated/);
    await expect(writeMultipart(out, 'bad boundary ', [])).rejects.toThrow(/boundary/);
  });
});

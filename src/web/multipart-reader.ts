// Streaming reader for multipart/related request bodies (RFC 2387; body syntax RFC 2046 5.1.1), as sent to STOW-RS (PS3.18 10.5).
//
// Each part reaches `onPart` as a Readable that is fed with backpressure, so memory stays flat
// whatever the part size: the reader holds at most one input chunk plus the last
// (delimiter length - 1) bytes, which might be the start of a delimiter split across chunks.

import { Readable } from 'node:stream';
import { RampartError, badRequest, tooLarge } from '../errors.js';

export interface MultipartPart {
  /** Header names are lower-cased; repeated headers are joined with ", ". */
  headers: Record<string, string>;
  body: Readable;
}

export interface MultipartLimits {
  maxParts: number;
  maxPartBytes: number;
  maxHeaderBytes: number;
  maxTotalBytes: number;
}

type Emit = (bytes: Buffer) => Promise<void> | undefined;

const CRLF = Buffer.from('\r\n', 'latin1');
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;
/**
 * Part bodies are object-mode streams of Buffers: reading one hands over the chunks as they
 * came, where a byte-mode stream would concatenate (copy) everything buffered on each read.
 * The mark counts chunks: 16 of at most a socket read each.
 */
const PART_HIGH_WATER_MARK = 16;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 2046 5.1.1: 1 to 70 bchars, not ending with a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

export function isValidBoundary(boundary: string): boolean {
  return BOUNDARY.test(boundary);
}

const truncated = (where: string) =>
  badRequest(`multipart body ended ${where} before the closing boundary`);

/**
 * Reads a multipart body, calling `onPart` for each part in turn and waiting for it to settle
 * before reading the next. If `onPart` returns without reading its body to the end, the rest of
 * that part is skipped. If `onPart` throws, or the body breaks a limit or is malformed, the
 * error is thrown (the part's stream is destroyed with it) and the rest of the body is not read.
 * A Readable `body` is never destroyed here: the caller owns it (e.g. to still send a 4xx).
 */
export async function readMultipart(
  body: AsyncIterable<Buffer> | Readable,
  boundary: string,
  onPart: (part: MultipartPart) => Promise<void>,
  limits: MultipartLimits,
): Promise<{ parts: number }> {
  if (!isValidBoundary(boundary)) throw badRequest('multipart boundary is missing or not valid (RFC 2046 5.1.1)');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const iterator: AsyncIterator<unknown> =
    body instanceof Readable ? body.iterator({ destroyOnReturn: false }) : body[Symbol.asyncIterator]();
  // A virtual CRLF in front lets a boundary on the very first line match the delimiter like any other.
  const src = new ChunkSource(iterator, limits.maxTotalBytes, CRLF);
  let parts = 0;
  try {
    if (!(await src.pipeUntil(delimiter, () => undefined))) throw badRequest('multipart body has no boundary');
    for (;;) {
      if (!(await src.ensure(2))) throw truncated('after a boundary');
      if (src.byteAt(0) === DASH && src.byteAt(1) === DASH) {
        await src.drain(); // the epilogue is ignored (RFC 2046 5.1.1)
        return { parts };
      }
      await src.skipPadding(limits.maxHeaderBytes);
      if (!(await src.ensure(2))) throw truncated('after a boundary');
      if (!src.startsWith(CRLF)) throw badRequest('multipart boundary line has unexpected characters after it');
      if (++parts > limits.maxParts) throw tooLarge(`multipart body has more than ${limits.maxParts} parts`);
      // Searching from the CRLF that ends the boundary line also finds an empty header block.
      const head = await src.readUntil(HEADER_END, limits.maxHeaderBytes + CRLF.length);
      if (head === null) throw truncated('inside part headers');
      await deliverPart(src, delimiter, parseHeaders(head), onPart, limits.maxPartBytes);
    }
  } finally {
    if (!src.done) await iterator.return?.().catch(() => undefined);
  }
}

async function deliverPart(
  src: ChunkSource,
  delimiter: Buffer,
  headers: Record<string, string>,
  onPart: (part: MultipartPart) => Promise<void>,
  maxPartBytes: number,
): Promise<void> {
  let wake: (() => void) | undefined;
  const resume = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const body = new Readable({ objectMode: true, highWaterMark: PART_HIGH_WATER_MARK, read: resume });
  body.on('error', () => undefined); // a consumer that never listens must not crash the process
  body.on('close', resume);

  let settled = false;
  let failed = false;
  let failure: unknown;
  const outcome = (async () => onPart({ headers, body }))().then(
    () => {
      settled = true;
      resume();
    },
    (e: unknown) => {
      settled = failed = true;
      failure = e;
      resume();
    },
  );

  let size = 0;
  const emit: Emit = (bytes) => {
    if (failed) throw failure;
    if (bytes.length === 0) return undefined;
    size += bytes.length;
    if (size > maxPartBytes) throw tooLarge(`multipart part exceeds ${maxPartBytes} bytes`);
    if (settled || body.destroyed) return undefined; // onPart is done with this part: skip the rest
    if (body.push(bytes)) return undefined;
    return new Promise<void>((resolve) => (wake = resolve));
  };

  try {
    if (!(await src.pipeUntil(delimiter, emit))) throw truncated('inside a part');
  } catch (e) {
    const onPartFailedFirst = failed;
    if (!body.destroyed) body.destroy(settled ? undefined : (e as Error));
    await outcome;
    throw onPartFailedFirst ? failure : e;
  }
  if (settled) body.destroy();
  else body.push(null);
  await outcome;
  if (failed) throw failure;
}

function parseHeaders(head: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.toString('latin1').split('\r\n')) {
    if (line === '') continue; // the CRLF that ended the boundary line
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    if (!HEADER_NAME.test(name)) throw badRequest('multipart part has a malformed header line');
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

/** Pulls chunks from the body and keeps the unconsumed bytes in `pending`. */
class ChunkSource {
  done = false;
  private total = 0;

  constructor(
    private readonly iterator: AsyncIterator<unknown>,
    private readonly maxTotalBytes: number,
    private pending: Buffer,
  ) {}

  byteAt(i: number): number | undefined {
    return this.pending[i];
  }

  startsWith(bytes: Buffer): boolean {
    return this.pending.length >= bytes.length && this.pending.subarray(0, bytes.length).equals(bytes);
  }

  /** Hands every byte before `delim` to `emit` and consumes `delim`; false if the body ends first. */
  async pipeUntil(delim: Buffer, emit: Emit): Promise<boolean> {
    const keep = delim.length - 1;
    for (;;) {
      const buf = this.pending;
      if (buf.length >= delim.length) {
        const at = buf.indexOf(delim);
        if (at >= 0) {
          await emit(buf.subarray(0, at));
          this.pending = buf.subarray(at + delim.length);
          return true;
        }
        await emit(buf.subarray(0, buf.length - keep));
        this.pending = buf.subarray(buf.length - keep);
      }
      const chunk = await this.pull();
      if (chunk === null) return false;
      const held = this.pending;
      if (held.length > 0 && chunk.length >= keep) {
        // No delimiter lies wholly in `held`, so one starting there ends within the chunk's first `keep` bytes:
        // search that small bridge instead of copying the whole chunk.
        const bridge = Buffer.concat([held, chunk.subarray(0, keep)]);
        const at = bridge.indexOf(delim);
        if (at >= 0) {
          await emit(held.subarray(0, at));
          this.pending = chunk.subarray(at + delim.length - held.length);
          return true;
        }
        await emit(held);
        this.pending = chunk;
      } else {
        this.pending = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      }
    }
  }

  /** Returns the bytes before `needle` and consumes both; null if the body ends first. */
  async readUntil(needle: Buffer, max: number): Promise<Buffer | null> {
    let from = 0;
    for (;;) {
      const at = this.pending.indexOf(needle, from);
      if (at > max || (at < 0 && this.pending.length - (needle.length - 1) > max)) {
        throw tooLarge(`multipart part headers exceed ${max - CRLF.length} bytes`);
      }
      if (at >= 0) {
        const head = this.pending.subarray(0, at);
        this.pending = this.pending.subarray(at + needle.length);
        return head;
      }
      from = Math.max(0, this.pending.length - (needle.length - 1));
      const chunk = await this.pull();
      if (chunk === null) return null;
      this.pending = Buffer.concat([this.pending, chunk]);
    }
  }

  async ensure(n: number): Promise<boolean> {
    while (this.pending.length < n) {
      const chunk = await this.pull();
      if (chunk === null) return false;
      this.pending = Buffer.concat([this.pending, chunk]);
    }
    return true;
  }

  /** RFC 2046 transport-padding: linear white space between a boundary and its CRLF. */
  async skipPadding(max: number): Promise<void> {
    let skipped = 0;
    while ((await this.ensure(1)) && (this.pending[0] === SPACE || this.pending[0] === TAB)) {
      this.pending = this.pending.subarray(1);
      if (++skipped > max) throw badRequest('multipart boundary line has too much padding');
    }
  }

  async drain(): Promise<void> {
    this.pending = Buffer.alloc(0);
    while ((await this.pull()) !== null);
  }

  private async pull(): Promise<Buffer | null> {
    for (;;) {
      if (this.done) return null;
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        return null;
      }
      const chunk = toBuffer(r.value);
      this.total += chunk.length;
      if (this.total > this.maxTotalBytes) throw tooLarge(`multipart body exceeds ${this.maxTotalBytes} bytes`);
      if (chunk.length > 0) return chunk;
    }
  }
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new RampartError('internal', 'multipart body must be a stream of bytes, not text');
}

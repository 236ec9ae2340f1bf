// Writes multipart/related response bodies (RFC 2387; body syntax RFC 2046 5.1.1), as WADO-RS returns them (PS3.18 8.6.1.2).

import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { RampartError } from '../errors.js';
import { isValidBoundary } from './multipart-reader.js';

export interface MultipartOutPart {
  contentType: string;
  /** Extra part headers, e.g. Content-Location; Content-Type comes from `contentType`. */
  headers?: Record<string, string>;
  body: Buffer | Readable;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e]*$/; // printable ASCII: no CR or LF to smuggle in a header, nothing latin1 would mangle

/** A fresh random boundary; 128 random bits make a collision with part content negligible. */
export function newBoundary(): string {
  return `rampart-${randomBytes(16).toString('hex')}`;
}

/**
 * Writes each part, then the closing delimiter, waiting for 'drain' whenever `out` asks to.
 * Does not end `out`: the caller does. Throws if `out` closes or fails before all is written.
 */
export async function writeMultipart(
  out: Writable,
  boundary: string,
  parts: AsyncIterable<MultipartOutPart> | Iterable<MultipartOutPart>,
): Promise<void> {
  if (!isValidBoundary(boundary)) throw new RampartError('internal', 'multipart boundary is not valid (RFC 2046 5.1.1)');
  let first = true;
  for await (const part of parts) {
    // The CRLF before "--boundary" belongs to the delimiter, not to the previous part's body.
    await write(out, Buffer.from(`${first ? '' : '\r\n'}--${boundary}\r\n${partHeaders(part)}\r\n`, 'latin1'));
    first = false;
    if (Buffer.isBuffer(part.body)) await write(out, part.body);
    else for await (const chunk of part.body) await write(out, chunk as Buffer);
  }
  await write(out, Buffer.from(`${first ? '' : '\r\n'}--${boundary}--\r\n`, 'latin1'));
}

function partHeaders(part: MultipartOutPart): string {
  const lines = [['Content-Type', part.contentType], ...Object.entries(part.headers ?? {})];
  const seen = new Set<string>();
  let text = '';
  for (const [name = '', value = ''] of lines) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value) || seen.has(lower)) {
      throw new RampartError('internal', `multipart part header ${JSON.stringify(name)} is malformed or repeated`);
    }
    seen.add(lower);
    text += `${name}: ${value}\r\n`;
  }
  return text;
}

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (out.destroyed || out.writableEnded) throw closed();
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(closed());
    const onError = (e: unknown) => done(e);
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onError);
  });
}

const closed = () => new RampartError('unavailable', 'the response stream closed before the multipart body was written');

// Reads a small JSON request body for the app's API, with a size cap and a content-type check.
import type { IncomingMessage } from 'node:http';
import { badRequest, RampartError, tooLarge } from '../../errors.js';

export const MAX_JSON_BYTES = 64 * 1024;

export async function readJson(req: IncomingMessage, max = MAX_JSON_BYTES): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new RampartError('unsupported-media-type', 'the body must be application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw tooLarge(`the body is larger than ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw tooLarge(`the body is larger than ${max} bytes`);
    chunks.push(c as Buffer);
  }
  let v: unknown;
  try { v = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { throw badRequest('the body is not valid JSON'); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('the body must be a JSON object');
  return v as Record<string, unknown>;
}

export function sendJson(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export const optString = (v: unknown, name: string, max = 256): string | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || v.length > max) throw badRequest(`${name} must be a string of at most ${max} characters`);
  return v;
};

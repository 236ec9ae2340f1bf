// Small JSON bodies in and out for the /api routes: a size limit, an object or a 400, no echo of input.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, RampartError, tooLarge } from '../../errors.js';

export const MAX_JSON_BYTES = 16 * 1024;

export async function readJson(req: IncomingMessage, max = MAX_JSON_BYTES): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new RampartError('unsupported-media-type', 'send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw tooLarge(`JSON body larger than ${max} bytes`);
    chunks.push(c as Buffer);
  }
  let v: unknown;
  try { v = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { throw badRequest('body is not valid JSON'); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest('body must be a JSON object');
  return v as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** An optional string field, or a 400 naming the field (never its value). */
export function optString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`${key} must be a string`);
  return v;
}

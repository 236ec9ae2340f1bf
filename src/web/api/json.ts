// JSON bodies and answers for the /api routes: a small size cap, application/json only (a
// cross-site form cannot send that without a CORS preflight, which Rampart never grants).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, RampartError, tooLarge } from '../../errors.js';

/** Enough for every /api body but a passkey registration (passkey-routes.ts asks for more). */
export const MAX_JSON_BYTES = 16 * 1024;

export async function readJson(req: IncomingMessage, max = MAX_JSON_BYTES): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new RampartError('unsupported-media-type', 'send application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw tooLarge(`a JSON body is at most ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw tooLarge(`a JSON body is at most ${max} bytes`);
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw badRequest('the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** A string member of at most `max` characters, or bad-request naming it. */
export function str(body: Record<string, unknown>, name: string, max = 1024): string {
  const v = body[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw badRequest(`${name} must be a string of 1-${max} characters`);
  return v;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** An optional string field, or a 400 naming the field (never its value). */
/** An optional string member of at most `max` characters (null counts as absent). */
export function optString(o: Record<string, unknown>, key: string, max = 1024): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > max) throw badRequest(`${key} must be a string of at most ${max} characters`);
  return v;
}

/** An optional string value of at most `max` characters ('' and null count as absent). */
export function optText(v: unknown, name: string, max = 256): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || v.length > max) throw badRequest(`${name} must be a string of at most ${max} characters`);
  return v;
}

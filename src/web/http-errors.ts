// The HTTP edge's one table from error codes to statuses. Bodies say what was wrong in plain
// words and never carry a stack trace or PHI.
import type { ServerResponse } from 'node:http';
import { isRampartError, type ErrorCode } from '../errors.js';

const STATUS: Record<ErrorCode, number> = {
  'bad-request': 400,
  'invalid-dicom': 400,
  unauthenticated: 401,
  'access-denied': 403,
  'not-found': 404,
  conflict: 409,
  'already-exists': 409,
  'too-large': 413,
  'not-acceptable': 406,
  'unsupported-media-type': 415,
  unavailable: 503,
  internal: 500,
};

export function statusFor(e: unknown): number {
  return isRampartError(e) ? STATUS[e.code] : 500;
}

export function sendError(res: ServerResponse, e: unknown, log: (msg: string) => void): void {
  const status = statusFor(e);
  const code = isRampartError(e) ? e.code : 'internal';
  // Internal errors are logged by message only (messages never carry PHI); the client sees a generic text.
  const message = status === 500 ? 'internal error' : (e as Error).message;
  if (status === 500) log(`internal error: ${(e as Error)?.message ?? String(e)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="rampart", Basic realm="rampart", charset="UTF-8"';
  res.writeHead(status, headers);
  res.end(JSON.stringify({ error: code, message }));
}

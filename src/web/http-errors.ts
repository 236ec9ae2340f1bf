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
  'rate-limited': 429,
  internal: 500,
};

export function statusFor(e: unknown): number {
  return isRampartError(e) ? STATUS[e.code] : 500;
}

export function sendError(res: ServerResponse, e: unknown, log: (msg: string) => void): void {
  const status = statusFor(e);
  const code = isRampartError(e) ? e.code : 'internal';
  // The client sees a generic text. The log gets the error's kind and where it was thrown, not
  // its message: a driver's message (SQLite, pg) may quote the values it refused.
  const message = status === 500 ? 'internal error' : (e as Error).message;
  if (status === 500) log(`internal error: ${e instanceof Error ? `${e.name}${(e as { code?: string }).code ? ` ${(e as { code?: string }).code}` : ''} at ${where(e)}` : typeof e}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  const retry = isRampartError(e, 'rate-limited') ? e.detail?.retryAfterSeconds : undefined;
  if (typeof retry === 'number') headers['retry-after'] = String(retry);
  // A route may name its own challenge first (the /api routes leave Basic out, so a browser shows no password dialog).
  if (status === 401) headers['www-authenticate'] = String(res.getHeader('www-authenticate') ?? 'Bearer realm="rampart", Basic realm="rampart", charset="UTF-8"');
  res.writeHead(status, headers);
  res.end(JSON.stringify({ error: code, message }));
}

/** The first stack frame of ours, as file:line, for an internal error's log line. */
function where(e: Error): string {
  const frame = e.stack?.split('\n').slice(1).find((l) => l.includes('/src/') || l.includes('/dist/'));
  const m = frame && /([^/\s(]+\.[jt]s):(\d+)/.exec(frame);
  return m ? `${m[1]}:${m[2]}` : 'unknown';
}

// Errors with a stable `code`, thrown by any layer and translated only at the edges
// (web/ maps them to HTTP statuses, net/ to DIMSE statuses). Messages never carry PHI.

export type ErrorCode =
  | 'bad-request' // malformed input from a peer: a clear reason, 400 / 0xC000-ish
  | 'invalid-dicom' // a data set that cannot be parsed or fails validation
  | 'unauthenticated' // no or bad credentials
  | 'access-denied' // authenticated but not allowed
  | 'not-found'
  | 'conflict' // e.g. duplicate SOP Instance UID under the reject policy
  | 'already-exists'
  | 'too-large' // a size limit was exceeded
  | 'not-acceptable' // cannot produce any representation the client accepts
  | 'unsupported-media-type'
  | 'unavailable'
  | 'rate-limited' // a per-principal rate limit or quota: 429 + Retry-After / DIMSE out of resources
  | 'internal';

export class RampartError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly detail?: Record<string, unknown>) {
    super(message);
    this.name = 'RampartError';
  }
}

export const badRequest = (msg: string) => new RampartError('bad-request', msg);
export const invalidDicom = (msg: string) => new RampartError('invalid-dicom', msg);
export const notFound = (msg = 'not found') => new RampartError('not-found', msg);
export const accessDenied = (msg = 'access denied') => new RampartError('access-denied', msg);
export const unauthenticated = (msg = 'authentication required') => new RampartError('unauthenticated', msg);
export const tooLarge = (msg: string) => new RampartError('too-large', msg);
export const alreadyExists = (msg: string) => new RampartError('already-exists', msg);

export function isRampartError(e: unknown, code?: ErrorCode): e is RampartError {
  return e instanceof RampartError && (code === undefined || e.code === code);
}

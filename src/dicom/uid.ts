// UIDs (PS3.5 9.1): digits and dots, at most 64 characters, no leading zero in a component.
import { randomBytes } from 'node:crypto';

const UID_RE = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

export function isValidUid(s: string): boolean {
  return s.length > 0 && s.length <= 64 && UID_RE.test(s);
}

/** Lenient check for stored objects: digits and dots only, 64 chars (some real files have leading zeros). */
export function isPlausibleUid(s: string): boolean {
  return s.length > 0 && s.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(s);
}

/** Rampart's UID root: 2.25 (UUID-derived, PS3.5 B.2) so no registration is needed. */
export function newUid(): string {
  const hex = randomBytes(16).toString('hex');
  return `2.25.${BigInt('0x' + hex).toString(10)}`;
}

export const ImplementationClassUID = '2.25.248155166137843612916830126530486210934';
export const ImplementationVersionName = 'RAMPART_010';

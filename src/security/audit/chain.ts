// The hash chain of the audit trail: each entry carries the hash of the one before it, so an
// entry altered, removed or moved breaks the chain at that point; signed checkpoints (Ed25519)
// carry the entry count and last hash, so a cut-off tail is seen too.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { AuditEvent } from '../../services/audit-port.js';

export const GENESIS = '0'.repeat(64);

/** One line of DATA/audit/audit-*.jsonl. */
export interface ChainEntry {
  seq: number;
  time: string;
  prev: string;
  event: AuditEvent;
  hash: string;
}

/** One line of DATA/audit/checkpoints.jsonl: "the first `count` entries end with `lastHash`". */
export interface Checkpoint {
  count: number;
  lastHash: string;
  time: string;
  /** SHA-256 of the signing public key (SPKI DER), so a verifier knows which key to use. */
  keyId: string;
  sig: string;
}

/** JSON with object keys sorted at every depth: the same event always hashes the same. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

export function entryHash(e: Omit<ChainEntry, 'hash'>): string {
  return createHash('sha256').update(e.prev).update('\n').update(canonical({ seq: e.seq, time: e.time, event: e.event })).digest('hex');
}

export function makeEntry(seq: number, prev: string, event: AuditEvent, time = new Date().toISOString()): ChainEntry {
  const e = { seq, time, prev, event };
  return { ...e, hash: entryHash(e) };
}

const checkpointMessage = (c: Pick<Checkpoint, 'count' | 'lastHash' | 'time'>) =>
  Buffer.from(`rampart-audit-checkpoint:v1\n${c.count}\n${c.lastHash}\n${c.time}`);

export function keyId(pub: KeyObject): string {
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

export function signCheckpoint(key: KeyObject, count: number, lastHash: string, time = new Date().toISOString()): Checkpoint {
  const c = { count, lastHash, time };
  return { ...c, keyId: keyId(createPublicKey(key)), sig: sign(null, checkpointMessage(c), key).toString('base64') };
}

export function checkpointValid(pub: KeyObject, c: Checkpoint): boolean {
  try {
    return verify(null, checkpointMessage(c), pub, Buffer.from(c.sig, 'base64'));
  } catch {
    return false;
  }
}

export const privateKeyFromPem = (pem: string | Buffer): KeyObject => createPrivateKey(pem);
export const publicKeyFromPem = (pem: string | Buffer): KeyObject => createPublicKey(pem);

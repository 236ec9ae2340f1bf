// `rampart audit verify`: walks the whole trail in chain order and names the first entry that
// was altered, removed or moved, checks every signed checkpoint, and reports a trail that ends
// before its last checkpoint (a cut-off tail). Reads line by line: the trail may be large.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { KeyObject } from 'node:crypto';
import { GENESIS, checkpointValid, entryHash, keyId, type ChainEntry, type Checkpoint } from './chain.js';
import { CHECKPOINTS, listTrailFiles } from './files.js';

export type Problem =
  | { kind: 'altered'; seq: number; file: string; line: number }
  | { kind: 'removed'; seq: number; file: string; line: number; missingFrom: number; missingTo: number }
  | { kind: 'reordered'; seq: number; file: string; line: number }
  | { kind: 'unreadable'; file: string; line: number }
  | { kind: 'truncated'; count: number; checkpointCount: number }
  | { kind: 'bad-checkpoint'; line: number };

export interface VerifyReport {
  ok: boolean;
  entries: number;
  lastHash: string;
  checkpoints: number;
  /** The first problem in chain order (checkpoint problems after entry problems). */
  problem?: Problem;
}

export function describe(p: Problem): string {
  switch (p.kind) {
    case 'altered': return `entry ${p.seq} (${p.file} line ${p.line}) was altered: its content does not match its hash or the chain`;
    case 'removed': return p.missingFrom === p.missingTo
      ? `entry ${p.missingFrom} was removed (the chain jumps to ${p.seq} at ${p.file} line ${p.line})`
      : `entries ${p.missingFrom}-${p.missingTo} were removed (the chain jumps to ${p.seq} at ${p.file} line ${p.line})`;
    case 'reordered': return `entry ${p.seq} (${p.file} line ${p.line}) is out of order`;
    case 'unreadable': return `${p.file} line ${p.line} is not an audit entry`;
    case 'truncated': return `the trail was cut off: it holds ${p.count} entries but a signed checkpoint counts ${p.checkpointCount}`;
    case 'bad-checkpoint': return `checkpoint ${p.line} in ${CHECKPOINTS} has a bad signature`;
  }
}

export async function verifyTrail(dir: string, pub: KeyObject): Promise<VerifyReport> {
  // Checkpoints first: each must be signed by this key; the chain pass then checks the hash each one names.
  let checkpoints = 0;
  let lastCount = 0;
  let cpProblem: Problem | undefined;
  const named = new Map<number, { hash: string; line: number }[]>(); // seq -> what checkpoints say its hash is
  let text = '';
  try { text = await readFile(join(dir, CHECKPOINTS), 'utf8'); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
  const myKey = keyId(pub);
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let c: Checkpoint;
    try { c = JSON.parse(line) as Checkpoint; } catch { cpProblem ??= { kind: 'bad-checkpoint', line: i + 1 }; continue; }
    if (c.keyId !== myKey || !checkpointValid(pub, c) || !Number.isSafeInteger(c.count)) { cpProblem ??= { kind: 'bad-checkpoint', line: i + 1 }; continue; }
    checkpoints++;
    lastCount = Math.max(lastCount, c.count);
    if (c.count > 0) named.set(c.count - 1, [...(named.get(c.count - 1) ?? []), { hash: c.lastHash, line: i + 1 }]);
  }

  const files = await listTrailFiles(dir);
  // Pass 1 follows the chain; every entry's hash is recomputed from its content.
  let expected = 0; // the chain starts at 0: a missing first file is a removal too
  let prev = GENESIS;
  let problem: Problem | undefined;
  const seenLater = new Set<number>();
  let count = 0;
  let pendingGap: Extract<Problem, { kind: 'removed' }> | undefined;
  for (const f of files) {
    const name = basename(f.path);
    let lineNo = 0;
    const rl = createInterface({ input: createReadStream(f.path), crlfDelay: Infinity });
    for await (const line of rl) {
      lineNo++;
      if (problem && !pendingGap) continue;
      let e: ChainEntry;
      try {
        e = JSON.parse(line) as ChainEntry;
        if (typeof e.seq !== 'number' || typeof e.hash !== 'string' || typeof e.prev !== 'string') throw new Error('shape');
      } catch {
        problem ??= { kind: 'unreadable', file: name, line: lineNo };
        continue;
      }
      if (pendingGap) {
        // After a jump, an entry from the gap appearing later means the entries were moved, not removed.
        if (e.seq >= pendingGap.missingFrom && e.seq <= pendingGap.missingTo) seenLater.add(e.seq);
        continue;
      }
      count++;
      if (entryHash(e) !== e.hash) { problem = { kind: 'altered', seq: e.seq, file: name, line: lineNo }; continue; }
      if (e.seq < expected) { problem = { kind: 'reordered', seq: e.seq, file: name, line: lineNo }; continue; }
      if (e.seq > expected) {
        pendingGap = { kind: 'removed', seq: e.seq, file: name, line: lineNo, missingFrom: expected, missingTo: e.seq - 1 };
        problem = pendingGap;
        continue;
      }
      if (e.prev !== prev) {
        // Same position, intact content, wrong predecessor: the entry before it was changed (and rehashed).
        problem = { kind: 'altered', seq: e.seq - 1, file: name, line: lineNo - 1 };
        continue;
      }
      // An entry rewritten together with all after it (rehashed) still differs from what a checkpoint signed.
      if (named.get(e.seq)?.some((c) => c.hash !== e.hash)) { problem = { kind: 'altered', seq: e.seq, file: name, line: lineNo }; continue; }
      prev = e.hash;
      expected = e.seq + 1;
    }
  }
  if (pendingGap && seenLater.size > 0) problem = { kind: 'reordered', seq: pendingGap.seq, file: pendingGap.file, line: pendingGap.line };

  if (!problem && expected < lastCount) problem = { kind: 'truncated', count: expected, checkpointCount: lastCount };
  problem ??= cpProblem;
  return { ok: !problem, entries: count, lastHash: prev, checkpoints, problem };
}

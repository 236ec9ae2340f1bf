// Reads the trail back for exports, searches and reports: every chain under DATA/audit, entries
// within a time range, merged in time order. The files are the source of truth (see docs/audit.md
// for why searches scan them rather than a copy in the index database).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ChainEntry } from './chain.js';
import { listChains, listTrailFiles } from './files.js';

export interface ReadRange { since?: Date; until?: Date }

/** Entries of one chain in chain order; unreadable lines are skipped (verify reports them). */
export async function* chainEntries(dir: string, range: ReadRange = {}, fromSeq = 0): AsyncIterable<ChainEntry> {
  const all = await listTrailFiles(dir);
  // Files that end before fromSeq (the next one starts at or below it) are not read at all.
  const files = all.filter((f, i) => (all[i + 1]?.firstSeq ?? Infinity) > fromSeq);
  const since = range.since?.toISOString();
  const until = range.until?.toISOString();
  for (const f of files) {
    const rl = createInterface({ input: createReadStream(f.path), crlfDelay: Infinity });
    for await (const line of rl) {
      let e: ChainEntry;
      try { e = JSON.parse(line) as ChainEntry; } catch { continue; }
      if (typeof e.time !== 'string' || !e.event) continue;
      if (since && e.time < since) continue;
      if (until && e.time >= until) continue;
      yield e;
    }
  }
}

/**
 * Entries of all chains (main and side) that pass `keep`, in time order. With `newest`, only
 * the newest that many are kept while reading, so a search over a long trail holds little memory.
 */
export async function readTrail(auditDir: string, range: ReadRange = {}, keep: (e: ChainEntry) => boolean = () => true, newest = Infinity): Promise<ChainEntry[]> {
  const out: ChainEntry[] = [];
  for (const dir of await listChains(auditDir)) {
    const mine: ChainEntry[] = [];
    for await (const e of chainEntries(dir, range)) {
      if (!keep(e)) continue;
      mine.push(e);
      // A chain is in time order: past twice the limit, the oldest half can go.
      if (mine.length >= 2 * newest) mine.splice(0, mine.length - newest);
    }
    out.push(...(mine.length > newest ? mine.slice(-newest) : mine));
  }
  out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return out.length > newest ? out.slice(-newest) : out;
}

/**
 * Entries of one trail file from a byte offset, each with the offset just past its line, so a
 * follower (the syslog forwarder) can resume where it stopped instead of rereading the file.
 * Stops at a line that does not parse (one being written right now): it is read again next time.
 */
export async function* entriesFrom(path: string, offset: number): AsyncIterable<{ entry: ChainEntry; end: number }> {
  const rl = createInterface({ input: createReadStream(path, { start: offset }), crlfDelay: Infinity });
  let pos = offset;
  for await (const line of rl) {
    let entry: ChainEntry;
    try { entry = JSON.parse(line) as ChainEntry; } catch { break; }
    pos += Buffer.byteLength(line, 'utf8') + 1;
    yield { entry, end: pos };
  }
  rl.close();
}

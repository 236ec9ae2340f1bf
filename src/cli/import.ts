// `rampart import PATH...`: ingests files and folders (recursively) through the same ingest
// service as STOW-RS, with a progress bar on a terminal, a summary, and exit 1 if anything was rejected.
import { createReadStream } from 'node:fs';
import { openNode } from '../app.js';
import { systemPrincipal } from '../security/principal.js';
import type { Prepared } from '../services/ingest.js';
import { configFrom, parse, walkFiles, type Io } from './common.js';

export const usage = 'rampart import PATH... [--data DIR] [--json]';


export async function importCmd(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {});
  if (values.help || positionals.length === 0) { io.out(usage); return values.help ? 0 : 2; }
  const node = await openNode(configFrom(values));
  const principal = systemPrincipal('cli');
  const summary = { stored: 0, duplicates: 0, replaced: 0, rejected: 0 };
  const rejected: { file: string; reason: string }[] = [];
  let seen = 0;
  const progress = (final = false) => {
    if (!io.isTTY) return;
    const done = summary.stored + summary.duplicates + summary.replaced + summary.rejected;
    process.stderr.write(`\r[${'#'.repeat(Math.min(30, Math.floor(done / 10) % 31)).padEnd(30, '.')}] ${done} files: ${summary.stored} stored, ${summary.duplicates} duplicate, ${summary.rejected} rejected${final ? '\n' : ''}`);
  };
  let batch: { file: string; p: Prepared }[] = [];
  const flush = async () => {
    const b = batch;
    batch = [];
    const outcomes = await node.ingest.commit(principal, b.map((x) => x.p));
    outcomes.forEach((o, i) => {
      if (o.ok) summary[o.status === 'stored' ? 'stored' : o.status === 'duplicate' ? 'duplicates' : 'replaced']++;
      else { summary.rejected++; rejected.push({ file: b[i]!.file, reason: o.message }); }
    });
  };
  try {
    for (const root of positionals) {
      try {
        for await (const file of walkFiles(root)) {
          seen++;
          const p = await node.ingest.prepare(principal, createReadStream(file, { highWaterMark: 1 << 20 }));
          if (p.ok) {
            batch.push({ file, p });
            if (batch.length >= 32) await flush();
          } else { summary.rejected++; rejected.push({ file, reason: p.message }); }
          if (seen % 10 === 0) progress();
        }
      } catch (e) {
        summary.rejected++;
        rejected.push({ file: root, reason: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message });
      }
    }
    await flush();
  } finally {
    progress(true);
    await node.audit.record({ action: 'import', outcome: summary.rejected ? 'failure' : 'success', principal, instances: summary.stored });
    await node.close();
  }
  if (values.json) io.out(JSON.stringify({ ...summary, rejectedFiles: rejected }));
  else {
    for (const r of rejected) io.err(`rejected ${r.file}: ${r.reason}`);
    io.out(`${summary.stored} stored, ${summary.duplicates} duplicate(s), ${summary.replaced} replaced, ${summary.rejected} rejected`);
  }
  return summary.rejected ? 1 : 0;
}

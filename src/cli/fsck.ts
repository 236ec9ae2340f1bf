// `rampart fsck [--repair]`: the index against the blobs, and each blob against its SHA-256.
// Reports index rows whose blob is missing or altered, blobs no row refers to (orphans of a
// crash between the two writes) and staged leftovers; --repair removes orphans either way.
import { createHash } from 'node:crypto';
import { openNode } from '../app.js';
import { configFrom, parse, type Io } from './common.js';

export const usage = 'rampart fsck [--repair] [--data DIR] [--json]';

export async function fsck(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { repair: { type: 'boolean', default: false } }, false);
  if (values.help) { io.out(usage); return 0; }
  const node = await openNode(configFrom(values));
  const report = { instances: 0, blobs: 0, missingBlobs: [] as string[], corrupt: [] as string[], orphanBlobs: [] as string[], stagedLeftovers: 0, repaired: 0 };
  try {
    const indexed = new Set<string>();
    for await (const inst of node.index.allInstances()) {
      report.instances++;
      indexed.add(inst.blobKey);
      const hash = createHash('sha256');
      try {
        for await (const c of node.blobs.open(inst.blobKey)) hash.update(c as Buffer);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') { report.missingBlobs.push(inst.SOPInstanceUID); continue; }
        throw e;
      }
      if (hash.digest('hex') !== inst.sha256) report.corrupt.push(inst.SOPInstanceUID);
    }
    for await (const key of node.blobs.keys()) {
      report.blobs++;
      if (!indexed.has(key)) report.orphanBlobs.push(key);
    }
    if (values.repair) {
      for (const key of report.orphanBlobs) if (await node.blobs.delete(key)) report.repaired++;
      for (const uid of report.missingBlobs) {
        const inst = await node.index.getInstance(uid);
        if (inst) { await node.index.deleteScope({ StudyInstanceUID: inst.StudyInstanceUID, SeriesInstanceUID: inst.SeriesInstanceUID, SOPInstanceUID: uid }); report.repaired++; }
      }
      report.stagedLeftovers = await node.blobs.sweepStaging(0);
    }
  } finally {
    await node.close();
  }
  const problems = report.missingBlobs.length + report.corrupt.length + report.orphanBlobs.length;
  if (values.json) io.out(JSON.stringify(report));
  else {
    io.out(`${report.instances} instances indexed, ${report.blobs} blobs stored`);
    if (report.missingBlobs.length) io.out(`${report.missingBlobs.length} indexed instance(s) whose blob is missing${values.repair ? ' (removed from the index)' : ''}`);
    if (report.corrupt.length) io.out(`${report.corrupt.length} blob(s) whose SHA-256 no longer matches: ${report.corrupt.join(' ')}`);
    if (report.orphanBlobs.length) io.out(`${report.orphanBlobs.length} blob(s) that no index row refers to${values.repair ? ' (removed)' : ''}`);
    if (!problems) io.out('no problems found');
  }
  // After a repair only corruption (which cannot be repaired here) keeps the exit non-zero.
  return values.repair ? (report.corrupt.length ? 1 : 0) : problems ? 1 : 0;
}

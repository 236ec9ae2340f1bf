// Validates DICOM Audit Messages against the PS3.15 A.5.1 schema kept in the repo, with Debian's
// jing (scripts/test.sh installs it). The published schema's "##" comments become "#" first.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SCHEMA = new URL('../../src/security/audit/schema/audit-message.rnc', import.meta.url);

/** jing's complaints, one per line; empty when every message is valid. */
export async function validateAuditXml(messages: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-jing-'));
  try {
    const rnc = (await readFile(SCHEMA, 'utf8')).replace(/##/g, '#');
    await writeFile(join(dir, 'audit-message.rnc'), rnc);
    const files = await Promise.all(messages.map(async (m, i) => { const f = join(dir, `m${i}.xml`); await writeFile(f, m); return f; }));
    try {
      await promisify(execFile)('jing', ['-c', join(dir, 'audit-message.rnc'), ...files], { maxBuffer: 16 * 1024 * 1024 });
      return '';
    } catch (e) {
      const out = (e as { stdout?: string }).stdout ?? String(e);
      return out.trim() || String(e);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Opens this process's audit trail from the configuration: the chain directory it may write
// (files.ts), the signing key (keys.ts), and how this node names itself in exported messages.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { AuditEvent } from '../../services/audit-port.js';
import type { AuditSource } from './dicom-xml.js';
import { claimChainDir } from './files.js';
import { loadSigningKey } from './keys.js';
import { AuditTrail } from './trail.js';

export const auditDir = (config: Readonly<Config>) => join(config.dataDir, 'audit');

export const auditSource = (config: Readonly<Config>): AuditSource => ({ id: config.dimse.aeTitle, aeTitle: config.dimse.aeTitle, host: hostname() });

export async function openAuditTrail(config: Readonly<Config>, enrich?: (e: AuditEvent) => Promise<AuditEvent>): Promise<AuditTrail> {
  const dir = auditDir(config);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const chain = await claimChainDir(dir);
  return AuditTrail.open({
    dir: chain.dir, release: chain.release, signingKey: await loadSigningKey(dir, config.audit.signingKey), failOpen: config.audit.failOpen,
    syncIntervalMs: config.audit.syncIntervalMs, checkpointEvery: config.audit.checkpointEvery, rotateBytes: config.audit.rotateBytes,
    enrich, log: (m) => process.stderr.write(m + '\n'),
  });
}

// Opens this process's audit trail from the configuration: the chain directory it may write
// (files.ts), the signing key (keys.ts), and how this node names itself in exported messages.
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { AuditEvent } from '../../services/audit-port.js';
import type { AuditSource } from './dicom-xml.js';
import { claimChainDir } from './files.js';
import { SyslogForwarder } from './forwarder.js';
import { loadSigningKey } from './keys.js';
import { AuditTrail } from './trail.js';

export const auditDir = (config: Readonly<Config>) => join(config.dataDir, 'audit');

export const auditSource = (config: Readonly<Config>): AuditSource => ({ id: config.dimse.aeTitle, aeTitle: config.dimse.aeTitle, host: hostname() });

export async function openAuditTrail(config: Readonly<Config>, enrich?: (e: AuditEvent) => Promise<AuditEvent>): Promise<AuditTrail> {
  const dir = auditDir(config);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const chain = await claimChainDir(dir);
  const trail = await AuditTrail.open({
    dir: chain.dir, release: chain.release, signingKey: await loadSigningKey(dir, config.audit.signingKey), failOpen: config.audit.failOpen,
    syncIntervalMs: config.audit.syncIntervalMs, checkpointEvery: config.audit.checkpointEvery, rotateBytes: config.audit.rotateBytes,
    enrich, log: (m) => process.stderr.write(m + '\n'),
  });
  // The auditor should see in the trail itself that its last line was lost to a crash.
  if (trail.repairedTail) {
    await trail.record({ action: 'alert', outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' }, target: 'audit-tail-repaired', detail: 'the last trail line was torn by a crash during a write and was cut off' });
  }
  return trail;
}

/** The syslog forwarder when audit.syslog.host is set: woken by every new entry of this trail. */
export async function startForwarder(config: Readonly<Config>, trail: AuditTrail): Promise<SyslogForwarder | undefined> {
  const s = config.audit.syslog;
  if (!s.host) return undefined;
  const f = new SyslogForwarder({
    auditDir: auditDir(config), host: s.host, port: s.port, source: auditSource(config),
    ca: s.ca ? await readFile(s.ca) : undefined, cert: s.cert ? await readFile(s.cert) : undefined, key: s.key ? await readFile(s.key) : undefined,
    fingerprint: s.fingerprint ?? undefined, serverName: s.serverName ?? undefined, log: (m) => process.stderr.write(m + '\n'),
  });
  trail.onEntry(() => f.notify());
  await f.start();
  return f;
}

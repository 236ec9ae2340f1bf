// `rampart serve`: runs the node (HTTP DICOMweb door) until SIGINT/SIGTERM.
import { ensureInitialAdmin, openNode } from '../app.js';
import { isLoopback } from '../config/schema.js';
import { startDimse } from '../dimse-door.js';
import { startHttp } from '../web/server.js';
import { configFrom, parse, type Io } from './common.js';

export const usage = 'rampart serve [--host H] [--http-port N] [--dicom-port N] [--dicom-tls-port N] [--ae-title AE] [--data DIR] [--config FILE] [--index postgres://...]';

export async function serve(args: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const { values } = parse(args, {
    host: { type: 'string' }, 'http-port': { type: 'string' }, index: { type: 'string' },
    'dicom-port': { type: 'string' }, 'dicom-tls-port': { type: 'string' }, 'ae-title': { type: 'string' },
  }, false);
  if (values.help) { io.out(usage); return 0; }
  const config = configFrom(values, {
    'http.host': values.host, 'http.port': values['http-port'], 'index.url': values.index,
    'dimse.port': values['dicom-port'], 'dimse.tlsPort': values['dicom-tls-port'], 'dimse.aeTitle': values['ae-title'],
  });
  const node = await openNode(config, { forwardAudit: true });
  const { reindexed, unreadable, torn } = node.recovered;
  if (reindexed) io.err(`indexed again ${reindexed} stored instance(s) whose index rows an earlier stop had not yet made durable`);
  if (unreadable) io.err(`${unreadable} blob(s) written by an earlier stop are not valid objects: see rampart fsck`);
  if (torn) io.err(`${torn} blob(s) that an earlier stop was still writing were cut short and never acknowledged; left for rampart fsck --repair`);
  const swept = await node.blobs.sweepStaging(60_000);
  if (swept) io.err(`removed ${swept} staged upload(s) left by an earlier stop`);
  const adminFile = await ensureInitialAdmin(node);
  if (adminFile) io.err(`created the administrator "admin"; its password is in ${adminFile} (readable by this user only)`);
  if (!isLoopback(config.http.host) && !config.http.tlsCert) {
    io.err(`listening on ${config.http.host} (not loopback) requires HTTPS: using the node's own certificate in ${config.dataDir}/tls (give yours with http.tlsCert/http.tlsKey)`);
  }
  const http = await startHttp(node, (m) => io.err(m));
  io.err(`rampart: DICOMweb at ${http.url}${config.dicomweb.prefix}, data in ${config.dataDir}, index ${config.index.url === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`);
  const dimse = config.dimse.enabled ? await startDimse(node, (m) => io.err(m)) : undefined;
  if (dimse) {
    const peers = (await node.peers.listPeers()).length;
    io.err(`rampart: DIMSE AE ${config.dimse.aeTitle} on ${[dimse.ports.tcp && `port ${dimse.ports.tcp}`, dimse.ports.tls && `TLS port ${dimse.ports.tls}`].filter(Boolean).join(' and ')}; ${peers} registered peer(s) (rampart peer add)`);
  }
  await node.audit.record({ action: 'application-start', outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' } });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop);
  });
  await dimse?.close();
  await http.close();
  await node.audit.record({ action: 'application-stop', outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' } });
  await node.close();
  return 0;
}

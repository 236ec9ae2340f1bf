// `rampart serve`: runs the node (HTTP DICOMweb door) until SIGINT/SIGTERM.
import { ensureInitialAdmin, openNode } from '../app.js';
import { isLoopback } from '../config/schema.js';
import { startHttp } from '../web/server.js';
import { configFrom, parse, type Io } from './common.js';

export const usage = 'rampart serve [--host H] [--http-port N] [--data DIR] [--config FILE] [--index postgres://...]';

export async function serve(args: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const { values } = parse(args, {
    host: { type: 'string' }, 'http-port': { type: 'string' }, index: { type: 'string' },
    'dicom-port': { type: 'string' }, 'dicom-tls-port': { type: 'string' }, 'ae-title': { type: 'string' },
  }, false);
  if (values.help) { io.out(usage); return 0; }
  for (const k of ['dicom-port', 'dicom-tls-port', 'ae-title'] as const) {
    if (values[k] !== undefined) { io.err(`rampart: --${k} needs the DIMSE service, which this version does not have yet`); return 2; }
  }
  const config = configFrom(values, { 'http.host': values.host, 'http.port': values['http-port'], 'index.url': values.index });
  const node = await openNode(config);
  const swept = await node.blobs.sweepStaging(60_000);
  if (swept) io.err(`removed ${swept} staged upload(s) left by an earlier stop`);
  const adminFile = await ensureInitialAdmin(node);
  if (adminFile) io.err(`created the administrator "admin"; its password is in ${adminFile} (readable by this user only)`);
  if (!isLoopback(config.http.host) && !config.http.tlsCert) {
    io.err(`listening on ${config.http.host} (not loopback) requires HTTPS: using the node's own certificate in ${config.dataDir}/tls (give yours with http.tlsCert/http.tlsKey)`);
  }
  const http = await startHttp(node, (m) => io.err(m));
  io.err(`rampart: DICOMweb at ${http.url}${config.dicomweb.prefix}, data in ${config.dataDir}, index ${config.index.url === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`);
  await node.audit.record({ action: 'application-start', outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' } });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop);
  });
  await http.close();
  await node.audit.record({ action: 'application-stop', outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' } });
  await node.close();
  return 0;
}

// GET /api/admin/security-scan: the last `rampart scan --self` result (docs/scan-report.schema.json)
// for the web app's security page. Administrators only; 404 until a self-scan has run.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RampartError, notFound } from '../../errors.js';
import { readLastSelfScan } from '../../scan/self.js';
import { authorize } from '../../security/policy.js';
import type { Principal } from '../../security/principal.js';

export const SECURITY_SCAN_PATH = '/api/admin/security-scan';

export async function securityScanRoute(req: IncomingMessage, res: ServerResponse, principal: Principal, dataDir: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new RampartError('bad-request', `method ${req.method} is not allowed here`);
  authorize(principal, 'administer');
  const report = await readLastSelfScan(dataDir);
  if (!report) throw notFound('no self-scan has run yet: run `rampart scan --self`');
  const body = JSON.stringify(report);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

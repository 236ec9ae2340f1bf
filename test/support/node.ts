// Starts a real Rampart node (SQLite + files in a temp dir, HTTP on a free loopback port) for tests.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInitialAdmin, openNode, type Node } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import { createToken } from '../../src/security/authenticate.js';
import type { TokenScope } from '../../src/store/index/account-store.js';
import { startHttp } from '../../src/web/server.js';
import { startDimse } from '../../src/dimse-door.js';
import type { DimseListener } from '../../src/net/listener.js';

export interface TestNode {
  node: Node;
  dataDir: string;
  url: string; // http://127.0.0.1:PORT
  dicomweb: string; // url + /dicom-web
  adminPassword: string;
  /** DIMSE ports when started with dimse: true. */
  dimse?: DimseListener;
  token(scopes?: TokenScope[], user?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestNode(overrides: Record<string, unknown> = {}, opts: { dimse?: boolean; clock?: () => Date } = {}): Promise<TestNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rampart-test-'));
  const config = loadConfig({ env: {}, overrides: { dataDir, 'http.port': 0, 'dimse.port': 0, 'dimse.tlsPort': 0, ...overrides } });
  const node = await openNode(config, { clock: opts.clock });
  const file = await ensureInitialAdmin(node);
  const adminPassword = (await readFile(file!, 'utf8')).trim();
  const http = await startHttp(node, () => undefined);
  const dimse = opts.dimse ? await startDimse(node, () => undefined) : undefined;
  return {
    node, dataDir, url: http.url, dicomweb: http.url + config.dicomweb.prefix, adminPassword, dimse,
    token: async (scopes = ['read', 'write', 'admin'], user = 'admin') => (await createToken(node.index, user, scopes, 3_600_000)).secret,
    async stop() {
      await dimse?.close();
      await http.close();
      await node.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const PYDICOM_DATA = '/usr/lib/python3/dist-packages/pydicom/data';

/** Builds a multipart/related body of application/dicom parts. */
export function multipartBody(parts: Buffer[], boundary = 'rampart-test-boundary-1234'): { body: Blob; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`));
    chunks.push(p);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: new Blob(chunks as unknown as BlobPart[]), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/** Splits a multipart/related response into its parts' bodies. */
export function splitMultipart(body: Buffer, contentType: string): { headers: string; body: Buffer }[] {
  const m = /boundary=("?)([^";]+)\1/.exec(contentType);
  if (!m) throw new Error('no boundary in ' + contentType);
  const delim = Buffer.from(`--${m[2]}`);
  const out: { headers: string; body: Buffer }[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const after = pos + delim.length;
    if (body.subarray(after, after + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', after);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headerEnd);
    out.push({ headers: body.subarray(after + 2, headerEnd).toString('latin1'), body: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  return out;
}

// The syslog forwarder against a TLS syslog receiver started here (RFC 5425 over node:tls, with a
// certificate made by openssl): delivers, waits out an outage and a restart of Rampart, then
// delivers everything in order.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNode, type Node } from '../../app.js';
import { loadConfig } from '../../config/schema.js';
import { unframe } from './syslog.js';
import { validateAuditXml } from '../../../test/support/audit-schema.js';

let dir: string;
let key: Buffer, cert: Buffer, certFile: string;
const received: Buffer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-syslog-'));
  certFile = join(dir, 'repo.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=audit-repository',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'repo.key'), '-out', certFile], { stdio: 'ignore' });
  key = await readFile(join(dir, 'repo.key'));
  cert = await readFile(certFile);
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

function startReceiver(port = 0): Promise<{ server: Server; port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ key, cert }, (s) => {
    sockets.add(s);
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      const r = unframe(Buffer.concat([buf, d]));
      received.push(...r.messages);
      buf = r.rest;
    });
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({
    server, port: (server.address() as { port: number }).port,
    stop: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  })));
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!cond()) throw new Error(`gave up waiting for ${what}`);
}

const targets = () => received.map((m) => /ParticipantObjectID="(e\d+)"/.exec(m.toString('utf8'))?.[1]).filter(Boolean);
const seqIds = () => received.map((m) => Number(/\[meta sequenceId="(\d+)"\]/.exec(m.toString('latin1'))?.[1]));

describe('the syslog forwarder', () => {
  it('delivers over TLS, keeps entries while the repository is down and Rampart restarts, then sends them all in order', async () => {
    const rx = await startReceiver();
    const config = loadConfig({ env: {}, overrides: { dataDir: join(dir, 'data'), 'audit.syslog.host': '127.0.0.1', 'audit.syslog.port': rx.port, 'audit.syslog.ca': certFile } });
    const change = (node: Node, n: number) => node.audit.record({ action: 'config-change', outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' }, target: `e${n}` });

    let node = await openNode(config, { forwardAudit: true });
    for (const n of [1, 2, 3]) await change(node, n);
    await until(() => targets().length >= 3, 'the first three messages');
    const first = received[0]!.toString('utf8');
    expect(first).toMatch(/^<85>1 \S+ \S+ rampart \d+ DICOM\+RFC3881 \[meta sequenceId="1"\] \uFEFF<\?xml/);

    await rx.stop();
    await until(() => node.forwarder!.state !== 'connected', 'the forwarder to see the repository go');
    for (const n of [4, 5]) await change(node, n);
    await node.close();
    node = await openNode(config, { forwardAudit: true });
    await change(node, 6);
    expect(targets()).not.toContain('e6');

    const rx2 = await startReceiver(rx.port);
    await until(() => targets().includes('e6'), 'the spooled messages');
    // At least once: a resend after the outage may repeat entries; without repeats the order is the trail's.
    const seen = new Set<number>();
    const order = received.filter((_, i) => !seen.has(seqIds()[i]!) && seen.add(seqIds()[i]!)).map((m) => /ParticipantObjectID="(e\d+)"/.exec(m.toString('utf8'))![1]);
    expect(order).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    expect(await validateAuditXml(received.map((m) => m.toString('utf8').slice(m.toString('utf8').indexOf('<?xml'))))).toBe('');
    await node.close();
    await rx2.stop();
  }, 60_000);

  it('accepts a repository by its pinned certificate fingerprint, without a CA', async () => {
    const rx = await startReceiver();
    const before = received.length;
    const fingerprint = new X509Certificate(cert).fingerprint256;
    const config = loadConfig({ env: {}, overrides: { dataDir: join(dir, 'pinned'), 'audit.syslog.host': '127.0.0.1', 'audit.syslog.port': rx.port, 'audit.syslog.fingerprint': fingerprint } });
    const node = await openNode(config, { forwardAudit: true });
    await node.audit.record({ action: 'config-change', outcome: 'success', principal: { kind: 'system', username: 'system', door: 'cli' }, target: 'e7' });
    await until(() => targets().includes('e7'), 'the pinned delivery');
    expect(received.length).toBeGreaterThan(before);
    await node.close();
    await rx.stop();
  }, 60_000);
});

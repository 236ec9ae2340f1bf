// Forwards the audit trail to the site's audit record repository as syslog over TLS (RFC 5424
// + RFC 5425, PS3.15 A.6). The trail itself is the durable spool: a cursor per chain
// (DATA/audit/syslog-cursor.json) says how far the repository has it, so entries written while
// the repository is down, or while Rampart was stopped, are sent after, in chain order.
//
// TCP and RFC 5425 have no application acknowledgement. An entry counts as delivered once it
// was written, the socket drained, and the connection was still up `graceMs` later; when the
// connection drops, everything sent within the grace period is sent again. So delivery is at
// least once and in order; a repository may see a few entries twice (same meta sequenceId).
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { checkServerIdentity, connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { ChainEntry } from './chain.js';
import { toDicomXml, type AuditSource } from './dicom-xml.js';
import { listChains, listTrailFiles } from './files.js';
import { entriesFrom } from './reader.js';
import { frame, syslogMessage } from './syslog.js';

export interface ForwarderOptions {
  auditDir: string;
  host: string;
  port: number;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** SHA-256 of the repository's certificate (hex, colons allowed): pinned when given. */
  fingerprint?: string;
  serverName?: string;
  source: AuditSource;
  graceMs?: number;
  maxBackoffMs?: number;
  log?: (m: string) => void;
}

const CURSOR = 'syslog-cursor.json';

export class SyslogForwarder {
  private cursor: Record<string, number> = {};
  private socket: TLSSocket | undefined;
  private running = false;
  private wake: (() => void) | undefined;
  private pending = false;
  private stopped = false;
  private backoff = 0;
  private loop: Promise<void> | undefined;
  /** Entries written but not yet past the grace period: [chain, seq, sentAt]. */
  private inflight: { chain: string; seq: number; at: number }[] = [];
  /** Where reading stopped in each chain: the file, the byte after the last entry sent, the next seq. */
  private positions = new Map<string, { path: string; offset: number; seq: number }>();
  state: 'connecting' | 'connected' | 'down' = 'down';
  delivered = 0;

  constructor(private readonly o: ForwarderOptions) {}

  async start(): Promise<void> {
    try { this.cursor = JSON.parse(await readFile(join(this.o.auditDir, CURSOR), 'utf8')) as Record<string, number>; } catch { this.cursor = {}; }
    this.running = true;
    this.loop = this.run();
  }

  /** Something new is in the trail: send it. */
  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => { this.wake = undefined; r(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = undefined; r(); };
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (!this.socket) await this.connect();
        this.pending = false;
        await this.sendBacklog();
        await this.confirm(false);
        this.backoff = 0;
        if (!this.pending) await this.sleep(this.inflight.length ? Math.min(this.o.graceMs ?? 1000, 250) : 5000);
      } catch (e) {
        this.drop(e as Error);
        if (!this.running) break;
        this.backoff = Math.min(Math.max(this.backoff * 2, 200), this.o.maxBackoffMs ?? 30_000);
        await this.sleep(this.backoff);
      }
    }
  }

  private connect(): Promise<void> {
    this.state = 'connecting';
    return new Promise((resolve, reject) => {
      const pin = this.o.fingerprint?.replace(/:/g, '').toLowerCase();
      const s = connect({
        host: this.o.host, port: this.o.port, ca: this.o.ca, cert: this.o.cert, key: this.o.key,
        servername: this.o.serverName ?? (/^[\d.:]+$/.test(this.o.host) ? undefined : this.o.host), minVersion: 'TLSv1.2',
        // A pinned certificate replaces the CA and name checks (it may well be self-signed); it is
        // compared below, before a single byte is sent.
        rejectUnauthorized: !pin,
        checkServerIdentity: (host: string, cert: PeerCertificate) => (pin ? undefined : checkServerIdentity(host, cert)),
      });
      s.once('secureConnect', () => {
        if (pin && createHash('sha256').update(s.getPeerCertificate().raw).digest('hex') !== pin) {
          s.destroy();
          reject(new Error('audit repository certificate does not match the pinned fingerprint'));
          return;
        }
        this.socket = s;
        this.state = 'connected';
        s.setNoDelay(true);
        s.on('close', () => { if (this.socket === s) this.drop(new Error('closed')); });
        s.on('error', () => undefined);
        s.on('data', () => undefined); // a repository says nothing; anything it sends is ignored
        resolve();
      });
      s.once('error', reject);
    });
  }

  private drop(e: Error): void {
    if (this.socket) this.o.log?.(`audit: syslog repository connection lost (${(e as NodeJS.ErrnoException).code ?? e.message}); entries wait in the trail`);
    this.socket?.destroy();
    this.socket = undefined;
    this.state = 'down';
    this.inflight = []; // not confirmed: sent again from the cursor
    this.positions.clear();
    this.wake?.();
  }

  private async sendBacklog(): Promise<void> {
    for (const chain of await listChains(this.o.auditDir)) {
      const name = relative(this.o.auditDir, chain) || '.';
      const inflightTop = this.inflight.filter((x) => x.chain === name).map((x) => x.seq);
      const from = inflightTop.length ? Math.max(...inflightTop) + 1 : this.cursor[name] ?? 0;
      // Resume at the byte where the last pass stopped, when it stopped exactly there.
      const at = this.positions.get(name)?.seq === from ? this.positions.get(name) : undefined;
      const files = await listTrailFiles(chain);
      for (const [i, f] of files.entries()) {
        if ((files[i + 1]?.firstSeq ?? Infinity) <= from) continue; // the whole file is before `from`
        for await (const { entry, end } of entriesFrom(f.path, at?.path === f.path ? at.offset : 0)) {
          if (entry.seq < from) continue;
          await this.send(name, entry);
          this.positions.set(name, { path: f.path, offset: end, seq: entry.seq + 1 });
        }
      }
    }
  }

  private async send(chain: string, e: ChainEntry): Promise<void> {
    const s = this.socket;
    if (!s || !this.running) throw new Error('not connected');
    const bytes = frame(syslogMessage(e, toDicomXml(e, this.o.source), this.o.source.host ?? this.o.source.id));
    await new Promise<void>((resolve, reject) => {
      const ok = s.write(bytes, (err) => (err ? reject(err) : ok ? resolve() : undefined));
      if (!ok) s.once('drain', () => resolve());
    });
    if (this.socket !== s) throw new Error('connection lost while sending');
    this.inflight.push({ chain, seq: e.seq, at: Date.now() });
    if (this.inflight.length % 256 === 0) await this.confirm(false);
  }

  /** Moves entries past the grace period (or all, at a clean stop) into the persisted cursor. */
  private async confirm(all: boolean): Promise<void> {
    const limit = Date.now() - (this.o.graceMs ?? 1000);
    let moved = 0;
    while (this.inflight.length && (all || this.inflight[0]!.at <= limit)) {
      const x = this.inflight.shift()!;
      this.cursor[x.chain] = x.seq + 1;
      moved++;
    }
    if (!moved) return;
    this.delivered += moved;
    const tmp = join(this.o.auditDir, CURSOR + '.tmp');
    await writeFile(tmp, JSON.stringify(this.cursor), { mode: 0o600 });
    await rename(tmp, join(this.o.auditDir, CURSOR));
  }

  /** Stops sending. Entries still within their grace period are sent again at the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.confirm(false).catch(() => undefined);
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => { s.end(() => r()); setTimeout(r, 1000).unref(); });
    s?.destroy();
  }
}

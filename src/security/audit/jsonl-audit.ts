// A plain append-only JSON-lines audit sink under DATA/audit/. The tamper-evident trail (hash
// chain, signed checkpoints, exports) replaces it behind the same AuditSink port.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, AuditSink } from '../../services/audit-port.js';

export class JsonlAuditSink implements AuditSink {
  private out: WriteStream;
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.out = createWriteStream(join(dir, 'audit.jsonl'), { flags: 'a', mode: 0o600 });
  }
  record(e: AuditEvent): Promise<void> {
    const line = JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n';
    // Fail closed: the caller's operation fails if the event cannot be written.
    return new Promise((resolve, reject) => this.out.write(line, (err) => (err ? reject(err) : resolve())));
  }
  close(): Promise<void> {
    return new Promise((r) => this.out.end(r));
  }
}

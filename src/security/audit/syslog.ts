// Syslog framing for the audit repository (PS3.15 A.6): an RFC 5424 message whose MSG is the
// DICOM Audit Message XML, sent over TLS with RFC 5425 octet counting ("LEN SP MSG").
import type { ChainEntry } from './chain.js';

/** Facility 10 (security/authorization), severity 5 (notice): PRI = 10 * 8 + 5. */
const PRI = 85;
/** PS3.15 A.6: the MSGID of an audit message. */
export const MSGID = 'DICOM+RFC3881';

const field = (s: string, max: number) => (s.replace(/[^\x21-\x7e]/g, '').slice(0, max) || '-');

/**
 * One RFC 5424 SYSLOG-MSG. The "meta" SD element (RFC 5424 7.3.1) carries the entry's sequence
 * number so a repository can drop the copies a resend after an outage may deliver twice.
 */
export function syslogMessage(entry: ChainEntry, xml: string, host: string, appName = 'rampart', procId = String(process.pid)): Buffer {
  const header = `<${PRI}>1 ${entry.time} ${field(host, 255)} ${field(appName, 48)} ${field(procId, 128)} ${MSGID} [meta sequenceId="${(entry.seq % 2147483647) + 1}"] `;
  // The BOM tells the receiver MSG is UTF-8 (RFC 5424 6.4).
  return Buffer.concat([Buffer.from(header, 'ascii'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml, 'utf8')]);
}

/** RFC 5425 4.3: octet-counting framing. */
export function frame(msg: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]);
}

/** Splits a received byte stream into frames; returns the messages and the unread rest. Bounded by `maxFrame`. */
export function unframe(buf: Buffer, maxFrame = 1024 * 1024): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const sp = buf.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 8) break;
    const len = Number(buf.toString('ascii', pos, sp));
    if (!Number.isSafeInteger(len) || len <= 0 || len > maxFrame) throw new Error('bad syslog frame length');
    if (buf.length < sp + 1 + len) break;
    messages.push(buf.subarray(sp + 1, sp + 1 + len));
    pos = sp + 1 + len;
  }
  return { messages, rest: buf.subarray(pos) };
}

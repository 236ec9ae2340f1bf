// Hostile peers against a real node's DIMSE listener: malformed, oversized, out-of-order and
// slow PDUs on raw loopback sockets. Each case checks what the peer gets back (A-ASSOCIATE-RJ,
// A-ABORT with its PS3.8 Table 9-26 source and reason, a DIMSE status, or a closed connection),
// then that the listener still answers a good C-ECHO and holds no association. The whole table
// runs three times and the heap must not grow beyond a generous bound.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dcmtk } from '../../test/support/dcmtk.js';
import { startTestNode, type TestNode } from '../../test/support/node.js';
import { decodeCommand, encodeCommand, type Command } from './dimse/command.js';
import { DEFAULT_PDU_LIMITS, decodePdu, encodePdu } from './pdu/codec.js';
import { DICOM_APPLICATION_CONTEXT, PduType, type AssociateRq, type Pdv, type PresentationContextRq } from './pdu/types.js';
import { openAssociation } from './scu.js';

const HOST = '127.0.0.1';
const AEC = 'RAMPART';
const VERIFICATION = '1.2.840.10008.1.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const STUDY_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';
/** The limit configured below for C-STORE data sets (storage.maxInstanceBytes). */
const MAX_INSTANCE = 1 << 20;
/** Our advertised maximum P-DATA-TF length (the default of dimse.maxPduLength). */
const MAX_PDU = 256 * 1024;
/** Every wait is bounded; ARTIM is 1 s, so anything the listener closes by itself closes well within this. */
const BOUND_MS = 15_000;

let t: TestNode;
let port: number, tlsPort: number;

// ----- a raw peer: bytes out, whole PDUs in -----

interface RawPdu { type: number; body: Buffer }

class RawPeer {
  private buf: Buffer = Buffer.alloc(0);
  private readonly pdus: RawPdu[] = [];
  closed = false;
  private wake: (() => void) | undefined;

  constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
      while (this.buf.length >= 6) {
        const len = this.buf.readUInt32BE(2);
        if (this.buf.length < 6 + len) break;
        this.pdus.push({ type: this.buf[0]!, body: Buffer.from(this.buf.subarray(6, 6 + len)) });
        this.buf = this.buf.subarray(6 + len);
      }
      this.wake?.();
    });
    socket.on('close', () => { this.closed = true; this.wake?.(); });
    socket.on('error', () => undefined); // EPIPE/ECONNRESET after the listener hangs up are expected
  }

  static open(o: { tls?: 'handshake' | 'raw'; localAddress?: string } = {}): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      if (o.tls === 'handshake') {
        const s = tlsConnect({ host: HOST, port: tlsPort, rejectUnauthorized: false }, () => resolve(new RawPeer(s)));
        s.once('error', reject);
      } else {
        const s = netConnect({ host: HOST, port: o.tls === 'raw' ? tlsPort : port, localAddress: o.localAddress }, () => resolve(new RawPeer(s)));
        s.once('error', reject);
      }
    });
  }

  write(b: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(b);
  }

  /** Writes one byte at a time, `gapMs` apart, until done or the listener closes the connection. */
  async trickle(b: Buffer, gapMs: number): Promise<void> {
    for (let i = 0; i < b.length && !this.closed; i++) {
      this.write(b.subarray(i, i + 1));
      await sleep(gapMs);
    }
  }

  /** The next whole PDU from the listener, or 'closed' when it closed the connection first. */
  async next(): Promise<RawPdu | 'closed'> {
    const deadline = Date.now() + BOUND_MS;
    for (;;) {
      if (this.pdus.length) return this.pdus.shift()!;
      if (this.closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the listener neither answered nor closed the connection');
      await new Promise<void>((r) => { this.wake = r; setTimeout(r, Math.min(left, 200)); });
      this.wake = undefined;
    }
  }

  /** Waits (bounded) until the listener closes the connection, skipping whatever it still sends. */
  async closedByListener(): Promise<void> {
    while ((await this.next()) !== 'closed');
  }

  /** Sends a good A-ASSOCIATE-RQ (or the one given) and requires an A-ASSOCIATE-AC. */
  async associate(rq: Buffer = encodePdu(goodRq())): Promise<void> {
    this.write(rq);
    const p = await this.next();
    if (p === 'closed' || p.type !== PduType.AssociateAc) throw new Error(`association not accepted: ${p === 'closed' ? 'closed' : `PDU 0x${p.type.toString(16)} ${p.body.toString('hex')}`}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ----- building PDUs: valid ones from the codec, then corrupted -----

const ctx = (id: number, abstractSyntax: string, transferSyntaxes = [EXPLICIT, IMPLICIT]): PresentationContextRq => ({ id, abstractSyntax, transferSyntaxes });

/** Context ids of the good request: 1 echo, 3 CT storage, 5 Study Root C-FIND, 7 an abstract syntax we refuse. */
const C_ECHO = 1, C_STORE = 3, C_FIND = 5, C_REFUSED = 7;

function goodRq(o: Partial<AssociateRq> = {}): AssociateRq {
  return {
    type: PduType.AssociateRq, protocolVersion: 1, calledAeTitle: AEC, callingAeTitle: 'GOOD',
    applicationContext: DICOM_APPLICATION_CONTEXT,
    contexts: [ctx(C_ECHO, VERIFICATION), ctx(C_STORE, CT, [EXPLICIT]), ctx(C_FIND, STUDY_FIND), ctx(C_REFUSED, '1.2.3.4.5')],
    userInfo: { maxPduLength: 16384, implementationClassUid: '1.2.826.0.1.3680043.9.7433.1', roles: [], extended: [] },
    ...o,
  };
}

/** An item or sub-item (PS3.8 9.3.2): type, reserved, 16-bit length, value. */
const item = (type: number, value: Buffer): Buffer => {
  const h = Buffer.from([type, 0, 0, 0]);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value]);
};
const header = (type: number, length: number): Buffer => {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(length >>> 0, 2);
  return h;
};
function splitItems(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < b.length;) {
    const len = b.readUInt16BE(p + 2);
    out.push(b.subarray(p, p + 4 + len));
    p += 4 + len;
  }
  return out;
}

/** An A-ASSOCIATE-RQ as its 68-byte fixed part and its top-level items, to corrupt and reassemble. */
interface RqParts { fixed: Buffer; items: Buffer[] }
function parts(rq: AssociateRq = goodRq()): RqParts {
  const pdu = encodePdu(rq);
  return { fixed: Buffer.from(pdu.subarray(6, 74)), items: splitItems(pdu.subarray(74)) };
}
function assemble(p: RqParts): Buffer {
  const body = Buffer.concat([p.fixed, ...p.items]);
  return Buffer.concat([header(PduType.AssociateRq, body.length), body]);
}
/** A good request with one change to its parts. */
function rqWith(change: (p: RqParts) => void, rq?: AssociateRq): Buffer {
  const p = parts(rq);
  change(p);
  return assemble(p);
}
const isItem = (type: number) => (b: Buffer) => b[0] === type;
/** Replaces the user information item's sub-items. */
function userInfoWith(change: (subs: Buffer[]) => Buffer[]): Buffer {
  return rqWith((p) => {
    const i = p.items.findIndex(isItem(0x50));
    p.items[i] = item(0x50, Buffer.concat(change(splitItems(p.items[i]!.subarray(4)))));
  });
}
/** Writes a raw 16-byte AE title field: called at fixed offset 4, calling at 20. */
function aeField(which: 'called' | 'calling', bytes: number[]): Buffer {
  return rqWith((p) => {
    const f = Buffer.alloc(16, 0x20);
    Buffer.from(bytes).copy(f);
    f.copy(p.fixed, which === 'called' ? 4 : 20);
  });
}

const pdata = (...pdvs: Pdv[]) => encodePdu({ type: PduType.PData, pdvs });
const cmdPdv = (contextId: number, c: Command | Buffer, isLast = true): Pdv => ({ contextId, isCommand: true, isLast, data: Buffer.isBuffer(c) ? c : encodeCommand(c) });
const dataPdv = (contextId: number, data: Buffer, isLast = true): Pdv => ({ contextId, isCommand: false, isLast, data });
const echoRq = (id = 1): Command => ({ commandField: 0x0030, messageId: id, affectedSopClassUid: VERIFICATION, hasDataSet: false });
const storeRq = (o: Partial<Command> = {}): Command => ({ commandField: 0x0001, messageId: 7, affectedSopClassUid: CT, affectedSopInstanceUid: '1.2.3.4.5.6.7', priority: 0, hasDataSet: true, ...o });
const findRq = (): Command => ({ commandField: 0x0020, messageId: 9, affectedSopClassUid: STUDY_FIND, priority: 0, hasDataSet: true });

/** A command set with one element left out (implicit VR little endian), its group length fixed. */
function commandWithout(c: Command, tag: number): Buffer {
  const b = encodeCommand(c);
  const kept: Buffer[] = [];
  for (let p = 12; p < b.length;) {
    const t = ((b.readUInt16LE(p) << 16) | b.readUInt16LE(p + 2)) >>> 0;
    const len = b.readUInt32LE(p + 4);
    if (t !== tag) kept.push(b.subarray(p, p + 8 + len));
    p += 8 + len;
  }
  const body = Buffer.concat(kept);
  const gl = Buffer.from(b.subarray(0, 12));
  gl.writeUInt32LE(body.length, 8);
  return Buffer.concat([gl, body]);
}

/** A P-DATA-TF with one PDV, patched after encoding (the codec refuses to encode bad values). */
function patchedPdata(pdv: Pdv, patch: (pdu: Buffer) => void): Buffer {
  const b = pdata(pdv);
  patch(b);
  return b;
}

/** Seeded garbage (mulberry32), so a failing case can be replayed. */
function garbage(seed: number, length: number): Buffer {
  let a = seed >>> 0;
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    b[i] = ((x ^ (x >>> 14)) >>> 0) & 0xff;
  }
  return b;
}

// ----- what the peer gets back -----

type Outcome =
  | { kind: 'rj'; result: number; source: number; reason: number }
  | { kind: 'abort'; source: number; reason: number }
  | { kind: 'ac' }
  | { kind: 'response'; commandField: number; status: number }
  | { kind: 'closed' }
  | { kind: 'other'; type: number };

const rj = (result: number, source: number, reason: number): Outcome => ({ kind: 'rj', result, source, reason });
const abort = (source: number, reason: number): Outcome => ({ kind: 'abort', source, reason });
/** PS3.8 9.3.8: an A-ABORT of source 0 (service-user) carries reason 00H, "not significant". */
const ABORT_USER = abort(0, 0);
/** Service-provider aborts (source 2) with their Table 9-26 reasons. */
const ABORT_UNRECOGNIZED_PDU = abort(2, 1);
const ABORT_UNEXPECTED_PDU = abort(2, 2);
const ABORT_UNEXPECTED_PARAMETER = abort(2, 5);
const ABORT_INVALID_PARAMETER = abort(2, 6);
const CLOSED: Outcome = { kind: 'closed' };
const AC: Outcome = { kind: 'ac' };
const response = (commandField: number, status: number): Outcome => ({ kind: 'response', commandField, status });

async function outcomeOf(p: RawPeer): Promise<Outcome> {
  const x = await p.next();
  if (x === 'closed') return CLOSED;
  switch (x.type) {
    case PduType.AssociateRj: return rj(x.body[1]!, x.body[2]!, x.body[3]!);
    case PduType.Abort: return abort(x.body[2]!, x.body[3]!);
    case PduType.AssociateAc: return AC;
    case PduType.PData: return responseIn(p, x);
    default: return { kind: 'other', type: x.type };
  }
}

/** Reads the command of the DIMSE response that starts in this P-DATA-TF. */
async function responseIn(p: RawPeer, first: RawPdu): Promise<Outcome> {
  const parts: Buffer[] = [];
  for (let pdu: RawPdu | 'closed' = first; ; pdu = await p.next()) {
    if (pdu === 'closed' || pdu.type !== PduType.PData) throw new Error('response interrupted');
    const d = decodePdu(pdu.type, pdu.body, DEFAULT_PDU_LIMITS);
    if (d.type !== PduType.PData) throw new Error('not P-DATA');
    for (const v of d.pdvs) {
      if (!v.isCommand) continue;
      parts.push(v.data);
      if (v.isLast) {
        const c = decodeCommand(Buffer.concat(parts));
        return response(c.commandField, c.status ?? -1);
      }
    }
  }
}

// ----- the table -----

interface Case {
  name: string;
  /** What the peer does; cases after association call p.associate() first. */
  run(p: RawPeer): Promise<void> | void;
  /** What it must get back; 'hangup' when the peer itself drops the connection and there is nothing to read. */
  expect: Outcome | 'abort-or-closed' | 'hangup';
  /** The peer ignores the answer and keeps the connection open: the listener must close it (ARTIM). */
  linger?: boolean;
  /** Bytes the lingering peer keeps sending after the answer. */
  lingerBytes?: Buffer;
  open?: { tls?: 'handshake' | 'raw' };
}

const established = (f: (p: RawPeer) => Promise<void> | void) => async (p: RawPeer) => { await p.associate(); await f(p); };
const send = (...bufs: Buffer[]) => (p: RawPeer) => { p.write(Buffer.concat(bufs)); };
const sendAfterAssociation = (...bufs: Buffer[]) => established((p) => p.write(Buffer.concat(bufs)));

const PARTIAL_RQ = encodePdu(goodRq()).subarray(0, 40);
const many = (n: number, f: (i: number) => PresentationContextRq) => Array.from({ length: n }, (_, i) => f(i));
const tsList = (n: number) => [EXPLICIT, ...Array.from({ length: n - 1 }, (_, i) => `1.2.826.0.1.3680043.9.7433.2.${i + 1}`)];

const cases: Case[] = [
  // -- unknown PDU types, before and after association
  ...[0x00, 0x08, 0x09, 0x10, 0x7f, 0x80, 0xff].map((type): Case => ({
    name: `unknown PDU type 0x${type.toString(16).padStart(2, '0')} before association`,
    run: send(header(type, 4), Buffer.alloc(4)), expect: ABORT_USER,
  })),
  ...[0x00, 0x08, 0xff].map((type): Case => ({
    name: `unknown PDU type 0x${type.toString(16).padStart(2, '0')} after association`,
    run: sendAfterAssociation(header(type, 4), Buffer.alloc(4)), expect: ABORT_UNRECOGNIZED_PDU,
  })),

  // -- declared lengths of the A-ASSOCIATE-RQ
  { name: 'A-ASSOCIATE-RQ declaring 0 bytes', run: send(header(1, 0)), expect: ABORT_USER },
  { name: 'A-ASSOCIATE-RQ body one byte short of its fixed part', run: send(header(1, 67), Buffer.alloc(67)), expect: ABORT_USER },
  { name: 'A-ASSOCIATE-RQ declaring one byte fewer than it holds', run: (p) => { const b = encodePdu(goodRq()); b.writeUInt32BE(b.length - 7, 2); p.write(b); }, expect: ABORT_USER },
  { name: 'A-ASSOCIATE-RQ declaring half of what it holds', run: (p) => { const b = encodePdu(goodRq()); b.writeUInt32BE((b.length - 6) >> 1, 2); p.write(b); }, expect: ABORT_USER },
  { name: 'A-ASSOCIATE-RQ declaring one byte more than it sends (ARTIM closes)', run: (p) => { const b = encodePdu(goodRq()); b.writeUInt32BE(b.length - 5, 2); p.write(b); }, expect: CLOSED },
  { name: 'A-ASSOCIATE-RQ declaring 1000 bytes more than it sends (ARTIM closes)', run: (p) => { const b = encodePdu(goodRq()); b.writeUInt32BE(b.length + 994, 2); p.write(b); }, expect: CLOSED },
  { name: 'A-ASSOCIATE-RQ declaring 64 KiB + 1', run: send(header(1, 65_537), Buffer.alloc(1024)), expect: ABORT_USER },
  {
    name: 'A-ASSOCIATE-RQ declaring 100 MB and streaming megabytes of it',
    run: async (p) => {
      p.write(header(1, 100_000_000));
      for (let i = 0; i < 64 && !p.closed; i++) { p.write(Buffer.alloc(64 * 1024, 0x41)); await sleep(1); }
    },
    expect: ABORT_USER,
  },
  { name: 'A-ASSOCIATE-RQ declaring 2 GiB', run: send(header(1, 0x80000000)), expect: ABORT_USER },
  { name: 'A-ASSOCIATE-RQ declaring 4 GiB - 1', run: send(header(1, 0xffffffff)), expect: ABORT_USER },
  { name: 'A-RELEASE-RQ declaring 4 GiB - 1 before association', run: send(header(5, 0xffffffff)), expect: ABORT_USER },

  // -- association negotiation: refused with A-ASSOCIATE-RJ (PS3.8 Table 9-21)
  { name: 'wrong called AE title', run: send(encodePdu(goodRq({ calledAeTitle: 'ANY-SCP' }))), expect: rj(1, 1, 7) },
  { name: 'wrong called AE title from an unknown calling AE title (says nothing of ours)', run: send(encodePdu(goodRq({ calledAeTitle: 'ANY-SCP', callingAeTitle: 'STRANGER' }))), expect: rj(1, 1, 3) },
  { name: 'called AE title in the wrong case', run: send(encodePdu(goodRq({ calledAeTitle: 'rampart' }))), expect: rj(1, 1, 7) },
  { name: 'unknown calling AE title', run: send(encodePdu(goodRq({ callingAeTitle: 'STRANGER' }))), expect: rj(1, 1, 3) },
  { name: 'registered calling AE title from another host', run: send(encodePdu(goodRq({ callingAeTitle: 'ELSEWHERE' }))), expect: rj(1, 1, 3) },
  { name: 'TLS-only peer over plain TCP', run: send(encodePdu(goodRq({ callingAeTitle: 'TLSONLY' }))), expect: rj(1, 1, 1) },
  { name: 'peer that must identify itself, without a user identity', run: send(encodePdu(goodRq({ callingAeTitle: 'WHO' }))), expect: rj(1, 1, 1) },
  {
    name: 'username and passcode over plain TCP',
    run: send(encodePdu(goodRq({ userInfo: { ...goodRq().userInfo, userIdentity: { type: 2, positiveResponseRequested: true, primaryField: Buffer.from('admin'), secondaryField: Buffer.from('guess') } } }))),
    expect: rj(1, 1, 1),
  },
  { name: 'application context other than DICOM', run: send(encodePdu(goodRq({ applicationContext: '1.2.3.4' }))), expect: rj(1, 1, 2) },

  // -- structurally invalid A-ASSOCIATE-RQ: the table's Evt19 in Sta2 (AA-1)
  { name: 'protocol version 0', run: send(rqWith((p) => p.fixed.writeUInt16BE(0, 0))), expect: ABORT_USER },
  { name: 'protocol version 2 (bit 0 clear)', run: send(rqWith((p) => p.fixed.writeUInt16BE(2, 0))), expect: ABORT_USER },
  { name: 'zero presentation contexts', run: send(encodePdu(goodRq({ contexts: [] }))), expect: ABORT_USER },
  {
    name: '129 presentation contexts',
    run: send(rqWith((p) => { const i = p.items.findIndex(isItem(0x50)); p.items.splice(i, 0, p.items[1]!); }, goodRq({ contexts: many(128, (i) => ctx(2 * i + 1, VERIFICATION)) }))),
    expect: ABORT_USER,
  },
  { name: '128 presentation contexts are accepted', run: send(encodePdu(goodRq({ contexts: many(128, (i) => ctx(2 * i + 1, VERIFICATION)) }))), expect: AC },
  { name: 'even presentation context id', run: send(rqWith((p) => { p.items[1]![4] = 2; })), expect: ABORT_USER },
  { name: 'presentation context id 0', run: send(rqWith((p) => { p.items[1]![4] = 0; })), expect: ABORT_USER },
  { name: 'duplicate presentation context id', run: send(rqWith((p) => { p.items[2]![4] = p.items[1]![4]!; })), expect: ABORT_USER },
  { name: '65 transfer syntaxes in one context', run: send(encodePdu(goodRq({ contexts: [ctx(1, VERIFICATION, tsList(65))] }))), expect: ABORT_USER },
  { name: '64 transfer syntaxes in one context are accepted', run: send(encodePdu(goodRq({ contexts: [ctx(1, VERIFICATION, tsList(64))] }))), expect: AC },
  { name: 'presentation context without an abstract syntax', run: send(rqWith((p) => { p.items[1] = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x40, Buffer.from(EXPLICIT))])); })), expect: ABORT_USER },
  { name: 'presentation context without a transfer syntax', run: send(rqWith((p) => { p.items[1] = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from(VERIFICATION))])); })), expect: ABORT_USER },
  { name: 'abstract syntax that is not a UID', run: send(rqWith((p) => { p.items[1] = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from('1.2.x')), item(0x40, Buffer.from(EXPLICIT))])); })), expect: ABORT_USER },
  { name: 'transfer syntax UID of 65 characters', run: send(rqWith((p) => { p.items[1] = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from(VERIFICATION)), item(0x40, Buffer.from('1.' + '2'.repeat(63)))])); })), expect: ABORT_USER },
  { name: 'unknown sub-item in a presentation context', run: send(rqWith((p) => { p.items[1] = Buffer.concat([p.items[1]!, item(0x31, Buffer.from('x'))]); p.items[1].writeUInt16BE(p.items[1].length - 4, 2); })), expect: ABORT_USER },
  { name: 'presentation context item of an A-ASSOCIATE-AC (0x21) in a request', run: send(rqWith((p) => { p.items[1]![0] = 0x21; })), expect: ABORT_USER },
  { name: 'unknown top-level item', run: send(rqWith((p) => p.items.push(item(0x60, Buffer.alloc(8))))), expect: ABORT_USER },
  { name: 'item length running past the PDU', run: send(rqWith((p) => { p.items[1]!.writeUInt16BE(0xffff, 2); })), expect: ABORT_USER },
  { name: 'no application context item', run: send(rqWith((p) => p.items.splice(0, 1))), expect: ABORT_USER },
  { name: 'two application context items', run: send(rqWith((p) => p.items.unshift(p.items[0]!))), expect: ABORT_USER },
  { name: 'missing user information', run: send(rqWith((p) => { p.items = p.items.filter((i) => !isItem(0x50)(i)); })), expect: ABORT_USER },
  { name: 'two user information items', run: send(rqWith((p) => p.items.push(p.items.find(isItem(0x50))!))), expect: ABORT_USER },
  { name: 'user information without a maximum length', run: send(userInfoWith((s) => s.filter((i) => !isItem(0x51)(i)))), expect: ABORT_USER },
  { name: 'maximum length sub-item of 3 bytes', run: send(userInfoWith((s) => [item(0x51, Buffer.alloc(3)), ...s.filter((i) => !isItem(0x51)(i))])), expect: ABORT_USER },
  { name: 'implementation class UID that is not a UID', run: send(userInfoWith((s) => [...s.filter((i) => !isItem(0x52)(i)), item(0x52, Buffer.from('not a uid'))])), expect: ABORT_USER },
  { name: 'role selection value 2', run: send(userInfoWith((s) => [...s, item(0x54, Buffer.concat([Buffer.from([0, CT.length]), Buffer.from(CT), Buffer.from([2, 1])]))])), expect: ABORT_USER },
  { name: 'user identity field over 8 KiB', run: send(userInfoWith((s) => [...s, item(0x58, Buffer.concat([Buffer.from([5, 0, 0x23, 0x29]), Buffer.alloc(9001, 0x61), Buffer.from([0, 0])]))])), expect: ABORT_USER },
  { name: 'user identity sub-item longer than its fields', run: send(userInfoWith((s) => [...s, item(0x58, Buffer.from([1, 0, 0, 1, 0x61, 0, 0, 0xee]))])), expect: ABORT_USER },

  // -- bad AE titles (PS3.5 AE: no control characters, no backslash, not all spaces)
  { name: 'called AE title all spaces', run: send(aeField('called', [])), expect: ABORT_USER },
  { name: 'calling AE title all spaces', run: send(aeField('calling', [])), expect: ABORT_USER },
  { name: 'calling AE title with a control character', run: send(aeField('calling', [0x47, 0x01, 0x44])), expect: ABORT_USER },
  { name: 'called AE title with a NUL inside', run: send(aeField('called', [0x52, 0x00, 0x4d])), expect: ABORT_USER },
  { name: 'calling AE title with a backslash', run: send(aeField('calling', [0x47, 0x5c, 0x44])), expect: ABORT_USER },
  { name: 'calling AE title with DEL', run: send(aeField('calling', [0x47, 0x7f])), expect: ABORT_USER },
  { name: 'calling AE title with a non-ASCII byte', run: send(aeField('calling', [0x47, 0xe9])), expect: ABORT_USER },

  // -- other PDUs before association (Sta2)
  { name: 'P-DATA-TF before association', run: send(pdata(cmdPdv(1, echoRq()))), expect: ABORT_USER },
  { name: 'A-RELEASE-RQ before association', run: send(encodePdu({ type: PduType.ReleaseRq })), expect: ABORT_USER },
  { name: 'A-RELEASE-RP before association', run: send(encodePdu({ type: PduType.ReleaseRp })), expect: ABORT_USER },
  { name: 'A-ASSOCIATE-AC sent to the acceptor', run: send(encodePdu({ type: PduType.AssociateAc, protocolVersion: 1, calledAeTitle: AEC, callingAeTitle: 'GOOD', applicationContext: DICOM_APPLICATION_CONTEXT, contexts: [{ id: 1, result: 0, transferSyntax: EXPLICIT }], userInfo: goodRq().userInfo })), expect: ABORT_USER },
  { name: 'A-ASSOCIATE-RJ sent to the acceptor', run: send(encodePdu({ type: PduType.AssociateRj, result: 1, source: 1, reason: 1 })), expect: ABORT_USER },
  { name: 'A-ABORT before association', run: send(encodePdu({ type: PduType.Abort, source: 0, reason: 0 })), expect: CLOSED },

  // -- while the listener decides (Sta3): nothing may be pipelined behind the request
  { name: 'P-DATA-TF pipelined behind the A-ASSOCIATE-RQ', run: send(encodePdu(goodRq()), pdata(cmdPdv(1, echoRq()))), expect: ABORT_UNEXPECTED_PDU },
  { name: 'two A-ASSOCIATE-RQ back to back', run: send(encodePdu(goodRq()), encodePdu(goodRq())), expect: ABORT_UNEXPECTED_PDU },
  { name: 'A-RELEASE-RQ pipelined behind the A-ASSOCIATE-RQ', run: send(encodePdu(goodRq()), encodePdu({ type: PduType.ReleaseRq })), expect: ABORT_UNEXPECTED_PDU },
  { name: 'A-ABORT pipelined behind the A-ASSOCIATE-RQ', run: send(encodePdu(goodRq()), encodePdu({ type: PduType.Abort, source: 0, reason: 0 })), expect: CLOSED },

  // -- after association (Sta6): PDU and PDV framing
  { name: 'second A-ASSOCIATE-RQ after acceptance', run: sendAfterAssociation(encodePdu(goodRq())), expect: ABORT_UNEXPECTED_PDU },
  { name: 'A-ASSOCIATE-AC after acceptance', run: sendAfterAssociation(encodePdu({ type: PduType.AssociateAc, protocolVersion: 1, calledAeTitle: AEC, callingAeTitle: 'GOOD', applicationContext: DICOM_APPLICATION_CONTEXT, contexts: [{ id: 1, result: 0, transferSyntax: EXPLICIT }], userInfo: goodRq().userInfo })), expect: ABORT_UNEXPECTED_PDU },
  { name: 'A-ASSOCIATE-RJ after acceptance', run: sendAfterAssociation(encodePdu({ type: PduType.AssociateRj, result: 1, source: 1, reason: 1 })), expect: ABORT_UNEXPECTED_PDU },
  { name: 'A-RELEASE-RP after acceptance', run: sendAfterAssociation(encodePdu({ type: PduType.ReleaseRp })), expect: ABORT_UNEXPECTED_PDU },
  { name: 'A-RELEASE-RQ declaring 5 bytes', run: sendAfterAssociation(header(5, 5), Buffer.alloc(5)), expect: ABORT_INVALID_PARAMETER },
  { name: 'A-RELEASE-RQ declaring 0 bytes', run: sendAfterAssociation(header(5, 0)), expect: ABORT_INVALID_PARAMETER },
  { name: 'A-ABORT declaring 2 bytes', run: sendAfterAssociation(header(7, 2), Buffer.alloc(2)), expect: ABORT_INVALID_PARAMETER },
  { name: 'A-ABORT from the peer after acceptance', run: sendAfterAssociation(encodePdu({ type: PduType.Abort, source: 0, reason: 0 })), expect: CLOSED },
  { name: 'P-DATA-TF declaring 4 GiB - 1', run: sendAfterAssociation(header(4, 0xffffffff)), expect: ABORT_INVALID_PARAMETER },
  { name: 'P-DATA-TF over our advertised maximum length', run: sendAfterAssociation(header(4, MAX_PDU + 7), Buffer.alloc(1024)), expect: ABORT_INVALID_PARAMETER },
  { name: 'P-DATA-TF with no PDV', run: sendAfterAssociation(header(4, 0)), expect: ABORT_INVALID_PARAMETER },
  { name: 'P-DATA-TF too short for a PDV header', run: sendAfterAssociation(header(4, 3), Buffer.alloc(3)), expect: ABORT_INVALID_PARAMETER },
  { name: 'PDV longer than its PDU', run: sendAfterAssociation(patchedPdata(cmdPdv(1, echoRq()), (b) => b.writeUInt32BE(b.readUInt32BE(6) + 100, 6))), expect: ABORT_INVALID_PARAMETER },
  { name: 'PDV item length under 2', run: sendAfterAssociation(patchedPdata(cmdPdv(1, echoRq()), (b) => b.writeUInt32BE(1, 6))), expect: ABORT_INVALID_PARAMETER },
  { name: 'PDV on an even presentation context id', run: sendAfterAssociation(patchedPdata(cmdPdv(1, echoRq()), (b) => { b[10] = 2; })), expect: ABORT_INVALID_PARAMETER },
  { name: 'PDV on a presentation context never proposed', run: sendAfterAssociation(pdata(cmdPdv(99, echoRq()))), expect: ABORT_INVALID_PARAMETER },
  { name: 'PDV on a presentation context that was not accepted', run: sendAfterAssociation(pdata(cmdPdv(C_REFUSED, echoRq()))), expect: ABORT_INVALID_PARAMETER },

  // -- after association: DIMSE messages
  { name: 'data PDV with no command', run: sendAfterAssociation(pdata(dataPdv(C_STORE, Buffer.alloc(64)))), expect: ABORT_UNEXPECTED_PARAMETER },
  { name: 'command set that does not parse', run: sendAfterAssociation(pdata(cmdPdv(1, Buffer.from([0, 0, 0, 1, 0xf0, 0xff, 0xff, 0x0f, 1, 2])))), expect: ABORT_INVALID_PARAMETER },
  { name: 'empty command set', run: sendAfterAssociation(pdata(cmdPdv(1, Buffer.alloc(0)))), expect: ABORT_INVALID_PARAMETER },
  { name: 'command set with an element outside group 0000', run: sendAfterAssociation(pdata(cmdPdv(1, Buffer.concat([encodeCommand(echoRq()), Buffer.from([0x08, 0, 0x16, 0, 2, 0, 0, 0, 0x31, 0])])))), expect: ABORT_INVALID_PARAMETER },
  { name: 'command with no Command Field', run: sendAfterAssociation(pdata(cmdPdv(1, commandWithout(echoRq(), 0x00000100)))), expect: ABORT_INVALID_PARAMETER },
  { name: 'command with no Command Data Set Type', run: sendAfterAssociation(pdata(cmdPdv(1, commandWithout(echoRq(), 0x00000800)))), expect: ABORT_INVALID_PARAMETER },
  {
    name: 'command set over 64 KiB in fragments',
    run: sendAfterAssociation(...Array.from({ length: 5 }, () => pdata(cmdPdv(1, Buffer.alloc(16_000), false)))),
    expect: ABORT_INVALID_PARAMETER,
  },
  { name: 'command fragments on two presentation contexts', run: sendAfterAssociation(pdata(cmdPdv(1, encodeCommand(echoRq()).subarray(0, 20), false)), pdata(cmdPdv(3, encodeCommand(echoRq()).subarray(20)))), expect: ABORT_UNEXPECTED_PARAMETER },
  { name: 'a new command before the data set of the last one ended', run: sendAfterAssociation(pdata(cmdPdv(C_STORE, storeRq()), dataPdv(C_STORE, Buffer.alloc(100), false)), pdata(cmdPdv(1, echoRq(2)))), expect: ABORT_UNEXPECTED_PARAMETER },
  { name: 'data set on another presentation context than its command', run: sendAfterAssociation(pdata(cmdPdv(C_STORE, storeRq()), dataPdv(1, Buffer.alloc(100)))), expect: ABORT_UNEXPECTED_PARAMETER },
  { name: 'a response to no request of ours', run: sendAfterAssociation(pdata(cmdPdv(1, { commandField: 0x8030, messageIdBeingRespondedTo: 1, affectedSopClassUid: VERIFICATION, status: 0, hasDataSet: false }))), expect: ABORT_UNEXPECTED_PARAMETER },
  { name: 'unknown command field', run: sendAfterAssociation(pdata(cmdPdv(1, { ...echoRq(), commandField: 0x0055 }))), expect: response(0x8055, 0xc000) },
  { name: 'C-ECHO naming another SOP class than its context', run: sendAfterAssociation(pdata(cmdPdv(1, { ...echoRq(), affectedSopClassUid: CT }))), expect: response(0x8030, 0x0122) },
  { name: 'C-FIND on the verification context', run: sendAfterAssociation(pdata(cmdPdv(1, { ...findRq(), affectedSopClassUid: VERIFICATION }), dataPdv(1, Buffer.alloc(0)))), expect: response(0x8020, 0xc000) },
  { name: 'C-STORE without an Affected SOP Instance UID', run: sendAfterAssociation(pdata(cmdPdv(C_STORE, commandWithout(storeRq(), 0x00001000)), dataPdv(C_STORE, Buffer.alloc(64)))), expect: response(0x8001, 0xc000) },
  { name: 'C-STORE whose data set does not parse', run: sendAfterAssociation(pdata(cmdPdv(C_STORE, storeRq()), dataPdv(C_STORE, garbage(7, 300)))), expect: response(0x8001, 0xc000) },
  {
    name: 'C-STORE with a data set larger than the limit',
    run: sendAfterAssociation(pdata(cmdPdv(C_STORE, storeRq())), ...Array.from({ length: 12 }, (_, i) => pdata(dataPdv(C_STORE, Buffer.alloc(128 * 1024, 0x20), i === 11)))),
    expect: response(0x8001, 0xa700),
  },
  { name: 'C-FIND whose identifier does not parse', run: sendAfterAssociation(pdata(cmdPdv(C_FIND, findRq()), dataPdv(C_FIND, garbage(11, 40)))), expect: response(0x8020, 0xa900) },
  { name: 'C-CANCEL of nothing, then C-ECHO', run: sendAfterAssociation(pdata(cmdPdv(1, { commandField: 0x0fff, messageIdBeingRespondedTo: 42, hasDataSet: false })), pdata(cmdPdv(1, echoRq(3)))), expect: response(0x8030, 0) },
  { name: 'A-RELEASE-RQ in the middle of a data set', run: sendAfterAssociation(pdata(cmdPdv(C_STORE, storeRq()), dataPdv(C_STORE, Buffer.alloc(100), false)), encodePdu({ type: PduType.ReleaseRq })), expect: ABORT_UNEXPECTED_PDU },

  // -- peers that ignore the answer, or keep talking after it
  { name: 'peer that ignores the A-ASSOCIATE-RJ and stays connected', run: send(encodePdu(goodRq({ callingAeTitle: 'STRANGER' }))), expect: rj(1, 1, 3), linger: true },
  { name: 'peer that ignores the A-ABORT and stays connected', run: send(header(0xff, 0)), expect: ABORT_USER, linger: true },
  { name: 'peer that keeps sending garbage after the A-ABORT', run: sendAfterAssociation(header(0xff, 0)), expect: ABORT_UNRECOGNIZED_PDU, linger: true, lingerBytes: garbage(3, 4096) },

  // -- slow, silent and half-open connections
  { name: 'connection that never sends anything (ARTIM closes)', run: () => undefined, expect: CLOSED },
  { name: 'A-ASSOCIATE-RQ a byte at a time (ARTIM closes)', run: (p) => p.trickle(encodePdu(goodRq()), 50), expect: CLOSED },
  { name: 'one byte, then silence (ARTIM closes)', run: send(Buffer.from([1])), expect: CLOSED },
  { name: 'half of an A-ASSOCIATE-RQ, then half-close', run: (p) => { p.write(PARTIAL_RQ); p.socket.end(); }, expect: CLOSED },
  { name: 'half of an A-ASSOCIATE-RQ, then reset', run: (p) => { p.write(PARTIAL_RQ); p.socket.resetAndDestroy(); }, expect: 'hangup' },
  { name: 'connect and reset at once', run: (p) => { p.socket.resetAndDestroy(); }, expect: 'hangup' },
  { name: 'half-close after acceptance without release', run: established((p) => { p.socket.end(); }), expect: CLOSED },
  { name: 'reset after acceptance without release', run: established((p) => { p.socket.resetAndDestroy(); }), expect: 'hangup' },
  { name: 'reset in the middle of a C-STORE data set', run: established((p) => { p.write(pdata(cmdPdv(C_STORE, storeRq()), dataPdv(C_STORE, Buffer.alloc(5000), false))); p.socket.resetAndDestroy(); }), expect: 'hangup' },

  // -- the TLS port
  { name: 'plain A-ASSOCIATE-RQ on the TLS port', open: { tls: 'raw' }, run: send(encodePdu(goodRq())), expect: CLOSED },
  { name: 'TLS port: connection that never starts the handshake', open: { tls: 'raw' }, run: () => undefined, expect: CLOSED },
  { name: 'TLS port: handshake, then silence (ARTIM closes)', open: { tls: 'handshake' }, run: () => undefined, expect: CLOSED },
  { name: 'TLS port: handshake, then an unknown PDU', open: { tls: 'handshake' }, run: send(header(0x42, 0)), expect: ABORT_USER },

  // -- random garbage (seeded)
  ...[1, 2, 3, 4, 5, 6].map((seed): Case => ({ name: `random garbage before association (seed ${seed})`, run: send(garbage(seed, 64 + seed * 300)), expect: 'abort-or-closed' })),
  ...[21, 22, 23].map((seed): Case => ({ name: `random garbage after association, then half-close (seed ${seed})`, run: established((p) => { p.write(garbage(seed, 2000)); p.socket.end(); }), expect: 'abort-or-closed' })),
];

// ----- the checks after every case -----

async function goodEcho(): Promise<number> {
  const a = await openAssociation({ host: HOST, port, callingAeTitle: 'GOOD', calledAeTitle: AEC, contexts: [ctx(1, VERIFICATION)] });
  let status = -1;
  for await (const m of a.request(1, echoRq())) status = m.command.status ?? -1;
  await a.release();
  return status;
}

async function runCase(c: Case): Promise<void> {
  const p = await RawPeer.open(c.open);
  try {
    await c.run(p);
    if (c.expect !== 'hangup') {
      const got = await outcomeOf(p);
      if (c.expect === 'abort-or-closed') expect(['abort', 'closed'], JSON.stringify(got)).toContain(got.kind);
      else expect(got).toEqual(c.expect);
      if (got.kind === 'response' || got.kind === 'ac') {
        // The association survived the bad operation: a C-ECHO on it still works, then it releases.
        p.write(pdata(cmdPdv(1, echoRq(77))));
        expect(await outcomeOf(p)).toEqual(response(0x8030, 0));
        p.write(encodePdu({ type: PduType.ReleaseRq }));
        const rp = await p.next();
        expect(rp === 'closed' ? 'closed' : rp.type).toBe(PduType.ReleaseRp);
      } else if (c.linger && got.kind !== 'closed') {
        if (c.lingerBytes) p.write(c.lingerBytes);
        await p.closedByListener(); // bounded: ARTIM must close it
      }
    }
  } finally {
    p.socket.destroy();
  }
  // (1) still up and listening, (2) a registered peer still gets its C-ECHO, (3) nothing leaked.
  expect(t.dimse!.servers.every((s) => s.listening)).toBe(true);
  await waitFor('the listener to drop the hostile association', () => t.dimse!.active() === 0);
  expect(await goodEcho()).toBe(0);
  await waitFor('the C-ECHO association to close', () => t.dimse!.active() === 0);
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}
let heapBefore = 0;

beforeAll(async () => {
  t = await startTestNode({ 'dimse.artimSeconds': 1, 'storage.maxInstanceBytes': MAX_INSTANCE }, { dimse: true });
  port = t.dimse!.ports.tcp!;
  tlsPort = t.dimse!.ports.tls!;
  const now = new Date().toISOString();
  const peer = { host: HOST, port: 1, tls: false, certFingerprint: null, requireIdentity: false, createdAt: now };
  await t.node.peers.addPeer({ ...peer, aeTitle: 'GOOD', allow: ['echo', 'store', 'find'] });
  await t.node.peers.addPeer({ ...peer, aeTitle: 'ELSEWHERE', host: '127.0.0.99', allow: ['echo'] });
  await t.node.peers.addPeer({ ...peer, aeTitle: 'TLSONLY', tls: true, allow: ['echo'] });
  await t.node.peers.addPeer({ ...peer, aeTitle: 'WHO', requireIdentity: true, allow: ['echo'] });
  expect(await goodEcho()).toBe(0);
  await waitFor('the warm-up association to close', () => t.dimse!.active() === 0);
  heapBefore = heapAfterGc();
});
afterAll(async () => {
  await t?.stop();
});

it('has a table of at least 60 hostile cases with distinct names', () => {
  expect(cases.length).toBeGreaterThanOrEqual(60);
  expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
});

for (const round of [1, 2, 3]) {
  describe(`round ${round}`, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await runCase(c);
    });

    it('still answers DCMTK echoscu from a registered peer', async () => {
      const r = await dcmtk('echoscu', ['-v', '-aet', 'GOOD', '-aec', AEC, HOST, String(port)]);
      expect(r.out).toMatch(/Received Echo Response \(Success\)/);
      await waitFor('echoscu association to close', () => t.dimse!.active() === 0);
    });
  });
}

it('does not grow the heap over three rounds of the table', () => {
  const grown = heapAfterGc() - heapBefore;
  expect(grown, `heap grew by ${(grown / 1048576).toFixed(1)} MB`).toBeLessThan(30 * 1024 * 1024);
});

// The PDU framer: whole PDUs out of arbitrary socket chunks, and oversized or unknown PDUs
// refused from their 6-byte header, before their body is buffered.
import { describe, expect, it } from 'vitest';
import { encodePdu, pdataPduHeader } from './codec.js';
import { PDATA_LENGTH_SLACK, PduFramer } from './framer.js';
import { AbortReason, PduError, PduType, type Pdu } from './types.js';

const limits = { maxPduLength: 16384, maxAssociateLength: 65536 };
const header = (type: number, length: number) => { const h = Buffer.alloc(6); h[0] = type; h.writeUInt32BE(length, 2); return h; };

const rq = encodePdu({
  type: PduType.AssociateRq,
  protocolVersion: 1,
  calledAeTitle: 'ANY-SCP',
  callingAeTitle: 'ECHOSCU',
  applicationContext: '1.2.840.10008.3.1.1.1',
  contexts: [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }],
  userInfo: { maxPduLength: 16384, implementationClassUid: '1.2.3', roles: [], extended: [] },
});
const pdata = (n: number, fill = 1) => encodePdu({ type: PduType.PData, pdvs: [{ contextId: 1, isCommand: false, isLast: true, data: Buffer.alloc(n, fill) }] });
const release = encodePdu({ type: PduType.ReleaseRq });
const abort = encodePdu({ type: PduType.Abort, source: 2, reason: 6 } as Pdu);

function drain(f: PduFramer): { type: number; body: Buffer }[] {
  const out = [];
  for (let p = f.next(); p; p = f.next()) out.push(p);
  return out;
}
function reasonOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PduError);
    return (e as PduError).reason;
  }
  return undefined;
}

describe('PduFramer', () => {
  it('yields a PDU pushed one byte at a time only once its last byte arrives', () => {
    const f = new PduFramer(limits);
    for (let i = 0; i < rq.length - 1; i++) {
      f.push(rq.subarray(i, i + 1));
      expect(f.next()).toBeUndefined();
    }
    expect(f.buffered()).toBe(rq.length - 1);
    f.push(rq.subarray(rq.length - 1));
    expect(f.next()).toEqual({ type: 1, body: rq.subarray(6) });
    expect(f.next()).toBeUndefined();
    expect(f.buffered()).toBe(0);
  });

  it('yields several PDUs that arrive in one chunk, in order, and keeps the partial tail', () => {
    const f = new PduFramer(limits);
    const tail = pdata(100);
    f.push(Buffer.concat([rq, pdata(10), release, abort, tail.subarray(0, 20)]));
    expect(drain(f).map((p) => [p.type, p.body.length])).toEqual([[1, rq.length - 6], [4, 16], [5, 4], [7, 4]]);
    expect(f.buffered()).toBe(20);
    f.push(tail.subarray(20));
    expect(f.next()).toEqual({ type: 4, body: tail.subarray(6) });
  });

  it('returns a view, not a copy, when a PDU lies within one chunk', () => {
    const f = new PduFramer(limits);
    const chunk = Buffer.concat([pdata(500), release]);
    f.push(chunk);
    const p = f.next()!;
    expect(p.body.buffer).toBe(chunk.buffer);
    expect(p.body.byteOffset).toBe(chunk.byteOffset + 6);
  });

  it('reassembles a stream cut at seeded random places into the same PDUs', () => {
    const pdus = [rq, pdata(1), pdata(16384, 3), release, pdata(7000, 5), abort];
    const stream = Buffer.concat(pdus);
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 50; round++) {
      const f = new PduFramer(limits);
      const got: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = 1 + Math.floor(random() * (round % 2 ? 40 : 9000));
        f.push(stream.subarray(at, at + n));
        at += n;
        for (const p of drain(f)) got.push(Buffer.concat([header(p.type, p.body.length), p.body]));
      }
      expect(got.map((b) => b.length)).toEqual(pdus.map((b) => b.length));
      expect(Buffer.concat(got).equals(stream)).toBe(true);
    }
  });

  it('stays linear over a large PDU delivered in 1-byte chunks', () => {
    const big = pdata(16000);
    const f = new PduFramer(limits);
    const started = Date.now();
    for (let i = 0; i < big.length; i++) f.push(big.subarray(i, i + 1));
    expect(f.next()!.body).toEqual(big.subarray(6));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('accepts a P-DATA-TF at the advertised maximum plus the slack', () => {
    const f = new PduFramer({ maxPduLength: 1000, maxAssociateLength: 65536 });
    f.push(pdataPduHeader(1, false, true, 1000 + PDATA_LENGTH_SLACK - 6));
    f.push(Buffer.alloc(1000));
    expect(f.next()!.body.length).toBe(1000 + PDATA_LENGTH_SLACK);
  });

  it.each([
    ['P-DATA-TF over maxPduLength plus slack', header(4, 16384 + PDATA_LENGTH_SLACK + 1)],
    ['P-DATA-TF declaring 4 GiB', header(4, 0xffffffff)],
    ['A-ASSOCIATE-RQ over maxAssociateLength', header(1, 65537)],
    ['A-ASSOCIATE-AC over maxAssociateLength', header(2, 1 << 30)],
    ['A-ASSOCIATE-RJ of 5 bytes', header(3, 5)],
    ['A-RELEASE-RQ of 5 bytes', header(5, 5)],
    ['A-RELEASE-RP of 100 bytes', header(6, 100)],
    ['A-ABORT of 8 bytes', header(7, 8)],
  ])('refuses %s from its header, before its body arrives', (_name, h) => {
    const f = new PduFramer(limits);
    f.push(h.subarray(0, 5));
    expect(reasonOf(() => f.push(h.subarray(5)))).toBe(AbortReason.InvalidPduParameterValue);
    expect(f.buffered()).toBe(0); // nothing of the refused body is held
  });

  it.each([0x00, 0x08, 0x47, 0xff])('refuses unknown PDU type %i as an unrecognized PDU', (type) => {
    const f = new PduFramer(limits);
    expect(reasonOf(() => f.push(header(type, 4)))).toBe(AbortReason.UnrecognizedPdu);
  });

  it('refuses a bad header that follows a good PDU in the same chunk, after yielding the good one', () => {
    const f = new PduFramer(limits);
    f.push(Buffer.concat([release, header(0x09, 4)]));
    expect(f.next()!.type).toBe(5);
    expect(reasonOf(() => f.next())).toBe(AbortReason.UnrecognizedPdu);
  });

  it('keeps failing once it has refused a PDU', () => {
    const f = new PduFramer(limits);
    expect(reasonOf(() => f.push(header(4, 1 << 24)))).toBe(AbortReason.InvalidPduParameterValue);
    expect(reasonOf(() => f.next())).toBe(AbortReason.InvalidPduParameterValue);
    expect(reasonOf(() => f.push(release))).toBe(AbortReason.InvalidPduParameterValue);
  });

  it('yields an empty body for a zero length, and ignores empty chunks', () => {
    const f = new PduFramer(limits);
    f.push(Buffer.alloc(0));
    expect(f.next()).toBeUndefined();
    f.push(header(4, 0));
    expect(f.next()).toEqual({ type: 4, body: Buffer.alloc(0) });
  });

  it('needs real bounds', () => {
    expect(() => new PduFramer({ maxPduLength: 0, maxAssociateLength: 65536 })).toThrow(RangeError);
  });
});

// The PDU codec: round trips of every PDU and item, DCMTK's echoscu request byte for byte, and
// hostile input (every malformed case is a PduError carrying the A-ABORT reason, never a crash).
import { describe, expect, it } from 'vitest';
import { DEFAULT_PDU_LIMITS, decodePdu, encodePdu, pdataPduHeader, pduHeader, pdvHeader, type PduLimits } from './codec.js';
import { AbortReason, PduError, PduType, type AssociateAc, type AssociateRq, type Pdu } from './types.js';

// --- byte builders, written from PS3.8 9.3 independently of the encoder ---------------------
const ascii = (s: string) => Buffer.from(s, 'latin1');
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
/** An item or sub-item: type, reserved, 16-bit length (or a forced one), value. */
const itm = (type: number, ...parts: Buffer[]) => { const v = Buffer.concat(parts); return Buffer.concat([Buffer.of(type, 0), u16(v.length), v]); };
const itmLen = (type: number, length: number, ...parts: Buffer[]) => Buffer.concat([Buffer.of(type, 0), u16(length), ...parts]);
const aeField = (s: string) => ascii(s.padEnd(16, ' '));

const VERIFICATION = '1.2.840.10008.1.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const CT_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const appCtx = itm(0x10, ascii('1.2.840.10008.3.1.1.1'));
const pc = (id: number, abs: Buffer | null = ascii(VERIFICATION), tss: Buffer[] = [ascii(IMPLICIT_LE)]) =>
  itm(0x20, Buffer.of(id, 0, 0, 0), ...(abs ? [itm(0x30, abs)] : []), ...tss.map((t) => itm(0x40, t)));
const pcAc = (id: number, result: number, ts: Buffer[] = [ascii(IMPLICIT_LE)]) => itm(0x21, Buffer.of(id, 0, result, 0), ...ts.map((t) => itm(0x40, t)));
const maxLen = (n = 16384) => itm(0x51, u32(n));
const implUid = itm(0x52, ascii('1.2.3.4'));
const ui = (...subs: Buffer[]) => itm(0x50, ...subs);
const okUi = ui(maxLen(), implUid);
const identity = (primary: number, secondary: number) => itm(0x58, Buffer.of(2, 1), u16(primary), Buffer.alloc(primary, 0x61), u16(secondary), Buffer.alloc(secondary, 0x62));
const role = (uid: Buffer, scu = 1, scp = 0) => itm(0x54, u16(uid.length), uid, Buffer.of(scu, scp));
const ext = (uid: Buffer) => itm(0x56, u16(uid.length), uid, Buffer.of(1, 0, 1));

/** A-ASSOCIATE-RQ/AC body: version, reserved, called, calling, 32 reserved, then items. */
function assoc(items: Buffer[], o: { version?: number; called?: Buffer; calling?: Buffer } = {}): Buffer {
  return Buffer.concat([u16(o.version ?? 1), Buffer.alloc(2), o.called ?? aeField('STORESCP'), o.calling ?? aeField('MODALITY'), Buffer.alloc(32), ...items]);
}
const rq = (items: Buffer[] = [appCtx, pc(1), okUi], o: Parameters<typeof assoc>[1] = {}) => assoc(items, o);
const ac = (items: Buffer[] = [appCtx, pcAc(1, 0), okUi]) => assoc(items);
const manyContexts = (n: number) => Array.from({ length: n }, (_, i) => pc((2 * i + 1) % 256 || 1));
const pdv = (ctx: number, mch: number, data: Buffer, length = data.length + 2) => Buffer.concat([u32(length), Buffer.of(ctx, mch), data]);

const decode = (type: number, body: Buffer, limits: PduLimits = DEFAULT_PDU_LIMITS) => decodePdu(type, body, limits);
const roundTrip = (p: Pdu) => {
  const bytes = encodePdu(p);
  expect(bytes[0]).toBe(p.type);
  expect(bytes.readUInt32BE(2)).toBe(bytes.length - 6);
  return decode(bytes[0]!, bytes.subarray(6));
};

const richRq: AssociateRq = {
  type: PduType.AssociateRq,
  protocolVersion: 1,
  calledAeTitle: 'RAMPART',
  callingAeTitle: 'CT 01',
  applicationContext: '1.2.840.10008.3.1.1.1',
  contexts: [
    { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
    { id: 3, abstractSyntax: CT_STORAGE, transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE, '1.2.840.10008.1.2.4.50'] },
    { id: 255, abstractSyntax: '1.2.840.10008.5.1.4.1.2.2.1', transferSyntaxes: [IMPLICIT_LE] },
  ],
  userInfo: {
    maxPduLength: 65536,
    implementationClassUid: '1.2.826.0.1.3680043.9.3811.2.0',
    implementationVersionName: 'PYNETDICOM_200',
    asyncOps: { invoked: 3, performed: 1 },
    roles: [{ sopClassUid: CT_STORAGE, scuRole: true, scpRole: true }, { sopClassUid: VERIFICATION, scuRole: false, scpRole: true }],
    extended: [{ sopClassUid: '1.2.840.10008.5.1.4.1.2.2.1', info: Buffer.of(1, 1, 0) }],
    userIdentity: { type: 5, positiveResponseRequested: true, primaryField: Buffer.from('eyJhbGciOiJFUzI1NiJ9.e30.c2ln'), secondaryField: Buffer.alloc(0) },
  },
};

const richAc: AssociateAc = {
  type: PduType.AssociateAc,
  protocolVersion: 1,
  calledAeTitle: 'RAMPART',
  callingAeTitle: 'CT 01',
  applicationContext: '1.2.840.10008.3.1.1.1',
  contexts: [
    { id: 1, result: 0, transferSyntax: IMPLICIT_LE },
    { id: 3, result: 0, transferSyntax: EXPLICIT_LE },
    { id: 5, result: 1, transferSyntax: IMPLICIT_LE },
    { id: 7, result: 2, transferSyntax: IMPLICIT_LE },
    { id: 9, result: 3, transferSyntax: '' },
    { id: 11, result: 4, transferSyntax: IMPLICIT_LE },
  ],
  userInfo: {
    maxPduLength: 0,
    implementationClassUid: '2.25.248155166137843612916830126530486210934',
    implementationVersionName: 'RAMPART_010',
    asyncOps: { invoked: 1, performed: 1 },
    roles: [{ sopClassUid: CT_STORAGE, scuRole: false, scpRole: true }],
    extended: [{ sopClassUid: CT_STORAGE, info: Buffer.of(2) }],
    userIdentityResponse: Buffer.from('server-token'),
  },
};

describe('round trips', () => {
  it('keeps every field of an A-ASSOCIATE-RQ with every item and sub-item', () => {
    expect(roundTrip(richRq)).toEqual(richRq);
  });
  it('keeps every field of an A-ASSOCIATE-AC with every result and the user identity response', () => {
    expect(roundTrip(richAc)).toEqual(richAc);
  });
  it('keeps a username and passcode identity (type 2) with both fields', () => {
    const p: AssociateRq = { ...richRq, userInfo: { ...richRq.userInfo, userIdentity: { type: 2, positiveResponseRequested: false, primaryField: Buffer.from('alice'), secondaryField: Buffer.from('s3cret') } } };
    expect(roundTrip(p)).toEqual(p);
  });
  it('keeps an A-ASSOCIATE-AC with an empty user identity response', () => {
    const p: AssociateAc = { ...richAc, userInfo: { ...richAc.userInfo, userIdentityResponse: Buffer.alloc(0) } };
    // An empty response is still sent (0x59 with length 0); it decodes as an empty buffer.
    expect(encodePdu(p).includes(hex('59 00 00 02 00 00'))).toBe(true);
    expect(roundTrip(p)).toEqual(p);
  });
  it('keeps a minimal A-ASSOCIATE-RQ (no optional sub-items)', () => {
    const p: AssociateRq = { ...richRq, contexts: [richRq.contexts[0]!], userInfo: { maxPduLength: 16384, implementationClassUid: '1.2.3', roles: [], extended: [] } };
    expect(roundTrip(p)).toEqual(p);
  });
  it.each([
    { type: PduType.AssociateRj, result: 1, source: 1, reason: 7 },
    { type: PduType.AssociateRj, result: 2, source: 3, reason: 1 },
    { type: PduType.ReleaseRq },
    { type: PduType.ReleaseRp },
    { type: PduType.Abort, source: 0, reason: 0 },
    { type: PduType.Abort, source: 2, reason: AbortReason.InvalidPduParameterValue },
  ] as Pdu[])('keeps %o', (p) => {
    expect(roundTrip(p)).toEqual(p);
  });
  it('keeps a P-DATA-TF with several PDVs, every control header combination and an empty fragment', () => {
    const p: Pdu = {
      type: PduType.PData,
      pdvs: [
        { contextId: 1, isCommand: true, isLast: false, data: Buffer.from('cmd-part') },
        { contextId: 1, isCommand: true, isLast: true, data: Buffer.from('cmd-end') },
        { contextId: 3, isCommand: false, isLast: false, data: Buffer.alloc(0) },
        { contextId: 255, isCommand: false, isLast: true, data: Buffer.alloc(1000, 7) },
      ],
    };
    const bytes = encodePdu(p);
    expect(bytes.subarray(6, 12)).toEqual(hex('0000000a 01 01')); // PDV length 10, context 1, command not last
    expect(roundTrip(p)).toEqual(p);
  });
  it('writes a one-PDV P-DATA-TF header that, followed by the data, equals the encoded PDU', () => {
    const data = Buffer.alloc(300, 0x42);
    const head = pdataPduHeader(5, false, true, data.length);
    expect(head).toEqual(hex('04 00 00000132 0000012e 05 02'));
    expect(Buffer.concat([head, data])).toEqual(encodePdu({ type: PduType.PData, pdvs: [{ contextId: 5, isCommand: false, isLast: true, data }] }));
    expect(Buffer.concat([pduHeader(4, 306), pdvHeader(5, false, true, 300)])).toEqual(head);
  });
  it('refuses to encode what cannot be sent', () => {
    expect(() => encodePdu({ ...richRq, calledAeTitle: 'SEVENTEEN_CHARS_X' })).toThrow(RangeError);
    expect(() => encodePdu({ ...richRq, callingAeTitle: '   ' })).toThrow(RangeError);
    expect(() => encodePdu({ ...richRq, contexts: [{ id: 2, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] })).toThrow(RangeError);
    expect(() => encodePdu({ ...richRq, applicationContext: '1.2.x' })).toThrow(RangeError);
    expect(() => pdataPduHeader(4, false, false, 10)).toThrow(RangeError);
  });
});

describe('what peers send that is valid', () => {
  // DCMTK 3.6.7 `echoscu 127.0.0.1 PORT`, laid out from PS3.8 Tables 9-11 to 9-16 and PS3.7 D.3.3.
  const echoscuRq = Buffer.concat([
    hex('01 00 000000cd'), // PDU header: type 0x01 A-ASSOCIATE-RQ, reserved, body length 205
    hex('0001 0000'), // protocol version (bit 0: version 1), 2 reserved bytes
    ascii('ANY-SCP         '), // called AE title, space-padded to 16
    ascii('ECHOSCU         '), // calling AE title, space-padded to 16
    Buffer.alloc(32), // 32 reserved bytes
    hex('10 00 0015'), ascii('1.2.840.10008.3.1.1.1'), // application context item, 21 bytes: the DICOM application context
    hex('20 00 002e'), // presentation context item (RQ), 46 bytes
    hex('01 00 ff 00'), //   context id 1, reserved, reserved (DCMTK sends 0xff there), reserved
    hex('30 00 0011'), ascii(VERIFICATION), //   abstract syntax sub-item, 17 bytes: Verification SOP Class
    hex('40 00 0011'), ascii(IMPLICIT_LE), //   transfer syntax sub-item, 17 bytes: Implicit VR Little Endian
    hex('50 00 003a'), // user information item, 58 bytes
    hex('51 00 0004 00004000'), //   maximum length sub-item: 16384
    hex('52 00 001b'), ascii('1.2.276.0.7230010.3.0.3.6.7'), //   implementation class UID, 27 bytes (no padding)
    hex('55 00 000f'), ascii('OFFIS_DCMTK_367'), //   implementation version name, 15 bytes
  ]);
  const expected: AssociateRq = {
    type: PduType.AssociateRq,
    protocolVersion: 1,
    calledAeTitle: 'ANY-SCP',
    callingAeTitle: 'ECHOSCU',
    applicationContext: '1.2.840.10008.3.1.1.1',
    contexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    userInfo: { maxPduLength: 16384, implementationClassUid: '1.2.276.0.7230010.3.0.3.6.7', implementationVersionName: 'OFFIS_DCMTK_367', roles: [], extended: [] },
  };

  it('matches the bytes echoscu 3.6.7 was seen to send on the wire', () => {
    expect(echoscuRq.toString('hex')).toBe(
      '0100000000cd00010000414e592d5343502020202020202020204543484f534355202020202020202020' + '00'.repeat(32) +
        '10000015312e322e3834302e31303030382e332e312e312e3120' + '00002e0100ff0030000011312e322e3834302e31303030382e312e31' +
        '40000011312e322e3834302e31303030382e312e325000003a5100000400004000' + '5200001b312e322e3237362e302e373233303031302e332e302e332e362e37' +
        '5500000f4f464649535f44434d544b5f333637',
    );
  });
  it("decodes echoscu's A-ASSOCIATE-RQ", () => {
    expect(decode(echoscuRq[0]!, echoscuRq.subarray(6))).toEqual(expected);
  });
  it("encodes the same request to echoscu's bytes (reserved fields as zero)", () => {
    const zeroed = Buffer.from(echoscuRq);
    zeroed[105] = 0; // the reserved byte DCMTK fills with 0xff
    expect(encodePdu(expected)).toEqual(zeroed);
  });
  it('strips the trailing NUL or space some peers put after UIDs, and trims AE title spaces', () => {
    const body = rq([itm(0x10, ascii('1.2.840.10008.3.1.1.1\0')), pc(1, ascii(`${VERIFICATION}\0`), [ascii(`${IMPLICIT_LE} `)]), okUi], { called: ascii('  STORE SCP     '), calling: ascii('ABCDEFGHIJKLMNOP') });
    const p = decode(1, body) as AssociateRq;
    expect(p.applicationContext).toBe('1.2.840.10008.3.1.1.1');
    expect(p.contexts[0]).toEqual({ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] });
    expect([p.calledAeTitle, p.callingAeTitle]).toEqual(['STORE SCP', 'ABCDEFGHIJKLMNOP']);
  });
  it('skips user information sub-items it does not know (0x57 common extended negotiation, 0x70)', () => {
    const p = decode(1, rq([appCtx, pc(1), ui(maxLen(), itm(0x57, u16(3), ascii('1.2'), u16(0), u16(0)), itm(0x70, ascii('future')), implUid)])) as AssociateRq;
    expect(p.userInfo).toEqual({ maxPduLength: 16384, implementationClassUid: '1.2.3.4', roles: [], extended: [] });
  });
  it('ignores reserved fields and items in any order', () => {
    const body = rq([okUi, itm(0x20, Buffer.of(1, 0xff, 0xff, 0xff), itm(0x40, ascii(IMPLICIT_LE)), itm(0x30, ascii(VERIFICATION))), appCtx]);
    body.fill(0xee, 2, 4);
    body.fill(0xdd, 36, 68);
    expect((decode(1, body) as AssociateRq).contexts).toHaveLength(1);
  });
  it('accepts 128 presentation contexts with 64 transfer syntaxes, and identity fields at the limit', () => {
    const tss = Array.from({ length: 64 }, (_, i) => ascii(`1.2.${i}`));
    const p = decode(1, rq([appCtx, ...Array.from({ length: 128 }, (_, i) => pc(2 * i + 1, ascii(VERIFICATION), i === 0 ? tss : undefined)), ui(maxLen(), identity(8192, 8192))])) as AssociateRq;
    expect(p.contexts).toHaveLength(128);
    expect(p.contexts[0]!.transferSyntaxes).toHaveLength(64);
    expect(p.userInfo.userIdentity!.primaryField.length).toBe(8192);
  });
  it('accepts an A-ASSOCIATE-AC whose rejected contexts omit the transfer syntax, and AE titles it must not test', () => {
    const body = assoc([appCtx, pcAc(1, 3, []), pcAc(3, 0), okUi]);
    body.fill(0, 4, 20); // called AE echoed as NULs: "shall not be tested" in an AC
    const p = decode(2, body) as AssociateAc;
    expect(p.contexts).toEqual([{ id: 1, result: 3, transferSyntax: '' }, { id: 3, result: 0, transferSyntax: IMPLICIT_LE }]);
  });
  it('returns PDV data as views into the body, without copying', () => {
    const body = pdv(1, 2, Buffer.from('hello'));
    const p = decode(4, body);
    expect(p.type === PduType.PData && p.pdvs[0]!.data.buffer).toBe(body.buffer);
  });
});

// --- malformed input --------------------------------------------------------------------------
const { UnrecognizedPdu, UnrecognizedPduParameter, UnexpectedPduParameter, InvalidPduParameterValue: Invalid } = AbortReason;
const limit = (o: Partial<PduLimits>): PduLimits => ({ ...DEFAULT_PDU_LIMITS, ...o });
const longUid = '1.' + '2'.repeat(63); // 65 characters

type Case = [name: string, type: number, body: Buffer, reason: number, limits?: PduLimits];
const malformed: Case[] = [
  // PDU types and fixed-size bodies
  ['unknown PDU type 0x00', 0x00, Buffer.alloc(4), UnrecognizedPdu],
  ['unknown PDU type 0x08', 0x08, Buffer.alloc(4), UnrecognizedPdu],
  ['unknown PDU type 0xff', 0xff, Buffer.alloc(0), UnrecognizedPdu],
  ['A-RELEASE-RQ body of 0 bytes', 5, Buffer.alloc(0), Invalid],
  ['A-RELEASE-RQ body of 5 bytes', 5, Buffer.alloc(5), Invalid],
  ['A-RELEASE-RP body of 3 bytes', 6, Buffer.alloc(3), Invalid],
  ['A-RELEASE-RP body of 8 bytes', 6, Buffer.alloc(8), Invalid],
  ['A-ABORT body of 0 bytes', 7, Buffer.alloc(0), Invalid],
  ['A-ABORT body of 6 bytes', 7, Buffer.alloc(6), Invalid],
  ['A-ASSOCIATE-RJ body of 3 bytes', 3, Buffer.alloc(3), Invalid],
  ['A-ASSOCIATE-RJ body of 5 bytes', 3, Buffer.alloc(5), Invalid],
  // the fixed part of A-ASSOCIATE
  ['A-ASSOCIATE-RQ body of 0 bytes', 1, Buffer.alloc(0), Invalid],
  ['A-ASSOCIATE-RQ body of 67 bytes', 1, rq().subarray(0, 67), Invalid],
  ['A-ASSOCIATE-AC body of 10 bytes', 2, ac().subarray(0, 10), Invalid],
  ['protocol version 0', 1, rq(undefined, { version: 0 }), Invalid],
  ['protocol version 2 (bit 0 clear)', 1, rq(undefined, { version: 2 }), Invalid],
  ['A-ASSOCIATE-AC with protocol version 0', 2, assoc([appCtx, pcAc(1, 0), okUi], { version: 0 }), Invalid],
  // AE titles
  ['called AE title all spaces', 1, rq(undefined, { called: aeField('') }), Invalid],
  ['calling AE title all spaces', 1, rq(undefined, { calling: aeField('') }), Invalid],
  ['called AE title all NULs', 1, rq(undefined, { called: Buffer.alloc(16) }), Invalid],
  ['calling AE title with a control character', 1, rq(undefined, { calling: aeField('CT\x0101') }), Invalid],
  ['calling AE title with a NUL inside', 1, rq(undefined, { calling: aeField('CT\x0001') }), Invalid],
  ['called AE title padded with NULs', 1, rq(undefined, { called: Buffer.concat([ascii('STORESCP'), Buffer.alloc(8)]) }), Invalid],
  ['called AE title with a backslash', 1, rq(undefined, { called: aeField('STORE\\SCP') }), Invalid],
  ['calling AE title with a line feed', 1, rq(undefined, { calling: aeField('CT\n01') }), Invalid],
  ['calling AE title with ESC', 1, rq(undefined, { calling: aeField('\x1b[31mCT') }), Invalid],
  ['calling AE title with DEL', 1, rq(undefined, { calling: aeField('CT\x7f') }), Invalid],
  ['calling AE title with a byte over 0x7f', 1, rq(undefined, { calling: aeField('CT\xe901') }), Invalid],
  // items of A-ASSOCIATE
  ['no application context item', 1, rq([pc(1), okUi]), Invalid],
  ['two application context items', 1, rq([appCtx, appCtx, pc(1), okUi]), UnexpectedPduParameter],
  ['application context name not a UID', 1, rq([itm(0x10, ascii('dicom')), pc(1), okUi]), Invalid],
  ['empty application context name', 1, rq([itm(0x10), pc(1), okUi]), Invalid],
  ['no user information item', 1, rq([appCtx, pc(1)]), Invalid],
  ['two user information items', 1, rq([appCtx, pc(1), okUi, okUi]), UnexpectedPduParameter],
  ['A-ASSOCIATE-AC without user information', 2, ac([appCtx, pcAc(1, 0)]), Invalid],
  ['unknown item type 0x60', 1, rq([appCtx, pc(1), itm(0x60, ascii('x')), okUi]), UnrecognizedPduParameter],
  ['unknown item type 0x00', 1, rq([appCtx, pc(1), okUi, itm(0x00)]), UnrecognizedPduParameter],
  ['an AC presentation context item (0x21) in an RQ', 1, rq([appCtx, pc(1), pcAc(3, 0), okUi]), UnexpectedPduParameter],
  ['an RQ presentation context item (0x20) in an AC', 2, ac([appCtx, pc(1), okUi]), UnexpectedPduParameter],
  ['item length past the PDU', 1, rq([appCtx, pc(1), itmLen(0x50, 200, maxLen(), implUid)]), Invalid],
  ['item header cut after 2 bytes', 1, rq([appCtx, pc(1), okUi, Buffer.of(0x50, 0)]), Invalid],
  ['item header cut after 3 bytes', 1, rq([appCtx, pc(1), okUi, Buffer.of(0x10, 0, 0)]), Invalid],
  // presentation contexts
  ['zero presentation contexts', 1, rq([appCtx, okUi]), Invalid],
  ['129 presentation contexts', 1, rq([appCtx, ...manyContexts(129), okUi]), Invalid],
  ['more presentation contexts than the configured limit', 1, rq([appCtx, ...manyContexts(5), okUi]), Invalid, limit({ maxContexts: 4 })],
  ['even presentation context id', 1, rq([appCtx, pc(2), okUi]), Invalid],
  ['presentation context id 0', 1, rq([appCtx, pc(0), okUi]), Invalid],
  ['duplicate presentation context id', 1, rq([appCtx, pc(3), pc(5), pc(3), okUi]), Invalid],
  ['presentation context item shorter than its 4 fixed bytes', 1, rq([appCtx, itm(0x20, Buffer.of(1, 0, 0)), okUi]), Invalid],
  ['missing abstract syntax', 1, rq([appCtx, pc(1, null), okUi]), Invalid],
  ['two abstract syntaxes', 1, rq([appCtx, itm(0x20, Buffer.of(1, 0, 0, 0), itm(0x30, ascii(VERIFICATION)), itm(0x30, ascii(CT_STORAGE)), itm(0x40, ascii(IMPLICIT_LE))), okUi]), Invalid],
  ['no transfer syntax', 1, rq([appCtx, pc(1, ascii(VERIFICATION), []), okUi]), Invalid],
  ['65 transfer syntaxes', 1, rq([appCtx, pc(1, ascii(VERIFICATION), Array.from({ length: 65 }, () => ascii(IMPLICIT_LE))), okUi]), Invalid],
  ['more transfer syntaxes than the configured limit', 1, rq([appCtx, pc(1, ascii(VERIFICATION), [ascii(IMPLICIT_LE), ascii(EXPLICIT_LE), ascii('1.2.3')]), okUi]), Invalid, limit({ maxTransferSyntaxes: 2 })],
  ['unknown sub-item in a presentation context', 1, rq([appCtx, itm(0x20, Buffer.of(1, 0, 0, 0), itm(0x30, ascii(VERIFICATION)), itm(0x31, ascii('x')), itm(0x40, ascii(IMPLICIT_LE))), okUi]), UnrecognizedPduParameter],
  ['abstract syntax sub-item length past its item', 1, rq([appCtx, itm(0x20, Buffer.of(1, 0, 0, 0), itmLen(0x30, 40, ascii(VERIFICATION))), okUi]), Invalid],
  // UIDs
  ['empty abstract syntax UID', 1, rq([appCtx, pc(1, ascii('')), okUi]), Invalid],
  ['empty transfer syntax UID', 1, rq([appCtx, pc(1, ascii(VERIFICATION), [ascii('')]), okUi]), Invalid],
  ['UID of NULs only', 1, rq([appCtx, pc(1, Buffer.alloc(4)), okUi]), Invalid],
  ['UID of 65 characters', 1, rq([appCtx, pc(1, ascii(longUid)), okUi]), Invalid],
  ['UID of 300 characters', 1, rq([appCtx, pc(1, ascii('1.'.repeat(150))), okUi]), Invalid],
  ['UID with a letter', 1, rq([appCtx, pc(1, ascii('1.2.840.10008.1.a')), okUi]), Invalid],
  ['UID with a leading dot', 1, rq([appCtx, pc(1, ascii('.1.2')), okUi]), Invalid],
  ['UID with two dots together', 1, rq([appCtx, pc(1, ascii('1..2')), okUi]), Invalid],
  ['UID with a space inside', 1, rq([appCtx, pc(1, ascii(VERIFICATION), [ascii('1.2 .3')]), okUi]), Invalid],
  ['UID with a path', 1, rq([appCtx, pc(1, ascii('../../etc/passwd')), okUi]), Invalid],
  ['implementation class UID not a UID', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x52, ascii('OFFIS')))]), Invalid],
  // user information
  ['no maximum length sub-item', 1, rq([appCtx, pc(1), ui(implUid)]), Invalid],
  ['empty user information item', 1, rq([appCtx, pc(1), ui()]), Invalid],
  ['maximum length sub-item of 2 bytes', 1, rq([appCtx, pc(1), ui(itm(0x51, u16(1)), implUid)]), Invalid],
  ['two maximum length sub-items', 1, rq([appCtx, pc(1), ui(maxLen(), maxLen(), implUid)]), UnexpectedPduParameter],
  ['two implementation class UIDs', 1, rq([appCtx, pc(1), ui(maxLen(), implUid, implUid)]), UnexpectedPduParameter],
  ['sub-item length past its user information item', 1, rq([appCtx, pc(1), ui(maxLen(), itmLen(0x52, 30, ascii('1.2.3')))]), Invalid],
  ['asynchronous operations window of 3 bytes', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x53, Buffer.of(0, 1, 0)))]), Invalid],
  ['implementation version name of 17 characters', 1, rq([appCtx, pc(1), ui(maxLen(), implUid, itm(0x55, ascii('ABCDEFGHIJKLMNOPQ')))]), Invalid],
  ['implementation version name with a control character', 1, rq([appCtx, pc(1), ui(maxLen(), implUid, itm(0x55, ascii('V1\r\n')))]), Invalid],
  ['129 role selection sub-items', 1, rq([appCtx, pc(1), ui(maxLen(), ...Array.from({ length: 129 }, () => role(ascii(CT_STORAGE))))]), Invalid],
  ['role selection value 2', 1, rq([appCtx, pc(1), ui(maxLen(), role(ascii(CT_STORAGE), 2, 0))]), Invalid],
  ['role selection UID length past its sub-item', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x54, u16(40), ascii(CT_STORAGE), Buffer.of(1, 0)))]), Invalid],
  ['role selection with trailing bytes', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x54, u16(3), ascii('1.2'), Buffer.of(1, 0, 9)))]), Invalid],
  ['role selection without its role bytes', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x54, u16(3), ascii('1.2')))]), Invalid],
  ['129 extended negotiation sub-items', 1, rq([appCtx, pc(1), ui(maxLen(), ...Array.from({ length: 129 }, () => ext(ascii(CT_STORAGE))))]), Invalid],
  ['extended negotiation with an invalid SOP class UID', 1, rq([appCtx, pc(1), ui(maxLen(), ext(ascii('1.2.x')))]), Invalid],
  // user identity
  ['user identity primary field over the limit', 1, rq([appCtx, pc(1), ui(maxLen(), identity(8193, 0))]), Invalid],
  ['user identity secondary field over the limit', 1, rq([appCtx, pc(1), ui(maxLen(), identity(5, 8193))]), Invalid],
  ['user identity over a configured limit of 16', 1, rq([appCtx, pc(1), ui(maxLen(), identity(17, 0))]), Invalid, limit({ maxIdentityBytes: 16 })],
  ['user identity primary length past its sub-item', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x58, Buffer.of(1, 0), u16(50), ascii('alice'), u16(0)))]), Invalid],
  ['user identity without its secondary length', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x58, Buffer.of(1, 0), u16(5), ascii('alice')))]), Invalid],
  ['user identity with trailing bytes', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x58, Buffer.of(1, 0), u16(1), ascii('a'), u16(0), ascii('zz')))]), Invalid],
  ['two user identity sub-items', 1, rq([appCtx, pc(1), ui(maxLen(), identity(3, 3), identity(3, 3))]), UnexpectedPduParameter],
  ['user identity response (0x59) in an RQ', 1, rq([appCtx, pc(1), ui(maxLen(), itm(0x59, u16(0)))]), UnexpectedPduParameter],
  ['user identity request (0x58) in an AC', 2, ac([appCtx, pcAc(1, 0), ui(maxLen(), identity(3, 0))]), UnexpectedPduParameter],
  ['user identity response over the limit', 2, ac([appCtx, pcAc(1, 0), ui(maxLen(), itm(0x59, u16(8193), Buffer.alloc(8193)))]), Invalid],
  // A-ASSOCIATE-AC presentation contexts
  ['accepted AC context without a transfer syntax', 2, ac([appCtx, pcAc(1, 0, []), okUi]), Invalid],
  ['accepted AC context with an invalid transfer syntax', 2, ac([appCtx, pcAc(1, 0, [ascii('x')]), okUi]), Invalid],
  ['AC context with two transfer syntaxes', 2, ac([appCtx, pcAc(1, 0, [ascii(IMPLICIT_LE), ascii(EXPLICIT_LE)]), okUi]), UnexpectedPduParameter],
  ['AC context result 5', 2, ac([appCtx, pcAc(1, 5), okUi]), Invalid],
  ['AC context id even', 2, ac([appCtx, pcAc(4, 0), okUi]), Invalid],
  ['AC context ids duplicated', 2, ac([appCtx, pcAc(1, 0), pcAc(1, 3), okUi]), Invalid],
  // P-DATA-TF
  ['P-DATA-TF with no PDV', 4, Buffer.alloc(0), Invalid],
  ['PDV longer than its PDU', 4, pdv(1, 0, Buffer.alloc(10), 50), Invalid],
  ['second PDV longer than what remains', 4, Buffer.concat([pdv(1, 0, Buffer.alloc(4)), pdv(1, 2, Buffer.alloc(4), 7)]), Invalid],
  ['PDV item length 1', 4, pdv(1, 0, Buffer.alloc(0), 1), Invalid],
  ['PDV item length 0', 4, Buffer.concat([u32(0), Buffer.of(1, 0)]), Invalid],
  ['PDV item length 0xffffffff', 4, pdv(1, 0, Buffer.alloc(8), 0xffffffff), Invalid],
  ['PDV with an even context id', 4, pdv(2, 0, Buffer.alloc(4)), Invalid],
  ['PDV with context id 0', 4, pdv(0, 3, Buffer.alloc(4)), Invalid],
  ['PDV length field cut short', 4, Buffer.concat([pdv(1, 0, Buffer.alloc(4)), Buffer.of(0, 0, 0)]), Invalid],
  ['P-DATA-TF over the advertised maximum plus slack', 4, pdv(1, 0, Buffer.alloc(1001)), Invalid, limit({ maxPduLength: 1000 })],
];

describe('malformed PDUs', () => {
  it(`covers at least 60 cases (${malformed.length})`, () => {
    expect(malformed.length).toBeGreaterThanOrEqual(60);
  });
  it.each(malformed)('rejects %s', (_name, type, body, reason, limits) => {
    let error: unknown;
    try {
      decode(type, body, limits);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PduError);
    expect((error as PduError).reason, (error as Error).message).toBe(reason);
  });
  it('the bases the cases mutate are themselves valid', () => {
    expect(decode(1, rq()).type).toBe(PduType.AssociateRq);
    expect(decode(2, ac()).type).toBe(PduType.AssociateAc);
    expect(decode(1, rq([appCtx, pc(1), ui(maxLen(), identity(8192, 8192), role(ascii(CT_STORAGE)), ext(ascii(CT_STORAGE)))])).type).toBe(1);
    expect(decode(4, pdv(1, 0, Buffer.alloc(1000)), limit({ maxPduLength: 1000 })).type).toBe(PduType.PData);
  });

  const validRq = encodePdu(richRq).subarray(6);
  const validAc = encodePdu(richAc).subarray(6);
  it('rejects every truncation of a valid A-ASSOCIATE-RQ and -AC with a PduError', () => {
    for (const [type, body] of [[1, validRq], [2, validAc]] as const) {
      for (let n = 0; n < body.length; n++) {
        expect(() => decode(type, body.subarray(0, n)), `prefix of ${n} bytes`).toThrow(PduError);
      }
    }
  });
  it('survives 2,000 seeded random byte flips of a valid A-ASSOCIATE-RQ: a PduError or a valid decode', () => {
    const random = mulberry32(0x5eed);
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const body = Buffer.from(validRq);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(random() * body.length);
        body[at] = body[at]! ^ (1 + Math.floor(random() * 255));
      }
      try {
        const p = decode(1, body) as AssociateRq;
        expect(p.contexts.length).toBeGreaterThan(0);
      } catch (e) {
        if (!(e instanceof PduError)) throw new Error(`iteration ${i}: ${String(e)}`);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(500);
  });
});

/** A small seeded PRNG so the fuzz cases are the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

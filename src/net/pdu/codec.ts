// Encodes and decodes the upper-layer PDUs of PS3.8 section 9.3 with the user information
// sub-items of PS3.7 Annex D.3.3. Pure: bytes in, values out. Decoding is strict and bounded:
// every length is checked against what remains, and any violation is a PduError whose reason
// is the A-ABORT reason (PS3.8 Table 9-26) the association should be aborted with.
import { isPlausibleUid } from '../../dicom/uid.js';
import { PDATA_LENGTH_SLACK } from './framer.js';
import {
  AbortReason,
  PduError,
  PduType,
  type Abort,
  type AssociateAc,
  type AssociateRj,
  type AssociateRq,
  type ExtendedNegotiation,
  type PData,
  type Pdu,
  type Pdv,
  type PresentationContextAc,
  type PresentationContextRq,
  type RoleSelection,
  type UserIdentityRq,
  type UserInformation,
} from './types.js';

// The framer lives in framer.ts; re-exported so the upper layer has one place to import from.
export { DEFAULT_MAX_ASSOCIATE_LENGTH, PDATA_LENGTH_SLACK, PduFramer, type FramerLimits } from './framer.js';

export interface PduLimits {
  /** The P-DATA-TF body length we advertised (0 = unchecked here; the framer bounds it). */
  maxPduLength: number;
  /** Presentation contexts in one A-ASSOCIATE (PS3.8 allows at most 128: odd ids 1..255). */
  maxContexts: number;
  /** Transfer syntaxes proposed in one presentation context. */
  maxTransferSyntaxes: number;
  /** Each user identity field (PS3.7 D.3.3.7), and the server response. JWTs can be long. */
  maxIdentityBytes: number;
}

export const DEFAULT_PDU_LIMITS: Readonly<PduLimits> = Object.freeze({
  maxPduLength: 262_144,
  maxContexts: 128,
  maxTransferSyntaxes: 64,
  maxIdentityBytes: 8192,
});


/** Role selection and extended negotiation sub-items per A-ASSOCIATE (one per SOP class). */
const MAX_PER_SOP_CLASS_ITEMS = 128;

const ItemType = {
  ApplicationContext: 0x10,
  PresentationContextRq: 0x20,
  PresentationContextAc: 0x21,
  AbstractSyntax: 0x30,
  TransferSyntax: 0x40,
  UserInformation: 0x50,
  MaxLength: 0x51,
  ImplementationClassUid: 0x52,
  AsyncOpsWindow: 0x53,
  RoleSelection: 0x54,
  ImplementationVersionName: 0x55,
  ExtendedNegotiation: 0x56,
  UserIdentityRq: 0x58,
  UserIdentityAc: 0x59,
} as const;

/** The fixed part of an A-ASSOCIATE-RQ/AC body: version, reserved, two AE titles, 32 reserved. */
const ASSOCIATE_FIXED_LENGTH = 68;

// ---------------------------------------------------------------------------------------------
// Encoding. Inputs come from our own code, so a value that cannot be encoded is a RangeError.

/** The 6-byte PDU header (PS3.8 9.3.1): type, reserved, 32-bit big-endian body length. */
export function pduHeader(type: number, bodyLength: number): Buffer {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(bodyLength, 2);
  return h;
}

/** The 6-byte PDV item header (PS3.8 9.3.5.1, Annex E.2): length, context id, control header. */
export function pdvHeader(contextId: number, isCommand: boolean, isLast: boolean, dataLength: number): Buffer {
  const h = Buffer.alloc(6);
  writePdvHeader(h, 0, contextId, isCommand, isLast, dataLength);
  return h;
}

/**
 * The 12 bytes that precede the data of a P-DATA-TF holding exactly one PDV: write these, then
 * the data slice, and no fragment has to be copied into a new buffer.
 */
export function pdataPduHeader(contextId: number, isCommand: boolean, isLast: boolean, dataLength: number): Buffer {
  const h = Buffer.alloc(12);
  h[0] = PduType.PData;
  h.writeUInt32BE(dataLength + 6, 2);
  writePdvHeader(h, 6, contextId, isCommand, isLast, dataLength);
  return h;
}

/** Bytes a one-PDV P-DATA-TF adds around its data (PDU header + PDV header). */
export const PDATA_OVERHEAD = 12;

function writePdvHeader(h: Buffer, at: number, contextId: number, isCommand: boolean, isLast: boolean, dataLength: number): void {
  checkContextId(contextId);
  if (!Number.isInteger(dataLength) || dataLength < 0 || dataLength > 0xffffffff - 6) throw new RangeError(`PDV data length ${dataLength}`);
  h.writeUInt32BE(dataLength + 2, at);
  h[at + 4] = contextId;
  h[at + 5] = (isCommand ? 1 : 0) | (isLast ? 2 : 0);
}

export function encodePdu(p: Pdu): Buffer {
  let body: Buffer;
  switch (p.type) {
    case PduType.AssociateRq:
    case PduType.AssociateAc:
      body = encodeAssociate(p);
      break;
    case PduType.AssociateRj:
      body = Buffer.from([0, byte(p.result), byte(p.source), byte(p.reason)]);
      break;
    case PduType.PData: {
      const parts: Buffer[] = [];
      for (const v of p.pdvs) parts.push(pdvHeader(v.contextId, v.isCommand, v.isLast, v.data.length), v.data);
      body = Buffer.concat(parts);
      break;
    }
    case PduType.ReleaseRq:
    case PduType.ReleaseRp:
      body = Buffer.alloc(4);
      break;
    case PduType.Abort:
      body = Buffer.from([0, 0, byte(p.source), byte(p.reason)]);
      break;
    default:
      throw new RangeError(`unknown PDU type ${(p as { type: unknown }).type}`);
  }
  return Buffer.concat([pduHeader(p.type, body.length), body]);
}

function encodeAssociate(p: AssociateRq | AssociateAc): Buffer {
  const fixed = Buffer.alloc(ASSOCIATE_FIXED_LENGTH);
  fixed.writeUInt16BE(p.protocolVersion, 0);
  fixed.write(aeTitleField(p.calledAeTitle), 4, 'latin1');
  fixed.write(aeTitleField(p.callingAeTitle), 20, 'latin1');
  const items: Buffer[] = [fixed, item(ItemType.ApplicationContext, uidBytes(p.applicationContext))];
  if (p.type === PduType.AssociateRq) {
    for (const pc of p.contexts) {
      checkContextId(pc.id);
      const subs = [item(ItemType.AbstractSyntax, uidBytes(pc.abstractSyntax))];
      for (const ts of pc.transferSyntaxes) subs.push(item(ItemType.TransferSyntax, uidBytes(ts)));
      items.push(item(ItemType.PresentationContextRq, Buffer.concat([Buffer.from([pc.id, 0, 0, 0]), ...subs])));
    }
  } else {
    for (const pc of p.contexts) {
      checkContextId(pc.id);
      // When not accepted the transfer syntax "shall not be significant", but the item is sent.
      const ts = pc.result === 0 ? uidBytes(pc.transferSyntax) : Buffer.from(pc.transferSyntax, 'latin1');
      items.push(item(ItemType.PresentationContextAc, Buffer.concat([Buffer.from([pc.id, 0, byte(pc.result), 0]), item(ItemType.TransferSyntax, ts)])));
    }
  }
  items.push(item(ItemType.UserInformation, encodeUserInfo(p.userInfo, p.type)));
  return Buffer.concat(items);
}

function encodeUserInfo(u: UserInformation, pduType: number): Buffer {
  const maxLen = Buffer.alloc(4);
  maxLen.writeUInt32BE(u.maxPduLength);
  const subs = [item(ItemType.MaxLength, maxLen)];
  if (u.implementationClassUid !== '') subs.push(item(ItemType.ImplementationClassUid, uidBytes(u.implementationClassUid)));
  if (u.asyncOps) {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(u.asyncOps.invoked, 0);
    b.writeUInt16BE(u.asyncOps.performed, 2);
    subs.push(item(ItemType.AsyncOpsWindow, b));
  }
  for (const r of u.roles) {
    subs.push(item(ItemType.RoleSelection, Buffer.concat([withLength16(uidBytes(r.sopClassUid)), Buffer.from([r.scuRole ? 1 : 0, r.scpRole ? 1 : 0])])));
  }
  if (u.implementationVersionName !== undefined && u.implementationVersionName !== '') {
    const name = Buffer.from(u.implementationVersionName, 'latin1');
    if (name.length > 16) throw new RangeError('implementation version name longer than 16');
    subs.push(item(ItemType.ImplementationVersionName, name));
  }
  for (const x of u.extended) subs.push(item(ItemType.ExtendedNegotiation, Buffer.concat([withLength16(uidBytes(x.sopClassUid)), x.info])));
  if (pduType === PduType.AssociateRq && u.userIdentity) {
    const id = u.userIdentity;
    const head = Buffer.from([byte(id.type), id.positiveResponseRequested ? 1 : 0]);
    subs.push(item(ItemType.UserIdentityRq, Buffer.concat([head, withLength16(id.primaryField), withLength16(id.secondaryField)])));
  }
  if (pduType === PduType.AssociateAc && u.userIdentityResponse) {
    subs.push(item(ItemType.UserIdentityAc, withLength16(u.userIdentityResponse)));
  }
  return Buffer.concat(subs);
}

/** An item or sub-item: type, reserved, 16-bit big-endian length, value (PS3.8 9.3.2.x). */
function item(type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 0]), u16(value.length, `item 0x${type.toString(16)}`), value]);
}

function withLength16(value: Buffer): Buffer {
  return Buffer.concat([u16(value.length, 'field'), value]);
}

function u16(n: number, what: string): Buffer {
  if (n > 0xffff) throw new RangeError(`${what} is ${n} bytes, over 65535`);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function byte(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new RangeError(`byte value ${n}`);
  return n;
}

function checkContextId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 255 || id % 2 === 0) throw new RangeError(`presentation context id ${id} is not odd 1..255`);
}

/** UIDs go into items without padding (PS3.8 9.3.2.2). */
function uidBytes(uid: string): Buffer {
  if (!isPlausibleUid(uid)) throw new RangeError(`not a UID: ${JSON.stringify(uid.slice(0, 70))}`);
  return Buffer.from(uid, 'latin1');
}

function aeTitleField(ae: string): string {
  if (checkAeTitle(ae.trim()) !== undefined || ae.length > 16) throw new RangeError(`invalid AE title ${JSON.stringify(ae)}`);
  return ae.padEnd(16, ' ');
}

// ---------------------------------------------------------------------------------------------
// Decoding.

const invalid = (msg: string) => new PduError(AbortReason.InvalidPduParameterValue, msg);
const unexpected = (msg: string) => new PduError(AbortReason.UnexpectedPduParameter, msg);

/** A bounds-checked read position inside [pos, end) of a buffer. */
class Cursor {
  constructor(readonly buf: Buffer, public pos: number, readonly end: number) {}
  remaining(): number {
    return this.end - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.remaining()) throw invalid(`${what}: needs ${n} bytes, ${this.remaining()} remain`);
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** A view of the next n bytes (no copy). */
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** The next item: type, reserved, 16-bit length, then a cursor over its value. */
  item(what: string): { type: number; value: Cursor } {
    this.need(4, `${what} header`);
    const type = this.buf[this.pos]!;
    const length = this.buf.readUInt16BE(this.pos + 2);
    this.pos += 4;
    this.need(length, `${what} 0x${type.toString(16)} of length ${length}`);
    const value = new Cursor(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return { type, value };
  }
  rest(): Buffer {
    return this.bytes(this.remaining(), 'rest');
  }
}

export function decodePdu(type: number, body: Buffer, limits: PduLimits): Pdu {
  switch (type) {
    case PduType.AssociateRq:
      return decodeAssociate(PduType.AssociateRq, body, limits) as AssociateRq;
    case PduType.AssociateAc:
      return decodeAssociate(PduType.AssociateAc, body, limits) as AssociateAc;
    case PduType.AssociateRj: {
      fixedBody(body, 'A-ASSOCIATE-RJ');
      return { type: PduType.AssociateRj, result: body[1]!, source: body[2]!, reason: body[3]! } satisfies AssociateRj;
    }
    case PduType.PData:
      return decodePData(body, limits);
    case PduType.ReleaseRq:
      fixedBody(body, 'A-RELEASE-RQ');
      return { type: PduType.ReleaseRq };
    case PduType.ReleaseRp:
      fixedBody(body, 'A-RELEASE-RP');
      return { type: PduType.ReleaseRp };
    case PduType.Abort:
      fixedBody(body, 'A-ABORT');
      return { type: PduType.Abort, source: body[2]!, reason: body[3]! } satisfies Abort;
    default:
      throw new PduError(AbortReason.UnrecognizedPdu, `unknown PDU type 0x${type.toString(16)}`);
  }
}

function fixedBody(body: Buffer, what: string): void {
  if (body.length !== 4) throw invalid(`${what} body is ${body.length} bytes, not 4`);
}

function decodePData(body: Buffer, limits: PduLimits): PData {
  if (limits.maxPduLength > 0 && body.length > limits.maxPduLength + PDATA_LENGTH_SLACK) {
    throw invalid(`P-DATA-TF of ${body.length} bytes exceeds the maximum length ${limits.maxPduLength}`);
  }
  const c = new Cursor(body, 0, body.length);
  const pdvs: Pdv[] = [];
  while (c.remaining() > 0) {
    const length = c.u32('PDV item length');
    if (length < 2) throw invalid(`PDV item length ${length} is under 2`);
    c.need(length, `PDV item of length ${length}`);
    const contextId = c.u8('PDV context id');
    if (contextId % 2 === 0) throw invalid(`PDV presentation context id ${contextId} is even`);
    const header = c.u8('PDV message control header'); // bits 2..7 reserved: not tested
    pdvs.push({ contextId, isCommand: (header & 1) !== 0, isLast: (header & 2) !== 0, data: c.bytes(length - 2, 'PDV data') });
  }
  if (pdvs.length === 0) throw invalid('P-DATA-TF holds no PDV');
  return { type: PduType.PData, pdvs };
}

function decodeAssociate(kind: 1 | 2, body: Buffer, limits: PduLimits): AssociateRq | AssociateAc {
  const name = kind === PduType.AssociateRq ? 'A-ASSOCIATE-RQ' : 'A-ASSOCIATE-AC';
  if (body.length < ASSOCIATE_FIXED_LENGTH) throw invalid(`${name} body is ${body.length} bytes, under ${ASSOCIATE_FIXED_LENGTH}`);
  const c = new Cursor(body, 0, body.length);
  const protocolVersion = c.u16('protocol version');
  if ((protocolVersion & 1) === 0) throw invalid(`protocol version 0x${protocolVersion.toString(16)} lacks version 1`);
  c.skip(2, 'reserved');
  const calledField = c.bytes(16, 'called AE title');
  const callingField = c.bytes(16, 'calling AE title');
  c.skip(32, 'reserved');
  // PS3.8 9.3.3.2: in an AC the AE titles echo the RQ and "shall not be tested when received".
  const calledAeTitle = kind === PduType.AssociateRq ? decodeAeTitle(calledField, 'called') : calledField.toString('latin1').trim();
  const callingAeTitle = kind === PduType.AssociateRq ? decodeAeTitle(callingField, 'calling') : callingField.toString('latin1').trim();

  let applicationContext: string | undefined;
  let userInfo: UserInformation | undefined;
  const rqContexts: PresentationContextRq[] = [];
  const acContexts: PresentationContextAc[] = [];
  const ids = new Set<number>();
  const contextItem = kind === PduType.AssociateRq ? ItemType.PresentationContextRq : ItemType.PresentationContextAc;
  while (c.remaining() > 0) {
    const { type, value } = c.item('item');
    if (type === ItemType.ApplicationContext) {
      if (applicationContext !== undefined) throw unexpected('second application context item');
      applicationContext = decodeUid(value.rest(), 'application context name');
    } else if (type === contextItem) {
      if (ids.size >= Math.min(limits.maxContexts, 128)) throw invalid(`more than ${Math.min(limits.maxContexts, 128)} presentation contexts`);
      const id = value.u8('presentation context id');
      if (id % 2 === 0) throw invalid(`presentation context id ${id} is even`);
      if (ids.has(id)) throw invalid(`presentation context id ${id} appears twice`);
      ids.add(id);
      value.skip(1, 'reserved');
      const result = value.u8('presentation context result'); // reserved in an RQ: not tested
      value.skip(1, 'reserved');
      if (kind === PduType.AssociateRq) rqContexts.push(decodeContextRq(id, value, limits));
      else acContexts.push(decodeContextAc(id, result, value));
    } else if (type === ItemType.PresentationContextRq || type === ItemType.PresentationContextAc) {
      throw unexpected(`presentation context item 0x${type.toString(16)} in an ${name}`);
    } else if (type === ItemType.UserInformation) {
      if (userInfo !== undefined) throw unexpected('second user information item');
      userInfo = decodeUserInfo(kind, value, limits);
    } else {
      throw new PduError(AbortReason.UnrecognizedPduParameter, `unknown item type 0x${type.toString(16)} in an ${name}`);
    }
  }
  if (applicationContext === undefined) throw invalid(`${name} has no application context item`);
  if (userInfo === undefined) throw invalid(`${name} has no user information item`);
  if (kind === PduType.AssociateRq) {
    if (rqContexts.length === 0) throw invalid('A-ASSOCIATE-RQ proposes no presentation context');
    return { type: PduType.AssociateRq, protocolVersion, calledAeTitle, callingAeTitle, applicationContext, contexts: rqContexts, userInfo };
  }
  return { type: PduType.AssociateAc, protocolVersion, calledAeTitle, callingAeTitle, applicationContext, contexts: acContexts, userInfo };
}

function decodeContextRq(id: number, c: Cursor, limits: PduLimits): PresentationContextRq {
  let abstractSyntax: string | undefined;
  const transferSyntaxes: string[] = [];
  while (c.remaining() > 0) {
    const { type, value } = c.item('presentation context sub-item');
    if (type === ItemType.AbstractSyntax) {
      if (abstractSyntax !== undefined) throw invalid(`presentation context ${id} has two abstract syntaxes`);
      abstractSyntax = decodeUid(value.rest(), 'abstract syntax');
    } else if (type === ItemType.TransferSyntax) {
      if (transferSyntaxes.length >= limits.maxTransferSyntaxes) throw invalid(`presentation context ${id} proposes more than ${limits.maxTransferSyntaxes} transfer syntaxes`);
      transferSyntaxes.push(decodeUid(value.rest(), 'transfer syntax'));
    } else {
      throw new PduError(AbortReason.UnrecognizedPduParameter, `unknown sub-item 0x${type.toString(16)} in presentation context ${id}`);
    }
  }
  if (abstractSyntax === undefined) throw invalid(`presentation context ${id} has no abstract syntax`);
  if (transferSyntaxes.length === 0) throw invalid(`presentation context ${id} proposes no transfer syntax`);
  return { id, abstractSyntax, transferSyntaxes };
}

function decodeContextAc(id: number, result: number, c: Cursor): PresentationContextAc {
  if (result > 4) throw invalid(`presentation context ${id} result ${result} is not 0..4`);
  let transferSyntax: string | undefined;
  while (c.remaining() > 0) {
    const { type, value } = c.item('presentation context sub-item');
    if (type !== ItemType.TransferSyntax) throw new PduError(AbortReason.UnrecognizedPduParameter, `unknown sub-item 0x${type.toString(16)} in presentation context ${id}`);
    if (transferSyntax !== undefined) throw unexpected(`presentation context ${id} has two transfer syntaxes`);
    // Not significant unless accepted (PS3.8 9.3.3.2): kept as sent, never tested.
    transferSyntax = result === 0 ? decodeUid(value.rest(), 'transfer syntax') : stripPadding(value.rest().toString('latin1'));
  }
  if (transferSyntax === undefined) {
    if (result === 0) throw invalid(`accepted presentation context ${id} has no transfer syntax`);
    transferSyntax = '';
  }
  return { id, result, transferSyntax };
}

function decodeUserInfo(kind: 1 | 2, c: Cursor, limits: PduLimits): UserInformation {
  let maxPduLength: number | undefined;
  let implementationClassUid: string | undefined;
  let implementationVersionName: string | undefined;
  let asyncOps: UserInformation['asyncOps'];
  let userIdentity: UserIdentityRq | undefined;
  let userIdentityResponse: Buffer | undefined;
  const roles: RoleSelection[] = [];
  const extended: ExtendedNegotiation[] = [];
  const seen = new Set<number>();
  while (c.remaining() > 0) {
    const { type, value } = c.item('user information sub-item');
    const once = (): void => {
      if (seen.has(type)) throw unexpected(`user information sub-item 0x${type.toString(16)} appears twice`);
      seen.add(type);
    };
    switch (type) {
      case ItemType.MaxLength:
        once();
        if (value.remaining() !== 4) throw invalid(`maximum length sub-item of ${value.remaining()} bytes, not 4`);
        maxPduLength = value.u32('maximum length');
        break;
      case ItemType.ImplementationClassUid:
        once();
        implementationClassUid = decodeUid(value.rest(), 'implementation class UID');
        break;
      case ItemType.AsyncOpsWindow:
        once();
        if (value.remaining() !== 4) throw invalid(`asynchronous operations window sub-item of ${value.remaining()} bytes, not 4`);
        asyncOps = { invoked: value.u16('operations invoked'), performed: value.u16('operations performed') };
        break;
      case ItemType.RoleSelection: {
        if (roles.length >= MAX_PER_SOP_CLASS_ITEMS) throw invalid(`more than ${MAX_PER_SOP_CLASS_ITEMS} role selection sub-items`);
        const sopClassUid = decodeUid(value.bytes(value.u16('role selection UID length'), 'role selection UID'), 'role selection SOP class UID');
        const scu = value.u8('SCU role');
        const scp = value.u8('SCP role');
        if (value.remaining() !== 0) throw invalid('role selection sub-item longer than its fields');
        if (scu > 1 || scp > 1) throw invalid(`role selection values ${scu}/${scp} are not 0 or 1`);
        roles.push({ sopClassUid, scuRole: scu === 1, scpRole: scp === 1 });
        break;
      }
      case ItemType.ImplementationVersionName: {
        once();
        const name = stripPadding(value.rest().toString('latin1'));
        if (name.length > 16 || /[^\x20-\x7e]/.test(name)) throw invalid('implementation version name is over 16 characters or not printable');
        if (name !== '') implementationVersionName = name;
        break;
      }
      case ItemType.ExtendedNegotiation: {
        if (extended.length >= MAX_PER_SOP_CLASS_ITEMS) throw invalid(`more than ${MAX_PER_SOP_CLASS_ITEMS} extended negotiation sub-items`);
        const sopClassUid = decodeUid(value.bytes(value.u16('extended negotiation UID length'), 'extended negotiation UID'), 'extended negotiation SOP class UID');
        extended.push({ sopClassUid, info: Buffer.from(value.rest()) });
        break;
      }
      case ItemType.UserIdentityRq: {
        if (kind !== PduType.AssociateRq) throw unexpected('user identity request sub-item in an A-ASSOCIATE-AC');
        once();
        const idType = value.u8('user identity type');
        const positiveResponseRequested = value.u8('positive response requested') === 1;
        const primaryField = identityField(value, limits, 'primary');
        const secondaryField = identityField(value, limits, 'secondary');
        if (value.remaining() !== 0) throw invalid('user identity sub-item longer than its fields');
        userIdentity = { type: idType, positiveResponseRequested, primaryField, secondaryField };
        break;
      }
      case ItemType.UserIdentityAc: {
        if (kind !== PduType.AssociateAc) throw unexpected('user identity response sub-item in an A-ASSOCIATE-RQ');
        once();
        userIdentityResponse = identityField(value, limits, 'server response');
        if (value.remaining() !== 0) throw invalid('user identity response sub-item longer than its field');
        break;
      }
      default:
        break; // PS3.7 D.3.3: sub-items we do not know (0x57 common extended negotiation, future ones) are skipped
    }
  }
  if (maxPduLength === undefined) throw invalid('user information has no maximum length sub-item');
  const u: UserInformation = { maxPduLength, implementationClassUid: implementationClassUid ?? '', roles, extended };
  if (implementationVersionName !== undefined) u.implementationVersionName = implementationVersionName;
  if (asyncOps) u.asyncOps = asyncOps;
  if (userIdentity) u.userIdentity = userIdentity;
  if (userIdentityResponse) u.userIdentityResponse = userIdentityResponse;
  return u;
}

function identityField(c: Cursor, limits: PduLimits, what: string): Buffer {
  const length = c.u16(`user identity ${what} length`);
  if (length > limits.maxIdentityBytes) throw invalid(`user identity ${what} field of ${length} bytes exceeds ${limits.maxIdentityBytes}`);
  return Buffer.from(c.bytes(length, `user identity ${what} field`)); // a copy: the PDU body is not kept alive
}

/** Trailing NULs and spaces are tolerated (DCMTK and others pad UIDs to even length). */
function stripPadding(s: string): string {
  return s.replace(/[\0 ]+$/, '');
}

function decodeUid(b: Buffer, what: string): string {
  if (b.length > 128) throw invalid(`${what} of ${b.length} bytes`);
  const s = stripPadding(b.toString('latin1'));
  if (!isPlausibleUid(s)) throw invalid(`${what} is not 1..64 digits and dots`);
  return s;
}

/** Why an AE title (already trimmed) is invalid, or undefined (PS3.5 Table 6.2-1, AE). */
function checkAeTitle(trimmed: string): string | undefined {
  if (trimmed === '') return 'is all spaces';
  if (/[^\x20-\x7e]/.test(trimmed)) return 'holds a control or non-ASCII character';
  if (trimmed.includes('\\')) return 'holds a backslash';
  return undefined;
}

function decodeAeTitle(field: Buffer, which: string): string {
  const trimmed = field.toString('latin1').replace(/^ +| +$/g, '');
  const why = checkAeTitle(trimmed);
  if (why !== undefined) throw invalid(`${which} AE title ${why}`);
  return trimmed;
}

// What an open port speaks: one short exchange per try, bounded in time and bytes. First an
// A-ASSOCIATE-RQ in clear with made-up AE titles (a DICOM peer answers AC, RJ or ABORT; an
// HTTP server answers "HTTP/1.x 400"); then the same over TLS; then an HTTP request.
import { randomInt } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { TS } from '../dicom/transfer-syntax.js';
import { ImplementationClassUID, ImplementationVersionName } from '../dicom/uid.js';
import { SopClass } from '../net/dimse/constants.js';
import { DEFAULT_PDU_LIMITS, decodePdu, encodePdu } from '../net/pdu/codec.js';
import { DICOM_APPLICATION_CONTEXT, PduType, type AssociateAc, type AssociateRj, type Pdu } from '../net/pdu/types.js';
import type { PortKind, PortState } from './types.js';

const AE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** A made-up AE title nobody has registered: 10 random letters and digits. */
export const randomAe = (): string => Array.from({ length: 10 }, () => AE_CHARS[randomInt(AE_CHARS.length)]).join('');

/** Most bytes read from a port while sniffing; an A-ASSOCIATE-AC is far smaller. */
const MAX_SNIFF_BYTES = 64 * 1024;

/** TLS offered as widely as this client can, to learn what the server speaks (not to trust it). */
export const PERMISSIVE_TLS: ConnectionOptions = { rejectUnauthorized: false, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' };

export interface Exchange {
  state: PortState;
  /** The TLS handshake completed (TLS tries only). */
  secure?: boolean;
  bytes: Buffer;
  error?: string;
  peerCertificate?: ReturnType<TLSSocket['getPeerCertificate']>;
  protocol?: string | null;
  cipher?: string;
}

export interface ExchangeOptions {
  address: string;
  port: number;
  servername?: string;
  tls?: ConnectionOptions;
  send: Buffer;
  timeoutMs: number;
  /** True when the bytes so far are a whole answer. */
  complete?: (b: Buffer) => boolean;
  /** Sent after a whole answer, before closing (e.g. an A-ABORT after an unexpected AC). */
  farewell?: (b: Buffer) => Buffer | undefined;
}

/** Connects, sends, reads until a whole answer, the peer's close, the byte cap or the timeout. */
export function exchange(o: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let done = false;
    let handshook = false;
    let sock: Socket | TLSSocket;
    const finish = (extra: Partial<Exchange> = {}) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const bytes = Buffer.concat(chunks);
      const tlsSock = o.tls && connected ? (sock as TLSSocket) : undefined;
      const out: Exchange = { state: connected ? 'open' : 'filtered', bytes, ...extra };
      if (tlsSock && out.secure) {
        out.peerCertificate = tlsSock.getPeerCertificate(true);
        out.protocol = tlsSock.getProtocol();
        out.cipher = tlsSock.getCipher()?.name;
      }
      const bye = o.farewell?.(bytes);
      if (bye && !sock.destroyed) sock.end(bye);
      else sock.destroy();
      setTimeout(() => sock.destroy(), 1000).unref();
      resolve(out);
    };
    const timer = setTimeout(() => finish(connected ? { secure: o.tls ? handshook : undefined } : { error: 'no answer to the connection attempt (filtered?)' }), o.timeoutMs);
    const onReady = () => {
      connected = true;
      sock.write(o.send);
    };
    if (o.tls) {
      sock = tlsConnect({ host: o.address, port: o.port, servername: o.servername && !/^[\d.:]+$/.test(o.servername) ? o.servername : undefined, ...o.tls }, () => {
        handshook = true;
        onReady();
      });
      sock.once('connect', () => { connected = true; });
    } else {
      sock = netConnect({ host: o.address, port: o.port }, onReady);
    }
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size >= MAX_SNIFF_BYTES || o.complete?.(Buffer.concat(chunks))) finish({ secure: o.tls ? handshook : undefined });
    });
    sock.on('end', () => finish({ secure: o.tls ? handshook : undefined }));
    sock.on('close', () => finish({ secure: o.tls ? handshook : undefined }));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected && e.code === 'ECONNREFUSED') finish({ state: 'closed', error: 'connection refused' });
      else if (!connected && (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH')) finish({ state: 'filtered', error: e.code });
      else finish({ secure: o.tls ? handshook : undefined, error: e.code ?? e.message });
    });
  });
}

/** An A-ASSOCIATE-RQ for Verification only, with the given AE titles. */
export function associateRq(callingAeTitle: string, calledAeTitle: string): Buffer {
  return encodePdu({
    type: PduType.AssociateRq, protocolVersion: 1, calledAeTitle, callingAeTitle, applicationContext: DICOM_APPLICATION_CONTEXT,
    contexts: [{ id: 1, abstractSyntax: SopClass.Verification, transferSyntaxes: [TS.ExplicitVRLittleEndian, TS.ImplicitVRLittleEndian] }],
    userInfo: { maxPduLength: 16384, implementationClassUid: ImplementationClassUID, implementationVersionName: ImplementationVersionName, roles: [], extended: [] },
  });
}

/** True when b holds a whole PDU (6-byte header and its body). */
export const wholePdu = (b: Buffer): boolean => b.length >= 6 && b.length >= 6 + b.readUInt32BE(2);

/** The answer as a DICOM PDU, when it looks like one (AC, RJ or ABORT); undefined otherwise. */
export function asDicomAnswer(b: Buffer): AssociateAc | AssociateRj | Extract<Pdu, { type: 7 }> | undefined {
  if (b.length < 6 || ![PduType.AssociateAc, PduType.AssociateRj, PduType.Abort].includes(b[0] as 2) || b[1] !== 0) return undefined;
  const len = b.readUInt32BE(2);
  if (len > MAX_SNIFF_BYTES || b.length < 6 + len) return undefined;
  try {
    return decodePdu(b[0]!, b.subarray(6, 6 + len), DEFAULT_PDU_LIMITS) as AssociateAc | AssociateRj | Extract<Pdu, { type: 7 }>;
  } catch {
    return undefined;
  }
}

export const looksLikeHttp = (b: Buffer): boolean => /^HTTP\/\d(\.\d)? \d{3}/.test(b.subarray(0, 16).toString('latin1'));
/** A TLS record (alert or handshake) in answer to clear text. */
export const looksLikeTls = (b: Buffer): boolean => b.length >= 5 && (b[0] === 0x15 || b[0] === 0x16) && b[1] === 0x03;

export interface Sniffed {
  state: PortState;
  kind?: PortKind;
  /** The peer's answer to our made-up-AE A-ASSOCIATE-RQ (DICOM kinds). */
  answer?: AssociateAc | AssociateRj | Extract<Pdu, { type: 7 }>;
  callingAe?: string;
  calledAe?: string;
  /** What happened, step by step, for the evidence. */
  log: string[];
}

const ABORT = encodePdu({ type: PduType.Abort, source: 0, reason: 0 });

/** Finds out what a port speaks. */
export async function sniff(address: string, port: number, host: string, timeoutMs: number, beforeConnect: () => Promise<void>): Promise<Sniffed> {
  const callingAe = randomAe();
  const calledAe = randomAe();
  const rq = associateRq(callingAe, calledAe);
  const dicomTry = { send: rq, complete: wholePdu, farewell: (b: Buffer) => (b[0] === PduType.AssociateAc ? ABORT : undefined) };
  const log: string[] = [];
  await beforeConnect();
  const plain = await exchange({ address, port, timeoutMs, ...dicomTry });
  if (plain.state !== 'open') return { state: plain.state, log: [plain.error ?? plain.state] };
  const a = asDicomAnswer(plain.bytes);
  if (a) return { state: 'open', kind: 'dicom', answer: a, callingAe, calledAe, log };
  if (looksLikeHttp(plain.bytes)) return { state: 'open', kind: 'http', log };
  log.push(`clear-text A-ASSOCIATE-RQ: ${plain.bytes.length ? (looksLikeTls(plain.bytes) ? 'answered with a TLS record' : `${plain.bytes.length} bytes that are not DICOM`) : 'no answer'}`);
  await beforeConnect();
  const tls = await exchange({ address, port, servername: host, tls: PERMISSIVE_TLS, timeoutMs, ...dicomTry });
  if (tls.secure) {
    const t = asDicomAnswer(tls.bytes);
    if (t) return { state: 'open', kind: 'dicom-tls', answer: t, callingAe, calledAe, log };
    if (looksLikeHttp(tls.bytes)) return { state: 'open', kind: 'https', log };
    await beforeConnect();
    const get = await exchange({ address, port, servername: host, tls: PERMISSIVE_TLS, timeoutMs, send: httpGet(host, port) });
    return { state: 'open', kind: looksLikeHttp(get.bytes) ? 'https' : 'tls', log };
  }
  log.push(`TLS handshake: ${tls.error ?? 'not completed'}`);
  await beforeConnect();
  const get = await exchange({ address, port, timeoutMs, send: httpGet(host, port) });
  return { state: 'open', kind: looksLikeHttp(get.bytes) ? 'http' : 'unknown', log };
}

const httpGet = (host: string, port: number): Buffer => Buffer.from(`GET / HTTP/1.0\r\nHost: ${host.includes(':') ? `[${host}]` : host}:${port}\r\nUser-Agent: rampart-scan\r\n\r\n`, 'latin1');

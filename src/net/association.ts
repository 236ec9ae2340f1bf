// One DICOM association over one transport connection, for either role, driven by the PS3.8
// state machine (state-machine.ts). It turns socket bytes into PDUs (bounded by the framer),
// PDUs into events, and reassembles DIMSE messages from PDVs: command sets in memory (bounded),
// data sets streamed to the user with socket backpressure. Sending fragments a message to the
// peer's maximum PDU length and writes one message at a time.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { decodeCommand, encodeCommand, type Command } from './dimse/command.js';
import { DataStream } from './data-stream.js';
import { DEFAULT_PDU_LIMITS, decodePdu, encodePdu, pdataPduHeader, PduFramer, type PduLimits } from './pdu/codec.js';
import {
  AbortReason, PduError, PduType, type AssociateAc, type AssociateRj, type AssociateRq, type Pdu, type Pdv,
} from './pdu/types.js';
import { NEXT_STATE, transition, type Action, type Event, type State } from './state-machine.js';

export interface AssociationLimits {
  /** Largest P-DATA-TF PDU we accept (what we advertise in our maximum length sub-item). */
  maxPduLength: number;
  /** Largest A-ASSOCIATE-RQ/AC PDU we accept. */
  maxAssociateLength: number;
  /** ARTIM: how long we wait for an A-ASSOCIATE-RQ after connect, and for the close after a release or abort. */
  artimMs: number;
  /** An established association with no traffic for this long is aborted. */
  idleMs: number;
  maxCommandBytes: number;
  pdu: PduLimits;
}

export const DEFAULT_ASSOCIATION_LIMITS: AssociationLimits = {
  maxPduLength: 256 * 1024,
  maxAssociateLength: 64 * 1024,
  artimMs: 30_000,
  idleMs: 300_000,
  maxCommandBytes: 64 * 1024,
  pdu: DEFAULT_PDU_LIMITS,
};

/** A DIMSE message as it arrives: its command, and its data set as a stream when it has one. */
export interface IncomingMessage {
  contextId: number;
  command: Command;
  data?: DataStream;
}

export interface AssociationUser {
  /** Acceptor only: decide on an A-ASSOCIATE-RQ. */
  onAssociateRequest?(rq: AssociateRq): Promise<{ accept: AssociateAc } | { reject: AssociateRj }>;
  /** A request message from the peer (responses to our own requests are routed to their caller). */
  onRequest?(msg: IncomingMessage): void;
  /** The peer asked to release; resolve when outstanding work is done and the release may be confirmed. */
  onReleaseRequest?(): Promise<void>;
  /** The association is over (released, aborted or the connection dropped). */
  onClose?(reason: CloseReason): void;
}

export type CloseReason =
  | { kind: 'released' }
  | { kind: 'rejected'; rj: AssociateRj }
  | { kind: 'aborted-by-peer'; source: number; reason: number }
  | { kind: 'aborted-locally'; reason: number; detail: string }
  | { kind: 'connection-lost' }
  | { kind: 'timeout' };

type ResponseWaiter = { push(msg: IncomingMessage): void; fail(e: Error): void };

export class AssociationError extends Error {
  constructor(message: string, readonly close?: CloseReason) { super(message); }
}

export class Association {
  state: State = 'Sta1';
  /** The negotiated request and answer, once established. */
  rq: AssociateRq | undefined;
  ac: AssociateAc | undefined;
  private readonly framer: PduFramer;
  private artim: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private closed = false;
  private closeReason: CloseReason | undefined;
  private incoming: { contextId: number; commandParts: Buffer[]; commandBytes: number; msg?: IncomingMessage } | undefined;
  private sendChain: Promise<void> = Promise.resolve();
  private readonly waiters = new Map<number, ResponseWaiter>();
  private nextMessageId = 1;
  private established: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private released: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private paused = false;

  constructor(
    readonly socket: Socket | TLSSocket,
    readonly role: 'acceptor' | 'requestor',
    private readonly user: AssociationUser,
    readonly limits: AssociationLimits = DEFAULT_ASSOCIATION_LIMITS,
  ) {
    this.framer = new PduFramer({ maxPduLength: limits.maxPduLength, maxAssociateLength: limits.maxAssociateLength });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.dispatch('Evt17'));
    socket.on('error', () => undefined); // 'close' follows and is what the state machine sees
    if (role === 'acceptor') this.dispatch('Evt5');
  }

  /** Peer's maximum PDU length (0 = no limit), from its maximum length sub-item. */
  get peerMaxPdu(): number {
    const v = (this.role === 'acceptor' ? this.rq : this.ac)?.userInfo.maxPduLength ?? 16384;
    return v === 0 ? 1024 * 1024 : Math.max(v, 1024);
  }

  get isEstablished(): boolean { return this.state === 'Sta6'; }

  // ----- the state machine -----

  private dispatch(event: Event, pdu?: Pdu, detail?: string): void {
    const action = transition(event, this.state);
    if (!action) {
      // Only local primitives can be missing from the table; they are a programming error here.
      this.abortProvider(AbortReason.UnexpectedPdu, `no transition for ${event} in ${this.state}`);
      return;
    }
    this.run(action, event, pdu, detail);
  }

  private enter(action: Action): void {
    const next = NEXT_STATE[action];
    if (next === 'role') this.state = this.role === 'requestor' ? 'Sta9' : 'Sta10';
    else if (next !== 'decide') this.state = next;
  }

  private run(action: Action, event: Event, pdu: Pdu | undefined, detail: string | undefined): void {
    switch (action) {
      case 'AE-2': // send A-ASSOCIATE-RQ
        this.write(encodePdu(this.rq!));
        this.enter(action);
        this.startArtim();
        return;
      case 'AE-3': // A-ASSOCIATE-AC received: established
        this.stopArtim();
        this.ac = pdu as AssociateAc;
        this.enter(action);
        this.touch();
        this.established?.resolve();
        return;
      case 'AE-4': { // A-ASSOCIATE-RJ received
        this.stopArtim();
        this.enter(action);
        this.finish({ kind: 'rejected', rj: pdu as AssociateRj });
        return;
      }
      case 'AE-5': // transport connection indication: wait for the RQ under ARTIM
        this.enter(action);
        this.startArtim();
        return;
      case 'AE-6': { // A-ASSOCIATE-RQ received
        this.stopArtim();
        this.rq = pdu as AssociateRq;
        this.state = 'Sta3';
        this.decide(this.rq);
        return;
      }
      case 'AE-7': // send A-ASSOCIATE-AC
        this.write(encodePdu(this.ac!));
        this.enter(action);
        this.touch();
        return;
      case 'AE-8': // send A-ASSOCIATE-RJ
        this.write(encodePdu(pdu as AssociateRj));
        this.enter(action);
        this.startArtim();
        return;
      case 'DT-2': case 'AR-6': // P-DATA-TF received
        this.enter(action);
        this.touch();
        this.onPData((pdu as { pdvs: Pdv[] }).pdvs);
        return;
      case 'AR-1': // send A-RELEASE-RQ
        this.write(encodePdu({ type: PduType.ReleaseRq }));
        this.enter(action);
        return;
      case 'AR-2': // A-RELEASE-RQ received: answer when our work is done
        if (this.incoming) {
          // A message still arriving can never be completed: the requestor may send no P-DATA after
          // its A-RELEASE-RQ, so its handler would wait in Sta8 for ever, where no timer runs.
          this.abortProvider(AbortReason.UnexpectedPdu, 'A-RELEASE-RQ in the middle of a message');
          return;
        }
        this.enter(action);
        void (this.user.onReleaseRequest?.() ?? Promise.resolve()).then(() => this.dispatch('Evt14'), () => this.dispatch('Evt14'));
        return;
      case 'AR-3': // A-RELEASE-RP received: done
        this.enter(action);
        this.released?.resolve();
        this.finish({ kind: 'released' });
        return;
      case 'AR-4': // send A-RELEASE-RP and wait for the peer to close
        this.write(encodePdu({ type: PduType.ReleaseRp }));
        this.enter(action);
        this.closeReason ??= { kind: 'released' };
        this.startArtim();
        return;
      case 'AR-5': // closed after our release response
        this.stopArtim();
        this.enter(action);
        this.finish(this.closeReason ?? { kind: 'released' });
        return;
      case 'AR-8': // release collision
        this.enter(action);
        if (this.role === 'requestor') this.dispatch('Evt14'); // Sta9 -> AR-9
        return;
      case 'AR-9': // send A-RELEASE-RP (collision, requestor side)
        this.write(encodePdu({ type: PduType.ReleaseRp }));
        this.enter(action);
        return;
      case 'AR-10': // collision, acceptor side: confirm, then answer
        this.enter(action);
        this.dispatch('Evt14');
        return;
      case 'AA-1': // send A-ABORT (service-user), wait for close
        this.write(encodePdu({ type: PduType.Abort, source: 0, reason: 0 }));
        this.enter(action);
        this.closeReason ??= { kind: 'aborted-locally', reason: 0, detail: detail ?? 'aborted' };
        this.startArtim();
        this.failPending(new AssociationError(detail ?? 'association aborted'));
        return;
      case 'AA-2': // close the transport
        this.stopArtim();
        this.enter(action);
        this.socket.destroy();
        this.finish(this.closeReason ?? (event === 'Evt18' ? { kind: 'timeout' } : event === 'Evt16' ? { kind: 'aborted-by-peer', source: 0, reason: 0 } : { kind: 'connection-lost' }));
        return;
      case 'AA-3': { // A-ABORT received
        const a = pdu as { source: number; reason: number };
        this.enter(action);
        this.socket.destroy();
        this.finish({ kind: 'aborted-by-peer', source: a.source, reason: a.reason });
        return;
      }
      case 'AA-4': case 'AA-5': // connection lost
        this.stopArtim();
        this.enter(action);
        this.finish(this.closeReason ?? { kind: 'connection-lost' });
        return;
      case 'AA-6': // ignore the PDU while closing
        this.enter(action);
        return;
      case 'AA-7': // send A-ABORT while closing
        this.write(encodePdu({ type: PduType.Abort, source: 2, reason: AbortReason.UnexpectedPdu }));
        this.enter(action);
        return;
      case 'AA-8': { // protocol error: A-ABORT (service-provider) and wait for close
        const reason = pdu && pdu.type === PduType.Abort ? pdu.reason : this.pendingAbortReason ?? AbortReason.UnexpectedPdu;
        this.pendingAbortReason = undefined;
        this.write(encodePdu({ type: PduType.Abort, source: 2, reason }));
        this.enter(action);
        this.closeReason ??= { kind: 'aborted-locally', reason, detail: detail ?? 'protocol error' };
        this.startArtim();
        this.failPending(new AssociationError(detail ?? 'protocol error'));
        return;
      }
      case 'AE-1': case 'DT-1': case 'AR-7':
        // Connecting and sending are done by connect() and send(); the table only records the state.
        this.enter(action);
        return;
    }
  }

  private pendingAbortReason: number | undefined;

  /** Aborts as the service provider would on a protocol violation (Evt19 semantics). */
  abortProvider(reason: number, detail: string): void {
    if (this.closed || this.state === 'Sta13' || this.state === 'Sta1') return;
    this.pendingAbortReason = reason;
    const action = transition('Evt19', this.state);
    if (action) this.run(action, 'Evt19', undefined, detail);
    else { this.socket.destroy(); this.finish({ kind: 'aborted-locally', reason, detail }); }
  }

  /** A-ABORT request primitive from the local user. */
  abort(detail = 'aborted'): void {
    if (this.closed) return;
    const action = transition('Evt15', this.state);
    if (action) this.run(action, 'Evt15', undefined, detail);
    else { this.socket.destroy(); this.finish({ kind: 'aborted-locally', reason: 0, detail }); }
  }

  private decide(rq: AssociateRq): void {
    const decide = this.user.onAssociateRequest;
    if (!decide) { this.dispatch('Evt8', { type: PduType.AssociateRj, result: 1, source: 1, reason: 1 }); return; }
    decide(rq).then(
      (d) => {
        if (this.closed || this.state !== 'Sta3') return;
        if ('accept' in d) { this.ac = d.accept; this.dispatch('Evt7'); }
        else this.dispatch('Evt8', d.reject);
      },
      () => { if (!this.closed && this.state === 'Sta3') this.dispatch('Evt8', { type: PduType.AssociateRj, result: 2, source: 2, reason: 1 }); },
    );
  }

  // ----- bytes in -----

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.framer.push(chunk);
      for (let raw = this.framer.next(); raw; raw = this.framer.next()) {
        const pdu = decodePdu(raw.type, raw.body, this.limits.pdu);
        this.dispatch(eventOf(pdu), pdu);
        if (this.closed || this.state === 'Sta13') break;
      }
    } catch (e) {
      if (e instanceof PduError) {
        this.pendingAbortReason = e.reason;
        this.dispatch('Evt19', undefined, e.message);
      } else {
        this.abortProvider(AbortReason.NotSpecified, (e as Error).message);
      }
    }
  }

  private onPData(pdvs: Pdv[]): void {
    for (const pdv of pdvs) {
      if (this.closed || this.state === 'Sta13') return;
      if (!this.contextAccepted(pdv.contextId)) {
        this.abortProvider(AbortReason.InvalidPduParameterValue, `PDV on presentation context ${pdv.contextId}, which was not accepted`);
        return;
      }
      if (pdv.isCommand) this.onCommandFragment(pdv);
      else this.onDataFragment(pdv);
    }
  }

  private contextAccepted(id: number): boolean {
    return Boolean(this.ac?.contexts.some((c) => c.id === id && c.result === 0));
  }

  private onCommandFragment(pdv: Pdv): void {
    let cur = this.incoming;
    if (cur?.msg) {
      this.abortProvider(AbortReason.UnexpectedPduParameter, 'a command arrived before the data set of the previous message ended');
      return;
    }
    if (!cur) cur = this.incoming = { contextId: pdv.contextId, commandParts: [], commandBytes: 0 };
    if (cur.contextId !== pdv.contextId) {
      this.abortProvider(AbortReason.UnexpectedPduParameter, 'command fragments on two presentation contexts');
      return;
    }
    cur.commandBytes += pdv.data.length;
    if (cur.commandBytes > this.limits.maxCommandBytes) {
      this.abortProvider(AbortReason.InvalidPduParameterValue, `command set larger than ${this.limits.maxCommandBytes} bytes`);
      return;
    }
    cur.commandParts.push(pdv.data);
    if (!pdv.isLast) return;
    let command: Command;
    try {
      command = decodeCommand(Buffer.concat(cur.commandParts));
    } catch (e) {
      this.abortProvider(AbortReason.InvalidPduParameterValue, (e as Error).message);
      return;
    }
    const msg: IncomingMessage = { contextId: cur.contextId, command };
    if (command.hasDataSet) {
      const data = new DataStream();
      data.onDrain = () => this.resume();
      msg.data = data;
      cur.msg = msg;
    } else {
      this.incoming = undefined;
    }
    this.deliver(msg);
  }

  private onDataFragment(pdv: Pdv): void {
    const cur = this.incoming;
    if (!cur?.msg?.data) {
      this.abortProvider(AbortReason.UnexpectedPduParameter, 'a data fragment arrived without its command');
      return;
    }
    if (cur.contextId !== pdv.contextId) {
      this.abortProvider(AbortReason.UnexpectedPduParameter, 'data fragments on another presentation context than their command');
      return;
    }
    const more = cur.msg.data.push(pdv.data);
    if (pdv.isLast) {
      cur.msg.data.end();
      this.incoming = undefined;
    } else if (!more) this.pause();
  }

  private pause(): void {
    if (!this.paused) { this.paused = true; this.socket.pause(); }
  }
  private resume(): void {
    if (this.paused) { this.paused = false; this.socket.resume(); }
  }

  private deliver(msg: IncomingMessage): void {
    const c = msg.command;
    const isResponse = (c.commandField & 0x8000) !== 0;
    if (isResponse) {
      const w = c.messageIdBeingRespondedTo !== undefined ? this.waiters.get(c.messageIdBeingRespondedTo) : undefined;
      if (!w) {
        this.abortProvider(AbortReason.UnexpectedPduParameter, 'a response to no request of ours');
        return;
      }
      w.push(msg);
      return;
    }
    if (!this.user.onRequest) {
      this.abortProvider(AbortReason.UnexpectedPduParameter, 'a request the local user cannot take');
      return;
    }
    this.user.onRequest(msg);
  }

  // ----- bytes out -----

  private write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  /**
   * Sends a DIMSE message: the command, then the data set (a buffer or a stream) fragmented
   * to the peer's maximum PDU length. Messages never interleave.
   */
  send(contextId: number, command: Command, data?: Buffer | AsyncIterable<Buffer>): Promise<void> {
    const run = async () => {
      if (this.state !== 'Sta6' && this.state !== 'Sta8') throw new AssociationError(`cannot send in ${this.state}`);
      this.touch();
      const max = this.peerMaxPdu - 6;
      await this.writeFragments(contextId, true, [encodeCommand({ ...command, hasDataSet: data !== undefined })], max);
      if (data !== undefined) await this.writeFragments(contextId, false, Buffer.isBuffer(data) ? [data] : data, max);
    };
    const p = this.sendChain.then(run);
    this.sendChain = p.catch(() => undefined);
    return p;
  }

  private async writeFragments(contextId: number, isCommand: boolean, source: Iterable<Buffer> | AsyncIterable<Buffer>, max: number): Promise<void> {
    let held: Buffer | undefined; // the last piece is held back so that it can carry the "last" bit
    const socket = this.socket;
    // The PDUs of one source chunk are written under cork, so they leave in a few writev calls
    // rather than two system calls per PDU; the cork is lifted whenever we wait.
    const emit = async (piece: Buffer, isLast: boolean) => {
      if (socket.destroyed) throw new AssociationError('connection closed while sending');
      const ok1 = socket.write(pdataPduHeader(contextId, isCommand, isLast, piece.length));
      const ok2 = socket.write(piece);
      if (!ok1 || !ok2) {
        socket.uncork();
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => { socket.off('close', onClose); resolve(); };
          const onClose = () => { socket.off('drain', onDrain); reject(new AssociationError('connection closed while sending')); };
          socket.once('drain', onDrain);
          socket.once('close', onClose);
        });
        socket.cork();
      }
    };
    for await (const chunk of source) {
      socket.cork();
      try {
        let off = 0;
        while (off < chunk.length) {
          const piece = chunk.subarray(off, off + max);
          off += piece.length;
          if (held) await emit(held, false);
          held = piece;
        }
      } finally {
        socket.uncork();
      }
    }
    socket.cork();
    try {
      await emit(held ?? Buffer.alloc(0), true);
    } finally {
      socket.uncork();
    }
  }

  /** Sends a request and returns its responses as they come (several for C-FIND/C-MOVE/C-GET). */
  async *request(contextId: number, command: Command, data?: Buffer | AsyncIterable<Buffer>): AsyncIterable<IncomingMessage> {
    const id = command.messageId ?? this.newMessageId();
    const queue: IncomingMessage[] = [];
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    this.waiters.set(id, {
      push: (m) => { queue.push(m); wake?.(); },
      fail: (e) => { failure = e; wake?.(); },
    });
    try {
      await this.send(contextId, { ...command, messageId: id }, data);
      for (;;) {
        while (queue.length) {
          const m = queue.shift()!;
          yield m;
          const s = m.command.status ?? 0;
          if (s !== 0xff00 && s !== 0xff01) return;
        }
        if (failure) throw failure;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.waiters.delete(id);
    }
  }

  newMessageId(): number {
    const id = this.nextMessageId;
    this.nextMessageId = (this.nextMessageId % 0xffff) + 1;
    return id;
  }

  private failPending(e: Error): void {
    for (const w of this.waiters.values()) w.fail(e);
    this.incoming?.msg?.data?.fail(e);
  }

  // ----- requestor side -----

  /** Sends the A-ASSOCIATE-RQ on an open connection; resolves when accepted. */
  associate(rq: AssociateRq): Promise<void> {
    this.rq = rq;
    this.state = 'Sta4'; // AE-1 happened when the socket was opened
    return new Promise((resolve, reject) => {
      this.established = { resolve, reject };
      this.dispatch('Evt2');
    });
  }

  /** A-RELEASE request; resolves when the peer confirms. */
  release(): Promise<void> {
    if (this.state !== 'Sta6') return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.released = { resolve, reject };
      this.dispatch('Evt11');
    });
  }

  // ----- timers and the end -----

  private startArtim(): void {
    this.stopArtim();
    this.artim = setTimeout(() => this.dispatch('Evt18'), this.limits.artimMs);
    this.artim.unref();
  }
  private stopArtim(): void {
    if (this.artim) clearTimeout(this.artim);
    this.artim = undefined;
  }
  private touch(): void {
    if (this.idle) this.idle.refresh();
    else {
      this.idle = setTimeout(() => { if (this.state === 'Sta6') this.abort('idle timeout'); }, this.limits.idleMs);
      this.idle.unref();
    }
  }

  private finish(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason; // what closedPromise() reports when asked after the end
    this.stopArtim();
    if (this.idle) clearTimeout(this.idle);
    this.state = 'Sta1';
    if (!this.socket.destroyed) this.socket.end();
    const err = new AssociationError(describe(reason), reason);
    this.failPending(err);
    this.established?.reject(err);
    this.released?.reject(err);
    this.user.onClose?.(reason);
  }

  /** Resolves when the association has ended. */
  closedPromise(): Promise<CloseReason> {
    if (this.closed) return Promise.resolve(this.closeReason ?? { kind: 'connection-lost' });
    return new Promise((resolve) => {
      const prev = this.user.onClose;
      this.user.onClose = (r) => { prev?.(r); resolve(r); };
    });
  }
}

function eventOf(p: Pdu): Event {
  switch (p.type) {
    case PduType.AssociateRq: return 'Evt6';
    case PduType.AssociateAc: return 'Evt3';
    case PduType.AssociateRj: return 'Evt4';
    case PduType.PData: return 'Evt10';
    case PduType.ReleaseRq: return 'Evt12';
    case PduType.ReleaseRp: return 'Evt13';
    case PduType.Abort: return 'Evt16';
  }
}

export function describe(r: CloseReason): string {
  switch (r.kind) {
    case 'released': return 'released';
    case 'rejected': return `association rejected (result ${r.rj.result}, source ${r.rj.source}, reason ${r.rj.reason})`;
    case 'aborted-by-peer': return `aborted by the peer (source ${r.source}, reason ${r.reason})`;
    case 'aborted-locally': return `aborted: ${r.detail}`;
    case 'connection-lost': return 'connection lost';
    case 'timeout': return 'timed out';
  }
}

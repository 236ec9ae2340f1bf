// The SCP side of an accepted association: runs each request through the handlers, one at a
// time (asynchronous operations window 1), honours C-CANCEL, and answers every failure with a
// status for that one operation. A handler that throws never takes the association down.
import { DataSet } from '../dicom/dataset.js';
import { parseDataSet } from '../dicom/reader.js';
import { transferSyntaxInfo } from '../dicom/transfer-syntax.js';
import { writeDataSet } from '../dicom/writer.js';
import { isRampartError } from '../errors.js';
import type { Association, IncomingMessage } from './association.js';
import type { Command } from './dimse/command.js';
import { CommandField, DimseStatus, FIND_MODELS, GET_MODELS, MOVE_MODELS, isStorageSopClass } from './dimse/constants.js';
import { DimseFailure, type DimseHandlers, type RetrieveRequest, type SubOperation } from './handlers.js';
import { serviceOf, type Service } from './negotiate.js';
import type { ScuConnector } from './scu.js';

export interface ScpLimits {
  /** Largest C-FIND/C-MOVE/C-GET identifier accepted. */
  maxIdentifierBytes: number;
  /** Requests queued behind the one in progress before the association is aborted. */
  maxPendingOperations: number;
}
const PENDING_INTERVAL_MS = 250;

export const DEFAULT_SCP_LIMITS: ScpLimits = { maxIdentifierBytes: 1024 * 1024, maxPendingOperations: 16 };

/** The status a handler's error becomes, per service (PS3.4 C.4, PS3.7 C). */
export function statusOf(e: unknown, service: Service): number {
  if (e instanceof DimseFailure) return e.status;
  if (isRampartError(e)) {
    switch (e.code) {
      case 'access-denied': case 'unauthenticated': return DimseStatus.RefusedNotAuthorized;
      case 'bad-request': case 'invalid-dicom': return service === 'store' ? DimseStatus.CannotUnderstand : DimseStatus.IdentifierDoesNotMatchSOPClass;
      case 'too-large': case 'unavailable': return DimseStatus.OutOfResources;
      // PS3.4 C.4: out of resources is 0xA700 for C-FIND (and C-STORE), 0xA701 for C-MOVE, 0xA702 for C-GET.
      case 'rate-limited': return service === 'move' ? DimseStatus.MoveOutOfResourcesCalculate : service === 'get' ? DimseStatus.RetrieveOutOfResourcesSubOps : DimseStatus.OutOfResources;
      case 'conflict': case 'already-exists': return DimseStatus.DuplicateSOPInstance;
      case 'not-found': return service === 'store' ? DimseStatus.ProcessingFailure : DimseStatus.Success;
      default: return DimseStatus.ProcessingFailure;
    }
  }
  return service === 'store' ? DimseStatus.ProcessingFailure : DimseStatus.UnableToProcess;
}

const comment = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 64);

export class ScpSession<S> {
  private queue: IncomingMessage[] = [];
  private running = false;
  private current: { messageId: number; abort: AbortController } | undefined;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: (() => void) | undefined;

  constructor(
    private readonly assoc: Association,
    private readonly handlers: DimseHandlers<S>,
    private readonly session: S,
    private readonly allowed: ReadonlySet<Service>,
    private readonly scu: ScuConnector,
    private readonly limits: ScpLimits = DEFAULT_SCP_LIMITS,
  ) {}

  /** Resolves when no operation is queued or running (for A-RELEASE). */
  drained(): Promise<void> {
    return this.running || this.queue.length ? this.idle : Promise.resolve();
  }

  onRequest(msg: IncomingMessage): void {
    const c = msg.command;
    if (c.commandField === CommandField.CCancelRq) {
      if (this.current && this.current.messageId === c.messageIdBeingRespondedTo) this.current.abort.abort();
      msg.data?.discard();
      return;
    }
    if (this.queue.length >= this.limits.maxPendingOperations) {
      this.assoc.abort(`more than ${this.limits.maxPendingOperations} operations outstanding`);
      return;
    }
    this.queue.push(msg);
    if (!this.running) void this.pump();
  }

  private async pump(): Promise<void> {
    this.running = true;
    this.idle = new Promise((r) => (this.markIdle = r));
    try {
      while (this.queue.length) {
        const msg = this.queue.shift()!;
        try {
          await this.handle(msg);
        } catch {
          // handle() answers every failure itself; a throw here means the association is gone.
        } finally {
          msg.data?.discard();
        }
      }
    } finally {
      this.running = false;
      this.markIdle?.();
    }
  }

  private tsOf(contextId: number): string {
    return this.assoc.ac!.contexts.find((c) => c.id === contextId)!.transferSyntax;
  }
  private abstractOf(contextId: number): string {
    return this.assoc.rq!.contexts.find((c) => c.id === contextId)!.abstractSyntax;
  }

  private respond(msg: IncomingMessage, field: number, extra: Partial<Command>, data?: Buffer): Promise<void> {
    const c = msg.command;
    return this.assoc.send(msg.contextId, {
      commandField: field,
      messageIdBeingRespondedTo: c.messageId,
      affectedSopClassUid: c.affectedSopClassUid,
      hasDataSet: data !== undefined,
      ...extra,
    }, data);
  }

  private async handle(msg: IncomingMessage): Promise<void> {
    const c = msg.command;
    const abstract = this.abstractOf(msg.contextId);
    const service = serviceOf(abstract);
    // The command's SOP class must be the context's (PS3.7 9.1.1.1); the service must be one we allow.
    const sopClass = c.affectedSopClassUid ?? c.requestedSopClassUid;
    const responseField = c.commandField | 0x8000;
    if (!service || sopClass !== abstract || !this.allowed.has(service)) {
      await this.respond(msg, responseField, {
        status: service && this.allowed.has(service) ? DimseStatus.SOPClassNotSupported : DimseStatus.RefusedNotAuthorized,
        affectedSopInstanceUid: c.affectedSopInstanceUid,
      });
      return;
    }
    switch (c.commandField) {
      case CommandField.CEchoRq:
        if (service !== 'echo') break;
        try {
          await this.handlers.echo(this.session);
          await this.respond(msg, CommandField.CEchoRsp, { status: DimseStatus.Success });
        } catch (e) {
          await this.respond(msg, CommandField.CEchoRsp, { status: statusOf(e, 'echo'), errorComment: comment(e) });
        }
        return;
      case CommandField.CStoreRq:
        if (service !== 'store' || !msg.data) break;
        return this.store(msg);
      case CommandField.CFindRq:
        if (service !== 'find' || !msg.data) break;
        return this.find(msg);
      case CommandField.CMoveRq:
        if (service !== 'move' || !msg.data) break;
        return this.retrieve(msg, 'move');
      case CommandField.CGetRq:
        if (service !== 'get' || !msg.data) break;
        return this.retrieve(msg, 'get');
    }
    // A command this context does not carry (e.g. C-FIND on a storage context), or one without its data set.
    await this.respond(msg, responseField, { status: DimseStatus.CannotUnderstand, errorComment: 'command does not fit its presentation context' });
  }

  private async store(msg: IncomingMessage): Promise<void> {
    const c = msg.command;
    const extra = { affectedSopInstanceUid: c.affectedSopInstanceUid };
    let status: number = DimseStatus.Success;
    let errorComment: string | undefined;
    try {
      if (!c.affectedSopInstanceUid || !isStorageSopClass(c.affectedSopClassUid ?? '')) {
        throw new DimseFailure(DimseStatus.CannotUnderstand, 'C-STORE without an Affected SOP Instance UID');
      }
      const r = await this.handlers.store(this.session, {
        sopClassUid: c.affectedSopClassUid!, sopInstanceUid: c.affectedSopInstanceUid,
        transferSyntaxUid: this.tsOf(msg.contextId), moveOriginatorAe: c.moveOriginatorAe,
      }, msg.data!);
      status = r.status;
      errorComment = r.errorComment;
    } catch (e) {
      status = statusOf(e, 'store');
      errorComment = comment(e);
    }
    msg.data!.discard();
    await this.respond(msg, CommandField.CStoreRsp, { ...extra, status, errorComment });
  }

  /** Reads an identifier data set, bounded, in the context's transfer syntax. */
  private async identifier(msg: IncomingMessage): Promise<DataSet> {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of msg.data!) {
      size += chunk.length;
      if (size > this.limits.maxIdentifierBytes) throw new DimseFailure(DimseStatus.OutOfResources, 'identifier too large');
      parts.push(chunk);
    }
    const ts = transferSyntaxInfo(this.tsOf(msg.contextId))!;
    try {
      return parseDataSet(Buffer.concat(parts), ts, { limits: { maxDepth: 4, maxElements: 10_000 } });
    } catch (e) {
      throw new DimseFailure(DimseStatus.IdentifierDoesNotMatchSOPClass, `identifier does not parse: ${comment(e)}`);
    }
  }

  private encode(ds: DataSet, contextId: number): Buffer {
    return writeDataSet(ds, this.tsOf(contextId));
  }

  private async find(msg: IncomingMessage): Promise<void> {
    const abort = new AbortController();
    this.current = { messageId: msg.command.messageId ?? -1, abort };
    try {
      const identifier = await this.identifier(msg);
      const model = FIND_MODELS[this.abstractOf(msg.contextId)]!;
      for await (const row of this.handlers.find(this.session, { model, sopClassUid: this.abstractOf(msg.contextId), identifier }, abort.signal)) {
        if (abort.signal.aborted) break;
        await this.respond(msg, CommandField.CFindRsp, { status: DimseStatus.Pending }, this.encode(row, msg.contextId));
      }
      await this.respond(msg, CommandField.CFindRsp, { status: abort.signal.aborted ? DimseStatus.Cancel : DimseStatus.Success });
    } catch (e) {
      if (!this.assoc.isEstablished) throw e;
      await this.respond(msg, CommandField.CFindRsp, { status: statusOf(e, 'find'), errorComment: comment(e) });
    } finally {
      this.current = undefined;
    }
  }

  private async retrieve(msg: IncomingMessage, kind: 'move' | 'get'): Promise<void> {
    const field = kind === 'move' ? CommandField.CMoveRsp : CommandField.CGetRsp;
    const abort = new AbortController();
    this.current = { messageId: msg.command.messageId ?? -1, abort };
    const counts = { remaining: 0, completed: 0, failed: 0, warning: 0 };
    let req: RetrieveRequest | undefined;
    const failedUids: string[] = [];
    try {
      const identifier = await this.identifier(msg);
      const model = (kind === 'move' ? MOVE_MODELS : GET_MODELS)[this.abstractOf(msg.contextId)]!;
      req = { kind, model, identifier, destination: msg.command.moveDestination?.trim() };
      let destination;
      if (kind === 'move') {
        if (!req.destination) throw new DimseFailure(DimseStatus.MoveDestinationUnknown, 'no move destination');
        destination = await this.handlers.moveDestination(this.session, req.destination);
        if (!destination) throw new DimseFailure(DimseStatus.MoveDestinationUnknown, 'move destination unknown');
      }
      const ops = await this.handlers.retrieve(this.session, req);
      counts.remaining = ops.length;
      // Nothing matched (or nothing the caller may see): no association to the destination,
      // which would offer it no presentation context at all; the answer is success, 0 sent.
      const sender: StoreSender = kind === 'get' ? this.getSender()
        : ops.length === 0 ? { send: async () => DimseStatus.ProcessingFailure, close: async () => undefined }
          : await this.scu.storeSender(destination!, this.assoc.rq!.calledAeTitle, ops);
      try {
        let lastPending = Date.now();
        for (const [k, op] of ops.entries()) {
          if (abort.signal.aborted) break;
          ops[k + 1]?.prefetch?.(); // read the next object while this one is sent
          let st: number;
          try {
            st = await sender.send(op, { moveOriginatorAe: kind === 'move' ? this.assoc.rq!.callingAeTitle : undefined, moveOriginatorMessageId: kind === 'move' ? msg.command.messageId : undefined });
          } catch {
            st = DimseStatus.ProcessingFailure;
          }
          counts.remaining--;
          if (st === 0) counts.completed++;
          else if ((st & 0xf000) === 0xb000) counts.warning++;
          else { counts.failed++; failedUids.push(op.sopInstanceUid); }
          // Pending responses at most every 250 ms (PS3.4 C.4.2.3.1 makes them optional), not one per instance.
          if (counts.remaining > 0 && Date.now() - lastPending >= PENDING_INTERVAL_MS) {
            lastPending = Date.now();
            await this.respond(msg, field, { status: DimseStatus.Pending, ...counts });
          }
        }
      } finally {
        await sender.close();
      }
      const status = abort.signal.aborted ? DimseStatus.Cancel
        : counts.failed + counts.warning === 0 ? DimseStatus.Success
          : counts.completed + counts.warning === 0 && counts.failed > 0 ? DimseStatus.RetrieveOutOfResourcesSubOps : DimseStatus.SubOpsCompleteWithFailures;
      await this.respond(msg, field, { status, completed: counts.completed, failed: counts.failed, warning: counts.warning, ...(abort.signal.aborted ? { remaining: counts.remaining } : {}) },
        failedUids.length ? this.failedList(failedUids, msg.contextId) : undefined);
    } catch (e) {
      if (!this.assoc.isEstablished) throw e;
      await this.respond(msg, field, { status: statusOf(e, kind), errorComment: comment(e), completed: counts.completed, failed: counts.failed, warning: counts.warning });
    } finally {
      this.current = undefined;
      if (req) await this.handlers.retrieved?.(this.session, req, counts).catch(() => undefined);
    }
  }

  /** Failed SOP Instance UID List (0008,0058) for the final retrieve response. */
  private failedList(uids: string[], contextId: number): Buffer {
    const ds = new DataSet(true, []);
    let v = Buffer.from(uids.join('\\'), 'latin1');
    if (v.length & 1) v = Buffer.concat([v, Buffer.of(0)]);
    ds.set({ tag: 0x00080058, vr: 'UI', length: v.length, valueOffset: 0, value: v });
    return this.encode(ds, contextId);
  }

  /** C-GET sub-operations go back over this association, on contexts where the peer took the SCP role. */
  private getSender(): StoreSender {
    return {
      send: async (op) => {
        const candidates = this.assoc.ac!.contexts.filter((c) =>
          c.result === 0 && this.assoc.rq!.contexts.find((r) => r.id === c.id)!.abstractSyntax === op.sopClassUid);
        // As stored when the peer took that syntax; converted only when it took none that matches.
        const ctx = candidates.find((c) => c.transferSyntax === op.transferSyntaxUid) ?? candidates.find((c) => op.canConvertTo(c.transferSyntax));
        const role = this.assoc.ac!.userInfo.roles.find((r) => r.sopClassUid === op.sopClassUid);
        if (!ctx || !role?.scpRole) return DimseStatus.SOPClassNotSupported;
        return storeOver(this.assoc, ctx.id, ctx.transferSyntax, op);
      },
      close: async () => undefined,
    };
  }
}

export interface StoreSender {
  send(op: SubOperation, origin?: { moveOriginatorAe?: string; moveOriginatorMessageId?: number }): Promise<number>;
  close(): Promise<void>;
}

/** One C-STORE request over an association; returns the peer's status. */
export async function storeOver(assoc: Association, contextId: number, tsUid: string, op: SubOperation, origin: { moveOriginatorAe?: string; moveOriginatorMessageId?: number } = {}): Promise<number> {
  const data = await op.dataset(tsUid);
  let status: number = DimseStatus.ProcessingFailure;
  for await (const rsp of assoc.request(contextId, {
    commandField: CommandField.CStoreRq, affectedSopClassUid: op.sopClassUid, affectedSopInstanceUid: op.sopInstanceUid,
    priority: 0, hasDataSet: true, ...origin,
  }, data)) {
    status = rsp.command.status ?? DimseStatus.ProcessingFailure;
  }
  return status;
}

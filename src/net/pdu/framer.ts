// Cuts the byte stream of an association into whole PDUs (PS3.8 9.3.1: type, reserved, 32-bit
// big-endian length). A declared length over the limit for its type is refused as soon as the
// 6-byte header is seen, before any of that body is buffered.
import { AbortReason, PduError, PduType } from './types.js';

export interface FramerLimits {
  /** The maximum P-DATA-TF length we advertised (must be a real bound, not 0). */
  maxPduLength: number;
  /** A-ASSOCIATE-RQ/AC bodies, bounded even though user identity (JWT) items can be long. */
  maxAssociateLength: number;
}

export const DEFAULT_MAX_ASSOCIATE_LENGTH = 65_536;

/**
 * Extra bytes tolerated on a P-DATA-TF body over the advertised maximum: some peers fill the
 * PDV *data* up to the maximum and so send maximum + 6 (PDV length, context id, control header).
 */
export const PDATA_LENGTH_SLACK = 6;

/** A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT bodies are 4 bytes. */
const FIXED_BODY_LENGTH = 4;

/** Chunks consumed before the chunk list is compacted (keeps 1-byte-chunk streams linear). */
const COMPACT_AFTER = 1024;
const CONSUMED = Buffer.alloc(0);

export class PduFramer {
  private readonly chunks: Buffer[] = [];
  /** Index of the first unconsumed chunk, and the offset of the first unconsumed byte in it. */
  private first = 0;
  private offset = 0;
  private total = 0;
  private header: { type: number; length: number } | undefined;
  private failure: PduError | undefined;

  constructor(private readonly limits: FramerLimits) {
    if (!(limits.maxPduLength > 0) || !(limits.maxAssociateLength > 0)) throw new RangeError('framer limits must be positive');
  }

  /** Adds bytes from the socket; throws PduError at once if the next PDU's header is refused. */
  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
    this.readHeader();
  }

  /** The next whole PDU, or undefined until enough bytes have arrived. */
  next(): { type: number; body: Buffer } | undefined {
    if (this.failure) throw this.failure;
    const h = this.readHeader();
    if (!h || this.total < h.length) return undefined;
    this.header = undefined;
    return { type: h.type, body: this.take(h.length) };
  }

  /** Bytes held: a partial header or body not yet returned. */
  buffered(): number {
    return this.total + (this.header ? 6 : 0);
  }

  private readHeader(): { type: number; length: number } | undefined {
    if (this.header || this.total < 6) return this.header;
    const h = this.take(6);
    const type = h[0]!;
    const length = h.readUInt32BE(2);
    const limit = this.limitFor(type);
    if (limit === undefined) this.fail(new PduError(AbortReason.UnrecognizedPdu, `unknown PDU type 0x${type.toString(16)}`));
    else if (length > limit) this.fail(new PduError(AbortReason.InvalidPduParameterValue, `PDU type 0x${type.toString(16)} declares ${length} bytes, over the limit of ${limit}`));
    this.header = { type, length };
    return this.header;
  }

  private fail(e: PduError): never {
    this.failure = e;
    throw e;
  }

  private limitFor(type: number): number | undefined {
    switch (type) {
      case PduType.AssociateRq:
      case PduType.AssociateAc:
        return this.limits.maxAssociateLength;
      case PduType.PData:
        return this.limits.maxPduLength + PDATA_LENGTH_SLACK;
      case PduType.AssociateRj:
      case PduType.ReleaseRq:
      case PduType.ReleaseRp:
      case PduType.Abort:
        return FIXED_BODY_LENGTH;
      default:
        return undefined;
    }
  }

  /** Removes n buffered bytes (n <= total): a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.total -= n;
    const head = this.chunks[this.first]!;
    if (head.length - this.offset >= n) {
      const out = head.subarray(this.offset, this.offset + n);
      this.advance(n, head.length);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.first]!;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.advance(count, chunk.length);
    }
    return out;
  }

  private advance(count: number, chunkLength: number): void {
    this.offset += count;
    if (this.offset < chunkLength) return;
    this.offset = 0;
    // Drop the consumed chunk now: the slot stays until compaction, but the bytes must not (with
    // 64 KiB socket reads, 1024 slots would hold 64 MiB per association).
    this.chunks[this.first++] = CONSUMED;
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
    } else if (this.first >= COMPACT_AFTER && this.first * 2 >= this.chunks.length) {
      this.chunks.splice(0, this.first);
      this.first = 0;
    }
  }
}

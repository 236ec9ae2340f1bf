// Part 10 file and data set parser (PS3.10 section 7, PS3.5 sections 7.1, 7.5 and A.4).
// Every length is checked against the bytes present and nesting depth is bounded, so a
// hostile file yields a clear InvalidDicom error, never an out-of-bounds read or a hang.
import { inflateRawSync } from 'node:zlib';
import { invalidDicom } from '../errors.js';
import { DataSet, UNDEFINED_LENGTH, type Element } from './dataset.js';
import { lookupTag } from './dictionary.generated.js';
import { Tags, tagString, type Tag } from './tag.js';
import { transferSyntaxInfo, type TransferSyntaxInfo } from './transfer-syntax.js';
import { hasLongLength, isVR, type VR } from './vr.js';

export interface ParseLimits {
  /** Sequence nesting depth. */
  maxDepth: number;
  /** Elements in the whole data set, items included. */
  maxElements: number;
  /** Bytes a deflated data set may inflate to. */
  maxInflatedBytes: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxDepth: 16, maxElements: 500_000, maxInflatedBytes: 1 << 30 };

export interface ParseOptions {
  limits?: Partial<ParseLimits>;
  /**
   * Stop at top-level pixel data: its header is recorded (length and offset, no value) and
   * its bytes need not be present. Used to index a large file from its first bytes.
   */
  stopAtPixelData?: boolean;
  /**
   * The buffer is only the start of a longer file: running out of bytes throws NeedMoreBytes
   * instead of InvalidDicom, so that the caller can read more and try again.
   */
  partial?: boolean;
}

/** Thrown when a partial parse needs more of the file. */
export class NeedMoreBytes extends Error {
  constructor(readonly needed: number) { super('need more bytes'); }
}

export interface Part10 {
  meta: DataSet;
  dataset: DataSet;
  transferSyntax: TransferSyntaxInfo;
  /** Offset of the data set after the meta group in the source buffer (before inflation). */
  datasetOffset: number;
  /** For deflated files, the inflated data set bytes the element offsets refer to. */
  inflated?: Buffer;
}

/** Parses a Part 10 file: 128-byte preamble, "DICM", the file meta group, then the data set. */
export function parsePart10(buf: Uint8Array, opts: ParseOptions = {}): Part10 {
  if (buf.length < 132) {
    if (opts.partial) throw new NeedMoreBytes(132);
    throw invalidDicom('not a DICOM Part 10 file: shorter than its 132-byte header');
  }
  if (buf[128] !== 0x44 || buf[129] !== 0x49 || buf[130] !== 0x43 || buf[131] !== 0x4d) {
    throw invalidDicom('not a DICOM Part 10 file: no "DICM" prefix at byte 128');
  }
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  // The meta group is always explicit VR little endian (PS3.10 7.1).
  const metaParser = new Parser(buf, true, true, limits, { partial: opts.partial, stopAtPixelData: false });
  const meta = new DataSet(true, []);
  let pos = 132;
  while (pos + 4 <= buf.length) {
    const group = buf[pos]! | (buf[pos + 1]! << 8);
    if (group !== 0x0002) break;
    pos = metaParser.readElement(pos, meta, 0);
  }
  if (pos + 4 > buf.length && opts.partial) throw new NeedMoreBytes(buf.length * 2);
  const tsUid = meta.string(Tags.TransferSyntaxUID);
  if (!tsUid) throw invalidDicom('file meta information has no Transfer Syntax UID (0002,0010)');
  const ts = transferSyntaxInfo(tsUid);
  if (!ts) throw invalidDicom(`transfer syntax ${tsUid.slice(0, 64)} is not supported`);
  if (!meta.string(Tags.MediaStorageSOPInstanceUID)) {
    throw invalidDicom('file meta information has no Media Storage SOP Instance UID (0002,0003)');
  }
  if (ts.deflated) {
    if (opts.partial) throw new NeedMoreBytes(Number.MAX_SAFE_INTEGER); // needs the whole file
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(buf.subarray(pos), { maxOutputLength: limits.maxInflatedBytes });
    } catch (e) {
      throw invalidDicom(`deflated data set does not inflate: ${(e as Error).message}`);
    }
    const dataset = parseDataSet(inflated, ts, { ...opts, limits });
    return { meta, dataset, transferSyntax: ts, datasetOffset: pos, inflated };
  }
  const dataset = new DataSet(ts.littleEndian, []);
  const p = new Parser(buf, ts.explicitVR, ts.littleEndian, limits, opts);
  p.readDataSet(pos, buf.length, dataset, 0);
  return { meta, dataset, transferSyntax: ts, datasetOffset: pos };
}

/** Parses a bare data set (no preamble or meta group) in the given transfer syntax. */
export function parseDataSet(buf: Uint8Array, ts: TransferSyntaxInfo, opts: ParseOptions = {}): DataSet {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const ds = new DataSet(ts.littleEndian, []);
  new Parser(buf, ts.explicitVR, ts.littleEndian, limits, opts).readDataSet(0, buf.length, ds, 0);
  return ds;
}

class Parser {
  private elements = 0;
  /** Whether the last readDataSet call ended on an item delimiter (rather than at its end). */
  private endedOnDelimiter = false;
  private readonly dv: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly explicit: boolean,
    private readonly le: boolean,
    private readonly limits: ParseLimits,
    private readonly opts: ParseOptions,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private short(need: number, what: string): never {
    if (this.opts.partial) throw new NeedMoreBytes(need);
    throw invalidDicom(`truncated: ${what} runs past the end of the data`);
  }

  private u16(pos: number): number { return this.dv.getUint16(pos, this.le); }
  private u32(pos: number): number { return this.dv.getUint32(pos, this.le); }
  private tagAt(pos: number): Tag { return ((this.u16(pos) << 16) | this.u16(pos + 2)) >>> 0; }

  /** Reads elements from pos until end (exclusive) or an item delimiter; returns where it stopped. */
  readDataSet(pos: number, end: number, ds: DataSet, depth: number): number {
    this.endedOnDelimiter = false;
    while (pos < end) {
      if (pos + 8 > end) {
        // Trailing padding shorter than an element header is tolerated only at the very end.
        if (end === this.buf.length && !this.opts.partial && this.buf.subarray(pos, end).every((b) => b === 0)) return end;
        this.short(pos + 8, 'an element header');
      }
      const t = this.tagAt(pos);
      if (t === Tags.ItemDelimitationItem) {
        if (depth === 0) throw invalidDicom(`unexpected item delimiter at offset ${pos}`);
        this.endedOnDelimiter = true;
        return pos + 8;
      }
      if (t === Tags.SequenceDelimitationItem) throw invalidDicom(`unexpected sequence delimiter at offset ${pos}`);
      if (t === Tags.PixelData && depth === 0 && this.opts.stopAtPixelData) {
        this.readElement(pos, ds, depth);
        return end;
      }
      pos = this.readElement(pos, ds, depth);
      this.endedOnDelimiter = false;
      if (ds.has(Tags.SpecificCharacterSet) && ds.charset.length === 0) {
        ds.charset = ds.strings(Tags.SpecificCharacterSet);
      }
    }
    return pos;
  }

  /** Reads one element at pos into ds; returns the offset after it. */
  readElement(pos: number, ds: DataSet, depth: number): number {
    if (++this.elements > this.limits.maxElements) {
      throw invalidDicom(`more than ${this.limits.maxElements} elements`);
    }
    if (pos + 8 > this.buf.length) this.short(pos + 8, 'an element header');
    const t = this.tagAt(pos);
    let vr: VR;
    let length: number;
    let valuePos: number;
    if (this.explicit && (t >>> 16) !== 0xfffe) {
      const c0 = this.buf[pos + 4]!, c1 = this.buf[pos + 5]!;
      const code = String.fromCharCode(c0, c1);
      if (isVR(code)) {
        vr = code;
        if (hasLongLength(vr)) {
          if (pos + 12 > this.buf.length) this.short(pos + 12, 'an element header');
          length = this.u32(pos + 8);
          valuePos = pos + 12;
        } else {
          length = this.u16(pos + 6);
          valuePos = pos + 8;
        }
      } else if (c0 === 0x20 && c1 === 0x20) {
        // Two spaces where a VR belongs: some writers do this for unknown VRs; treat as UN (long form).
        vr = 'UN';
        if (pos + 12 > this.buf.length) this.short(pos + 12, 'an element header');
        length = this.u32(pos + 8);
        valuePos = pos + 12;
      } else {
        throw invalidDicom(`element ${tagString(t)} at offset ${pos} has an invalid VR`);
      }
    } else {
      vr = implicitVR(t);
      length = this.u32(pos + 4);
      valuePos = pos + 8;
    }

    const el: Element = { tag: t, vr, length, valueOffset: valuePos };

    if (t === Tags.PixelData && length === UNDEFINED_LENGTH) {
      // Encapsulated pixel data (PS3.5 A.4): items until the sequence delimiter.
      if (depth === 0 && this.opts.stopAtPixelData) { ds.set(el); return this.buf.length; }
      el.fragments = [];
      let p = valuePos;
      for (;;) {
        if (p + 8 > this.buf.length) this.short(p + 8, 'encapsulated pixel data');
        const it = this.tagAt(p);
        const len = this.u32(p + 4);
        if (it === Tags.SequenceDelimitationItem) { p += 8; break; }
        if (it !== Tags.Item) throw invalidDicom(`encapsulated pixel data: expected an item at offset ${p}, found ${tagString(it)}`);
        if (len === UNDEFINED_LENGTH) throw invalidDicom('encapsulated pixel data: a fragment has undefined length');
        if (p + 8 + len > this.buf.length) this.short(p + 8 + len, 'a pixel data fragment');
        el.fragments.push(this.buf.subarray(p + 8, p + 8 + len));
        if (el.fragments.length > this.limits.maxElements) throw invalidDicom('too many pixel data fragments');
        p += 8 + len;
      }
      ds.set(el);
      return p;
    }

    if (vr === 'SQ' || (length === UNDEFINED_LENGTH && (vr === 'UN' || vr === 'OB' || vr === 'OW'))) {
      if (length === UNDEFINED_LENGTH && vr !== 'SQ') {
        // PS3.5 6.2.2: UN of undefined length holds an implicit VR little endian sequence.
        return this.readUnSequence(valuePos, el, ds, depth);
      }
      return this.readSequence(valuePos, length, el, ds, depth);
    }

    if (length === UNDEFINED_LENGTH) throw invalidDicom(`element ${tagString(t)} has undefined length but is not a sequence`);
    const end = valuePos + length;
    if (end > this.buf.length) {
      if (t === Tags.PixelData && depth === 0 && this.opts.stopAtPixelData) { ds.set(el); return end; }
      if (this.opts.partial) throw new NeedMoreBytes(end);
      throw invalidDicom(`element ${tagString(t)} length ${length} exceeds the ${this.buf.length - valuePos} bytes left`);
    }
    el.value = this.buf.subarray(valuePos, end);
    if (vr === 'UN' && this.le && (t >>> 16) % 2 === 0) {
      // A public attribute sent as UN (by an archive that did not know it) gets its real VR back
      // (PS3.5 6.2.2): UN values are little endian, the same bytes as implicit VR.
      const known = implicitVR(t);
      if (known !== 'UN' && known !== 'SQ') el.vr = known;
    }
    ds.set(el);
    return end;
  }

  private readSequence(valuePos: number, length: number, el: Element, ds: DataSet, depth: number): number {
    if (depth + 1 > this.limits.maxDepth) throw invalidDicom(`sequences nested deeper than ${this.limits.maxDepth}`);
    const defined = length !== UNDEFINED_LENGTH;
    const end = defined ? valuePos + length : this.buf.length;
    if (defined && end > this.buf.length) this.short(end, `sequence ${tagString(el.tag)}`);
    el.items = [];
    let p = valuePos;
    for (;;) {
      if (defined && p >= end) break;
      if (p + 8 > this.buf.length) this.short(p + 8, `sequence ${tagString(el.tag)}`);
      const it = this.tagAt(p);
      const len = this.u32(p + 4);
      if (it === Tags.SequenceDelimitationItem) {
        p += 8;
        if (defined) throw invalidDicom(`sequence ${tagString(el.tag)} of defined length has a delimiter`);
        break;
      }
      if (it !== Tags.Item) throw invalidDicom(`sequence ${tagString(el.tag)}: expected an item at offset ${p}, found ${tagString(it)}`);
      const item = new DataSet(this.le, ds.charset);
      p += 8;
      if (len === UNDEFINED_LENGTH) {
        p = this.readDataSet(p, defined ? end : this.buf.length, item, depth + 1);
        if (!this.endedOnDelimiter) this.short(p + 8, `an item of sequence ${tagString(el.tag)}`);
        this.endedOnDelimiter = false;
      } else {
        const itemEnd = p + len;
        if (itemEnd > (defined ? end : this.buf.length)) this.short(itemEnd, `an item of sequence ${tagString(el.tag)}`);
        const stop = this.readDataSet(p, itemEnd, item, depth + 1);
        if (stop !== itemEnd) throw invalidDicom(`an item of sequence ${tagString(el.tag)} ends early at offset ${stop}`);
        p = itemEnd;
      }
      el.items.push(item);
    }
    if (defined && p !== end) throw invalidDicom(`sequence ${tagString(el.tag)} overruns its length`);
    ds.set(el);
    return p;
  }

  private readUnSequence(valuePos: number, el: Element, ds: DataSet, depth: number): number {
    const sub = new Parser(this.buf, false, true, this.limits, this.opts);
    sub.elements = this.elements;
    el.vr = 'SQ';
    const next = sub.readSequence(valuePos, UNDEFINED_LENGTH, el, ds, depth);
    this.elements = sub.elements;
    return next;
  }
}

/** The VR an implicit-VR element has: from the dictionary, or the PS3.5 7.8 rules for private tags. */
export function implicitVR(t: Tag): VR {
  const el = t & 0xffff;
  if (el === 0x0000) return 'UL'; // group length
  const group = t >>> 16;
  if (group & 1) {
    if (el >= 0x0010 && el <= 0x00ff) return 'LO'; // private creator
    return 'UN';
  }
  const d = lookupTag(t);
  if (d && isVR(d.vr)) return d.vr;
  return 'UN';
}


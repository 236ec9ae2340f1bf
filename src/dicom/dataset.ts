// The in-memory data set model: elements keep their raw value bytes (a view into the source
// buffer) and are decoded on demand, so parsing a header costs no string work.
import type { Tag } from './tag.js';
import type { VR } from './vr.js';
import { isCharsetText } from './vr.js';
import { decodeText } from './charset.js';

export const UNDEFINED_LENGTH = 0xffffffff;

export interface Element {
  tag: Tag;
  vr: VR;
  /** The value length as encoded (UNDEFINED_LENGTH for undefined-length SQ and encapsulated data). */
  length: number;
  /** Offset of the value in the parsed buffer (for values beyond a partial parse, the file offset). */
  valueOffset: number;
  /** Raw value bytes, absent for SQ, encapsulated pixel data and values not read (partial parse). */
  value?: Uint8Array;
  /** SQ items. */
  items?: DataSet[];
  /** Encapsulated pixel data: item values in order; the first is the Basic Offset Table. */
  fragments?: Uint8Array[];
}

export class DataSet {
  readonly elements = new Map<Tag, Element>();
  constructor(
    readonly littleEndian: boolean,
    /** Specific Character Set values in force (inherited by items unless they carry their own). */
    public charset: readonly string[],
  ) {}

  get(t: Tag): Element | undefined {
    return this.elements.get(t);
  }
  has(t: Tag): boolean {
    return this.elements.has(t);
  }
  set(e: Element): void {
    this.elements.set(e.tag, e);
  }
  /** Elements in ascending tag order. */
  sorted(): Element[] {
    return [...this.elements.values()].sort((a, b) => a.tag - b.tag);
  }

  /** All values of a string element, decoded and trimmed; [] when absent or empty. */
  strings(t: Tag): string[] {
    const e = this.elements.get(t);
    return e ? elementStrings(e, this.charset) : [];
  }
  /** The first value of a string element, or '' when absent. */
  string(t: Tag): string {
    return this.strings(t)[0] ?? '';
  }
  /** The whole value of a string element (backslashes kept), trimmed; '' when absent. */
  text(t: Tag): string {
    const e = this.elements.get(t);
    if (!e?.value) return '';
    return trimValue(rawText(e, this.charset), e.vr);
  }
  numbers(t: Tag): number[] {
    const e = this.elements.get(t);
    return e ? elementNumbers(e, this.littleEndian) : [];
  }
  number(t: Tag): number | undefined {
    return this.numbers(t)[0];
  }
}

function rawText(e: Element, charset: readonly string[]): string {
  const v = e.value!;
  if (isCharsetText(e.vr)) return decodeText(v, charset, e.vr);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
}

/** Trailing spaces and NULs are padding for every string VR; leading spaces too except for text VRs. */
export function trimValue(s: string, vr: VR): string {
  if (vr === 'UT' || vr === 'ST' || vr === 'LT' || vr === 'UR') return s.replace(/[\0 ]+$/, '');
  return s.replace(/^[ ]+/, '').replace(/[\0 ]+$/, '');
}

export function elementStrings(e: Element, charset: readonly string[]): string[] {
  if (!e.value || e.value.length === 0) return [];
  const s = rawText(e, charset);
  // LT, ST, UT and UR are single-valued: a backslash in them is text.
  if (e.vr === 'LT' || e.vr === 'ST' || e.vr === 'UT' || e.vr === 'UR') return [trimValue(s, e.vr)];
  return s.split('\\').map((x) => trimValue(x, e.vr));
}

export function elementNumbers(e: Element, littleEndian: boolean): number[] {
  const v = e.value;
  if (!v || v.length === 0) return [];
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  const le = littleEndian;
  switch (e.vr) {
    case 'US': case 'OW': for (let i = 0; i + 2 <= v.length; i += 2) out.push(dv.getUint16(i, le)); break;
    case 'SS': for (let i = 0; i + 2 <= v.length; i += 2) out.push(dv.getInt16(i, le)); break;
    case 'UL': case 'OL': for (let i = 0; i + 4 <= v.length; i += 4) out.push(dv.getUint32(i, le)); break;
    case 'SL': for (let i = 0; i + 4 <= v.length; i += 4) out.push(dv.getInt32(i, le)); break;
    case 'FL': case 'OF': for (let i = 0; i + 4 <= v.length; i += 4) out.push(dv.getFloat32(i, le)); break;
    case 'FD': case 'OD': for (let i = 0; i + 8 <= v.length; i += 8) out.push(dv.getFloat64(i, le)); break;
    case 'SV': for (let i = 0; i + 8 <= v.length; i += 8) out.push(Number(dv.getBigInt64(i, le))); break;
    case 'UV': case 'OV': for (let i = 0; i + 8 <= v.length; i += 8) out.push(Number(dv.getBigUint64(i, le))); break;
    case 'AT': for (let i = 0; i + 4 <= v.length; i += 4) out.push(((dv.getUint16(i, le) << 16) | dv.getUint16(i + 2, le)) >>> 0); break;
    case 'IS': case 'DS': {
      const s = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
      for (const part of s.split('\\')) {
        const t = part.trim();
        if (t === '') continue;
        const n = Number(t);
        if (Number.isFinite(n)) out.push(n);
      }
      break;
    }
    default: break;
  }
  return out;
}

// DICOM JSON Model (PS3.18 Annex F): data set -> JSON object keyed by "GGGGEEEE".
import { DataSet, elementNumbers, elementStrings, type Element } from './dataset.js';
import { Tags, tagHex } from './tag.js';
import { isBulkVR, swapSize, type VR } from './vr.js';

export interface JsonAttribute {
  vr: VR;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}
export type JsonDataSet = Record<string, JsonAttribute>;

export interface JsonOptions {
  /** Binary values longer than this become a BulkDataURI (pixel data always does). */
  bulkDataThreshold: number;
  /** Prefix of BulkDataURI values; the tag path (e.g. "7FE00010", "00540016/0/00181072") follows. */
  bulkDataPrefix: string;
}

/** Marker prefix for BulkDataURIs in stored metadata; the web layer replaces it with a URL. */
export const BULK_MARKER = 'bulk:';

const DEFAULTS: JsonOptions = { bulkDataThreshold: 1024, bulkDataPrefix: BULK_MARKER };

export function datasetToJson(ds: DataSet, opts: Partial<JsonOptions> = {}): JsonDataSet {
  return convert(ds, { ...DEFAULTS, ...opts }, '');
}

function convert(ds: DataSet, opts: JsonOptions, path: string): JsonDataSet {
  const out: JsonDataSet = {};
  for (const el of ds.sorted()) {
    const g = el.tag >>> 16;
    if (g === 0x0002 || (el.tag & 0xffff) === 0 || g === 0xfffe) continue; // meta, group lengths
    const key = tagHex(el.tag);
    out[key] = attribute(el, ds, opts, path ? `${path}/${key}` : key);
  }
  return out;
}

function attribute(el: Element, ds: DataSet, opts: JsonOptions, path: string): JsonAttribute {
  const vr = el.vr;
  if (el.items) {
    return el.items.length ? { vr: 'SQ', Value: el.items.map((it, i) => convert(it, opts, `${path}/${i}`)) } : { vr: 'SQ' };
  }
  if (el.fragments || el.tag === Tags.PixelData || el.tag === Tags.FloatPixelData || el.tag === Tags.DoubleFloatPixelData) {
    return { vr: el.fragments ? 'OB' : vr, BulkDataURI: opts.bulkDataPrefix + path };
  }
  if (isBulkVR(vr)) {
    if (!el.value) return { vr, BulkDataURI: opts.bulkDataPrefix + path };
    if (el.value.length === 0) return { vr };
    if (el.value.length > opts.bulkDataThreshold) return { vr, BulkDataURI: opts.bulkDataPrefix + path };
    let v = Buffer.from(el.value.buffer, el.value.byteOffset, el.value.byteLength);
    const size = swapSize(vr);
    if (!ds.littleEndian && size > 1 && v.length % size === 0) {
      v = Buffer.from(v);
      if (size === 2) v.swap16(); else if (size === 4) v.swap32(); else v.swap64();
    }
    return { vr, InlineBinary: v.toString('base64') };
  }
  if (!el.value || el.value.length === 0) return { vr };
  switch (vr) {
    case 'PN': {
      const values = elementStrings(el, ds.charset).map(personName);
      return values.length ? { vr, Value: values } : { vr };
    }
    case 'IS': case 'DS': {
      // DS and IS are JSON numbers (F.2.3); a value that is not a number stays a string rather than vanish.
      const vals = elementStrings(el, ds.charset).map((s) => {
        if (s === '') return null;
        const n = Number(s);
        return Number.isFinite(n) ? n : s;
      });
      return { vr, Value: vals };
    }
    case 'AT':
      return { vr, Value: elementNumbers(el, ds.littleEndian).map(tagHex) };
    case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD':
      return { vr, Value: elementNumbers(el, ds.littleEndian) };
    case 'SV': case 'UV': {
      const n = elementNumbers(el, ds.littleEndian);
      return { vr, Value: n };
    }
    default: {
      const vals = elementStrings(el, ds.charset).map((s) => (s === '' ? null : s));
      return { vr, Value: vals };
    }
  }
}

function personName(s: string): Record<string, string> | null {
  if (s === '') return null;
  const [a, i, p] = s.split('=');
  const o: Record<string, string> = {};
  if (a) o.Alphabetic = a;
  if (i) o.Ideographic = i;
  if (p) o.Phonetic = p;
  return o;
}

/** The first string value of a JSON attribute, for index columns. PN gives its Alphabetic group. */
export function jsonString(ds: JsonDataSet, tagKey: string): string {
  const a = ds[tagKey];
  const v = a?.Value?.[0];
  if (v == null) return '';
  if (typeof v === 'object') return (v as Record<string, string>).Alphabetic ?? '';
  return String(v);
}

/**
 * DICOM JSON back to a data set, for answers Rampart builds from the index (C-FIND responses).
 * Text is written as UTF-8, so the caller sets Specific Character Set to ISO_IR 192.
 * BulkDataURI and InlineBinary values are not carried (a query answer has none).
 */
export function jsonToDataset(json: JsonDataSet): DataSet {
  const ds = new DataSet(true, ['ISO_IR 192']);
  for (const [key, attr] of Object.entries(json)) {
    const tag = parseInt(key, 16) >>> 0;
    const vr = attr.vr;
    const values = attr.Value ?? [];
    if (vr === 'SQ') {
      ds.set({ tag, vr, length: 0, valueOffset: 0, items: (values as JsonDataSet[]).map(jsonToDataset) });
      continue;
    }
    let value: Buffer;
    switch (vr) {
      case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD': {
        const size = vr === 'US' || vr === 'SS' ? 2 : vr === 'FD' ? 8 : 4;
        value = Buffer.alloc(size * values.length);
        values.forEach((v, i) => {
          const n = Number(v);
          if (vr === 'US') value.writeUInt16LE(n & 0xffff, i * 2);
          else if (vr === 'SS') value.writeInt16LE(n, i * 2);
          else if (vr === 'UL') value.writeUInt32LE(n >>> 0, i * 4);
          else if (vr === 'SL') value.writeInt32LE(n | 0, i * 4);
          else if (vr === 'FL') value.writeFloatLE(n, i * 4);
          else value.writeDoubleLE(n, i * 8);
        });
        break;
      }
      case 'AT': {
        value = Buffer.alloc(4 * values.length);
        values.forEach((v, i) => { const t = parseInt(String(v), 16); value.writeUInt16LE(t >>> 16, i * 4); value.writeUInt16LE(t & 0xffff, i * 4 + 2); });
        break;
      }
      case 'PN': {
        const s = values.map((v) => {
          if (v == null) return '';
          const p = v as Record<string, string>;
          return [p.Alphabetic ?? '', p.Ideographic ?? '', p.Phonetic ?? ''].join('=').replace(/=+$/, '');
        }).join('\\');
        value = padText(Buffer.from(s, 'utf8'), vr);
        break;
      }
      default:
        if (isBulkVR(vr)) continue;
        value = padText(Buffer.from(values.map((v) => (v == null ? '' : String(v))).join('\\'), vr === 'UI' ? 'latin1' : 'utf8'), vr);
    }
    ds.set({ tag, vr, length: value.length, valueOffset: 0, value });
  }
  return ds;
}

function padText(b: Buffer, vr: VR): Buffer {
  return b.length & 1 ? Buffer.concat([b, Buffer.of(vr === 'UI' ? 0 : 0x20)]) : b;
}

// Data set and Part 10 writer (PS3.5 7.1 and 7.5, PS3.10 7.1). Used to transcode between the
// uncompressed transfer syntaxes and to write objects Rampart makes itself.
import { deflateRawSync } from 'node:zlib';
import { RampartError } from '../errors.js';
import { DataSet, UNDEFINED_LENGTH, type Element } from './dataset.js';
import { Tags, groupOf, elementOf, type Tag } from './tag.js';
import { transferSyntaxInfo, type TransferSyntaxInfo } from './transfer-syntax.js';
import { ImplementationClassUID, ImplementationVersionName } from './uid.js';
import { hasLongLength, swapSize, type VR } from './vr.js';

class Out {
  chunks: Buffer[] = [];
  size = 0;
  push(b: Uint8Array): void {
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.chunks.push(buf);
    this.size += buf.length;
  }
  concat(): Buffer { return Buffer.concat(this.chunks, this.size); }
}

function header(tag: Tag, vr: VR | null, length: number, ts: TransferSyntaxInfo): Buffer {
  const le = ts.littleEndian;
  const g = groupOf(tag), e = elementOf(tag);
  if (vr === null || !ts.explicitVR || g === 0xfffe) {
    const b = Buffer.alloc(8);
    if (le) { b.writeUInt16LE(g, 0); b.writeUInt16LE(e, 2); b.writeUInt32LE(length, 4); }
    else { b.writeUInt16BE(g, 0); b.writeUInt16BE(e, 2); b.writeUInt32BE(length, 4); }
    return b;
  }
  if (hasLongLength(vr)) {
    const b = Buffer.alloc(12);
    if (le) { b.writeUInt16LE(g, 0); b.writeUInt16LE(e, 2); } else { b.writeUInt16BE(g, 0); b.writeUInt16BE(e, 2); }
    b.write(vr, 4, 'latin1');
    if (le) b.writeUInt32LE(length, 8); else b.writeUInt32BE(length, 8);
    return b;
  }
  const b = Buffer.alloc(8);
  if (le) { b.writeUInt16LE(g, 0); b.writeUInt16LE(e, 2); } else { b.writeUInt16BE(g, 0); b.writeUInt16BE(e, 2); }
  b.write(vr, 4, 'latin1');
  if (le) b.writeUInt16LE(length, 6); else b.writeUInt16BE(length, 6);
  return b;
}

function swapped(v: Uint8Array, size: number): Buffer {
  const b = Buffer.from(v); // copy
  if (size === 2) b.swap16(); else if (size === 4) b.swap32(); else if (size === 8) b.swap64();
  return b;
}

const pad = (vr: VR): number => (vr === 'UI' || vr === 'OB' || vr === 'UN' ? 0x00 : 0x20);

function writeElement(out: Out, el: Element, from: DataSet, ts: TransferSyntaxInfo): void {
  let vr = el.vr;
  if (el.items) {
    out.push(header(el.tag, 'SQ', UNDEFINED_LENGTH, ts));
    for (const item of el.items) {
      out.push(header(Tags.Item, null, UNDEFINED_LENGTH, ts));
      writeDataSetTo(out, item, ts);
      out.push(header(Tags.ItemDelimitationItem, null, 0, ts));
    }
    out.push(header(Tags.SequenceDelimitationItem, null, 0, ts));
    return;
  }
  if (el.fragments) {
    if (!ts.encapsulated) throw new RampartError('not-acceptable', 'encapsulated pixel data cannot be written in a native transfer syntax without decoding');
    out.push(header(el.tag, 'OB', UNDEFINED_LENGTH, ts));
    for (const f of el.fragments) {
      out.push(header(Tags.Item, null, f.length + (f.length & 1), ts));
      out.push(f);
      if (f.length & 1) out.push(Buffer.of(0));
    }
    out.push(header(Tags.SequenceDelimitationItem, null, 0, ts));
    return;
  }
  if (!el.value) throw new RampartError('internal', 'element value was not read');
  let v: Uint8Array = el.value;
  const size = swapSize(vr);
  if (size > 1 && from.littleEndian !== ts.littleEndian) {
    if (v.length % size !== 0) throw new RampartError('invalid-dicom', `element value length ${v.length} is not a multiple of ${size}`);
    v = swapped(v, size);
  }
  let len = v.length;
  const odd = len & 1;
  if (odd) len += 1;
  // A value too long for a 16-bit length cannot keep its VR in explicit VR (PS3.5 6.2.2 note).
  if (ts.explicitVR && !hasLongLength(vr) && len > 0xfffe) vr = 'UN';
  out.push(header(el.tag, vr, len, ts));
  out.push(v);
  if (odd) out.push(Buffer.of(pad(vr)));
}

function writeDataSetTo(out: Out, ds: DataSet, ts: TransferSyntaxInfo): void {
  for (const el of ds.sorted()) {
    // Group lengths (except the meta group's) are retired; they would be wrong after transcoding.
    if (elementOf(el.tag) === 0x0000 && groupOf(el.tag) !== 0x0002) continue;
    if (groupOf(el.tag) === 0x0002) continue; // the meta group belongs to Part 10 framing only
    writeElement(out, el, ds, ts);
  }
}

/** Encodes a data set (without meta group) in the given transfer syntax. */
export function writeDataSet(ds: DataSet, tsUid: string): Buffer {
  const ts = transferSyntaxInfo(tsUid);
  if (!ts) throw new RampartError('not-acceptable', `transfer syntax ${tsUid} is not supported`);
  const out = new Out();
  writeDataSetTo(out, ds, ts);
  const raw = out.concat();
  return ts.deflated ? deflateRawSync(raw) : raw;
}

const asciiValue = (s: string, vr: VR): Buffer => {
  const b = Buffer.from(s, 'latin1');
  return b.length & 1 ? Buffer.concat([b, Buffer.of(pad(vr))]) : b;
};

/** Builds a file meta group (PS3.10 7.1) for an object. */
export function buildMeta(sopClassUid: string, sopInstanceUid: string, tsUid: string, sourceAET?: string): DataSet {
  const meta = new DataSet(true, []);
  const put = (tag: Tag, vr: VR, value: Buffer) => meta.set({ tag, vr, length: value.length, valueOffset: 0, value });
  put(Tags.FileMetaInformationVersion, 'OB', Buffer.of(0, 1));
  put(Tags.MediaStorageSOPClassUID, 'UI', asciiValue(sopClassUid, 'UI'));
  put(Tags.MediaStorageSOPInstanceUID, 'UI', asciiValue(sopInstanceUid, 'UI'));
  put(Tags.TransferSyntaxUID, 'UI', asciiValue(tsUid, 'UI'));
  put(Tags.ImplementationClassUID, 'UI', asciiValue(ImplementationClassUID, 'UI'));
  put(Tags.ImplementationVersionName, 'SH', asciiValue(ImplementationVersionName, 'SH'));
  if (sourceAET) put(Tags.SourceApplicationEntityTitle, 'AE', asciiValue(sourceAET, 'AE'));
  return meta;
}

/** Writes a complete Part 10 file: preamble, "DICM", meta group with its group length, data set. */
export function writePart10(meta: DataSet, ds: DataSet, tsUid: string): Buffer {
  const metaTs = transferSyntaxInfo('1.2.840.10008.1.2.1')!;
  const m = new Out();
  for (const el of meta.sorted()) {
    if (el.tag === Tags.FileMetaInformationGroupLength) continue;
    if (el.tag === Tags.TransferSyntaxUID) {
      writeElement(m, { ...el, value: asciiValue(tsUid, 'UI') }, meta, metaTs);
      continue;
    }
    writeElement(m, el, meta, metaTs);
  }
  const metaBytes = m.concat();
  const gl = Buffer.alloc(12);
  gl.writeUInt16LE(0x0002, 0); gl.writeUInt16LE(0x0000, 2); gl.write('UL', 4, 'latin1'); gl.writeUInt16LE(4, 6);
  gl.writeUInt32LE(metaBytes.length, 8);
  const pre = Buffer.alloc(132);
  pre.write('DICM', 128, 'latin1');
  return Buffer.concat([pre, gl, metaBytes, writeDataSet(ds, tsUid)]);
}

// The Part 10 reader on crafted input: every hostile length, depth or VR is a clear error.
import { describe, expect, it } from 'vitest';
import { isRampartError } from '../errors.js';
import { NeedMoreBytes, parsePart10 } from './reader.js';
import { Tags } from './tag.js';

/** Explicit VR little endian element bytes. */
function el(group: number, element: number, vr: string, value: Buffer | null, opts: { undefinedLength?: boolean; length?: number } = {}): Buffer {
  const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV', 'SV', 'UV'].includes(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0); h.writeUInt16LE(element, 2); h.write(vr, 4, 'latin1');
  const len = opts.undefinedLength ? 0xffffffff : opts.length ?? value?.length ?? 0;
  if (long) h.writeUInt32LE(len, 8); else h.writeUInt16LE(len, 6);
  return Buffer.concat([h, value ?? Buffer.alloc(0)]);
}
const item = (body: Buffer, undefinedLength = false) => {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(0xfffe, 0); h.writeUInt16LE(0xe000, 2); h.writeUInt32LE(undefinedLength ? 0xffffffff : body.length, 4);
  const end = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]);
  return Buffer.concat([h, body, undefinedLength ? end : Buffer.alloc(0)]);
};
const seqEnd = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
const ui = (s: string) => { const b = Buffer.from(s, 'latin1'); return b.length & 1 ? Buffer.concat([b, Buffer.of(0)]) : b; };

function file(dataset: Buffer, ts = '1.2.840.10008.1.2.1'): Buffer {
  const meta = Buffer.concat([el(0x0002, 0x0003, 'UI', ui('1.2.3.4')), el(0x0002, 0x0010, 'UI', ui(ts))]);
  const gl = el(0x0002, 0x0000, 'UL', Buffer.from(Uint32Array.of(meta.length).buffer));
  const pre = Buffer.alloc(132); pre.write('DICM', 128, 'latin1');
  return Buffer.concat([pre, gl, meta, dataset]);
}

function expectInvalid(buf: Buffer, reason: RegExp, opts = {}) {
  try {
    parsePart10(buf, opts);
  } catch (e) {
    expect(isRampartError(e, 'invalid-dicom'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(reason);
    return;
  }
  throw new Error('parsed without error');
}

describe('parsePart10', () => {
  it('reads a minimal file and its values', () => {
    const p = parsePart10(file(Buffer.concat([el(0x0008, 0x0018, 'UI', ui('1.2.3.4')), el(0x0010, 0x0010, 'PN', Buffer.from('DOE^JANE'))])));
    expect(p.dataset.string(Tags.SOPInstanceUID)).toBe('1.2.3.4');
    expect(p.dataset.string(Tags.PatientName)).toBe('DOE^JANE');
  });

  it('refuses a file without the DICM prefix or too short for it', () => {
    expectInvalid(Buffer.alloc(200), /DICM/);
    expectInvalid(Buffer.alloc(10), /132-byte/);
  });

  it('refuses an element longer than the bytes present', () => {
    expectInvalid(file(el(0x0010, 0x0010, 'PN', Buffer.from('AB'), { length: 5000 })), /length 5000 exceeds the 2 bytes left/);
  });

  it('asks for more bytes instead when told the buffer is only the start of the file', () => {
    expect(() => parsePart10(file(el(0x0010, 0x0010, 'PN', Buffer.from('AB'), { length: 5000 })), { partial: true })).toThrow(NeedMoreBytes);
  });

  it('refuses an unknown VR', () => {
    expectInvalid(file(el(0x0010, 0x0010, 'ZZ', Buffer.from('AB'))), /invalid VR/);
  });

  it('refuses undefined length on an element that is not a sequence', () => {
    expectInvalid(file(el(0x0010, 0x0010, 'UT', null, { undefinedLength: true })), /undefined length/);
  });

  it('refuses sequences nested deeper than the limit', () => {
    let inner = el(0x0010, 0x0010, 'PN', Buffer.from('AB'));
    for (let i = 0; i < 40; i++) inner = Buffer.concat([el(0x0040, 0x0275, 'SQ', null, { undefinedLength: true }), item(inner, true), seqEnd]);
    expectInvalid(file(inner), /nested deeper than 16/);
    expect(() => parsePart10(file(inner), { limits: { maxDepth: 64 } })).not.toThrow();
  });

  it('refuses more elements than the limit', () => {
    const many = Buffer.concat(Array.from({ length: 100 }, (_, i) => el(0x0011, 0x1000 + i, 'LO', Buffer.from('XX'))));
    expectInvalid(file(many), /more than 50 elements/, { limits: { maxElements: 50 } });
  });

  it('refuses an item that overruns its sequence, and a sequence without its delimiter', () => {
    const inner = el(0x0010, 0x0010, 'PN', Buffer.from('AB'));
    const overrun = Buffer.concat([el(0x0040, 0x0275, 'SQ', null, { length: 4 }), item(inner)]);
    expectInvalid(file(overrun), /truncated|overruns/);
    const open = Buffer.concat([el(0x0040, 0x0275, 'SQ', null, { undefinedLength: true }), item(inner, true)]);
    expectInvalid(file(open), /truncated/);
  });

  it('refuses a stray item delimiter at the top level', () => {
    expectInvalid(file(Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0])), /unexpected item delimiter/);
  });

  it('refuses a fragment of encapsulated pixel data that runs past the end', () => {
    const frag = Buffer.alloc(8); frag.writeUInt16LE(0xfffe, 0); frag.writeUInt16LE(0xe000, 2); frag.writeUInt32LE(1000, 4);
    expectInvalid(file(Buffer.concat([el(0x7fe0, 0x0010, 'OB', null, { undefinedLength: true }), item(Buffer.alloc(0)), frag, Buffer.alloc(10)]), '1.2.840.10008.1.2.4.50'), /pixel data fragment/);
  });

  it('records pixel data without reading it when asked to stop there', () => {
    const big = el(0x7fe0, 0x0010, 'OW', Buffer.alloc(16), { length: 1_000_000 });
    const p = parsePart10(file(Buffer.concat([el(0x0008, 0x0018, 'UI', ui('1.2.3.4')), big])), { stopAtPixelData: true, partial: true });
    expect(p.dataset.get(Tags.PixelData)!.length).toBe(1_000_000);
    expect(p.dataset.get(Tags.PixelData)!.value).toBeUndefined();
  });

  it('refuses a transfer syntax it cannot parse and a meta group without one', () => {
    expectInvalid(file(Buffer.alloc(0), '1.2.3.999'), /not supported/);
  });

  it('gives a public attribute sent as UN its dictionary VR back', () => {
    const p = parsePart10(file(el(0x0010, 0x0010, 'UN', Buffer.from('DOE^JANE'))));
    expect(p.dataset.get(Tags.PatientName)!.vr).toBe('PN');
    expect(p.dataset.string(Tags.PatientName)).toBe('DOE^JANE');
  });

  it('never throws anything but a coded error on random corruption of a real-looking file', () => {
    const base = file(Buffer.concat([
      el(0x0008, 0x0018, 'UI', ui('1.2.3.4')),
      el(0x0040, 0x0275, 'SQ', null, { undefinedLength: true }), item(el(0x0040, 0x0009, 'SH', Buffer.from('SPS1')), true), seqEnd,
      el(0x0010, 0x0010, 'PN', Buffer.from('DOE^JANE')),
      el(0x7fe0, 0x0010, 'OW', Buffer.alloc(64)),
    ]));
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 3; k++) b[132 + Math.floor(rand() * (b.length - 132))] = Math.floor(rand() * 256);
      try {
        parsePart10(b);
      } catch (e) {
        expect(isRampartError(e), `corruption ${i}: ${String(e)}`).toBe(true);
      }
    }
  });
});

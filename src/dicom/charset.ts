// Text under (0008,0005) Specific Character Set: PS3.5 6.1 (repertoires, ISO 2022 code
// extensions, 6.1.2.5.3 where the code state resets) and PS3.3 C.12.1.1.2 (the defined terms,
// Tables C.12-2..C.12-5 with their escape sequences).

import { RampartError } from '../errors.js';

/** The VRs whose values use the Specific Character Set (PS3.5 6.1.2.3); others are default repertoire. */
const CHARSET_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'PN', 'UC', 'UT']);
/** VRs whose value may hold a backslash as text rather than as a value delimiter (PS3.5 6.2). */
const SINGLE_VALUED_TEXT_VRS = new Set(['ST', 'LT', 'UT', 'UR']);

const ESC = 0x1b;

// --- the code sets ------------------------------------------------------------------------------

/** What sits in G0 (bytes 0x21-0x7E) and G1 (bytes 0xA0-0xFF) at a given moment. */
type G0 = 'ascii' | 'romaji' | 'jisx0208' | 'jisx0212';
type G1 =
  | { kind: 'none' } // default repertoire has no G1; high bytes are read as latin1, leniently
  | { kind: 'iso8859'; ir: number } // a 96-character set, one byte each
  | { kind: 'katakana' } // JIS X 0201 katakana (ISO-IR 13)
  | { kind: 'ksx1001' } // KS X 1001 (ISO-IR 149), two bytes in GR
  | { kind: 'gb2312' }; // GB 2312 (ISO-IR 58), two bytes in GR

interface State {
  g0: G0;
  g1: G1;
}

const NO_G1: G1 = { kind: 'none' };

/** ISO-IR number of each ISO 8859-style set -> WHATWG decoder label, and its escape final byte (G1, ESC 02/13 F). */
const SINGLE_BYTE: Record<number, { label: string; final: number }> = {
  100: { label: 'latin1', final: 0x41 }, // ISO 8859-1 (decoded directly, see highTable)
  101: { label: 'iso-8859-2', final: 0x42 },
  109: { label: 'iso-8859-3', final: 0x43 },
  110: { label: 'iso-8859-4', final: 0x44 },
  126: { label: 'iso-8859-7', final: 0x46 },
  127: { label: 'iso-8859-6', final: 0x47 },
  138: { label: 'iso-8859-8', final: 0x48 },
  144: { label: 'iso-8859-5', final: 0x4c },
  148: { label: 'iso-8859-9', final: 0x4d }, // WHATWG: windows-1254, same as 8859-9 in A0-FF
  166: { label: 'windows-874', final: 0x54 }, // TIS 620-2533; windows-874 is the same in A0-FF
  203: { label: 'iso-8859-15', final: 0x62 },
};
const SINGLE_BYTE_BY_FINAL = new Map(Object.entries(SINGLE_BYTE).map(([ir, s]) => [s.final, Number(ir)]));

const decoders = new Map<string, TextDecoder>();
function decoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) {
    d = new TextDecoder(label, { ignoreBOM: true });
    decoders.set(label, d);
  }
  return d;
}

const highTables = new Map<number, string[]>();
/**
 * Characters of bytes 0x80-0xFF of an ISO 8859-style set. WHATWG maps the iso-8859-x labels to
 * windows-125x for some sets, which differ from ISO 8859 in 0x80-0x9F only: those are the C1
 * controls in ISO 8859 (and in DICOM), so they are mapped to U+0080-U+009F here.
 */
function highTable(ir: number): string[] {
  let t = highTables.get(ir);
  if (!t) {
    const label = SINGLE_BYTE[ir]!.label;
    t = [];
    for (let b = 0x80; b <= 0xff; b++) {
      t.push(b < 0xa0 || label === 'latin1' ? String.fromCharCode(b) : decoder(label).decode(Uint8Array.of(b)));
    }
    highTables.set(ir, t);
  }
  return t;
}

// --- Specific Character Set terms ---------------------------------------------------------------

type Term =
  | { kind: 'standalone'; label: string } // ISO_IR 192, GB18030, GBK: no code extensions (PS3.3 C.12-5)
  | { kind: 'iso'; ir: number | null; extension: boolean }; // ir null: unknown term

/** Parses a defined term, forgiving the usual misspellings ("ISO-IR 100", "ISO_IR100"). */
function parseTerm(raw: string): Term {
  const t = raw.trim().toUpperCase();
  if (t === '') return { kind: 'iso', ir: 6, extension: false };
  if (t === 'GB18030') return { kind: 'standalone', label: 'gb18030' };
  if (t === 'GBK') return { kind: 'standalone', label: 'gbk' };
  const m = /^ISO[ _-]?(2022[ _-]?)?IR[ _-]?(\d+)$/.exec(t);
  if (!m) return { kind: 'iso', ir: null, extension: false };
  const ir = Number(m[2]);
  if (ir === 192 && !m[1]) return { kind: 'standalone', label: 'utf-8' };
  const known = ir === 6 || ir === 13 || ir in SINGLE_BYTE || [87, 159, 149, 58].includes(ir);
  return { kind: 'iso', ir: known ? ir : null, extension: Boolean(m[1]) };
}

/**
 * The code state at the start of a value and after each reset: the set named by value 1 of
 * Specific Character Set (PS3.5 6.1.2.5.3). A multi-byte set cannot be the starting G0, so for
 * those (invalid as value 1) G0 stays ASCII.
 */
function initialState(ir: number | null): State {
  if (ir === 13) return { g0: 'romaji', g1: { kind: 'katakana' } };
  if (ir !== null && ir in SINGLE_BYTE) return { g0: 'ascii', g1: { kind: 'iso8859', ir } };
  if (ir === 149) return { g0: 'ascii', g1: { kind: 'ksx1001' } };
  if (ir === 58) return { g0: 'ascii', g1: { kind: 'gb2312' } };
  return { g0: 'ascii', g1: NO_G1 };
}

// --- escape sequences (PS3.3 Tables C.12-3, C.12-4) ---------------------------------------------

/** Applies the escape sequence at bytes[i] to state; returns its length, or 0 if it is not one. */
function applyEscape(bytes: Uint8Array, i: number, state: State): number {
  let j = i + 1;
  while (j < bytes.length && bytes[j]! >= 0x20 && bytes[j]! <= 0x2f) j++; // intermediate bytes
  if (j === i + 1 || j >= bytes.length || bytes[j]! < 0x30 || bytes[j]! > 0x7e) return 0;
  const seq = String.fromCharCode(...bytes.subarray(i + 1, j + 1));
  const final = bytes[j]!;
  if (seq === '(B') state.g0 = 'ascii'; // ISO-IR 6
  else if (seq === '(J') state.g0 = 'romaji'; // ISO-IR 14, JIS X 0201 romaji
  else if (seq === ')I') state.g1 = { kind: 'katakana' }; // ISO-IR 13
  else if (seq === '$B' || seq === '$@') state.g0 = 'jisx0208'; // ISO-IR 87 (and its 1978 form)
  else if (seq === '$(D') state.g0 = 'jisx0212'; // ISO-IR 159
  else if (seq === '$)C') state.g1 = { kind: 'ksx1001' }; // ISO-IR 149
  else if (seq === '$)A') state.g1 = { kind: 'gb2312' }; // ISO-IR 58
  else if (seq.length === 2 && seq[0] === '-' && SINGLE_BYTE_BY_FINAL.has(final)) {
    state.g1 = { kind: 'iso8859', ir: SINGLE_BYTE_BY_FINAL.get(final)! };
  }
  // A well-formed but unknown designation is consumed without changing the state.
  return j + 1 - i;
}

// --- decoding -----------------------------------------------------------------------------------

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/**
 * Decodes a string value's raw bytes (all of its values, with their `\` delimiters, and for PN its
 * `=` and `^` delimiters) into text. Padding is left in place: trimming is the caller's business.
 * VRs other than SH, LO, ST, LT, PN, UC, UT are default repertoire and are read as latin1, as is
 * text under an unknown term.
 */
export function decodeText(bytes: Uint8Array, specificCharacterSet: readonly string[], vr: string): string {
  if (!CHARSET_VRS.has(vr)) return latin1(bytes);
  const terms = specificCharacterSet.length === 0 ? [parseTerm('')] : specificCharacterSet.map(parseTerm);
  const first = terms[0]!;
  // Stand-alone sets (PS3.5 6.1.2.5.3 d): the delimiters are their ASCII bytes, but 0x5C and 0x5E
  // may also be the second byte of a GBK/GB18030 character, so the value is decoded whole.
  if (first.kind === 'standalone') return decoder(first.label).decode(bytes);
  const extensions = terms.length > 1 || terms.some((t) => t.kind === 'iso' && t.extension);
  return decodeIso2022(bytes, initialState(first.ir), vr, extensions);
}

function decodeIso2022(bytes: Uint8Array, initial: State, vr: string, extensions: boolean): string {
  const state: State = { ...initial };
  const reset = () => {
    state.g0 = initial.g0;
    state.g1 = initial.g1;
  };
  const valueDelimiter = !SINGLE_VALUED_TEXT_VRS.has(vr);
  const pn = vr === 'PN';
  const n = bytes.length;
  let out = '';
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b === ESC && extensions) {
      const len = applyEscape(bytes, i, state);
      if (len > 0) {
        i += len;
        continue;
      }
    }
    if (b < 0x20 || b === 0x7f) {
      // PS3.5 6.1.2.5.3: value 1's set is active again before CR, LF, FF and any other
      // control character except ESC; a control byte can never be part of a two-byte character.
      if (b !== ESC) reset();
      out += String.fromCharCode(b);
      i++;
    } else if (b < 0x80) {
      if (state.g0 === 'jisx0208' || state.g0 === 'jisx0212') {
        if (b === 0x20) {
          out += ' ';
          i++;
          continue;
        }
        let j = i;
        while (j < n && bytes[j]! > 0x20 && bytes[j]! < 0x7f) j++;
        out += decodeJis(bytes.subarray(i, j), state.g0);
        i = j;
      } else {
        // Delimiters are default-repertoire bytes, recognised only while G0 is a one-byte set
        // (inside JIS X 0208 text, 0x5E is half of a character). Each one resets the code state
        // (PS3.5 6.1.2.5.3): `\` between values, and for PN `^` and `=` between components/groups.
        if ((b === 0x5c && valueDelimiter) || (pn && (b === 0x5e || b === 0x3d))) reset();
        // JIS X 0201 romaji differs from ASCII at 0x5C (yen) and 0x7E (overline); like pydicom and
        // common Shift_JIS practice they are read as ASCII, so `\` stays the value delimiter.
        out += String.fromCharCode(b);
        i++;
      }
    } else {
      const g1 = state.g1;
      if (g1.kind === 'ksx1001' || g1.kind === 'gb2312') {
        let j = i;
        while (j < n && bytes[j]! >= 0x80) j++;
        out += decoder(g1.kind === 'ksx1001' ? 'euc-kr' : 'gbk').decode(bytes.subarray(i, j));
        i = j;
      } else {
        if (g1.kind === 'iso8859') out += highTable(g1.ir)[b - 0x80]!;
        else if (g1.kind === 'katakana') out += b >= 0xa1 && b <= 0xdf ? String.fromCharCode(0xff61 + b - 0xa1) : '\ufffd';
        else out += String.fromCharCode(b);
        i++;
      }
    }
  }
  return out;
}

/** JIS X 0208 / 0212 bytes as designated to G0 (0x21-0x7E pairs), through their EUC-JP form. */
function decodeJis(run: Uint8Array, set: 'jisx0208' | 'jisx0212'): string {
  if (set === 'jisx0208') return decoder('euc-jp').decode(run.map((x) => x | 0x80));
  const euc = new Uint8Array(Math.ceil(run.length / 2) * 3);
  let k = 0;
  for (let p = 0; p < run.length; p += 2) {
    euc[k++] = 0x8f; // EUC-JP single shift 3: JIS X 0212
    euc[k++] = run[p]! | 0x80;
    if (p + 1 < run.length) euc[k++] = run[p + 1]! | 0x80;
  }
  return decoder('euc-jp').decode(euc.subarray(0, k));
}

// --- encoding -----------------------------------------------------------------------------------

const reverseTables = new Map<number, Map<string, number>>();
function reverseTable(ir: number): Map<string, number> {
  let r = reverseTables.get(ir);
  if (!r) {
    r = new Map();
    highTable(ir).forEach((ch, k) => {
      if (ch !== '\ufffd' && k >= 0x20) r!.set(ch, 0x80 + k); // A0-FF only: C1 controls are not text
    });
    reverseTables.set(ir, r);
  }
  return r;
}

/**
 * Encodes text in the set named by value 1 of Specific Character Set, with no code extensions:
 * UTF-8 (ISO_IR 192) or a single-byte set (default repertoire, ISO 8859 parts, ISO_IR 13, TIS 620).
 * Throws a bad-request RampartError for multi-byte sets and for text the set cannot represent.
 */
export function encodeText(text: string, specificCharacterSet: readonly string[]): Uint8Array {
  const raw = specificCharacterSet[0] ?? '';
  const term = parseTerm(raw);
  if (term.kind === 'standalone') {
    if (term.label === 'utf-8') return new TextEncoder().encode(text);
    throw new RampartError('bad-request', `encoding text in ${raw.trim()} is not supported`);
  }
  const ir = term.ir;
  if (ir === null || !(ir === 6 || ir === 13 || ir in SINGLE_BYTE)) {
    throw new RampartError('bad-request', `encoding text in ${raw.trim() || 'this character set'} is not supported`);
  }
  const out = new Uint8Array(text.length);
  let k = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    let byte: number | undefined;
    if (c < 0x80) byte = c;
    else if (ir === 13) byte = c >= 0xff61 && c <= 0xff9f ? c - 0xff61 + 0xa1 : undefined;
    else if (ir !== 6) byte = reverseTable(ir).get(ch);
    if (byte === undefined) {
      // No character in the message: it may be part of a patient's name.
      throw new RampartError('bad-request', `text has a character that ${raw.trim() || 'the default repertoire'} cannot encode`);
    }
    out[k++] = byte;
  }
  return out.subarray(0, k);
}

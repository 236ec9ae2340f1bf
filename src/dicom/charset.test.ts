// Tests for Specific Character Set decoding and encoding, checked against pydicom on pydicom's
// charset_files (real files, read in place, never copied) and on byte vectors from PS3.5's annexes.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRampartError } from '../errors.js';
import { decodeText, encodeText } from './charset.js';

interface Sample {
  path?: string;
  id?: string;
  vr: string;
  charset: string[];
  raw: string; // base64
  decoded: string;
}
interface PydicomOutput {
  pydicom: string;
  files: { file: string; error?: string; elements?: Sample[] }[];
  vectors: Sample[];
}

// Debian's python3-pydicom; plain `python3` may be a pyenv shim without pydicom.
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../test/support/pydicom-strings.py', import.meta.url));

function runPydicom(): PydicomOutput | undefined {
  if (!existsSync(PYTHON)) return undefined;
  try {
    return JSON.parse(execFileSync(PYTHON, [SCRIPT], { encoding: 'utf8', maxBuffer: 16 << 20 })) as PydicomOutput;
  } catch {
    return undefined; // pydicom not installed: the comparison tests are skipped, not failed
  }
}
const pydicom = runPydicom();

const CHARSET_FILES = [
  'chrArab', 'chrFren', 'chrFrenMulti', 'chrGerm', 'chrGreek', 'chrH31', 'chrH32', 'chrHbrw', 'chrI2',
  'chrJapMulti', 'chrJapMultiExplicitIR6', 'chrKoreanMulti', 'chrRuss', 'chrSQEncoding', 'chrSQEncoding1',
  'chrX1', 'chrX2',
];

/**
 * pydicom's decoded form of our (untrimmed) text: each value loses trailing spaces and NULs
 * (values.py convert_single_string), a PN loses trailing empty component groups (PersonName
 * drops a final '='), and ST/LT/UT are one value.
 */
function asPydicom(text: string, vr: string): string {
  if (vr === 'PN') return text.replace(/[\0 ]+$/, '').split('\\').map((v) => v.replace(/=+$/, '')).join('\\');
  if (vr === 'ST' || vr === 'LT' || vr === 'UT') return text.replace(/[\0 ]+$/, '');
  return text.split('\\').map((v) => v.replace(/[\0 ]+$/, '')).join('\\');
}

const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/**
 * Vectors where pydicom 2.3 is wrong; what we test instead, and why.
 * - GB 2312 with code extensions: pydicom hands the bytes with their ESC $ ) A to Python's gb2312
 *   codec, which keeps the escape sequences in the text. PS3.3 C.12.1.1.2 Table C.12-4 makes
 *   ESC $ ) A a designation of GB 2312 to G1, and PS3.5 Annex K.2 reads this value as below.
 * - GB18030: pydicom splits the bytes on 0x5C before decoding, but GB18030 and GBK are variable
 *   length codes outside ISO 2022 (PS3.5 6.1.2.5.3 d) whose second bytes range over 0x40-0xFE,
 *   so 0x5C can be half of a character (U+4E57 is 81 5C) and splitting there breaks it.
 */
const PYDICOM_IS_WRONG: Record<string, string> = {
  'ISO 2022 IR 58 (PS3.5 K.2)': 'Zhang^XiaoDong=张^小东',
  'GB18030 trail byte 0x5C': '乗\\x',
};

describe.skipIf(!pydicom)('decodeText against pydicom on its charset_files', () => {
  const out = pydicom!;

  it('gets every charset file from the pydicom script', () => {
    expect(out.files.map((f) => f.file.replace(/\.dcm$/, '')).sort()).toEqual([...CHARSET_FILES].sort());
  });

  for (const name of CHARSET_FILES) {
    it(`decodes every text element of ${name}.dcm as pydicom ${out?.pydicom ?? ''} does`, () => {
      const file = out.files.find((f) => f.file === `${name}.dcm`)!;
      // pydicom reads all of these files; a file it could not read would be reported here.
      expect(file.error).toBeUndefined();
      expect(file.elements!.length).toBeGreaterThan(0);
      for (const e of file.elements!) {
        const ours = decodeText(bytes(e.raw), e.charset, e.vr);
        expect({ path: e.path, text: asPydicom(ours, e.vr) }).toEqual({ path: e.path, text: e.decoded });
      }
    });
  }

  it('covers ideographic and phonetic PN groups in the Japanese, Korean and Chinese files', () => {
    const names = out.files.flatMap((f) => (f.elements ?? []).filter((e) => e.path?.endsWith('00100010')).map((e) => e.decoded));
    expect(names).toContain('Yamada^Tarou=山田^太郎=やまだ^たろう');
    expect(names).toContain('ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう');
    expect(names).toContain('Hong^Gildong=洪^吉洞=홍^길동');
    expect(names).toContain('Wang^XiaoDong=王^小東');
    expect(names).toContain('Wang^XiaoDong=王^小东');
  });
});

describe.skipIf(!pydicom)('decodeText against pydicom on byte vectors for the other character sets', () => {
  for (const v of pydicom?.vectors ?? []) {
    const expected = PYDICOM_IS_WRONG[v.id!];
    it(`decodes ${v.id}${expected ? ' (where pydicom is wrong)' : ''}`, () => {
      const ours = asPydicom(decodeText(bytes(v.raw), v.charset, v.vr), v.vr);
      expect(ours).toBe(expected ?? v.decoded);
    });
  }
});

describe('decodeText', () => {
  it('returns padding and trailing delimiters as they are', () => {
    expect(decodeText(latin1('Buc^J\xe9r\xf4me= '), ['ISO_IR 100'], 'PN')).toBe('Buc^Jérôme= ');
  });

  it('decodes ISO_IR 203 (ISO 8859-15), which pydicom does not know', () => {
    expect(decodeText(latin1('\xa4 \xbd'), ['ISO_IR 203'], 'LO')).toBe('€ œ');
    expect(decodeText(latin1('\x1b-b\xa4'), ['ISO 2022 IR 6', 'ISO 2022 IR 203'], 'LO')).toBe('€');
  });

  it('resets to value 1 of the character set at each value delimiter', () => {
    // the second value has no escape sequence, so it is back in ISO-IR 6 with no G1 set
    const raw = latin1('\x1b-L\xbb\xee\\\xbb');
    expect(decodeText(raw, ['', 'ISO 2022 IR 144'], 'LO')).toBe('Лю\\»');
  });

  it('does not treat a backslash as a delimiter in LT', () => {
    expect(decodeText(latin1('\x1b-L\xbb\\\xbb'), ['', 'ISO 2022 IR 144'], 'LT')).toBe('Л\\Л');
  });

  it('resets the code state at CR and LF in text', () => {
    expect(decodeText(latin1('\x1b-L\xbb\r\n\xbb'), ['', 'ISO 2022 IR 144'], 'LT')).toBe('Л\r\n»');
  });

  it('keeps ^ inside JIS X 0208 text as half of a character, not a PN delimiter', () => {
    expect(decodeText(latin1('\x1b$B$d$^$@\x1b(B'), ['', 'ISO 2022 IR 87'], 'PN')).toBe('やまだ');
  });

  it('does not act on escape sequences when there are no code extensions', () => {
    expect(decodeText(latin1('\x1b-Lx'), ['ISO_IR 100'], 'LO')).toBe('\x1b-Lx');
  });

  it('reads an unknown term as latin1 and does not throw', () => {
    expect(decodeText(latin1('J\xe9r\xf4me'), ['NO SUCH SET'], 'PN')).toBe('Jérôme');
  });

  it('reads VRs outside SH, LO, ST, LT, PN, UC, UT in the default repertoire', () => {
    expect(decodeText(new Uint8Array([0xe7, 0x8e, 0x8b]), ['ISO_IR 192'], 'CS')).toBe('\xe7\x8e\x8b');
  });

  it('keeps a UTF-8 byte order mark rather than swallowing it', () => {
    expect(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]), ['ISO_IR 192'], 'UT')).toBe('\ufeffA');
  });
});

describe('encodeText', () => {
  it('round-trips the single-byte sets', () => {
    const cases: [string[], string][] = [
      [['ISO_IR 100'], 'Buc^Jérôme'], [['ISO_IR 101'], 'Wałęsa'], [['ISO_IR 109'], 'antaŭnomo'],
      [['ISO_IR 110'], 'vārds'], [['ISO_IR 126'], 'Διονυσιος'], [['ISO_IR 127'], 'قباني^لنزار'],
      [['ISO_IR 138'], 'שרון^דבורה'], [['ISO_IR 144'], 'Люкceмбypг'], [['ISO_IR 148'], 'Çavuşoğlu'],
      [['ISO_IR 166'], 'นามสกุล'], [['ISO_IR 203'], '€uro'], [['ISO_IR 13'], 'ﾔﾏﾀﾞ^ﾀﾛｳ'], [[], 'Smith^John'],
    ];
    for (const [cs, text] of cases) expect(decodeText(encodeText(text, cs), cs, 'PN')).toBe(text);
    expect([...encodeText('Jérôme', ['ISO_IR 100'])]).toEqual([0x4a, 0xe9, 0x72, 0xf4, 0x6d, 0x65]);
  });

  it('encodes UTF-8 for ISO_IR 192', () => {
    expect([...encodeText('王', ['ISO_IR 192'])]).toEqual([0xe7, 0x8e, 0x8b]);
  });

  it('throws bad-request for a character the set cannot hold', () => {
    expect(() => encodeText('Jérôme', [''])).toThrow(expect.objectContaining({ code: 'bad-request' }));
    expect(() => encodeText('Люк', ['ISO_IR 100'])).toThrow(expect.objectContaining({ code: 'bad-request' }));
  });

  it('throws bad-request for multi-byte sets', () => {
    for (const cs of [['GB18030'], ['GBK'], ['ISO 2022 IR 87'], ['ISO 2022 IR 149']]) {
      let error: unknown;
      try {
        encodeText('x', cs);
      } catch (e) {
        error = e;
      }
      expect(isRampartError(error, 'bad-request')).toBe(true);
    }
  });
});

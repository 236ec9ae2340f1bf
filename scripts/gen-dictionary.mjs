#!/usr/bin/env node
// Generates src/dicom/dictionary.generated.ts from DCMTK's data dictionary (dicom.dic), which is
// DCMTK's transcription of PS3.6 tables 6-1, 7-1, 8-1 and 9-1 (plus DICONDE/DICOS public tags).
//
// Usage: node scripts/gen-dictionary.mjs [path/to/dicom.dic]
// Default input: the first /usr/share/libdcmtk*/dicom.dic (Debian package dcmtk).
//
// Decisions, so that nobody has to rediscover them:
// - Retired entries are kept (old files use them) with retired = true. DCMTK prefixes their
//   names with "RETIRED_"; PS3.6 keywords have no such prefix, so it is stripped.
// - Private-creator entries (a quoted creator inside the tag, e.g. (0029,"SIEMENS",10)) are
//   skipped; the generic PRIVATE/ILLEGAL/GENERIC ranges (group lengths, private creator
//   elements (gggg,0010-00FF) with VR LO) are kept, as they tell a reader the VR to use.
// - DCMTK writes several-VR entries with lower-case pseudo VRs. We keep one VR: the one a
//   reader should use when the transfer syntax is implicit VR little endian (PS3.5 A.1):
//     xs -> US   "US or SS": the right one depends on Pixel Representation; US is the
//                default the reader must refine (as pydicom does).
//     ox -> OW   "OB or OW": in implicit VR, pixel/overlay/waveform data is OW (PS3.5 A.1 c).
//     px -> OW   Pixel Data (7FE0,0010) "OB or OW": same as ox.
//     lt -> OW   "US or SS or OW" LUT data: implicit VR LUT Data is OW (PS3.5 A.1 c).
//     up -> UL   unsigned 32-bit pointer in DICOMDIR; PS3.6 lists it as UL.
//     na -> NONE Item, Item Delimitation and Sequence Delimitation (FFFE,xxxx): these are not
//                data elements and have no VR in PS3.6; "NONE" is what pydicom uses too.
//                A reader must recognise them by tag, never by looking up a VR.
// - Ranges: DCMTK writes (gggg-gggg,eeee) with an optional restrictor: "-o-" odd only, "-u-"
//   any, and a bare "lo-hi" meaning even only (DCMTK dcdict.cc parseTagPart). The same applies
//   to element ranges. Ranges go into the output in DCMTK notation and are parsed at load time;
//   they are sorted narrowest first so a subset range wins over its superset (as in DCMTK).

import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const VR_MAP = { xs: 'US', ox: 'OW', px: 'OW', lt: 'OW', up: 'UL', na: 'NONE' };
const KNOWN_VRS = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);

function findDefaultInput() {
  const base = '/usr/share';
  const dirs = existsSync(base) ? readdirSync(base).filter((d) => d.startsWith('libdcmtk')).sort() : [];
  for (const d of dirs) {
    const p = join(base, d, 'dicom.dic');
    if (existsSync(p)) return p;
  }
  throw new Error('no /usr/share/libdcmtk*/dicom.dic found; install dcmtk or pass the path');
}

/** Parses one side of a tag, e.g. "0010", "6000-60FF", "0009-o-FFFF". */
function parsePart(s) {
  let m = /^([0-9A-Fa-f]{4})-([oOeEuU])-([0-9A-Fa-f]{4})$/.exec(s);
  if (m) return { lo: parseInt(m[1], 16), hi: parseInt(m[3], 16), restr: m[2].toLowerCase() };
  m = /^([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})$/.exec(s);
  if (m) return { lo: parseInt(m[1], 16), hi: parseInt(m[2], 16), restr: 'e' };
  m = /^([0-9A-Fa-f]{4})$/.exec(s);
  if (m) return { lo: parseInt(m[1], 16), hi: parseInt(m[1], 16), restr: 'u' };
  throw new Error(`bad tag part: ${s}`);
}

function span(p) {
  const n = p.hi - p.lo + 1;
  return p.restr === 'u' ? n : Math.ceil(n / 2);
}

const hex4 = (n) => n.toString(16).toUpperCase().padStart(4, '0');
const partText = (p) =>
  p.lo === p.hi ? hex4(p.lo) : p.restr === 'e' ? `${hex4(p.lo)}-${hex4(p.hi)}` : `${hex4(p.lo)}-${p.restr}-${hex4(p.hi)}`;

function main() {
  const input = process.argv[2] ?? findDefaultInput();
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = join(here, '..');
  const output = join(repo, 'src/dicom/dictionary.generated.ts');

  const exact = new Map(); // tag -> row; later lines override earlier ones, as in DCMTK
  const ranges = [];
  let skippedPrivate = 0;

  for (const raw of readFileSync(input, 'latin1').split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const f = line.split('\t');
    if (f.length < 3) throw new Error(`too few fields: ${line}`);
    const [tagField, vrField, nameField, vmField = '1', version = 'DICOM'] = f.map((x) => x.trim());
    if (tagField.includes('"')) {
      skippedPrivate++;
      continue;
    }
    const m = /^\(([^,]+),([^)]+)\)$/.exec(tagField.replace(/\s+/g, ''));
    if (!m) throw new Error(`bad tag: ${tagField}`);
    const g = parsePart(m[1]);
    const e = parsePart(m[2]);
    const vr = VR_MAP[vrField] ?? vrField;
    if (!KNOWN_VRS.has(vr) && vr !== 'NONE') throw new Error(`unknown VR ${vrField} in: ${line}`);
    const retired = /retired/i.test(version) || nameField.startsWith('RETIRED_');
    const keyword = nameField.replace(/^RETIRED_/, '');
    const row = { vr, vm: vmField, keyword, retired };
    if (g.lo === g.hi && e.lo === e.hi) {
      exact.set(((g.lo << 16) | e.lo) >>> 0, row);
    } else {
      ranges.push({ ...row, g, e, text: `(${partText(g)},${partText(e)})`, size: span(g) * span(e) });
    }
  }

  ranges.sort((a, b) => a.size - b.size || (a.g.lo - b.g.lo) || (a.e.lo - b.e.lo));
  const lit = (s) => JSON.stringify(s);
  const rows = [];
  for (const [tag, r] of [...exact].sort((a, b) => a[0] - b[0])) {
    rows.push(`[0x${tag.toString(16).toUpperCase().padStart(8, '0')},${lit(r.vr)},${lit(r.vm)},${lit(r.keyword)}${r.retired ? ',1' : ''}]`);
  }
  for (const r of ranges) {
    rows.push(`[${lit(r.text)},${lit(r.vr)},${lit(r.vm)},${lit(r.keyword)}${r.retired ? ',1' : ''}]`);
  }

  const src = `// GENERATED FILE, DO NOT EDIT. Produced by scripts/gen-dictionary.mjs from
// ${input} (DCMTK's transcription of PS3.6). Re-run the script to update it.
// ${exact.size} exact entries, ${ranges.length} repeating-group ranges, ${skippedPrivate} private-creator entries skipped.
// VR mapping of DCMTK's several-VR entries, for implicit VR reading (see the script):
// xs->US, ox->OW, px->OW, lt->OW, up->UL, na->NONE.

export interface DictEntry {
  /** (group << 16 | element) >>> 0; for a repeating group, the tag that was looked up. */
  tag: number;
  vr: string;
  vm: string;
  keyword: string;
  retired: boolean;
}

/** [tag or DCMTK range "(gggg-gggg,eeee)", vr, vm, keyword, retired?]. Ranges: narrowest first. */
type Row = readonly [number | string, string, string, string, 1?];

const ROWS: readonly Row[] = [
${rows.join(',\n')},
];

interface Part { lo: number; hi: number; restr: 'o' | 'e' | 'u' }
interface Range { g: Part; e: Part; vr: string; vm: string; keyword: string; retired: boolean }

function parsePart(s: string): Part {
  const m = /^([0-9A-F]{4})(?:-(?:([oeu])-)?([0-9A-F]{4}))?$/.exec(s);
  if (!m) throw new Error('bad dictionary range ' + s);
  const lo = parseInt(m[1]!, 16);
  if (m[3] === undefined) return { lo, hi: lo, restr: 'u' };
  return { lo, hi: parseInt(m[3], 16), restr: (m[2] ?? 'e') as Part['restr'] };
}

function inPart(p: Part, v: number): boolean {
  if (v < p.lo || v > p.hi) return false;
  return p.restr === 'u' || (p.restr === 'o' ? (v & 1) === 1 : (v & 1) === 0);
}

const byTag = new Map<number, DictEntry>();
const byKeyword = new Map<string, number>();
const ranges: Range[] = [];

for (const [t, vr, vm, keyword, retired] of ROWS) {
  if (typeof t === 'number') {
    byTag.set(t, { tag: t, vr, vm, keyword, retired: retired === 1 });
    byKeyword.set(keyword, t);
  } else {
    const [gs, es] = t.slice(1, -1).split(',') as [string, string];
    const g = parsePart(gs);
    const e = parsePart(es);
    ranges.push({ g, e, vr, vm, keyword, retired: retired === 1 });
    if (!byKeyword.has(keyword)) byKeyword.set(keyword, ((g.lo << 16) | e.lo) >>> 0);
  }
}

/** The dictionary entry for a tag: exact entries first, then repeating groups (60xx, 50xx...). */
export function lookupTag(tag: number): DictEntry | undefined {
  const t = tag >>> 0;
  const hit = byTag.get(t);
  if (hit) return hit;
  const group = t >>> 16;
  const element = t & 0xffff;
  for (const r of ranges) {
    if (inPart(r.g, group) && inPart(r.e, element)) {
      return { tag: t, vr: r.vr, vm: r.vm, keyword: r.keyword, retired: r.retired };
    }
  }
  return undefined;
}

/** The tag for a PS3.6 keyword; for a repeating group, its first tag (e.g. OverlayData -> 0x60003000). */
export function tagForKeyword(keyword: string): number | undefined {
  return byKeyword.get(keyword);
}
`;
  writeFileSync(output, src);
  console.log(`wrote ${relative(repo, output)}: ${exact.size} exact, ${ranges.length} ranges`);
}

main();

// Media types and Accept negotiation for DICOMweb (PS3.18 8.7: media types 8.7.1-8.7.2, the transfer-syntax
// parameter 8.7.3.5, Tables 8.7.3-5 to 8.7.3-8), with the header syntax of RFC 9110 8.3.1 and 12.5.1.

import { badRequest } from '../errors.js';

export interface MediaType {
  /** Lower-cased, e.g. 'multipart'. */
  type: string;
  /** Lower-cased, e.g. 'related'. */
  subtype: string;
  /** Names lower-cased, values unquoted and otherwise as sent. */
  params: Record<string, string>;
}

export interface AcceptEntry extends MediaType {
  /** The weight, 0 to 1; q=0 means "not acceptable". Not repeated in `params`. */
  q: number;
  /** Position in the header, the last tie-breaker. */
  index: number;
}

/** A representation the route can produce, in the route's order of preference (the first is the default). */
export interface Offer {
  /** e.g. 'multipart/related', 'application/dicom', 'application/dicom+json'. */
  mediaType: string;
  /** The part media type of a multipart offer, e.g. 'application/dicom'. */
  type?: string;
  /**
   * Transfer syntaxes the route can produce. Set it for DICOM content, leave it out where a transfer
   * syntax means nothing (metadata). '*' means any valid UID the client names is fine.
   */
  transferSyntaxes?: readonly string[] | '*';
  /** Used when the client names no transfer syntax; Explicit VR Little Endian unless set (PS3.18 8.7.3.5.2). */
  defaultTransferSyntax?: string;
  /** The charset the route writes, for text; an Accept entry naming another charset does not match. */
  charset?: string;
}

export interface Negotiated {
  offer: Offer;
  mediaType: string;
  type?: string;
  /** A Transfer Syntax UID, or '*' for "as stored"; absent when the offer has no transfer syntaxes. */
  transferSyntax?: string;
  charset?: string;
}

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** transfer-syntax=* : the client takes any transfer syntax, so the server answers as stored (PS3.18 8.7.3.5.2). */
export const AS_STORED = '*';

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const WEIGHT = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/;
const UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

/** Parses a Content-Type such as `multipart/related; type="application/dicom"; boundary=xyz`. */
export function parseMediaType(s: string): MediaType {
  const scan = new Scanner(s);
  const mt = scan.mediaRange(false);
  scan.ows();
  if (!scan.atEnd()) throw badRequest('media type has unexpected characters after it');
  return mt;
}

/** Parses an Accept header into entries sorted best first: by q, then specificity, then order. */
export function parseAccept(header: string | undefined): AcceptEntry[] {
  if (header === undefined || header.trim() === '') return [{ type: '*', subtype: '*', params: {}, q: 1, index: 0 }];
  const scan = new Scanner(header);
  const entries: AcceptEntry[] = [];
  for (;;) {
    scan.ows();
    if (scan.atEnd()) break;
    if (scan.eat(',')) continue; // RFC 9110 5.6.1: empty list elements are allowed
    const range = scan.mediaRange(true);
    let q = 1;
    const params: Record<string, string> = {};
    let weighted = false;
    for (const [name, value] of Object.entries(range.params)) {
      if (weighted) break; // parameters after q are accept-extensions, not part of the range
      if (name === 'q') {
        if (!WEIGHT.test(value)) throw badRequest('Accept has a malformed q value');
        q = Number(value);
        weighted = true;
      } else params[name] = value;
    }
    entries.push({ type: range.type, subtype: range.subtype, params, q, index: entries.length });
    scan.ows();
    if (!scan.atEnd() && !scan.eat(',')) throw badRequest('Accept has unexpected characters after a media range');
  }
  return entries.sort(byPreference);
}

/**
 * Picks what to answer with: the best-ranked acceptable entry that an offer can satisfy, offers tried in
 * their order. `*` / `*` (or no Accept) yields the first offer with its default transfer syntax. An entry
 * with q=0 rules out what it matches unless a more specific entry accepts it. Undefined means 406.
 */
export function negotiate(accept: readonly AcceptEntry[], offers: readonly Offer[]): Negotiated | undefined {
  const ranked = [...accept].sort(byPreference);
  const refused = ranked.filter((e) => e.q === 0);
  for (const entry of ranked) {
    if (entry.q === 0) break;
    for (const offer of offers) {
      const answer = satisfy(entry, offer);
      if (answer && !refused.some((z) => specificity(z) >= specificity(entry) && refuses(z, answer))) return answer;
    }
  }
  return undefined;
}

function satisfy(entry: AcceptEntry, offer: Offer): Negotiated | undefined {
  const wanted = wants(entry);
  if (!wanted || !rangeMatches(entry, offer)) return undefined;
  if (offer.type !== undefined && wanted.type !== undefined && wanted.type !== offer.type.toLowerCase()) return undefined;
  const charset = entry.params.charset?.toLowerCase();
  if (offer.charset !== undefined && charset !== undefined && charset !== offer.charset.toLowerCase()) return undefined;
  const answer: Negotiated = { offer, mediaType: offer.mediaType, type: offer.type, charset: offer.charset };
  if (offer.transferSyntaxes === undefined) return answer;
  const ts = wanted.transferSyntax ?? offer.defaultTransferSyntax ?? EXPLICIT_VR_LITTLE_ENDIAN;
  const producible =
    ts === AS_STORED ||
    (offer.transferSyntaxes === '*' ? ts.length <= 64 && UID.test(ts) : offer.transferSyntaxes.includes(ts));
  return producible ? { ...answer, transferSyntax: ts } : undefined;
}

/** Whether the refusing (q=0) entry `z` matches the answer: ranges and any type / transfer-syntax it names. */
function refuses(z: AcceptEntry, answer: Negotiated): boolean {
  const wanted = wants(z);
  if (!wanted || !rangeMatches(z, answer.offer)) return false;
  if (answer.type !== undefined && wanted.type !== undefined && wanted.type !== answer.type.toLowerCase()) return false;
  if (answer.transferSyntax !== undefined && wanted.transferSyntax !== undefined) {
    return wanted.transferSyntax === answer.transferSyntax;
  }
  return true;
}

/** The part type and transfer syntax an entry asks for; undefined if its type parameter is unreadable. */
function wants(entry: AcceptEntry): { type?: string; transferSyntax?: string } | undefined {
  const { type, 'transfer-syntax': transferSyntax } = entry.params;
  if (type === undefined || !type.includes(';')) return { type: type?.toLowerCase(), transferSyntax };
  // Some clients put the transfer syntax inside the quoted type (dcm4che issue 308): type="application/dicom;transfer-syntax=..."
  try {
    const inner = parseMediaType(type);
    return { type: `${inner.type}/${inner.subtype}`, transferSyntax: transferSyntax ?? inner.params['transfer-syntax'] };
  } catch {
    return undefined;
  }
}

function rangeMatches(entry: MediaType, offer: Offer): boolean {
  const [type, subtype] = offer.mediaType.toLowerCase().split('/');
  return (entry.type === '*' || entry.type === type) && (entry.subtype === '*' || entry.subtype === subtype);
}

function specificity(e: MediaType): number {
  const level = e.type === '*' ? 0 : e.subtype === '*' ? 1 : 2;
  return level * 1000 + Object.keys(e.params).length;
}

function byPreference(a: AcceptEntry, b: AcceptEntry): number {
  return b.q - a.q || specificity(b) - specificity(a) || a.index - b.index;
}

/** A cursor over header text: tokens, quoted strings and parameters (RFC 9110 5.6). */
class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  eat(ch: string): boolean {
    if (this.s[this.i] !== ch) return false;
    this.i++;
    return true;
  }

  ows(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }

  token(what: string): string {
    const start = this.i;
    while (this.i < this.s.length && TCHAR.test(this.s[this.i] ?? '')) this.i++;
    if (this.i === start) throw badRequest(`media type is missing its ${what}`);
    return this.s.slice(start, this.i);
  }

  /** A quoted string, or (leniently, as clients send `type=application/dicom`) a run up to `;`, `,` or space. */
  value(): string {
    if (!this.eat('"')) {
      const start = this.i;
      while (this.i < this.s.length && !'; ,\t"'.includes(this.s[this.i] ?? '')) this.i++;
      if (this.i === start) throw badRequest('media type parameter has no value');
      return this.s.slice(start, this.i);
    }
    let out = '';
    for (;;) {
      const ch = this.s[this.i++];
      if (ch === undefined) throw badRequest('media type has an unterminated quoted string');
      if (ch === '"') return out;
      if (ch === '\\') {
        const next = this.s[this.i++];
        if (next === undefined) throw badRequest('media type has an unterminated quoted string');
        out += next;
      } else out += ch;
    }
  }

  /** type "/" subtype *( OWS ";" OWS [ name "=" value ] ); wildcards only in Accept. */
  mediaRange(wildcards: boolean): MediaType {
    const type = this.token('type').toLowerCase();
    if (!this.eat('/')) throw badRequest('media type is missing "/"');
    const subtype = this.token('subtype').toLowerCase();
    const wild = type === '*' || subtype === '*';
    if (wild && (!wildcards || (type === '*' && subtype !== '*'))) throw badRequest('media type has a misplaced wildcard');
    const params: Record<string, string> = {};
    for (;;) {
      this.ows();
      if (!this.eat(';')) return { type, subtype, params };
      this.ows();
      if (this.atEnd() || this.s[this.i] === ';' || this.s[this.i] === ',') continue;
      const name = this.token('parameter name').toLowerCase();
      this.ows();
      if (!this.eat('=')) throw badRequest('media type parameter is missing "="');
      this.ows();
      const value = this.value();
      if (!(name in params)) params[name] = value;
    }
  }
}

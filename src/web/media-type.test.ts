import { describe, expect, it } from 'vitest';
import { AS_STORED, EXPLICIT_VR_LITTLE_ENDIAN, negotiate, parseAccept, parseMediaType, type Offer } from './media-type.js';

const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';

// What a WADO-RS instance retrieve can answer with (PS3.18 8.7.3, Tables 8.7.3-5..8): multipart by default,
// single-part application/dicom too; here the instance can be served as Explicit or Implicit VR Little Endian.
const multipartDicom: Offer = {
  mediaType: 'multipart/related',
  type: 'application/dicom',
  transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN],
};
const singleDicom: Offer = { mediaType: 'application/dicom', transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN] };
const instanceOffers = [multipartDicom, singleDicom];
const metadataOffers: Offer[] = [{ mediaType: 'application/dicom+json', charset: 'utf-8' }, { mediaType: 'multipart/related', type: 'application/dicom+xml' }];

const pick = (accept: string | undefined, offers: Offer[] = instanceOffers) => {
  const answer = negotiate(parseAccept(accept), offers);
  return answer && { mediaType: answer.mediaType, type: answer.type, transferSyntax: answer.transferSyntax };
};

describe('parseMediaType', () => {
  it('reads type, subtype and parameters, lower-casing names but not values', () => {
    expect(parseMediaType('Multipart/Related; TYPE="application/dicom"; Boundary=AbC-123')).toEqual({
      type: 'multipart',
      subtype: 'related',
      params: { type: 'application/dicom', boundary: 'AbC-123' },
    });
  });

  it('unquotes quoted strings with escapes and keeps ; and , inside them', () => {
    expect(parseMediaType('a/b; x="q\\"u;o,t\\\\e"; y=1').params).toEqual({ x: 'q"u;o,t\\e', y: '1' });
  });

  it('accepts an unquoted type value with a slash, as some clients send it', () => {
    expect(parseMediaType('multipart/related;type=application/dicom;boundary=x').params).toEqual({
      type: 'application/dicom',
      boundary: 'x',
    });
  });

  it('keeps the first of repeated parameters and tolerates empty ones', () => {
    expect(parseMediaType('a/b;; x=1 ; x=2;').params).toEqual({ x: '1' });
  });

  it.each([
    ['', 'media type is missing its type'],
    ['application', 'media type is missing "/"'],
    ['application/', 'media type is missing its subtype'],
    ['*/*', 'media type has a misplaced wildcard'],
    ['a/b; x', 'media type parameter is missing "="'],
    ['a/b; x=', 'media type parameter has no value'],
    ['a/b; x="open', 'media type has an unterminated quoted string'],
    ['a/b c', 'media type has unexpected characters after it'],
  ])('refuses %j as a bad request: %s', (text, reason) => {
    expect(() => parseMediaType(text)).toThrow(expect.objectContaining({ code: 'bad-request', message: reason }));
  });
});

describe('parseAccept', () => {
  it('treats a missing or blank header as */*', () => {
    expect(parseAccept(undefined)).toEqual([{ type: '*', subtype: '*', params: {}, q: 1, index: 0 }]);
    expect(parseAccept('  ')).toEqual(parseAccept(undefined));
  });

  it('ranks by q, then specificity, then order, and takes q out of the parameters', () => {
    const ranked = parseAccept('*/*;q=0.1, text/*, application/json;q=0.5, text/html, text/plain;charset=utf-8, image/png');
    expect(ranked.map((e) => `${e.type}/${e.subtype} ${e.q}`)).toEqual([
      'text/plain 1',
      'text/html 1',
      'image/png 1',
      'text/* 1',
      'application/json 0.5',
      '*/* 0.1',
    ]);
    expect(ranked[0]?.params).toEqual({ charset: 'utf-8' });
  });

  it('ignores accept-extensions after q and empty list elements', () => {
    expect(parseAccept(', a/b;q=0.5;ext=1 ,,')).toEqual([{ type: 'a', subtype: 'b', params: {}, q: 0.5, index: 0 }]);
  });

  it('reads quoted types with commas inside as one entry', () => {
    expect(parseAccept('multipart/related; type="application/dicom, x", a/b')).toHaveLength(2);
  });

  it.each(['a/b;q=2', 'a/b;q=0.1234', 'a/b;q=x', '*/b', 'a/b c', 'a/b;q=1.5'])('refuses %j as a bad request', (header) => {
    expect(() => parseAccept(header)).toThrow(expect.objectContaining({ code: 'bad-request' }));
  });
});

describe('negotiate', () => {
  it('answers with the first offer in Explicit VR Little Endian when Accept is missing or */*', () => {
    const expected = { mediaType: 'multipart/related', type: 'application/dicom', transferSyntax: EXPLICIT_VR_LITTLE_ENDIAN };
    expect(pick(undefined)).toEqual(expected);
    expect(pick('*/*')).toEqual(expected);
    expect(pick('multipart/*')).toEqual(expected);
  });

  it('takes multipart/related; type="application/dicom" without transfer-syntax as Explicit VR Little Endian', () => {
    expect(pick('multipart/related; type="application/dicom"')?.transferSyntax).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
  });

  it('answers with a named transfer syntax the offer can produce', () => {
    expect(pick(`multipart/related; type="application/dicom"; transfer-syntax=${IMPLICIT_VR_LITTLE_ENDIAN}`)?.transferSyntax).toBe(
      IMPLICIT_VR_LITTLE_ENDIAN,
    );
  });

  it('takes transfer-syntax=* as "as stored"', () => {
    expect(pick('multipart/related; type="application/dicom"; transfer-syntax=*')?.transferSyntax).toBe(AS_STORED);
  });

  it('serves single-part application/dicom when that is what is asked for', () => {
    expect(pick('application/dicom')).toEqual({ mediaType: 'application/dicom', type: undefined, transferSyntax: EXPLICIT_VR_LITTLE_ENDIAN });
  });

  it('returns nothing (406) for a transfer syntax it cannot produce, or a part type it does not have', () => {
    expect(pick(`multipart/related; type="application/dicom"; transfer-syntax=${JPEG_BASELINE}`)).toBeUndefined();
    expect(pick('multipart/related; type="image/jpeg"')).toBeUndefined();
    expect(pick('image/png, text/html')).toBeUndefined();
  });

  it('falls through to the next acceptable entry when the best one cannot be served', () => {
    const accept = `multipart/related; type="application/dicom"; transfer-syntax=${JPEG_BASELINE}, application/dicom;q=0.5`;
    expect(pick(accept)?.mediaType).toBe('application/dicom');
  });

  it('prefers the entry with the higher q over the offer order', () => {
    expect(pick('multipart/related;type="application/dicom";q=0.4, application/dicom;q=0.9')?.mediaType).toBe('application/dicom');
  });

  it('lets q=0 exclude what a wildcard would otherwise allow', () => {
    expect(pick('*/*, multipart/related;q=0')?.mediaType).toBe('application/dicom');
    expect(pick('*/*, multipart/*;q=0, application/dicom;q=0')).toBeUndefined();
    const notExplicit = `multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}; q=0`;
    expect(pick(`${notExplicit}, multipart/related; type="application/dicom"; transfer-syntax=*;q=0.5`)?.transferSyntax).toBe(AS_STORED);
  });

  it('lets a more specific entry accept what a broader q=0 refuses', () => {
    expect(pick('multipart/related;q=0, multipart/related;type="application/dicom";transfer-syntax=*')?.transferSyntax).toBe(AS_STORED);
  });

  it('reads a transfer syntax nested inside the quoted type (dcm4che issue 308)', () => {
    expect(pick(`multipart/related; type="application/dicom; transfer-syntax=${IMPLICIT_VR_LITTLE_ENDIAN}"`)?.transferSyntax).toBe(
      IMPLICIT_VR_LITTLE_ENDIAN,
    );
  });

  it('uses the offer default transfer syntax, and accepts any valid UID from an offer of *', () => {
    const anything: Offer = { mediaType: 'application/dicom', transferSyntaxes: '*', defaultTransferSyntax: AS_STORED };
    expect(pick('application/dicom', [anything])?.transferSyntax).toBe(AS_STORED);
    expect(pick(`application/dicom; transfer-syntax=${JPEG_BASELINE}`, [anything])?.transferSyntax).toBe(JPEG_BASELINE);
    expect(pick('application/dicom; transfer-syntax=1.02.x', [anything])).toBeUndefined();
  });

  it('negotiates metadata without a transfer syntax and honours charset', () => {
    const answer = negotiate(parseAccept('application/dicom+json; charset=UTF-8'), metadataOffers);
    expect(answer).toMatchObject({ mediaType: 'application/dicom+json', charset: 'utf-8' });
    expect(answer?.transferSyntax).toBeUndefined();
    expect(negotiate(parseAccept('application/dicom+json; charset=iso-8859-1'), metadataOffers)).toBeUndefined();
    expect(pick('multipart/related; type="application/dicom+xml"', metadataOffers)?.type).toBe('application/dicom+xml');
  });

  it('matches media types and the type parameter case-insensitively', () => {
    expect(pick('Multipart/Related; Type="Application/DICOM"')?.type).toBe('application/dicom');
  });
});

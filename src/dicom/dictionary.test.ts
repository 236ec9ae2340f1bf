// Tests for the generated PS3.6 data dictionary: exact lookups, repeating groups, keywords.
import { describe, expect, it } from 'vitest';
import { lookupTag, tagForKeyword } from './dictionary.generated.js';

describe('data dictionary', () => {
  it('knows PatientName (0010,0010) as PN with VM 1', () => {
    expect(lookupTag(0x00100010)).toEqual({ tag: 0x00100010, vr: 'PN', vm: '1', keyword: 'PatientName', retired: false });
  });

  it('reads Pixel Data (7FE0,0010) as OW when the transfer syntax is implicit', () => {
    expect(lookupTag(0x7fe00010)).toMatchObject({ keyword: 'PixelData', vr: 'OW' });
  });

  it('resolves an overlay in repeating group 6002 to the 60xx entry, with the tag asked for', () => {
    expect(lookupTag(0x60023000)).toEqual({ tag: 0x60023000, vr: 'OW', vm: '1', keyword: 'OverlayData', retired: false });
    expect(lookupTag(0x60020010)).toMatchObject({ keyword: 'OverlayRows', vr: 'US' });
  });

  it('does not match odd (private) groups against the even-only 60xx range', () => {
    expect(lookupTag(0x60013000)).toBeUndefined();
  });

  it('gives private creator elements VR LO and group lengths VR UL', () => {
    expect(lookupTag(0x00090010)).toMatchObject({ keyword: 'PrivateCreator', vr: 'LO' });
    expect(lookupTag(0x00290000)).toMatchObject({ keyword: 'PrivateGroupLength', vr: 'UL' });
    expect(lookupTag(0x00180000)).toMatchObject({ keyword: 'GenericGroupLength', vr: 'UL' });
  });

  it('maps US-or-SS entries to US and keeps retired entries without the RETIRED_ prefix', () => {
    expect(lookupTag(0x00280106)).toMatchObject({ keyword: 'SmallestImagePixelValue', vr: 'US' });
    expect(lookupTag(0x00280104)).toMatchObject({ keyword: 'SmallestValidPixelValue', retired: true });
  });

  it('round-trips keywords and tags', () => {
    for (const kw of ['PatientName', 'PatientID', 'StudyInstanceUID', 'PixelData', 'SpecificCharacterSet', 'ReferencedImageSequence']) {
      const tag = tagForKeyword(kw);
      expect(tag).toBeTypeOf('number');
      expect(lookupTag(tag!)?.keyword).toBe(kw);
    }
    expect(tagForKeyword('PatientName')).toBe(0x00100010);
    expect(tagForKeyword('OverlayData')).toBe(0x60003000);
  });

  it('returns undefined for a tag or keyword that does not exist', () => {
    expect(lookupTag(0x00100011)).toBeUndefined();
    expect(tagForKeyword('NoSuchKeyword')).toBeUndefined();
  });

  it('treats the item tags as having no VR', () => {
    expect(lookupTag(0xfffee000)).toMatchObject({ keyword: 'Item', vr: 'NONE' });
  });
});

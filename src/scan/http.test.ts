import { describe, expect, it } from 'vitest';
import { countJsonArray } from './http.js';

const n = (s: string) => countJsonArray(Buffer.from(s));

describe('counting a JSON array without reading it', () => {
  it('counts the elements of an array of objects', () => {
    expect(n('[{"a":1},{"b":[1,2,3]},{"c":{"d":[{}]}}]')).toBe(3);
  });
  it('is not fooled by commas and brackets inside strings, or escaped quotes', () => {
    expect(n('[ {"PatientName":"DOE, ]JOHN["}, "x\\",y", "z" ]')).toBe(3);
  });
  it('counts an empty array as 0 and a single value as 1', () => {
    expect(n(' [ ] ')).toBe(0);
    expect(n('[42]')).toBe(1);
    expect(n('["only"]')).toBe(1);
  });
  it('says undefined for something that is not an array, or a truncated one', () => {
    expect(n('{"a":[1,2]}')).toBeUndefined();
    expect(n('<html>')).toBeUndefined();
    expect(n('[{"a":1},{"b"')).toBeUndefined();
  });
  it('counts the completed elements of a body cut at the size cap, when told it was cut', () => {
    expect(countJsonArray(Buffer.from('[{"a":1},{"b":2},{"c"'), { partial: true })).toBe(2);
    expect(countJsonArray(Buffer.from('{"a":1'), { partial: true })).toBeUndefined();
  });
});

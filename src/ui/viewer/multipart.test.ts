import { describe, expect, it } from 'vitest';
import { boundaryOf, splitMultipart } from './multipart.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('multipart/related answers', () => {
  it('finds the boundary, quoted or not', () => {
    expect(boundaryOf('multipart/related; type="application/octet-stream"; boundary=abc123')).toBe('abc123');
    expect(boundaryOf('multipart/related; boundary="a b:c"; type=x')).toBe('a b:c');
    expect(boundaryOf('application/json')).toBeUndefined();
  });

  it('splits parts and keeps their bytes exactly, CRLFs inside a part included', () => {
    const body = enc('--XX\r\nContent-Type: application/octet-stream\r\n\r\n\x01\r\n\x02\r\n--XX\r\nContent-Type: application/octet-stream\r\n\r\nsecond\r\n--XX--\r\n');
    const parts = splitMultipart(body, 'XX');
    expect(parts).toHaveLength(2);
    expect(Array.from(parts[0]!.body)).toEqual([1, 13, 10, 2]);
    expect(new TextDecoder().decode(parts[1]!.body)).toBe('second');
    expect(parts[0]!.headers).toContain('application/octet-stream');
  });

  it('returns what is complete of a truncated answer', () => {
    expect(splitMultipart(enc('--XX\r\nA: b\r\n\r\nunfinished'), 'XX')).toEqual([]);
  });
});

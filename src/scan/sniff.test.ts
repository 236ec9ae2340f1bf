import { describe, expect, it } from 'vitest';
import { encodePdu } from '../net/pdu/codec.js';
import { PduType } from '../net/pdu/types.js';
import { Limiter } from './limiter.js';
import { asDicomAnswer, associateRq, looksLikeHttp, looksLikeTls, randomAe, wholePdu } from './sniff.js';

describe('telling what a port speaks from its first answer', () => {
  it('reads an A-ASSOCIATE-RJ and an A-ABORT as DICOM', () => {
    const rj = encodePdu({ type: PduType.AssociateRj, result: 1, source: 1, reason: 7 });
    expect(wholePdu(rj)).toBe(true);
    expect(asDicomAnswer(rj)).toEqual({ type: PduType.AssociateRj, result: 1, source: 1, reason: 7 });
    expect(asDicomAnswer(encodePdu({ type: PduType.Abort, source: 2, reason: 0 }))?.type).toBe(PduType.Abort);
  });

  it('does not take an A-ASSOCIATE-RQ, a half PDU or an HTTP answer for a DICOM answer', () => {
    const rq = associateRq(randomAe(), randomAe());
    expect(asDicomAnswer(rq)).toBeUndefined();
    const rj = encodePdu({ type: PduType.AssociateRj, result: 1, source: 1, reason: 7 });
    expect(wholePdu(rj.subarray(0, 8))).toBe(false);
    expect(asDicomAnswer(rj.subarray(0, 8))).toBeUndefined();
    expect(asDicomAnswer(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))).toBeUndefined();
  });

  it('recognises an HTTP status line and a TLS record', () => {
    expect(looksLikeHttp(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toBe(true);
    expect(looksLikeHttp(Buffer.from('HTTP/1.0 200 OK\r\n'))).toBe(true);
    expect(looksLikeHttp(Buffer.from('SSH-2.0-OpenSSH'))).toBe(false);
    expect(looksLikeTls(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]))).toBe(true);
    expect(looksLikeTls(Buffer.from('HTTP/1.1'))).toBe(false);
  });

  it('makes AE titles of 10 letters and digits that differ', () => {
    const a = randomAe(), b = randomAe();
    expect(a).toMatch(/^[A-Z0-9]{10}$/);
    expect(a).not.toBe(b);
  });
});

describe('the limiter', () => {
  it('never runs more than its concurrency at once, and keeps the order of results', async () => {
    const l = new Limiter(1000, 3);
    let running = 0, most = 0;
    const out = await l.map([...Array(20).keys()], async (i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running--;
      return i * 2;
    });
    expect(most).toBe(3);
    expect(out).toEqual([...Array(20).keys()].map((i) => i * 2));
  });
});

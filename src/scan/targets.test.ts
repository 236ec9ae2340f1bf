import { describe, expect, it } from 'vitest';
import { isRampartError } from '../errors.js';
import { DEFAULT_DICOM_PORTS, isLoopbackAddress, parseTarget, resolveTargets } from './targets.js';

const noDns = async (h: string) => { throw new Error(`unexpected lookup of ${h}`); };

describe('scan targets', () => {
  it('takes host, host:port, several ports, [IPv6]:port and a bare IPv6 address', () => {
    expect(parseTarget('pacs.example')).toEqual({ hostPart: 'pacs.example', ports: [...DEFAULT_DICOM_PORTS] });
    expect(parseTarget('10.0.0.5:104')).toEqual({ hostPart: '10.0.0.5', ports: [104] });
    expect(parseTarget('10.0.0.5:104,11112,104')).toEqual({ hostPart: '10.0.0.5', ports: [104, 11112] });
    expect(parseTarget('[::1]:4242')).toEqual({ hostPart: '::1', ports: [4242] });
    expect(parseTarget('::1')).toEqual({ hostPart: '::1', ports: [...DEFAULT_DICOM_PORTS] });
  });

  it('uses the usual DICOM ports 104, 11112, 4242 and 2762 when none is given', () => {
    expect(DEFAULT_DICOM_PORTS).toEqual([104, 11112, 4242, 2762]);
  });

  it('refuses ports out of range and malformed hosts as usage errors', async () => {
    for (const bad of ['h:0', 'h:65536', 'h:x', 'a b', '-h', '[nonsense]:1', '10.0.0.9-3']) {
      await expect(resolveTargets([bad], { resolve: noDns })).rejects.toSatisfy((e) => isRampartError(e, 'bad-request'));
    }
  });

  it('expands a CIDR range and a last-octet range', async () => {
    const cidr = await resolveTargets(['192.0.2.0/30:104'], { resolve: noDns });
    expect(cidr.map((t) => t.address)).toEqual(['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3']);
    const range = await resolveTargets(['192.0.2.7-9'], { resolve: noDns });
    expect(range.map((t) => t.address)).toEqual(['192.0.2.7', '192.0.2.8', '192.0.2.9']);
  });

  it('refuses more than 256 addresses without --authorized-range, counting across targets', async () => {
    await expect(resolveTargets(['192.0.2.0/23'], { resolve: noDns })).rejects.toThrow(/--authorized-range/);
    await expect(resolveTargets(['192.0.2.0/24', '198.51.100.1'], { resolve: noDns })).rejects.toThrow(/--authorized-range/);
    expect(await resolveTargets(['192.0.2.0/24'], { resolve: noDns })).toHaveLength(256);
  });

  it('takes a larger range when authorized, but never more than a /16', async () => {
    expect(await resolveTargets(['192.0.2.0/23:104'], { authorizedRange: true, resolve: noDns })).toHaveLength(512);
    await expect(resolveTargets(['10.0.0.0/15'], { authorizedRange: true, resolve: noDns })).rejects.toThrow(/more than 65536/);
  });

  it('resolves each host name once and keeps the name for certificates', async () => {
    const asked: string[] = [];
    const t = await resolveTargets(['pacs.example:104,11112'], { resolve: async (h) => { asked.push(h); return '192.0.2.10'; } });
    expect(asked).toEqual(['pacs.example']);
    expect(t).toEqual([{ input: 'pacs.example:104,11112', host: 'pacs.example', address: '192.0.2.10', ports: [104, 11112] }]);
  });

  it('names a host it cannot resolve', async () => {
    await expect(resolveTargets(['nowhere.invalid'], { resolve: async () => { throw new Error('ENOTFOUND'); } })).rejects.toThrow(/cannot resolve "nowhere.invalid"/);
  });

  it('knows loopback addresses', () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('127.8.9.1')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
  });
});

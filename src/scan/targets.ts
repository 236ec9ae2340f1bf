// What a scan may touch: the targets as the operator named them (host, host:port, IPv4 CIDR or
// last-octet range, [IPv6]:port), expanded and resolved once. A range of more than 256
// addresses is refused unless the operator says it is authorized.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { badRequest } from '../errors.js';

/** The usual DICOM ports when a target names none: 104, 11112, 4242 (Orthanc), 2762 (DICOM TLS). */
export const DEFAULT_DICOM_PORTS: readonly number[] = [104, 11112, 4242, 2762];
export const MAX_UNAUTHORIZED_ADDRESSES = 256;
/** Even an authorized range stops here: a /16. */
export const MAX_ADDRESSES = 65_536;

export interface ScanTarget {
  /** As given. */
  input: string;
  /** The name to show and to check certificates against (the address when none was given). */
  host: string;
  /** The one address every probe of this host connects to. */
  address: string;
  ports: number[];
}

interface Parsed { input: string; hosts: string[]; ports: number[] }

function parsePorts(s: string, input: string): number[] {
  const ports = s.split(',').map((p) => Number(p));
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw badRequest(`"${input}": ports are 1-65535`);
  return [...new Set(ports)];
}

const ipv4ToInt = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const intToIpv4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** How many addresses a host part stands for, without building the list. */
function countOf(hostPart: string): number {
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(hostPart);
  if (cidr) return 2 ** (32 - Number(cidr[2]));
  const range = /^(\d+\.\d+\.\d+)\.(\d+)-(\d+)$/.exec(hostPart);
  if (range) return Math.max(0, Number(range[3]) - Number(range[2]) + 1);
  return 1;
}

function expand(hostPart: string, input: string): string[] {
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(hostPart);
  if (cidr) {
    const bits = Number(cidr[2]);
    if (isIP(cidr[1]!) !== 4 || bits > 32) throw badRequest(`"${input}" is not an IPv4 CIDR range`);
    const size = 2 ** (32 - bits);
    const base = (ipv4ToInt(cidr[1]!) - (ipv4ToInt(cidr[1]!) % size)) >>> 0;
    return Array.from({ length: size }, (_, i) => intToIpv4(base + i));
  }
  const range = /^(\d+\.\d+\.\d+)\.(\d+)-(\d+)$/.exec(hostPart);
  if (range) {
    const from = Number(range[2]), to = Number(range[3]);
    if (from > to || to > 255 || isIP(`${range[1]}.${from}`) !== 4) throw badRequest(`"${input}" is not a range like 10.0.0.1-20`);
    return Array.from({ length: to - from + 1 }, (_, i) => `${range[1]}.${from + i}`);
  }
  if (isIP(hostPart)) return [hostPart];
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(hostPart)) throw badRequest(`"${input}" is not a host name, address or range`);
  return [hostPart];
}

/** Splits "host", "host:104", "host:104,11112", "[::1]:104", "::1", "10.0.0.0/24:104". */
export function parseTarget(input: string): { hostPart: string; ports: number[] } {
  const s = input.trim();
  if (s === '') throw badRequest('an empty target');
  const v6 = /^\[([^\]]+)\](?::([\d,]+))?$/.exec(s);
  if (v6) {
    if (isIP(v6[1]!) !== 6) throw badRequest(`"${input}" is not an IPv6 address`);
    return { hostPart: v6[1]!, ports: v6[2] ? parsePorts(v6[2], input) : [...DEFAULT_DICOM_PORTS] };
  }
  if (isIP(s) === 6) return { hostPart: s, ports: [...DEFAULT_DICOM_PORTS] };
  const m = /^([^:]+)(?::([\d,]+))?$/.exec(s);
  if (!m) throw badRequest(`"${input}" is not host[:port]`);
  return { hostPart: m[1]!, ports: m[2] ? parsePorts(m[2], input) : [...DEFAULT_DICOM_PORTS] };
}

/**
 * Expands and resolves the targets. Throws a bad-request error (exit 2) for anything malformed
 * and for more than 256 addresses in all unless authorizedRange.
 */
export async function resolveTargets(inputs: string[], opts: { authorizedRange?: boolean; resolve?: (host: string) => Promise<string> } = {}): Promise<ScanTarget[]> {
  if (inputs.length === 0) throw badRequest('name at least one target (host[:port]) or give --self');
  const parsed: Parsed[] = [];
  let total = 0;
  for (const input of inputs) {
    const { hostPart, ports } = parseTarget(input);
    total += countOf(hostPart);
    if (total > MAX_ADDRESSES) throw badRequest(`the targets name more than ${MAX_ADDRESSES} addresses; scan smaller ranges`);
    if (total > MAX_UNAUTHORIZED_ADDRESSES && !opts.authorizedRange) {
      throw badRequest(`the targets name ${total > MAX_UNAUTHORIZED_ADDRESSES ? 'more than ' + MAX_UNAUTHORIZED_ADDRESSES : total} addresses: scanning a range that large needs --authorized-range (only scan networks you are responsible for)`);
    }
    parsed.push({ input, hosts: expand(hostPart, input), ports });
  }
  const resolveOne = opts.resolve ?? (async (h: string) => (await lookup(h)).address);
  const out: ScanTarget[] = [];
  for (const p of parsed) {
    for (const host of p.hosts) {
      let address = host;
      if (!isIP(host)) {
        try {
          address = await resolveOne(host); // once: every probe of this host uses this address
        } catch {
          throw badRequest(`cannot resolve "${host}"`);
        }
      }
      out.push({ input: p.input, host, address, ports: p.ports });
    }
  }
  return out;
}

/** True for 127/8, ::1 and ::ffff:127.x: traffic that never leaves the machine. */
export const isLoopbackAddress = (a: string): boolean => /^127\./.test(a) || a === '::1' || /^::ffff:127\./i.test(a);

export const endpointName = (address: string, port: number): string => `${address.includes(':') ? `[${address}]` : address}:${port}`;

// What every command shares: --data/--config handling, output helpers, reading secrets from stdin.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config/schema.js';

export const COMMON_OPTIONS = {
  data: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  isTTY: boolean;
}

export const processIo = (): Io => ({
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  stdin: process.stdin,
  isTTY: Boolean(process.stderr.isTTY),
});

export function parse<O extends ParseArgsConfig['options']>(args: string[], options: O, allowPositionals = true) {
  return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
}

export function configFrom(values: { data?: string; config?: string }, overrides: Record<string, unknown> = {}): Readonly<Config> {
  return loadConfig({ file: values.config, overrides: { ...(values.data ? { dataDir: values.data } : {}), ...overrides } });
}

/** Reads a secret from standard input (one line; the trailing newline is dropped). */
export async function readSecret(io: Io, prompt: string): Promise<string> {
  if (io.stdin.isTTY) io.err(prompt);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of io.stdin) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as string);
    chunks.push(b);
    size += b.length;
    if (size > 4096) throw new Error('secret on stdin is longer than 4096 bytes');
    if (b.includes(0x0a)) break;
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** "8h", "30d", "15m", "3600s" -> milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(s);
  if (!m) throw new Error(`duration "${s}" must look like 15m, 8h or 30d`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** Files under the paths an operator named, recursively, in name order; links are not followed out of the tree. */
export async function* walkFiles(path: string, depth = 0): AsyncIterable<string> {
  if (depth > 64) return;
  const st = await lstat(path);
  if (st.isSymbolicLink()) return; // never follow links out of the tree the operator named
  if (st.isDirectory()) {
    for (const name of (await readdir(path)).sort()) yield* walkFiles(join(path, name), depth + 1);
  } else if (st.isFile()) yield path;
}

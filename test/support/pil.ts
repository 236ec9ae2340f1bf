// Decodes PNG/JPEG bytes with Pillow (Debian's python3-pil), an independent check of our encoders.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./pil-decode.py', import.meta.url));

export interface Decoded { format: string; mode: string; width: number; height: number; pixels: Buffer }

export function pilDecode(image: Uint8Array): Decoded {
  const out = JSON.parse(execFileSync('/usr/bin/python3', [SCRIPT], { input: image, encoding: 'utf8', maxBuffer: 256 << 20 })) as Omit<Decoded, 'pixels'> & { pixels: string };
  return { ...out, pixels: Buffer.from(out.pixels, 'base64') };
}

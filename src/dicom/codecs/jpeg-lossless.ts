// JPEG Lossless, Non-Hierarchical (Process 14, ISO 10918-1 H), transfer syntaxes .57 and .70:
// decoded by jpeg-lossless-decoder-js, pure JavaScript.
import { Decoder } from 'jpeg-lossless-decoder-js';
import { invalidDicom } from '../../errors.js';

/** Interleaved samples, 1 byte each for precision <= 8 and 2 (little endian) above. */
export function decodeJpegLossless(encoded: Uint8Array, precision: number): Uint8Array {
  const bytes = precision > 8 ? 2 : 1;
  let out: ArrayBufferView;
  try {
    const src = encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.byteLength) as ArrayBuffer;
    out = new Decoder().decode(src, 0, encoded.byteLength, bytes) as ArrayBufferView;
  } catch (e) {
    throw invalidDicom(`the JPEG lossless decoder rejected the compressed frame: ${String((e as Error)?.message ?? e).slice(0, 120)}`);
  }
  const u8 = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  // Uint16Array output is in host order, which is little endian on every platform Node runs on here.
  return u8;
}

// The WebAssembly decoders (Emscripten builds published by Cornerstone: libjpeg-turbo 8-bit,
// CharLS, OpenJPEG), loaded once per thread on first use. A decoder that fails may have left its
// module's memory in an unknown state (an Emscripten abort ends the instance), so a failure
// discards the module and the next frame loads a fresh one.
import { createRequire } from 'node:module';
import { RampartError, invalidDicom } from '../../errors.js';

const require = createRequire(import.meta.url);

export interface WasmFrameInfo { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean }
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  getInterleaveMode?(): number;
  delete(): void;
}
type Factory = (opts: object) => Promise<Record<string, new () => WasmDecoder>>;

export type WasmCodec = 'libjpeg-turbo' | 'charls' | 'openjpeg';
const SPEC: Record<WasmCodec, { module: string; cls: string }> = {
  'libjpeg-turbo': { module: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', cls: 'JPEGDecoder' },
  charls: { module: '@cornerstonejs/codec-charls/decodewasmjs', cls: 'JpegLSDecoder' },
  openjpeg: { module: '@cornerstonejs/codec-openjpeg/decodewasmjs', cls: 'J2KDecoder' },
};

const loaded = new Map<WasmCodec, Promise<Record<string, new () => WasmDecoder>>>();

function load(codec: WasmCodec): Promise<Record<string, new () => WasmDecoder>> {
  let m = loaded.get(codec);
  if (!m) {
    const factory = require(SPEC[codec].module) as Factory;
    // OpenJPEG prints progress to stdout; nothing a decoder says belongs in our output.
    m = factory({ print: () => undefined, printErr: () => undefined });
    loaded.set(codec, m);
    m.catch(() => loaded.delete(codec));
  }
  return m;
}

export interface WasmDecoded { info: WasmFrameInfo; pixels: Uint8Array; interleaveMode?: number }

/** Decodes one frame; the pixels are a copy (the module's buffer is reused by the next call). */
export async function wasmDecode(codec: WasmCodec, encoded: Uint8Array): Promise<WasmDecoded> {
  const mod = await load(codec).catch((e: unknown) => {
    throw new RampartError('unavailable', `the ${codec} decoder could not be loaded: ${(e as Error)?.message ?? String(e)}`);
  });
  const d = new mod[SPEC[codec].cls]!();
  try {
    d.getEncodedBuffer(encoded.length).set(encoded);
    d.decode();
    const info = d.getFrameInfo();
    const pixels = d.getDecodedBuffer().slice();
    return { info, pixels, interleaveMode: d.getInterleaveMode?.() };
  } catch (e) {
    loaded.delete(codec);
    // Emscripten throws a pointer (a number) for a C++ exception and a RuntimeError for an abort.
    throw invalidDicom(`the ${codec} decoder rejected the compressed frame${e instanceof Error ? `: ${e.message.slice(0, 120)}` : ''}`);
  } finally {
    try { d.delete(); } catch { /* the module is already discarded */ }
  }
}

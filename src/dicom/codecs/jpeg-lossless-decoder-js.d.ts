// Types for jpeg-lossless-decoder-js 2.1.2, which ships none: only what jpeg-lossless.ts uses.
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}

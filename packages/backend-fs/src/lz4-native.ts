/**
 * Native LZ4 for the Node storages: `lz4-napi` (Rust lz4_flex, prebuilt N-API binaries), loaded
 * lazily on first use. Where its binary is missing for the platform the storages fall back to
 * the JavaScript codec of `lz4.ts`, which reads and writes the same bytes.
 */
import { createRequire } from "node:module";

/** The subset of `lz4-napi` used here (its block functions use the 4-byte size prefix). */
interface Lz4Napi {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array): Buffer;
}

/** Native LZ4 block functions in the container's stored part form (size prefix + block). */
export interface NativeLz4 {
  /** Compresses `raw` into `u32 LE raw.length` + LZ4 block. */
  readonly compress: (raw: Uint8Array) => Uint8Array;
  /** Decodes a stored part (prefix already checked by the caller) into new bytes. */
  readonly decompress: (data: Uint8Array, rawLength: number) => Uint8Array;
}

let loaded: NativeLz4 | null | undefined;

/** The native LZ4 functions, or `undefined` when `lz4-napi` cannot be loaded here. */
export function nativeLz4(): NativeLz4 | undefined {
  if (loaded === undefined) {
    try {
      const m = createRequire(import.meta.url)("lz4-napi") as Lz4Napi;
      loaded = {
        compress: (raw) => m.compressSync(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)),
        decompress: (data) => {
          const b = m.uncompressSync(data);
          // a plain Uint8Array view: raw-bytes values decoded from it must not come back as Buffers
          return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
        },
      };
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

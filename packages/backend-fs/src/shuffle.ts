/**
 * Byte shuffle filter (as HDF5's / Blosc's shuffle): byte k of every `typesize`-byte element goes
 * to plane k, so the slowly varying high bytes of numeric data form long runs that deflate
 * compresses better and faster. Trailing bytes (length not a multiple of `typesize`) stay as they
 * are at the end. Isomorphic.
 */

/** Shuffles `src` into a new buffer of the same length. */
export function shuffleBytes(src: Uint8Array, typesize: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const n = Math.floor(src.length / typesize);
  if (typesize === 4 && src.byteOffset % 4 === 0) {
    const w = new Uint32Array(src.buffer, src.byteOffset, n);
    const n2 = 2 * n; const n3 = 3 * n;
    for (let i = 0; i < n; i++) {
      const v = w[i]!;
      out[i] = v; out[n + i] = v >>> 8; out[n2 + i] = v >>> 16; out[n3 + i] = v >>> 24;
    }
  } else {
    for (let k = 0; k < typesize; k++) {
      const base = k * n;
      for (let i = 0, j = k; i < n; i++, j += typesize) out[base + i] = src[j]!;
    }
  }
  const tail = n * typesize;
  if (tail < src.length) out.set(src.subarray(tail), tail);
  return out;
}

/** Inverse of {@link shuffleBytes}, writing into `out` (same length as `src`). */
export function unshuffleBytes(src: Uint8Array, typesize: number, out: Uint8Array): void {
  const n = Math.floor(src.length / typesize);
  if (typesize === 4 && out.byteOffset % 4 === 0) {
    const w = new Uint32Array(out.buffer, out.byteOffset, n);
    const n2 = 2 * n; const n3 = 3 * n;
    for (let i = 0; i < n; i++) w[i] = (src[i]! | (src[n + i]! << 8) | (src[n2 + i]! << 16) | (src[n3 + i]! << 24)) >>> 0;
  } else {
    for (let k = 0; k < typesize; k++) {
      const base = k * n;
      for (let i = 0, j = k; i < n; i++, j += typesize) out[j] = src[base + i]!;
    }
  }
  const tail = n * typesize;
  if (tail < src.length) out.set(src.subarray(tail), tail);
}

/**
 * Byte shuffle filter (as HDF5's / Blosc's shuffle): byte k of every `typesize`-byte element goes
 * to plane k, so the slowly varying high bytes of numeric data form long runs that deflate and
 * LZ4 compress better and faster. Trailing bytes (length not a multiple of `typesize`) stay as
 * they are at the end. Isomorphic.
 */

/**
 * Transposes a 4x4 byte block: the words `a..d` are rows, the results columns (column j = byte j
 * of a, b, c, d). Shuffling and unshuffling with typesize 4 are both this transpose, done four
 * elements at a time with 32-bit loads and stores instead of 16 byte accesses. Exported for the
 * compression worker, which evaluates this function's source. @internal
 */
export function transpose4(dv: DataView, i0: number, i1: number, i2: number, i3: number, ov: DataView, o0: number, o1: number, o2: number, o3: number): void {
  const a = dv.getUint32(i0, true), b = dv.getUint32(i1, true), c = dv.getUint32(i2, true), d = dv.getUint32(i3, true);
  const abLo = (a & 0xff) | ((b & 0xff) << 8) | ((a & 0xff00) << 8) | ((b & 0xff00) << 16);
  const abHi = ((a >>> 16) & 0xff) | (((b >>> 16) & 0xff) << 8) | ((a >>> 24) << 16) | ((b >>> 24) << 24);
  const cdLo = (c & 0xff) | ((d & 0xff) << 8) | ((c & 0xff00) << 8) | ((d & 0xff00) << 16);
  const cdHi = ((c >>> 16) & 0xff) | (((d >>> 16) & 0xff) << 8) | ((c >>> 24) << 16) | ((d >>> 24) << 24);
  ov.setUint32(o0, (abLo & 0xffff) | (cdLo << 16), true);
  ov.setUint32(o1, (abLo >>> 16) | (cdLo & 0xffff0000), true);
  ov.setUint32(o2, (abHi & 0xffff) | (cdHi << 16), true);
  ov.setUint32(o3, (abHi >>> 16) | (cdHi & 0xffff0000), true);
}

/** Shuffles `src` into `out` (default: a new buffer; same length as `src`) and returns it. */
export function shuffleBytes(src: Uint8Array, typesize: number, out: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  const n = Math.floor(src.length / typesize);
  let i = 0;
  if (typesize === 4) {
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const n2 = 2 * n, n3 = 3 * n;
    for (; i + 4 <= n; i += 4) {
      const s = 4 * i;
      transpose4(dv, s, s + 4, s + 8, s + 12, ov, i, n + i, n2 + i, n3 + i);
    }
  }
  for (let k = 0; k < typesize; k++) {
    const base = k * n;
    for (let e = i, j = i * typesize + k; e < n; e++, j += typesize) out[base + e] = src[j]!;
  }
  const tail = n * typesize;
  if (tail < src.length) out.set(src.subarray(tail), tail);
  return out;
}

/** Inverse of {@link shuffleBytes}, writing into `out` (same length as `src`). */
export function unshuffleBytes(src: Uint8Array, typesize: number, out: Uint8Array): void {
  const n = Math.floor(src.length / typesize);
  let i = 0;
  if (typesize === 4) {
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const n2 = 2 * n, n3 = 3 * n;
    for (; i + 4 <= n; i += 4) {
      const o = 4 * i;
      transpose4(dv, i, n + i, n2 + i, n3 + i, ov, o, o + 4, o + 8, o + 12);
    }
  }
  for (let k = 0; k < typesize; k++) {
    const base = k * n;
    for (let e = i, j = i * typesize + k; e < n; e++, j += typesize) out[j] = src[base + e]!;
  }
  const tail = n * typesize;
  if (tail < src.length) out.set(src.subarray(tail), tail);
}

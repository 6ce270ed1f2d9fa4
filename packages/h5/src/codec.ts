import { ErrorCode, StorageError, type NumericArray, type NumericDType, ctorFor } from "@strata/core-interfaces";
import { isBoolEnum, numericDTypeOf, parseDType } from "./dtype.js";
import type { Runtime } from "./runtime.js";
import { H5T, type RawMetadata } from "./wasm.js";

const utf8 = new TextEncoder();
const utf8dec = new TextDecoder("utf-8");

/** A value of a type Strata cannot decode, returned instead of failing a whole listing. */
export interface UndecodedValue {
  readonly kind: "undecoded";
  /** The HDF5 type, as far as it could be described. */
  readonly dtype: ReturnType<typeof parseDType>;
  /** Why it was not decoded. */
  readonly reason: string;
}

/** Decoded value of a vlen/compound/array element. */
export type DecodedValue =
  | number
  | bigint
  | boolean
  | string
  | null
  | NumericArray
  | string[]
  | boolean[]
  | DecodedValue[]
  | Map<string, DecodedValue>
  | UndecodedValue;

/**
 * Reads a NUL-terminated/-padded fixed-length string of `size` bytes at `at`. ASCII-labelled
 * strings are decoded as UTF-8 too: h5py and numpy store `bytes` (often UTF-8 text) under the
 * ASCII label, and UTF-8 decodes pure ASCII identically. `cset` is kept for symmetry.
 */
export function decodeFixedString(bytes: Uint8Array, at: number, size: number, cset: number | undefined, strpad?: number): string {
  void cset;
  let end = at;
  const stop = at + size;
  while (end < stop && bytes[end] !== 0) end++;
  let s = utf8dec.decode(bytes.subarray(at, end));
  if (strpad === 2) s = s.replace(/ +$/, ""); // H5T_STR_SPACEPAD
  return s;
}

/** UTF-8 string at a C pointer in the heap (NULL → ""); ASCII-labelled strings decode as UTF-8 too. */
export function cString(heap: Uint8Array, ptr: number, cset: number | undefined): string {
  void cset;
  if (ptr === 0 || ptr >= heap.length) return "";
  let end = ptr;
  const lim = heap.length;
  while (end < lim && heap[end] !== 0) end++;
  return utf8dec.decode(heap.subarray(ptr, end));
}

/**
 * Decodes `n` elements of type `meta` from `bytes` (a copy of heap memory). vlen data holds
 * heap pointers, so `heap` must be the live heap (before the vlen memory is reclaimed).
 * `refName` resolves an 8-byte object reference to a path.
 */
export function decodeElements(
  meta: RawMetadata,
  bytes: Uint8Array,
  n: number,
  heap: Uint8Array,
  refName: (ref: Uint8Array) => string,
): NumericArray | string[] | boolean[] | DecodedValue[] {
  const size = meta.size;
  switch (meta.type) {
    case H5T.INTEGER:
    case H5T.FLOAT:
    case H5T.BITFIELD: {
      const dt = numericDTypeOf(meta);
      if (dt === undefined) return undecodedArray(meta, n, `unsupported ${meta.type === H5T.FLOAT ? `float${size * 8}` : `int${size * 8}`}`);
      return copyTyped(dt, bytes, 0, n);
    }
    case H5T.ENUM: {
      const base = numericDTypeOf({ type: H5T.INTEGER, size, signed: meta.signed });
      if (base === undefined) return undecodedArray(meta, n, "unsupported enum base");
      const arr = copyTyped(base, bytes, 0, n);
      if (isBoolEnum(meta)) return Array.from(arr as ArrayLike<number>, (x) => x !== 0);
      return arr;
    }
    case H5T.STRING: {
      const out: string[] = new Array<string>(n);
      if (meta.vlen) {
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let i = 0; i < n; i++) out[i] = cString(heap, dv.getUint32(i * 4, true), meta.cset);
      } else {
        for (let i = 0; i < n; i++) out[i] = decodeFixedString(bytes, i * size, size, meta.cset, meta.strpad);
      }
      return out;
    }
    case H5T.REFERENCE: {
      if (meta.ref_type !== "object") return undecodedArray(meta, n, "region references are not decoded");
      const out: string[] = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const r = bytes.slice(i * size, (i + 1) * size);
        out[i] = r.every((b) => b === 0) ? "" : refName(r);
      }
      return out;
    }
    case H5T.COMPOUND: {
      const out: DecodedValue[] = new Array<DecodedValue>(n);
      const members = meta.compound_type?.members ?? [];
      for (let i = 0; i < n; i++) {
        const rec = new Map<string, DecodedValue>();
        for (const m of members) {
          const sub = bytes.slice(i * size + m.offset, i * size + m.offset + m.size);
          const v = decodeElements(m, sub, 1, heap, refName);
          rec.set(m.name, scalarOf(v));
        }
        out[i] = rec;
      }
      return out;
    }
    case H5T.ARRAY: {
      const at = meta.array_type;
      if (at === undefined) return undecodedArray(meta, n, "array without base type");
      const per = (at.shape ?? []).reduce((a, b) => a * b, 1);
      const out: DecodedValue[] = new Array<DecodedValue>(n);
      for (let i = 0; i < n; i++) {
        out[i] = decodeElements(at, bytes.slice(i * size, (i + 1) * size), per, heap, refName) as DecodedValue;
      }
      return out;
    }
    case H5T.VLEN: {
      const vt = meta.vlen_type;
      if (vt === undefined) return undecodedArray(meta, n, "vlen without base type");
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out: DecodedValue[] = new Array<DecodedValue>(n);
      for (let i = 0; i < n; i++) {
        const len = dv.getUint32(i * 8, true);
        const ptr = dv.getUint32(i * 8 + 4, true);
        if (len > 0 && (ptr === 0 || ptr + len * vt.size > heap.length)) {
          throw new StorageError(ErrorCode.CORRUPT, "variable-length element points outside the heap (corrupt data)");
        }
        const sub = heap.slice(ptr, ptr + len * vt.size);
        out[i] = decodeElements(vt, sub, len, heap, refName) as DecodedValue;
      }
      return out;
    }
    default:
      return undecodedArray(meta, n, `HDF5 type class ${meta.type} is not decoded`);
  }
}

function undecodedArray(meta: RawMetadata, n: number, reason: string): DecodedValue[] {
  const u: UndecodedValue = { kind: "undecoded", dtype: parseDType(meta), reason };
  return new Array<DecodedValue>(n).fill(u);
}

/** First element of a decoded array (for scalars). */
export function scalarOf(v: NumericArray | string[] | boolean[] | DecodedValue[]): DecodedValue {
  const x = (v as ArrayLike<unknown>)[0];
  return (x === undefined ? null : x) as DecodedValue;
}

/** Copies `n` elements of `dtype` starting at byte `at` of `bytes` into a new TypedArray. */
export function copyTyped(dtype: NumericDType, bytes: Uint8Array, at: number, n: number): NumericArray {
  const ctor = ctorFor(dtype);
  const out = new ctor(n) as NumericArray;
  new Uint8Array(out.buffer).set(bytes.subarray(at, at + n * ctor.BYTES_PER_ELEMENT));
  return out;
}

/** Encodes vlen strings into the heap: returns a pointer to an array of `char*` (caller frees). */
export function encodeVlenStrings(rt: Runtime, values: readonly string[]): { ptr: number; free: () => void } {
  const encoded = values.map((s) => {
    if (typeof s !== "string") throw new StorageError(ErrorCode.DTYPE_MISMATCH, "string dataset values must be strings");
    return utf8.encode(s);
  });
  const total = encoded.reduce((a, e) => a + e.length + 1, 0) + values.length * 4;
  const ptr = rt.M._malloc(Math.max(total, 8));
  if (ptr === 0) throw new StorageError(ErrorCode.IO, `WASM heap allocation of ${total} bytes failed`);
  const heap = rt.heap();
  const dv = new DataView(heap.buffer);
  let at = ptr + values.length * 4;
  for (let i = 0; i < encoded.length; i++) {
    const e = encoded[i]!;
    dv.setUint32(ptr + i * 4, at, true);
    heap.set(e, at);
    heap[at + e.length] = 0;
    at += e.length + 1;
  }
  return { ptr, free: () => rt.M._free(ptr) };
}

/** Encodes fixed-length ASCII strings ('A<n>'), NUL-padded; rejects values longer than `size` bytes. */
export function encodeFixedStrings(values: readonly (string | Uint8Array)[], size: number, where: string): Uint8Array {
  const out = new Uint8Array(values.length * size);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // Raw bytes are stored as given (binary content); strings as UTF-8.
    const e = v instanceof Uint8Array ? v : typeof v === "string" ? utf8.encode(v) : undefined;
    if (e === undefined) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: fixed-length string values must be strings or Uint8Arrays`);
    if (e.length > size) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: value of ${e.length} bytes does not fit a ${size}-byte fixed-length string`, { limit: size });
    }
    out.set(e, i * size);
  }
  return out;
}

/** Packs numeric columns into a packed compound byte buffer. */
export function packCompound(
  meta: { size: number; compound_type?: { members: Array<{ name: string; offset: number; size: number; type: number; signed: boolean }> } },
  columns: ReadonlyMap<string, ArrayLike<number | bigint>>,
  rows: number,
  where: string,
): Uint8Array {
  const members = meta.compound_type?.members ?? [];
  const out = new Uint8Array(rows * meta.size);
  for (const m of members) {
    const col = columns.get(m.name);
    if (col === undefined) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: compound column '${m.name}' is missing`);
    if (col.length !== rows) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: compound column '${m.name}' has ${col.length} values, expected ${rows}`);
    }
    const dt = numericDTypeOf(m);
    if (dt === undefined) throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: compound field '${m.name}' is not numeric`);
    const ctor = ctorFor(dt);
    const typed = col instanceof ctor ? (col as NumericArray) : fromValues(ctor, col, `${where}: column '${m.name}'`);
    const b = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    const es = m.size;
    for (let i = 0; i < rows; i++) out.set(b.subarray(i * es, (i + 1) * es), i * meta.size + m.offset);
  }
  for (const name of columns.keys()) {
    if (!members.some((m) => m.name === name)) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: unknown compound column '${name}'`);
  }
  return out;
}

function fromValues(ctor: ReturnType<typeof ctorFor>, values: ArrayLike<number | bigint>, where: string): NumericArray {
  const big = ctor === BigInt64Array || ctor === BigUint64Array;
  const out = new ctor(values.length) as NumericArray;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (big) {
      if (typeof v === "bigint") (out as BigInt64Array)[i] = v;
      else if (Number.isSafeInteger(v)) (out as BigInt64Array)[i] = BigInt(v);
      else throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: ${v} is not an integer`);
    } else (out as Float64Array)[i] = Number(v);
  }
  return out;
}

/** Extracts compound columns (numeric fields) from packed rows. */
export function unpackCompound(meta: RawMetadata, bytes: Uint8Array, rows: number, where: string): Map<string, NumericArray | string[]> {
  const out = new Map<string, NumericArray | string[]>();
  for (const m of meta.compound_type?.members ?? []) {
    if (m.type === H5T.STRING && !m.vlen) {
      const col: string[] = new Array<string>(rows);
      for (let i = 0; i < rows; i++) col[i] = decodeFixedString(bytes, i * meta.size + m.offset, m.size, m.cset, m.strpad);
      out.set(m.name, col);
      continue;
    }
    const dt = m.type === H5T.ENUM ? numericDTypeOf({ type: H5T.INTEGER, size: m.size, signed: m.signed }) : numericDTypeOf(m);
    if (dt === undefined || (m.type !== H5T.INTEGER && m.type !== H5T.FLOAT && m.type !== H5T.ENUM)) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: compound field '${m.name}' is not numeric`, { dtype: JSON.stringify(parseDType(m)) });
    }
    const ctor = ctorFor(dt);
    const col = new ctor(rows) as NumericArray;
    const cb = new Uint8Array(col.buffer);
    const es = m.size;
    if (meta.size === es) cb.set(bytes.subarray(0, rows * es));
    else for (let i = 0; i < rows; i++) cb.set(bytes.subarray(i * meta.size + m.offset, i * meta.size + m.offset + es), i * es);
    out.set(m.name, col);
  }
  return out;
}

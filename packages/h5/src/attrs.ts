import { ErrorCode, StorageError, type NumericArray } from "@strata/core-interfaces";
import { decodeElements, encodeFixedStrings, packCompound, scalarOf, type DecodedValue } from "./codec.js";
import { inferTypeSpec, writeTypeFor, type TypeSpec, type WriteType } from "./dtype.js";
import type { Runtime } from "./runtime.js";
import { H5T, type RawMetadata } from "./wasm.js";

/**
 * A decoded attribute value. Scalars: `number` (ints up to 32 bits and floats), `bigint`
 * (64-bit integers — Python ints arrive as int64, so they come back as bigint), `string`,
 * `boolean` (h5py bool). Arrays: TypedArrays (BigInt64Array for int64), `string[]`,
 * `boolean[]`. Object references read as paths. `null` for an empty (null-dataspace) attribute.
 */
export type AttrValue = DecodedValue;

/** Values {@link H5File.setAttr} accepts. */
export type AttrInput =
  | string
  | number
  | bigint
  | boolean
  | NumericArray
  | readonly string[]
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[]
  | ReadonlyMap<string, ArrayLike<number | bigint>>;

/** Options of {@link H5File.setAttr}. */
export interface SetAttrOptions {
  /** Element type; default inferred (number → float64, bigint → int64, boolean → uint8, string → vlen UTF-8). */
  readonly dtype?: TypeSpec;
  /** Shape of an array attribute (default: 1-D, or scalar for a single value). */
  readonly shape?: readonly number[];
}

/** Reads one attribute of `objPath`. @internal */
export function readAttr(rt: Runtime, fileId: bigint, fsPath: string, objPath: string, name: string, refName: (r: Uint8Array) => string, openPath = fsPath): AttrValue {
  const where = { path: fsPath, objectPath: `${objPath}@${name}` };
  const meta = rt.call("reading attribute metadata", where, (M) => M.get_attribute_metadata(fileId, objPath, name), (r) => r !== null && typeof r === "object", ErrorCode.CORRUPT) as RawMetadata;
  if (meta.shape === null) return null;
  const n = meta.total_size;
  const nbytes = Math.max(1, n * meta.size);
  const ptr = rt.M._malloc(nbytes);
  if (ptr === 0) throw new StorageError(ErrorCode.IO, `WASM heap allocation of ${nbytes} bytes failed`);
  const needsReclaim = meta.vlen || meta.type === H5T.VLEN || hasVlen(meta);
  if (needsReclaim) rt.heapGuard.check(openPath);
  try {
    rt.heap().fill(0, ptr, ptr + nbytes);
    rt.call("reading attribute", where, (M) => M.get_attribute_data(fileId, objPath, name, BigInt(ptr)), (st) => st >= 0, ErrorCode.CORRUPT);
    const bytes = rt.heap().slice(ptr, ptr + n * meta.size);
    const arr = decodeElements(meta, bytes, n, rt.heap(), refName);
    const scalar = meta.shape.length === 0;
    if (meta.type === H5T.COMPOUND && !scalar) return arr as DecodedValue;
    return scalar ? scalarOf(arr) : toAttrArray(meta, arr);
  } finally {
    if (needsReclaim) rt.callQuiet((M) => M.reclaim_vlen_memory(fileId, objPath, name, BigInt(ptr)));
    rt.M._free(ptr);
  }
}

function hasVlen(meta: RawMetadata): boolean {
  if (meta.vlen || meta.type === H5T.VLEN) return true;
  if (meta.compound_type) return meta.compound_type.members.some(hasVlen);
  if (meta.array_type) return hasVlen(meta.array_type);
  return false;
}

function toAttrArray(meta: RawMetadata, arr: ReturnType<typeof decodeElements>): AttrValue {
  // Int64 scalars are bigints; arrays of them stay BigInt64Array (already).
  void meta;
  return arr as AttrValue;
}

interface PreparedAttr {
  type: WriteType;
  shape: number[];
  bytes?: Uint8Array;
  strings?: string[];
}

/** Validates and encodes an attribute value before anything is written. @internal */
export function prepareAttr(value: AttrInput, options: SetAttrOptions, where: string, makeRef: (p: string) => Uint8Array): PreparedAttr {
  let spec = options.dtype;
  let values: unknown = value;
  let scalar = false;
  if (typeof value === "string") { spec ??= "string"; values = [value]; scalar = true; }
  else if (typeof value === "number") { spec ??= "float64"; values = [value]; scalar = true; }
  else if (typeof value === "bigint") { spec ??= "int64"; values = [value]; scalar = true; }
  else if (typeof value === "boolean") { spec ??= "uint8"; values = [value ? 1 : 0]; scalar = true; }
  else if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === "boolean") { spec ??= "uint8"; values = (value as boolean[]).map((b) => (b ? 1 : 0)); }
    else if (value.length > 0 && typeof value[0] === "bigint") spec ??= "int64";
    else if (value.length > 0 && typeof value[0] === "string") spec ??= "string";
    else spec ??= "float64";
  } else spec ??= inferTypeSpec(value);
  const type = writeTypeFor(spec);
  const len = values instanceof Map ? firstLen(values) : (values as ArrayLike<unknown>).length;
  const shape = options.shape !== undefined ? [...options.shape] : scalar ? [] : [len];
  const total = shape.reduce((a, b) => a * b, 1);
  if (total !== len) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: shape ${JSON.stringify(shape)} does not match ${len} values`);
  if (type.type === H5T.STRING) {
    if (!Array.isArray(values) || !values.every((v) => typeof v === "string")) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: string attribute needs strings`);
    if (type.vlen) return { type, shape, strings: values as string[] };
    return { type, shape, bytes: encodeFixedStrings(values as string[], type.size, where) };
  }
  if (type.type === H5T.REFERENCE) {
    if (!Array.isArray(values)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: reference attribute needs object paths`);
    const bytes = new Uint8Array(len * 8);
    (values as string[]).forEach((p, i) => bytes.set(makeRef(p), i * 8));
    return { type, shape, bytes };
  }
  if (type.type === H5T.COMPOUND) {
    if (!(values instanceof Map)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: compound attribute needs a Map of columns`);
    return { type, shape, bytes: packCompound(type, values as ReadonlyMap<string, ArrayLike<number | bigint>>, len, where) };
  }
  const ctor = numericCtor(type);
  const arr = values as ArrayLike<number | bigint>;
  let typed: NumericArray;
  if (arr instanceof ctor) typed = arr as NumericArray;
  else {
    typed = new ctor(len) as NumericArray;
    for (let i = 0; i < len; i++) {
      const v = arr[i]!;
      if (ctor === BigInt64Array || ctor === BigUint64Array) {
        if (typeof v === "bigint") (typed as BigInt64Array)[i] = v;
        else if (Number.isSafeInteger(v)) (typed as BigInt64Array)[i] = BigInt(v);
        else throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: ${v} is not an integer`);
      } else (typed as Float64Array)[i] = Number(v);
    }
  }
  return { type, shape, bytes: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) };
}

function firstLen(m: Map<unknown, unknown>): number {
  for (const v of m.values()) return (v as ArrayLike<unknown>).length;
  return 0;
}

function numericCtor(t: WriteType): Int8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor | BigInt64ArrayConstructor | Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor | BigUint64ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor {
  if (t.type === H5T.FLOAT) return t.size === 4 ? Float32Array : Float64Array;
  switch (t.size) {
    case 1: return t.signed ? Int8Array : Uint8Array;
    case 2: return t.signed ? Int16Array : Uint16Array;
    case 4: return t.signed ? Int32Array : Uint32Array;
    default: return t.signed ? BigInt64Array : BigUint64Array;
  }
}

/** Writes a prepared attribute (the name must not exist). @internal */
export function writeAttr(rt: Runtime, fileId: bigint, fsPath: string, objPath: string, name: string, p: PreparedAttr): void {
  const where = { path: fsPath, objectPath: `${objPath}@${name}` };
  const shape = p.shape.map((x) => BigInt(x));
  const metadata = { ...p.type, shape, maxshape: shape };
  if (p.strings !== undefined) {
    const strings = p.strings;
    rt.call("creating attribute", where, (M) => M.create_vlen_str_attribute(fileId, objPath, name, strings, metadata), (st) => st >= 0);
    return;
  }
  const bytes = p.bytes ?? new Uint8Array(0);
  const ptr = rt.M._malloc(Math.max(8, bytes.length));
  if (ptr === 0) throw new StorageError(ErrorCode.IO, "WASM heap allocation failed");
  try {
    rt.heap().set(bytes, ptr);
    rt.call("creating attribute", where, (M) => M.create_attribute(fileId, objPath, name, BigInt(ptr), metadata), (st) => st >= 0);
  } finally {
    rt.M._free(ptr);
  }
}

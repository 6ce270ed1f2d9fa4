/**
 * One dtype model for every Strata package: a string union mapped to TypedArray types. 64-bit
 * integers are BigInt arrays so ids above 2^53 stay exact.
 */
import { ErrorCode, StorageError } from "./errors.js";

/** Element types of Strata arrays. `bool` is stored as one byte per element (0 or 1). */
export type DType =
  | "int8" | "int16" | "int32" | "int64"
  | "uint8" | "uint16" | "uint32" | "uint64"
  | "float32" | "float64"
  | "bool" | "string";

/** Dtypes whose values live in a TypedArray. */
export type NumericDType = Exclude<DType, "string">;

/** The array type that holds values of dtype `D`. */
export type ArrayFor<D extends DType> =
  D extends "int8" ? Int8Array
  : D extends "int16" ? Int16Array
  : D extends "int32" ? Int32Array
  : D extends "int64" ? BigInt64Array
  : D extends "uint8" ? Uint8Array
  : D extends "uint16" ? Uint16Array
  : D extends "uint32" ? Uint32Array
  : D extends "uint64" ? BigUint64Array
  : D extends "float32" ? Float32Array
  : D extends "float64" ? Float64Array
  : D extends "bool" ? Uint8Array
  : D extends "string" ? string[]
  : never;

/** Any TypedArray Strata uses for numeric data. */
export type NumericArray =
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Float32Array | Float64Array;

/** Constructor of a {@link NumericArray}. */
export type NumericArrayConstructor =
  | Int8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor | BigInt64ArrayConstructor
  | Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor | BigUint64ArrayConstructor
  | Float32ArrayConstructor | Float64ArrayConstructor;

/** Every dtype, in a stable order. */
export const DTYPES: readonly DType[] = Object.freeze([
  "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
  "float32", "float64", "bool", "string",
] as const);

const CTORS: Readonly<Record<NumericDType, NumericArrayConstructor>> = {
  int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  float32: Float32Array, float64: Float64Array, bool: Uint8Array,
};

const NUMPY: Readonly<Record<NumericDType, string>> = {
  int8: "|i1", int16: "<i2", int32: "<i4", int64: "<i8",
  uint8: "|u1", uint16: "<u2", uint32: "<u4", uint64: "<u8",
  float32: "<f4", float64: "<f8", bool: "|b1",
};

/** True when `value` is one of the {@link DType} strings. */
export function isDType(value: unknown): value is DType {
  return typeof value === "string" && (DTYPES as readonly string[]).includes(value);
}

/** The TypedArray constructor for a numeric dtype; `UNSUPPORTED` for anything else. */
export function ctorFor<D extends NumericDType>(dtype: D): NumericArrayConstructor {
  const ctor = (CTORS as Record<string, NumericArrayConstructor | undefined>)[dtype];
  if (ctor === undefined) {
    throw new StorageError(ErrorCode.UNSUPPORTED, `unsupported dtype '${String(dtype)}'`, { dtype: String(dtype) });
  }
  return ctor;
}

/** Bytes per element of a numeric dtype. */
export function bytesPerElement(dtype: NumericDType): number {
  return ctorFor(dtype).BYTES_PER_ELEMENT;
}

/** Allocates a zero-filled array of `length` elements of `dtype`. */
export function allocate<D extends DType>(dtype: D, length: number): ArrayFor<D> {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid array length ${length}`);
  }
  if (dtype === "string") return new Array<string>(length).fill("") as ArrayFor<D>;
  return new (ctorFor(dtype as NumericDType))(length) as ArrayFor<D>;
}

/** The dtype of a TypedArray (`Uint8Array` reads as `uint8`) or `string` for a string array. */
export function dtypeOf(array: NumericArray | readonly string[]): DType {
  if (Array.isArray(array)) return "string";
  if (array instanceof Int8Array) return "int8";
  if (array instanceof Int16Array) return "int16";
  if (array instanceof Int32Array) return "int32";
  if (array instanceof BigInt64Array) return "int64";
  if (array instanceof Uint8Array) return "uint8";
  if (array instanceof Uint16Array) return "uint16";
  if (array instanceof Uint32Array) return "uint32";
  if (array instanceof BigUint64Array) return "uint64";
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Float64Array) return "float64";
  throw new StorageError(ErrorCode.UNSUPPORTED, `not a Strata array type: ${Object.prototype.toString.call(array)}`);
}

/** NumPy type string of a numeric dtype (`float64` → `<f8`). */
export function toNumpyType(dtype: NumericDType): string {
  const t = (NUMPY as Record<string, string | undefined>)[dtype];
  if (t === undefined) throw new StorageError(ErrorCode.UNSUPPORTED, `no NumPy type for '${dtype}'`, { dtype });
  return t;
}

/**
 * Dtype of a NumPy type string (`<f8`, `|u1`, `int64`, `bool`); `UNSUPPORTED` for big-endian,
 * float16 and anything Strata cannot hold.
 */
export function fromNumpyType(type: string): NumericDType {
  if (isDType(type) && type !== "string") return type;
  for (const [dtype, t] of Object.entries(NUMPY)) {
    if (t === type || t.replace(/^[<|]/, "=") === type || t.slice(1) === type) return dtype as NumericDType;
  }
  if (type === "|b1" || type === "?") return "bool";
  throw new StorageError(ErrorCode.UNSUPPORTED, `unsupported NumPy type '${type}'`, { dtype: type });
}

/**
 * Rich HDF5 type descriptions, as produced by `@strata/h5`'s `parseDType()`. Plain numeric and
 * string types map onto {@link DType}; the rest keep their structure.
 */
export type DTypeDescriptor =
  | { readonly class: "numeric"; readonly dtype: NumericDType }
  | { readonly class: "string"; readonly vlen: boolean; readonly length?: number; readonly encoding: "ascii" | "utf-8" }
  | { readonly class: "compound"; readonly fields: ReadonlyMap<string, DTypeDescriptor> }
  | { readonly class: "enum"; readonly base: NumericDType; readonly members: Readonly<Record<string, number>> }
  | { readonly class: "array"; readonly base: DTypeDescriptor; readonly shape: readonly number[] }
  | { readonly class: "vlen"; readonly base: DTypeDescriptor }
  | { readonly class: "reference"; readonly kind: "object" | "region" }
  | { readonly class: "opaque" | "unknown"; readonly description: string };

/**
 * Converts 64-bit integers to a `Float64Array`, checking that every value is a safe integer
 * (|v| ≤ 2^53 − 1); throws `OUT_OF_BOUNDS` otherwise. Cell indices and row counts always fit.
 */
export function toSafeNumbers(array: BigInt64Array | BigUint64Array | ArrayLike<number>): Float64Array {
  const out = new Float64Array(array.length);
  for (let i = 0; i < array.length; i++) {
    const v = array[i]!;
    const n = Number(v);
    if (!Number.isSafeInteger(n) && typeof v === "bigint") {
      throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `value ${v} at index ${i} exceeds the safe integer range`);
    }
    out[i] = n;
  }
  return out;
}

/** Converts safe integers (numbers) to a `BigInt64Array`; `INVALID_ARGUMENT` for non-integers. */
export function toBigInt64(values: ArrayLike<number | bigint>): BigInt64Array {
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v === "bigint") out[i] = v;
    else if (Number.isSafeInteger(v)) out[i] = BigInt(v);
    else throw new StorageError(ErrorCode.INVALID_ARGUMENT, `value ${v} at index ${i} is not a safe integer`);
  }
  return out;
}

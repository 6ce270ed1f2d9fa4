/**
 * Feature data as callers pass it, normalised to a typed array with a shape and a dtype, plus the
 * lossless-cast rules used when appending to an existing dataset.
 */
import {
  ErrorCode,
  StorageError,
  ctorFor,
  dtypeOf,
  type NumericArray,
  type NumericDType,
} from "@strata/core-interfaces";

/**
 * Feature data: a 1-D typed array (one value per event), a `boolean[]` (masks only), or a
 * row-major array with its shape (`[events, ...itemShape]`). `bool: true` marks a `Uint8Array` of
 * 0/1 (non-zero = true) as boolean, which only `mask` accepts (stored as uint8 0/255).
 */
export type FeatureData =
  | NumericArray
  | readonly boolean[]
  | { readonly data: NumericArray | readonly boolean[]; readonly shape: readonly number[]; readonly bool?: boolean };

/** Normalised feature data. @internal */
export interface Normalized {
  readonly data: NumericArray;
  readonly shape: readonly number[];
  readonly dtype: NumericDType;
  readonly isBool: boolean;
}

/** Normalises feature data and checks its shape. @internal */
export function normalizeFeatureData(feat: string, input: FeatureData): Normalized {
  let data: NumericArray | readonly boolean[];
  let shape: readonly number[];
  let isBool = false;
  if (Array.isArray(input)) {
    data = input as readonly boolean[];
    shape = [data.length];
  } else if (ArrayBuffer.isView(input)) {
    data = input as NumericArray;
    shape = [data.length];
  } else if (typeof input === "object" && input !== null && "data" in input && "shape" in input) {
    const o = input as { data: NumericArray | readonly boolean[]; shape: readonly number[]; bool?: boolean };
    data = o.data;
    shape = [...o.shape];
    isBool = o.bool === true;
  } else {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `data for '${feat}' must be a typed array, a boolean[] or { data, shape }`, {
      feature: feat,
    });
  }
  if (shape.length === 0) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `data for '${feat}' is 0-d; the first axis must be the event axis`, {
      feature: feat,
    });
  }
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `data for '${feat}' has an invalid shape [${shape.join(", ")}]`, { feature: feat });
    }
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new StorageError(
      ErrorCode.SHAPE_MISMATCH,
      `Bad shape for ${feat}! shape [${shape.join(", ")}] holds ${count} values, data has ${data.length}`,
      { feature: feat },
    );
  }
  if (Array.isArray(data)) {
    if (data.length > 0 && typeof data[0] !== "boolean") {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `data for '${feat}': plain arrays must hold booleans; use a typed array for numbers`, {
        feature: feat,
      });
    }
    const u = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) u[i] = data[i] ? 1 : 0;
    return { data: u, shape, dtype: "bool", isBool: true };
  }
  const typed = data as NumericArray;
  const dt = dtypeOf(typed) as NumericDType;
  if (isBool && !(typed instanceof Uint8Array)) {
    throw new StorageError(ErrorCode.DTYPE_MISMATCH, `boolean data for '${feat}' must be a Uint8Array`, { feature: feat });
  }
  return { data: typed, shape, dtype: isBool ? "bool" : dt, isBool };
}

/** Converts boolean mask data (0/1, non-zero = true) to uint8 with 255 for true. @internal */
export function boolToMask(data: NumericArray): Uint8Array {
  const src = data as Uint8Array;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 255 : 0;
  return out;
}

const SAFE: Readonly<Record<string, readonly NumericDType[]>> = {
  bool: ["bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64"],
  uint8: ["uint8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64"],
  uint16: ["uint16", "uint32", "int32", "uint64", "int64", "float32", "float64"],
  uint32: ["uint32", "uint64", "int64", "float64"],
  uint64: ["uint64"],
  int8: ["int8", "int16", "int32", "int64", "float32", "float64"],
  int16: ["int16", "int32", "int64", "float32", "float64"],
  int32: ["int32", "int64", "float64"],
  int64: ["int64"],
  float32: ["float32", "float64"],
  float64: ["float64"],
};

/**
 * True when every value of dtype `from` is exactly representable in `to` (NumPy's "safe" casting,
 * except that 64-bit integers never cast to float64, which loses precision above 2^53).
 */
export function isLosslessCast(from: NumericDType, to: NumericDType): boolean {
  return (SAFE[from] ?? []).includes(to);
}

/** Converts a typed array to the constructor of `to` (values are assumed representable). @internal */
export function castTo(data: NumericArray, to: NumericDType): NumericArray {
  const ctor = ctorFor(to === "bool" ? "uint8" : to);
  if (data instanceof ctor) return data;
  const out = new ctor(data.length) as NumericArray;
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    (out as unknown as (number | bigint)[])[i] = big ? BigInt(v) : Number(v);
  }
  return out;
}

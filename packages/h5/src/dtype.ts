import {
  ErrorCode,
  StorageError,
  ctorFor,
  type DType,
  type DTypeDescriptor,
  type NumericArray,
  type NumericArrayConstructor,
  type NumericDType,
} from "@strata/core-interfaces";
import { H5T, type RawMetadata } from "./wasm.js";

/**
 * How to type a new dataset or attribute:
 * - a core {@link DType} (`"float64"`, `"int64"`, …; `"bool"` is stored as `uint8`; `"string"` is
 *   variable-length UTF-8);
 * - `{ fixedString: n }`: fixed-length ASCII, NUL-terminated (`'A<n>'`; h5py reads it as `S<n>`);
 * - `{ compound: [[name, dtype], …] }`: a packed compound of numeric fields;
 * - `"reference"`: object references (values are object paths).
 */
export type TypeSpec =
  | DType
  | "reference"
  | { readonly fixedString: number }
  | { readonly compound: ReadonlyArray<readonly [string, NumericDType]> };

const NUMERIC_INFO: Record<NumericDType, { type: number; size: number; signed: boolean }> = {
  int8: { type: H5T.INTEGER, size: 1, signed: true },
  int16: { type: H5T.INTEGER, size: 2, signed: true },
  int32: { type: H5T.INTEGER, size: 4, signed: true },
  int64: { type: H5T.INTEGER, size: 8, signed: true },
  uint8: { type: H5T.INTEGER, size: 1, signed: false },
  uint16: { type: H5T.INTEGER, size: 2, signed: false },
  uint32: { type: H5T.INTEGER, size: 4, signed: false },
  uint64: { type: H5T.INTEGER, size: 8, signed: false },
  float32: { type: H5T.FLOAT, size: 4, signed: false },
  float64: { type: H5T.FLOAT, size: 8, signed: false },
  bool: { type: H5T.INTEGER, size: 1, signed: false },
};

/** Write-side type description handed to h5wasm (mirrors its `Metadata`). */
export interface WriteType {
  type: number;
  size: number;
  signed: boolean;
  littleEndian: true;
  vlen: boolean;
  cset?: number;
  compound_type?: { members: Array<WriteType & { name: string; offset: number }>; nmembers: number };
}

/** Converts a {@link TypeSpec} into h5wasm write metadata; `UNSUPPORTED` for the impossible. */
export function writeTypeFor(spec: TypeSpec): WriteType {
  if (typeof spec === "string") {
    if (spec === "string") return { type: H5T.STRING, size: 4, signed: false, littleEndian: true, vlen: true, cset: 1 };
    if (spec === "reference") return { type: H5T.REFERENCE, size: 8, signed: false, littleEndian: true, vlen: false };
    const info = (NUMERIC_INFO as Record<string, (typeof NUMERIC_INFO)[NumericDType] | undefined>)[spec];
    if (info === undefined) throw new StorageError(ErrorCode.UNSUPPORTED, `unsupported dtype '${spec}'`, { dtype: spec });
    return { ...info, littleEndian: true, vlen: false };
  }
  if ("fixedString" in spec) {
    const n = spec.fixedString;
    if (!Number.isInteger(n) || n < 1) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `fixed string length must be a positive integer, got ${n}`);
    return { type: H5T.STRING, size: n, signed: false, littleEndian: true, vlen: false, cset: 0 };
  }
  if ("compound" in spec) {
    if (spec.compound.length === 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, "a compound type needs at least one field");
    let offset = 0;
    const names = new Set<string>();
    const members = spec.compound.map(([name, dt]) => {
      if (names.has(name)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `duplicate compound field '${name}'`);
      names.add(name);
      const info = (NUMERIC_INFO as Record<string, (typeof NUMERIC_INFO)[NumericDType] | undefined>)[dt];
      if (info === undefined) throw new StorageError(ErrorCode.UNSUPPORTED, `compound field '${name}': only numeric fields can be written, got '${dt}'`, { dtype: dt });
      const m = { ...info, littleEndian: true as const, vlen: false, name, offset };
      offset += info.size;
      return m;
    });
    return { type: H5T.COMPOUND, size: offset, signed: false, littleEndian: true, vlen: false, compound_type: { members, nmembers: members.length } };
  }
  throw new StorageError(ErrorCode.INVALID_ARGUMENT, `unrecognised type spec ${JSON.stringify(spec)}`);
}

/** Write metadata reproducing an existing (read) type, for copies; `UNSUPPORTED` when h5wasm cannot write it. */
export function writeTypeFromRaw(meta: RawMetadata, where: string): WriteType {
  switch (meta.type) {
    case H5T.INTEGER:
    case H5T.FLOAT:
      if (meta.type === H5T.FLOAT && meta.size !== 4 && meta.size !== 8) {
        throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: float${meta.size * 8} cannot be written by h5wasm`);
      }
      return { type: meta.type, size: meta.size, signed: meta.signed, littleEndian: true, vlen: false };
    case H5T.STRING:
      return { type: H5T.STRING, size: meta.vlen ? 4 : meta.size, signed: false, littleEndian: true, vlen: meta.vlen, cset: meta.cset ?? 0 };
    case H5T.REFERENCE:
      if (meta.ref_type !== "object") throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: region references cannot be copied`);
      return { type: H5T.REFERENCE, size: 8, signed: false, littleEndian: true, vlen: false };
    case H5T.ENUM: {
      // h5wasm cannot write enums: h5py booleans become their base integer type.
      const base = meta.enum_type;
      const isBool = base !== undefined && Object.keys(base.members).length === 2 && base.members.FALSE === 0 && base.members.TRUE === 1;
      if (!isBool) throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: enum types cannot be written by h5wasm`);
      return { type: H5T.INTEGER, size: meta.size, signed: meta.signed, littleEndian: true, vlen: false };
    }
    case H5T.COMPOUND: {
      const ct = meta.compound_type;
      if (ct === undefined) throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: compound without members`);
      const members = ct.members.map((m) => {
        if (m.type === H5T.COMPOUND || m.type === H5T.ARRAY || m.type === H5T.VLEN || m.vlen || m.type === H5T.ENUM) {
          throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: compound field '${m.name}' has a type h5wasm cannot write`);
        }
        return { ...writeTypeFromRaw(m, where), name: m.name, offset: m.offset };
      });
      return { type: H5T.COMPOUND, size: meta.size, signed: false, littleEndian: true, vlen: false, compound_type: { members, nmembers: members.length } };
    }
    default:
      throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: HDF5 type class ${meta.type} cannot be written by h5wasm`);
  }
}

/** The numeric dtype of an integer/float metadata entry, or undefined. */
export function numericDTypeOf(meta: { type: number; size: number; signed: boolean }): NumericDType | undefined {
  if (meta.type === H5T.FLOAT) return meta.size === 4 ? "float32" : meta.size === 8 ? "float64" : undefined;
  if (meta.type === H5T.INTEGER || meta.type === H5T.ENUM || meta.type === H5T.BITFIELD) {
    switch (meta.size) {
      case 1: return meta.signed ? "int8" : "uint8";
      case 2: return meta.signed ? "int16" : "uint16";
      case 4: return meta.signed ? "int32" : "uint32";
      case 8: return meta.signed ? "int64" : "uint64";
      default: return undefined;
    }
  }
  return undefined;
}

/**
 * Converts h5wasm type metadata into Strata's {@link DTypeDescriptor}. h5py booleans (an enum
 * `{FALSE: 0, TRUE: 1}`) are reported as an enum over `int8`; use {@link isBoolEnum} to detect them.
 */
export function parseDType(meta: RawMetadata): DTypeDescriptor {
  switch (meta.type) {
    case H5T.INTEGER:
    case H5T.FLOAT: {
      const dt = numericDTypeOf(meta);
      if (dt === undefined) return { class: "unknown", description: `${meta.type === H5T.FLOAT ? "float" : "int"}${meta.size * 8}` };
      return { class: "numeric", dtype: dt };
    }
    case H5T.STRING:
      return meta.vlen
        ? { class: "string", vlen: true, encoding: meta.cset === 1 ? "utf-8" : "ascii" }
        : { class: "string", vlen: false, length: meta.size, encoding: meta.cset === 1 ? "utf-8" : "ascii" };
    case H5T.COMPOUND: {
      const fields = new Map<string, DTypeDescriptor>();
      for (const m of meta.compound_type?.members ?? []) fields.set(m.name, parseDType(m));
      return { class: "compound", fields };
    }
    case H5T.ENUM: {
      const base = numericDTypeOf({ type: H5T.INTEGER, size: meta.size, signed: meta.signed }) ?? "int8";
      return { class: "enum", base, members: { ...(meta.enum_type?.members ?? {}) } };
    }
    case H5T.ARRAY: {
      const at = meta.array_type;
      if (at === undefined) return { class: "unknown", description: "array" };
      return { class: "array", base: parseDType(at), shape: [...(at.shape ?? [])] };
    }
    case H5T.VLEN:
      return meta.vlen_type === undefined ? { class: "unknown", description: "vlen" } : { class: "vlen", base: parseDType(meta.vlen_type) };
    case H5T.REFERENCE:
      return { class: "reference", kind: meta.ref_type === "region" ? "region" : "object" };
    case H5T.OPAQUE:
      return { class: "opaque", description: `opaque (${meta.size} bytes)` };
    default:
      return { class: "unknown", description: `HDF5 type class ${meta.type}` };
  }
}

/** True for h5py's boolean enum `{FALSE: 0, TRUE: 1}`. */
export function isBoolEnum(meta: RawMetadata): boolean {
  const m = meta.enum_type?.members;
  return meta.type === H5T.ENUM && m !== undefined && Object.keys(m).length === 2 && m.FALSE === 0 && m.TRUE === 1;
}

/** The core dtype of a descriptor when it maps onto one (numeric or string), else undefined. */
export function coreDTypeOf(d: DTypeDescriptor): DType | undefined {
  if (d.class === "numeric") return d.dtype;
  if (d.class === "string") return "string";
  if (d.class === "enum") return d.base;
  return undefined;
}

/** TypedArray constructor for numeric raw metadata (enums/bitfields by their base size). */
export function ctorForRaw(meta: RawMetadata, where: string): NumericArrayConstructor {
  const dt = numericDTypeOf(meta);
  if (dt === undefined) throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: ${meta.type === H5T.FLOAT ? `float${meta.size * 8}` : "this type"} is not supported`);
  return ctorFor(dt);
}

/** Infers a type spec from a JS value (TypedArray, string[], Map of columns). */
export function inferTypeSpec(data: unknown): TypeSpec {
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Uint32Array) return "uint32";
  if (data instanceof BigUint64Array) return "uint64";
  if (Array.isArray(data) && data.every((x) => typeof x === "string")) return "string";
  if (data instanceof Map) {
    const fields: Array<readonly [string, NumericDType]> = [];
    for (const [k, v] of data as Map<string, unknown>) {
      const t = inferTypeSpec(v);
      if (typeof t !== "string" || t === "string" || t === "reference") {
        throw new StorageError(ErrorCode.UNSUPPORTED, `compound column '${k}' must be a numeric TypedArray`);
      }
      fields.push([k, t as NumericDType]);
    }
    return { compound: fields };
  }
  throw new StorageError(ErrorCode.INVALID_ARGUMENT, "cannot infer a dtype: pass a TypedArray, a string[], a Map of TypedArray columns, or an explicit dtype");
}

/** Casts `values` (numbers/bigints/TypedArray) into a TypedArray of `ctor`, checking integers. */
export function toTyped(values: ArrayLike<number | bigint> | NumericArray, ctor: NumericArrayConstructor, where: string): NumericArray {
  if (values instanceof ctor) return values as NumericArray;
  const big = ctor === BigInt64Array || ctor === BigUint64Array;
  const n = values.length;
  const out = new ctor(n) as NumericArray;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (big) {
      if (typeof v === "bigint") (out as BigInt64Array)[i] = v;
      else if (Number.isSafeInteger(v)) (out as BigInt64Array)[i] = BigInt(v);
      else throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: value ${v} is not an integer for a 64-bit integer dtype`);
    } else {
      (out as Float64Array)[i] = typeof v === "bigint" ? Number(v) : v;
    }
  }
  return out;
}

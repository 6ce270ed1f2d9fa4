/**
 * Root-attribute (metadata) rules of RT-DC files: `section:key` names, known sections, value
 * types per key, and normalisation into explicitly typed attribute values.
 */
import { ErrorCode, StorageError, type NumericArray, type NumericDType } from "@strata/core-interfaces";

/** Metadata sections dclab knows (lower case). `user` is free-form; `filtering`/`calculation` are analysis-only. */
export const METADATA_SECTIONS: readonly string[] = Object.freeze([
  "experiment", "fluorescence", "fmt_tdms", "imaging", "online_contour", "online_filter",
  "pipeline", "qpi", "setup", "user",
]);

/** Value kind of a metadata key. */
export type MetaKind = "str" | "int" | "float" | "bool";

const KEY_KINDS: Readonly<Record<string, MetaKind>> = {
  "experiment:date": "str",
  "experiment:event count": "int",
  "experiment:run identifier": "str",
  "experiment:run index": "int",
  "experiment:sample": "str",
  "experiment:time": "str",
  "experiment:timestamp": "float",
  "fluorescence:bit depth": "int",
  "fluorescence:channel count": "int",
  "fluorescence:channels installed": "int",
  "fluorescence:laser count": "int",
  "fluorescence:lasers installed": "int",
  "fluorescence:sample rate": "float",
  "fluorescence:samples per event": "int",
  "fluorescence:signal max": "float",
  "fluorescence:signal min": "float",
  "fluorescence:trace median": "int",
  "imaging:flash device": "str",
  "imaging:flash duration": "float",
  "imaging:frame rate": "float",
  "imaging:pixel size": "float",
  "imaging:roi position x": "float",
  "imaging:roi position y": "float",
  "imaging:roi size x": "int",
  "imaging:roi size y": "int",
  "online_contour:bg empty": "bool",
  "online_contour:bin area min": "int",
  "online_contour:bin kernel": "int",
  "online_contour:bin threshold": "int",
  "online_contour:image blur": "int",
  "online_contour:no absdiff": "bool",
  "online_filter:target duration": "float",
  "online_filter:target event count": "int",
  "pipeline:dcnum background": "str",
  "pipeline:dcnum data": "str",
  "pipeline:dcnum feature": "str",
  "pipeline:dcnum gate": "str",
  "pipeline:dcnum generation": "str",
  "pipeline:dcnum hash": "str",
  "pipeline:dcnum mapping": "str",
  "pipeline:dcnum segmenter": "str",
  "pipeline:dcnum yield": "int",
  "qpi:medium index": "float",
  "qpi:pixel size": "float",
  "qpi:wavelength": "float",
  "setup:channel width": "float",
  "setup:chip identifier": "str",
  "setup:chip region": "str",
  "setup:flow rate": "float",
  "setup:flow rate sample": "float",
  "setup:flow rate sheath": "float",
  "setup:identifier": "str",
  "setup:medium": "str",
  "setup:module composition": "str",
  "setup:software version": "str",
  "setup:temperature": "float",
};

/**
 * The value kind dclab expects for a metadata key, or `undefined` when the key has no fixed kind
 * (user keys, arrays, keys this table does not list).
 *
 * @example
 * ```ts
 * metadataKind("experiment:event count"); // "int"
 * metadataKind("setup:channel width");    // "float"
 * ```
 */
export function metadataKind(key: string): MetaKind | undefined {
  const k = KEY_KINDS[key];
  if (k !== undefined) return k;
  const m = /^online_filter:(.+) (min|max|soft limit)$/.exec(key);
  if (m) return m[2] === "soft limit" ? "bool" : "float";
  const l = /^fluorescence:laser \d (lambda|power)$/.exec(key);
  if (l) return "float";
  if (/^fluorescence:channel \d name$/.test(key)) return "str";
  return undefined;
}

/** An attribute value with an explicit HDF5 element type, e.g. `{ dtype: "int64", value: 3 }`. */
export interface TypedMetaValue {
  /** Element dtype written to the file (`bool` is written as int8 0/1). */
  readonly dtype: NumericDType;
  /** A scalar, or the elements of an array attribute (row-major). */
  readonly value: number | bigint | boolean | NumericArray | readonly number[];
  /** Shape of an array attribute; omitted for scalars (or 1-D arrays, shape `[length]`). */
  readonly shape?: readonly number[];
}

/**
 * A metadata value: text (vlen UTF-8), a number or bigint or boolean (typed by the key's kind),
 * or an explicitly typed value. Bare numbers for keys without a known kind (e.g. `user:*`) are
 * written as float64, bigints as int64, booleans as int8.
 */
export type MetaValue = string | number | bigint | boolean | TypedMetaValue;

/** A metadata value normalised for writing: the exact attribute type and data. */
export type NormalizedMeta =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "numeric"; readonly dtype: NumericDType; readonly data: NumericArray; readonly shape: readonly number[] };

/**
 * Checks a root attribute name: exactly one colon, a known lower-case section (or `user`) and a
 * non-empty key. Throws `INVALID_METADATA` otherwise.
 *
 * @example
 * ```ts
 * assertMetadataKey("imaging:pixel size"); // ok
 * assertMetadataKey("mytool:foo");         // throws INVALID_METADATA
 * ```
 */
export function assertMetadataKey(name: string): void {
  if (typeof name !== "string") {
    throw new StorageError(ErrorCode.INVALID_METADATA, `metadata key must be a string, got ${typeof name}`);
  }
  const parts = name.split(":");
  if (parts.length !== 2) {
    throw new StorageError(
      ErrorCode.INVALID_METADATA,
      `metadata key '${name}' must contain exactly one colon ('section:key'); dclab cannot open files with such root attributes`,
      { key: name },
    );
  }
  const [section, key] = parts as [string, string];
  if (!METADATA_SECTIONS.includes(section)) {
    throw new StorageError(
      ErrorCode.INVALID_METADATA,
      `unknown metadata section '${section}' in '${name}'; use one of ${METADATA_SECTIONS.join(", ")} (tool-specific keys go under 'user:')`,
      { key: name },
    );
  }
  if (key.trim() === "") {
    throw new StorageError(ErrorCode.INVALID_METADATA, `metadata key '${name}' has an empty key part`, { key: name });
  }
}

function bad(key: string, why: string): StorageError {
  return new StorageError(ErrorCode.INVALID_METADATA, `metadata '${key}': ${why}`, { key });
}

function scalarOf(dtype: NumericDType, v: number | bigint, key: string): NormalizedMeta {
  if ((dtype === "int64" || dtype === "uint64") && typeof v === "number" && !Number.isSafeInteger(v)) {
    throw bad(key, `expected an integer, got ${v}`);
  }
  switch (dtype) {
    case "int64": {
      const b = typeof v === "bigint" ? v : BigInt(v);
      return { kind: "numeric", dtype, data: BigInt64Array.of(b), shape: [] };
    }
    case "uint64": {
      const b = typeof v === "bigint" ? v : BigInt(v);
      if (b < 0n) throw bad(key, `negative value ${b} for uint64`);
      return { kind: "numeric", dtype, data: BigUint64Array.of(b), shape: [] };
    }
    default: {
      const n = Number(v);
      const out = normalizeArray(dtype, [n], [], key);
      return out;
    }
  }
}

function normalizeArray(dtype: NumericDType, values: ArrayLike<number | bigint>, shape: readonly number[], key: string): NormalizedMeta {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw bad(key, `shape [${shape.join(", ")}] does not match ${values.length} values`);
  let data: NumericArray;
  const isInt = dtype !== "float32" && dtype !== "float64";
  if (isInt) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (typeof v === "number" && !Number.isSafeInteger(v)) throw bad(key, `value ${v} is not an integer (dtype ${dtype})`);
    }
  }
  switch (dtype) {
    case "int8": case "bool": data = Int8Array.from(values as ArrayLike<number>, Number); break;
    case "int16": data = Int16Array.from(values as ArrayLike<number>, Number); break;
    case "int32": data = Int32Array.from(values as ArrayLike<number>, Number); break;
    case "uint8": data = Uint8Array.from(values as ArrayLike<number>, Number); break;
    case "uint16": data = Uint16Array.from(values as ArrayLike<number>, Number); break;
    case "uint32": data = Uint32Array.from(values as ArrayLike<number>, Number); break;
    case "float32": data = Float32Array.from(values as ArrayLike<number>, Number); break;
    case "float64": data = Float64Array.from(values as ArrayLike<number>, Number); break;
    case "int64": data = BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(v)); break;
    case "uint64": data = BigUint64Array.from(values as ArrayLike<number>, (v) => BigInt(v)); break;
    default: throw bad(key, `unsupported dtype ${String(dtype)}`);
  }
  // bool is stored as int8 0/1 (h5wasm cannot write HDF5 enums; dclab accepts any number)
  return { kind: "numeric", dtype: dtype === "bool" ? "int8" : dtype, data, shape };
}

/**
 * Validates a metadata key and value and fixes its HDF5 type: text → vlen UTF-8 (never empty),
 * integer keys → int64, float keys → float64 (even for integral values), boolean keys → int8 0/1.
 * Throws `INVALID_METADATA` for bad names, empty strings, non-finite or non-integer values for
 * integer keys and negative event counts.
 */
export function normalizeMetadataValue(key: string, value: MetaValue): NormalizedMeta {
  assertMetadataKey(key);
  const kind = metadataKind(key);
  if (typeof value === "string") {
    if (value === "") throw bad(key, "empty strings are dropped by dclab; omit the key instead");
    if (kind !== undefined && kind !== "str") {
      throw bad(key, `expected a ${kind} value, got the string '${value}'`);
    }
    return { kind: "string", value };
  }
  if (value === null || value === undefined) throw bad(key, "value is missing");
  if (typeof value === "boolean") {
    if (kind === "str") throw bad(key, "expected a string, got a boolean");
    return normalizeArray("bool", [value ? 1 : 0], [], key);
  }
  if (typeof value === "number" || typeof value === "bigint") {
    if (kind === "str") throw bad(key, `expected a string, got ${String(value)}`);
    if (kind === "int" || (kind === undefined && typeof value === "bigint")) {
      if (typeof value === "number" && !Number.isSafeInteger(value)) {
        throw bad(key, `expected an integer, got ${value}`);
      }
      if (key === "experiment:event count" && value < 0) throw bad(key, `event count ${value} is negative`);
      return scalarOf("int64", value, key);
    }
    if (kind === "bool") return normalizeArray("bool", [Number(value) !== 0 ? 1 : 0], [], key);
    return scalarOf("float64", value, key);
  }
  if (typeof value === "object" && "dtype" in value) {
    const { dtype, shape } = value;
    const v = value.value;
    if (typeof v === "boolean") return normalizeArray(dtype, [v ? 1 : 0], shape ?? [], key);
    if (typeof v === "number" || typeof v === "bigint") {
      if (shape !== undefined && shape.length > 0) throw bad(key, "a scalar value cannot have a shape");
      if (typeof v === "number" && Number.isNaN(v) && dtype !== "float32" && dtype !== "float64") {
        throw bad(key, `NaN is not a valid ${dtype}`);
      }
      if (key === "experiment:event count" && (Number(v) < 0 || !Number.isSafeInteger(Number(v)))) {
        throw bad(key, `invalid event count ${String(v)}`);
      }
      return dtype === "int64" || dtype === "uint64" ? scalarOf(dtype, v, key) : normalizeArray(dtype, [v as number], [], key);
    }
    const arr = v as ArrayLike<number | bigint>;
    return normalizeArray(dtype, arr, shape ?? [arr.length], key);
  }
  throw bad(key, `unsupported value ${String(value)}`);
}

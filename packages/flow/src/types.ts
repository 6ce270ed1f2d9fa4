/**
 * Value types shared by the data manager and the dereference functions.
 */
import type { NdArray, NumericArray, NumericDType } from "@strata/core-interfaces";

/** One column of values: a numeric typed array or an array of strings. */
export type Column = NumericArray | string[];

/**
 * A structured (compound) array stored as a structure of arrays: one column per field, all with
 * the same number of elements (one per record), fields in file order.
 *
 * @example
 * ```ts
 * const hits: StructuredArray = {
 *   fields: ["id", "q"],
 *   columns: { id: Int32Array.of(0, 1), q: Float32Array.of(1.5, 2.5) },
 * };
 * ```
 */
export interface StructuredArray {
  /** Field names in file order. */
  readonly fields: readonly string[];
  /** One column per field, keyed by field name. */
  readonly columns: Readonly<Record<string, Column>>;
}

/** Values of a dataset or of a dereference result: one column, or one column per field. */
export type FlowValues = Column | StructuredArray;

/** One record of a structured array as a plain object (`bigint` for 64-bit integer fields). */
export type FlowRecord = Record<string, number | bigint | string>;

/**
 * A Python-style slice over rows. `start` defaults to 0, `stop` to the length of the indexed
 * object (required when the length is unknown), `step` to 1. Negative `start`/`stop` count
 * from the end (they need a known length).
 */
export interface SliceSpec {
  /** First row (inclusive). */
  readonly start?: number;
  /** Row after the last one (exclusive). */
  readonly stop?: number;
  /** Row stride (> 0). */
  readonly step?: number;
}

/**
 * A row selection: a single index `i` (same as `[i]`), a slice, or an array of indices (may be
 * unsorted and may repeat; `bigint` arrays are accepted).
 */
export type Selection = number | SliceSpec | ArrayLike<number> | BigInt64Array | BigUint64Array;

/**
 * A masked N-dimensional result, C-order. `mask[i] === 1` means element `i` is masked (no value);
 * masked slots hold zeros (empty strings, all-zero records). For structured values every column
 * has one element per slot and the mask is shared.
 */
export interface MaskedArray<V extends FlowValues = FlowValues> {
  /** The values: a typed array, a string array or a structured array. */
  readonly data: V;
  /** One byte per element (product of `shape`), 1 = masked. */
  readonly mask: Uint8Array;
  /** Extent of each axis: `(len(sel), K1, K2, ..., *rowShape)`. */
  readonly shape: readonly number[];
}

/**
 * A reference table, in memory or backed by a file: L rows of `[index0, index1]`.
 *
 * In-memory forms: an array of pairs (`[[0, 1], [1, 2]]`) or an `NdArray` of shape `(L, 2)`
 * (row-major, typically `Uint32Array`; legacy `BigUint64Array` is accepted).
 */
export type RefInput = readonly (readonly [number, number] | readonly number[])[] | NdArray | RefSource;

/** A reference table that is read on demand (e.g. an HDF5 `ref` dataset). */
export interface RefSource {
  /** Number of rows L. */
  readonly length: number;
  /** Element type of the table (default `uint32`; legacy files use `uint64`). */
  readonly dtype?: NumericDType;
  /** Reads rows `[start, stop)` as a row-major `(stop - start, 2)` array. */
  readRows(start: number, stop: number): NdArray | Promise<NdArray>;
}

/** The `{start, stop}` columns of a region table. */
export interface RegionColumns {
  /** Window start per row (int32, or int64 in legacy files). */
  readonly start: ArrayLike<number> | BigInt64Array;
  /** Window stop per row (exclusive). */
  readonly stop: ArrayLike<number> | BigInt64Array;
}

/**
 * A region table: one `(start, stop)` window of ref rows per data row of the selection side.
 * In-memory forms: an array of pairs (`[[0, 1], [1, 2], [0, 0]]`) or `{start, stop}` columns.
 */
export type RegionInput = readonly (readonly [number, number] | readonly number[])[] | RegionColumns | RegionSource;

/** A region table read on demand (e.g. an HDF5 `ref_region` dataset). */
export interface RegionSource {
  /** Number of rows. */
  readonly length: number;
  /** Reads the windows of rows `[start, stop)`. */
  readRows(start: number, stop: number): RegionColumns | Promise<RegionColumns>;
}

/**
 * Target data of a dereference: a column, a structured array, an `NdArray` whose first axis is the
 * row axis (extra axes are kept in the result), or a source read on demand.
 */
export type DataInput = FlowValues | NdArray | DataSource;

/** Target data read on demand (e.g. an HDF5 `data` dataset). */
export interface DataSource {
  /** Number of rows. */
  readonly length: number;
  /** Shape of one row (`[]` for scalars). */
  readonly rowShape: readonly number[];
  /** Reads the given rows (in the given order, possibly repeated). */
  take(rows: Float64Array): FlowValues | Promise<FlowValues>;
}

/**
 * Helpers over columns and structured arrays: gathering rows, conversion to nested arrays and
 * records.
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import type { NumericArray, NumericArrayConstructor } from "@strata/core-interfaces";
import type { Column, FlowRecord, FlowValues, MaskedArray, StructuredArray } from "./types.js";

/** True when `v` is a {@link StructuredArray} (not a column). */
export function isStructured(v: unknown): v is StructuredArray {
  return typeof v === "object" && v !== null && !ArrayBuffer.isView(v) && !Array.isArray(v) &&
    Array.isArray((v as StructuredArray).fields) && typeof (v as StructuredArray).columns === "object";
}

/** Number of elements of a column, or of records of a structured array. */
export function valuesLength(v: FlowValues): number {
  if (!isStructured(v)) return v.length;
  const first = v.fields[0];
  if (first === undefined) return 0;
  return columnOf(v, first).length;
}

/** The column of `field`; `NOT_FOUND` when the structured array has no such field. */
export function columnOf(v: StructuredArray, field: string): Column {
  const col = v.columns[field];
  if (col === undefined) throw new StorageError(ErrorCode.NOT_FOUND, `no field '${field}' (fields: ${v.fields.join(", ")})`);
  return col;
}

/** Checks that every column of a structured array has the same length; returns it. */
export function checkStructured(v: StructuredArray, what = "structured array"): number {
  const n = valuesLength(v);
  for (const f of v.fields) {
    const col = columnOf(v, f);
    if (col.length !== n) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${what}: field '${f}' has ${col.length} elements, expected ${n}`);
    }
  }
  return n;
}

function emptyLike(col: Column, n: number): Column {
  if (Array.isArray(col)) return new Array<string>(n).fill("");
  return new (col.constructor as NumericArrayConstructor)(n);
}

/**
 * Gathers rows of `col` (rows of `rowSize` elements) at `rows`; output slot `i` gets row
 * `rows[i]` unless `mask[i] === 1`, in which case it stays zero. Rows out of range raise
 * `OUT_OF_BOUNDS`.
 */
export function gatherColumn(col: Column, rowSize: number, rows: ArrayLike<number>, mask?: Uint8Array): Column {
  const n = rows.length;
  const out = emptyLike(col, n * rowSize);
  const nRows = Math.floor(col.length / rowSize);
  if (rowSize === 1) {
    if (Array.isArray(col)) {
      const o = out as string[];
      for (let i = 0; i < n; i++) {
        if (mask !== undefined && mask[i] === 1) continue;
        const r = rows[i]!;
        if (!(r >= 0 && r < nRows)) throw outOfBounds(r, nRows);
        o[i] = col[r]!;
      }
    } else if (mask === undefined) {
      gatherNumeric(out as NumericArray, col, rows, nRows);
    } else {
      gatherNumericMasked(out as NumericArray, col, rows, mask, nRows);
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    if (mask !== undefined && mask[i] === 1) continue;
    const r = rows[i]!;
    if (!(r >= 0 && r < nRows)) throw outOfBounds(r, nRows);
    if (Array.isArray(col)) {
      for (let k = 0; k < rowSize; k++) (out as string[])[i * rowSize + k] = col[r * rowSize + k]!;
    } else {
      (out as NumericArray).set((col as Float64Array).subarray(r * rowSize, (r + 1) * rowSize) as never, i * rowSize);
    }
  }
  return out;
}

function gatherNumeric(o: NumericArray, c: NumericArray, rows: ArrayLike<number>, nRows: number): void {
  const n = rows.length;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (!(r >= 0 && r < nRows)) throw outOfBounds(r, nRows);
    (o as Float64Array)[i] = (c as Float64Array)[r]!;
  }
}

function gatherNumericMasked(o: NumericArray, c: NumericArray, rows: ArrayLike<number>, mask: Uint8Array, nRows: number): void {
  const n = rows.length;
  for (let i = 0; i < n; i++) {
    if (mask[i] === 1) continue;
    const r = rows[i]!;
    if (!(r >= 0 && r < nRows)) throw outOfBounds(r, nRows);
    (o as Float64Array)[i] = (c as Float64Array)[r]!;
  }
}

function outOfBounds(r: number, n: number): StorageError {
  return new StorageError(ErrorCode.OUT_OF_BOUNDS, `row ${r} is out of bounds for data of ${n} rows`, { max: r, limit: n });
}

/** {@link gatherColumn} over every column of a column or structured array. */
export function gatherValues(v: FlowValues, rowSize: number, rows: ArrayLike<number>, mask?: Uint8Array): FlowValues {
  if (!isStructured(v)) return gatherColumn(v, rowSize, rows, mask);
  const columns: Record<string, Column> = {};
  for (const f of v.fields) columns[f] = gatherColumn(columnOf(v, f), rowSize, rows, mask);
  return { fields: [...v.fields], columns };
}

/**
 * Scatters `src` (one element per set slot, in order) into a zero-filled array of `n` slots where
 * `mask[i] === 0`.
 */
export function scatterValues(src: FlowValues, rowSize: number, mask: Uint8Array): FlowValues {
  const scatter = (col: Column): Column => {
    const out = emptyLike(col, mask.length * rowSize);
    let k = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 1) continue;
      for (let e = 0; e < rowSize; e++) (out as Float64Array)[i * rowSize + e] = (col as Float64Array)[k * rowSize + e]!;
      k++;
    }
    return out;
  };
  if (!isStructured(src)) return scatter(src);
  const columns: Record<string, Column> = {};
  for (const f of src.fields) columns[f] = scatter(columnOf(src, f));
  return { fields: [...src.fields], columns };
}

/** An all-zero column/structure like `v` with `n` elements. */
export function zerosLike(v: FlowValues, n: number): FlowValues {
  if (!isStructured(v)) return emptyLike(v, n);
  const columns: Record<string, Column> = {};
  for (const f of v.fields) columns[f] = emptyLike(columnOf(v, f), n);
  return { fields: [...v.fields], columns };
}

/** The records of a structured array as plain objects. */
export function toRecords(v: StructuredArray): FlowRecord[] {
  const n = valuesLength(v);
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const rec: FlowRecord = {};
    for (const f of v.fields) rec[f] = columnOf(v, f)[i]!;
    out.push(rec);
  }
  return out;
}

/**
 * Builds a structured array from records (plain objects) given the field names and one
 * constructor per field (`"string"` for string fields).
 */
export function fromRecords(
  records: readonly FlowRecord[],
  fields: Readonly<Record<string, NumericArrayConstructor | "string">>,
): StructuredArray {
  const names = Object.keys(fields);
  const columns: Record<string, Column> = {};
  for (const f of names) {
    const ctor = fields[f]!;
    if (ctor === "string") {
      columns[f] = records.map((r, i) => {
        const v = r[f];
        if (typeof v !== "string") throw new StorageError(ErrorCode.INVALID_ARGUMENT, `record ${i}: field '${f}' must be a string`);
        return v;
      });
    } else {
      const col = new ctor(records.length);
      const big = col instanceof BigInt64Array || col instanceof BigUint64Array;
      records.forEach((r, i) => {
        const v = r[f];
        if (v === undefined || typeof v === "string") {
          throw new StorageError(ErrorCode.INVALID_ARGUMENT, `record ${i}: field '${f}' is missing or not a number`);
        }
        (col as Float64Array)[i] = (big ? BigInt(v) : Number(v)) as number;
      });
      columns[f] = col;
    }
  }
  return { fields: names, columns };
}

/** A masked value in {@link toNested} output. */
export type NestedValue = number | bigint | string | FlowRecord | null;

/** Nested arrays of a masked result. */
export type Nested = NestedValue | Nested[];

/**
 * Converts a masked result to nested JavaScript arrays following its shape, with `null` for
 * masked slots and plain objects for records. Meant for tests and display.
 *
 * @example
 * ```ts
 * toNested(await dereference([0, 1, 2], [[1, 0], [2, 1]], Float64Array.of(10, 20)));
 * // [[null], [10], [20]]
 * ```
 */
export function toNested(m: MaskedArray): Nested[] {
  const { shape, mask, data } = m;
  const structured = isStructured(data);
  const at = (i: number): NestedValue => {
    if (mask[i] === 1) return null;
    if (!structured) return (data as Column)[i]!;
    const rec: FlowRecord = {};
    for (const f of data.fields) rec[f] = columnOf(data, f)[i]!;
    return rec;
  };
  const build = (axis: number, offset: number): Nested[] => {
    const extent = shape[axis] ?? 0;
    let stride = 1;
    for (let a = axis + 1; a < shape.length; a++) stride *= shape[a]!;
    const out: Nested[] = [];
    for (let k = 0; k < extent; k++) {
      out.push(axis === shape.length - 1 ? at(offset + k) : build(axis + 1, offset + k * stride));
    }
    return out;
  };
  return shape.length === 0 ? [] : build(0, 0);
}

import { ErrorCode, StorageError } from "@strata/core-interfaces";

/**
 * Selection along one dimension:
 * - `null`/`undefined`: the whole dimension;
 * - a number `i`: the single index `i` (negative counts from the end, like Python);
 * - `[start, stop, step]` with optional parts: a Python-style slice. Negative `start`/`stop` count
 *   from the end, out-of-range bounds are clamped; `step` must be a positive integer.
 */
export type DimSelection = number | null | undefined | readonly [start?: number | null, stop?: number | null, step?: number | null];

/** One {@link DimSelection} per dimension; missing trailing dimensions select everything. */
export type Selection = readonly DimSelection[];

/** A normalised hyperslab. */
export interface Hyperslab {
  readonly offset: number[];
  readonly count: number[];
  readonly stride: number[];
  /** Number of selected elements. */
  readonly size: number;
}

/**
 * Normalises a selection against a shape (Python semantics for negatives; never passes a
 * negative index down to HDF5, which would read from 0). `OUT_OF_BOUNDS` for a bad single index,
 * `INVALID_ARGUMENT` for a bad step or too many dimensions.
 */
export function normalizeSelection(shape: readonly number[], sel: Selection = []): Hyperslab {
  if (sel.length > shape.length) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `selection has ${sel.length} dimensions, dataset has ${shape.length}`);
  }
  const offset: number[] = [];
  const count: number[] = [];
  const stride: number[] = [];
  let size = 1;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    const s = sel[d];
    if (s === null || s === undefined) {
      offset.push(0);
      count.push(n);
      stride.push(1);
    } else if (typeof s === "number") {
      if (!Number.isInteger(s)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `index ${s} is not an integer`);
      const i = s < 0 ? s + n : s;
      if (i < 0 || i >= n) throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `index ${s} is out of bounds for dimension ${d} of size ${n}`, { limit: n });
      offset.push(i);
      count.push(1);
      stride.push(1);
    } else {
      const step = s[2] ?? 1;
      if (!Number.isInteger(step) || step < 1) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `slice step must be a positive integer, got ${step}`);
      }
      const norm = (v: number | null | undefined, dflt: number): number => {
        if (v === null || v === undefined) return dflt;
        if (!Number.isInteger(v)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `slice bound ${v} is not an integer`);
        const x = v < 0 ? v + n : v;
        return Math.min(Math.max(x, 0), n);
      };
      const start = norm(s[0], 0);
      const stop = norm(s[1], n);
      const c = stop > start ? Math.ceil((stop - start) / step) : 0;
      offset.push(c === 0 ? Math.min(start, n) : start);
      count.push(c);
      stride.push(step);
    }
    size *= count[d]!;
  }
  return { offset, count, stride, size };
}

/** Numeric-aware comparison: "9" < "10", "a2" < "a10"; otherwise code-unit order. */
export function compareNumericAware(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const bx = BigInt(x);
      const by = BigInt(y);
      if (bx !== by) return bx < by ? -1 : 1;
      if (x.length !== y.length) return x.length - y.length; // "01" after "1"
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return pa.length - pb.length;
}

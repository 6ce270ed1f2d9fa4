/**
 * Selection normalisation: single indices, slices and index arrays become one index list.
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import type { Selection, SliceSpec } from "./types.js";

/** An index list as used internally: non-negative integers. */
export type IndexArray = Float64Array | Uint32Array | Int32Array;

/** True when `sel` is a {@link SliceSpec} (an object that is neither an array nor a typed array). */
export function isSlice(sel: unknown): sel is SliceSpec {
  return typeof sel === "object" && sel !== null && !ArrayBuffer.isView(sel) && !Array.isArray(sel) &&
    !("length" in sel);
}

function bad(message: string): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, message);
}

/**
 * Resolves a slice against an optional length into `{start, stop, step}` (Python semantics:
 * negative bounds count from the end, bounds are clipped to the length).
 */
export function resolveSlice(s: SliceSpec, length?: number): { start: number; stop: number; step: number } {
  const step = s.step ?? 1;
  if (!Number.isSafeInteger(step) || step <= 0) throw bad(`slice step must be a positive integer, got ${step}`);
  const fix = (v: number | undefined, dflt: number | undefined, name: string): number => {
    if (v === undefined) {
      if (dflt === undefined) throw bad(`slice ${name} is required when the length is unknown`);
      return dflt;
    }
    if (!Number.isSafeInteger(v)) throw bad(`slice ${name} must be an integer, got ${v}`);
    if (v < 0) {
      if (length === undefined) throw bad(`negative slice ${name} ${v} needs a known length`);
      return Math.max(0, length + v);
    }
    return length === undefined ? v : Math.min(v, length);
  };
  const start = fix(s.start, 0, "start");
  const stop = Math.max(start, fix(s.stop, length, "stop"));
  return { start, stop, step };
}

/**
 * Normalises a selection to an index list. A single index `i` becomes `[i]`; a slice its range
 * (needs `length` when `stop` is omitted or bounds are negative); an index array is used as is
 * (unsorted and repeated entries are kept). Negative or non-integer indices raise
 * `INVALID_ARGUMENT`; with a known `length`, indices `>= length` raise `OUT_OF_BOUNDS`.
 *
 * Typed `Uint32Array`/`Int32Array`/`Float64Array` inputs are returned without copying after
 * validation.
 */
export function normalizeSelection(sel: Selection, length?: number): IndexArray {
  let out: IndexArray;
  if (typeof sel === "number") {
    if (!Number.isSafeInteger(sel)) throw bad(`selection index must be an integer, got ${sel}`);
    let i = sel;
    if (i < 0) {
      if (length === undefined) throw bad(`negative selection index ${sel} needs a known length`);
      i += length;
      if (i < 0) throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `index ${sel} is out of bounds for ${length} rows`);
    }
    out = Float64Array.of(i);
  } else if (isSlice(sel)) {
    const { start, stop, step } = resolveSlice(sel, length);
    const n = Math.max(0, Math.ceil((stop - start) / step));
    out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = start + k * step;
    return out;
  } else if (sel instanceof Uint32Array || sel instanceof Int32Array || sel instanceof Float64Array) {
    out = sel;
  } else if (sel instanceof BigInt64Array || sel instanceof BigUint64Array) {
    out = new Float64Array(sel.length);
    for (let i = 0; i < sel.length; i++) {
      const v = sel[i]!;
      if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`selection index ${v} at position ${i} is out of range`);
      out[i] = Number(v);
    }
  } else if (typeof sel === "object" && sel !== null && typeof (sel as ArrayLike<number>).length === "number") {
    out = Float64Array.from(sel as ArrayLike<number>);
  } else {
    throw bad(`unsupported selection: ${String(sel)}`);
  }
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    if (!(v >= 0) || !Number.isSafeInteger(v)) throw bad(`selection index ${String(v)} at position ${i} is not a non-negative integer`);
    if (length !== undefined && v >= length) {
      throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `selection index ${v} is out of bounds for ${length} rows`, { max: v, limit: length });
    }
  }
  return out;
}

/** Normalises a boolean mask (true = skip) against `n` selection entries. */
export function normalizeMask(mask: ArrayLike<boolean | number> | undefined, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (mask === undefined) return out;
  if (mask.length !== n) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `mask has ${mask.length} entries, the selection ${n}`);
  }
  for (let i = 0; i < n; i++) out[i] = mask[i] ? 1 : 0;
  return out;
}

/**
 * The region bookkeeping of `write_ref` (pure part) and the drop-list routing rule.
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";

/** The region rows `[lo, lo + start.length)` to write after a `writeRef` batch. */
export interface RegionUpdate {
  /** First region row touched. */
  readonly lo: number;
  /** New window starts of rows `lo ...`. */
  readonly start: Float64Array;
  /** New window stops of rows `lo ...`. */
  readonly stop: Float64Array;
}

/**
 * Computes h5flow's region update for one side of a `writeRef` batch.
 *
 * `idx` is that side's column of the batch, `offset` the ref row the batch was appended at, and
 * `old` the current windows of rows `[lo, hi]` (read by the caller once `lo`/`hi` are known). For
 * each index `i` in `[min(idx), max(idx)]`: `new = (offset + first position of i, offset + last
 * position + 1)` when `i` occurs in the batch, else `(0, 0)`; the result is `new` when the old
 * window is empty, else the union `(min(old.start, new.start), max(old.stop, new.stop))`.
 *
 * With the default (`tight = false`) this reproduces upstream's **widening quirk**: an index in
 * `[lo, hi]` with old refs but none in this batch gets `(0, old.stop)`. With `tight = true` such
 * indices keep their old window. Returns `undefined` for an empty batch.
 */
export function regionUpdate(
  idx: ArrayLike<number>,
  offset: number,
  old: (lo: number, hi: number) => { start: ArrayLike<number | bigint>; stop: ArrayLike<number | bigint> },
  tight = false,
): RegionUpdate | undefined {
  const n = idx.length;
  if (n === 0) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = idx[j]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const m = hi - lo + 1;
  const first = new Float64Array(m).fill(-1);
  const last = new Float64Array(m);
  for (let j = 0; j < n; j++) {
    const k = idx[j]! - lo;
    if (first[k]! < 0) first[k] = j;
    last[k] = j;
  }
  const prev = old(lo, hi);
  if (prev.start.length !== m || prev.stop.length !== m) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `region read returned ${prev.start.length} rows, expected ${m}`);
  }
  const start = new Float64Array(m);
  const stop = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const present = first[k]! >= 0;
    const ns = present ? offset + first[k]! : 0;
    const ne = present ? offset + last[k]! + 1 : 0;
    const os = Number(prev.start[k]!);
    const oe = Number(prev.stop[k]!);
    if (os !== oe) {
      if (!present && tight) {
        start[k] = os;
        stop[k] = oe;
      } else {
        start[k] = Math.min(os, ns);
        stop[k] = Math.max(oe, ne);
      }
    } else {
      start[k] = ns;
      stop[k] = ne;
    }
  }
  return { lo, start, stop };
}

/** How drop-list entries are matched against object paths. */
export type DropMatch = "substring" | "segment";

/**
 * The drop-list routing rule: true when `path` (an object path like `/stage/obj/data`) contains a
 * drop entry. `"substring"` (default, upstream) is a plain substring test, so dropping `A` also
 * catches `BA/...`; `"segment"` requires the entry's slash-separated segments to appear as whole
 * consecutive segments of the path.
 */
export function matchesDrop(path: string, drop: readonly string[], match: DropMatch = "substring"): boolean {
  if (match === "substring") return drop.some((d) => d !== "" && path.includes(d));
  const segs = path.split("/").filter((s) => s !== "");
  return drop.some((d) => {
    const ds = d.split("/").filter((s) => s !== "");
    if (ds.length === 0) return false;
    for (let i = 0; i + ds.length <= segs.length; i++) {
      if (ds.every((s, k) => segs[i + k] === s)) return true;
    }
    return false;
  });
}

/**
 * `dereference` and `dereferenceChain`: follow index references into masked arrays, with the
 * exact semantics of h5flow's `dereference` / `dereference_chain` (see the package README).
 *
 * The lookup is a counting sort: one pass over the reference window counts the hits of every
 * selected index, a second pass drops the hit indices into per-index buckets, and each bucket is
 * sorted. Time is linear in the window length plus the number of hits.
 */
import { ErrorCode, StorageError, ctorFor, throwIfAborted } from "@strata/core-interfaces";
import type { NdArray, NumericArray, NumericArrayConstructor } from "@strata/core-interfaces";
import { normalizeMask, normalizeSelection } from "./selection.js";
import type { IndexArray } from "./selection.js";
import type {
  Column, DataInput, DataSource, FlowValues, MaskedArray, RefInput, RefSource, RegionColumns, RegionInput,
  RegionSource, Selection,
} from "./types.js";
import { checkStructured, gatherValues, isStructured, scatterValues, valuesLength, zerosLike } from "./values.js";

/** Which reference column is matched against the selection (first) and which yields hits (second). */
export type RefDirection = readonly [0, 1] | readonly [1, 0];

/** Options of {@link dereference}. */
export interface DereferenceOptions {
  /**
   * Region table of the **selection side** (one `(start, stop)` window per row of the selection-side
   * data), looked up by the selection values. Only the ref rows inside the union window are read.
   */
  readonly region?: RegionInput;
  /** One flag per selection entry, true = skip (the entry's output row is fully masked). */
  readonly mask?: ArrayLike<boolean | number>;
  /** Column matched against the selection and column yielding hits; default `[0, 1]`. */
  readonly refDirection?: RefDirection;
  /** Return hit indices (dtype of the ref) instead of `data[hits]`. Implied when `data` is absent. */
  readonly indicesOnly?: boolean;
  /** Cancels the operation (`ABORTED`). */
  readonly signal?: AbortSignal;
}

/** Options of {@link dereferenceChain}. */
export interface DereferenceChainOptions {
  /** One region table (or `undefined`) per step, each of the step's selection side. */
  readonly regions?: readonly (RegionInput | undefined)[];
  /** One flag per selection entry, true = skip. */
  readonly mask?: ArrayLike<boolean | number>;
  /** One direction per step; default `[0, 1]` for every step. */
  readonly refDirections?: readonly (RefDirection | undefined)[];
  /** Return the last step's hit indices instead of `data[hits]`. Implied when `data` is absent. */
  readonly indicesOnly?: boolean;
  /** Cancels the operation (`ABORTED`). */
  readonly signal?: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// input normalisation

/** A reference table normalised for the lookup. */
interface RefTable {
  readonly length: number;
  /** Constructor of index results (the ref dtype). */
  readonly ctor: NumericArrayConstructor;
  read(start: number, stop: number): Promise<IndexArray>;
}

function isRefSource(v: unknown): v is RefSource {
  return typeof v === "object" && v !== null && typeof (v as RefSource).readRows === "function";
}

function isNdArray(v: unknown): v is NdArray {
  return typeof v === "object" && v !== null && ArrayBuffer.isView((v as NdArray).data) && Array.isArray((v as NdArray).shape);
}

/** Converts the flat data of an `(L, 2)` ref array to an index array usable by the lookup. */
function refData(a: NdArray, what: string): IndexArray {
  if (a.shape.length !== 2 || a.shape[1] !== 2) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${what} must have shape (L, 2), got (${a.shape.join(", ")})`);
  }
  const d = a.data;
  if (d.length !== a.shape[0]! * 2) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${what}: ${d.length} elements do not fill shape (${a.shape.join(", ")})`);
  }
  if (d instanceof Uint32Array || d instanceof Int32Array || d instanceof Float64Array) return d;
  if (d instanceof BigUint64Array || d instanceof BigInt64Array) {
    const out = new Float64Array(d.length);
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v > 9007199254740991n || v < 0n) throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${what}: index ${v} exceeds the safe integer range`);
      out[i] = Number(v);
    }
    return out;
  }
  return Float64Array.from(d as ArrayLike<number>);
}

function pairsToUint32(pairs: readonly (readonly number[])[], what: string): Uint32Array {
  const out = new Uint32Array(pairs.length * 2);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    if (p.length !== 2) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${what}: row ${i} has ${p.length} entries, expected 2`);
    for (let c = 0; c < 2; c++) {
      const v = p[c]!;
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${what}: row ${i} holds ${String(v)}, not a uint32 index`);
      }
      out[i * 2 + c] = v;
    }
  }
  return out;
}

function ctorOf(a: NumericArray): NumericArrayConstructor {
  return a.constructor as NumericArrayConstructor;
}

function toRefTable(ref: RefInput, what = "ref"): RefTable {
  if (isRefSource(ref)) {
    const src = ref;
    let ctor: NumericArrayConstructor = ctorFor(src.dtype ?? "uint32");
    return {
      length: src.length,
      get ctor() {
        return ctor;
      },
      async read(start, stop) {
        const a = await src.readRows(start, stop);
        ctor = ctorOf(a.data);
        return refData(a, what);
      },
    };
  }
  let flat: IndexArray;
  let ctor: NumericArrayConstructor;
  if (isNdArray(ref)) {
    flat = refData(ref, what);
    ctor = ctorOf(ref.data);
  } else if (Array.isArray(ref)) {
    flat = pairsToUint32(ref as readonly (readonly number[])[], what);
    ctor = Uint32Array;
  } else {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${what}: expected pairs, an (L, 2) array or a ref source`);
  }
  return {
    length: flat.length / 2,
    ctor,
    read: (start, stop) => Promise.resolve(flat.subarray(start * 2, stop * 2)),
  };
}

/** A region table normalised for the lookup. */
interface RegionTable {
  readonly length: number;
  readRows(start: number, stop: number): Promise<RegionColumns>;
}

function isRegionSource(v: unknown): v is RegionSource {
  return typeof v === "object" && v !== null && typeof (v as RegionSource).readRows === "function";
}

function toRegionTable(region: RegionInput, what = "region"): RegionTable {
  if (isRegionSource(region)) {
    return { length: region.length, readRows: async (a, b) => region.readRows(a, b) };
  }
  let cols: RegionColumns;
  if (Array.isArray(region)) {
    const pairs = region as readonly (readonly number[])[];
    const start = new Float64Array(pairs.length);
    const stop = new Float64Array(pairs.length);
    pairs.forEach((p, i) => {
      if (p.length !== 2) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${what}: row ${i} has ${p.length} entries, expected 2`);
      start[i] = p[0]!;
      stop[i] = p[1]!;
    });
    cols = { start, stop };
  } else if (typeof region === "object" && region !== null && "start" in region && "stop" in region) {
    cols = region as RegionColumns;
    if (cols.start.length !== cols.stop.length) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${what}: start has ${cols.start.length} rows, stop ${cols.stop.length}`);
    }
  } else {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${what}: expected pairs, {start, stop} columns or a region source`);
  }
  return { length: cols.start.length, readRows: (a, b) => Promise.resolve(sliceRegion(cols, a, b)) };
}

function sliceRegion(c: RegionColumns, a: number, b: number): RegionColumns {
  const sl = (x: RegionColumns["start"]): RegionColumns["start"] =>
    ArrayBuffer.isView(x) ? (x as unknown as Float64Array).subarray(a, b) : Array.prototype.slice.call(x, a, b) as number[];
  return { start: sl(c.start), stop: sl(c.stop) };
}

/** A data target normalised for gathering. */
interface DataTable {
  readonly length: number;
  readonly rowShape: readonly number[];
  readonly rowSize: number;
  take(rows: Float64Array): Promise<FlowValues>;
  /** In-memory data: gathers `indices` directly where `mask` is 0 (masked slots zero). */
  gatherMasked?(indices: IndexArray, mask: Uint8Array): FlowValues;
}

function isDataSource(v: unknown): v is DataSource {
  return typeof v === "object" && v !== null && typeof (v as DataSource).take === "function";
}

function toDataTable(data: DataInput): DataTable {
  if (isDataSource(data)) {
    const rowSize = data.rowShape.reduce((a, b) => a * b, 1);
    return { length: data.length, rowShape: data.rowShape, rowSize, take: async (rows) => data.take(rows) };
  }
  let values: FlowValues;
  let rowShape: readonly number[] = [];
  let length: number;
  if (isStructured(data)) {
    values = data;
    length = checkStructured(data, "data");
  } else if (isNdArray(data)) {
    if (data.shape.length === 0) throw new StorageError(ErrorCode.SHAPE_MISMATCH, "data must have at least one axis");
    values = data.data;
    length = data.shape[0]!;
    rowShape = data.shape.slice(1);
    const size = data.shape.reduce((a, b) => a * b, 1);
    if (size !== data.data.length) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `data: ${data.data.length} elements do not fill shape (${data.shape.join(", ")})`);
    }
  } else if (Array.isArray(data) || ArrayBuffer.isView(data)) {
    values = data as Column;
    length = (data as Column).length;
  } else {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, "data: expected a column, a structured array, an NdArray or a data source");
  }
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  return {
    length,
    rowShape,
    rowSize,
    take: (rows) => Promise.resolve(gatherValues(values, rowSize, rows)),
    gatherMasked: (indices, mask) => gatherValues(values, rowSize, indices, mask),
  };
}

// ---------------------------------------------------------------------------------------------
// the lookup

/** Hits of one dereference step, grouped by distinct selected value. */
interface Hits {
  /** For each selection entry: its bucket, or -1 (masked). */
  readonly bucketOf: Int32Array;
  /** Bucket b holds `hits[offsets[b] .. offsets[b + 1])`. */
  readonly offsets: Int32Array;
  readonly hits: IndexArray;
  /** Largest bucket size. */
  readonly maxCount: number;
}

/** Largest dense lookup table (entries) before falling back to a hash map. */
const DENSE_LIMIT = 1 << 25;
/** Region rows are read in blocks of this many rows; blocks without selected values are skipped. */
const REGION_BLOCK = 1 << 16;

function sortBucket(a: IndexArray, lo: number, hi: number): void {
  const n = hi - lo;
  if (n < 2) return;
  if (n > 32) {
    a.subarray(lo, hi).sort();
    return;
  }
  for (let i = lo + 1; i < hi; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

/** Pass 1 with a dense table: bucket id of every window row (-1 = not selected), counts in `offsets[id + 1]`. */
function countDense(rows: IndexArray, a: number, smin: number, range: number, dense: Int32Array, offsets: Int32Array, rowId: Int32Array): number {
  const L = rowId.length;
  let total = 0;
  for (let r = 0; r < L; r++) {
    const d = rows[2 * r + a]! - smin;
    let id = -1;
    if (d >= 0 && d < range) {
      id = dense[d | 0]!; // integer key (d < range <= DENSE_LIMIT)
      if (id >= 0) {
        offsets[id + 1]!++;
        total++;
      }
    }
    rowId[r] = id;
  }
  return total;
}

/** Pass 2: drops the hit column of every selected window row into its bucket, in ref order. */
function fillBuckets(rows: IndexArray, b: number, rowId: Int32Array, fill: Int32Array, hits: IndexArray): void {
  const L = rowId.length;
  for (let r = 0; r < L; r++) {
    const id = rowId[r]!;
    if (id >= 0) hits[fill[id]!++] = rows[2 * r + b]!;
  }
}

/** Reads the windows of the selected values and returns the union window, or undefined if none is valid. */
async function regionWindow(
  region: RegionTable, sel: IndexArray, mask: Uint8Array, smin: number, smax: number,
): Promise<[number, number] | undefined> {
  if (smax >= region.length) {
    throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `selection index ${smax} is out of bounds for a region table of ${region.length} rows`, {
      max: smax, limit: region.length,
    });
  }
  const nBlocks = Math.floor((smax - smin) / REGION_BLOCK) + 1;
  const used = new Uint8Array(nBlocks);
  const span = smax - smin + 1;
  if (span > 2 ** 31) throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `selection spans ${span} rows, more than a region table can hold`);
  for (let j = 0; j < sel.length; j++) if (mask[j] === 0) used[((sel[j]! - smin) / REGION_BLOCK) | 0] = 1;
  const selected = new Uint8Array(span);
  for (let j = 0; j < sel.length; j++) if (mask[j] === 0) selected[(sel[j]! - smin) | 0] = 1;
  let lo = Infinity;
  let hi = -Infinity;
  for (let b = 0; b < nBlocks; b++) {
    if (used[b] === 0) continue;
    const a0 = smin + b * REGION_BLOCK;
    const a1 = Math.min(a0 + REGION_BLOCK, smax + 1);
    const cols = await region.readRows(a0, a1);
    const st = cols.start;
    const sp = cols.stop;
    const big = typeof st[0] === "bigint";
    for (let r = a0; r < a1; r++) {
      if (selected[(r - smin) | 0] === 0) continue;
      const s = big ? Number(st[r - a0]!) : (st[r - a0] as number);
      const e = big ? Number(sp[r - a0]!) : (sp[r - a0] as number);
      if (s === e) continue;
      if (s < lo) lo = s;
      if (e > hi) hi = e;
    }
  }
  if (lo === Infinity) return undefined;
  return [lo, hi];
}

/**
 * Finds the hits of every unmasked selection entry. Returns `undefined` for the special cases that
 * yield a fully masked result (no valid region, empty window, no matching row).
 */
async function lookup(
  sel: IndexArray, mask: Uint8Array, ref: RefTable, region: RegionTable | undefined, dir: RefDirection,
  sorted: boolean, signal: AbortSignal | undefined,
): Promise<Hits | undefined> {
  const n = sel.length;
  let smin = Infinity;
  let smax = -Infinity;
  for (let j = 0; j < n; j++) {
    if (mask[j] === 1) continue;
    const v = sel[j]!;
    if (v < smin) smin = v;
    if (v > smax) smax = v;
  }
  if (smin === Infinity) return undefined; // every entry masked
  let lo = 0;
  let hi = ref.length;
  if (region !== undefined) {
    const w = await regionWindow(region, sel, mask, smin, smax);
    if (w === undefined) return undefined;
    // regions beyond the ref are clipped, as NumPy slicing does upstream
    lo = Math.max(0, Math.min(w[0], ref.length));
    hi = Math.max(lo, Math.min(w[1], ref.length));
  }
  if (hi <= lo) return undefined;
  throwIfAborted(signal);
  const rows = await ref.read(lo, hi);
  throwIfAborted(signal);
  const L = rows.length / 2;
  const a = dir[0];
  const b = dir[1];

  // bucket id per distinct selected value
  const range = smax - smin + 1;
  const bucketOf = new Int32Array(n).fill(-1);
  let nBuckets = 0;
  let dense: Int32Array | undefined;
  let sparse: Map<number, number> | undefined;
  if (range <= Math.max(DENSE_LIMIT >> 3, Math.min(DENSE_LIMIT, 16 * n + 4 * L))) {
    dense = new Int32Array(range).fill(-1);
    for (let j = 0; j < n; j++) {
      if (mask[j] === 1) continue;
      const k = (sel[j]! - smin) | 0; // < range <= DENSE_LIMIT: exact
      let id = dense[k]!;
      if (id < 0) dense[k] = id = nBuckets++;
      bucketOf[j] = id;
    }
  } else {
    sparse = new Map();
    for (let j = 0; j < n; j++) {
      if (mask[j] === 1) continue;
      const v = sel[j]!;
      let id = sparse.get(v);
      if (id === undefined) sparse.set(v, (id = nBuckets++));
      bucketOf[j] = id;
    }
  }

  // pass 1: bucket id of every window row (-1 = not selected) and hits per bucket
  const offsets = new Int32Array(nBuckets + 1);
  const rowId = new Int32Array(L);
  let total = 0;
  if (dense !== undefined) {
    total = countDense(rows, a, smin, range, dense, offsets, rowId);
  } else {
    for (let r = 0; r < L; r++) {
      const id = sparse!.get(rows[2 * r + a]!);
      if (id !== undefined) {
        offsets[id + 1]!++;
        total++;
        rowId[r] = id;
      } else rowId[r] = -1;
    }
  }
  if (total === 0) return undefined;
  let maxCount = 0;
  for (let id = 0; id < nBuckets; id++) {
    const c = offsets[id + 1]!;
    if (c > maxCount) maxCount = c;
    offsets[id + 1] = offsets[id]! + c;
  }
  throwIfAborted(signal);

  // pass 2: drop hits into buckets, in ref order
  const hits: IndexArray = rows instanceof Uint32Array ? new Uint32Array(total) : new Float64Array(total);
  fillBuckets(rows, b, rowId, offsets.slice(0, nBuckets), hits);
  if (sorted) for (let id = 0; id < nBuckets; id++) sortBucket(hits, offsets[id]!, offsets[id + 1]!);
  return { bucketOf, offsets, hits, maxCount };
}

/** Lays the hits out as an `(n, K)` index array and mask (K = 1 and fully masked when `h` is undefined). */
function layout(n: number, h: Hits | undefined): { indices: IndexArray; mask: Uint8Array; k: number } {
  if (h === undefined) return { indices: new Uint32Array(n), mask: new Uint8Array(n).fill(1), k: 1 };
  const k = h.maxCount;
  const indices: IndexArray = h.hits instanceof Uint32Array ? new Uint32Array(n * k) : new Float64Array(n * k);
  const mask = new Uint8Array(n * k).fill(1);
  for (let j = 0; j < n; j++) {
    const id = h.bucketOf[j]!;
    if (id < 0) continue;
    const s = h.offsets[id]!;
    const c = h.offsets[id + 1]! - s;
    const base = j * k;
    const hits = h.hits;
    for (let e = 0; e < c; e++) {
      indices[base + e] = hits[s + e]!;
      mask[base + e] = 0;
    }
  }
  return { indices, mask, k };
}

function castIndices(indices: IndexArray, mask: Uint8Array, ctor: NumericArrayConstructor): NumericArray {
  if (indices instanceof ctor) return indices;
  const out = new ctor(indices.length);
  if (out instanceof BigUint64Array || out instanceof BigInt64Array) {
    for (let i = 0; i < indices.length; i++) if (mask[i] === 0) out[i] = BigInt(indices[i]!);
  } else {
    (out as Float64Array).set(indices);
  }
  return out;
}

/** Expands a per-slot mask to one flag per element of rows of `rowSize` elements. */
function expandMask(mask: Uint8Array, rowSize: number): Uint8Array {
  if (rowSize === 1) return mask;
  const out = new Uint8Array(mask.length * rowSize);
  for (let i = 0; i < mask.length; i++) if (mask[i] === 1) out.fill(1, i * rowSize, (i + 1) * rowSize);
  return out;
}

/** Gathers `data[indices]` for unmasked slots; masked slots stay zero. */
async function gather(data: DataTable, indices: IndexArray, mask: Uint8Array): Promise<FlowValues> {
  if (data.gatherMasked !== undefined) return data.gatherMasked(indices, mask);
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) count++;
  const rows = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 1) continue;
    const r = indices[i]!;
    if (r >= data.length) {
      throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `reference to row ${r} is out of bounds for data of ${data.length} rows`, {
        max: r, limit: data.length,
      });
    }
    rows[k++] = r;
  }
  const taken = await data.take(rows);
  if (valuesLength(taken) !== count * data.rowSize) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `data source returned ${valuesLength(taken)} elements for ${count} rows`);
  }
  if (count === mask.length) return taken;
  if (count === 0) return zerosLike(taken, mask.length * data.rowSize);
  return scatterValues(taken, data.rowSize, mask);
}

function checkDirection(d: RefDirection | undefined, what: string): RefDirection {
  if (d === undefined) return [0, 1];
  if ((d[0] === 0 && d[1] === 1) || (d[0] === 1 && d[1] === 0)) return d;
  throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${what} must be [0, 1] or [1, 0], got [${String(d)}]`);
}

// ---------------------------------------------------------------------------------------------
// public functions

/**
 * Follows references from the selected rows: for each selection entry, the rows of `ref` whose
 * column `refDirection[0]` equals it yield hits from column `refDirection[1]`, sorted ascending.
 *
 * The result has shape `(len(sel), K, ...rowShape)` with `K` the largest hit count; row `j`
 * holds the hits of `sel[j]` (or `data[hits]`) left-aligned, masked beyond its count. Rows of
 * masked entries are fully masked. When every entry is masked, no region is valid, the window is
 * empty or nothing matches, the result is fully masked with shape `(len(sel), 1)`; an empty
 * selection gives shape `(0, 1)`.
 *
 * @param sel - an index, a slice (`{start, stop}`) or an index array
 * @param ref - the `(L, 2)` reference table (pairs, an `NdArray` or a source)
 * @param data - the target data; omitted = return indices
 *
 * @example
 * ```ts
 * const r = await dereference([0, 1, 2], [[1, 0], [2, 1]], ["A", "B", "C", "D"]);
 * toNested(r); // [[null], ["A"], ["B"]]   shape (3, 1)
 * ```
 */
export async function dereference(
  sel: Selection, ref: RefInput, data?: DataInput, options: DereferenceOptions = {},
): Promise<MaskedArray> {
  throwIfAborted(options.signal);
  const s = normalizeSelection(sel);
  const mask = normalizeMask(options.mask, s.length);
  const dir = checkDirection(options.refDirection, "refDirection");
  const table = toRefTable(ref);
  const region = options.region === undefined ? undefined : toRegionTable(options.region);
  const h = s.length === 0 ? undefined : await lookup(s, mask, table, region, dir, true, options.signal);
  const { indices, mask: m, k } = layout(s.length, h);
  return finish([s.length, k], indices, m, table, data, options.indicesOnly === true);
}

async function finish(
  shape: number[], indices: IndexArray, mask: Uint8Array, ref: RefTable, data: DataInput | undefined, indicesOnly: boolean,
): Promise<MaskedArray> {
  if (data === undefined || indicesOnly) return { data: castIndices(indices, mask, ref.ctor), mask, shape };
  const table = toDataTable(data);
  const values = await gather(table, indices, mask);
  return { data: values, mask: expandMask(mask, table.rowSize), shape: [...shape, ...table.rowShape] };
}

/**
 * h5flow's `dereference(..., as_masked=False)`: one entry per **unmasked** selection entry, holding
 * its hits (or `data[hits]`) in reference order within the window (not sorted). Entries without
 * hits give empty arrays.
 *
 * @example
 * ```ts
 * await dereferenceList([0, 1, 2], [[1, 0], [2, 1]], ["A", "B", "C", "D"]); // [[], ["A"], ["B"]]
 * ```
 */
export async function dereferenceList(
  sel: Selection, ref: RefInput, data?: DataInput, options: DereferenceOptions = {},
): Promise<FlowValues[]> {
  throwIfAborted(options.signal);
  const s = normalizeSelection(sel);
  const mask = normalizeMask(options.mask, s.length);
  const dir = checkDirection(options.refDirection, "refDirection");
  const table = toRefTable(ref);
  const region = options.region === undefined ? undefined : toRegionTable(options.region);
  const h = s.length === 0 ? undefined : await lookup(s, mask, table, region, dir, false, options.signal);
  const useData = data !== undefined && options.indicesOnly !== true;
  const dt = useData ? toDataTable(data) : undefined;
  const out: FlowValues[] = [];
  const empty = new Float64Array(0);
  for (let j = 0; j < s.length; j++) {
    if (mask[j] === 1) continue;
    const id = h === undefined ? -1 : h.bucketOf[j]!;
    const idx = id < 0 ? empty : Float64Array.from(h!.hits.subarray(h!.offsets[id]!, h!.offsets[id + 1]!));
    if (dt === undefined) out.push(castIndices(idx, new Uint8Array(idx.length), table.ctor));
    else out.push(await gather(dt, idx, new Uint8Array(idx.length)));
  }
  return out;
}

/**
 * Applies {@link dereference} along a chain of references. Step `k` takes the flattened indices
 * of step `k - 1` (and its accumulated mask) as its selection; every step but the last returns
 * indices. The shape grows to `(len(sel), K1, K2, ...)`; a slot masked at one step stays masked.
 *
 * @param refs - one reference table per step
 * @param data - the target data of the last step; omitted = return indices
 *
 * @example
 * ```ts
 * // hits -> tracks -> events: out[i, j, k] = events of track j of hit i
 * const out = await dereferenceChain({ start: 0, stop: 10 }, [aToB, cToB], cData, { refDirections: [[0, 1], [1, 0]] });
 * ```
 */
export async function dereferenceChain(
  sel: Selection, refs: readonly RefInput[], data?: DataInput, options: DereferenceChainOptions = {},
): Promise<MaskedArray> {
  throwIfAborted(options.signal);
  if (refs.length === 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, "dereferenceChain needs at least one reference");
  if (options.regions !== undefined && options.regions.length !== refs.length) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${options.regions.length} regions given for ${refs.length} references`);
  }
  if (options.refDirections !== undefined && options.refDirections.length !== refs.length) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${options.refDirections.length} directions given for ${refs.length} references`);
  }
  let s: IndexArray = normalizeSelection(sel);
  let mask = normalizeMask(options.mask, s.length);
  const shape = [s.length];
  let table: RefTable | undefined;
  for (let step = 0; step < refs.length; step++) {
    const dir = checkDirection(options.refDirections?.[step], `refDirections[${step}]`);
    table = toRefTable(refs[step]!, `refs[${step}]`);
    const r = options.regions?.[step];
    const region = r === undefined ? undefined : toRegionTable(r, `regions[${step}]`);
    const h = s.length === 0 ? undefined : await lookup(s, mask, table, region, dir, true, options.signal);
    const { indices, mask: m, k } = layout(s.length, h);
    shape.push(k);
    s = indices;
    mask = m;
  }
  return finish(shape, s, mask, table!, data, options.indicesOnly === true);
}
